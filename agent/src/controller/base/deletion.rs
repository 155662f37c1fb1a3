//! Deleting what an object leaves behind: every listed object that is not
//! already going, each in its own namespace; one already gone is no failure.

use std::fmt::Debug;

use kratix_shared::api::answers::ignore_missing;
use kube::api::{Api, DeleteParams};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;

use super::error::ReconcileError;

/// Deletes each of `listed` not yet being deleted, through the Api
/// `api_in(namespace)` gives; `kind` names them in errors.
pub async fn delete_each<K>(
    listed: &[K],
    api_in: impl Fn(&str) -> Api<K>,
    kind: &str,
) -> Result<(), ReconcileError>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    for object in listed.iter().filter(|o| o.meta().deletion_timestamp.is_none()) {
        let api = api_in(&object.namespace().unwrap_or_default());
        ignore_missing(api.delete(&object.name_any(), &DeleteParams::default()).await)
            .map_err(|e| ReconcileError::kube(format!("deleting {kind} {}", object.name_any()), e))?;
    }
    Ok(())
}
