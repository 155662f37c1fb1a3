//! The ServiceAccount and RBAC objects of one pipeline.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject as RbacSubject,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::names;
use crate::api::labels;
use crate::api::pipeline::Pipeline;
use crate::api::workflow::{Workflow, WorkflowAction};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
const ALL_NAMESPACES: &str = "*";

/// The object itself: `reader` gets it; `status-writer` gets it and patches the
/// `kratix.io/workflow-suspended` label onto it.
const OBJECT_VERBS: &[&str] = &["get", "patch"];
/// Its status: `status-writer` reads and replaces it; `patch` keeps SDKs that publish
/// status directly working.
const STATUS_VERBS: &[&str] = &["get", "update", "patch"];
/// `work-writer` finds the Work of this pipeline by label, then creates or patches it.
const WORK_VERBS: &[&str] = &["list", "create", "patch"];

/// Everything a pipeline's identity needs, in apply order by kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PipelineRbacObjects {
    pub roles: Vec<Role>,
    pub role_bindings: Vec<RoleBinding>,
    pub cluster_roles: Vec<ClusterRole>,
    pub cluster_role_bindings: Vec<ClusterRoleBinding>,
}

/// Who the pipeline runs as and where.
pub struct RbacContext<'a> {
    pub promise: &'a str,
    pub workflow: Workflow,
    pub pipeline: &'a Pipeline,
    pub id: &'a str,
    pub service_account: &'a str,
    pub pipeline_namespace: &'a str,
    /// Resource workflows: the CRD group, plural and the request's namespace;
    /// `None` for Promise workflows.
    pub resource: Option<(&'a str, &'a str, &'a str)>,
}

fn strings(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|s| (*s).to_owned()).collect())
}

fn rule(group: &str, resource: &str, verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: strings(&[group]),
        resources: strings(&[resource]),
        verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
        ..PolicyRule::default()
    }
}

fn meta(name: &str, namespace: Option<&str>, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: namespace.map(str::to_owned),
        labels: Some(labels),
        ..ObjectMeta::default()
    }
}

fn promise_label(promise: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(labels::PROMISE_NAME.to_owned(), promise.to_owned())])
}

/// The ServiceAccount, labelled so the agent knows it created it.
pub fn service_account(promise: &str, name: &str, namespace: &str) -> ServiceAccount {
    ServiceAccount {
        metadata: meta(name, Some(namespace), promise_label(promise)),
        ..ServiceAccount::default()
    }
}

