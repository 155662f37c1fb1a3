//! Kubernetes RBAC, evaluated over the Roles, ClusterRoles and bindings stored
//! in the API, as the API server's RBAC authorizer does (no aggregation).

use k8s_openapi::api::rbac::v1::{PolicyRule, Subject};
use kratix_shared::rbac_grants::{self, Access};

use super::request_info::Attributes;
use crate::identity::Identity;

/// The RBAC objects to evaluate against (the plugin's type: one shape for both).
pub use kratix_shared::rbac_grants::RbacObjects;

/// Paths every authenticated user may read (system:discovery, system:public-info-viewer).
const PUBLIC_PATHS: [&str; 7] = [
    "/api", "/apis", "/version", "/openapi", "/healthz", "/livez", "/readyz",
];

fn subject_matches(subject: &Subject, identity: &Identity, binding_namespace: &str) -> bool {
    match subject.kind.as_str() {
        "User" => subject.name == identity.user_name(),
        "Group" => identity.groups().contains(&subject.name),
        "ServiceAccount" => match identity {
            Identity::ServiceAccount { namespace, name } => {
                let subject_namespace = subject
                    .namespace
                    .as_deref()
                    .filter(|n| !n.is_empty())
                    .unwrap_or(binding_namespace);
                subject.name == *name && subject_namespace == namespace
            }
            Identity::Admin | Identity::User { .. } => false,
        },
        _ => false,
    }
}

/// Whether one rule allows the request: the same rule matching as
/// `kubectl kratix workflows service-accounts --check` reads from the objects.
pub fn rule_allows(rule: &PolicyRule, attributes: &Attributes) -> bool {
    match &attributes.resource {
        Some(request) => rbac_grants::rule_allows(
            rule,
            &Access {
                verb: attributes.verb.clone(),
                group: request.group.clone(),
                resource: request.resource.clone(),
                subresource: request.subresource.clone(),
                name: request.name.clone(),
                namespace: request.namespace.clone(),
            },
        ),
        None => rbac_grants::non_resource_rule_allows(rule, &attributes.verb, &attributes.path),
    }
}

/// Whether `identity` may do what `attributes` describe.
pub fn allowed(objects: &RbacObjects, identity: &Identity, attributes: &Attributes) -> bool {
    if *identity == Identity::Admin {
        return true;
    }
    if attributes.resource.is_none()
        && attributes.verb == "get"
        && PUBLIC_PATHS
            .iter()
            .any(|p| attributes.path == *p || attributes.path.starts_with(&format!("{p}/")))
    {
        return true;
    }
    if let Some(request) = &attributes.resource
        && request.group == "authorization.k8s.io"
        && matches!(
            request.resource.as_str(),
            "selfsubjectaccessreviews" | "selfsubjectrulesreviews"
        )
        && attributes.verb == "create"
    {
        return true;
    }
    let cluster_role = |name: &str| {
        objects
            .cluster_roles
            .iter()
            .find(|r| r.metadata.name.as_deref() == Some(name))
    };
    for binding in &objects.cluster_role_bindings {
        if binding.role_ref.kind != "ClusterRole"
            || !binding
                .subjects
                .iter()
                .flatten()
                .any(|s| subject_matches(s, identity, ""))
        {
            continue;
        }
        let rules = cluster_role(&binding.role_ref.name).and_then(|r| r.rules.as_ref());
        if rules
            .into_iter()
            .flatten()
            .any(|rule| rule_allows(rule, attributes))
        {
            return true;
        }
    }
    let namespace = attributes
        .resource
        .as_ref()
        .map(|r| r.namespace.as_str())
        .unwrap_or_default();
    if namespace.is_empty() {
        return false;
    }
    for binding in objects
        .role_bindings
        .iter()
        .filter(|b| b.metadata.namespace.as_deref() == Some(namespace))
    {
        if !binding
            .subjects
            .iter()
            .flatten()
            .any(|s| subject_matches(s, identity, namespace))
        {
            continue;
        }
        let rules = match binding.role_ref.kind.as_str() {
            "Role" => objects
                .roles
                .iter()
                .find(|r| {
                    r.metadata.namespace.as_deref() == Some(namespace)
                        && r.metadata.name.as_deref() == Some(binding.role_ref.name.as_str())
                })
                .and_then(|r| r.rules.as_ref()),
            "ClusterRole" => cluster_role(&binding.role_ref.name).and_then(|r| r.rules.as_ref()),
            _ => None,
        };
        if rules
            .into_iter()
            .flatten()
            .any(|rule| rule_allows(rule, attributes))
        {
            return true;
        }
    }
    false
}

