//! One pipeline's pod, as a container engine runs it: the user's containers of
//! the rendered Job in order (the Kratix containers around them are the
//! plugin's to emulate), each with what the kubelet would give it, and the host
//! folders its volumes become. Every reason it cannot run is found at once,
//! before anything runs.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Container, KeyToPath, PodSpec, Volume, VolumeMount};

use super::env_resolution::{ResolvedVar, expand, references_secret, resolve_env};
use super::{PlanProblem, PodFacts, SourceKind, Sources};
use crate::api::labels;
use crate::render::names::{
    KRATIX_CONTAINERS, PROMISE_SCHEDULING_VOLUME, SHARED_INPUT_VOLUME, SHARED_METADATA_VOLUME,
    SHARED_OUTPUT_VOLUME,
};

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

/// A host folder (or file, with a `subPath`) mounted into a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub host: PathBuf,
    pub container: String,
    pub read_only: bool,
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

/// A file a volume holds before the pod starts (a Secret's or ConfigMap's key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeFile {
    /// Relative to the volume's folder.
    pub path: String,
    pub content: Vec<u8>,
    pub mode: u32,
}

/// A volume's host folder and the files it starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeFiles {
    pub dir: PathBuf,
    pub files: Vec<VolumeFile>,
}

/// One pipeline's pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelinePlan {
    pub pipeline: String,
    pub containers: Vec<ContainerPlan>,
    pub volumes: Vec<VolumeFiles>,
}

/// A volume as the host sees it.
struct HostVolume {
    dir: PathBuf,
    /// Secrets and ConfigMaps are mounted read-only, whatever the mount says.
    read_only: bool,
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
    let mounts = mounts(container, volumes, problem);
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
    }
}

/// A relative path that stays inside its folder (`a/b`, not `../a` or `/a`).
fn inside(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

fn mounts(
    container: &Container,
    volumes: &BTreeMap<String, HostVolume>,
    problem: &dyn Fn(String, String) -> PlanProblem,
) -> Result<Vec<Mount>, Vec<PlanProblem>> {
    let mut mounts = Vec::new();
    let mut problems = Vec::new();
    for mount in container.volume_mounts.iter().flatten() {
        match host_mount(mount, volumes) {
            Ok(planned) => mounts.push(planned),
            Err(message) => problems.push(problem(
                format!("volumeMounts[{} at {}]", mount.name, mount.mount_path),
                message,
            )),
        }
    }
    if problems.is_empty() {
        Ok(mounts)
    } else {
        Err(problems)
    }
}

fn host_mount(mount: &VolumeMount, volumes: &BTreeMap<String, HostVolume>) -> Result<Mount, String> {
    let volume = volumes
        .get(&mount.name)
        .ok_or_else(|| format!("no volume {:?} in the pod", mount.name))?;
    if !mount.mount_path.starts_with('/') {
        return Err(format!("mountPath {:?} is not absolute", mount.mount_path));
    }
    let host = match mount.sub_path.as_deref().filter(|s| !s.is_empty()) {
        Some(sub) if inside(sub) => volume.dir.join(sub),
        Some(sub) => return Err(format!("subPath {sub:?} leaves its volume")),
        None => volume.dir.clone(),
    };
    Ok(Mount {
        host,
        container: mount.mount_path.clone(),
        read_only: volume.read_only || mount.read_only == Some(true),
    })
}

/// Every volume of the pod as a host folder, with the files the Secret and
/// ConfigMap ones start with.
fn host_volumes(
    spec: &PodSpec,
    sources: &Sources,
    dirs: &PipelineDirs,
    pipeline: &str,
    problems: &mut Vec<PlanProblem>,
) -> (BTreeMap<String, HostVolume>, Vec<VolumeFiles>) {
    let mut hosts = BTreeMap::new();
    let mut files = Vec::new();
    for volume in spec.volumes.iter().flatten() {
        let fixed = match volume.name.as_str() {
            SHARED_INPUT_VOLUME => Some(&dirs.input),
            SHARED_OUTPUT_VOLUME => Some(&dirs.output),
            SHARED_METADATA_VOLUME => Some(&dirs.metadata),
            _ => None,
        };
        if let Some(dir) = fixed {
            let host = HostVolume {
                dir: dir.clone(),
                read_only: false,
            };
            hosts.insert(volume.name.clone(), host);
            continue;
        }
        if volume.name == PROMISE_SCHEDULING_VOLUME {
            continue;
        }
        let problem = |message: String| PlanProblem {
            pipeline: pipeline.to_owned(),
            container: None,
            field: format!("volumes[{}]", volume.name),
            message,
        };
        if !inside(&volume.name) || volume.name.contains('/') {
            problems.push(problem("is not a volume name".to_owned()));
            continue;
        }
        let dir = dirs.volumes.join(&volume.name);
        match volume_files(volume, sources) {
            Ok((content, read_only)) => {
                hosts.insert(
                    volume.name.clone(),
                    HostVolume {
                        dir: dir.clone(),
                        read_only,
                    },
                );
                files.push(VolumeFiles { dir, files: content });
            }
            Err(message) => problems.push(problem(message)),
        }
    }
    (hosts, files)
}

/// The files a volume starts with and whether it is read-only.
fn volume_files(volume: &Volume, sources: &Sources) -> Result<(Vec<VolumeFile>, bool), String> {
    if volume.empty_dir.is_some() {
        return Ok((Vec::new(), false));
    }
    if let Some(secret) = &volume.secret {
        let name = secret.secret_name.as_deref().unwrap_or_default();
        let reference = Reference::new(SourceKind::Secret, name, secret.optional, sources);
        return keyed_files(&reference, secret.items.as_deref(), secret.default_mode).map(|f| (f, true));
    }
    if let Some(map) = &volume.config_map {
        let reference = Reference::new(SourceKind::ConfigMap, &map.name, map.optional, sources);
        return keyed_files(&reference, map.items.as_deref(), map.default_mode).map(|f| (f, true));
    }
    if let Some(projected) = &volume.projected {
        let mut all = Vec::new();
        for source in projected.sources.iter().flatten() {
            let (reference, items) = match (&source.secret, &source.config_map) {
                (Some(secret), _) => (
                    Reference::new(SourceKind::Secret, &secret.name, secret.optional, sources),
                    secret.items.as_deref(),
                ),
                (None, Some(map)) => (
                    Reference::new(SourceKind::ConfigMap, &map.name, map.optional, sources),
                    map.items.as_deref(),
                ),
                (None, None) => {
                    return Err(
                        "a projected volume runs locally with Secret and ConfigMap sources only".to_owned(),
                    );
                }
            };
            all.extend(keyed_files(&reference, items, projected.default_mode)?);
        }
        return Ok((all, true));
    }
    Err(
        "only emptyDir, secret, configMap and projected (Secret, ConfigMap) volumes run locally; this one needs a cluster"
            .to_owned(),
    )
}

/// A Secret or ConfigMap a volume reads.
struct Reference<'a> {
    kind: SourceKind,
    name: &'a str,
    data: Option<&'a BTreeMap<String, Vec<u8>>>,
    optional: bool,
}

