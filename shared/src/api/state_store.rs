//! GitStateStore and BucketStateStore: where Destination files end up.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A Git repository branch written by the agent.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "platform.kratix.io",
    version = "v1alpha1",
    kind = "GitStateStore",
    doc = "A Git repository branch that Destination files are committed to",
    plural = "gitstatestores",
    status = "StateStoreStatus",
    category = "kratix",
    printcolumn = r#"{"name": "URL", "type": "string", "description": "URL of the git repository", "jsonPath": ".spec.url"}"#,
    printcolumn = r#"{"name": "Branch", "type": "string", "description": "Branch of the git repository", "jsonPath": ".spec.branch"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "description": "Indicates the state store is ready to use", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct GitStateStoreSpec {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretReference>,
    /// Default `main`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// `basicAuth` (default), `ssh` or `githubApp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_author: Option<GitAuthor>,
}

/// An S3-compatible bucket written by the agent.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "platform.kratix.io",
    version = "v1alpha1",
    kind = "BucketStateStore",
    doc = "An S3-compatible bucket that Destination files are written to",
    plural = "bucketstatestores",
    status = "StateStoreStatus",
    category = "kratix",
    printcolumn = r#"{"name": "Name", "type": "string", "description": "Name of the bucket", "jsonPath": ".spec.bucketName"}"#,
    printcolumn = r#"{"name": "Endpoint", "type": "string", "description": "Endpoint of the bucket", "jsonPath": ".spec.endpoint"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "description": "Indicates the state store is ready to use", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct BucketStateStoreSpec {
    pub bucket_name: String,
    pub endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretReference>,
    /// Plain HTTP to the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_dual_stack: Option<bool>,
    /// `accessKey` (default) or `IAM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<String>,
}

/// A Secret holding the store's credentials.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct SecretReference {
    pub name: String,
    /// Default `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct GitAuthor {
    /// Default `kratix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Status shared by both store kinds.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StateStoreStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
