//! What a pipeline's ServiceAccount may do, read from the RBAC objects
//! themselves: the bindings naming it (directly or through its groups), the
//! roles they bind with their rules, and which of those allow one request,
//! evaluated as the API server's RBAC authorizer does (no aggregation).

use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, Subject};
use serde::Serialize;

/// The RBAC objects to read.
#[derive(Debug, Clone, Default)]
pub struct RbacObjects {
    pub roles: Vec<Role>,
    pub cluster_roles: Vec<ClusterRole>,
    pub role_bindings: Vec<RoleBinding>,
    pub cluster_role_bindings: Vec<ClusterRoleBinding>,
}

/// A ServiceAccount, as RBAC subjects name it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ServiceAccountRef {
    pub namespace: String,
    pub name: String,
}

impl ServiceAccountRef {
    /// `system:serviceaccount:<ns>:<name>`, the user name the API server sees.
    pub fn user_name(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.name)
    }

    /// The groups every ServiceAccount token carries.
    pub fn groups(&self) -> [String; 3] {
        [
            "system:serviceaccounts".to_owned(),
            format!("system:serviceaccounts:{}", self.namespace),
            "system:authenticated".to_owned(),
        ]
    }

    fn is(&self, subject: &Subject, binding_namespace: &str) -> bool {
        match subject.kind.as_str() {
            "ServiceAccount" => {
                let namespace = subject
                    .namespace
                    .as_deref()
                    .filter(|n| !n.is_empty())
                    .unwrap_or(binding_namespace);
                subject.name == self.name && namespace == self.namespace
            }
            "User" => subject.name == self.user_name(),
            "Group" => self.groups().contains(&subject.name),
            _ => false,
        }
    }
}

/// Where a grant applies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// A ClusterRoleBinding: every namespace and cluster-scoped resources.
    ClusterWide,
    /// A RoleBinding: its namespace only.
    Namespace(String),
}

/// As the table writes it: `cluster-wide` or the namespace.
impl Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::ClusterWide => f.write_str("cluster-wide"),
            Scope::Namespace(namespace) => f.write_str(namespace),
        }
    }
}

/// One binding of the account and the role it binds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    pub scope: Scope,
    /// `Role/x` or `ClusterRole/y`.
    pub role: String,
    /// `RoleBinding/ns/x` or `ClusterRoleBinding/y`.
    pub source: String,
    /// Bound through a group rather than by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via_group: Option<String>,
    /// False when the bound role does not exist (the binding grants nothing).
    pub role_exists: bool,
    pub rules: Vec<PolicyRule>,
}

/// Every grant of `account`, cluster-wide first, then by namespace and role.
pub fn grants_of(objects: &RbacObjects, account: &ServiceAccountRef) -> Vec<Grant> {
    let cluster_role = |name: &str| {
        objects
            .cluster_roles
            .iter()
            .find(|r| r.metadata.name.as_deref() == Some(name))
    };
    let via_group = |subjects: &Option<Vec<Subject>>, namespace: &str| {
        let subject = subjects.iter().flatten().find(|s| account.is(s, namespace))?;
        Some((subject.kind == "Group").then(|| subject.name.clone()))
    };
    let mut grants = Vec::new();
    for binding in &objects.cluster_role_bindings {
        let Some(group) = via_group(&binding.subjects, "") else {
            continue;
        };
        if binding.role_ref.kind != "ClusterRole" {
            continue;
        }
        let role = cluster_role(&binding.role_ref.name);
        grants.push(Grant {
            scope: Scope::ClusterWide,
            role: format!("ClusterRole/{}", binding.role_ref.name),
            source: format!(
                "ClusterRoleBinding/{}",
                binding.metadata.name.as_deref().unwrap_or_default()
            ),
            via_group: group,
            role_exists: role.is_some(),
            rules: role.and_then(|r| r.rules.clone()).unwrap_or_default(),
        });
    }
    for binding in &objects.role_bindings {
        let namespace = binding.metadata.namespace.as_deref().unwrap_or_default();
        let Some(group) = via_group(&binding.subjects, namespace) else {
            continue;
        };
        let role_name = binding.role_ref.name.as_str();
        let rules = match binding.role_ref.kind.as_str() {
            "Role" => objects
                .roles
                .iter()
                .find(|r| {
                    r.metadata.namespace.as_deref() == Some(namespace)
                        && r.metadata.name.as_deref() == Some(role_name)
                })
                .map(|r| r.rules.clone().unwrap_or_default()),
            "ClusterRole" => cluster_role(role_name).map(|r| r.rules.clone().unwrap_or_default()),
            _ => None,
        };
        grants.push(Grant {
            scope: Scope::Namespace(namespace.to_owned()),
            role: format!("{}/{role_name}", binding.role_ref.kind),
            source: format!(
                "RoleBinding/{namespace}/{}",
                binding.metadata.name.as_deref().unwrap_or_default()
            ),
            via_group: group,
            role_exists: rules.is_some(),
            rules: rules.unwrap_or_default(),
        });
    }
    grants.sort_by(|a, b| (&a.scope, &a.role, &a.source).cmp(&(&b.scope, &b.role, &b.source)));
    grants
}

