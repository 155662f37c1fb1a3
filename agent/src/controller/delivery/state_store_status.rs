//! The state stores' readiness: each GitStateStore and
//! BucketStateStore is reached with its credentials, and its `status`, `Ready` condition and `observedGeneration`
//! say whether that worked and, when not, git's own words (credentials removed).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Secret;
use kratix_shared::api::conditions::{reasons, status as state, types};
use kratix_shared::api::state_store::{BucketStateStore, GitStateStore, SecretReference, StateStoreStatus};
use kratix_shared::workflow::conditions::Condition;
use kratix_shared::workflow::events::{KratixEvent, Reporter};
use kube::ResourceExt as _;
use kube::api::{Api, Patch, PatchParams};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt as _, watcher};
use serde_json::json;

use crate::controller::base::context::Agent;
use crate::controller::base::error::ReconcileError;
use crate::controller::base::events;
use crate::controller::base::status::status_with;
use crate::state_store::{StoreError, StoreObject};

/// A store that answered is checked again this often (a server that stopped
/// answering shows; a changed Secret is checked at once).
const READY_RECHECK: Duration = Duration::from_secs(300);

/// What the controller needs of either kind of store.
trait StoreKind:
    kube::Resource<DynamicType = (), Scope = kube::core::ClusterResourceScope>
    + Clone
    + std::fmt::Debug
    + serde::de::DeserializeOwned
    + Send
    + Sync
    + 'static
{
    const KIND: &'static str;
    fn object(store: Arc<Self>) -> StoreObject;
    fn status(&self) -> Option<&StateStoreStatus>;
    fn secret_ref(&self) -> Option<&SecretReference>;
}

/// Whether `store` reads its credentials from Secret `namespace/name` (a
/// reference without a namespace means `default`, as the credentials reader has it).
fn references<K: StoreKind>(store: &K, namespace: &str, name: &str) -> bool {
    store
        .secret_ref()
        .is_some_and(|r| r.name == name && r.namespace.as_deref().unwrap_or("default") == namespace)
}

impl StoreKind for GitStateStore {
    const KIND: &'static str = "GitStateStore";
    fn object(store: Arc<Self>) -> StoreObject {
        StoreObject::Git(store)
    }
    fn status(&self) -> Option<&StateStoreStatus> {
        self.status.as_ref()
    }
    fn secret_ref(&self) -> Option<&SecretReference> {
        self.spec.secret_ref.as_ref()
    }
}

impl StoreKind for BucketStateStore {
    const KIND: &'static str = "BucketStateStore";
    fn object(store: Arc<Self>) -> StoreObject {
        StoreObject::Bucket(store)
    }
    fn status(&self) -> Option<&StateStoreStatus> {
        self.status.as_ref()
    }
    fn secret_ref(&self) -> Option<&SecretReference> {
        self.spec.secret_ref.as_ref()
    }
}

pub async fn run(agent: Arc<Agent>) {
    tokio::join!(
        run_kind::<GitStateStore>(agent.clone()),
        run_kind::<BucketStateStore>(agent)
    );
}

async fn run_kind<K: StoreKind>(agent: Arc<Agent>) {
    let client = agent.client.clone();
    let retries_agent = agent.clone();
    let controller = Controller::new(Api::<K>::all(client.clone()), watcher::Config::default());
    let stores = controller.store();
    // A changed, removed or new credentials Secret is checked at once, as in
    // Kratix: only the Secrets' metadata is watched, never their contents.
    let secret_changes = watcher(
        Api::<PartialObjectMeta<Secret>>::all(client),
        watcher::Config::default(),
    )
    .default_backoff()
    .touched_objects();
    controller
        .watches_stream(secret_changes, move |secret: PartialObjectMeta<Secret>| {
            let (name, namespace) = (secret.name_any(), secret.namespace().unwrap_or_default());
            stores
                .state()
                .into_iter()
                .filter(|store| references(store.as_ref(), &namespace, &name))
                .map(|store| ObjectRef::from_obj(store.as_ref()))
                .collect::<Vec<_>>()
        })
        .run(reconcile::<K>, error_policy::<K>, agent)
        .for_each(|result| {
            crate::controller::base::context::reconciled(
                &retries_agent,
                K::KIND,
                &K::KIND.to_ascii_lowercase(),
                &result,
            );
            futures::future::ready(())
        })
        .await;
}

