//! A resource request as its controller and its delete flow see it: read fresh
//! with its Promise, the controller's context, and its status written.

use std::sync::Arc;

use k8s_openapi::api::batch::v1::Job;
use kratix_shared::api::resource_api::ResourceApi;
use kratix_shared::api::{Pipeline, Promise, Workflow};
use kratix_shared::api::{WorkflowAction, WorkflowType, selectors};
use kratix_shared::validate::{Validated, validate_promise};
use kube::ResourceExt;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::core::Selector;
use serde_json::{Map, Value};

use crate::controller::base::context::Agent;
use crate::controller::base::error::ReconcileError;
use crate::controller::base::status;
use crate::controller::workflow;

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

    /// Selects this request's Jobs of both actions: by its UID, so a same-named
    /// request elsewhere (sharing a `pipelineNamespace`) or a deleted one's
    /// leftovers never count.
    pub fn job_selector(&self, action: Option<WorkflowAction>) -> Selector {
        selectors::request_jobs(
            &self.context.promise,
            &self.name,
            &self.object.uid().unwrap_or_default(),
            action,
        )
    }

    /// A workflow run of this request.
    pub fn run<'a>(
        &'a self,
        workflow: Workflow,
        pipelines: &'a [Pipeline],
        api: &'a ResourceApi,
        hash: &'a str,
        jobs: &'a Api<Job>,
        job_selector: &'a Selector,
    ) -> workflow::Run<'a> {
        workflow::Run {
            agent: &self.context.agent,
            api: &self.api,
            api_resource: &self.context.resource,
            object: &self.object,
            promise: &self.promise_value,
            resource: Some((&self.value, api)),
            workflow,
            pipelines,
            hash,
            jobs,
            job_selector,
            // A paused request never gets this far.
            paused: false,
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
