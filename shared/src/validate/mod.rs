//! Offline validation of Promises: what the reference admission webhook checks,
//! and what the API server or the Job would reject later.
//!
//! Every problem is returned with its field path; nothing stops at the first.

mod crd;
pub mod names;
mod pipelines;
pub mod policy;

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::api::Pipeline;
use crate::api::labels::API_VERSION;
use crate::api::promise::PromiseSpec;
use crate::api::resource_api::ResourceApi;
use crate::api::workflow::Workflow;
use crate::codec::decode::{FieldProblem, FieldProblemKind, decode_collecting, join_path};
use crate::codec::duration::parse_go_duration;

pub use pipelines::{MAX_PIPELINE_ID, validate_labels};

/// The shortest `reconciliationInterval` the reference accepts.
pub const MIN_RECONCILIATION_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One thing wrong with a Promise, at a field path such as
/// `spec.workflows.resource.configure[0].spec.containers[1].name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub path: String,
    pub message: String,
}

/// Collects problems in the order they are found.
#[derive(Debug, Default)]
pub struct Problems(Vec<Problem>);

impl Problems {
    pub fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.push(Severity::Error, path.into(), message.into());
    }

    pub fn warning(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.push(Severity::Warning, path.into(), message.into());
    }

    fn push(&mut self, severity: Severity, path: String, message: String) {
        self.0.push(Problem {
            severity,
            path,
            message,
        });
    }

    /// Adds decoding problems, their paths prefixed with `base`: keys that
    /// match only case-insensitively are warnings, the rest errors.
    pub fn extend(&mut self, base: &str, found: Vec<FieldProblem>) {
        for problem in found {
            let path = join_path(base, &problem.path);
            match problem.kind {
                FieldProblemKind::CaseMismatch => self.warning(path, problem.message),
                FieldProblemKind::Invalid | FieldProblemKind::UnknownField => {
                    self.error(path, problem.message)
                }
            }
        }
    }

    pub fn into_vec(self) -> Vec<Problem> {
        self.0
    }
}

/// A Promise as a document: decoded strictly so unknown top-level fields show.
#[derive(Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", default)]
struct PromiseDocument {
    api_version: String,
    kind: String,
    metadata: ObjectMeta,
    spec: PromiseSpec,
    status: Option<Value>,
}

/// What validation learnt, for callers that go on to render.
#[derive(Debug, Default)]
pub struct Validated {
    pub problems: Vec<Problem>,
    pub resource_api: Option<ResourceApi>,
    pub pipelines: Vec<(Workflow, Vec<Pipeline>)>,
}

impl Validated {
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(|p| p.severity == Severity::Error)
    }

    /// Every pipeline `workflow` lists, in order.
    pub fn pipelines_of(&self, workflow: Workflow) -> &[Pipeline] {
        self.pipelines
            .iter()
            .find(|(w, _)| *w == workflow)
            .map_or(&[], |(_, pipelines)| pipelines.as_slice())
    }

    /// The pipelines that run for `workflow`: a delete workflow runs its first only.
    pub fn runnable_pipelines(&self, workflow: Workflow) -> &[Pipeline] {
        let all = self.pipelines_of(workflow);
        match workflow.action {
            crate::api::workflow::WorkflowAction::Delete => &all[..all.len().min(1)],
            crate::api::workflow::WorkflowAction::Configure => all,
        }
    }
}

/// Validates one Promise document.
pub fn validate_promise(document: &Value) -> Validated {
    let mut problems = Problems::default();
    let (decoded, found) = decode_collecting::<PromiseDocument>(document);
    problems.extend("", found);
    let Some(promise) = decoded else {
        return Validated {
            problems: problems.into_vec(),
            ..Validated::default()
        };
    };
    let _ = &promise.status;
    validate_kind(&promise, &mut problems);
    let name = promise.metadata.name.clone().unwrap_or_default();
    validate_metadata(&promise.metadata, &name, &mut problems);

    let spec = &promise.spec;
    let resource_api = spec
        .api_crd()
        .and_then(|api| crd::validate_api(api, &mut problems));
    validate_workflows_config(spec, &mut problems);
    let pipelines = validate_workflows(spec, &name, &mut problems);
    validate_destination_selectors(spec, &mut problems);
    validate_required_promises(spec, &name, &mut problems);
    validate_dependencies(spec, &mut problems);
    Validated {
        problems: problems.into_vec(),
        resource_api,
        pipelines,
    }
}

