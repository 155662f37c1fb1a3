//! Every label, annotation and finalizer key of the Kratix contract, in one place.
//!
//! Names are Kratix's, copied exactly, so a grep for a key string
//! lands here and nowhere else.

/// The API group and version of every Kratix kind.
pub const GROUP: &str = "platform.kratix.io";
/// The single served version of the Kratix kinds.
pub const VERSION: &str = "v1alpha1";
/// `group/version` as it appears in `apiVersion`.
pub const API_VERSION: &str = "platform.kratix.io/v1alpha1";
/// Namespace Kratix runs in; home of Promise workflows, Works and the config ConfigMap.
pub const SYSTEM_NAMESPACE: &str = "kratix-platform-system";

pub const PROMISE_NAME: &str = "kratix.io/promise-name";
pub const RESOURCE_NAME: &str = "kratix.io/resource-name";
pub const RESOURCE_NAMESPACE: &str = "kratix.io/resource-namespace";
pub const PIPELINE_NAME: &str = "kratix.io/pipeline-name";
pub const PIPELINE_NAMESPACE: &str = "kratix.io/pipeline-namespace";
pub const WORKFLOW_TYPE: &str = "kratix.io/workflow-type";
pub const WORKFLOW_ACTION: &str = "kratix.io/workflow-action";
pub const WORK_TYPE: &str = "kratix.io/work-type";
pub const HASH: &str = "kratix.io/hash";
/// On every pipeline Job and pod the agent makes: the UID of the object whose
/// workflow it runs (kubectl-kratix's addition). A Job counts as an object's only
/// with it: names repeat across namespaces (`pipelineNamespace`) and over time,
/// UIDs do not, and owner references cannot cross namespaces.
pub const OBJECT_UID: &str = "agent.kratix.io/object-uid";
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Value of [`MANAGED_BY`] on every Job and Pod Kratix creates.
pub const MANAGED_BY_KRATIX: &str = "Kratix";
pub const PROMISE_VERSION: &str = "kratix.io/promise-version";
pub const PAUSED: &str = "kratix.io/paused";
pub const MANUAL_RECONCILIATION: &str = "kratix.io/manual-reconciliation";
pub const RECONCILE_RESOURCES: &str = "kratix.io/reconcile-resources";
pub const WORKFLOW_SUSPENDED: &str = "kratix.io/workflow-suspended";
pub const RUN_FROM_START: &str = "internal.workflows.kratix.io/run-from-start";
pub const WORK: &str = "kratix.io/work";
pub const WORKLOAD_GROUP_ID: &str = "kratix.io/workload-group-id";
pub const TARGET_DESTINATION_NAME: &str = "kratix.io/targetDestinationName";
pub const MISPLACED: &str = "kratix.io/misplaced";
/// On a Destination (`"true"`): only dry-run Works go there; on a Work: it is a dry run.
pub const DRY_RUN: &str = "kratix.io/dry-run";

/// Whether switch label `key` (paused, manual-reconciliation,
/// reconcile-resources, workflow-suspended) is on: Kratix acts on `"true"`
/// only, so `kratix.io/paused: "false"` pauses nothing, for the agent and for
/// what the plugin shows alike.
pub fn is_on(labels: &std::collections::BTreeMap<String, String>, key: &str) -> bool {
    labels.get(key).is_some_and(|v| v == "true")
}

/// [`is_on`], read from an object as JSON.
pub fn is_on_object(object: &serde_json::Value, key: &str) -> bool {
    object
        .pointer("/metadata/labels")
        .and_then(|l| l.get(key))
        .and_then(serde_json::Value::as_str)
        == Some("true")
}

/// Why `key` may not be a label a pipeline sets on its Job and pod, if it may not:
/// the agent sets these itself and selects its Jobs by them (Kratix lets a
/// pipeline's labels override its own, which makes a run loop forever), and the
/// Job controller owns the `batch.kubernetes.io/` ones.
pub fn reserved_job_label(key: &str) -> Option<&'static str> {
    const AGENT_SET: [&str; 9] = [
        OBJECT_UID,
        PROMISE_NAME,
        RESOURCE_NAME,
        RESOURCE_NAMESPACE,
        PIPELINE_NAME,
        WORKFLOW_TYPE,
        WORKFLOW_ACTION,
        HASH,
        MANAGED_BY,
    ];
    if AGENT_SET.contains(&key) {
        Some("is set by the agent on every pipeline Job and pod, which it finds its Jobs by")
    } else if key.starts_with("batch.kubernetes.io/") || key == "job-name" || key == "controller-uid" {
        Some("is set by the agent's Job controller on every pipeline pod")
    } else {
        None
    }
}

/// Why `key` may not be an annotation a pipeline sets on its pod, if it may not:
/// the agent sets these on pipeline Jobs and pods to say whose run it is.
pub fn reserved_job_annotation(key: &str) -> Option<&'static str> {
    let agent_set = [
        JOB_RESOURCE_NAMESPACE,
        JOB_RESOURCE_NAME,
        JOB_RESOURCE_KIND,
        JOB_RESOURCE_API_VERSION,
    ];
    (agent_set.contains(&key) || TRACE_ANNOTATIONS.contains(&key))
        .then_some("is set by the agent on every pipeline Job and pod, to say whose run it is")
}

/// Label value standing for "every namespace" on user-permission ClusterRoles
/// (`*` is not a legal label value; the underscore cannot clash with a namespace).
pub const ALL_NAMESPACES_LABEL_VALUE: &str = "kratix_all_namespaces";

pub const JOB_RESOURCE_NAMESPACE: &str = "kratix.io/job-resource-namespace";
pub const JOB_RESOURCE_NAME: &str = "kratix.io/job-resource-name";
pub const JOB_RESOURCE_KIND: &str = "kratix.io/job-resource-kind";
pub const JOB_RESOURCE_API_VERSION: &str = "kratix.io/job-resource-api-version";
pub const RECONCILIATION_INTERVAL_ANNOTATION: &str = "kratix.io/reconciliation-interval";

/// Trace-propagation annotations copied from the object onto Jobs and Pods.
pub const TRACE_ANNOTATIONS: [&str; 4] = [
    "kratix.io/trace-parent",
    "kratix.io/trace-state",
    "kratix.io/trace-timestamp",
    "kratix.io/trace-generation",
];
pub const TRACE_PARENT: &str = "kratix.io/trace-parent";
pub const TRACE_STATE: &str = "kratix.io/trace-state";

/// A label map from pairs, for unit tests.
#[cfg(test)]
pub(crate) fn from_pairs(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_switch_label_is_on_only_when_true() {
        let labels = |value: &str| [(PAUSED.to_owned(), value.to_owned())].into_iter().collect();
        assert!(is_on(&labels("true"), PAUSED));
        assert!(!is_on(&labels("false"), PAUSED));
        assert!(!is_on(&labels(""), PAUSED));
        assert!(!is_on(&labels("true"), MANUAL_RECONCILIATION));
        let object = |value: serde_json::Value| serde_json::json!({"metadata": {"labels": {PAUSED: value}}});
        assert!(is_on_object(&object("true".into()), PAUSED));
        assert!(!is_on_object(&object("yes".into()), PAUSED));
        assert!(!is_on_object(&object(serde_json::Value::Null), PAUSED));
        assert!(!is_on_object(&serde_json::json!({}), PAUSED));
    }
}
