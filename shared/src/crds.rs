//! The CustomResourceDefinitions of the Kratix kinds, as `kratix-agent crds` prints them.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

use crate::api::{BucketStateStore, Destination, GitStateStore, Promise, Work, WorkPlacement};

/// Every CRD the agent needs, in a stable order.
pub fn all() -> Vec<CustomResourceDefinition> {
    vec![
        Promise::crd(),
        Destination::crd(),
        GitStateStore::crd(),
        BucketStateStore::crd(),
        Work::crd(),
        WorkPlacement::crd(),
    ]
}

/// The CRDs as one YAML stream.
pub fn to_yaml() -> crate::Result<String> {
    crate::yaml::to_yaml_stream(&all())
}
