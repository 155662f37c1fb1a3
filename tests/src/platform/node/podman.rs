//! Running one container with podman, its output captured into a log file.

use std::path::{Path, PathBuf};
use tokio::process::Command;

/// The label every container of an environment carries, so `down` finds them.
pub const ENV_LABEL: &str = "testenv.kratix.io/env";
/// The label naming the pod a container belongs to.
pub const POD_UID_LABEL: &str = "testenv.kratix.io/pod-uid";

/// Everything `podman run` needs for one container.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContainerRun {
    pub container_name: String,
    pub image: String,
    /// Kubernetes `command`: replaces the image's entrypoint.
    pub command: Option<Vec<String>>,
    /// Kubernetes `args`: replaces the image's CMD.
    pub args: Option<Vec<String>>,
    pub env: Vec<(String, String)>,
    /// (host path, container path, read-only)
    pub mounts: Vec<(PathBuf, String, bool)>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub labels: Vec<(String, String)>,
}

impl ContainerRun {
    /// The arguments of `podman run`.
    pub fn podman_args(&self) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "run".into(),
            "--rm".into(),
            "--pull=never".into(),
            "--network=host".into(),
            format!("--name={}", self.container_name),
        ];
        for (key, value) in &self.labels {
            args.push(format!("--label={key}={value}"));
        }
        if let Some(user) = &self.user {
            args.push(format!("--user={user}"));
        }
        if let Some(dir) = &self.working_dir {
            args.push(format!("--workdir={dir}"));
        }
        for (key, value) in &self.env {
            args.push(format!("--env={key}={value}"));
        }
        for (host, path, read_only) in &self.mounts {
            let mode = if *read_only { ":ro" } else { "" };
            args.push(format!("--volume={}:{path}{mode}", host.display()));
        }
        if let Some(command) = &self.command {
            args.push(format!(
                "--entrypoint={}",
                serde_json::to_string(command).unwrap_or_default()
            ));
        }
        args.push(self.image.clone());
        // With `command` and no `args`, podman drops the image's CMD, as Kubernetes does.
        if let Some(extra) = &self.args {
            args.extend(extra.iter().cloned());
        }
        args
    }
}

/// The podman command with the environment's containers.conf.
pub fn podman(containers_conf: &Path) -> Command {
    let mut command = Command::new("podman");
    command.env("CONTAINERS_CONF", containers_conf);
    command
}

/// Whether an image exists locally.
pub async fn image_exists(containers_conf: &Path, image: &str) -> bool {
    podman(containers_conf)
        .args(["image", "exists", image])
        .status()
        .await
        .is_ok_and(|s| s.success())
}

