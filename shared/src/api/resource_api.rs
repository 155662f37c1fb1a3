//! The Resource API a Promise offers: its embedded CRD, decoded, with the facts
//! rendering needs (group, storage version, kind, plural, scope).

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps,
};
use serde_json::Value;

use crate::codec::decode::{FieldProblem, decode_collecting};

pub const CRD_API_VERSION: &str = "apiextensions.k8s.io/v1";
pub const CRD_KIND: &str = "CustomResourceDefinition";

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceApi {
    pub crd: CustomResourceDefinition,
    pub group: String,
    /// The storage version, or the first version when none is flagged.
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
}

impl ResourceApi {
    /// Decodes the embedded CRD as Kratix does: into the CRD type whatever its
    /// `apiVersion` and `kind` say. Problems carry paths relative to the CRD.
    pub fn decode(value: &Value) -> (Option<ResourceApi>, Vec<FieldProblem>) {
        let mut normalised = value.clone();
        if let Value::Object(map) = &mut normalised {
            map.insert("apiVersion".to_owned(), Value::from(CRD_API_VERSION));
            map.insert("kind".to_owned(), Value::from(CRD_KIND));
        }
        let (crd, problems) = decode_collecting::<CustomResourceDefinition>(&normalised);
        (crd.map(ResourceApi::from_crd), problems)
    }

    pub fn from_crd(crd: CustomResourceDefinition) -> ResourceApi {
        let spec = &crd.spec;
        let version = spec
            .versions
            .iter()
            .find(|v| v.storage)
            .or_else(|| spec.versions.first())
            .map(|v| v.name.clone())
            .unwrap_or_default();
        ResourceApi {
            group: spec.group.clone(),
            version,
            kind: spec.names.kind.clone(),
            plural: spec.names.plural.clone(),
            namespaced: spec.scope != "Cluster",
            crd,
        }
    }

    /// `group/version` of resource requests.
    pub fn api_version(&self) -> String {
        format!("{}/{}", self.group, self.version)
    }

    /// The schema of the storage version's `spec` property, when declared.
    pub fn spec_schema(&self) -> Option<&JSONSchemaProps> {
        self.crd
            .spec
            .versions
            .iter()
            .find(|v| v.name == self.version)?
            .schema
            .as_ref()?
            .open_api_v3_schema
            .as_ref()?
            .properties
            .as_ref()?
            .get("spec")
    }
}