fn error_policy<K: StoreKind>(store: Arc<K>, error: &ReconcileError, agent: Arc<Agent>) -> Action {
    let key = crate::controller::base::retries::key(K::KIND, None, &store.name_any());
    crate::controller::base::context::retry_after(&agent, &key, error)
}

async fn reconcile<K: StoreKind>(store: Arc<K>, agent: Arc<Agent>) -> Result<Action, ReconcileError> {
    let name = store.name_any();
    if store.meta().deletion_timestamp.is_some() {
        agent.state_stores.forget(K::KIND, &name);
        return Ok(Action::await_change());
    }
    let generation = store.meta().generation;
    let probed = agent.state_stores.probe(&K::object(store.clone())).await;
    // A store that stays unreachable is probed less and less often.
    let probe_key = crate::controller::base::retries::key(&format!("{}-probe", K::KIND), None, &name);
    let (state, ready, recheck) = match &probed {
        Ok(()) => (
            "Ready",
            Condition {
                type_: types::READY,
                status: state::TRUE,
                reason: reasons::STATE_STORE_READY,
                message: "State store is ready".to_owned(),
            },
            {
                agent.retries.succeeded(&probe_key);
                READY_RECHECK
            },
        ),
        Err(error) => {
            let (reason, message) = not_ready(K::KIND, error);
            (
                "NotReady",
                Condition {
                    type_: types::READY,
                    status: state::FALSE,
                    reason,
                    message,
                },
                agent.retries.failed(&probe_key),
            )
        }
    };
    let (before, mut after) = status_with(store.status(), [&ready]);
    after.insert("status".to_owned(), json!(state));
    after.insert("observedGeneration".to_owned(), json!(generation));
    if before != after {
        let api: Api<K> = Api::all(agent.client.clone());
        api.patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": after})),
        )
        .await
        .map_err(|e| ReconcileError::kube(format!("writing the status of {} {name}", K::KIND), e))?;
        // Kratix's Events: its Destination tests read them.
        let reporter = Reporter::for_store(K::KIND);
        let event = match probed {
            Ok(()) => KratixEvent::normal(reporter, "Ready", format!("{} {name:?} is ready", K::KIND)),
            Err(_) => KratixEvent::warning(reporter, "NotReady", ready.message.clone()),
        };
        events::emit(&agent, &events::reference(&*store), &event).await;
    }
    Ok(Action::requeue(recheck))
}

/// Kratix's reason and message for a store that does not answer: a missing or
/// unreadable Secret as such; git that cannot fetch as a writer that cannot be
/// made ("unable to clone repository"); a bucket that refuses as a failed
/// permission check (its probe is the writer's own check here).
fn not_ready(kind: &str, error: &StoreError) -> (&'static str, String) {
    match error {
        StoreError::SecretNotFound { .. } => (reasons::SECRET_NOT_FOUND, error.to_string()),
        StoreError::SecretUnreadable(message) => (reasons::STATE_STORE_ERROR, message.clone()),
        StoreError::Failed(message) | StoreError::Rejected(message) if kind == "GitStateStore" => (
            reasons::ERROR_INITIALISING_WRITER,
            format!("unable to clone repository: {message}"),
        ),
        StoreError::Failed(message) | StoreError::Rejected(message) => (
            reasons::ERROR_VALIDATING_PERMISSIONS,
            format!(
                "Error validating state store permissions: write permission validation failed: {message}"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_that_does_not_answer_is_reported_in_kratix_words() {
        let missing = StoreError::SecretNotFound {
            name: "creds".to_owned(),
            namespace: "default".to_owned(),
        };
        assert_eq!(
            not_ready("GitStateStore", &missing),
            (
                "SecretNotFound",
                "Secret creds not found in namespace default".to_owned()
            )
        );
        let (reason, message) = not_ready(
            "GitStateStore",
            &StoreError::Failed("Authentication failed".to_owned()),
        );
        assert_eq!(reason, "ErrorInitialisingWriter");
        assert_eq!(message, "unable to clone repository: Authentication failed");
        let (reason, message) = not_ready("BucketStateStore", &StoreError::Failed("AccessDenied".to_owned()));
        assert_eq!(reason, "ErrorValidatingPermissions");
        assert!(
            message
                .starts_with("Error validating state store permissions: write permission validation failed")
        );
    }
}
