//! The optional Promise policy of the `kratix` ConfigMap (`promisePolicy`, off
//! by default, as Kratix has none): what a cluster admin running other teams'
//! Promises can refuse, each refusal naming the field.

use crate::api::Pipeline;
use crate::api::config::PromisePolicy;
use crate::api::workflow::Workflow;

/// The Promise's condition (kubectl-kratix's own) while the policy refuses it.
pub const POLICY_ADMITTED: &str = "PolicyAdmitted";
/// `PolicyAdmitted` False (and `Available` False): the message names each field.
pub const REFUSED_BY_POLICY: &str = "RefusedByPolicy";

/// Verbs that let a service account grant, bind or act as more than it holds.
const ESCALATING_VERBS: [&str; 3] = ["escalate", "bind", "impersonate"];

/// One field the policy refuses, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRefusal {
    pub path: String,
    pub message: String,
}

/// What `policy` refuses in a Promise with these pipelines and
/// `pipelineNamespace`; nothing when it is off.
pub fn refusals(
    policy: &PromisePolicy,
    pipeline_namespace: Option<&str>,
    pipelines: &[(Workflow, Vec<Pipeline>)],
) -> Vec<PolicyRefusal> {
    let mut found = Vec::new();
    if !policy.enabled {
        return found;
    }
    refuse_pipeline_namespace(policy, pipeline_namespace, &mut found);
    for (workflow, list) in pipelines {
        for (index, pipeline) in list.iter().enumerate() {
            let base = format!(
                "spec.workflows.{}.{}[{index}].spec",
                workflow.workflow_type.as_str(),
                workflow.action.as_str()
            );
            refuse_volumes(pipeline, &base, &mut found);
            refuse_containers(pipeline, &base, &mut found);
            refuse_rbac(pipeline, &base, &mut found);
        }
    }
    found
}

/// Records one refusal.
fn refuse(found: &mut Vec<PolicyRefusal>, path: String, message: &str) {
    found.push(PolicyRefusal {
        path,
        message: message.to_owned(),
    });
}

/// A `pipelineNamespace` outside the allowed ones, when any are listed.
fn refuse_pipeline_namespace(
    policy: &PromisePolicy,
    pipeline_namespace: Option<&str>,
    found: &mut Vec<PolicyRefusal>,
) {
    if let Some(namespace) = pipeline_namespace
        && !policy.allowed_pipeline_namespaces.is_empty()
        && !policy.allowed_pipeline_namespaces.iter().any(|n| n == namespace)
    {
        refuse(
            found,
            "spec.workflows.config.pipelineNamespace".to_owned(),
            &format!(
                "{namespace:?} is not one of the pipeline namespaces the policy allows ({})",
                policy.allowed_pipeline_namespaces.join(", ")
            ),
        );
    }
}

/// A pipeline's hostPath volumes.
fn refuse_volumes(pipeline: &Pipeline, base: &str, found: &mut Vec<PolicyRefusal>) {
    for (v, volume) in pipeline.spec.volumes.iter().enumerate() {
        if volume.host_path.is_some() {
            refuse(
                found,
                format!("{base}.volumes[{v}].hostPath"),
                "a hostPath volume reaches the node's own files",
            );
        }
    }
}

/// A pipeline's privileged or root containers.
fn refuse_containers(pipeline: &Pipeline, base: &str, found: &mut Vec<PolicyRefusal>) {
    for (c, container) in pipeline.spec.containers.iter().enumerate() {
        let context = container.security_context.as_ref();
        if context.and_then(|s| s.privileged) == Some(true) {
            refuse(
                found,
                format!("{base}.containers[{c}].securityContext.privileged"),
                "a privileged container holds the node",
            );
        }
        if context.and_then(|s| s.run_as_user) == Some(0) {
            refuse(
                found,
                format!("{base}.containers[{c}].securityContext.runAsUser"),
                "the container runs as root",
            );
        }
        if context.and_then(|s| s.run_as_non_root) == Some(false) {
            refuse(
                found,
                format!("{base}.containers[{c}].securityContext.runAsNonRoot"),
                "the container asks to be allowed to run as root",
            );
        }
    }
}

