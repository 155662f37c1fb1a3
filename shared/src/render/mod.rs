//! What the agent makes from a Promise: a workflow's Kubernetes objects
//! (Pipeline → Job, ServiceAccount, RBAC, ConfigMaps; this module), the CRD of
//! its API (`resource_crd`) and its dependencies as a Work (`dependencies`).
//!
//! Rendering a workflow is a pure function of the Promise, the request, the config and the pipeline
//! adapter image. The agent applies its output; `kubectl kratix promise render`
//! prints it.

pub mod dependencies;
mod env;
mod job;
pub mod names;
mod rbac;
pub mod request;
pub mod resource_crd;

use std::collections::BTreeMap;

use k8s_openapi::Resource as _;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde::Serialize;
use serde_json::Value;

pub use job::{ADAPTER_BINARY, builtin_resources, kratix_security_context};

use crate::api::config::KratixConfig;
use crate::api::hash::{resource_hash, spec_hash};
use crate::api::labels;
use crate::api::naming::random_suffix;
use crate::api::pipeline::Pipeline;
use crate::api::promise::{PromiseScheduling, PromiseSpec};
use crate::api::resource_api::ResourceApi;
use crate::api::workflow::{Workflow, WorkflowAction, WorkflowType};
use crate::{Error, Result};

/// Data key of the destination-selectors ConfigMap.
pub const DESTINATION_SELECTORS_KEY: &str = "destinationSelectors";

/// The image that runs the three Kratix containers, when nothing else is given:
/// the agent's own image at this version, as the local platform builds it.
pub fn default_adapter_image() -> String {
    format!("localhost/kratix-agent:v{}", env!("CARGO_PKG_VERSION"))
}

/// The pipeline adapter image and the pull secret it needs, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterImage {
    pub image: String,
    pub pull_secret: Option<String>,
}

impl Default for AdapterImage {
    fn default() -> Self {
        AdapterImage {
            image: default_adapter_image(),
            pull_secret: None,
        }
    }
}

/// The object a workflow runs for: the Promise, or one resource request.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    Promise {
        object: &'a Value,
        name: &'a str,
    },
    Resource {
        object: &'a Value,
        api: &'a ResourceApi,
        name: &'a str,
        namespace: &'a str,
    },
}

impl<'a> Subject<'a> {
    /// A Promise subject; its `metadata.name` must be set.
    pub fn promise(object: &'a Value) -> Result<Self> {
        let name = metadata_str(object, "name")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| render_error("promise", "the Promise has no metadata.name"))?;
        Ok(Subject::Promise { object, name })
    }

    /// A resource request subject; a missing namespace means `default`.
    pub fn resource(object: &'a Value, api: &'a ResourceApi) -> Result<Self> {
        let name = metadata_str(object, "name")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| render_error("resource", "the resource request has no metadata.name"))?;
        let namespace = metadata_str(object, "namespace")
            .filter(|n| !n.is_empty())
            .unwrap_or("default");
        Ok(Subject::Resource {
            object,
            api,
            name,
            namespace,
        })
    }

    fn object(&self) -> &'a Value {
        match self {
            Subject::Promise { object, .. } | Subject::Resource { object, .. } => object,
        }
    }

    pub fn kind(&self) -> &str {
        match self {
            Subject::Promise { .. } => "Promise",
            Subject::Resource { api, .. } => &api.kind,
        }
    }

    pub fn group(&self) -> &str {
        match self {
            Subject::Promise { .. } => labels::GROUP,
            Subject::Resource { api, .. } => &api.group,
        }
    }

    pub fn version(&self) -> &str {
        match self {
            Subject::Promise { .. } => labels::VERSION,
            Subject::Resource { api, .. } => &api.version,
        }
    }

    pub fn api_version(&self) -> String {
        format!("{}/{}", self.group(), self.version())
    }

    pub fn name(&self) -> &str {
        match self {
            Subject::Promise { name, .. } | Subject::Resource { name, .. } => name,
        }
    }

    /// Empty for the cluster-scoped Promise.
    pub fn namespace(&self) -> &str {
        match self {
            Subject::Promise { .. } => "",
            Subject::Resource { namespace, .. } => namespace,
        }
    }

    pub fn plural(&self) -> &str {
        match self {
            Subject::Promise { .. } => "promises",
            Subject::Resource { api, .. } => &api.plural,
        }
    }

    pub fn cluster_scoped(&self) -> bool {
        match self {
            Subject::Promise { .. } => true,
            Subject::Resource { api, .. } => !api.namespaced,
        }
    }

    pub fn dry_run(&self) -> bool {
        matches!(self, Subject::Resource { .. })
            && self
                .object()
                .pointer("/metadata/labels")
                .and_then(|l| l.get("kratix.io/dry-run"))
                .and_then(Value::as_str)
                == Some("true")
    }

    fn trace_annotations(&self) -> BTreeMap<String, String> {
        labels::TRACE_ANNOTATIONS
            .iter()
            .filter_map(|key| {
                let value = self
                    .object()
                    .pointer("/metadata/annotations")?
                    .get(*key)?
                    .as_str()?;
                Some(((*key).to_owned(), value.to_owned()))
            })
            .collect()
    }

    /// The object's UID, when it has one (objects rendered offline may not).
    pub fn uid(&self) -> Option<&str> {
        metadata_str(self.object(), "uid").filter(|u| !u.is_empty())
    }

    /// A plain owner reference to this object, when it has a uid.
    fn owner(&self) -> Option<OwnerReference> {
        let uid = self.uid()?;
        Some(OwnerReference {
            api_version: self.api_version(),
            kind: self.kind().to_owned(),
            name: self.name().to_owned(),
            uid: uid.to_owned(),
            ..OwnerReference::default()
        })
    }
}

