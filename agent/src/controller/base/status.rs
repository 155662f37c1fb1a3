//! Status writes: the whole status, replaced with the object's resourceVersion
//! so that a concurrent writer (a pipeline's status-writer) is never overwritten,
//! each followed by the Events Kratix emits for the change; and the small status
//! edits every controller makes (`Reconciled`, the last success, conditions set
//! at the second).

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::jiff::Timestamp;
use kratix_shared::api::labels;
use kratix_shared::workflow::conditions::Condition;
use kratix_shared::workflow::events::Subject;
use kratix_shared::workflow::status_merge::{self, Transition};
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::{Map, Value};

use super::context::Agent;
use super::error::ReconcileError;
use super::events;

/// The object's status as a mutable map.
pub fn status_of(object: &DynamicObject) -> Map<String, Value> {
    object
        .data
        .get("status")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Replaces the status of a Promise or a request, then emits the Events Kratix
/// emits for the change; a conflict is an error, and the reconcile runs again.
pub async fn replace(
    agent: &Agent,
    api: &Api<DynamicObject>,
    object: &DynamicObject,
    status: Map<String, Value>,
) -> Result<DynamicObject, ReconcileError> {
    let before = status_of(object);
    let mut updated = object.clone();
    updated.data["status"] = Value::Object(status);
    let name = object.metadata.name.clone().unwrap_or_default();
    let written = api
        .replace_status(&name, &PostParams::default(), &updated)
        .await
        .map_err(|e| ReconcileError::kube(format!("writing the status of {name}"), e))?;
    let subject = if kind_of(&written) == "Promise" {
        Subject::Promise
    } else {
        Subject::Resource {
            paused_itself: labels::is_on(written.labels(), labels::PAUSED),
        }
    };
    events::status_changed(
        agent,
        &reference_of(&written),
        subject,
        &before,
        &status_of(&written),
    )
    .await;
    Ok(written)
}

/// Writes the status when it differs from the object's; says whether it wrote.
pub async fn write_if_changed(
    agent: &Agent,
    api: &Api<DynamicObject>,
    object: &DynamicObject,
    status: Map<String, Value>,
) -> Result<bool, ReconcileError> {
    if status_of(object) == status {
        return Ok(false);
    }
    replace(agent, api, object, status).await?;
    Ok(true)
}

fn kind_of(object: &DynamicObject) -> &str {
    object.types.as_ref().map_or("", |t| t.kind.as_str())
}

/// The written object's reference, at its new resourceVersion.
fn reference_of(object: &DynamicObject) -> ObjectReference {
    ObjectReference {
        api_version: object.types.as_ref().map(|t| t.api_version.clone()),
        kind: object.types.as_ref().map(|t| t.kind.clone()),
        name: object.metadata.name.clone(),
        namespace: object.metadata.namespace.clone(),
        uid: object.metadata.uid.clone(),
        resource_version: object.metadata.resource_version.clone(),
        field_path: None,
    }
}

/// A typed status as a JSON map (empty when absent), and the same with
/// `conditions` set (each keeps its transition time unless its status changes).
pub fn status_with<'a, S: serde::Serialize>(
    status: Option<&S>,
    conditions: impl IntoIterator<Item = &'a Condition>,
) -> (Map<String, Value>, Map<String, Value>) {
    let before: Map<String, Value> = status
        .and_then(|s| serde_json::to_value(s).ok())
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    let mut after = before.clone();
    let now = now();
    // Kratix sets these kinds' conditions with meta.SetStatusCondition.
    for condition in conditions {
        status_merge::set_with(&mut after, Transition::OnStatusChange, condition, &now);
    }
    (before, after)
}

/// Now, to the second, as Kratix writes its status times.
pub fn now() -> String {
    Timestamp::from_second(Timestamp::now().as_second())
        .unwrap_or_else(|_| Timestamp::now())
        .to_string()
}