/// A pipeline's own service account, and wildcard or escalating permissions.
fn refuse_rbac(pipeline: &Pipeline, base: &str, found: &mut Vec<PolicyRefusal>) {
    let Some(rbac) = &pipeline.spec.rbac else {
        return;
    };
    if rbac.service_account.as_deref().is_some_and(|a| !a.is_empty()) {
        refuse(
            found,
            format!("{base}.rbac.serviceAccount"),
            "a service account of the pipeline's own choosing runs it with whatever that account holds beyond the Promise's permissions",
        );
    }
    for (p, permission) in rbac.permissions.iter().enumerate() {
        let at = format!("{base}.rbac.permissions[{p}]");
        if permission.verbs.iter().any(|v| v == "*") {
            refuse(found, format!("{at}.verbs"), "a wildcard verb grants everything");
        }
        if let Some(verb) = permission
            .verbs
            .iter()
            .find(|v| ESCALATING_VERBS.contains(&v.as_str()))
        {
            refuse(
                found,
                format!("{at}.verbs"),
                &format!("the verb {verb:?} lets the pipeline grant or act as more than it holds"),
            );
        }
        if permission.resources.iter().flatten().any(|r| r == "*") {
            refuse(
                found,
                format!("{at}.resources"),
                "a wildcard resource grants every kind",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pipeline(spec: serde_json::Value) -> Pipeline {
        serde_json::from_value(json!({
            "apiVersion": "platform.kratix.io/v1alpha1", "kind": "Pipeline",
            "metadata": {"name": "p"}, "spec": spec
        }))
        .expect("pipeline")
    }

    fn on() -> PromisePolicy {
        PromisePolicy {
            enabled: true,
            allowed_pipeline_namespaces: vec!["pipelines".to_owned()],
        }
    }

    fn refused(spec: serde_json::Value, namespace: Option<&str>) -> (Vec<String>, Vec<String>) {
        let pipelines = vec![(Workflow::RESOURCE_CONFIGURE, vec![pipeline(spec)])];
        let when_on = refusals(&on(), namespace, &pipelines);
        assert_eq!(
            refusals(&PromisePolicy::default(), namespace, &pipelines),
            vec![],
            "off by default: nothing refused"
        );
        (
            when_on.iter().map(|r| r.path.clone()).collect(),
            when_on.iter().map(|r| r.message.clone()).collect(),
        )
    }

    const BASE: &str = "spec.workflows.resource.configure[0].spec";

    #[test]
    fn each_rule_refuses_when_on_naming_the_field_and_nothing_when_off() {
        let container = |context: serde_json::Value| json!({"containers": [{"name": "c", "image": "i", "securityContext": context}]});
        let cases = [
            (
                json!({"containers": [{"name": "c", "image": "i"}], "volumes": [{"name": "v", "emptyDir": {}}, {"name": "h", "hostPath": {"path": "/"}}]}),
                format!("{BASE}.volumes[1].hostPath"),
            ),
            (
                container(json!({"privileged": true})),
                format!("{BASE}.containers[0].securityContext.privileged"),
            ),
            (
                container(json!({"runAsUser": 0})),
                format!("{BASE}.containers[0].securityContext.runAsUser"),
            ),
            (
                container(json!({"runAsNonRoot": false})),
                format!("{BASE}.containers[0].securityContext.runAsNonRoot"),
            ),
            (
                json!({"containers": [{"name": "c", "image": "i"}], "rbac": {"serviceAccount": "powerful"}}),
                format!("{BASE}.rbac.serviceAccount"),
            ),
            (
                json!({"containers": [{"name": "c", "image": "i"}], "rbac": {"permissions": [{"apiGroups": [""], "verbs": ["*"], "resources": ["pods"]}]}}),
                format!("{BASE}.rbac.permissions[0].verbs"),
            ),
            (
                json!({"containers": [{"name": "c", "image": "i"}], "rbac": {"permissions": [{"apiGroups": ["rbac.authorization.k8s.io"], "verbs": ["bind"], "resources": ["clusterroles"]}]}}),
                format!("{BASE}.rbac.permissions[0].verbs"),
            ),
            (
                json!({"containers": [{"name": "c", "image": "i"}], "rbac": {"permissions": [{"apiGroups": [""], "verbs": ["get"], "resources": ["*"]}]}}),
                format!("{BASE}.rbac.permissions[0].resources"),
            ),
        ];
        for (spec, path) in cases {
            let (paths, messages) = refused(spec, None);
            assert_eq!(paths, [path], "{messages:?}");
        }
        for verb in ["escalate", "impersonate"] {
            let spec = json!({"containers": [{"name": "c", "image": "i"}], "rbac": {"permissions": [{"apiGroups": [""], "verbs": ["get", verb], "resources": ["users"]}]}});
            let (_, messages) = refused(spec, None);
            assert!(messages[0].contains(verb), "{messages:?}");
        }
        let plain = json!({"containers": [{"name": "c", "image": "i", "securityContext": {"runAsUser": 1000}}],
            "rbac": {"permissions": [{"apiGroups": [""], "verbs": ["get", "list"], "resources": ["secrets"], "resourceNamespace": "*"}]}});
        assert_eq!(refused(plain.clone(), Some("pipelines")).0, Vec::<String>::new());
        let (paths, messages) = refused(plain, Some("elsewhere"));
        assert_eq!(paths, ["spec.workflows.config.pipelineNamespace"]);
        assert!(messages[0].contains("pipelines"), "{messages:?}");
    }
}
