//! Status writes: the whole status, replaced with the object's resourceVersion
//! so that a concurrent writer (a pipeline's status-writer) is never overwritten.

use kube::api::{Api, DynamicObject, PostParams};
use serde_json::{Map, Value};

use super::ReconcileError;

/// The object's status as a mutable map.
pub fn status_of(object: &DynamicObject) -> Map<String, Value> {
    object
        .data
        .get("status")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Replaces the status; a conflict is an error, and the reconcile runs again.
pub async fn replace(
    api: &Api<DynamicObject>,
    object: &DynamicObject,
    status: Map<String, Value>,
) -> Result<DynamicObject, ReconcileError> {
    let mut updated = object.clone();
    updated.data["status"] = Value::Object(status);
    let name = object.metadata.name.clone().unwrap_or_default();
    api.replace_status(&name, &PostParams::default(), &updated)
        .await
        .map_err(|e| ReconcileError::kube(format!("writing the status of {name}"), e))
}
