//! Writing an object's finalizers, for every kind the agent finalizes: the
//! whole list, guarded by the object's resourceVersion so a concurrent change
//! is never overwritten.

use std::fmt::Debug;

use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::error::ReconcileError;
use kratix_shared::api::answers::ignore_missing;

/// Sets the object's finalizers to `finalizers`; an object already gone
/// needs none.
pub async fn set<K>(api: &Api<K>, object: &K, finalizers: &[String]) -> Result<(), ReconcileError>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let patch = json!({"metadata": {
        "finalizers": finalizers,
        "resourceVersion": object.resource_version(),
    }});
    ignore_missing(
        api.patch(&object.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
            .await,
    )
    .map_err(|e| ReconcileError::kube(format!("updating the finalizers of {}", object.name_any()), e))?;
    Ok(())
}

/// Removes one finalizer.
pub async fn remove<K>(api: &Api<K>, object: &K, finalizer: &str) -> Result<(), ReconcileError>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    set(api, object, &without(object, finalizer)).await
}

/// The object's finalizers but `finalizer`.
pub fn without<K: Resource>(object: &K, finalizer: &str) -> Vec<String> {
    object
        .finalizers()
        .iter()
        .filter(|f| *f != finalizer)
        .cloned()
        .collect()
}
