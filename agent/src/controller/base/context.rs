//! What every controller shares: the agent's clients, config, caches and
//! recorders, and the retry policy.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use kratix_shared::api::config::KratixConfig;
use kratix_shared::api::{Promise, labels};
use kratix_shared::render::AdapterImage;
use kratix_shared::workflow::events::Reporter;
use kratix_shared::workflow::periodic;
use kube::ResourceExt;
use kube::runtime::events::Recorder;
use tokio::sync::{Mutex, mpsc};

use super::apply;
use super::error::ReconcileError;
use super::rbac_cleanup;
use super::retries;

/// What every controller shares.
pub struct Agent {
    pub client: kube::Client,
    /// `None` when there is no `kratix` ConfigMap; replaced when it changes.
    pub config: RwLock<Option<Arc<KratixConfig>>>,
    pub recorders: Recorders,
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
    pub resource_controllers: Mutex<HashMap<String, ResourceControllerHandle>>,
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

/// A running resource controller.
pub struct ResourceControllerHandle {
    pub task: tokio::task::AbortHandle,
    /// Sending re-runs every resource of the Promise (its spec changed).
    pub rerun_all: mpsc::UnboundedSender<()>,
}

/// The effective periodic re-run interval of `promise`'s workflows.
pub fn interval_of(agent: &Agent, promise: &Promise) -> Duration {
    periodic::effective_interval(
        promise
            .annotations()
            .get(labels::RECONCILIATION_INTERVAL_ANNOTATION)
            .map(String::as_str),
        promise
            .spec
            .workflows
            .config
            .as_ref()
            .and_then(|c| c.reconciliation_interval.as_deref()),
        agent.reconciliation_interval(),
    )
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

/// A controller's reconcile of `reference` ended: a success resets its
/// backoff; every outcome is counted under `controller` with its result
/// (`ok`, or the failure's label), and a failure is logged.
pub fn reconciled<K: kube::Resource>(
    agent: &Agent,
    what: &str,
    controller: &str,
    result: &Result<
        (
            kube::runtime::reflector::ObjectRef<K>,
            kube::runtime::controller::Action,
        ),
        kube::runtime::controller::Error<ReconcileError, kube::runtime::watcher::Error>,
    >,
) {
    match result {
        Ok((reference, _)) => {
            agent.retries.succeeded(&retries::key(
                what,
                reference.namespace.as_deref(),
                &reference.name,
            ));
            agent.metrics.reconciled(controller, "ok");
        }
        Err(error) => {
            let label = match error {
                kube::runtime::controller::Error::ReconcilerFailed(failure, _) => failure.metric_label(),
                _ => "queue",
            };
            agent.metrics.reconciled(controller, label);
            tracing::debug!(%error, controller, "reconcile failed");
        }
    }
}

/// One recorder per reporting controller: Kratix's Events name the controller
/// (`reportingController`) and its instance as client-go does,
/// `<controller>-<pod>`.
pub struct Recorders(HashMap<Reporter, Recorder>);

impl Recorders {
    pub fn new(client: &kube::Client, pod: &str) -> Self {
        let recorders = Reporter::ALL
            .into_iter()
            .map(|reporter| {
                let identity = kube::runtime::events::Reporter {
                    controller: reporter.name().to_owned(),
                    instance: Some(format!("{}-{pod}", reporter.name())),
                };
                (reporter, Recorder::new(client.clone(), identity))
            })
            .collect();
        Recorders(recorders)
    }

    /// The recorder of one reporting controller.
    pub fn of(&self, reporter: Reporter) -> Option<&Recorder> {
        self.0.get(&reporter)
    }
}
