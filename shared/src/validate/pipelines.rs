//! Checks on the four pipeline lists: shape, names, containers, volumes, RBAC.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use super::Problems;
use super::names::{dns_label_problem, dns_subdomain_problem, label_value_problem, qualified_name_problem};
use crate::api::pipeline::{Pipeline, PipelineContainer, PipelineSpec, parse_pipeline};
use crate::api::workflow::{Workflow, WorkflowAction};
use crate::codec::decode::FieldProblemKind;
use crate::render::names::{KRATIX_CONTAINERS, KRATIX_VOLUMES, pipeline_id};

/// Longest `<promise>-<type>-<action>-<pipeline>` the reference accepts.
pub const MAX_PIPELINE_ID: usize = 60;
const KRATIX_MOUNT_PATHS: [&str; 3] = ["/kratix/input", "/kratix/output", "/kratix/metadata"];
const RESTART_POLICIES: [&str; 2] = ["OnFailure", "Never"];
const PULL_POLICIES: [&str; 3] = ["Always", "IfNotPresent", "Never"];

/// Validates one workflow's pipeline list and returns the pipelines that decoded.
pub fn validate_workflow(
    promise_name: &str,
    workflow: Workflow,
    values: &[Value],
    problems: &mut Problems,
) -> Vec<Pipeline> {
    let base = workflow.field_path();
    if workflow.action == WorkflowAction::Delete && values.len() > 1 {
        problems.warning(
            &base,
            format!(
                "a delete workflow runs a single pipeline: only the first ({}) runs, the other {} never will",
                values[0]
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("unnamed"),
                values.len() - 1
            ),
        );
    }
    let mut pipelines = Vec::new();
    let mut seen_names: HashSet<String> = HashSet::new();
    for (i, value) in values.iter().enumerate() {
        let path = format!("{base}[{i}]");
        let (pipeline, found) = parse_pipeline(value, &path);
        for problem in found {
            match problem.kind {
                FieldProblemKind::CaseMismatch => problems.warning(problem.path, problem.message),
                _ => problems.error(problem.path, problem.message),
            }
        }
        let Some(pipeline) = pipeline else { continue };
        let name = pipeline.name().to_owned();
        if name.is_empty() {
            problems.error(format!("{path}.metadata.name"), "a pipeline needs a name");
        } else {
            if let Some(problem) = dns_label_problem(&name) {
                problems.error(format!("{path}.metadata.name"), format!("{name:?} {problem}"));
            }
            if !seen_names.insert(name.clone()) {
                problems.error(
                    format!("{path}.metadata.name"),
                    format!("pipeline name {name:?} is used twice in {workflow}; names must be unique per workflow"),
                );
            }
            let id = pipeline_id(promise_name, workflow, &name);
            if id.len() > MAX_PIPELINE_ID {
                problems.error(
                    format!("{path}.metadata.name"),
                    format!(
                        "{id:?} (<promise>-<type>-<action>-<pipeline>) is {} characters; the limit is {MAX_PIPELINE_ID}: shorten the pipeline or Promise name",
                        id.len()
                    ),
                );
            }
        }
        validate_metadata_maps(&pipeline, &path, problems);
        validate_spec(&pipeline, &path, problems);
        pipelines.push(pipeline);
    }
    pipelines
}

fn validate_metadata_maps(pipeline: &Pipeline, path: &str, problems: &mut Problems) {
    let labels_path = format!("{path}.metadata.labels");
    validate_labels(pipeline.metadata.labels.as_ref(), &labels_path, problems);
    for key in pipeline.metadata.labels.iter().flatten().map(|(k, _)| k) {
        if let Some(why) = crate::api::labels::reserved_job_label(key) {
            problems.error(
                &labels_path,
                format!("key {key:?} {why}; remove it from the pipeline"),
            );
        }
    }
    let annotations_path = format!("{path}.metadata.annotations");
    for key in pipeline.metadata.annotations.iter().flatten().map(|(k, _)| k) {
        if let Some(problem) = qualified_name_problem(key) {
            problems.error(&annotations_path, format!("key {key:?}: {problem}"));
        }
        if let Some(why) = crate::api::labels::reserved_job_annotation(key) {
            problems.error(
                &annotations_path,
                format!("key {key:?} {why}; remove it from the pipeline"),
            );
        }
    }
}

