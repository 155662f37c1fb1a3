//! The CRD a Promise installs for its Resource API: the user's
//! CRD, labelled, with a status subresource, Kratix's status schema and
//! default printer columns.

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceColumnDefinition, CustomResourceDefinition, CustomResourceSubresourceStatus,
    CustomResourceSubresources, CustomResourceValidation, JSONSchemaProps,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::json;

use crate::api::labels;
use crate::api::resource_api::ResourceApi;

/// Longest resource name: it becomes part of Job and Work names.
pub const MAX_RESOURCE_NAME: i64 = 63;

fn schema(value: serde_json::Value) -> JSONSchemaProps {
    serde_json::from_value(value).unwrap_or_default()
}

/// The status schema Kratix imposes; unknown keys are kept for pipelines' own
/// fields, and under `kratix.workflows` for records in an older layout, until
/// the agent takes them over.
pub fn status_schema() -> JSONSchemaProps {
    let string = json!({"type": "string"});
    let integer = json!({"type": "integer", "format": "int64"});
    let record = json!({"type": "object", "properties": {
        "lastSuccessfulConfigureWorkflowTime": {"type": "string", "format": "date-time"},
        "suspendedGeneration": integer,
        "pipelines": {"type": "array", "items": {"type": "object", "properties": {
            "name": string, "hash": string, "phase": string, "message": string,
            "nextRetryAt": {"type": "string", "format": "date-time"},
            "attempts": integer,
            "lastTransitionTime": {"type": "string", "format": "date-time"},
            "jobName": string
        }}}
    }});
    schema(json!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "properties": {
            "message": string,
            "observedGeneration": integer,
            "lastSuccessfulConfigureWorkflowTime": {"type": "string", "format": "date-time"},
            "conditions": {"type": "array", "items": {"type": "object", "properties": {
                "lastTransitionTime": {"type": "string", "format": "date-time"},
                "message": string, "reason": string, "status": string, "type": string
            }}},
            "kratix": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {
                "workflows": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {
                    "configure": record,
                    "delete": record
                }}
            }}
        }
    }))
}

fn default_columns() -> Vec<CustomResourceColumnDefinition> {
    vec![
        CustomResourceColumnDefinition {
            name: "message".to_owned(),
            type_: "string".to_owned(),
            json_path: ".status.message".to_owned(),
            ..CustomResourceColumnDefinition::default()
        },
        CustomResourceColumnDefinition {
            name: "status".to_owned(),
            type_: "string".to_owned(),
            json_path: ".status.conditions[?(@.type==\"Reconciled\")].message".to_owned(),
            ..CustomResourceColumnDefinition::default()
        },
    ]
}

/// The CRD to install for `promise`'s API.
pub fn resource_crd(promise: &str, api: &ResourceApi) -> CustomResourceDefinition {
    let mut crd = api.crd.clone();
    let mut labels = crd.metadata.labels.clone().unwrap_or_default();
    labels.insert(labels::PROMISE_NAME.to_owned(), promise.to_owned());
    crd.metadata = ObjectMeta {
        name: crd.metadata.name.clone(),
        labels: Some(labels),
        annotations: crd.metadata.annotations.clone(),
        ..ObjectMeta::default()
    };
    crd.status = None;
    for version in &mut crd.spec.versions {
        let subresources = version
            .subresources
            .get_or_insert_with(CustomResourceSubresources::default);
        subresources.status = Some(CustomResourceSubresourceStatus(serde_json::Value::Object(
            Default::default(),
        )));
        if version
            .additional_printer_columns
            .as_ref()
            .is_none_or(Vec::is_empty)
        {
            version.additional_printer_columns = Some(default_columns());
        }
        let validation = version
            .schema
            .get_or_insert_with(CustomResourceValidation::default);
        let root = validation
            .open_api_v3_schema
            .get_or_insert_with(|| schema(json!({"type": "object"})));
        let properties = root.properties.get_or_insert_with(BTreeMap::new);
        properties.insert("status".to_owned(), status_schema());
        if version.name == api.version {
            let metadata = properties
                .entry("metadata".to_owned())
                .or_insert_with(|| schema(json!({"type": "object"})));
            let fields = metadata.properties.get_or_insert_with(BTreeMap::new);
            let name = fields
                .entry("name".to_owned())
                .or_insert_with(|| schema(json!({"type": "string"})));
            name.max_length = Some(MAX_RESOURCE_NAME);
        }
    }
    crd
}

/// The Promise's condition (kubectl-kratix's own) when its API is someone
/// else's; present only while it is False.
pub const API_OWNED: &str = "APIOwned";
/// `APIOwned` False: the CRD exists and no Promise created it.
pub const CRD_NOT_CREATED_BY_A_PROMISE: &str = "CRDNotCreatedByAPromise";
/// `APIOwned` False: the CRD is another Promise's API.
pub const API_CLAIMED_BY_ANOTHER_PROMISE: &str = "APIClaimedByAnotherPromise";

