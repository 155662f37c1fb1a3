//! Instant mode: containers of the agent's image run as host processes, in a
//! private mount namespace where their volumes are bind-mounted at the paths
//! the pod spec names; every other container counts as succeeded at once.

use std::path::{Path, PathBuf};

use tokio::process::Command;

use super::podman::ContainerRun;

/// Which images run as which host binaries (an image matches a prefix).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HostImages(pub Vec<(String, PathBuf)>);

impl HostImages {
    /// The host binary for `image`, when it is one of the mapped images.
    pub fn binary_for(&self, image: &str) -> Option<&Path> {
        self.0
            .iter()
            .find(|(prefix, _)| image.starts_with(prefix.as_str()))
            .map(|(_, binary)| binary.as_path())
    }

    /// Parses `IMAGE=BINARY` (the image may end in `*` to match any tag).
    pub fn parse_entry(entry: &str) -> Result<(String, PathBuf), String> {
        let (image, binary) = entry
            .split_once('=')
            .ok_or_else(|| format!("{entry:?}: expected IMAGE=BINARY"))?;
        if image.is_empty() || binary.is_empty() {
            return Err(format!("{entry:?}: expected IMAGE=BINARY"));
        }
        Ok((image.trim_end_matches('*').to_owned(), PathBuf::from(binary)))
    }
}

/// The host command for a container: `testenv host-exec` (this very binary,
/// through `/proc/self/exe`, so a rebuilt testenv does not matter) binds the
/// container's mounts in a private mount namespace, drops to the container's user
/// and execs `binary` with the container's command (after its first word, the path
/// inside the image) and args. One process per container: a shell script doing the
/// same costs five more (sh, mkdir, mount, mount, setpriv), which at benchmark
/// scale is a tenth of the machine.
pub fn command(spec: &ContainerRun, binary: &Path) -> Command {
    let user = match spec.user.as_deref().map(|u| u.split_once(':').unwrap_or((u, u))) {
        Some((uid, gid)) => format!("{uid}:{gid}"),
        None => "65534:65534".to_owned(),
    };
    let mut command = Command::new("/proc/self/exe");
    command.args(["host-exec", "--user", &user]);
    for (host, target, read_only) in &spec.mounts {
        command
            .arg("--bind")
            .arg(host)
            .arg(target)
            .arg(if *read_only { "ro" } else { "rw" });
    }
    command
        .arg("--")
        .arg(binary)
        .args(spec.command.iter().flatten().skip(1))
        .args(spec.args.iter().flatten())
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .env("HOME", "/tmp")
        .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if let Some(dir) = &spec.working_dir {
        command.current_dir(dir);
    }
    command
}

/// One `--bind HOST TARGET ro|rw` of `testenv host-exec`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    pub host: PathBuf,
    pub target: PathBuf,
    pub read_only: bool,
}

impl Bind {
    /// From the flat `HOST TARGET MODE ...` list clap collects.
    pub fn parse_all(words: &[String]) -> Result<Vec<Bind>, String> {
        words
            .chunks(3)
            .map(|chunk| match chunk {
                [host, target, mode] if mode == "ro" || mode == "rw" => Ok(Bind {
                    host: PathBuf::from(host),
                    target: PathBuf::from(target),
                    read_only: mode == "ro",
                }),
                other => Err(format!("--bind {other:?}: expected HOST TARGET ro|rw")),
            })
            .collect()
    }
}