/// Kubernetes' message for a denied request.
pub fn forbidden_message(identity: &Identity, attributes: &Attributes) -> String {
    let user = identity.user_name();
    match &attributes.resource {
        None => format!(
            "forbidden: User \"{user}\" cannot {} path \"{}\"",
            attributes.verb, attributes.path
        ),
        Some(r) => {
            let qualified = if r.group.is_empty() {
                r.resource.clone()
            } else {
                format!("{}.{}", r.resource, r.group)
            };
            let subject = if r.name.is_empty() {
                qualified
            } else {
                format!("{qualified} \"{}\"", r.name)
            };
            let resource = if r.subresource.is_empty() {
                r.resource.clone()
            } else {
                format!("{}/{}", r.resource, r.subresource)
            };
            let scope = if r.namespace.is_empty() {
                "at the cluster scope".to_owned()
            } else {
                format!("in the namespace \"{}\"", r.namespace)
            };
            format!(
                "{subject} is forbidden: User \"{user}\" cannot {} resource \"{resource}\" in API group \"{}\" {scope}",
                attributes.verb, r.group
            )
        }
    }
}

#[cfg(test)]
mod tests {
    //! Cases from the Kubernetes RBAC documentation ("Using RBAC Authorization").
    use super::*;
    use crate::proxy::request_info::attributes;
    use serde_json::json;

    fn objects(value: serde_json::Value) -> RbacObjects {
        let list = |key: &str| value.get(key).cloned().unwrap_or(json!([]));
        RbacObjects {
            roles: serde_json::from_value(list("roles")).expect("roles"),
            cluster_roles: serde_json::from_value(list("clusterRoles")).expect("cluster roles"),
            role_bindings: serde_json::from_value(list("roleBindings")).expect("role bindings"),
            cluster_role_bindings: serde_json::from_value(list("clusterRoleBindings"))
                .expect("cluster role bindings"),
        }
    }

