//! The Destination kind: where a workload is written, and how it is laid out.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A target (a cluster, a Terraform workspace, ...) backed by a path in a state store.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "platform.kratix.io",
    version = "v1alpha1",
    kind = "Destination",
    doc = "A Destination: a target that workloads are written to, through a state store",
    plural = "destinations",
    status = "DestinationStatus",
    category = "kratix",
    printcolumn = r#"{"name": "StateStoreKind", "type": "string", "description": "State store kind.", "jsonPath": ".spec.stateStoreRef.kind"}"#,
    printcolumn = r#"{"name": "StateStoreName", "type": "string", "description": "State store name.", "jsonPath": ".spec.stateStoreRef.name"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "description": "Indicates the destination is ready to use.", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct DestinationSpec {
    /// Path inside the state store; unique among the Destinations of one store.
    pub path: String,
    pub state_store_ref: StateStoreReference,
    /// With an empty selector, skip this Destination when it has labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict_match_labels: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filepath: Option<DestinationFilepath>,
    /// `none` (default) or `all`: delete what was written when the Destination goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_workloads: Option<InitWorkloads>,
}

/// Which state store holds the Destination's files.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct StateStoreReference {
    /// `GitStateStore` or `BucketStateStore`.
    pub kind: String,
    pub name: String,
}

/// File layout: `nestedByMetadata` (default), `aggregatedYAML` or `none`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct DestinationFilepath {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// File name for `aggregatedYAML` (default `aggregated.yaml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct InitWorkloads {
    /// Write the canary files (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct DestinationStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

impl DestinationSpec {
    /// The file layout in force, defaulted as the reference's webhook does.
    pub fn filepath_mode(&self) -> &str {
        self.filepath
            .as_ref()
            .and_then(|f| f.mode.as_deref())
            .unwrap_or("nestedByMetadata")
    }
}
