//! `promise init --operator-manifests`: a Promise that offers an operator's
//! custom resource. The operator's manifests become the Promise's
//! dependencies; the named CRD's stored version gives the request's `spec`
//! schema, as the operator itself checks it; one resource configure pipeline
//! turns a request into the operator's object with the stage image
//! kratix-cli's generator uses (so the Promise behaves as theirs on a cluster).

use serde_json::{Value, json};

use super::scaffold::{PromiseContent, stage_pipeline};
use crate::api::Workflow;
use crate::error::{Error, Result};

/// The image kratix-cli's operator generator runs: it writes the request's
/// `spec` as an `OPERATOR_GROUP/OPERATOR_VERSION` `OPERATOR_KIND` object.
pub const OPERATOR_STAGE_IMAGE: &str = "ghcr.io/syntasso/kratix-cli/from-api-to-operator:v0.2.2";

/// The container name kratix-cli gives the stage, in pipeline `instance-configure`.
pub const CONTAINER_NAME: &str = "from-api-to-operator";

/// One manifest document and where it came from (`dir/crds.yaml#2`).
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub source: String,
    pub value: Value,
}

/// The Promise for the operator `manifests`, offering the CRD named `crd_name`.
pub fn operator_promise(manifests: &[Manifest], crd_name: &str, from: &str) -> Result<PromiseContent> {
    if manifests.is_empty() {
        return Err(Error::Invalid {
            source_name: from.to_owned(),
            path: String::new(),
            message: "holds no manifests (.yaml, .yml or .json files of Kubernetes objects)".to_owned(),
        });
    }
    let is_crd =
        |m: &&Manifest| m.value.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition");
    let crd = manifests
        .iter()
        .filter(is_crd)
        .find(|m| m.value.pointer("/metadata/name").and_then(Value::as_str) == Some(crd_name))
        .ok_or_else(|| {
            let names: Vec<&str> = manifests
                .iter()
                .filter(is_crd)
                .filter_map(|m| m.value.pointer("/metadata/name").and_then(Value::as_str))
                .collect();
            Error::Invalid {
                source_name: from.to_owned(),
                path: "--api-schema-from".to_owned(),
                message: if names.is_empty() {
                    format!("no CustomResourceDefinition named {crd_name}: the manifests hold no CRD at all")
                } else {
                    format!(
                        "no CustomResourceDefinition named {crd_name}; the manifests hold {}",
                        names.join(", ")
                    )
                },
            }
        })?;
    let (group, version, kind, spec) = stored_version(crd)?;
    let env = json!([
        {"name": "OPERATOR_GROUP", "value": group},
        {"name": "OPERATOR_VERSION", "value": version},
        {"name": "OPERATOR_KIND", "value": kind},
    ]);
    let pipeline = stage_pipeline(CONTAINER_NAME, OPERATOR_STAGE_IMAGE, env);
    let readme = format!(
        "\n## From the operator's `{kind}` ({group}/{version})\n\n\
         Each request's `spec` is a `{kind}`'s spec, checked by the schema the operator's\n\
         CRD `{crd_name}` gives it. The `instance-configure` pipeline turns a request into a\n\
         `{kind}` for the operator, and the operator's {count} manifests are the Promise's\n\
         dependencies, installed on every Destination. When they make the Promise too\n\
         large to apply, move them into a pipeline's image:\n\n\
         ```\nkubectl kratix promise update dependencies MANIFESTS --image IMAGE\n```\n",
        count = manifests.len()
    );
    Ok(PromiseContent {
        example_spec: Some(super::schema_translation::example_of_required(&spec)),
        spec_schema: Some(spec),
        pipelines: vec![(Workflow::RESOURCE_CONFIGURE, vec![pipeline])],
        dependencies: manifests.iter().map(|m| m.value.clone()).collect(),
        readme,
        ..PromiseContent::default()
    })
}