/// Label keys and values, each problem naming the offending key.
pub fn validate_labels(labels: Option<&BTreeMap<String, String>>, path: &str, problems: &mut Problems) {
    for (key, value) in labels.into_iter().flatten() {
        if let Some(problem) = qualified_name_problem(key) {
            problems.error(path, format!("key {key:?}: {problem}"));
        }
        if let Some(problem) = label_value_problem(value) {
            problems.error(format!("{path}.{key}"), format!("value {value:?} {problem}"));
        }
    }
}

fn validate_spec(pipeline: &Pipeline, path: &str, problems: &mut Problems) {
    let spec = &pipeline.spec;
    let spec_path = format!("{path}.spec");
    if spec.containers.is_empty() {
        problems.error(
            format!("{spec_path}.containers"),
            "a pipeline needs at least one container",
        );
    }
    validate_volumes(spec, &spec_path, problems);
    let volume_names: HashSet<&str> = spec.volumes.iter().map(|v| v.name.as_str()).collect();
    let mut seen_containers = HashSet::new();
    for (i, container) in spec.containers.iter().enumerate() {
        let cpath = format!("{spec_path}.containers[{i}]");
        validate_container_name(pipeline, container, &cpath, &mut seen_containers, problems);
        validate_container_image(container, &cpath, problems);
        validate_mounts(container, &cpath, &spec_path, &volume_names, problems);
    }
    validate_job_fields(spec, &spec_path, problems);
    if let Some(rbac) = &spec.rbac {
        validate_rbac(rbac, &format!("{spec_path}.rbac"), problems);
    }
}

/// Volume names: not Kratix's own, valid DNS labels, each declared once.
fn validate_volumes(spec: &PipelineSpec, spec_path: &str, problems: &mut Problems) {
    let mut seen_volumes = HashSet::new();
    for (i, volume) in spec.volumes.iter().enumerate() {
        let vpath = format!("{spec_path}.volumes[{i}].name");
        if KRATIX_VOLUMES.contains(&volume.name.as_str()) {
            problems.error(
                &vpath,
                format!(
                    "volume name {:?} is reserved by Kratix: choose another",
                    volume.name
                ),
            );
        } else if let Some(problem) = dns_label_problem(&volume.name) {
            problems.error(&vpath, format!("{:?} {problem}", volume.name));
        }
        if !seen_volumes.insert(volume.name.as_str()) {
            problems.error(&vpath, format!("volume {:?} is declared twice", volume.name));
        }
    }
}

/// A container's name: set, not a Kratix container's, a valid DNS label and
/// unique in the pipeline (`seen` holds the names before it).
fn validate_container_name<'a>(
    pipeline: &Pipeline,
    container: &'a PipelineContainer,
    cpath: &str,
    seen: &mut HashSet<&'a str>,
    problems: &mut Problems,
) {
    if container.name.is_empty() {
        problems.error(format!("{cpath}.name"), "a container needs a name");
    } else if KRATIX_CONTAINERS.contains(&container.name.as_str()) {
        problems.error(
            format!("{cpath}.name"),
            format!(
                "container name {:?} is reserved for a Kratix container: choose another",
                container.name
            ),
        );
    } else if let Some(problem) = dns_label_problem(&container.name) {
        problems.error(format!("{cpath}.name"), format!("{:?} {problem}", container.name));
    }
    if !container.name.is_empty() && !seen.insert(container.name.as_str()) {
        problems.error(
            format!("{cpath}.name"),
            format!(
                "container name {:?} is used twice in pipeline {:?}",
                container.name,
                pipeline.name()
            ),
        );
    }
}

/// A container's image is set and its pull policy is one Kubernetes knows.
fn validate_container_image(container: &PipelineContainer, cpath: &str, problems: &mut Problems) {
    if container.image.trim().is_empty() {
        problems.error(
            format!("{cpath}.image"),
            format!("container {:?} needs an image", container.name),
        );
    }
    if let Some(policy) = &container.image_pull_policy
        && !PULL_POLICIES.contains(&policy.as_str())
    {
        problems.error(
            format!("{cpath}.imagePullPolicy"),
            format!("{policy:?} must be one of {}", PULL_POLICIES.join(", ")),
        );
    }
}

