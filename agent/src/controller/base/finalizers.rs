//! Writing an object's finalizers: the whole list, guarded by the object's
//! resourceVersion so a concurrent change is never overwritten.

use kube::ResourceExt;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::json;

use super::error::ReconcileError;

pub async fn set(
    api: &Api<DynamicObject>,
    object: &DynamicObject,
    finalizers: &[String],
) -> Result<(), ReconcileError> {
    let patch = json!({"metadata": {
        "finalizers": finalizers,
        "resourceVersion": object.resource_version(),
    }});
    api.patch(&object.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| ReconcileError::kube(format!("updating the finalizers of {}", object.name_any()), e))?;
    Ok(())
}

/// Removes one finalizer.
pub async fn remove(
    api: &Api<DynamicObject>,
    object: &DynamicObject,
    finalizer: &str,
) -> Result<(), ReconcileError> {
    let remaining: Vec<String> = object
        .finalizers()
        .iter()
        .filter(|f| *f != finalizer)
        .cloned()
        .collect();
    set(api, object, &remaining).await
}
