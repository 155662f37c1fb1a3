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

/// The mount-namespace script: bind every mount, then drop to the user and exec.
const SCRIPT: &str = r#"set -e
while [ "$1" != "--" ]; do
  host=$1; target=$2; mode=$3; shift 3
  mkdir -p "$target"
  mount --bind "$host" "$target"
  if [ "$mode" = ro ]; then mount -o remount,bind,ro "$target"; fi
done
shift
exec setpriv --reuid="$USER_ID" --regid="$GROUP_ID" --clear-groups -- "$@"
"#;

/// The host command for a container: `binary` with the container's command
/// (after its first word, the path inside the image) and args.
pub fn command(spec: &ContainerRun, binary: &Path) -> Command {
    let (uid, gid) = match spec.user.as_deref().map(|u| u.split_once(':').unwrap_or((u, u))) {
        Some((uid, gid)) => (uid.to_owned(), gid.to_owned()),
        None => ("65534".to_owned(), "65534".to_owned()),
    };
    let mut argv: Vec<String> = Vec::new();
    for (host, target, read_only) in &spec.mounts {
        argv.push(host.display().to_string());
        argv.push(target.clone());
        argv.push(if *read_only { "ro" } else { "rw" }.to_owned());
    }
    argv.push("--".to_owned());
    argv.push(binary.display().to_string());
    argv.extend(spec.command.iter().flatten().skip(1).cloned());
    argv.extend(spec.args.iter().flatten().cloned());
    let mut command = Command::new("unshare");
    command
        .args([
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            SCRIPT,
            "testenv-instant",
        ])
        .args(argv)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .env("HOME", "/tmp")
        .env("USER_ID", uid)
        .env("GROUP_ID", gid)
        .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if let Some(dir) = &spec.working_dir {
        command.current_dir(dir);
    }
    command
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
        let args: Vec<String> = std.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        let tail: Vec<&str> = args.iter().skip(8).map(String::as_str).collect();
        assert_eq!(
            tail,
            [
                "/state/pods/x/volumes/shared-input",
                "/kratix/input",
                "ro",
                "--",
                "/opt/kratix-agent",
                "reader"
            ]
        );
        let env: Vec<(String, String)> = std
            .get_envs()
            .filter_map(|(k, v)| {
                Some((
                    k.to_string_lossy().into_owned(),
                    v?.to_string_lossy().into_owned(),
                ))
            })
            .collect();
        assert!(env.contains(&("USER_ID".to_owned(), "65534".to_owned())));
        assert!(env.contains(&("KRATIX_PIPELINE_NAME".to_owned(), "p".to_owned())));
    }
}
