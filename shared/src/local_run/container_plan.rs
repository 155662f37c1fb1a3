//! One pipeline's pod, as a container engine runs it: the user's containers of
//! the rendered Job in order (the Kratix containers around them are the
//! plugin's to emulate), each with what the kubelet would give it, and the host
//! folders its volumes become. Every reason it cannot run is found at once,
//! before anything runs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Container, PodSpec};

use super::env_resolution::{ResolvedVar, expand, references_secret, resolve_env};
use super::pod_volumes::{HostVolume, Mount, VolumeFiles, host_volumes, mounts};
use super::{PlanProblem, PodFacts, Sources};
use crate::api::labels;
use crate::render::names::KRATIX_CONTAINERS;

/// Where one pipeline's pod keeps its files on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineDirs {
    /// `/kratix/input` (holds `object.yaml`).
    pub input: PathBuf,
    /// `/kratix/output`.
    pub output: PathBuf,
    /// `/kratix/metadata`.
    pub metadata: PathBuf,
    /// One folder per volume of the pipeline's own (emptyDir, Secret, ConfigMap).
    pub volumes: PathBuf,
}

/// When the engine pulls the image. A local run exists to try images built
/// on this machine, so only an explicit `Always` pulls an image that is here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullPolicy {
    Always,
    Missing,
    Never,
}

/// The container's `securityContext`, as engine settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Security {
    /// `uid` or `uid:gid`.
    pub user: Option<String>,
    pub privileged: bool,
    pub read_only_root: bool,
    pub no_new_privileges: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `runAsGroup` without `runAsUser`: an engine sets a group only with a
    /// user, so it is not applied.
    pub group_without_user: Option<i64>,
}

impl Security {
    /// What gives the container more than an unprivileged one on the machine
    /// running it: `(field, value)` each.
    pub fn elevated(&self) -> Vec<(&'static str, String)> {
        let mut found = Vec::new();
        if self.privileged {
            found.push(("securityContext.privileged", "true".to_owned()));
        }
        if !self.cap_add.is_empty() {
            found.push((
                "securityContext.capabilities.add",
                format!("[{}]", self.cap_add.join(", ")),
            ));
        }
        if self
            .user
            .as_deref()
            .is_some_and(|user| user.split(':').next() == Some("0"))
        {
            found.push(("securityContext.runAsUser", "0 (root)".to_owned()));
        }
        found
    }
}

/// One user container, ready for the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPlan {
    pub pipeline: String,
    pub name: String,
    pub image: String,
    /// Replaces the image's entrypoint (`$(VAR)` expanded).
    pub command: Option<Vec<String>>,
    /// Replaces the image's arguments (`$(VAR)` expanded).
    pub args: Option<Vec<String>>,
    pub env: Vec<ResolvedVar>,
    pub mounts: Vec<Mount>,
    pub working_dir: Option<String>,
    pub security: Security,
    pub pull: PullPolicy,
}

/// One pipeline's pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelinePlan {
    pub pipeline: String,
    pub containers: Vec<ContainerPlan>,
    pub volumes: Vec<VolumeFiles>,
}

/// The pod of `job` (one pipeline's, as rendered) with `uid` for the downward API.
pub fn plan_pipeline(
    job: &Job,
    uid: &str,
    sources: &Sources,
    dirs: &PipelineDirs,
) -> Result<PipelinePlan, Vec<PlanProblem>> {
    let metadata = &job.metadata;
    let template = job.spec.as_ref().map(|s| &s.template);
    let pod_meta = template.and_then(|t| t.metadata.as_ref());
    let empty = BTreeMap::new();
    let pod_labels = pod_meta.and_then(|m| m.labels.as_ref()).unwrap_or(&empty);
    let pipeline = pod_labels.get(labels::PIPELINE_NAME).cloned().unwrap_or_default();
    let default_spec = PodSpec::default();
    let spec = template.and_then(|t| t.spec.as_ref()).unwrap_or(&default_spec);
    let pod_name = format!("{}-local", metadata.name.as_deref().unwrap_or("pipeline"));
    let pod = PodFacts {
        name: &pod_name,
        namespace: metadata.namespace.as_deref().unwrap_or("default"),
        uid,
        labels: pod_labels,
        annotations: pod_meta.and_then(|m| m.annotations.as_ref()).unwrap_or(&empty),
        service_account: spec.service_account_name.as_deref().unwrap_or("default"),
    };
    let mut problems = Vec::new();
    let (host_volumes, volumes) = host_volumes(spec, sources, dirs, &pipeline, &mut problems);
    let containers: Vec<ContainerPlan> = spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| !KRATIX_CONTAINERS.contains(&c.name.as_str()))
        .filter_map(|c| {
            let problem = |field: String, message: String| PlanProblem {
                pipeline: pipeline.clone(),
                container: Some(c.name.clone()),
                field,
                message,
            };
            match plan_container(c, &pipeline, &host_volumes, sources, &pod, &problem) {
                Ok(plan) => Some(plan),
                Err(found) => {
                    problems.extend(found);
                    None
                }
            }
        })
        .collect();
    if problems.is_empty() {
        Ok(PipelinePlan {
            pipeline,
            containers,
            volumes,
        })
    } else {
        Err(problems)
    }
}