/// A container's volume mounts: of declared volumes, away from Kratix's own
/// mount paths, each path mounted once.
fn validate_mounts(
    container: &PipelineContainer,
    cpath: &str,
    spec_path: &str,
    volume_names: &HashSet<&str>,
    problems: &mut Problems,
) {
    let mut mount_paths = HashSet::new();
    for (j, mount) in container.volume_mounts.iter().enumerate() {
        let mpath = format!("{cpath}.volumeMounts[{j}]");
        if !volume_names.contains(mount.name.as_str()) {
            problems.error(
                format!("{mpath}.name"),
                format!("volume {:?} is not declared in {spec_path}.volumes", mount.name),
            );
        }
        let mount_path = mount.mount_path.trim_end_matches('/');
        if KRATIX_MOUNT_PATHS.contains(&mount_path) {
            problems.error(
                format!("{mpath}.mountPath"),
                format!(
                    "{:?} is where Kratix mounts its own volume: mount elsewhere",
                    mount.mount_path
                ),
            );
        }
        if !mount_paths.insert(mount_path) {
            problems.error(
                format!("{mpath}.mountPath"),
                format!("{:?} is mounted twice", mount.mount_path),
            );
        }
    }
}

/// What the Job and its pod take from the spec: restart policy, backoff limit
/// and node selector.
fn validate_job_fields(spec: &PipelineSpec, spec_path: &str, problems: &mut Problems) {
    if let Some(policy) = &spec.restart_policy
        && !RESTART_POLICIES.contains(&policy.as_str())
    {
        problems.error(
            format!("{spec_path}.restartPolicy"),
            format!("{policy:?} is not allowed for a Job: use OnFailure or Never"),
        );
    }
    if let Some(limit) = spec.job_options.as_ref().and_then(|j| j.backoff_limit)
        && limit < 0
    {
        problems.error(
            format!("{spec_path}.jobOptions.backoffLimit"),
            format!("{limit} must be 0 or more"),
        );
    }
    for (key, value) in &spec.node_selector {
        if let Some(problem) = qualified_name_problem(key) {
            problems.error(
                format!("{spec_path}.nodeSelector"),
                format!("key {key:?}: {problem}"),
            );
        }
        if let Some(problem) = label_value_problem(value) {
            problems.error(
                format!("{spec_path}.nodeSelector.{key}"),
                format!("value {value:?} {problem}"),
            );
        }
    }
}

fn validate_rbac(rbac: &crate::api::pipeline::PipelineRbac, path: &str, problems: &mut Problems) {
    if let Some(account) = rbac.service_account.as_deref()
        && let Some(problem) = dns_subdomain_problem(account)
    {
        problems.error(format!("{path}.serviceAccount"), format!("{account:?} {problem}"));
    }
    for (i, permission) in rbac.permissions.iter().enumerate() {
        let ppath = format!("{path}.permissions[{i}]");
        if permission.verbs.is_empty() {
            problems.error(format!("{ppath}.verbs"), "a permission needs at least one verb");
        }
        let has_resources = permission.resources.as_ref().is_some_and(|r| !r.is_empty());
        let has_urls = permission
            .non_resource_urls
            .as_ref()
            .is_some_and(|u| !u.is_empty());
        if !has_resources && !has_urls {
            problems.error(
                &ppath,
                "a permission needs resources (with apiGroups) or nonResourceURLs",
            );
        }
        if has_resources && permission.api_groups.is_none() {
            problems.error(
                format!("{ppath}.apiGroups"),
                "resources need apiGroups (use [\"\"] for the core group)",
            );
        }
        let namespace = permission.resource_namespace.as_deref().unwrap_or_default();
        if has_urls && namespace != "*" {
            problems.error(
                format!("{ppath}.nonResourceURLs"),
                "nonResourceURLs are cluster-wide: they need resourceNamespace: \"*\"",
            );
        }
        if !namespace.is_empty()
            && namespace != "*"
            && let Some(problem) = dns_label_problem(namespace)
        {
            problems.error(
                format!("{ppath}.resourceNamespace"),
                format!("{namespace:?} {problem} (or \"*\" for every namespace)"),
            );
        }
    }
}
