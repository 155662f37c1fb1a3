//! The CustomResourceDefinitions of the Kratix kinds, as `kratix-agent crds` prints them.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

use crate::api::{BucketStateStore, Destination, GitStateStore, Promise, Work, WorkPlacement};

/// Every CRD the agent needs, in a stable order.
pub fn all() -> Vec<CustomResourceDefinition> {
    vec![
        promise_crd(),
        Destination::crd(),
        GitStateStore::crd(),
        BucketStateStore::crd(),
        Work::crd(),
        WorkPlacement::crd(),
    ]
}

/// The Promise CRD, `spec` optional as in Kratix's: a Promise with none only
/// marks a version for others to require.
fn promise_crd() -> CustomResourceDefinition {
    let mut crd = Promise::crd();
    for version in &mut crd.spec.versions {
        if let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
            && let Some(required) = schema.required.as_mut()
        {
            required.retain(|field| field != "spec");
            if required.is_empty() {
                schema.required = None;
            }
        }
    }
    crd
}

/// The CRDs as one YAML stream.
pub fn to_yaml() -> crate::Result<String> {
    crate::codec::yaml::to_yaml_stream(&all())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_promise_without_a_spec_is_valid_as_in_kratix() {
        let crd = promise_crd();
        let schema = crd.spec.versions[0]
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .expect("a schema");
        assert!(
            !schema.required.iter().flatten().any(|f| f == "spec"),
            "{:?}",
            schema.required
        );
        let marker = serde_json::json!({"apiVersion": "platform.kratix.io/v1alpha1", "kind": "Promise",
            "metadata": {"name": "sub-promise", "labels": {"kratix.io/promise-version": "v1.0.0"}}});
        let promise = Promise::from_json(&marker).expect("decodes");
        assert!(promise.spec.api_crd().is_none());
        assert!(promise.spec.required_promises.is_empty());
    }
}
