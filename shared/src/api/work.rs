//! Work and WorkPlacement: a pipeline's compressed output and its placement on
//! Destinations.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a Promise's or a request's name may be in a Work: a DNS subdomain, so
/// that it makes one directory name in a state store. The agent checks again
/// before it writes (the CRD may be older, or someone else's).
const OBJECT_NAME: &str = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$";
/// The same, or empty (dependency Works have no request).
const OPTIONAL_OBJECT_NAME: &str = r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$";
/// A workload group id: one directory name (an md5 hex where Kratix makes it).
const GROUP_ID: &str = r"^[A-Za-z0-9][-A-Za-z0-9_.]*$";
/// A workload's path: no NUL; the agent refuses `..`, `.git` and absolute paths.
const FILEPATH: &str = r"^[^\x00]+$";

/// The output of one pipeline run, grouped by target directory.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "platform.kratix.io",
    version = "v1alpha1",
    kind = "Work",
    doc = "The output of one pipeline run, grouped by target directory",
    plural = "works",
    namespaced,
    status = "WorkStatus",
    category = "kratix",
    printcolumn = r#"{"name": "STATUS", "type": "string", "description": "Status of this Work.", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].message"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct WorkSpec {
    #[schemars(regex(pattern = OBJECT_NAME), length(max = 253))]
    pub promise_name: String,
    /// Empty for dependency Works (static dependencies and Promise workflows).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(regex(pattern = OPTIONAL_OBJECT_NAME), length(max = 253))]
    pub resource_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_execution_timestamp: Option<Time>,
    #[serde(default)]
    pub workload_groups: Vec<WorkloadGroup>,
}

/// Files scheduled together.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadGroup {
    /// md5 hex of `directory`.
    #[schemars(regex(pattern = GROUP_ID), length(max = 253))]
    pub id: String,
    /// `.` for the default group, else a top-level directory of `/kratix/output`.
    pub directory: String,
    #[serde(default)]
    pub workloads: Vec<Workload>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destination_selectors: Vec<WorkloadGroupScheduling>,
}

/// One file: its path under `/kratix/output` and its gzip-then-base64 content.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct Workload {
    #[schemars(regex(pattern = FILEPATH), length(max = 4096))]
    pub filepath: String,
    #[serde(default)]
    pub content: String,
}

/// A selector and where it came from: `promise`, `promise-workflow` or `resource-workflow`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadGroupScheduling {
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
    pub source: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_placements: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_placements_created: Option<i64>,
    /// How many placements have their files in a state store (kubectl-kratix's
    /// addition: Kratix's `Ready` says scheduled, not written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_placements_written: Option<i64>,
    /// Where each written placement's files are (kubectl-kratix's addition).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<WorkOutput>,
}

/// One written WorkPlacement of a Work: where its files are, at which version.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkOutput {
    pub work_placement: String,
    pub destination: String,
    /// From the state store's root: the placement's directory, or its file.
    pub path: String,
    #[serde(default, rename = "versionID", skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
}

/// One workload group of a Work assigned to one Destination.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "platform.kratix.io",
    version = "v1alpha1",
    kind = "WorkPlacement",
    doc = "One workload group of a Work assigned to one Destination",
    plural = "workplacements",
    shortname = "wp",
    shortname = "wps",
    namespaced,
    status = "WorkPlacementStatus",
    category = "kratix",
    printcolumn = r#"{"name": "DESTINATION", "type": "string", "description": "Destination this Workplacement is scheduled to.", "jsonPath": ".spec.targetDestinationName"}"#,
    printcolumn = r#"{"name": "STATUS", "type": "string", "description": "Status of this Workplacement", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].message"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct WorkPlacementSpec {
    #[schemars(regex(pattern = OBJECT_NAME), length(max = 253))]
    pub target_destination_name: String,
    #[serde(default)]
    pub workloads: Vec<Workload>,
    #[schemars(regex(pattern = OBJECT_NAME), length(max = 253))]
    pub promise_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(regex(pattern = OPTIONAL_OBJECT_NAME), length(max = 253))]
    pub resource_name: String,
    /// The workload group id.
    #[schemars(regex(pattern = GROUP_ID), length(max = 253))]
    pub id: String,
    /// The Work generation this placement was written from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkPlacementStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Git commit SHA, or a rolling digest of bucket object versions.
    #[serde(default, rename = "versionID", skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// Where the files are, from the state store's root (kubectl-kratix's addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}