/// Where a workflow's Jobs run: the Promise's `pipelineNamespace`, else the
/// system namespace for its own workflows and the request's for a request's.
pub fn job_namespace(
    spec: &crate::api::promise::PromiseSpec,
    workflow_type: WorkflowType,
    request_namespace: &str,
) -> String {
    match (spec.pipeline_namespace(), workflow_type) {
        (Some(namespace), _) => namespace.to_owned(),
        (None, WorkflowType::Promise) => labels::SYSTEM_NAMESPACE.to_owned(),
        (None, WorkflowType::Resource) => request_namespace.to_owned(),
    }
}

fn metadata_str<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get("metadata")?.get(field)?.as_str()
}

fn render_error(workflow: &str, message: &str) -> Error {
    Error::Render {
        workflow: workflow.to_owned(),
        message: message.to_owned(),
    }
}

/// Everything rendering needs.
pub struct RenderRequest<'a> {
    /// The Promise as stored (its spec is hashed as it is).
    pub promise: &'a Value,
    pub workflow: Workflow,
    pub pipelines: &'a [Pipeline],
    /// The resource request and the API it belongs to; required for resource workflows.
    pub resource: Option<(&'a Value, &'a ResourceApi)>,
    /// `None` when there is no `kratix` ConfigMap at all (it changes the
    /// security-context default).
    pub config: Option<&'a KratixConfig>,
    pub adapter: &'a AdapterImage,
    /// Job name suffix; random (as the agent's) when `None`.
    pub job_name_suffix: Option<&'a str>,
}

/// What one pipeline of a workflow creates.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineResources {
    pub pipeline_name: String,
    pub service_account: ServiceAccount,
    /// Configure workflows only.
    pub config_map: Option<ConfigMap>,
    pub roles: Vec<Role>,
    pub role_bindings: Vec<RoleBinding>,
    pub cluster_roles: Vec<ClusterRole>,
    pub cluster_role_bindings: Vec<ClusterRoleBinding>,
    pub job: Job,
}

fn with_type_meta<K: k8s_openapi::Resource + Serialize>(object: &K) -> Result<Value> {
    let mut value = serde_json::to_value(object).map_err(|e| Error::Encode {
        what: K::KIND.to_owned(),
        message: e.to_string(),
    })?;
    if let Value::Object(map) = &mut value {
        // Put apiVersion and kind first, as kubectl prints them.
        let mut ordered = serde_json::Map::new();
        ordered.insert("apiVersion".to_owned(), Value::String(K::API_VERSION.to_owned()));
        ordered.insert("kind".to_owned(), Value::String(K::KIND.to_owned()));
        for (key, item) in std::mem::take(map) {
            if key != "apiVersion" && key != "kind" {
                ordered.insert(key, item);
            }
        }
        *map = ordered;
    }
    Ok(value)
}

