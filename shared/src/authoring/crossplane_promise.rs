//! `promise init --crossplane-xrd`: a Promise whose requests become Crossplane
//! composite resources (v2) or claims (v1). The XRD's referenceable version's
//! `spec` schema is the API; the XRD, its compositions and functions are the
//! dependencies (unless skipped); one resource configure pipeline writes the
//! request as the XRD's object with the stage image kratix-cli's generator
//! uses, to Destinations labelled `crossplane: enabled`, as theirs does.

use serde_json::{Value, json};

use super::operator_promise::{Manifest, version_spec};
use super::scaffold::{PromiseContent, stage_pipeline};
use super::schema_translation::example_of_required;
use crate::api::Workflow;
use crate::error::{Error, Result};

/// The image kratix-cli's crossplane generator runs: it writes the request's
/// `spec` as an `XRD_GROUP/XRD_VERSION` `XRD_KIND` object.
pub const CROSSPLANE_STAGE_IMAGE: &str = "ghcr.io/syntasso/kratix-cli/from-api-to-crossplane-claim:v0.2.2";

/// The container name kratix-cli gives the stage, in pipeline `instance-configure`.
pub const CONTAINER_NAME: &str = "from-api-to-crossplane-claim";

/// The Promise, and what the user should know about the XRD.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossplanePromise {
    pub content: PromiseContent,
    pub warnings: Vec<String>,
}

/// The Promise for the XRD `xrd`, with `extras` (its compositions and
/// functions) as dependencies beside it unless `skip_dependencies`.
pub fn crossplane_promise(
    xrd: &Manifest,
    extras: &[Manifest],
    skip_dependencies: bool,
) -> Result<CrossplanePromise> {
    let invalid = |path: &str, message: String| Error::Invalid {
        source_name: xrd.source.clone(),
        path: path.to_owned(),
        message,
    };
    let field = |pointer: &str| xrd.value.pointer(pointer).and_then(Value::as_str);
    if field("/kind") != Some("CompositeResourceDefinition") {
        return Err(invalid(
            "kind",
            format!(
                "is {:?}, not a Crossplane CompositeResourceDefinition",
                field("/kind").unwrap_or_default()
            ),
        ));
    }
    let group = field("/spec/group").ok_or_else(|| invalid("spec.group", "is missing".to_owned()))?;
    let mut warnings = Vec::new();
    let kind = request_kind(xrd, &mut warnings)?;
    let versions = xrd
        .value
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| invalid("spec.versions", "lists no version".to_owned()))?;
    let is = |v: &Value, key: &str| v.get(key) == Some(&Value::Bool(true));
    let (index, version) = versions
        .iter()
        .enumerate()
        .find(|(_, v)| is(v, "referenceable"))
        .or_else(|| versions.iter().enumerate().find(|(_, v)| is(v, "served")))
        .ok_or_else(|| {
            invalid(
                "spec.versions",
                "has no referenceable or served version".to_owned(),
            )
        })?;
    let version_name = version
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(&format!("spec.versions[{index}].name"), "is missing".to_owned()))?;
    let spec = version_spec(&xrd.source, version, index)?;
    let env = json!([
        {"name": "XRD_GROUP", "value": group},
        {"name": "XRD_VERSION", "value": version_name},
        {"name": "XRD_KIND", "value": kind},
    ]);
    let pipeline = stage_pipeline(CONTAINER_NAME, CROSSPLANE_STAGE_IMAGE, env);
    let mut dependencies: Vec<Value> = Vec::new();
    if !skip_dependencies {
        dependencies.extend(extras.iter().map(|m| m.value.clone()));
        dependencies.push(xrd.value.clone());
    }
    let readme = format!(
        "\n## From the Crossplane XRD `{name}`\n\n\
         Each request's `spec` is a `{kind}`'s spec ({group}/{version_name}), checked by the\n\
         XRD's schema. The `instance-configure` pipeline writes each request as a `{kind}`\n\
         for Crossplane, to Destinations labelled `crossplane: enabled`{deps}.\n",
        name = field("/metadata/name").unwrap_or_default(),
        deps = if skip_dependencies {
            "; the XRD, its compositions and functions must be installed there already"
        } else {
            "; the XRD, its compositions and functions are the Promise's dependencies"
        }
    );
    Ok(CrossplanePromise {
        content: PromiseContent {
            example_spec: Some(example_of_required(&spec)),
            spec_schema: Some(spec),
            pipelines: vec![(Workflow::RESOURCE_CONFIGURE, vec![pipeline])],
            dependencies,
            destination_selectors: Some(json!([{"matchLabels": {"crossplane": "enabled"}}])),
            readme,
            ..PromiseContent::default()
        },
        warnings,
    })
}