impl<'a> Reference<'a> {
    fn new(kind: SourceKind, name: &'a str, optional: Option<bool>, sources: &'a Sources) -> Self {
        Reference {
            kind,
            name,
            data: kind.given(sources).get(name),
            optional: optional == Some(true),
        }
    }
}

/// The Kubernetes default mode of a Secret or ConfigMap volume's files.
const DEFAULT_MODE: u32 = 0o644;

fn keyed_files(
    reference: &Reference<'_>,
    items: Option<&[KeyToPath]>,
    default_mode: Option<i32>,
) -> Result<Vec<VolumeFile>, String> {
    let mode = |own: Option<i32>| {
        own.or(default_mode)
            .and_then(|m| u32::try_from(m).ok())
            .map_or(DEFAULT_MODE, |m| m & 0o777)
    };
    let Some(data) = reference.data else {
        if reference.optional {
            return Ok(Vec::new());
        }
        return Err(reference.kind.not_given(reference.name));
    };
    let Some(items) = items.filter(|i| !i.is_empty()) else {
        // Each key becomes a file name: one that is not a plain name stays out.
        if let Some(key) = data.keys().find(|k| !inside(k) || k.contains('/')) {
            return Err(format!(
                "{} {} key {key:?} is not a file name",
                reference.kind.word(),
                reference.name
            ));
        }
        return Ok(data
            .iter()
            .map(|(key, content)| VolumeFile {
                path: key.clone(),
                content: content.clone(),
                mode: mode(None),
            })
            .collect());
    };
    let mut files = Vec::new();
    for item in items {
        let Some(content) = data.get(&item.key) else {
            if reference.optional {
                continue;
            }
            return Err(format!(
                "{} {} has no key {:?}",
                reference.kind.word(),
                reference.name,
                item.key
            ));
        };
        if !inside(&item.path) {
            return Err(format!("items path {:?} leaves the volume", item.path));
        }
        files.push(VolumeFile {
            path: item.path.clone(),
            content: content.clone(),
            mode: mode(item.mode),
        });
    }
    Ok(files)
}
