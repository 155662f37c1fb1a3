//! A pipeline pod's volumes on the host: each volume a folder under the
//! pipeline's own (the three `/kratix` ones fixed), the files its Secret or
//! ConfigMap gives it, and each container's mounts of them, with `subPath`
//! and `subPathExpr` kept inside their volume.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use k8s_openapi::api::core::v1::{Container, KeyToPath, PodSpec, Volume, VolumeMount};

use super::container_plan::PipelineDirs;
use super::env_resolution::{ResolvedVar, expand, references_secret};
use super::{PlanProblem, SourceKind, Sources};
use crate::render::names::{
    PROMISE_SCHEDULING_VOLUME, SHARED_INPUT_VOLUME, SHARED_METADATA_VOLUME, SHARED_OUTPUT_VOLUME,
};

/// A host folder (or file, with a `subPath`) mounted into a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub host: PathBuf,
    pub container: String,
    pub read_only: bool,
    /// With a `subPath`: the volume's folder, which `host` must still be
    /// inside when the container starts. An earlier container may have put a
    /// link on the way, so this is checked then, not when planning.
    pub sub_path_of: Option<PathBuf>,
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
    /// Some of the files are a Secret's: removed once the pipeline ends.
    pub holds_secrets: bool,
}

/// What a volume's files come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Scratch,
    ConfigMaps,
    Secrets,
}

/// A volume as the host sees it.
pub(super) struct HostVolume {
    dir: PathBuf,
    /// Secrets and ConfigMaps are mounted read-only, whatever the mount says.
    read_only: bool,
}

/// A relative path that stays inside its folder (`a/b`, not `../a` or `/a`).
fn inside(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

pub(super) fn mounts(
    container: &Container,
    volumes: &BTreeMap<String, HostVolume>,
    env: &[ResolvedVar],
    problem: &dyn Fn(String, String) -> PlanProblem,
) -> Result<Vec<Mount>, Vec<PlanProblem>> {
    let mut mounts = Vec::new();
    let mut problems = Vec::new();
    for mount in container.volume_mounts.iter().flatten() {
        match host_mount(mount, volumes, env) {
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

fn host_mount(
    mount: &VolumeMount,
    volumes: &BTreeMap<String, HostVolume>,
    env: &[ResolvedVar],
) -> Result<Mount, String> {
    let volume = volumes
        .get(&mount.name)
        .ok_or_else(|| format!("no volume {:?} in the pod", mount.name))?;
    if !mount.mount_path.starts_with('/') {
        return Err(format!("mountPath {:?} is not absolute", mount.mount_path));
    }
    if mount.mount_path.contains(':') {
        return Err(format!(
            "mountPath {:?} holds ':', which an engine's --volume reads as its separator (\"/data:U\" would change the files' owner): a local run cannot mount it",
            mount.mount_path
        ));
    }
    let sub_path = sub_path(mount, env)?;
    let host = match sub_path.as_deref() {
        Some(sub) => volume.dir.join(sub),
        None => volume.dir.clone(),
    };
    if host.to_string_lossy().contains(':') {
        return Err(format!(
            "the run's folder {} holds ':', which an engine's --volume reads as its separator: choose an --output-dir without one",
            host.display()
        ));
    }
    Ok(Mount {
        host,
        container: mount.mount_path.clone(),
        read_only: volume.read_only || mount.read_only == Some(true),
        sub_path_of: sub_path.map(|_| volume.dir.clone()),
    })
}

/// The mount's `subPath`, or its `subPathExpr` with the container's `$(VAR)`s
/// expanded as the kubelet expands them; refused when it leaves the volume.
fn sub_path(mount: &VolumeMount, env: &[ResolvedVar]) -> Result<Option<String>, String> {
    if let Some(sub) = mount.sub_path.as_deref().filter(|s| !s.is_empty()) {
        return if inside(sub) {
            Ok(Some(sub.to_owned()))
        } else {
            Err(format!("subPath {sub:?} leaves its volume"))
        };
    }
    let Some(expression) = mount.sub_path_expr.as_deref().filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    // The path ends up on the engine's command line.
    if references_secret(expression, env) {
        return Err(format!(
            "subPathExpr {expression:?} expands a variable from a Secret, which would put its value on the engine's command line"
        ));
    }
    let lookup = |name: &str| env.iter().find(|v| v.name == name).map(|v| v.value.clone());
    let sub = expand(expression, lookup);
    if inside(&sub) {
        Ok(Some(sub))
    } else {
        Err(format!(
            "subPathExpr {expression:?} is {sub:?}, which leaves its volume"
        ))
    }
}

/// Every volume of the pod as a host folder, with the files the Secret and
/// ConfigMap ones start with.
pub(super) fn host_volumes(
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
            Ok((content, origin)) => {
                hosts.insert(
                    volume.name.clone(),
                    HostVolume {
                        dir: dir.clone(),
                        read_only: origin != Origin::Scratch,
                    },
                );
                files.push(VolumeFiles {
                    dir,
                    files: content,
                    holds_secrets: origin == Origin::Secrets,
                });
            }
            Err(message) => problems.push(problem(message)),
        }
    }
    (hosts, files)
}

/// The files a volume starts with and where they come from (Secrets and
/// ConfigMaps are mounted read-only, whatever the mount says).
fn volume_files(volume: &Volume, sources: &Sources) -> Result<(Vec<VolumeFile>, Origin), String> {
    if volume.empty_dir.is_some() {
        return Ok((Vec::new(), Origin::Scratch));
    }
    if let Some(secret) = &volume.secret {
        let name = secret.secret_name.as_deref().unwrap_or_default();
        let reference = Reference::new(SourceKind::Secret, name, secret.optional, sources);
        return keyed_files(&reference, secret.items.as_deref(), secret.default_mode)
            .map(|f| (f, Origin::Secrets));
    }
    if let Some(map) = &volume.config_map {
        let reference = Reference::new(SourceKind::ConfigMap, &map.name, map.optional, sources);
        return keyed_files(&reference, map.items.as_deref(), map.default_mode)
            .map(|f| (f, Origin::ConfigMaps));
    }
    if let Some(projected) = &volume.projected {
        let mut all = Vec::new();
        let mut origin = Origin::ConfigMaps;
        for source in projected.sources.iter().flatten() {
            let (reference, items) = match (&source.secret, &source.config_map) {
                (Some(secret), _) => {
                    origin = Origin::Secrets;
                    (
                        Reference::new(SourceKind::Secret, &secret.name, secret.optional, sources),
                        secret.items.as_deref(),
                    )
                }
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
        return Ok((all, origin));
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