/// The image's configured user (`""` means root).
pub async fn image_user(containers_conf: &Path, image: &str) -> Option<String> {
    let output = podman(containers_conf)
        .args(["image", "inspect", "--format", "{{.Config.User}}", image])
        .output()
        .await
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Runs the container to completion, appending timestamped lines to `log`.
/// Returns the exit code.
pub async fn run(containers_conf: &Path, spec: &ContainerRun, log: &Path) -> std::io::Result<i32> {
    let mut command = podman(containers_conf);
    command.args(spec.podman_args());
    super::logged::run(command, log).await
}

/// Stops a running container: SIGTERM, then SIGKILL after `grace` seconds.
pub async fn stop(containers_conf: &Path, container_name: &str, grace: u32) {
    let result = podman(containers_conf)
        .args(["stop", "--ignore", "-t", &grace.to_string(), container_name])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await;
    if let Err(error) = result {
        tracing::warn!(container = %container_name, %error, "podman stop failed");
    }
}

/// Removes every container carrying `label` (`key=value`). Blocking: `down`
/// calls it directly, the kubelet from a blocking task.
/// `grace` is how long a container may take to end after SIGTERM before SIGKILL.
pub fn remove_labelled(containers_conf: Option<&Path>, label: &str, grace: u32) {
    let podman = || {
        let mut command = std::process::Command::new("podman");
        if let Some(conf) = containers_conf {
            command.env("CONTAINERS_CONF", conf);
        }
        command
    };
    let Ok(output) = podman()
        .args(["ps", "-aq", "--filter", &format!("label={label}")])
        .output()
    else {
        return;
    };
    let ids: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    if !ids.is_empty() {
        let _ = podman()
            .args(["rm", "-f", "-t", &grace.to_string()])
            .args(&ids)
            .output();
    }
}

/// Removes this environment's containers whose pod is not in `live` (pod
/// uids). A container can outlive its pod when the pod is deleted while the
/// container is starting: killing `podman run` then does not stop it, and the
/// removal at deletion can run before podman lists it. This sweep catches those.
pub async fn remove_orphaned_containers(containers_conf: &Path, env_name: &str, live: Vec<String>) {
    let conf = containers_conf.to_owned();
    let env_label = format!("{ENV_LABEL}={env_name}");
    let _ = tokio::task::spawn_blocking(move || {
        let Ok(output) = std::process::Command::new("podman")
            .env("CONTAINERS_CONF", &conf)
            .args(["ps", "-a", "--filter", &format!("label={env_label}")])
            .args([
                "--format",
                &format!("{{{{.ID}}}} {{{{index .Labels \"{POD_UID_LABEL}\"}}}}"),
            ])
            .output()
        else {
            return;
        };
        let orphans: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| line.split_once(' '))
            .filter(|(_, uid)| !live.iter().any(|l| l == uid))
            .map(|(id, _)| id.to_owned())
            .collect();
        if !orphans.is_empty() {
            tracing::info!(count = orphans.len(), "removing containers of deleted pods");
            let _ = std::process::Command::new("podman")
                .env("CONTAINERS_CONF", &conf)
                .args(["rm", "-f", "-t", "0"])
                .args(&orphans)
                .output();
        }
    })
    .await;
}

/// How long a deleted pod's containers get to stop (Kubernetes gives 30 s;
/// the agent hands its Lease over in well under this).
const POD_STOP_GRACE: u32 = 2;

/// Removes every container of a pod (used when a pod is deleted mid-run).
pub async fn remove_pod_containers(containers_conf: &Path, pod_uid: &str) {
    let conf = containers_conf.to_owned();
    let label = format!("{POD_UID_LABEL}={pod_uid}");
    let _ = tokio::task::spawn_blocking(move || remove_labelled(Some(&conf), &label, POD_STOP_GRACE)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_and_args_map_to_entrypoint_and_cmd() {
        let run = ContainerRun {
            container_name: "c".into(),
            image: "localhost/img:1".into(),
            command: Some(vec!["/bin/sh".into(), "-c".into()]),
            args: Some(vec!["echo hi".into()]),
            env: vec![("A".into(), "1 2".into())],
            mounts: vec![(PathBuf::from("/host/in"), "/kratix/input".into(), true)],
            user: Some("1000:1000".into()),
            working_dir: None,
            labels: vec![(ENV_LABEL.into(), "dev".into())],
        };
        assert_eq!(
            run.podman_args(),
            [
                "run",
                "--rm",
                "--pull=never",
                "--network=host",
                "--name=c",
                "--label=testenv.kratix.io/env=dev",
                "--user=1000:1000",
                "--env=A=1 2",
                "--volume=/host/in:/kratix/input:ro",
                "--entrypoint=[\"/bin/sh\",\"-c\"]",
                "localhost/img:1",
                "echo hi"
            ]
        );
    }

    #[test]
    fn args_alone_keep_the_image_entrypoint() {
        let run = ContainerRun {
            container_name: "c".into(),
            image: "i".into(),
            args: Some(vec!["reader".into()]),
            ..Default::default()
        };
        assert_eq!(
            run.podman_args()[4..],
            ["--name=c".to_owned(), "i".to_owned(), "reader".to_owned()]
        );
    }
}
