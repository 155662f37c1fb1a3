//! A Promise as the Promise controller and its delete flow see it: read fresh
//! in both shapes, the controller's context, and whether its API's CRD is its own.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kratix_shared::api::Promise;
use kratix_shared::api::WorkflowType;
use kratix_shared::api::resource_api::ResourceApi;
use kratix_shared::render::resource_crd::{api_owner_conflict, resource_crd};
use kube::ResourceExt;
use kube::api::{Api, ApiResource, DynamicObject};
use serde_json::{Map, Value};

use crate::controller::base::context::Agent;
use crate::controller::base::error::ReconcileError;
use crate::controller::base::events;
use crate::controller::base::status;
use crate::controller::workflow::WorkflowSubject;

pub struct Context {
    pub agent: Arc<Agent>,
    /// Required Promise name → the Promises that require it.
    pub requirers: Arc<Mutex<HashMap<String, BTreeSet<String>>>>,
}

impl Context {
    pub fn record_requirements(&self, promise: &Promise) {
        let name = promise.name_any();
        if let Ok(mut map) = self.requirers.lock() {
            for requirers in map.values_mut() {
                requirers.remove(&name);
            }
            for required in &promise.spec.required_promises {
                map.entry(required.name.clone()).or_default().insert(name.clone());
            }
        }
    }
}

/// One Promise, read fresh, in both shapes.
pub struct PromiseObject {
    pub api: Api<DynamicObject>,
    pub api_resource: ApiResource,
    pub object: DynamicObject,
    pub typed: Promise,
    pub value: Value,
    pub name: String,
}

impl PromiseObject {
    pub async fn write_if_changed(
        &self,
        agent: &Agent,
        status: Map<String, Value>,
    ) -> Result<bool, ReconcileError> {
        status::write_if_changed(agent, &self.api, &self.object, status).await
    }

    /// The Promise's reference for an Event about it as read.
    pub fn reference(&self) -> k8s_openapi::api::core::v1::ObjectReference {
        events::dynamic_reference(&self.object, &self.api_resource)
    }

    /// The Promise as the object of its own workflows.
    pub fn subject(&self) -> WorkflowSubject<'_> {
        WorkflowSubject {
            api: &self.api,
            api_resource: &self.api_resource,
            object: &self.object,
            promise: &self.value,
            promise_name: &self.name,
            request: None,
            jobs_namespace: kratix_shared::render::job_namespace(&self.typed.spec, WorkflowType::Promise, ""),
        }
    }
}

/// How often a Promise refused another's API looks again (the other Promise or
/// the CRD may go).
pub const API_CONFLICT_RECHECK: Duration = Duration::from_secs(60);

/// Why Promise `promise` may not serve its API's CRD, if it may not (the CRD
/// exists and is not this Promise's): `APIOwned`'s reason and message.
pub async fn api_conflict(
    client: &kube::Client,
    promise: &str,
    resource_api: &ResourceApi,
) -> Result<Option<(&'static str, String)>, ReconcileError> {
    let crd_name = resource_crd(promise, resource_api)
        .metadata
        .name
        .unwrap_or_default();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let existing = crds
        .get_metadata_opt(&crd_name)
        .await
        .map_err(|e| ReconcileError::kube(format!("reading CRD {crd_name}"), e))?;
    Ok(existing.and_then(|crd| api_owner_conflict(promise, &crd_name, crd.labels())))
}