/// `testenv host-exec`: called in a fresh single-threaded process (mount
/// namespaces cannot be entered by a multi-threaded one). Returns only on failure,
/// with what failed.
pub fn exec_with_binds(binds: &[Bind], user: &str, argv: &[String]) -> String {
    use nix::mount::{MsFlags, mount};
    use nix::sched::{CloneFlags, unshare};
    use nix::unistd::{Gid, Uid, setgid, setgroups, setuid};
    use std::os::unix::process::CommandExt as _;

    let Some((uid, gid)) = user
        .split_once(':')
        .and_then(|(u, g)| Some((u.parse::<u32>().ok()?, g.parse::<u32>().ok()?)))
    else {
        return format!("--user {user:?}: expected UID:GID");
    };
    let Some((program, args)) = argv.split_first() else {
        return "nothing to run: give the binary after --".to_owned();
    };
    if let Err(error) = unshare(CloneFlags::CLONE_NEWNS) {
        return format!("entering a mount namespace: {error}");
    }
    // Nothing mounted here may leak back to the host.
    if let Err(error) = mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    ) {
        return format!("making mounts private: {error}");
    }
    for bind in binds {
        if let Err(error) = std::fs::create_dir_all(&bind.target) {
            return format!("creating {}: {error}", bind.target.display());
        }
        if let Err(error) = mount(
            Some(&bind.host),
            &bind.target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        ) {
            return format!(
                "binding {} at {}: {error}",
                bind.host.display(),
                bind.target.display()
            );
        }
        if bind.read_only
            && let Err(error) = mount(
                None::<&str>,
                &bind.target,
                None::<&str>,
                MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY,
                None::<&str>,
            )
        {
            return format!("making {} read-only: {error}", bind.target.display());
        }
    }
    if let Err(error) = setgroups(&[]) {
        return format!("clearing supplementary groups: {error}");
    }
    if let Err(error) = setgid(Gid::from_raw(gid)) {
        return format!("switching to group {gid}: {error}");
    }
    if let Err(error) = setuid(Uid::from_raw(uid)) {
        return format!("switching to user {uid}: {error}");
    }
    let error = std::process::Command::new(program).args(args).exec();
    format!("running {program}: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_map_by_prefix() {
        let images = HostImages(vec![
            HostImages::parse_entry("localhost/kratix-agent:*=/opt/kratix-agent").expect("entry"),
        ]);
        assert_eq!(
            images.binary_for("localhost/kratix-agent:v0.1.0"),
            Some(Path::new("/opt/kratix-agent"))
        );
        assert_eq!(images.binary_for("ghcr.io/x/y:1"), None);
        assert!(HostImages::parse_entry("no-binary").is_err());
    }

    #[test]
    fn the_command_binds_mounts_and_runs_the_binary_with_the_container_arguments() {
        let spec = ContainerRun {
            command: Some(vec!["/bin/kratix-agent".into()]),
            args: Some(vec!["reader".into()]),
            mounts: vec![(
                PathBuf::from("/state/pods/x/volumes/shared-input"),
                "/kratix/input".into(),
                true,
            )],
            env: vec![("KRATIX_PIPELINE_NAME".into(), "p".into())],
            ..Default::default()
        };
        let command = command(&spec, Path::new("/opt/kratix-agent"));
        let std = command.as_std();
        assert_eq!(std.get_program(), "/proc/self/exe");
        let args: Vec<String> = std.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(
            args,
            [
                "host-exec",
                "--user",
                "65534:65534",
                "--bind",
                "/state/pods/x/volumes/shared-input",
                "/kratix/input",
                "ro",
                "--",
                "/opt/kratix-agent",
                "reader"
            ]
        );
        assert_eq!(
            Bind::parse_all(&args[4..7]),
            Ok(vec![Bind {
                host: PathBuf::from("/state/pods/x/volumes/shared-input"),
                target: PathBuf::from("/kratix/input"),
                read_only: true
            }])
        );
        assert!(Bind::parse_all(&["a".into(), "b".into(), "rx".into()]).is_err());
        assert!(Bind::parse_all(&["a".into(), "b".into()]).is_err());
        let env: Vec<(String, String)> = std
            .get_envs()
            .filter_map(|(k, v)| {
                Some((
                    k.to_string_lossy().into_owned(),
                    v?.to_string_lossy().into_owned(),
                ))
            })
            .collect();
        assert!(env.contains(&("KRATIX_PIPELINE_NAME".to_owned(), "p".to_owned())));
    }
}
