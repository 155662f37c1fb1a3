//! Discovery as clients expect it: `/api` and `/api/v1` for the core group, and
//! a legacy `/apis` group list built from the server's aggregated discovery
//! (standalone apiextensions lists only its own group in legacy `/apis`).

use serde_json::{Value, json};

use crate::platform::builtin_kinds::CORE_GROUP;

/// The group this proxy serves itself (access reviews).
pub const AUTHORIZATION_GROUP: &str = "authorization.k8s.io";

pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]
    })
}

/// The private group's resource list, presented as `v1`, with `pods/log`.
pub fn core_resources(mut upstream: Value) -> Value {
    upstream["groupVersion"] = Value::String("v1".to_owned());
    if let Some(Value::Array(resources)) = upstream.get_mut("resources") {
        for resource in resources.iter_mut() {
            if let Some(Value::String(name)) = resource.get_mut("name") {
                *name = name.replace(crate::platform::builtin_kinds::NAMESPACE_PLURAL, "namespaces");
            }
        }
        resources.push(json!({
            "name": "pods/log", "singularName": "", "namespaced": true, "kind": "Pod", "verbs": ["get"]
        }));
    }
    upstream
}

/// Legacy `APIGroupList` from an aggregated `APIGroupDiscoveryList`, without the
/// private group and with the access-review group the proxy serves.
pub fn group_list(aggregated: &Value) -> Value {
    let mut groups: Vec<Value> = aggregated
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| {
            let name = item.pointer("/metadata/name")?.as_str()?;
            if name == CORE_GROUP {
                return None;
            }
            let versions: Vec<Value> = item
                .get("versions")?
                .as_array()?
                .iter()
                .filter_map(|v| v.get("version")?.as_str())
                .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
                .collect();
            let preferred = versions.first()?.clone();
            Some(json!({"name": name, "versions": versions, "preferredVersion": preferred}))
        })
        .collect();
    let review = json!({"groupVersion": format!("{AUTHORIZATION_GROUP}/v1"), "version": "v1"});
    groups
        .push(json!({"name": AUTHORIZATION_GROUP, "versions": [review.clone()], "preferredVersion": review}));
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// The resources of the access-review group.
pub fn authorization_resources() -> Value {
    let resource = |name: &str, kind: &str, namespaced: bool| json!({"name": name, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": ["create"]});
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": format!("{AUTHORIZATION_GROUP}/v1"),
        "resources": [
            resource("subjectaccessreviews", "SubjectAccessReview", false),
            resource("selfsubjectaccessreviews", "SelfSubjectAccessReview", false)
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_list_hides_the_private_group_and_adds_access_reviews() {
        let aggregated = json!({"items": [
            {"metadata": {"name": "batch"}, "versions": [{"version": "v1"}]},
            {"metadata": {"name": CORE_GROUP}, "versions": [{"version": "v1"}]}
        ]});
        let list = group_list(&aggregated);
        let names: Vec<&str> = list["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g["name"].as_str())
            .collect();
        assert_eq!(names, ["batch", "authorization.k8s.io"]);
        assert_eq!(
            list["groups"][0]["preferredVersion"],
            json!({"groupVersion": "batch/v1", "version": "v1"})
        );
    }
}
