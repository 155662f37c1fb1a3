//! The agent's controllers: Promises install their API and start a resource
//! controller each; resource controllers run configure workflows through the
//! shared engine. IO lives here; every decision is in the shared crate.

pub mod apply;
pub mod promise;
pub mod resource;
pub mod status;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kratix_shared::config::KratixConfig;
use kratix_shared::render::AdapterImage;
use tokio::sync::Mutex;

/// A failed reconcile: what was being done, and why it failed.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("{what}: {source}")]
    Kube {
        what: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("{0}")]
    Invalid(String),
}

impl ReconcileError {
    pub fn kube(what: impl Into<String>, source: kube::Error) -> Self {
        ReconcileError::Kube {
            what: what.into(),
            source: Box::new(source),
        }
    }
}

/// What every controller shares.
pub struct Agent {
    pub client: kube::Client,
    /// `None` when there is no `kratix` ConfigMap.
    pub config: Option<KratixConfig>,
    pub adapter: AdapterImage,
    /// The agent's own service account (namespace, name) when it runs in the
    /// cluster: it grants itself access to each Promise's API.
    pub identity: Option<(String, String)>,
    /// Resource controllers by Promise name, with the channel that re-runs all
    /// of a Promise's resources.
    pub resource_controllers: Mutex<HashMap<String, resource::Handle>>,
}

/// How soon to look again after an error.
pub const ERROR_REQUEUE: Duration = Duration::from_secs(2);

/// Runs the controllers until the process ends.
pub async fn run(agent: Arc<Agent>) {
    promise::run(agent).await;
}