/// Why Promise `promise` may not serve CRD `crd_name`, which exists with
/// `existing_labels`, if it may not: the condition's reason and message. A
/// Promise's API is the CRD it created (labelled with its name, as Kratix labels
/// it): taking over any other would make the Promise's deletion delete that CRD
/// and every object of it, and two Promises would both run workflows for the
/// same requests.
pub fn api_owner_conflict(
    promise: &str,
    crd_name: &str,
    existing_labels: &BTreeMap<String, String>,
) -> Option<(&'static str, String)> {
    match existing_labels.get(labels::PROMISE_NAME) {
        Some(owner) if owner == promise => None,
        Some(owner) => Some((
            API_CLAIMED_BY_ANOTHER_PROMISE,
            format!(
                "CRD {crd_name} is the API of Promise {owner}; an API has one Promise: give this Promise another API, or delete Promise {owner} first"
            ),
        )),
        None => Some((
            CRD_NOT_CREATED_BY_A_PROMISE,
            format!(
                "CRD {crd_name} exists and no Promise created it; the agent does not take over an API it did not make: name another API, or label the CRD {}={promise} to hand it to this Promise",
                labels::PROMISE_NAME
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_promise_serves_only_the_crd_it_created() {
        let ours = BTreeMap::from([(labels::PROMISE_NAME.to_owned(), "redis".to_owned())]);
        assert_eq!(api_owner_conflict("redis", "redis.example.org", &ours), None);
        let (reason, message) =
            api_owner_conflict("other", "redis.example.org", &ours).expect("another Promise's");
        assert_eq!(reason, API_CLAIMED_BY_ANOTHER_PROMISE);
        assert!(
            message.contains("Promise redis") && message.contains("redis.example.org"),
            "{message}"
        );
        let (reason, message) =
            api_owner_conflict("redis", "redis.example.org", &BTreeMap::new()).expect("nobody's");
        assert_eq!(reason, CRD_NOT_CREATED_BY_A_PROMISE);
        assert!(message.contains("kratix.io/promise-name=redis"), "{message}");
    }

    fn api(columns: bool) -> ResourceApi {
        let mut version = json!({"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
            "type": "object", "properties": {"spec": {"type": "object"}, "status": {"type": "object", "properties": {"mine": {"type": "string"}}}}}}});
        if columns {
            version["additionalPrinterColumns"] =
                json!([{"name": "Size", "type": "string", "jsonPath": ".spec.size"}]);
        }
        let crd = json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "databases.example.org", "labels": {"team": "data"}},
            "spec": {"group": "example.org", "names": {"kind": "Database", "plural": "databases"}, "scope": "Namespaced",
                     "versions": [version, {"name": "v0", "served": true, "storage": false, "schema": {"openAPIV3Schema": {"type": "object"}}}]}
        });
        ResourceApi::decode(&crd).0.expect("decodes")
    }

    #[test]
    fn labels_the_crd_and_enables_status() {
        let crd = resource_crd("database", &api(false));
        let labels = crd.metadata.labels.clone().unwrap_or_default();
        assert_eq!(
            labels.get("kratix.io/promise-name").map(String::as_str),
            Some("database")
        );
        assert_eq!(labels.get("team").map(String::as_str), Some("data"));
        assert!(
            crd.spec.versions.iter().all(|v| v
                .subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_some())
        );
    }

    #[test]
    fn default_columns_only_where_none_are_declared() {
        let crd = resource_crd("database", &api(false));
        let columns = crd.spec.versions[0]
            .additional_printer_columns
            .clone()
            .unwrap_or_default();
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["message", "status"]);
        assert_eq!(
            columns[1].json_path,
            ".status.conditions[?(@.type==\"Reconciled\")].message"
        );
        let declared = resource_crd("database", &api(true));
        let columns = declared.spec.versions[0]
            .additional_printer_columns
            .clone()
            .unwrap_or_default();
        assert_eq!(columns.len(), 1);
    }

    #[test]
    fn the_status_schema_is_kratixs_and_names_are_capped_in_the_storage_version() {
        let crd = resource_crd("database", &api(false));
        let root = crd.spec.versions[0]
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .expect("schema");
        let properties = root.properties.as_ref().expect("properties");
        let status = &properties["status"];
        assert_eq!(status.x_kubernetes_preserve_unknown_fields, Some(true));
        assert!(
            status
                .properties
                .as_ref()
                .is_some_and(|p| p.contains_key("conditions") && !p.contains_key("mine"))
        );
        assert_eq!(
            properties["metadata"]
                .properties
                .as_ref()
                .and_then(|p| p.get("name"))
                .and_then(|n| n.max_length),
            Some(63)
        );
        let other = crd.spec.versions[1]
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .expect("schema");
        assert!(
            other
                .properties
                .as_ref()
                .is_some_and(|p| !p.contains_key("metadata"))
        );
    }
}
