//! The state stores' readiness (contract 2.4): each GitStateStore is reached with
//! its credentials, and its `status`, `Ready` condition and `observedGeneration`
//! say whether that worked and, when not, git's own words (credentials removed).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use kratix_shared::api::state_store::GitStateStore;
use kratix_shared::status_conditions::Condition;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::EventType;
use kube::runtime::watcher;
use kube::{Resource as _, ResourceExt as _};
use serde_json::json;

use super::work::status_with;
use super::{Agent, ReconcileError, events};
use crate::state_store::StoreObject;

/// A store that answered is checked again this often (a rotated credential shows).
const READY_RECHECK: Duration = Duration::from_secs(300);
const FAILED_RECHECK: Duration = Duration::from_secs(30);

pub async fn run(agent: Arc<Agent>) {
    let client = agent.client.clone();
    let metrics = agent.metrics.clone();
    Controller::new(Api::<GitStateStore>::all(client), watcher::Config::default())
        .run(reconcile, error_policy, agent)
        .for_each(|result| {
            metrics.reconciled("gitstatestore", result.is_ok());
            if let Err(error) = result {
                tracing::debug!(%error, "gitstatestore reconcile failed");
            }
            futures::future::ready(())
        })
        .await;
}

fn error_policy(_: Arc<GitStateStore>, error: &ReconcileError, _: Arc<Agent>) -> Action {
    super::retry_after(error)
}

async fn reconcile(store: Arc<GitStateStore>, agent: Arc<Agent>) -> Result<Action, ReconcileError> {
    let name = store.name_any();
    if store.metadata.deletion_timestamp.is_some() {
        agent.state_stores.forget("GitStateStore", &name);
        return Ok(Action::await_change());
    }
    let probed = agent.state_stores.probe(&StoreObject::Git(store.clone())).await;
    let (state, ready, recheck) = match &probed {
        Ok(()) => (
            "Ready",
            Condition {
                type_: "Ready",
                status: "True",
                reason: "StateStoreReady",
                message: "State store is ready".to_owned(),
            },
            READY_RECHECK,
        ),
        Err(error) => (
            "NotReady",
            Condition {
                type_: "Ready",
                status: "False",
                reason: "StateStoreNotReady",
                message: error.to_string(),
            },
            FAILED_RECHECK,
        ),
    };
    let (before, mut after) = status_with(store.status.as_ref(), [&ready]);
    after.insert("status".to_owned(), json!(state));
    after.insert("observedGeneration".to_owned(), json!(store.metadata.generation));
    if before != after {
        let api: Api<GitStateStore> = Api::all(agent.client.clone());
        api.patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": after})),
        )
        .await
        .map_err(|e| ReconcileError::kube(format!("writing the status of GitStateStore {name}"), e))?;
        if let Err(error) = probed {
            events::publish_to(
                &agent,
                store.object_ref(&()),
                EventType::Warning,
                "StateStoreNotReady",
                "Probe",
                error.to_string(),
            )
            .await;
        }
    }
    Ok(Action::requeue(recheck))
}
