//! The resource request a resource workflow renders for: one given by the
//! user, checked against the Promise's API, or a placeholder; either way with
//! the API's schema defaults applied, as the API server would store it.

use serde_json::{Value, json};

use crate::api::resource_api::ResourceApi;
use crate::codec::defaulting::apply_defaults;
use crate::{Error, Result};

/// Name and namespace of the placeholder request.
pub const PLACEHOLDER_NAME: &str = "example";
pub const PLACEHOLDER_NAMESPACE: &str = "default";

/// `given` (read from `source_name`) or the placeholder `default/example`,
/// defaulted by the API's storage-version schema.
pub fn resource_request(api: &ResourceApi, given: Option<(&str, Value)>) -> Result<Value> {
    let mut request = match given {
        None => json!({
            "apiVersion": api.api_version(),
            "kind": api.kind,
            "metadata": {"name": PLACEHOLDER_NAME, "namespace": PLACEHOLDER_NAMESPACE},
            "spec": {},
        }),
        Some((source_name, request)) => {
            check_request(source_name, &request, api)?;
            request
        }
    };
    if let (Some(schema), Some(object)) = (api.spec_schema(), request.as_object_mut()) {
        apply_defaults(object.entry("spec").or_insert_with(|| json!({})), schema);
    }
    Ok(request)
}

fn check_request(source_name: &str, request: &Value, api: &ResourceApi) -> Result<()> {
    let invalid = |path: &str, message: String| Error::Invalid {
        source_name: source_name.to_owned(),
        path: path.to_owned(),
        message,
    };
    let kind = request.get("kind").and_then(Value::as_str).unwrap_or_default();
    let api_version = request
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let served: Vec<String> = api
        .crd
        .spec
        .versions
        .iter()
        .map(|v| format!("{}/{}", api.group, v.name))
        .collect();
    if kind != api.kind {
        return Err(invalid(
            "kind",
            format!("{kind:?} is not the Promise's kind {:?}", api.kind),
        ));
    }
    if !served.iter().any(|v| v == api_version) {
        return Err(invalid(
            "apiVersion",
            format!(
                "{api_version:?} is not served by the Promise's API ({})",
                served.join(", ")
            ),
        ));
    }
    let name = request
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if name.is_empty() {
        return Err(invalid(
            "metadata.name",
            "a resource request needs a name".to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api() -> ResourceApi {
        let crd = json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "apps.example.org"},
            "spec": {"group": "example.org", "scope": "Namespaced",
                "names": {"kind": "App", "plural": "apps"},
                "versions": [
                    {"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                        "type": "object", "properties": {"spec": {"type": "object", "properties": {
                            "replicas": {"type": "integer", "default": 2}}}}}}},
                    {"name": "v1beta1", "served": true, "storage": false, "schema": {"openAPIV3Schema": {"type": "object"}}}
                ]}
        });
        ResourceApi::decode(&crd).0.expect("decodes")
    }

    #[test]
    fn the_placeholder_carries_the_schema_defaults() {
        let request = resource_request(&api(), None).expect("placeholder");
        assert_eq!(
            request,
            json!({"apiVersion": "example.org/v1", "kind": "App",
                   "metadata": {"name": "example", "namespace": "default"}, "spec": {"replicas": 2}})
        );
    }

    #[test]
    fn a_given_request_is_defaulted_and_may_use_any_served_version() {
        let given = json!({"apiVersion": "example.org/v1beta1", "kind": "App", "metadata": {"name": "a"}});
        let request = resource_request(&api(), Some(("r.yaml", given))).expect("accepted");
        assert_eq!(request["spec"], json!({"replicas": 2}));
    }

    #[test]
    fn a_request_of_another_kind_or_version_is_refused() {
        let wrong_kind =
            json!({"apiVersion": "example.org/v1", "kind": "Database", "metadata": {"name": "a"}});
        let error = resource_request(&api(), Some(("r.yaml", wrong_kind))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "r.yaml: kind: \"Database\" is not the Promise's kind \"App\""
        );
        let wrong_version = json!({"apiVersion": "example.org/v2", "kind": "App", "metadata": {"name": "a"}});
        let error = resource_request(&api(), Some(("r.yaml", wrong_version))).unwrap_err();
        assert!(
            error.to_string().contains("example.org/v1, example.org/v1beta1"),
            "{error}"
        );
        let unnamed = json!({"apiVersion": "example.org/v1", "kind": "App", "metadata": {}});
        let error = resource_request(&api(), Some(("r.yaml", unnamed))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "r.yaml: metadata.name: a resource request needs a name"
        );
    }
}
