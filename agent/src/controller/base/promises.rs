//! Reading Promises from any controller: their API resource, and one Promise
//! from the Promise controller's cache or, when it has not seen it, the API.

use std::sync::Arc;

use kratix_shared::api::Promise;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::reflector::ObjectRef;

use super::context::Agent;
use super::error::ReconcileError;

pub fn api_resource() -> ApiResource {
    ApiResource::erase::<Promise>(&())
}

/// The Promise `name`: from the Promise controller's cache, or read when the
/// cache does not have it (yet).
pub async fn cached_or_read(agent: &Agent, name: &str) -> Result<Option<Arc<DynamicObject>>, ReconcileError> {
    if let Some(cached) = agent
        .promises
        .get()
        .and_then(|store| store.get(&ObjectRef::new_with(name, api_resource())))
    {
        return Ok(Some(cached));
    }
    let api: Api<DynamicObject> = Api::all_with(agent.client.clone(), &api_resource());
    Ok(api
        .get_opt(name)
        .await
        .map_err(|e| ReconcileError::kube(format!("reading Promise {name}"), e))?
        .map(Arc::new))
}