/// The CRD's group, its stored version's name, its kind, and that version's
/// `spec` schema.
fn stored_version(crd: &Manifest) -> Result<(String, String, String, Value)> {
    let field = |pointer: &str| {
        crd.value
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let invalid = |path: &str, message: &str| Error::Invalid {
        source_name: crd.source.clone(),
        path: path.to_owned(),
        message: message.to_owned(),
    };
    let group = field("/spec/group").ok_or_else(|| invalid("spec.group", "is missing"))?;
    let kind = field("/spec/names/kind").ok_or_else(|| invalid("spec.names.kind", "is missing"))?;
    let versions = crd
        .value
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| invalid("spec.versions", "lists no version"))?;
    let (index, stored) = versions
        .iter()
        .enumerate()
        .find(|(_, v)| v.get("storage") == Some(&Value::Bool(true)))
        .unwrap_or((0, &versions[0]));
    let version = stored
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(&format!("spec.versions[{index}].name"), "is missing"))?
        .to_owned();
    let spec = version_spec(&crd.source, stored, index)?;
    Ok((group, version, kind, spec))
}

/// The `spec` schema of `spec.versions[index]` of a CRD or an XRD (both
/// describe a version so): what a generated Promise offers as its API.
pub(super) fn version_spec(source: &str, version: &Value, index: usize) -> Result<Value> {
    version
        .pointer("/schema/openAPIV3Schema/properties/spec")
        .cloned()
        .ok_or_else(|| Error::Invalid {
            source_name: source.to_owned(),
            path: format!("spec.versions[{index}].schema.openAPIV3Schema.properties.spec"),
            message: "is missing: the version has no spec schema to offer as the Promise's API".to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd(name: &str) -> Manifest {
        Manifest {
            source: "operator/crds.yaml#1".to_owned(),
            value: json!({
                "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": name},
                "spec": {"group": "db.example.com", "names": {"kind": "Cluster", "plural": "clusters"}, "scope": "Namespaced",
                    "versions": [
                        {"name": "v1alpha1", "served": true, "storage": false,
                         "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object"}}}}},
                        {"name": "v1", "served": true, "storage": true,
                         "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {
                            "type": "object", "required": ["instances"],
                            "properties": {"instances": {"type": "integer", "minimum": 1}}}}}}}
                    ]}
            }),
        }
    }

    fn deployment() -> Manifest {
        Manifest {
            source: "operator/deploy.yaml#1".to_owned(),
            value: json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "operator"}}),
        }
    }

    #[test]
    fn the_stored_version_is_the_api_and_every_manifest_a_dependency() {
        let content = operator_promise(
            &[crd("clusters.db.example.com"), deployment()],
            "clusters.db.example.com",
            "operator",
        )
        .expect("generated");
        let spec = content.spec_schema.as_ref().expect("spec");
        assert_eq!(spec["required"], json!(["instances"]));
        assert_eq!(content.example_spec, Some(json!({"instances": 1})));
        assert_eq!(content.dependencies.len(), 2);
        let container = &content.pipelines[0].1[0]["spec"]["containers"][0];
        assert_eq!(container["image"], OPERATOR_STAGE_IMAGE);
        assert_eq!(
            container["env"],
            json!([
                {"name": "OPERATOR_GROUP", "value": "db.example.com"},
                {"name": "OPERATOR_VERSION", "value": "v1"},
                {"name": "OPERATOR_KIND", "value": "Cluster"}
            ])
        );
    }

    #[test]
    fn a_missing_crd_or_schema_is_named() {
        let error = operator_promise(
            &[crd("clusters.db.example.com")],
            "backups.db.example.com",
            "operator",
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("--api-schema-from")
                && error.contains("the manifests hold clusters.db.example.com"),
            "{error}"
        );
        let error = operator_promise(&[deployment()], "x", "operator")
            .unwrap_err()
            .to_string();
        assert!(error.contains("hold no CRD at all"), "{error}");
        let error = operator_promise(&[], "x", "operator").unwrap_err().to_string();
        assert!(error.contains("operator: holds no manifests"), "{error}");
        let mut schemaless = crd("c.example.com");
        schemaless.value["spec"]["versions"][1]["schema"] = json!({});
        let error = operator_promise(&[schemaless], "c.example.com", "operator")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("operator/crds.yaml#1")
                && error.contains("spec.versions[1].schema.openAPIV3Schema.properties.spec"),
            "{error}"
        );
    }
}