/// `apiVersion` and `kind` say it is a Promise.
fn validate_kind(promise: &PromiseDocument, problems: &mut Problems) {
    if promise.kind != "Promise" || promise.api_version != API_VERSION {
        problems.error(
            "",
            format!(
                "not a Promise: apiVersion {:?} kind {:?}; expected apiVersion: {API_VERSION} and kind: Promise",
                promise.api_version, promise.kind
            ),
        );
    }
}

/// `metadata`: the name (`name`, as read from it), the labels and the
/// reconciliation interval annotation.
fn validate_metadata(metadata: &ObjectMeta, name: &str, problems: &mut Problems) {
    if name.is_empty() {
        problems.error("metadata.name", "a Promise needs a name");
    } else if let Some(problem) = names::dns_label_problem(name) {
        // The name becomes a label value and a prefix of object names.
        problems.error("metadata.name", format!("{name:?} {problem}"));
    }
    validate_labels(metadata.labels.as_ref(), "metadata.labels", problems);
    if let Some(interval) = metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(crate::api::labels::RECONCILIATION_INTERVAL_ANNOTATION))
    {
        validate_interval(
            interval,
            &format!(
                "metadata.annotations.{}",
                crate::api::labels::RECONCILIATION_INTERVAL_ANNOTATION
            ),
            problems,
        );
    }
}

/// `spec.workflows.config`: the reconciliation interval and the pipeline
/// namespace.
fn validate_workflows_config(spec: &PromiseSpec, problems: &mut Problems) {
    let Some(config) = &spec.workflows.config else {
        return;
    };
    if let Some(interval) = &config.reconciliation_interval {
        validate_interval(interval, "spec.workflows.config.reconciliationInterval", problems);
    }
    if let Some(namespace) = config.pipeline_namespace.as_deref().filter(|ns| !ns.is_empty())
        && let Some(problem) = names::dns_label_problem(namespace)
    {
        problems.error(
            "spec.workflows.config.pipelineNamespace",
            format!("{namespace:?} {problem}"),
        );
    }
}

/// Each workflow that has pipelines, returning the pipelines that decoded.
fn validate_workflows(
    spec: &PromiseSpec,
    promise_name: &str,
    problems: &mut Problems,
) -> Vec<(Workflow, Vec<Pipeline>)> {
    let mut pipelines = Vec::new();
    for workflow in Workflow::ALL {
        let values = spec.workflows.pipelines(workflow);
        if values.is_empty() {
            continue;
        }
        if workflow.workflow_type == crate::api::WorkflowType::Resource && spec.api_crd().is_none() {
            problems.warning(
                workflow.field_path(),
                "these pipelines never run: resource workflows need an API (spec.api)",
            );
        }
        let decoded = pipelines::validate_workflow(promise_name, workflow, values, problems);
        pipelines.push((workflow, decoded));
    }
    pipelines
}

/// `spec.destinationSelectors`: each selector's labels.
fn validate_destination_selectors(spec: &PromiseSpec, problems: &mut Problems) {
    for (i, selector) in spec.destination_selectors.iter().enumerate() {
        let labels = Some(&selector.match_labels);
        validate_labels(
            labels,
            &format!("spec.destinationSelectors[{i}].matchLabels"),
            problems,
        );
    }
}

/// `spec.requiredPromises`: each names a Promise other than this one.
fn validate_required_promises(spec: &PromiseSpec, promise_name: &str, problems: &mut Problems) {
    for (i, required) in spec.required_promises.iter().enumerate() {
        if required.name.is_empty() {
            problems.error(
                format!("spec.requiredPromises[{i}].name"),
                "a required Promise needs a name",
            );
        } else if required.name == promise_name {
            problems.error(
                format!("spec.requiredPromises[{i}].name"),
                "a Promise cannot require itself",
            );
        }
    }
}

/// `spec.dependencies`: each is a manifest with apiVersion and kind.
fn validate_dependencies(spec: &PromiseSpec, problems: &mut Problems) {
    for (i, dependency) in spec.dependencies.iter().enumerate() {
        let kind = dependency.get("kind").and_then(Value::as_str).unwrap_or_default();
        let api_version = dependency
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if kind.is_empty() || api_version.is_empty() {
            problems.error(
                format!("spec.dependencies[{i}]"),
                "a dependency is a Kubernetes manifest: it needs apiVersion and kind",
            );
        }
    }
}

fn validate_interval(interval: &str, path: &str, problems: &mut Problems) {
    match parse_go_duration(interval) {
        Ok(duration) if duration < MIN_RECONCILIATION_INTERVAL => {
            problems.error(path, format!("{interval:?} is shorter than the minimum of 1m"));
        }
        Ok(_) => {}
        Err(error) => problems.error(path, error.to_string()),
    }
}

#[cfg(test)]
mod tests;
