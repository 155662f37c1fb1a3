//! The Pipeline: an object embedded in a Promise's workflow lists, never a CRD.
//!
//! Only the fields the reference supports are modelled; anything else is an
//! unknown field and a validation error, as the reference's strict decoding makes it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    EnvFromSource, EnvVar, LocalObjectReference, ResourceRequirements, SecurityContext, Toleration, Volume,
    VolumeMount,
};
use k8s_openapi::api::rbac::v1::PolicyRule;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::labels::API_VERSION;
use crate::codec::decode::{FieldProblem, FieldProblemKind, decode_collecting, join_path};

/// `kind` every pipeline must carry.
pub const PIPELINE_KIND: &str = "Pipeline";

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Pipeline {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: PipelineSpec,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct PipelineSpec {
    pub containers: Vec<PipelineContainer>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<LocalObjectReference>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_options: Option<JobOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rbac: Option<PipelineRbac>,
}

/// The container fields a pipeline may set; the rest of a Pod container is Kratix's.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct PipelineContainer {
    pub name: String,
    pub image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env_from: Vec<EnvFromSource>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<VolumeMount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_context: Option<SecurityContext>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct JobOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff_limit: Option<i32>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct PipelineRbac {
    /// Run as this ServiceAccount instead of the generated one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<Permission>,
}

/// A PolicyRule plus the namespace it applies in: empty for the pipeline's
/// namespace, a name, or `*` for all namespaces.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Permission {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_groups: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<String>>,
    pub verbs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_names: Option<Vec<String>>,
    #[serde(rename = "nonResourceURLs", skip_serializing_if = "Option::is_none")]
    pub non_resource_urls: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_namespace: Option<String>,
}

impl Permission {
    /// The rule without its namespace.
    pub fn policy_rule(&self) -> PolicyRule {
        PolicyRule {
            api_groups: self.api_groups.clone(),
            resources: self.resources.clone(),
            verbs: self.verbs.clone(),
            resource_names: self.resource_names.clone(),
            non_resource_urls: self.non_resource_urls.clone(),
        }
    }
}

impl Pipeline {
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }
}

/// Decodes one stored pipeline. Returns the pipeline when its shape allowed
/// decoding, plus every problem, with paths relative to `base_path`.
pub fn parse_pipeline(value: &Value, base_path: &str) -> (Option<Pipeline>, Vec<FieldProblem>) {
    let (pipeline, mut problems) = decode_collecting::<Pipeline>(value);
    for problem in &mut problems {
        problem.path = join_path(base_path, &problem.path);
    }
    if let Some(pipeline) = &pipeline
        && (pipeline.kind != PIPELINE_KIND || pipeline.api_version != API_VERSION)
    {
        problems.insert(
                0,
                FieldProblem {
                    kind: FieldProblemKind::Invalid,
                    path: base_path.to_owned(),
                    message: format!(
                        "unsupported pipeline: kind {:?} apiVersion {:?}; a pipeline must have kind: {PIPELINE_KIND} and apiVersion: {API_VERSION}",
                        pipeline.kind, pipeline.api_version
                    ),
                },
            );
    }
    (pipeline, problems)
}

/// Decodes a whole pipeline list, failing with every problem when any pipeline
/// has one (keys matching only case-insensitively are accepted, as Kratix
/// accepts them). This is what the agent runs before rendering.
pub fn parse_pipelines(values: &[Value], base_path: &str) -> Result<Vec<Pipeline>, Vec<FieldProblem>> {
    let mut pipelines = Vec::with_capacity(values.len());
    let mut problems = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let (pipeline, found) = parse_pipeline(value, &format!("{base_path}[{i}]"));
        problems.extend(
            found
                .into_iter()
                .filter(|p| p.kind != FieldProblemKind::CaseMismatch),
        );
        pipelines.extend(pipeline);
    }
    if problems.is_empty() {
        Ok(pipelines)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pipeline(spec: Value) -> Value {
        json!({
            "apiVersion": "platform.kratix.io/v1alpha1",
            "kind": "Pipeline",
            "metadata": {"name": "instance", "namespace": "ignored", "creationTimestamp": null},
            "spec": spec
        })
    }

    #[test]
    fn decodes_a_full_pipeline() {
        let value = pipeline(json!({
            "containers": [{
                "name": "create", "image": "ghcr.io/x/y:v1",
                "env": [{"name": "A", "value": "b"}],
                "volumeMounts": [{"name": "v", "mountPath": "/v"}],
                "resources": {"limits": {"cpu": "1"}}
            }],
            "volumes": [{"name": "v", "emptyDir": {}}],
            "rbac": {"permissions": [{"apiGroups": [""], "verbs": ["get"], "resources": ["secrets"], "resourceNamespace": "*"}]},
            "jobOptions": {"backoffLimit": 2}
        }));
        let (parsed, problems) = parse_pipeline(&value, "spec.workflows.resource.configure[0]");
        assert_eq!(problems, vec![]);
        let parsed = parsed.expect("decoded");
        assert_eq!(parsed.name(), "instance");
        assert_eq!(parsed.spec.containers[0].env[0].name, "A");
        assert_eq!(parsed.spec.job_options.and_then(|j| j.backoff_limit), Some(2));
        let permission = &parsed.spec.rbac.expect("rbac").permissions[0];
        assert_eq!(permission.resource_namespace.as_deref(), Some("*"));
    }

    #[test]
    fn unknown_fields_are_reported_with_their_path() {
        let value = pipeline(json!({
            "contianers": [],
            "containers": [{"name": "a", "image": "b", "volumeMounts": [{"name": "v", "mountPaht": "/x"}]}]
        }));
        let (_, problems) = parse_pipeline(&value, "p");
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"p.spec.contianers"), "{problems:?}");
        assert!(
            paths.contains(&"p.spec.containers[0].volumeMounts[0].mountPaht"),
            "{problems:?}"
        );
    }

    #[test]
    fn wrong_kind_is_an_unsupported_pipeline() {
        let mut value = pipeline(json!({"containers": []}));
        value["kind"] = json!("Job");
        let (_, problems) = parse_pipeline(&value, "p");
        assert!(
            problems[0].message.starts_with("unsupported pipeline"),
            "{problems:?}"
        );
    }
}
