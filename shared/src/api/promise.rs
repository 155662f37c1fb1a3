//! The Promise kind: a Resource API, its dependencies and its workflows.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::schema::{go_duration, preserve_unknown_object, preserve_unknown_object_list};
use super::workflow::{Workflow, WorkflowAction, WorkflowType};

/// What a Promise offers and how requests for it are fulfilled.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "platform.kratix.io",
    version = "v1alpha1",
    kind = "Promise",
    doc = "A Promise: a Resource API, its dependencies and the workflows that fulfil it",
    plural = "promises",
    status = "PromiseStatus",
    category = "kratix",
    printcolumn = r#"{"name": "Status", "type": "string", "jsonPath": ".status.status"}"#,
    printcolumn = r#"{"name": "Kind", "type": "string", "jsonPath": ".status.kind"}"#,
    printcolumn = r#"{"name": "API Version", "type": "string", "jsonPath": ".status.apiVersion"}"#,
    printcolumn = r#"{"name": "Version", "type": "string", "jsonPath": ".status.version"}"#,
    printcolumn = r#"{"name": "Message", "type": "string", "jsonPath": ".status.message"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct PromiseSpec {
    /// The Resource API, a full `apiextensions.k8s.io/v1` CustomResourceDefinition.
    /// Absent, `null` or `{}` means the Promise offers no API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_object")]
    pub api: Option<Value>,

    #[serde(default, skip_serializing_if = "Workflows::is_empty")]
    pub workflows: Workflows,

    /// Manifests written as they are to every matching Destination.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "preserve_unknown_object_list")]
    pub dependencies: Vec<Value>,

    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destination_selectors: Vec<PromiseScheduling>,

    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_promises: Vec<RequiredPromise>,
}

/// The four pipeline lists and the settings that apply to all of them.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct Workflows {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<WorkflowsConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<WorkflowPipelines>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promise: Option<WorkflowPipelines>,
}

impl Workflows {
    pub fn is_empty(&self) -> bool {
        self.config.is_none() && self.resource.is_none() && self.promise.is_none()
    }

    /// The pipeline list of a workflow, as stored (unparsed; see [`crate::api::pipeline`]).
    pub fn pipelines(&self, workflow: Workflow) -> &[Value] {
        let lists = match workflow.workflow_type {
            WorkflowType::Promise => self.promise.as_ref(),
            WorkflowType::Resource => self.resource.as_ref(),
        };
        match (lists, workflow.action) {
            (Some(lists), WorkflowAction::Configure) => &lists.configure,
            (Some(lists), WorkflowAction::Delete) => &lists.delete,
            (None, _) => &[],
        }
    }
}

/// `pipelineNamespace` and `reconciliationInterval`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowsConfig {
    /// Namespace every workflow of this Promise runs in; it must exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_namespace: Option<String>,
    /// How often completed workflows re-run (at least 1m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "go_duration")]
    pub reconciliation_interval: Option<String>,
}

/// Pipelines, stored unstructured as Kratix stores them; parsed with
/// [`crate::api::pipeline::parse_pipelines`].
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct WorkflowPipelines {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "preserve_unknown_object_list")]
    pub configure: Vec<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "preserve_unknown_object_list")]
    pub delete: Vec<Value>,
}

/// A Destination label selector.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PromiseScheduling {
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
}

/// Another Promise that must be Available first.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct RequiredPromise {
    pub name: String,
    /// Empty means any version.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
}

/// What Kratix records about a Promise.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PromiseStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// `Available` or `Unavailable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_available_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_promises: Vec<RequiredPromiseStatus>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_by: Vec<RequiredBy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kratix: Option<KratixPromiseStatus>,
}

/// One entry of `status.requiredPromises`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct RequiredPromiseStatus {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// `Requirement installed`, `Requirement not installed`, ...
    pub state: String,
}

/// A Promise that requires this one.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequiredBy {
    pub promise: PromiseReference,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub required_version: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct PromiseReference {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
}

/// The Kratix-owned mirror under `status.kratix`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KratixPromiseStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_available_time: Option<Time>,
    /// Every version the Promise has been installed at, newest last (Kratix
    /// keeps a PromiseRevision for each; a requirement on any of them is met).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<String>,
    /// Workflow progress by action (configure, delete), as Kratix keeps it;
    /// an older layout is kept as written until the agent takes it over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_object")]
    pub workflows: Option<Value>,
}

/// `status.kratix.workflows`: one record per workflow action, keyed
/// `configure` and `delete` (Kratix's layout since its #933). Kept as loose
/// JSON in the CRD so that older layouts survive until they are adopted.
pub type WorkflowRecords = BTreeMap<String, WorkflowRecord>;

/// Progress of one workflow (a configure or a delete run): the record the
/// engine resumes from.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_successful_configure_workflow_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pipelines: Vec<PipelineStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended_generation: Option<i64>,
}

impl WorkflowRecord {
    /// The `kratix.io/hash` the recorded run is for: a fresh run stamps every
    /// pipeline with it.
    pub fn run_hash(&self) -> Option<&str> {
        self.pipelines.iter().find_map(|p| p.hash.as_deref())
    }
}

/// One pipeline's entry in `status.kratix.workflows.<action>.pipelines`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PipelineStatus {
    pub name: String,
    /// The object's `kratix.io/hash` when this pipeline's run began: Succeeded
    /// at the current hash means settled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// `Pending`, `Running`, `Succeeded`, `Failed` or `Suspended`.
    pub phase: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_retry_at: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// The Job running (or that ran) this pipeline in the current run
    /// (kubectl-kratix's addition: Kratix's record names no Job).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
}

impl Promise {
    /// Decodes a Promise read as JSON. `spec` may be absent, as Kratix allows (a
    /// Promise that only marks a version, for others to require): it reads as empty.
    pub fn from_json(value: &Value) -> Result<Promise, serde_json::Error> {
        match value.get("spec") {
            Some(spec) if !spec.is_null() => serde_json::from_value(value.clone()),
            _ => {
                let mut with_spec = value.clone();
                if let Some(map) = with_spec.as_object_mut() {
                    map.insert("spec".to_owned(), Value::Object(serde_json::Map::new()));
                }
                serde_json::from_value(with_spec)
            }
        }
    }
}

impl PromiseSpec {
    /// The embedded CRD, or `None` when the Promise offers no API
    /// (absent, `null` or `{}`).
    pub fn api_crd(&self) -> Option<&Value> {
        match &self.api {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) if map.is_empty() => None,
            Some(api) => Some(api),
        }
    }

    /// `spec.workflows.config.pipelineNamespace`, when set and non-empty.
    pub fn pipeline_namespace(&self) -> Option<&str> {
        self.workflows
            .config
            .as_ref()
            .and_then(|c| c.pipeline_namespace.as_deref())
            .filter(|ns| !ns.is_empty())
    }
}
