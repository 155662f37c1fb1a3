//! The run's folders on the host: the run's directory (private to the user,
//! cleared for each run), each pipeline's folders with the files its pod
//! starts with, each container's `subPath`s made ready just before it
//! starts, and a pipeline's Secret files removed once it ends.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use kratix_shared::api::naming::random_suffix;
use kratix_shared::local_run::container_plan::{ContainerPlan, PipelineDirs, PipelinePlan};
use kratix_shared::local_run::engine_command::Engine;
use kratix_shared::pipeline_pod::pod_files;
use kratix_shared::render::{DESTINATION_SELECTORS_KEY, PipelineResources};
use serde_json::Value;

/// The file that marks a directory as a run's: only such a directory (or an
/// empty one) is cleared for a new run.
const MARKER: &str = ".kubectl-kratix-run";

/// What a folder that could not be removed is renamed to, in the run's directory.
const STALE: &str = ".stale-";

/// `--output-dir`, made ready (an empty directory, or one a run made before);
/// without it a new directory under the system's temporary one. Only the user
/// may enter it: it holds the Secret files a pipeline is given.
pub fn run_root(wanted: Option<&Path>) -> Result<PathBuf> {
    let dir = match wanted {
        Some(dir) => dir.to_owned(),
        None => loop {
            let dir = std::env::temp_dir().join(format!("kratix-run-{}", random_suffix()));
            match private_dir(&dir) {
                Ok(()) => break dir,
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(error) => return Err(error).with_context(|| format!("creating {}", dir.display())),
            }
        },
    };
    if dir.exists() {
        let empty = std::fs::read_dir(&dir)
            .with_context(|| format!("--output-dir {}: cannot read", dir.display()))?
            .next()
            .is_none();
        if !empty && !dir.join(MARKER).exists() {
            bail!(
                "--output-dir {}: is not empty and holds no earlier run; choose an empty or new directory (its contents are replaced)",
                dir.display()
            );
        }
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    set_mode(&dir, 0o700)?;
    std::fs::write(
        dir.join(MARKER),
        "kubectl kratix promise run keeps its pipelines' folders here\n",
    )
    .with_context(|| format!("writing {}", dir.join(MARKER).display()))?;
    // An engine takes a relative host path for a named volume: mounts need it absolute.
    std::fs::canonicalize(&dir).with_context(|| format!("resolving {}", dir.display()))
}

#[cfg(unix)]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new().mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir(dir)
}