impl PipelineResources {
    /// The objects in the order the agent applies them.
    pub fn objects(&self) -> Result<Vec<Value>> {
        let mut out = vec![with_type_meta(&self.service_account)?];
        if let Some(config_map) = &self.config_map {
            out.push(with_type_meta(config_map)?);
        }
        for role in &self.roles {
            out.push(with_type_meta(role)?);
        }
        for binding in &self.role_bindings {
            out.push(with_type_meta(binding)?);
        }
        for role in &self.cluster_roles {
            out.push(with_type_meta(role)?);
        }
        for binding in &self.cluster_role_bindings {
            out.push(with_type_meta(binding)?);
        }
        out.push(with_type_meta(&self.job)?);
        Ok(out)
    }
}

/// The destination-selectors ConfigMap: the Promise's selectors, tagged `promise`.
pub fn destination_selectors_config_map(
    promise: &str,
    namespace: &str,
    selectors: &[PromiseScheduling],
) -> Result<ConfigMap> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Entry<'a> {
        match_labels: &'a BTreeMap<String, String>,
        source: &'static str,
    }
    let entries: Vec<Entry<'_>> = selectors
        .iter()
        .map(|s| Entry {
            match_labels: &s.match_labels,
            source: "promise",
        })
        .collect();
    let yaml = if entries.is_empty() {
        "[]\n".to_owned()
    } else {
        serde_saphyr::to_string(&entries).map_err(|e| Error::Encode {
            what: "destination selectors".to_owned(),
            message: e.to_string(),
        })?
    };
    Ok(ConfigMap {
        metadata: ObjectMeta {
            name: Some(names::destination_selectors_configmap(promise)),
            namespace: Some(namespace.to_owned()),
            labels: Some(BTreeMap::from([(
                labels::PROMISE_NAME.to_owned(),
                promise.to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(DESTINATION_SELECTORS_KEY.to_owned(), yaml)])),
        ..ConfigMap::default()
    })
}

/// Renders every pipeline of the workflow that runs: all of a configure
/// workflow's, the first of a delete workflow's.
pub fn render_workflow(request: &RenderRequest<'_>) -> Result<Vec<PipelineResources>> {
    let shared = WorkflowRender::new(request)?;
    // A delete workflow runs its first pipeline only (validation warns about the rest).
    let pipelines = match request.workflow.action {
        WorkflowAction::Configure => request.pipelines,
        WorkflowAction::Delete => &request.pipelines[..request.pipelines.len().min(1)],
    };
    let mut rendered = Vec::with_capacity(pipelines.len());
    for (index, pipeline) in pipelines.iter().enumerate() {
        rendered.push(shared.pipeline(pipeline, index + 1 == pipelines.len()));
    }
    Ok(rendered)
}

/// What every pipeline of one rendered workflow shares.
struct WorkflowRender<'r, 'a> {
    request: &'r RenderRequest<'a>,
    /// The Promise, whose name prefixes everything rendered.
    promise: Subject<'a>,
    /// What the workflow runs for: the Promise or the resource request.
    subject: Subject<'a>,
    /// Where the Jobs run.
    namespace: String,
    pipeline_namespace_set: bool,
    hash: String,
    /// Configure workflows only.
    config_map: Option<ConfigMap>,
}

impl<'r, 'a> WorkflowRender<'r, 'a> {
    /// Decodes the Promise's spec and works out the subject, the Jobs'
    /// namespace, the hash and the destination-selectors ConfigMap.
    fn new(request: &'r RenderRequest<'a>) -> Result<Self> {
        let workflow = request.workflow;
        let spec: PromiseSpec =
            serde_json::from_value(request.promise.get("spec").cloned().unwrap_or(Value::Null))
                .map_err(|e| workflow_error(workflow, format!("the Promise spec does not decode: {e}")))?;
        let promise = Subject::promise(request.promise)?;
        let subject = match (workflow.workflow_type, request.resource) {
            (WorkflowType::Promise, _) => promise,
            (WorkflowType::Resource, Some((object, api))) => Subject::resource(object, api)?,
            (WorkflowType::Resource, None) => {
                return Err(workflow_error(
                    workflow,
                    "a resource workflow needs the Promise's API and a resource request".to_owned(),
                ));
            }
        };
        let namespace = job_namespace(&spec, workflow.workflow_type, subject.namespace());
        let hash = match (workflow.workflow_type, request.resource) {
            (WorkflowType::Resource, Some((object, _))) => resource_hash(request.promise, object),
            _ => spec_hash(request.promise),
        };
        let config_map = match workflow.action {
            WorkflowAction::Configure => Some(destination_selectors_config_map(
                promise.name(),
                &namespace,
                &spec.destination_selectors,
            )?),
            WorkflowAction::Delete => None,
        };
        Ok(WorkflowRender {
            request,
            promise,
            subject,
            namespace,
            pipeline_namespace_set: spec.pipeline_namespace().is_some(),
            hash,
            config_map,
        })
    }

    /// Everything one pipeline creates; `is_last` when no pipeline follows it.
    fn pipeline(&self, pipeline: &Pipeline, is_last: bool) -> PipelineResources {
        let promise_name = self.promise.name();
        let id = names::pipeline_id(promise_name, self.request.workflow, pipeline.name());
        let service_account_name = names::service_account(promise_name, self.request.workflow, pipeline);
        let rbac_objects = self.rbac_objects(pipeline, &id, &service_account_name);
        let job = self.job(pipeline, is_last, &service_account_name);
        PipelineResources {
            pipeline_name: pipeline.name().to_owned(),
            service_account: rbac::service_account(promise_name, &service_account_name, &self.namespace),
            config_map: self.config_map.clone(),
            roles: rbac_objects.roles,
            role_bindings: rbac_objects.role_bindings,
            cluster_roles: rbac_objects.cluster_roles,
            cluster_role_bindings: rbac_objects.cluster_role_bindings,
            job,
        }
    }

    /// The pipeline's Roles, ClusterRoles and their bindings.
    fn rbac_objects(
        &self,
        pipeline: &Pipeline,
        id: &str,
        service_account: &str,
    ) -> rbac::PipelineRbacObjects {
        rbac::RbacContext {
            promise: self.promise.name(),
            workflow: self.request.workflow,
            pipeline,
            id,
            service_account,
            pipeline_namespace: &self.namespace,
            resource: match self.subject {
                Subject::Resource { api, namespace, .. } => Some((&api.group, &api.plural, namespace)),
                Subject::Promise { .. } => None,
            },
        }
        .objects()
    }

    /// The pipeline's Job, named with the request's suffix or a random one.
    fn job(&self, pipeline: &Pipeline, is_last: bool, service_account: &str) -> Job {
        let promise_name = self.promise.name();
        let suffix = self
            .request
            .job_name_suffix
            .map_or_else(random_suffix, str::to_owned);
        let request_in_name = match self.subject {
            Subject::Resource { name, namespace, .. } => {
                Some((name, self.pipeline_namespace_set.then_some(namespace)))
            }
            Subject::Promise { .. } => None,
        };
        job::JobContext {
            promise: promise_name,
            workflow: self.request.workflow,
            pipeline,
            is_last,
            subject: &self.subject,
            job_name: names::job_name(promise_name, request_in_name, pipeline.name(), &suffix),
            namespace: &self.namespace,
            pipeline_namespace_set: self.pipeline_namespace_set,
            service_account,
            hash: &self.hash,
            config: self.request.config,
            adapter: self.request.adapter,
        }
        .job()
    }
}

/// A rendering error of this workflow.
fn workflow_error(workflow: Workflow, message: String) -> Error {
    Error::Render {
        workflow: workflow.to_string(),
        message,
    }
}

/// All objects of a rendered workflow in apply order, each object once (the
/// ConfigMap and a shared ServiceAccount appear at their first use).
pub fn workflow_objects(rendered: &[PipelineResources]) -> Result<Vec<Value>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for resources in rendered {
        for object in resources.objects()? {
            let key = (
                object
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                object
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                object
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            );
            if seen.insert(key) {
                out.push(object);
            }
        }
    }
    Ok(out)
}

/// `Job::KIND`, re-exported for callers matching on kinds.
pub fn job_kind() -> &'static str {
    Job::KIND
}

#[cfg(test)]
mod tests;
