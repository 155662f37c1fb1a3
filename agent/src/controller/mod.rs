//! The agent's controllers: Promises install their API and start a resource
//! controller each; resource controllers run configure workflows through the
//! shared engine. IO lives here; every decision is in the shared crate.

pub mod apply;
pub mod config_watch;
pub mod dependencies;
pub mod destination;
pub mod events;
pub mod finalizers;
pub mod promise;
pub mod promise_delete;
pub mod rbac_cleanup;
pub mod required_by;
pub mod resource;
pub mod resource_delete;
pub mod retries;
pub mod state_store_status;
pub mod status;
pub mod store_lookup;
pub mod work;
pub mod work_placement;
pub mod workflow;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use kratix_shared::api::config::KratixConfig;
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
    /// Someone else changed the object first (a pipeline writing its status,
    /// say): not a failure, just a reason to read it again.
    pub fn is_conflict(&self) -> bool {
        matches!(self, ReconcileError::Kube { source, .. } if matches!(source.as_ref(), kube::Error::Api(status) if status.code == 409))
    }

    /// The object is gone.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReconcileError::Kube { source, .. } if matches!(source.as_ref(), kube::Error::Api(status) if status.code == 404))
    }

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
    /// `None` when there is no `kratix` ConfigMap; replaced when it changes.
    pub config: RwLock<Option<Arc<KratixConfig>>>,
    pub recorders: events::Recorders,
    /// Pipeline objects applied a moment ago, not sent again.
    pub applied: apply::Applied,
    /// Pipelines whose user-permission RBAC may need removing (see
    /// [`rbac_cleanup::StaleCheck`]).
    pub stale_rbac: rbac_cleanup::StaleCheck,
    /// The Promise controller's cache of Promises, once it runs.
    pub promises: std::sync::OnceLock<kube::runtime::reflector::Store<kube::api::DynamicObject>>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub adapter: AdapterImage,
    /// The agent's own service account (namespace, name) when it runs in the
    /// cluster: it grants itself access to each Promise's API.
    pub identity: Option<(String, String)>,
    /// Resource controllers by Promise name, with the channel that re-runs all
    /// of a Promise's resources.
    pub resource_controllers: Mutex<HashMap<String, resource::Handle>>,
    /// The state-store writers, one per store.
    pub state_stores: crate::state_store::StateStores,
    /// Failures in a row per object, for backoff.
    pub retries: retries::Retries,
    /// Told when the config's `promisePolicy` changes: every Promise is looked at again.
    pub promise_policy_changed: tokio::sync::watch::Sender<()>,
}

impl Agent {
    /// The config as it is now.
    pub fn config(&self) -> Option<Arc<KratixConfig>> {
        self.config
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// The global periodic re-run interval.
    pub fn reconciliation_interval(&self) -> Duration {
        self.config().map_or_else(
            || KratixConfig::default().reconciliation_interval,
            |c| c.reconciliation_interval,
        )
    }

    /// How often written placements are written again, to repair drift.
    pub fn state_store_reconciliation_interval(&self) -> Duration {
        self.config().map_or_else(
            || KratixConfig::default().state_store_reconciliation_interval,
            |c| c.state_store_reconciliation_interval,
        )
    }

    /// `git.minimumFetchInterval`.
    pub fn git_min_fetch_interval(&self) -> Duration {
        self.config().map_or_else(
            || KratixConfig::default().git_minimum_fetch_interval,
            |c| c.git_minimum_fetch_interval,
        )
    }

    pub fn reconcile_after_failure(&self) -> bool {
        self.config().map_or_else(
            || KratixConfig::default().workflows.reconcile_after_failure,
            |c| c.workflows.reconcile_after_failure,
        )
    }
}

/// How soon to look again after a write conflict.
pub const CONFLICT_REQUEUE: Duration = Duration::from_millis(50);

/// The retry policy of every controller: conflicts are retried at once and
/// quietly; other errors with a warning, after a wait that doubles with each
/// failure of that object in a row (reset by its next success, see
/// [`succeeded`]).
pub fn retry_after(agent: &Agent, key: &str, error: &ReconcileError) -> kube::runtime::controller::Action {
    if error.is_conflict() {
        tracing::debug!(%error, "write conflict; reading the object again");
        kube::runtime::controller::Action::requeue(CONFLICT_REQUEUE)
    } else {
        let wait = agent.retries.failed(key);
        tracing::warn!(%error, object = key, retry_in_s = wait.as_secs_f32(), "reconcile failed; retrying");
        kube::runtime::controller::Action::requeue(wait)
    }
}

/// A controller's reconcile of `reference` ended: a success resets its backoff.
pub fn reconciled<K: kube::Resource>(
    agent: &Agent,
    what: &str,
    result: &Result<
        (
            kube::runtime::reflector::ObjectRef<K>,
            kube::runtime::controller::Action,
        ),
        kube::runtime::controller::Error<ReconcileError, kube::runtime::watcher::Error>,
    >,
) {
    if let Ok((reference, _)) = result {
        agent.retries.succeeded(&retries::key(
            what,
            reference.namespace.as_deref(),
            &reference.name,
        ));
    }
}

/// Runs the controllers until the process ends.
pub async fn run(agent: Arc<Agent>) {
    tokio::join!(
        config_watch::run(agent.clone()),
        promise::run(agent.clone()),
        work::run(agent.clone()),
        work_placement::run(agent.clone()),
        destination::run(agent.clone()),
        state_store_status::run(agent)
    );
}
