//! Checks on `spec.api`: a valid, namespaced CRD whose name, group, names and
//! versions agree, as the API server and the reference webhook require.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceDefinitionNames, CustomResourceDefinitionSpec,
};
use serde_json::Value;

use super::Problems;
use super::names::{dns_1035_label_problem, dns_subdomain_problem};
use crate::api::resource_api::{CRD_API_VERSION, CRD_KIND, ResourceApi};
use crate::codec::decode::{FieldProblemKind, join_path};

/// Where the CRD sits in a Promise.
const BASE: &str = "spec.api";

/// Validates the embedded CRD and returns it decoded when it is usable.
pub fn validate_api(api: &Value, problems: &mut Problems) -> Option<ResourceApi> {
    let resource_api = decode_api(api, problems)?;
    let spec = &resource_api.crd.spec;
    validate_group(spec, problems);
    validate_names(&spec.names, problems);
    validate_crd_name(&resource_api.crd, problems);
    validate_scope(spec, problems);
    validate_versions(&resource_api, problems);
    Some(resource_api)
}

/// Its apiVersion and kind, then decoding it: unknown fields are warnings as
/// Kratix drops them.
fn decode_api(api: &Value, problems: &mut Problems) -> Option<ResourceApi> {
    let api_version = api.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let kind = api.get("kind").and_then(Value::as_str).unwrap_or_default();
    if api_version != CRD_API_VERSION || kind != CRD_KIND {
        // Kratix decodes spec.api into a CRD whatever it says it is.
        problems.warning(
            BASE,
            format!(
                "apiVersion {api_version:?} kind {kind:?} is read as an {CRD_API_VERSION} {CRD_KIND}: write those"
            ),
        );
    }
    let (decoded, found) = ResourceApi::decode(api);
    for problem in found {
        let path = join_path(BASE, &problem.path);
        match problem.kind {
            FieldProblemKind::Invalid => problems.error(path, problem.message),
            FieldProblemKind::UnknownField => problems.warning(
                path,
                format!("{}: Kratix drops it when it creates the CRD", problem.message),
            ),
            FieldProblemKind::CaseMismatch => problems.warning(path, problem.message),
        }
    }
    decoded
}

/// `spec.group`: a DNS subdomain with at least one dot.
fn validate_group(spec: &CustomResourceDefinitionSpec, problems: &mut Problems) {
    if let Some(problem) = dns_subdomain_problem(&spec.group) {
        problems.error(
            format!("{BASE}.spec.group"),
            format!("{:?} {problem}", spec.group),
        );
    } else if !spec.group.contains('.') {
        problems.error(
            format!("{BASE}.spec.group"),
            format!("{:?} must be a domain with at least one dot", spec.group),
        );
    }
}

/// `spec.names`: plural, singular and kind are DNS-1035 labels.
fn validate_names(names: &CustomResourceDefinitionNames, problems: &mut Problems) {
    if names.plural.is_empty() {
        problems.error(format!("{BASE}.spec.names.plural"), "must not be empty");
    } else if let Some(problem) = dns_1035_label_problem(&names.plural) {
        problems.error(
            format!("{BASE}.spec.names.plural"),
            format!("{:?} {problem}", names.plural),
        );
    }
    if let Some(singular) = names.singular.as_deref().filter(|s| !s.is_empty())
        && let Some(problem) = dns_1035_label_problem(singular)
    {
        problems.error(
            format!("{BASE}.spec.names.singular"),
            format!("{singular:?} {problem}"),
        );
    }
    if names.kind.is_empty() {
        problems.error(format!("{BASE}.spec.names.kind"), "must not be empty");
    } else if let Some(problem) = dns_1035_label_problem(&names.kind.to_lowercase()) {
        // The API server checks the lower-cased kind.
        problems.error(
            format!("{BASE}.spec.names.kind"),
            format!("{:?} lower-cased {problem}", names.kind),
        );
    }
}

/// `metadata.name` is `<plural>.<group>`.
fn validate_crd_name(crd: &CustomResourceDefinition, problems: &mut Problems) {
    let expected_name = format!("{}.{}", crd.spec.names.plural, crd.spec.group);
    let actual_name = crd.metadata.name.as_deref().unwrap_or_default();
    if actual_name != expected_name {
        problems.error(
            format!("{BASE}.metadata.name"),
            format!("{actual_name:?} must be <plural>.<group>, that is {expected_name:?}"),
        );
    }
}

/// `spec.scope` is Namespaced.
fn validate_scope(spec: &CustomResourceDefinitionSpec, problems: &mut Problems) {
    match spec.scope.as_str() {
        "Namespaced" => {}
        "Cluster" => problems.error(
            format!("{BASE}.spec.scope"),
            "promise api needs to be namespace scoped: set scope: Namespaced",
        ),
        other => problems.error(
            format!("{BASE}.spec.scope"),
            format!("{other:?} must be Namespaced"),
        ),
    }
}

fn validate_versions(resource_api: &ResourceApi, problems: &mut Problems) {
    let base = "spec.api.spec.versions";
    let versions = &resource_api.crd.spec.versions;
    if versions.is_empty() {
        problems.error(base, "must list at least one version");
        return;
    }
    let storage: Vec<&str> = versions
        .iter()
        .filter(|v| v.storage)
        .map(|v| v.name.as_str())
        .collect();
    if storage.len() != 1 {
        problems.error(
            base,
            format!(
                "exactly one version must have storage: true (found {})",
                if storage.is_empty() {
                    "none".to_owned()
                } else {
                    storage.join(", ")
                }
            ),
        );
    }
    if !versions.iter().any(|v| v.served) {
        problems.error(base, "at least one version must have served: true");
    }
    let mut seen = Vec::new();
    for (i, version) in versions.iter().enumerate() {
        let path = format!("{base}[{i}]");
        if let Some(problem) = dns_1035_label_problem(&version.name) {
            problems.error(format!("{path}.name"), format!("{:?} {problem}", version.name));
        }
        if seen.contains(&version.name.as_str()) {
            problems.error(
                format!("{path}.name"),
                format!("version {:?} is listed twice", version.name),
            );
        }
        seen.push(version.name.as_str());
        let has_schema = version
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .is_some();
        if !has_schema {
            problems.error(
                format!("{path}.schema.openAPIV3Schema"),
                format!(
                    "version {:?} needs a schema (apiextensions.k8s.io/v1 requires one)",
                    version.name
                ),
            );
        }
    }
}
