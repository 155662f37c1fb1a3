//! Names of the objects a pipeline run creates.

use crate::api::naming::{deterministic_object_name, name_with_suffix};
use crate::api::pipeline::Pipeline;
use crate::api::workflow::Workflow;

pub const READER: &str = "reader";
pub const WORK_WRITER: &str = "work-writer";
pub const STATUS_WRITER: &str = "status-writer";
/// Container names a user container may not take.
pub const KRATIX_CONTAINERS: [&str; 3] = [READER, WORK_WRITER, STATUS_WRITER];

pub const PROMISE_SCHEDULING_VOLUME: &str = "promise-scheduling";
pub const SHARED_INPUT_VOLUME: &str = "shared-input";
pub const SHARED_OUTPUT_VOLUME: &str = "shared-output";
pub const SHARED_METADATA_VOLUME: &str = "shared-metadata";
/// Volume names a pipeline may not declare.
pub const KRATIX_VOLUMES: [&str; 4] = [
    PROMISE_SCHEDULING_VOLUME,
    SHARED_INPUT_VOLUME,
    SHARED_OUTPUT_VOLUME,
    SHARED_METADATA_VOLUME,
];

/// `<promise>-<type>-<action>-<pipeline>`: the pipeline's identity, and the
/// name of its ServiceAccount and default RBAC.
pub fn pipeline_id(promise: &str, workflow: Workflow, pipeline: &str) -> String {
    format!(
        "{promise}-{}-{}-{pipeline}",
        workflow.workflow_type, workflow.action
    )
}

/// The ServiceAccount a pipeline's pods run as: the one its
/// `spec.rbac.serviceAccount` names, else its [`pipeline_id`].
pub fn service_account(promise: &str, workflow: Workflow, pipeline: &Pipeline) -> String {
    pipeline
        .spec
        .rbac
        .as_ref()
        .and_then(|r| r.service_account.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| pipeline_id(promise, workflow, pipeline.name()))
}

/// `kratix-<promise>[-<request>[-<request namespace>]]-<pipeline>-<suffix>`; the
/// request namespace appears only when a `pipelineNamespace` moves the Job.
pub fn job_name(
    promise: &str,
    request: Option<(&str, Option<&str>)>,
    pipeline: &str,
    suffix: &str,
) -> String {
    let mut base = format!("kratix-{promise}");
    if let Some((name, namespace)) = request {
        base.push('-');
        base.push_str(name);
        if let Some(namespace) = namespace {
            base.push('-');
            base.push_str(namespace);
        }
    }
    base.push('-');
    base.push_str(pipeline);
    name_with_suffix(&base, suffix)
}

/// ConfigMap holding a Promise's destination selectors, one per namespace.
pub fn destination_selectors_configmap(promise: &str) -> String {
    format!("destination-selectors-{promise}")
}

/// Role and RoleBinding for permissions in the pipeline's own namespace.
pub fn user_role(id: &str) -> String {
    deterministic_object_name(id, &[])
}

/// ClusterRole for permissions in namespace `target`.
pub fn user_cluster_role_for_namespace(id: &str, target: &str) -> String {
    deterministic_object_name(&format!("{id}-{target}"), &[])
}

/// ClusterRole for permissions in every namespace.
pub fn user_cluster_role_for_all_namespaces(id: &str) -> String {
    deterministic_object_name(&format!("{id}-kratix-all-namespaces"), &[])
}

/// Binding of a user ClusterRole: a RoleBinding in the target namespace, or a
/// ClusterRoleBinding for every namespace.
pub fn user_cluster_role_binding(id: &str, service_account_namespace: &str) -> String {
    deterministic_object_name(&format!("{id}-{service_account_namespace}"), &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_join_promise_type_action_and_pipeline() {
        assert_eq!(
            pipeline_id("redis", Workflow::RESOURCE_CONFIGURE, "instance"),
            "redis-resource-configure-instance"
        );
    }

    #[test]
    fn job_names() {
        assert_eq!(
            job_name("redis", None, "deps", "abcde"),
            "kratix-redis-deps-abcde"
        );
        assert_eq!(
            job_name("redis", Some(("r1", None)), "instance", "00000"),
            "kratix-redis-r1-instance-00000"
        );
        assert_eq!(
            job_name("redis", Some(("r1", Some("team-a"))), "instance", "00000"),
            "kratix-redis-r1-team-a-instance-00000"
        );
    }

    #[test]
    fn long_job_names_are_cut_before_the_suffix() {
        let name = job_name(
            &"p".repeat(30),
            Some((&"r".repeat(30), None)),
            "pipeline",
            "12345",
        );
        // kratix- (7) + 30 p + '-' + 18 r = 56 characters kept.
        assert_eq!(
            name,
            format!("kratix-{}-{}-12345", "p".repeat(30), "r".repeat(18))
        );
    }

    #[test]
    fn user_rbac_names_hash_their_own_text() {
        // md5sum of each name, first five hex digits, computed with md5sum.
        assert_eq!(
            user_role("redis-resource-configure-instance"),
            "redis-resource-configure-instance-bd900"
        );
    }
}