    fn sa(namespace: &str, name: &str) -> Identity {
        Identity::ServiceAccount {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    fn can(objects: &RbacObjects, who: &Identity, method: &str, path: &str) -> bool {
        allowed(objects, who, &attributes(method, path, None))
    }

    /// The documentation's `pod-reader` Role bound to a subject in `default`.
    fn pod_reader(subject: serde_json::Value) -> RbacObjects {
        objects(json!({
            "roles": [{"metadata": {"namespace": "default", "name": "pod-reader"},
                       "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "watch", "list"]}]}],
            "roleBindings": [{"metadata": {"namespace": "default", "name": "read-pods"},
                              "subjects": [subject], "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"}}]
        }))
    }

    #[test]
    fn a_role_grants_only_its_verbs_resources_and_namespace() {
        let rbac = pod_reader(json!({"kind": "ServiceAccount", "name": "reader", "namespace": "default"}));
        let reader = sa("default", "reader");
        assert!(can(&rbac, &reader, "GET", "/api/v1/namespaces/default/pods"));
        assert!(can(&rbac, &reader, "GET", "/api/v1/namespaces/default/pods/p1"));
        assert!(!can(
            &rbac,
            &reader,
            "DELETE",
            "/api/v1/namespaces/default/pods/p1"
        ));
        assert!(!can(&rbac, &reader, "GET", "/api/v1/namespaces/other/pods"));
        assert!(!can(&rbac, &reader, "GET", "/api/v1/namespaces/default/secrets"));
        // A subresource needs its own rule.
        assert!(!can(
            &rbac,
            &reader,
            "GET",
            "/api/v1/namespaces/default/pods/p1/log"
        ));
        assert!(!can(
            &rbac,
            &sa("default", "other"),
            "GET",
            "/api/v1/namespaces/default/pods"
        ));
    }

    #[test]
    fn service_account_subjects_default_to_the_binding_namespace() {
        let rbac = pod_reader(json!({"kind": "ServiceAccount", "name": "reader"}));
        assert!(can(
            &rbac,
            &sa("default", "reader"),
            "GET",
            "/api/v1/namespaces/default/pods"
        ));
        assert!(!can(
            &rbac,
            &sa("kube-system", "reader"),
            "GET",
            "/api/v1/namespaces/default/pods"
        ));
    }

    #[test]
    fn group_subjects_cover_every_service_account_of_a_namespace() {
        let rbac = pod_reader(
            json!({"kind": "Group", "name": "system:serviceaccounts:default", "apiGroup": "rbac.authorization.k8s.io"}),
        );
        assert!(can(
            &rbac,
            &sa("default", "anyone"),
            "GET",
            "/api/v1/namespaces/default/pods"
        ));
        assert!(!can(
            &rbac,
            &sa("qa", "anyone"),
            "GET",
            "/api/v1/namespaces/default/pods"
        ));
    }

    #[test]
    fn a_cluster_role_through_a_role_binding_is_scoped_to_that_namespace() {
        let rbac = objects(json!({
            "clusterRoles": [{"metadata": {"name": "secret-reader"},
                              "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "watch", "list"]}]}],
            "roleBindings": [{"metadata": {"namespace": "development", "name": "read-secrets"},
                              "subjects": [{"kind": "ServiceAccount", "name": "dave", "namespace": "development"}],
                              "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "secret-reader"}}]
        }));
        let dave = sa("development", "dave");
        assert!(can(&rbac, &dave, "GET", "/api/v1/namespaces/development/secrets"));
        assert!(!can(&rbac, &dave, "GET", "/api/v1/namespaces/default/secrets"));
        assert!(!can(&rbac, &dave, "GET", "/api/v1/secrets"));
    }

    #[test]
    fn a_cluster_role_binding_grants_everywhere() {
        let rbac = objects(json!({
            "clusterRoles": [{"metadata": {"name": "secret-reader"},
                              "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "watch", "list"]}]}],
            "clusterRoleBindings": [{"metadata": {"name": "read-secrets-global"},
                                     "subjects": [{"kind": "Group", "name": "system:serviceaccounts", "apiGroup": "rbac.authorization.k8s.io"}],
                                     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "secret-reader"}}]
        }));
        assert!(can(
            &rbac,
            &sa("any", "one"),
            "GET",
            "/api/v1/namespaces/x/secrets"
        ));
        assert!(can(&rbac, &sa("any", "one"), "GET", "/api/v1/secrets"));
    }

    #[test]
    fn resource_names_restrict_named_requests_only() {
        let rbac = objects(json!({
            "roles": [{"metadata": {"namespace": "default", "name": "configmap-updater"},
                       "rules": [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["my-configmap"], "verbs": ["update", "get"]}]}],
            "roleBindings": [{"metadata": {"namespace": "default", "name": "b"},
                              "subjects": [{"kind": "ServiceAccount", "name": "s", "namespace": "default"}],
                              "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "configmap-updater"}}]
        }));
        let s = sa("default", "s");
        assert!(can(
            &rbac,
            &s,
            "GET",
            "/api/v1/namespaces/default/configmaps/my-configmap"
        ));
        assert!(can(
            &rbac,
            &s,
            "PUT",
            "/api/v1/namespaces/default/configmaps/my-configmap"
        ));
        assert!(!can(
            &rbac,
            &s,
            "GET",
            "/api/v1/namespaces/default/configmaps/other"
        ));
        assert!(!can(&rbac, &s, "GET", "/api/v1/namespaces/default/configmaps"));
    }

    #[test]
    fn wildcards_and_subresources() {
        let rule: PolicyRule =
            serde_json::from_value(json!({"apiGroups": ["*"], "resources": ["*/status"], "verbs": ["*"]}))
                .expect("rule");
        assert!(rule_allows(
            &rule,
            &attributes("PUT", "/apis/example.org/v1/namespaces/a/widgets/w/status", None)
        ));
        assert!(!rule_allows(
            &rule,
            &attributes("PUT", "/apis/example.org/v1/namespaces/a/widgets/w", None)
        ));
        let logs: PolicyRule = serde_json::from_value(
            json!({"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]}),
        )
        .expect("rule");
        assert!(rule_allows(
            &logs,
            &attributes("GET", "/api/v1/namespaces/a/pods/p/log", None)
        ));
    }

    #[test]
    fn non_resource_urls_match_exactly_or_by_prefix() {
        let rule: PolicyRule =
            serde_json::from_value(json!({"nonResourceURLs": ["/healthz", "/metrics/*"], "verbs": ["get"]}))
                .expect("rule");
        assert!(rule_allows(&rule, &attributes("GET", "/healthz", None)));
        assert!(rule_allows(&rule, &attributes("GET", "/metrics/cadvisor", None)));
        assert!(!rule_allows(&rule, &attributes("GET", "/metricsx", None)));
        assert!(!rule_allows(&rule, &attributes("POST", "/healthz", None)));
    }

    #[test]
    fn discovery_is_open_to_authenticated_accounts_and_admin_to_everything() {
        let none = RbacObjects::default();
        assert!(can(&none, &sa("a", "b"), "GET", "/apis/batch/v1"));
        assert!(can(&none, &sa("a", "b"), "GET", "/api"));
        assert!(!can(&none, &sa("a", "b"), "GET", "/api/v1/namespaces/a/pods"));
        assert!(can(
            &none,
            &Identity::Admin,
            "DELETE",
            "/api/v1/namespaces/a/pods/x"
        ));
    }

    #[test]
    fn denials_read_like_kubernetes() {
        let who = sa("default", "reader");
        assert_eq!(
            forbidden_message(
                &who,
                &attributes("GET", "/api/v1/namespaces/default/secrets/s", None)
            ),
            "secrets \"s\" is forbidden: User \"system:serviceaccount:default:reader\" cannot get resource \"secrets\" in API group \"\" in the namespace \"default\""
        );
        assert_eq!(
            forbidden_message(&who, &attributes("GET", "/apis/batch/v1/jobs", None)),
            "jobs.batch is forbidden: User \"system:serviceaccount:default:reader\" cannot list resource \"jobs\" in API group \"batch\" at the cluster scope"
        );
    }
}