fn plan_container(
    container: &Container,
    pipeline: &str,
    volumes: &BTreeMap<String, HostVolume>,
    sources: &Sources,
    pod: &PodFacts<'_>,
    problem: &dyn Fn(String, String) -> PlanProblem,
) -> Result<ContainerPlan, Vec<PlanProblem>> {
    let env = resolve_env(container, sources, pod, problem);
    let mounts = mounts(container, volumes, env.as_deref().unwrap_or_default(), problem);
    let (env, mounts) = match (env, mounts) {
        (Ok(env), Ok(mounts)) => (env, mounts),
        (env, mounts) => {
            return Err([env.err(), mounts.err()]
                .into_iter()
                .flatten()
                .flatten()
                .collect());
        }
    };
    // A command line is readable by every local user: a Secret's value may
    // not be expanded into it (the script reads the variable instead).
    let leaking: Vec<&String> = [&container.command, &container.args]
        .into_iter()
        .flatten()
        .flatten()
        .filter(|item| references_secret(item, &env))
        .collect();
    let image = container.image.clone().unwrap_or_default();
    let mut refused = Vec::new();
    if let Some(item) = leaking.first() {
        refused.push(problem(
            "command/args".to_owned(),
            format!(
                "{item:?} expands a variable from a Secret, which would put its value on the engine's command line; read the variable in the script instead"
            ),
        ));
    }
    if image.starts_with('-') || image.is_empty() || image.contains(char::is_whitespace) {
        refused.push(problem(
            "image".to_owned(),
            format!("{image:?} is not an image reference"),
        ));
    }
    if !refused.is_empty() {
        return Err(refused);
    }
    let lookup = |name: &str| env.iter().find(|v| v.name == name).map(|v| v.value.clone());
    let expanded = |list: &Option<Vec<String>>| {
        list.as_ref()
            .filter(|l| !l.is_empty())
            .map(|l| l.iter().map(|item| expand(item, lookup)).collect::<Vec<_>>())
    };
    Ok(ContainerPlan {
        pipeline: pipeline.to_owned(),
        name: container.name.clone(),
        image,
        command: expanded(&container.command),
        args: expanded(&container.args),
        mounts,
        working_dir: container.working_dir.clone(),
        security: security(container),
        pull: match container.image_pull_policy.as_deref() {
            Some("Always") => PullPolicy::Always,
            Some("Never") => PullPolicy::Never,
            _ => PullPolicy::Missing,
        },
        env,
    })
}

fn security(container: &Container) -> Security {
    let Some(context) = &container.security_context else {
        return Security::default();
    };
    let capabilities = context.capabilities.as_ref();
    Security {
        user: context.run_as_user.map(|uid| match context.run_as_group {
            Some(gid) => format!("{uid}:{gid}"),
            None => uid.to_string(),
        }),
        privileged: context.privileged == Some(true),
        read_only_root: context.read_only_root_filesystem == Some(true),
        no_new_privileges: context.allow_privilege_escalation == Some(false),
        cap_add: capabilities.and_then(|c| c.add.clone()).unwrap_or_default(),
        cap_drop: capabilities.and_then(|c| c.drop.clone()).unwrap_or_default(),
        group_without_user: context.run_as_group.filter(|_| context.run_as_user.is_none()),
    }
}