/// The kind a request becomes: a v2 XRD's namespaced composite, or a v1 (or
/// v2 legacy) XRD's claim; a composite only a cluster can hold is refused,
/// since a request lives in a namespace.
fn request_kind(xrd: &Manifest, warnings: &mut Vec<String>) -> Result<String> {
    let field = |pointer: &str| xrd.value.pointer(pointer).and_then(Value::as_str);
    let invalid = |path: &str, message: &str| Error::Invalid {
        source_name: xrd.source.clone(),
        path: path.to_owned(),
        message: message.to_owned(),
    };
    let claim = field("/spec/claimNames/kind");
    let kind = field("/spec/names/kind").ok_or_else(|| invalid("spec.names.kind", "is missing"))?;
    match field("/apiVersion") {
        Some("apiextensions.crossplane.io/v2") => match field("/spec/scope").unwrap_or("Namespaced") {
            "Namespaced" => Ok(kind.to_owned()),
            "LegacyCluster" => claim.map(str::to_owned).ok_or_else(|| {
                invalid(
                    "spec.claimNames",
                    "is missing: a LegacyCluster composite is cluster-scoped, so a namespaced request needs its claim",
                )
            }),
            scope => Err(invalid(
                "spec.scope",
                &format!(
                    "is {scope}: a cluster-scoped composite cannot be made from a namespaced request; use scope Namespaced"
                ),
            )),
        },
        Some("apiextensions.crossplane.io/v1") => {
            warnings.push(format!(
                "{}: a Crossplane v1 XRD: requests become its claims ({}); Crossplane v2 drops claims for namespaced composites",
                xrd.source,
                claim.unwrap_or("none")
            ));
            claim.map(str::to_owned).ok_or_else(|| {
                invalid(
                    "spec.claimNames",
                    "is missing: a v1 composite is cluster-scoped, so a namespaced request needs the XRD to offer a claim",
                )
            })
        }
        other => Err(invalid(
            "apiVersion",
            &format!(
                "is {:?}, not apiextensions.crossplane.io/v1 or v2",
                other.unwrap_or_default()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xrd(api_version: &str, extra: Value) -> Manifest {
        let mut value = json!({
            "apiVersion": api_version, "kind": "CompositeResourceDefinition",
            "metadata": {"name": "xbuckets.storage.example.org"},
            "spec": {"group": "storage.example.org", "names": {"kind": "XBucket", "plural": "xbuckets"},
                "versions": [
                    {"name": "v1alpha1", "served": true, "referenceable": false,
                     "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object"}}}}},
                    {"name": "v1beta1", "served": true, "referenceable": true,
                     "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {
                        "type": "object", "required": ["region"],
                        "properties": {"region": {"type": "string", "enum": ["eu", "us"]}}}}}}}
                ]}
        });
        if let (Some(spec), Value::Object(extra)) = (value["spec"].as_object_mut(), extra) {
            spec.extend(extra);
        }
        Manifest {
            source: "xrd.yaml#1".to_owned(),
            value,
        }
    }

    fn composition() -> Manifest {
        Manifest {
            source: "compositions/bucket.yaml#1".to_owned(),
            value: json!({"apiVersion": "apiextensions.crossplane.io/v1", "kind": "Composition", "metadata": {"name": "bucket"}}),
        }
    }

    #[test]
    fn a_v2_namespaced_xrd_offers_its_referenceable_version() {
        let made = crossplane_promise(
            &xrd("apiextensions.crossplane.io/v2", json!({})),
            &[composition()],
            false,
        )
        .expect("generated");
        assert!(made.warnings.is_empty());
        let content = made.content;
        assert_eq!(
            content.spec_schema.as_ref().expect("spec")["required"],
            json!(["region"])
        );
        assert_eq!(content.example_spec, Some(json!({"region": "eu"})));
        let kinds: Vec<&str> = content
            .dependencies
            .iter()
            .filter_map(|d| d["kind"].as_str())
            .collect();
        assert_eq!(kinds, ["Composition", "CompositeResourceDefinition"]);
        assert_eq!(
            content.destination_selectors,
            Some(json!([{"matchLabels": {"crossplane": "enabled"}}]))
        );
        let container = &content.pipelines[0].1[0]["spec"]["containers"][0];
        assert_eq!(container["image"], CROSSPLANE_STAGE_IMAGE);
        assert_eq!(
            container["env"],
            json!([
                {"name": "XRD_GROUP", "value": "storage.example.org"},
                {"name": "XRD_VERSION", "value": "v1beta1"},
                {"name": "XRD_KIND", "value": "XBucket"}
            ])
        );
        let skipped = crossplane_promise(
            &xrd("apiextensions.crossplane.io/v2", json!({})),
            &[composition()],
            true,
        )
        .expect("generated");
        assert!(skipped.content.dependencies.is_empty());
    }

    #[test]
    fn a_v1_xrd_becomes_its_claim_with_a_warning() {
        let made = crossplane_promise(
            &xrd(
                "apiextensions.crossplane.io/v1",
                json!({"claimNames": {"kind": "Bucket", "plural": "buckets"}}),
            ),
            &[],
            false,
        )
        .expect("generated");
        assert_eq!(
            made.content.pipelines[0].1[0]["spec"]["containers"][0]["env"][2]["value"],
            "Bucket"
        );
        assert!(
            made.warnings[0].contains("a Crossplane v1 XRD"),
            "{:?}",
            made.warnings
        );
    }

    #[test]
    fn an_xrd_a_namespaced_request_cannot_use_is_refused_naming_the_field() {
        let error = crossplane_promise(
            &xrd("apiextensions.crossplane.io/v2", json!({"scope": "Cluster"})),
            &[],
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("xrd.yaml#1: spec.scope: is Cluster"), "{error}");
        let error = crossplane_promise(&xrd("apiextensions.crossplane.io/v1", json!({})), &[], false)
            .unwrap_err()
            .to_string();
        assert!(error.contains("spec.claimNames: is missing"), "{error}");
        let mut not_xrd = xrd("apiextensions.crossplane.io/v2", json!({}));
        not_xrd.value["kind"] = json!("Composition");
        let error = crossplane_promise(&not_xrd, &[], false).unwrap_err().to_string();
        assert!(
            error.contains("not a Crossplane CompositeResourceDefinition"),
            "{error}"
        );
    }
}