impl RbacContext<'_> {
    fn subjects(&self) -> Option<Vec<RbacSubject>> {
        Some(vec![RbacSubject {
            kind: "ServiceAccount".to_owned(),
            name: self.service_account.to_owned(),
            namespace: Some(self.pipeline_namespace.to_owned()),
            api_group: None,
        }])
    }

    fn role_ref(kind: &str, name: &str) -> RoleRef {
        RoleRef {
            api_group: Some(RBAC_GROUP.to_owned()),
            kind: kind.to_owned(),
            name: name.to_owned(),
        }
    }

    fn user_labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (labels::PROMISE_NAME.to_owned(), self.promise.to_owned()),
            (
                labels::WORKFLOW_TYPE.to_owned(),
                self.workflow.workflow_type.as_str().to_owned(),
            ),
            (
                labels::WORKFLOW_ACTION.to_owned(),
                self.workflow.action.as_str().to_owned(),
            ),
            (labels::PIPELINE_NAME.to_owned(), self.pipeline.name().to_owned()),
            (
                labels::PIPELINE_NAMESPACE.to_owned(),
                self.pipeline_namespace.to_owned(),
            ),
        ])
    }

    /// Default grants first, then the pipeline's own permissions.
    pub fn objects(&self) -> PipelineRbacObjects {
        let mut out = PipelineRbacObjects::default();
        self.default_grants(&mut out);
        self.user_permissions(&mut out);
        out
    }

    /// The Kratix containers' own needs, nothing more (contrast Kratix's issue #923, where
    /// every pipeline may create and update any object of the type and every Work). Each
    /// rule's reason is in docs/decisions.md, "Default pipeline grants".
    fn default_grants(&self, out: &mut PipelineRbacObjects) {
        let labels = promise_label(self.promise);
        let writes_work = self.workflow.action == WorkflowAction::Configure;
        match self.resource {
            None => {
                // Only this Promise: a pipeline of one Promise cannot touch another's.
                let only_this = Some(vec![self.promise.to_owned()]);
                out.cluster_roles.push(ClusterRole {
                    metadata: meta(self.id, None, labels.clone()),
                    rules: Some(vec![
                        PolicyRule {
                            resource_names: only_this.clone(),
                            ..rule(labels::GROUP, "promises", OBJECT_VERBS)
                        },
                        PolicyRule {
                            resource_names: only_this,
                            ..rule(labels::GROUP, "promises/status", STATUS_VERBS)
                        },
                    ]),
                    aggregation_rule: None,
                });
                out.cluster_role_bindings.push(ClusterRoleBinding {
                    metadata: meta(self.id, None, labels.clone()),
                    role_ref: Self::role_ref("ClusterRole", self.id),
                    subjects: self.subjects(),
                });
                if writes_work {
                    // The Work is written where the pipeline runs, so the grant stays there.
                    out.roles.push(Role {
                        metadata: meta(self.id, Some(self.pipeline_namespace), labels.clone()),
                        rules: Some(vec![rule(labels::GROUP, "works", WORK_VERBS)]),
                    });
                    out.role_bindings.push(RoleBinding {
                        metadata: meta(self.id, Some(self.pipeline_namespace), labels),
                        role_ref: Self::role_ref("Role", self.id),
                        subjects: self.subjects(),
                    });
                }
            }
            Some((group, plural, request_namespace)) => {
                let request_rules = vec![
                    rule(group, plural, OBJECT_VERBS),
                    rule(group, &format!("{plural}/status"), STATUS_VERBS),
                ];
                let mut rules = request_rules.clone();
                if writes_work {
                    rules.push(rule(labels::GROUP, "works", WORK_VERBS));
                }
                out.roles.push(Role {
                    metadata: meta(self.id, Some(self.pipeline_namespace), labels.clone()),
                    rules: Some(rules),
                });
                out.role_bindings.push(RoleBinding {
                    metadata: meta(self.id, Some(self.pipeline_namespace), labels.clone()),
                    role_ref: Self::role_ref("Role", self.id),
                    subjects: self.subjects(),
                });
                if request_namespace != self.pipeline_namespace {
                    // The pipeline runs elsewhere: let it read and write requests in the
                    // request's namespace only (a RoleBinding there, not cluster-wide).
                    let name = format!("{}-{request_namespace}", self.id);
                    out.cluster_roles.push(ClusterRole {
                        metadata: meta(&name, None, labels.clone()),
                        rules: Some(request_rules),
                        aggregation_rule: None,
                    });
                    out.role_bindings.push(RoleBinding {
                        metadata: meta(&name, Some(request_namespace), labels),
                        role_ref: Self::role_ref("ClusterRole", &name),
                        subjects: self.subjects(),
                    });
                }
            }
        }
    }

    fn user_permissions(&self, out: &mut PipelineRbacObjects) {
        let Some(rbac) = &self.pipeline.spec.rbac else {
            return;
        };
        // Group rules by target namespace, keeping the order namespaces first appear in.
        let mut groups: Vec<(String, Vec<PolicyRule>)> = Vec::new();
        for permission in &rbac.permissions {
            let target = permission.resource_namespace.clone().unwrap_or_default();
            match groups.iter_mut().find(|(ns, _)| *ns == target) {
                Some((_, rules)) => rules.push(permission.policy_rule()),
                None => groups.push((target, vec![permission.policy_rule()])),
            }
        }
        for (target, rules) in groups {
            let labels = self.user_labels();
            if target.is_empty() {
                let name = names::user_role(self.id);
                out.roles.push(Role {
                    metadata: meta(&name, Some(self.pipeline_namespace), labels.clone()),
                    rules: Some(rules),
                });
                out.role_bindings.push(RoleBinding {
                    metadata: meta(&name, Some(self.pipeline_namespace), labels),
                    role_ref: Self::role_ref("Role", &name),
                    subjects: self.subjects(),
                });
            } else if target == ALL_NAMESPACES {
                let role_name = names::user_cluster_role_for_all_namespaces(self.id);
                let mut role_labels = labels.clone();
                role_labels.insert(
                    labels::RESOURCE_NAMESPACE.to_owned(),
                    labels::ALL_NAMESPACES_LABEL_VALUE.to_owned(),
                );
                out.cluster_roles.push(ClusterRole {
                    metadata: meta(&role_name, None, role_labels),
                    rules: Some(rules),
                    aggregation_rule: None,
                });
                out.cluster_role_bindings.push(ClusterRoleBinding {
                    metadata: meta(
                        &names::user_cluster_role_binding(self.id, self.pipeline_namespace),
                        None,
                        labels,
                    ),
                    role_ref: Self::role_ref("ClusterRole", &role_name),
                    subjects: self.subjects(),
                });
            } else {
                let role_name = names::user_cluster_role_for_namespace(self.id, &target);
                let mut role_labels = labels.clone();
                role_labels.insert(labels::RESOURCE_NAMESPACE.to_owned(), target.clone());
                out.cluster_roles.push(ClusterRole {
                    metadata: meta(&role_name, None, role_labels),
                    rules: Some(rules),
                    aggregation_rule: None,
                });
                out.role_bindings.push(RoleBinding {
                    metadata: meta(
                        &names::user_cluster_role_binding(self.id, self.pipeline_namespace),
                        Some(&target),
                        labels,
                    ),
                    role_ref: Self::role_ref("ClusterRole", &role_name),
                    subjects: self.subjects(),
                });
            }
        }
    }
}
