//! Status writes: the whole status, replaced with the object's resourceVersion
//! so that a concurrent writer (a pipeline's status-writer) is never overwritten.

use k8s_openapi::api::core::v1::ObjectReference;
use kratix_shared::api::labels;
use kratix_shared::workflow::events::Subject;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::{Map, Value};

use super::{Agent, ReconcileError, events};

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
            paused_itself: written.labels().get(labels::PAUSED).is_some_and(|v| v == "true"),
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
