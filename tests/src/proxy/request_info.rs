//! What a request asks for, in the terms RBAC speaks: verb, API group,
//! resource, subresource, namespace, name; or a non-resource path.

/// The attributes RBAC evaluates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attributes {
    pub verb: String,
    /// `None` for non-resource requests.
    pub resource: Option<ResourceAttributes>,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceAttributes {
    pub group: String,
    pub version: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
}

fn has_watch(query: Option<&str>) -> bool {
    query.is_some_and(|q| q.split('&').any(|p| p == "watch=true" || p == "watch=1"))
}

/// Parses a request the way the API server's request-info resolver does.
pub fn attributes(method: &str, path: &str, query: Option<&str>) -> Attributes {
    let http_verb = method.to_lowercase();
    let non_resource = || Attributes {
        verb: http_verb.clone(),
        resource: None,
        path: path.to_owned(),
    };
    let parts: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    let (group, version, mut rest) = match parts.as_slice() {
        ["api", version, rest @ ..] => (String::new(), (*version).to_owned(), rest.to_vec()),
        ["apis", group, version, rest @ ..] => ((*group).to_owned(), (*version).to_owned(), rest.to_vec()),
        _ => return non_resource(),
    };
    if rest.is_empty() {
        // Discovery of a group version.
        return non_resource();
    }
    let mut watch_path = false;
    if rest.first() == Some(&"watch") {
        watch_path = true;
        rest.remove(0);
    }
    let mut namespace = String::new();
    if rest.first() == Some(&"namespaces") && rest.len() >= 2 {
        // /namespaces/NAME[/status|/finalize] is the namespace object itself.
        if rest.len() == 2 || matches!(rest[2], "status" | "finalize") {
            let info = ResourceAttributes {
                group,
                version,
                resource: "namespaces".to_owned(),
                subresource: rest.get(2).map(|s| (*s).to_owned()).unwrap_or_default(),
                namespace: rest[1].to_owned(),
                name: rest[1].to_owned(),
            };
            return Attributes {
                verb: verb(&http_verb, true, watch_path || has_watch(query)),
                resource: Some(info),
                path: path.to_owned(),
            };
        }
        namespace = rest[1].to_owned();
        rest.drain(..2);
    }
    let resource = rest.first().map(|s| (*s).to_owned()).unwrap_or_default();
    let name = rest.get(1).map(|s| (*s).to_owned()).unwrap_or_default();
    let subresource = rest.get(2).map(|s| (*s).to_owned()).unwrap_or_default();
    Attributes {
        verb: verb(&http_verb, !name.is_empty(), watch_path || has_watch(query)),
        resource: Some(ResourceAttributes {
            group,
            version,
            resource,
            subresource,
            namespace,
            name,
        }),
        path: path.to_owned(),
    }
}

fn verb(http_verb: &str, named: bool, watch: bool) -> String {
    match (http_verb, named, watch) {
        ("get" | "head", _, true) => "watch",
        ("get" | "head", true, false) => "get",
        ("get" | "head", false, false) => "list",
        ("post", _, _) => "create",
        ("put", _, _) => "update",
        ("patch", _, _) => "patch",
        ("delete", true, _) => "delete",
        ("delete", false, _) => "deletecollection",
        (other, _, _) => other,
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(method: &str, path: &str, query: Option<&str>) -> (String, ResourceAttributes) {
        let attributes = attributes(method, path, query);
        (attributes.verb, attributes.resource.expect("a resource request"))
    }

    #[test]
    fn core_and_group_resources() {
        let (verb, r) = resource("GET", "/api/v1/namespaces/team-a/pods/p1/log", None);
        assert_eq!(verb, "get");
        assert_eq!(
            (r.group.as_str(), r.resource.as_str(), r.subresource.as_str()),
            ("", "pods", "log")
        );
        assert_eq!((r.namespace.as_str(), r.name.as_str()), ("team-a", "p1"));
        let (verb, r) = resource(
            "GET",
            "/apis/batch/v1/namespaces/a/jobs",
            Some("watch=true&labelSelector=x"),
        );
        assert_eq!(verb, "watch");
        assert_eq!((r.group.as_str(), r.resource.as_str()), ("batch", "jobs"));
        let (verb, r) = resource("GET", "/apis/platform.kratix.io/v1alpha1/promises", None);
        assert_eq!(verb, "list");
        assert_eq!(r.namespace, "");
    }

    #[test]
    fn verbs_follow_the_http_method_and_name() {
        assert_eq!(
            resource("POST", "/api/v1/namespaces/a/configmaps", None).0,
            "create"
        );
        assert_eq!(
            resource("PUT", "/api/v1/namespaces/a/configmaps/c", None).0,
            "update"
        );
        assert_eq!(
            resource("PATCH", "/api/v1/namespaces/a/configmaps/c", None).0,
            "patch"
        );
        assert_eq!(
            resource("DELETE", "/api/v1/namespaces/a/configmaps/c", None).0,
            "delete"
        );
        assert_eq!(
            resource("DELETE", "/api/v1/namespaces/a/configmaps", None).0,
            "deletecollection"
        );
        assert_eq!(
            resource("GET", "/api/v1/watch/namespaces/a/pods", None).0,
            "watch"
        );
    }

    #[test]
    fn namespaces_themselves_and_status_subresources() {
        let (verb, r) = resource("GET", "/api/v1/namespaces/team-a", None);
        assert_eq!(
            (verb.as_str(), r.resource.as_str(), r.name.as_str()),
            ("get", "namespaces", "team-a")
        );
        let (verb, r) = resource("PUT", "/apis/example.org/v1/namespaces/a/widgets/w/status", None);
        assert_eq!(
            (verb.as_str(), r.resource.as_str(), r.subresource.as_str()),
            ("update", "widgets", "status")
        );
    }

    #[test]
    fn everything_else_is_a_non_resource_path() {
        let health = attributes("GET", "/healthz", None);
        assert_eq!((health.verb.as_str(), health.resource), ("get", None));
        assert!(attributes("GET", "/apis/batch/v1", None).resource.is_none());
    }
}
