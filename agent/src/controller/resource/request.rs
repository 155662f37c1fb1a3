//! A resource request as its controller and its delete flow see it: read fresh
//! with its Promise, the controller's context, and its status written.

use std::sync::Arc;

use kratix_shared::api::Promise;
use kratix_shared::api::WorkflowType;
use kratix_shared::api::resource_api::ResourceApi;
use kratix_shared::validate::{Validated, validate_promise};
use kube::ResourceExt;
use kube::api::{Api, ApiResource, DynamicObject};
use serde_json::{Map, Value};

use crate::controller::base::context::Agent;
use crate::controller::base::error::ReconcileError;
use crate::controller::base::status;
use crate::controller::workflow::WorkflowSubject;

pub struct Context {
    pub agent: Arc<Agent>,
    pub promise: String,
    pub resource: ApiResource,
    /// The Promise validated last, by its uid and resourceVersion: validation
    /// parses every pipeline, and a Promise changes rarely.
    validated: std::sync::Mutex<Option<(String, Arc<Validated>)>>,
}

impl Context {
    pub fn new(agent: Arc<Agent>, promise: String, resource: ApiResource) -> Self {
        Context {
            agent,
            promise,
            resource,
            validated: std::sync::Mutex::default(),
        }
    }

    pub fn validated(&self, promise: &DynamicObject, value: &Value) -> Arc<Validated> {
        let version = format!(
            "{}/{}",
            promise.uid().unwrap_or_default(),
            promise.resource_version().unwrap_or_default()
        );
        if let Ok(cache) = self.validated.lock()
            && let Some((cached, validated)) = cache.as_ref()
            && *cached == version
        {
            return validated.clone();
        }
        let validated = Arc::new(validate_promise(value));
        if let Ok(mut cache) = self.validated.lock() {
            *cache = Some((version, validated.clone()));
        }
        validated
    }
}

/// Everything a reconcile of one request reads first.
pub struct Request<'a> {
    pub context: &'a Context,
    pub api: Api<DynamicObject>,
    pub object: DynamicObject,
    pub value: Value,
    pub name: String,
    pub namespace: String,
    pub promise: Promise,
    pub promise_value: Value,
}

impl Request<'_> {
    pub fn describe(&self) -> String {
        format!("{} {}/{}", self.context.resource.kind, self.namespace, self.name)
    }

    /// Where this request's pipelines run and its Works are written.
    pub fn pipeline_namespace(&self) -> String {
        kratix_shared::render::job_namespace(&self.promise.spec, WorkflowType::Resource, &self.namespace)
    }

    /// The request as the object of its workflows (`api`: its Promise's).
    pub fn subject<'a>(&'a self, api: &'a ResourceApi) -> WorkflowSubject<'a> {
        WorkflowSubject {
            api: &self.api,
            api_resource: &self.context.resource,
            object: &self.object,
            promise: &self.promise_value,
            promise_name: &self.context.promise,
            request: Some((&self.value, api)),
            jobs_namespace: self.pipeline_namespace(),
        }
    }
}

/// Writes the status when it differs from the object's; says whether it wrote.
pub async fn write_if_changed(
    request: &Request<'_>,
    status: Map<String, Value>,
) -> Result<bool, ReconcileError> {
    status::write_if_changed(&request.context.agent, &request.api, &request.object, status).await
}

/// The API resource of a Promise's requests.
pub fn api_resource(api: &ResourceApi) -> ApiResource {
    ApiResource {
        group: api.group.clone(),
        version: api.version.clone(),
        api_version: api.api_version(),
        kind: api.kind.clone(),
        plural: api.plural.clone(),
    }
}