/// Empties the run's directory for a new run, all but its marker. A folder a
/// container filled as another user (root in a docker container, a mapped
/// user under rootless podman) may not be removable by this user: podman's
/// is removed through `podman unshare`; any other is moved aside, with a
/// warning, so the run goes on in fresh folders.
pub fn clear_run(root: &Path, engine: Engine, program: &Path) -> Result<()> {
    let stuck = clear_entries(root, |path| remove_tree(path, engine, program))?;
    if !stuck.is_empty() {
        eprintln!(
            "warning: a container wrote files as another user that this user cannot remove; moved aside: {}; remove them as that user (sudo rm -rf PATH, or podman unshare rm -rf PATH under rootless podman)",
            stuck
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

/// Removes every entry of `root` but the marker with `remove`; those it cannot
/// are renamed aside (a rename needs only `root`, which is the user's). The
/// folders left aside are returned.
fn clear_entries(root: &Path, remove: impl Fn(&Path) -> std::io::Result<()>) -> Result<Vec<PathBuf>> {
    let mut stuck = Vec::new();
    let entries = std::fs::read_dir(root).with_context(|| format!("reading {}", root.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", root.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name == MARKER || remove(&path).is_ok() {
            continue;
        }
        if name.starts_with(STALE) {
            stuck.push(path);
            continue;
        }
        let aside = root.join(format!("{STALE}{name}-{}", random_suffix()));
        std::fs::rename(&path, &aside).with_context(|| {
            format!(
                "{} cannot be removed or moved aside (a container wrote it as another user): remove it as that user, then run again",
                path.display()
            )
        })?;
        stuck.push(aside);
    }
    Ok(stuck)
}

fn remove_tree(path: &Path, engine: Engine, program: &Path) -> std::io::Result<()> {
    let removed = if std::fs::symlink_metadata(path)?.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    if removed.is_ok() || engine != Engine::Podman {
        return removed;
    }
    // Rootless podman maps a container's users to this user's subordinate
    // ids; inside its user namespace this user may remove their files.
    let unshared = Command::new(program)
        .args(["unshare", "rm", "-rf", "--"])
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match unshared {
        Ok(status) if status.success() && !path.exists() => Ok(()),
        _ => removed,
    }
}

/// One pipeline's folders: the object it reads, the files its volumes start
/// with, and the Promise's destination selectors for the work-writer.
pub fn prepare_pipeline(
    dir: &Path,
    dirs: &PipelineDirs,
    plan: &PipelinePlan,
    resources: &PipelineResources,
    object: &Value,
) -> Result<()> {
    for folder in [&dirs.input, &dirs.output, &dirs.metadata, &dirs.volumes] {
        create_dir(folder)?;
    }
    let yaml = serde_saphyr::to_string(object).context("encoding the object as YAML")?;
    write_file(&dirs.input.join(pod_files::OBJECT_FILE), yaml.as_bytes(), None)?;
    for volume in &plan.volumes {
        create_dir(&volume.dir)?;
        for file in &volume.files {
            write_file(&volume.dir.join(&file.path), &file.content, Some(file.mode))?;
        }
    }
    let selectors = resources
        .config_map
        .as_ref()
        .and_then(|c| c.data.as_ref())
        .and_then(|d| d.get(DESTINATION_SELECTORS_KEY));
    if let Some(selectors) = selectors {
        write_file(&promise_scheduling(dir), selectors.as_bytes(), None)?;
    }
    Ok(())
}

/// Where the work-writer finds the Promise's destination selectors.
pub fn promise_scheduling(dir: &Path) -> PathBuf {
    dir.join("kratix-system").join("promise-scheduling")
}

/// The folders of the pipeline's volumes that hold Secret files.
pub fn secret_folders(plan: &PipelinePlan) -> Vec<PathBuf> {
    plan.volumes
        .iter()
        .filter(|v| v.holds_secrets)
        .map(|v| v.dir.clone())
        .collect()
}

/// Removes the pipeline's Secret files once it has ended: they are the user's
/// credentials, and the run's folders are kept for inspection.
pub fn drop_secrets(plan: &PipelinePlan) {
    for volume in plan.volumes.iter().filter(|v| v.holds_secrets) {
        if let Err(error) = std::fs::remove_dir_all(&volume.dir)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            eprintln!(
                "warning: could not remove the Secret files in {}: {error}; remove them yourself",
                volume.dir.display()
            );
        }
    }
}

/// The container's mounts as they are when it starts: each `subPath` followed
/// through whatever earlier containers left in its volume (created when
/// missing, as the kubelet does) and refused when a link leads out of the
/// volume. The engine is given the resolved folder, with no link left in it.
pub fn ready_mounts(container: &ContainerPlan) -> Result<ContainerPlan, String> {
    let mut ready = container.clone();
    for mount in &mut ready.mounts {
        if let Some(volume) = &mount.sub_path_of {
            mount.host = resolve_sub_path(volume, &mount.host)
                .map_err(|why| format!("volumeMounts at {}: {why}", mount.container))?;
            // The engine's --volume separator, in a folder an earlier container named.
            if mount.host.to_string_lossy().contains(':') {
                return Err(format!(
                    "volumeMounts at {}: the subPath resolves to {}, which holds ':': refused",
                    mount.container,
                    mount.host.display()
                ));
            }
        }
    }
    Ok(ready)
}

fn resolve_sub_path(volume: &Path, host: &Path) -> Result<PathBuf, String> {
    let relative = host
        .strip_prefix(volume)
        .map_err(|_| format!("{} is not inside {}", host.display(), volume.display()))?;
    let root = std::fs::canonicalize(volume).map_err(|e| format!("{}: {e}", volume.display()))?;
    let mut at = root.clone();
    for component in relative.components() {
        at.push(component);
        match std::fs::symlink_metadata(&at) {
            Ok(metadata) if metadata.is_symlink() => {
                let target = std::fs::canonicalize(&at).map_err(|_| {
                    format!(
                        "subPath {}: {} is a link to nothing",
                        relative.display(),
                        at.display()
                    )
                })?;
                if !target.starts_with(&root) {
                    return Err(format!(
                        "subPath {} passes through a link an earlier container left ({} → {}), out of its volume: refused",
                        relative.display(),
                        at.display(),
                        target.display()
                    ));
                }
                at = target;
            }
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                create_dir(&at).map_err(|e| format!("subPath {}: {e:#}", relative.display()))?;
            }
            Err(error) => {
                return Err(format!(
                    "subPath {}: {}: {error}",
                    relative.display(),
                    at.display()
                ));
            }
        }
    }
    Ok(at)
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // Pipeline images run as any user: their folders are theirs to write
    // (the run's directory above them is the user's alone).
    set_mode(dir, 0o777)
}

fn write_file(path: &Path, content: &[u8], mode: Option<u32>) -> Result<()> {
    if let Some(parent) = path.parent() {
        create_dir(parent)?;
    }
    std::fs::write(path, content).with_context(|| format!("writing {}", path.display()))?;
    set_mode(path, mode.unwrap_or(0o644))
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", path.display()))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kratix_shared::local_run::pod_volumes::Mount;

    #[test]
    fn an_output_dir_is_only_cleared_when_it_is_a_runs() {
        let root = tempfile::tempdir().expect("tempdir");
        let precious = root.path().join("home");
        std::fs::create_dir_all(&precious).expect("mkdir");
        std::fs::write(precious.join("notes.txt"), "keep me").expect("write");
        let error = run_root(Some(&precious)).unwrap_err().to_string();
        assert!(error.contains("is not empty and holds no earlier run"), "{error}");
        assert!(precious.join("notes.txt").exists());

        let runs = root.path().join("runs");
        run_root(Some(&runs)).expect("a new directory");
        std::fs::create_dir_all(runs.join("1-first/output")).expect("mkdir");
        run_root(Some(&runs)).expect("an earlier run's directory");
        clear_entries(&runs, |p| std::fs::remove_dir_all(p)).expect("cleared");
        assert!(!runs.join("1-first").exists(), "cleared for the new run");
        assert!(runs.join(MARKER).exists());
    }

    #[cfg(unix)]
    #[test]
    fn only_the_user_may_enter_the_runs_directory() {
        use std::os::unix::fs::PermissionsExt as _;
        let temp = tempfile::tempdir().expect("tempdir");
        let given = temp.path().join("out");
        let made = run_root(Some(&given)).expect("made");
        let mode = std::fs::metadata(&made).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let fresh = run_root(None).expect("made under the temporary directory");
        let mode = std::fs::metadata(&fresh).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::remove_dir_all(fresh).expect("remove");
    }

    #[test]
    fn a_folder_that_cannot_be_removed_is_moved_aside_and_the_run_goes_on() {
        let temp = tempfile::tempdir().expect("tempdir");
        let root = run_root(Some(&temp.path().join("out"))).expect("made");
        std::fs::create_dir_all(root.join("1-first/output/owned-by-root")).expect("mkdir");
        std::fs::create_dir_all(root.join("2-second")).expect("mkdir");
        // As if a container had written 1-first as another user.
        let stuck = clear_entries(&root, |p| {
            if p.ends_with("1-first") {
                Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied))
            } else {
                std::fs::remove_dir_all(p)
            }
        })
        .expect("the run goes on");
        assert_eq!(stuck.len(), 1);
        let name = stuck[0].file_name().expect("name").to_string_lossy().into_owned();
        assert!(name.starts_with(".stale-1-first-"), "{name}");
        assert!(stuck[0].join("output/owned-by-root").exists(), "nothing lost");
        assert!(!root.join("1-first").exists() && !root.join("2-second").exists());

        // Next time it is tried again, and left where it is if it still fails.
        let again = clear_entries(&root, |_| {
            Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied))
        })
        .expect("the run goes on");
        assert_eq!(again, stuck);
        clear_entries(&root, |p| std::fs::remove_dir_all(p)).expect("cleared");
        assert!(!stuck[0].exists());
    }

    fn container_with(mount: Mount) -> ContainerPlan {
        ContainerPlan {
            pipeline: "p".into(),
            name: "second".into(),
            image: "example/x:v1".into(),
            command: None,
            args: None,
            env: Vec::new(),
            mounts: vec![mount],
            working_dir: None,
            security: Default::default(),
            pull: kratix_shared::local_run::container_plan::PullPolicy::Never,
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_sub_path_is_followed_when_the_container_starts_and_kept_inside_its_volume() {
        let temp = tempfile::tempdir().expect("tempdir");
        let volume = temp.path().join("volumes/scratch");
        std::fs::create_dir_all(&volume).expect("mkdir");
        let mount = |sub: &str| Mount {
            host: volume.join(sub),
            container: "/data".into(),
            read_only: false,
            sub_path_of: Some(volume.clone()),
        };
        // Missing: made, as the kubelet makes it.
        let ready = ready_mounts(&container_with(mount("a/b"))).expect("ready");
        assert!(volume.join("a/b").is_dir());
        assert_eq!(
            ready.mounts[0].host,
            volume.canonicalize().expect("canonical").join("a/b")
        );

        // An earlier container planted a link to the host's root.
        std::os::unix::fs::symlink("/", volume.join("escape")).expect("symlink");
        let error = ready_mounts(&container_with(mount("escape/etc"))).unwrap_err();
        assert!(
            error.contains("volumeMounts at /data") && error.contains("out of its volume"),
            "{error}"
        );

        // A link that stays inside is followed, and the engine gets no link.
        std::os::unix::fs::symlink(volume.join("a"), volume.join("alias")).expect("symlink");
        let ready = ready_mounts(&container_with(mount("alias/b"))).expect("inside");
        assert_eq!(
            ready.mounts[0].host,
            volume.canonicalize().expect("canonical").join("a/b")
        );
    }
}