/// A resource request, as `kubectl auth can-i VERB RESOURCE` means it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Access {
    pub verb: String,
    /// The API group; empty for the core group.
    pub group: String,
    /// The plural resource name.
    pub resource: String,
    pub subresource: String,
    /// One object's name; empty for any.
    pub name: String,
    /// Empty for a cluster-scoped resource or "every namespace".
    pub namespace: String,
}

fn listed(list: &Option<Vec<String>>, value: &str) -> bool {
    list.iter().flatten().any(|item| item == "*" || item == value)
}

/// Whether one rule allows the access, as the RBAC authorizer matches rules.
pub fn rule_allows(rule: &PolicyRule, access: &Access) -> bool {
    let verb = rule.verbs.iter().any(|v| v == "*" || *v == access.verb);
    let combined = if access.subresource.is_empty() {
        access.resource.clone()
    } else {
        format!("{}/{}", access.resource, access.subresource)
    };
    let resource = rule.resources.iter().flatten().any(|r| {
        r == "*"
            || *r == combined
            || (!access.subresource.is_empty() && *r == format!("*/{}", access.subresource))
    });
    let name = match &rule.resource_names {
        Some(names) if !names.is_empty() => names.contains(&access.name),
        _ => true,
    };
    verb && listed(&rule.api_groups, &access.group) && resource && name
}

/// A path that is not a resource (`/healthz`, `/metrics`): `*` and `prefix*` match.
pub fn non_resource_rule_allows(rule: &PolicyRule, verb: &str, path: &str) -> bool {
    rule.verbs.iter().any(|v| v == "*" || v == verb)
        && rule.non_resource_urls.iter().flatten().any(|url| {
            url == "*"
                || url == path
                || url
                    .strip_suffix('*')
                    .is_some_and(|prefix| path.starts_with(prefix))
        })
}

/// The grants (and in each the first rule) that allow `access`; none means denied.
pub fn allowing<'g>(grants: &'g [Grant], access: &Access) -> Vec<(&'g Grant, &'g PolicyRule)> {
    grants
        .iter()
        .filter(|g| match &g.scope {
            Scope::ClusterWide => true,
            Scope::Namespace(namespace) => !access.namespace.is_empty() && *namespace == access.namespace,
        })
        .filter_map(|g| g.rules.iter().find(|r| rule_allows(r, access)).map(|r| (g, r)))
        .collect()
}

/// A rule in one line: `get,list configmaps, secrets.apps [name1]`.
pub fn describe_rule(rule: &PolicyRule) -> String {
    let verbs = rule.verbs.join(",");
    if let Some(urls) = rule.non_resource_urls.as_ref().filter(|u| !u.is_empty()) {
        return format!("{verbs} {}", urls.join(", "));
    }
    let mut groups: Vec<&str> = rule.api_groups.iter().flatten().map(String::as_str).collect();
    if groups.is_empty() {
        groups.push("");
    }
    let mut resources = Vec::new();
    for resource in rule.resources.iter().flatten() {
        for group in &groups {
            // As kubectl describe writes them: `deployments.apps/scale`.
            let (name, subresource) = match resource.split_once('/') {
                Some((name, sub)) => (name, format!("/{sub}")),
                None => (resource.as_str(), String::new()),
            };
            resources.push(match *group {
                "" => format!("{name}{subresource}"),
                group => format!("{name}.{group}{subresource}"),
            });
        }
    }
    let mut line = format!("{verbs} {}", resources.join(", "));
    if let Some(names) = rule.resource_names.as_ref().filter(|n| !n.is_empty()) {
        line.push_str(&format!(" [{}]", names.join(", ")));
    }
    line
}

#[cfg(test)]
#[path = "rbac_grants_tests.rs"]
mod tests;
