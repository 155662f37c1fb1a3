//! The `KRATIX_*` environment every Kratix-aware container receives.

use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector};

use super::Subject;
use crate::api::workflow::Workflow;

fn var(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value.into()),
        value_from: None,
    }
}

/// The default variables, in the order the contract lists them.
pub fn default_env(workflow: Workflow, promise: &str, pipeline: &str, subject: &Subject<'_>) -> Vec<EnvVar> {
    let mut env = vec![
        var("KRATIX_WORKFLOW_ACTION", workflow.action.as_str()),
        var("KRATIX_WORKFLOW_TYPE", workflow.workflow_type.as_str()),
        var("KRATIX_PROMISE_NAME", promise),
        var("KRATIX_PIPELINE_NAME", pipeline),
        var("KRATIX_OBJECT_KIND", subject.kind()),
        var("KRATIX_OBJECT_GROUP", subject.group()),
        var("KRATIX_OBJECT_VERSION", subject.version()),
        var("KRATIX_OBJECT_NAME", subject.name()),
        var("KRATIX_OBJECT_NAMESPACE", subject.namespace()),
        var("KRATIX_CRD_PLURAL", subject.plural()),
        var(
            "KRATIX_CLUSTER_SCOPED",
            if subject.cluster_scoped() { "true" } else { "false" },
        ),
    ];
    if subject.dry_run() {
        env.push(var("KRATIX_DRY_RUN", "true"));
    }
    env
}

/// `IS_LAST_PIPELINE`, read by the status-writer to mark the workflow complete.
pub fn is_last_pipeline(last: bool) -> EnvVar {
    var("IS_LAST_PIPELINE", if last { "true" } else { "false" })
}

/// Trace context handed to the work-writer from the Pod's own annotations.
pub fn trace_env() -> Vec<EnvVar> {
    [
        ("KRATIX_TRACE_PARENT", crate::api::labels::TRACE_PARENT),
        ("KRATIX_TRACE_STATE", crate::api::labels::TRACE_STATE),
    ]
    .into_iter()
    .map(|(name, annotation)| EnvVar {
        name: name.to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                api_version: None,
                field_path: format!("metadata.annotations['{annotation}']"),
            }),
            ..EnvVarSource::default()
        }),
    })
    .collect()
}
