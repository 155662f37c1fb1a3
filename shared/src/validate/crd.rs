//! Checks on `spec.api`: a valid, namespaced CRD whose name, group, names and
//! versions agree, as the API server and the reference webhook require.

use serde_json::Value;

use super::Problems;
use super::names::{dns_1035_label_problem, dns_subdomain_problem};
use crate::api::resource_api::{CRD_API_VERSION, CRD_KIND, ResourceApi};
use crate::codec::decode::{FieldProblemKind, join_path};

/// Validates the embedded CRD and returns it decoded when it is usable.
pub fn validate_api(api: &Value, problems: &mut Problems) -> Option<ResourceApi> {
    let base = "spec.api";
    let api_version = api.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let kind = api.get("kind").and_then(Value::as_str).unwrap_or_default();
    if api_version != CRD_API_VERSION || kind != CRD_KIND {
        // Kratix decodes spec.api into a CRD whatever it says it is.
        problems.warning(
            base,
            format!(
                "apiVersion {api_version:?} kind {kind:?} is read as an {CRD_API_VERSION} {CRD_KIND}: write those"
            ),
        );
    }
    let (decoded, found) = ResourceApi::decode(api);
    for problem in found {
        let path = join_path(base, &problem.path);
        match problem.kind {
            FieldProblemKind::Invalid => problems.error(path, problem.message),
            FieldProblemKind::UnknownField => problems.warning(
                path,
                format!("{}: Kratix drops it when it creates the CRD", problem.message),
            ),
            FieldProblemKind::CaseMismatch => problems.warning(path, problem.message),
        }
    }
    let resource_api = decoded?;
    let spec = &resource_api.crd.spec;
    let names = &spec.names;

    if let Some(problem) = dns_subdomain_problem(&spec.group) {
        problems.error(
            format!("{base}.spec.group"),
            format!("{:?} {problem}", spec.group),
        );
    } else if !spec.group.contains('.') {
        problems.error(
            format!("{base}.spec.group"),
            format!("{:?} must be a domain with at least one dot", spec.group),
        );
    }
    if names.plural.is_empty() {
        problems.error(format!("{base}.spec.names.plural"), "must not be empty");
    } else if let Some(problem) = dns_1035_label_problem(&names.plural) {
        problems.error(
            format!("{base}.spec.names.plural"),
            format!("{:?} {problem}", names.plural),
        );
    }
    if let Some(singular) = names.singular.as_deref().filter(|s| !s.is_empty())
        && let Some(problem) = dns_1035_label_problem(singular)
    {
        problems.error(
            format!("{base}.spec.names.singular"),
            format!("{singular:?} {problem}"),
        );
    }
    if names.kind.is_empty() {
        problems.error(format!("{base}.spec.names.kind"), "must not be empty");
    } else if let Some(problem) = dns_1035_label_problem(&names.kind.to_lowercase()) {
        // The API server checks the lower-cased kind.
        problems.error(
            format!("{base}.spec.names.kind"),
            format!("{:?} lower-cased {problem}", names.kind),
        );
    }
    let expected_name = format!("{}.{}", names.plural, spec.group);
    let actual_name = resource_api.crd.metadata.name.as_deref().unwrap_or_default();
    if actual_name != expected_name {
        problems.error(
            format!("{base}.metadata.name"),
            format!("{actual_name:?} must be <plural>.<group>, that is {expected_name:?}"),
        );
    }
    match spec.scope.as_str() {
        "Namespaced" => {}
        "Cluster" => problems.error(
            format!("{base}.spec.scope"),
            "promise api needs to be namespace scoped: set scope: Namespaced",
        ),
        other => problems.error(
            format!("{base}.spec.scope"),
            format!("{other:?} must be Namespaced"),
        ),
    }
    validate_versions(&resource_api, problems);
    Some(resource_api)
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
