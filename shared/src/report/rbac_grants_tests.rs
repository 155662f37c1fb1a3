//! Unit tests of reading a ServiceAccount's grants and judging one request
//! against them.

use serde_json::json;

use super::*;

fn value<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("rbac object")
}

fn objects() -> RbacObjects {
    RbacObjects {
        roles: vec![value(json!({
            "metadata": {"name": "reader", "namespace": "team-a"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]
        }))],
        cluster_roles: vec![
            value(json!({
                "metadata": {"name": "deployer"},
                "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]}]
            })),
            value(json!({
                "metadata": {"name": "namespace-viewer"},
                "rules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"],
                           "resourceNames": ["team-b"]}]
            })),
        ],
        role_bindings: vec![
            value(json!({
                "metadata": {"name": "reader", "namespace": "team-a"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
                "subjects": [{"kind": "ServiceAccount", "name": "pipeline"}]
            })),
            value(json!({
                "metadata": {"name": "deploy-in-b", "namespace": "team-b"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "deployer"},
                "subjects": [{"kind": "ServiceAccount", "name": "pipeline", "namespace": "team-a"}]
            })),
            value(json!({
                "metadata": {"name": "someone-else", "namespace": "team-a"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
                "subjects": [{"kind": "ServiceAccount", "name": "other"}]
            })),
        ],
        cluster_role_bindings: vec![value(json!({
            "metadata": {"name": "all-accounts"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "namespace-viewer"},
            "subjects": [{"kind": "Group", "name": "system:serviceaccounts:team-a"}]
        }))],
    }
}

fn account() -> ServiceAccountRef {
    ServiceAccountRef {
        namespace: "team-a".to_owned(),
        name: "pipeline".to_owned(),
    }
}

fn access(verb: &str, group: &str, resource: &str, namespace: &str) -> Access {
    Access {
        verb: verb.to_owned(),
        group: group.to_owned(),
        resource: resource.to_owned(),
        namespace: namespace.to_owned(),
        ..Access::default()
    }
}

#[test]
fn grants_come_from_bindings_naming_the_account_or_its_groups() {
    let grants = grants_of(&objects(), &account());
    let summary: Vec<(String, &str, &str)> = grants
        .iter()
        .map(|g| (g.scope.to_string(), g.role.as_str(), g.source.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                "cluster-wide".to_owned(),
                "ClusterRole/namespace-viewer",
                "ClusterRoleBinding/all-accounts"
            ),
            ("team-a".to_owned(), "Role/reader", "RoleBinding/team-a/reader"),
            (
                "team-b".to_owned(),
                "ClusterRole/deployer",
                "RoleBinding/team-b/deploy-in-b"
            ),
        ]
    );
    assert_eq!(
        grants[0].via_group.as_deref(),
        Some("system:serviceaccounts:team-a")
    );
    assert!(grants.iter().all(|g| g.role_exists));
}

#[test]
fn a_cross_namespace_binding_allows_only_its_namespace() {
    let grants = grants_of(&objects(), &account());
    let in_b = allowing(&grants, &access("create", "apps", "deployments", "team-b"));
    assert_eq!(in_b.len(), 1);
    assert_eq!(in_b[0].0.source, "RoleBinding/team-b/deploy-in-b");
    assert!(allowing(&grants, &access("create", "apps", "deployments", "team-a")).is_empty());
    assert!(allowing(&grants, &access("create", "apps", "deployments", "")).is_empty());
    assert_eq!(
        allowing(&grants, &access("list", "", "configmaps", "team-a")).len(),
        1
    );
    assert!(allowing(&grants, &access("delete", "", "configmaps", "team-a")).is_empty());
}

#[test]
fn resource_names_and_subresources_narrow_a_rule() {
    let grants = grants_of(&objects(), &account());
    let mut named = access("get", "", "namespaces", "");
    assert!(
        allowing(&grants, &named).is_empty(),
        "a named rule needs the name"
    );
    named.name = "team-b".to_owned();
    assert_eq!(allowing(&grants, &named).len(), 1);
    let rule: PolicyRule = serde_json::from_value(json!({
        "apiGroups": [""], "resources": ["*/status"], "verbs": ["patch"]
    }))
    .expect("rule");
    let mut status = access("patch", "", "pods", "x");
    assert!(!rule_allows(&rule, &status));
    status.subresource = "status".to_owned();
    assert!(rule_allows(&rule, &status));
}

#[test]
fn rules_read_in_one_line() {
    let rule: PolicyRule = serde_json::from_value(json!({
        "apiGroups": ["", "apps"], "resources": ["deployments"], "verbs": ["get", "list"],
        "resourceNames": ["web"]
    }))
    .expect("rule");
    assert_eq!(
        describe_rule(&rule),
        "get,list deployments, deployments.apps [web]"
    );
}
