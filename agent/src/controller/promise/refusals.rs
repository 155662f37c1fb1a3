//! Our own refusals of a Promise, before anything of it is made: the
//! `kratix` ConfigMap's `promisePolicy` forbids it (`PolicyAdmitted`), or its
//! API is another's CRD (`APIOwned`). A refused Promise is Unavailable and its
//! resource controller stopped; a refusal that no longer holds loses its condition.

use std::sync::Arc;

use kratix_shared::api::resource_api::ResourceApi;
use kratix_shared::render::resource_crd::API_OWNED;
use kratix_shared::validate::policy;
use kratix_shared::workflow::events::{KratixEvent, Reporter};
use kratix_shared::workflow::promise_status;
use kratix_shared::workflow::status_merge::remove_condition;
use kube::runtime::controller::Action;
use serde_json::{Map, Value};

use super::object::{API_CONFLICT_RECHECK, PromiseObject, api_conflict};
use crate::controller::base::context::Agent;
use crate::controller::base::error::ReconcileError;
use crate::controller::base::events;
use crate::controller::base::status::now;

/// One of our own refusals of a Promise: its condition (False while it
/// lasts), reason, the Event's action and the message naming what to fix.
struct Refusal {
    condition: &'static str,
    reason: &'static str,
    message: String,
}

/// Refuses the Promise: `Unavailable` with the refusal's condition False, its
/// resource controller stopped (its requests run no pipeline of it either), and
/// a Warning Event when the status changed.
async fn refuse(
    agent: &Arc<Agent>,
    promise: &PromiseObject,
    status: &mut Map<String, Value>,
    refusal: Refusal,
) -> Result<(), ReconcileError> {
    if let Some(handle) = agent.resource_controllers.lock().await.remove(&promise.name) {
        handle.task.abort();
    }
    promise_status::refused(
        status,
        refusal.condition,
        refusal.reason,
        &refusal.message,
        &now(),
    );
    if promise.write_if_changed(agent, status.clone()).await? {
        let event = KratixEvent::warning(Reporter::PromiseController, refusal.reason, refusal.message);
        events::emit(agent, &promise.reference(), &event).await;
    }
    Ok(())
}

/// A refusal that no longer holds: its condition goes.
async fn lift_refusal(
    agent: &Agent,
    promise: &PromiseObject,
    status: &mut Map<String, Value>,
    condition: &str,
) -> Result<(), ReconcileError> {
    let refused_before = status
        .get("conditions")
        .and_then(Value::as_array)
        .is_some_and(|all| all.iter().any(|c| c["type"] == condition));
    if refused_before {
        remove_condition(status, condition);
        promise.write_if_changed(agent, status.clone()).await?;
    }
    Ok(())
}

/// Refuses a Promise the `kratix` ConfigMap's `promisePolicy` forbids:
/// `Unavailable` with `PolicyAdmitted` False naming every refused field, before
/// anything of it is made. A Promise the policy admits again loses the condition.
pub async fn refuse_by_policy(
    agent: &Arc<Agent>,
    promise: &PromiseObject,
    validated: &kratix_shared::validate::Validated,
    status: &mut Map<String, Value>,
) -> Result<Option<Action>, ReconcileError> {
    let policy = agent
        .config()
        .map(|c| c.promise_policy.clone())
        .unwrap_or_default();
    let refused = policy::refusals(
        &policy,
        promise.typed.spec.pipeline_namespace(),
        &validated.pipelines,
    );
    if refused.is_empty() {
        lift_refusal(agent, promise, status, policy::POLICY_ADMITTED).await?;
        return Ok(None);
    }
    let fields: Vec<String> = refused
        .iter()
        .map(|r| format!("{}: {}", r.path, r.message))
        .collect();
    let message = format!(
        "refused by the kratix ConfigMap's promisePolicy: {}",
        fields.join("; ")
    );
    let refusal = Refusal {
        condition: policy::POLICY_ADMITTED,
        reason: policy::REFUSED_BY_POLICY,
        message,
    };
    refuse(agent, promise, status, refusal).await?;
    Ok(Some(Action::await_change()))
}

/// Refuses a Promise whose API is another's CRD: `Unavailable` with `APIOwned`
/// False, its resource controller stopped, nothing of the CRD touched; looked
/// at again now and then. A resolved refusal's condition goes.
pub async fn refuse_foreign_api(
    agent: &Arc<Agent>,
    promise: &PromiseObject,
    resource_api: &ResourceApi,
    status: &mut Map<String, Value>,
) -> Result<Option<Action>, ReconcileError> {
    let Some((reason, message)) = api_conflict(&agent.client, &promise.name, resource_api).await? else {
        lift_refusal(agent, promise, status, API_OWNED).await?;
        return Ok(None);
    };
    let refusal = Refusal {
        condition: API_OWNED,
        reason,
        message,
    };
    refuse(agent, promise, status, refusal).await?;
    Ok(Some(Action::requeue(API_CONFLICT_RECHECK)))
}
