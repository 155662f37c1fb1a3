//! The kubelet: runs a pod's init containers one after another, then its main
//! containers, with podman; keeps the Pod's status true as it goes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, HostIP, Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use tokio::sync::{Mutex, watch};

use super::NodeContext;
use super::pod_env::{self, ConfigError};
use super::pod_status::PodStatusWriter;
use super::podman::{self, ContainerRun, ENV_LABEL, POD_UID_LABEL};
use super::volumes::VolumeMaker;

const RETRY: Duration = Duration::from_secs(2);
/// Restart back-off: Kubernetes starts at 10 s; tests cannot wait that long.
const RESTART_BACKOFF: Duration = Duration::from_millis(500);
const RESTART_BACKOFF_MAX: Duration = Duration::from_secs(5);

fn now() -> Time {
    Time(Timestamp::now())
}

/// The folder of a pod's volumes and logs.
pub fn pod_dir(pods_dir: &Path, namespace: &str, name: &str, uid: &str) -> PathBuf {
    pods_dir.join(namespace).join(format!("{name}-{uid}"))
}

/// `logs/<container>/<restart>.log` inside a pod folder; `.done` marks the end.
pub fn log_file(pod_dir: &Path, container: &str, restart: i32) -> PathBuf {
    pod_dir
        .join("logs")
        .join(container)
        .join(format!("{restart}.log"))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Init,
    Main,
}

enum Outcome {
    Exited(i32),
}

struct PodRun {
    ctx: Arc<NodeContext>,
    pod: Pod,
    dir: PathBuf,
    status: Arc<PodStatusWriter>,
    volumes: Mutex<Vec<(String, PathBuf)>>,
    /// Turns true when the pod is being deleted: containers get SIGTERM and
    /// the pod's grace period, and nothing restarts or starts any more.
    terminating: watch::Receiver<bool>,
}

fn waiting(reason: &str, message: Option<String>) -> ContainerState {
    ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.to_owned()),
            message,
        }),
        ..ContainerState::default()
    }
}

fn pod_condition(type_: &str, ok: bool, reason: Option<&str>) -> PodCondition {
    PodCondition {
        type_: type_.to_owned(),
        status: if ok { "True" } else { "False" }.to_owned(),
        reason: reason.map(str::to_owned),
        last_transition_time: Some(now()),
        ..PodCondition::default()
    }
}

/// podman's `--user` for the security context: `uid[:gid]`, or none.
fn podman_user(run_as_user: Option<i64>, run_as_group: Option<i64>) -> Option<String> {
    match (run_as_user, run_as_group) {
        (Some(uid), Some(gid)) => Some(format!("{uid}:{gid}")),
        (Some(uid), None) => Some(uid.to_string()),
        // podman needs a user to set a group; the image's user stays.
        (None, _) => None,
    }
}

/// Runs `pod` to the end, or until `terminating` turns true and its containers
/// have stopped.
pub async fn run_pod(ctx: Arc<NodeContext>, pod: Pod, terminating: watch::Receiver<bool>) {
    let namespace = pod
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    let name = pod.metadata.name.clone().unwrap_or_default();
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let dir = pod_dir(&ctx.pods_dir, &namespace, &name, &uid);
    let spec = pod.spec.clone().unwrap_or_default();
    let container_status = |c: &Container, reason: &str| ContainerStatus {
        name: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        state: Some(waiting(reason, None)),
        ..ContainerStatus::default()
    };
    let init: Vec<ContainerStatus> = spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| container_status(c, "PodInitializing"))
        .collect();
    let main: Vec<ContainerStatus> = spec
        .containers
        .iter()
        .map(|c| container_status(c, "PodInitializing"))
        .collect();
    // What the API server set (the QoS class among it) stays.
    let status = PodStatus {
        phase: Some("Pending".to_owned()),
        host_ip: Some("127.0.0.1".to_owned()),
        host_ips: Some(vec![HostIP {
            ip: "127.0.0.1".to_owned(),
        }]),
        pod_ip: Some("127.0.0.1".to_owned()),
        pod_ips: Some(vec![PodIP {
            ip: "127.0.0.1".to_owned(),
        }]),
        start_time: Some(now()),
        qos_class: pod.status.as_ref().and_then(|s| s.qos_class.clone()),
        conditions: Some(vec![
            pod_condition("PodScheduled", true, None),
            pod_condition("Initialized", init.is_empty(), None),
            pod_condition("ContainersReady", false, Some("ContainersNotReady")),
            pod_condition("Ready", false, Some("ContainersNotReady")),
        ]),
        init_container_statuses: (!init.is_empty()).then_some(init),
        container_statuses: Some(main),
        ..PodStatus::default()
    };
    let writer = PodStatusWriter::new(
        Api::namespaced(ctx.client.clone(), &namespace),
        &namespace,
        &name,
        status,
    );
    let run = Arc::new(PodRun {
        ctx,
        pod,
        dir,
        status: writer.clone(),
        volumes: Mutex::new(Vec::new()),
        terminating,
    });
    // Dropped (and so stopped) with this task, when the pod is deleted too.
    let mut writing = tokio::task::JoinSet::new();
    writing.spawn(writer.clone().run());
    run.clone().execute().await;
    writing.abort_all();
    writer.flush().await;
}

impl PodRun {
    fn restart_policy(&self) -> String {
        self.pod
            .spec
            .as_ref()
            .and_then(|s| s.restart_policy.clone())
            .unwrap_or_else(|| "Always".to_owned())
    }

    async fn update(&self, change: impl FnOnce(&mut PodStatus)) {
        self.status.update(change).await;
    }

    async fn set_container(&self, kind: Kind, index: usize, change: impl FnOnce(&mut ContainerStatus)) {
        self.update(|status| {
            let list = match kind {
                Kind::Init => status.init_container_statuses.as_mut(),
                Kind::Main => status.container_statuses.as_mut(),
            };
            if let Some(entry) = list.and_then(|l| l.get_mut(index)) {
                change(entry);
            }
        })
        .await;
    }

    async fn set_conditions(&self, initialized: bool, ready: bool) {
        self.update(|status| {
            for condition in status.conditions.iter_mut().flatten() {
                let value = match condition.type_.as_str() {
                    "Initialized" => initialized,
                    "ContainersReady" | "Ready" => ready,
                    _ => continue,
                };
                let text = if value { "True" } else { "False" };
                if condition.status != text {
                    condition.status = text.to_owned();
                    condition.reason =
                        (!value && condition.type_ != "Initialized").then(|| "ContainersNotReady".to_owned());
                    condition.last_transition_time = Some(now());
                }
            }
        })
        .await;
    }

    fn is_terminating(&self) -> bool {
        *self.terminating.borrow()
    }

    /// Resolves when the pod starts terminating.
    async fn terminated(&self) {
        let mut terminating = self.terminating.clone();
        let _ = terminating.wait_for(|t| *t).await;
    }

    /// Waits `RETRY`, or less when the pod starts terminating.
    async fn pause(&self) {
        tokio::select! {
            () = tokio::time::sleep(RETRY) => {}
            () = self.terminated() => {}
        }
    }

    /// The pod's volumes; retried until they can be made.
    async fn prepare(&self) -> Result<(), ConfigError> {
        let volumes = VolumeMaker {
            client: &self.ctx.client,
            pod: &self.pod,
            pod_dir: &self.dir,
        }
        .make_all()
        .await?;
        *self.volumes.lock().await = volumes;
        Ok(())
    }

    async fn execute(self: Arc<Self>) {
        loop {
            match self.prepare().await {
                Ok(()) => break,
                Err(ConfigError(message)) => {
                    self.update(|status| {
                        for entry in status
                            .init_container_statuses
                            .iter_mut()
                            .flatten()
                            .chain(status.container_statuses.iter_mut().flatten())
                        {
                            entry.state = Some(waiting("CreateContainerConfigError", Some(message.clone())));
                        }
                    })
                    .await;
                    if self.is_terminating() {
                        self.finish("Failed").await;
                        return;
                    }
                    self.pause().await;
                }
            }
        }
        let spec = self.pod.spec.clone().unwrap_or_default();
        for (index, container) in spec.init_containers.iter().flatten().enumerate() {
            if self.is_terminating() || !self.run_with_restarts(Kind::Init, index, container).await {
                self.finish("Failed").await;
                return;
            }
        }
        self.set_conditions(true, false).await;
        self.update(|status| status.phase = Some("Running".to_owned()))
            .await;
        // A JoinSet, not detached tasks: when the pod's task is aborted (the
        // pod was deleted), its containers' restart loops end with it.
        let mut containers = tokio::task::JoinSet::new();
        for (index, container) in spec.containers.iter().enumerate() {
            let run = self.clone();
            let container = container.clone();
            containers.spawn(async move { run.run_with_restarts(Kind::Main, index, &container).await });
        }
        let mut all_succeeded = true;
        while let Some(result) = containers.join_next().await {
            all_succeeded &= result.unwrap_or(false);
        }
        self.finish(if all_succeeded { "Succeeded" } else { "Failed" })
            .await;
    }

    async fn finish(&self, phase: &str) {
        self.set_conditions(true, false).await;
        self.update(|status| status.phase = Some(phase.to_owned())).await;
    }

    /// Runs a container, restarting it as the pod's restart policy says.
    /// Returns whether it ended successfully.
    async fn run_with_restarts(&self, kind: Kind, index: usize, container: &Container) -> bool {
        let policy = self.restart_policy();
        let mut restarts = 0;
        let mut backoff = RESTART_BACKOFF;
        loop {
            let Outcome::Exited(code) = self.run_container(kind, index, container, restarts).await;
            if self.is_terminating() {
                return code == 0;
            }
            let restart = match policy.as_str() {
                "Never" => false,
                "OnFailure" => code != 0,
                // Init containers always finish; main containers under Always restart.
                _ => kind == Kind::Main || code != 0,
            };
            if !restart {
                return code == 0;
            }
            restarts += 1;
            let (finished_state, restart_count) = (self.terminated_state(kind, index).await, restarts);
            self.set_container(kind, index, |entry| {
                entry.restart_count = restart_count;
                entry.last_state = finished_state;
                entry.state = Some(waiting(
                    "CrashLoopBackOff",
                    Some(format!("back-off restarting failed container {}", entry.name)),
                ));
                entry.ready = false;
            })
            .await;
            if kind == Kind::Main {
                self.set_conditions(true, false).await;
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = self.terminated() => return false,
            }
            backoff = (backoff * 2).min(RESTART_BACKOFF_MAX);
        }
    }

    async fn terminated_state(&self, kind: Kind, index: usize) -> Option<ContainerState> {
        let status = self.status.current().await;
        let list = match kind {
            Kind::Init => status.init_container_statuses.as_ref(),
            Kind::Main => status.container_statuses.as_ref(),
        };
        list.and_then(|l| l.get(index)).and_then(|c| c.state.clone())
    }

    /// One run of one container: waits for its image and configuration, then runs it.
    async fn run_container(&self, kind: Kind, index: usize, container: &Container, restart: i32) -> Outcome {
        if self.is_terminating() {
            return Outcome::Exited(137);
        }
        let image = container.image.clone().unwrap_or_default();
        // Instant mode runs mapped images on the host and skips the rest.
        let host_binary = self
            .ctx
            .instant
            .as_ref()
            .map(|images| images.binary_for(&image).map(Path::to_path_buf));
        if let Some(None) = host_binary {
            return self.skip_container(kind, index, container, restart, &image).await;
        }
        if host_binary.is_none() && !self.wait_for_image(kind, index, &image).await {
            return Outcome::Exited(137);
        }
        let Some(spec) = self.configure(kind, index, container, &image, restart).await else {
            return Outcome::Exited(137);
        };
        let log = log_file(&self.dir, &container.name, restart);
        if let Some(parent) = log.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let _ = std::fs::write(&log, b"");
        let started = self.mark_running(kind, index, &spec, &image).await;
        if self.is_terminating() {
            return Outcome::Exited(137);
        }
        let code = self
            .run_and_record(&spec, host_binary.flatten().as_deref(), &log)
            .await;
        self.mark_terminated(kind, index, code, started).await;
        Outcome::Exited(code)
    }

    /// Waits until podman has `image`, showing `ErrImagePull` meanwhile.
    /// Returns false when the pod starts terminating first.
    async fn wait_for_image(&self, kind: Kind, index: usize, image: &str) -> bool {
        loop {
            if podman::image_exists(&self.ctx.containers_conf, image).await {
                return true;
            }
            let message = format!(
                "image {image:?} is not present and no registry is reachable; build it with `tests/testenv image`"
            );
            self.set_container(kind, index, |entry| {
                entry.state = Some(waiting("ErrImagePull", Some(message.clone())))
            })
            .await;
            self.pause().await;
            if self.is_terminating() {
                return false;
            }
        }
    }

    /// The container's podman invocation, retried (showing
    /// `CreateContainerConfigError`) until it can be built. `None` when the pod
    /// starts terminating first.
    async fn configure(
        &self,
        kind: Kind,
        index: usize,
        container: &Container,
        image: &str,
        restart: i32,
    ) -> Option<ContainerRun> {
        loop {
            match self.container_run(container, image, restart).await {
                Ok(spec) => return Some(spec),
                Err(ConfigError(message)) => {
                    self.set_container(kind, index, |entry| {
                        entry.state = Some(waiting("CreateContainerConfigError", Some(message.clone())));
                    })
                    .await;
                    self.pause().await;
                    if self.is_terminating() {
                        return None;
                    }
                }
            }
        }
    }

    /// Marks the container running (and, for a main container, the pod ready
    /// when all are); returns when it started.
    async fn mark_running(&self, kind: Kind, index: usize, spec: &ContainerRun, image: &str) -> Time {
        let started = now();
        self.set_container(kind, index, |entry| {
            entry.state = Some(ContainerState {
                running: Some(ContainerStateRunning {
                    started_at: Some(started.clone()),
                }),
                ..ContainerState::default()
            });
            entry.started = Some(true);
            entry.ready = kind == Kind::Main;
            entry.container_id = Some(format!("podman://{}", spec.container_name));
            entry.image_id = image.to_owned();
        })
        .await;
        if kind == Kind::Main {
            let all_ready = {
                let status = self.status.current().await;
                status.container_statuses.iter().flatten().all(|c| c.ready)
            };
            self.set_conditions(true, all_ready).await;
        }
        started
    }

    /// Runs the container to its end and returns its exit code (128 when it
    /// could not run, said in `log`); writes the code to the log's `.done`.
    async fn run_and_record(&self, spec: &ContainerRun, host_binary: Option<&Path>, log: &Path) -> i32 {
        let code = match self.run_until_terminated(spec, host_binary, log).await {
            Ok(code) => code,
            Err(error) => {
                let _ = std::fs::write(
                    log,
                    format!("{} testenv: podman failed to run: {error}\n", Timestamp::now()),
                );
                128
            }
        };
        let _ = std::fs::write(log.with_extension("done"), code.to_string());
        code
    }

    /// Marks the container terminated with `code`, started at `started`.
    async fn mark_terminated(&self, kind: Kind, index: usize, code: i32, started: Time) {
        let finished = now();
        self.set_container(kind, index, |entry| {
            entry.state = Some(ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: code,
                    reason: Some(if code == 0 { "Completed" } else { "Error" }.to_owned()),
                    started_at: Some(started),
                    finished_at: Some(finished),
                    container_id: entry.container_id.clone(),
                    ..ContainerStateTerminated::default()
                }),
                ..ContainerState::default()
            });
            entry.ready = false;
            entry.started = Some(false);
        })
        .await;
    }

    /// Runs the container; when the pod starts terminating, stops it with the
    /// pod's grace period (podman sends SIGTERM, then SIGKILL) and returns its
    /// exit code.
    async fn run_until_terminated(
        &self,
        spec: &ContainerRun,
        host_binary: Option<&Path>,
        log: &Path,
    ) -> std::io::Result<i32> {
        let conf = &self.ctx.containers_conf;
        let running = async {
            match host_binary {
                Some(binary) => super::logged::run(super::host::command(spec, binary), log).await,
                None => podman::run(conf, spec, log).await,
            }
        };
        tokio::pin!(running);
        tokio::select! {
            outcome = &mut running => outcome,
            () = self.terminated() => {
                if host_binary.is_some() {
                    // Dropping the run kills the host process.
                    return Ok(137);
                }
                // The container may not exist yet (`podman run` is still
                // creating it): stop again until the run ends.
                loop {
                    podman::stop(conf, &spec.container_name, self.grace_seconds()).await;
                    if let Ok(outcome) = tokio::time::timeout(Duration::from_secs(1), &mut running).await {
                        return outcome;
                    }
                }
            }
        }
    }

    /// The pod's termination grace period (what its deletion asked for, else its spec's).
    fn grace_seconds(&self) -> u32 {
        self.pod
            .spec
            .as_ref()
            .and_then(|s| s.termination_grace_period_seconds)
            .and_then(|s| u32::try_from(s).ok())
            .unwrap_or(30)
    }

    /// Instant mode: a container that is not the agent's counts as succeeded at once.
    async fn skip_container(
        &self,
        kind: Kind,
        index: usize,
        container: &Container,
        restart: i32,
        image: &str,
    ) -> Outcome {
        let log = log_file(&self.dir, &container.name, restart);
        if let Some(parent) = log.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let line = format!(
            "{} testenv --instant: {image} is not run; counted as succeeded\n",
            Timestamp::now()
        );
        let _ = std::fs::write(&log, line);
        let _ = std::fs::write(log.with_extension("done"), "0");
        let at = now();
        self.set_container(kind, index, |entry| {
            entry.state = Some(ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: 0,
                    reason: Some("Completed".to_owned()),
                    started_at: Some(at.clone()),
                    finished_at: Some(at),
                    ..ContainerStateTerminated::default()
                }),
                ..ContainerState::default()
            });
            entry.image_id = image.to_owned();
        })
        .await;
        Outcome::Exited(0)
    }

    /// Builds the podman invocation, enforcing `runAsNonRoot` as the kubelet does.
    async fn container_run(
        &self,
        container: &Container,
        image: &str,
        restart: i32,
    ) -> Result<ContainerRun, ConfigError> {
        let pod_spec = self.pod.spec.clone().unwrap_or_default();
        let pod_security = pod_spec.security_context.clone().unwrap_or_default();
        let security = container.security_context.clone().unwrap_or_default();
        let run_as_user = security.run_as_user.or(pod_security.run_as_user);
        let run_as_group = security.run_as_group.or(pod_security.run_as_group);
        let run_as_non_root = security.run_as_non_root.or(pod_security.run_as_non_root) == Some(true);
        // Host processes in instant mode run as the pod's user or nobody, never root.
        if run_as_non_root && self.ctx.instant.is_none() {
            self.enforce_non_root(container, image, run_as_user).await?;
        }
        let user = podman_user(run_as_user, run_as_group);
        let mut env = self.in_cluster_env();
        env.extend(pod_env::resolve(&self.ctx.client, &self.pod, container).await?);
        let expand_all = |items: &Option<Vec<String>>| {
            items.as_ref().map(|list| {
                list.iter()
                    .map(|item| pod_env::expand(item, &env))
                    .collect::<Vec<_>>()
            })
        };
        let mounts = self.mounts(container).await?;
        let uid = self.pod.metadata.uid.clone().unwrap_or_default();
        let run = ContainerRun {
            container_name: format!(
                "testenv-{}-{}-{}-{restart}",
                self.ctx.env_name,
                &uid[..uid.len().min(8)],
                container.name
            ),
            image: image.to_owned(),
            command: expand_all(&container.command),
            args: expand_all(&container.args),
            env,
            mounts,
            user,
            working_dir: container.working_dir.clone(),
            labels: vec![
                (ENV_LABEL.to_owned(), self.ctx.env_name.clone()),
                (POD_UID_LABEL.to_owned(), uid),
            ],
        };
        Ok(run)
    }

    /// The pod as the kubelet names it in messages: `name_namespace(uid)`.
    fn pod_label(&self) -> String {
        format!(
            "{}_{}({})",
            self.pod.metadata.name.as_deref().unwrap_or_default(),
            self.pod.metadata.namespace.as_deref().unwrap_or_default(),
            self.pod.metadata.uid.as_deref().unwrap_or_default()
        )
    }

    /// `runAsNonRoot`: fails when the container would run as root, or (with no
    /// `runAsUser`) when the image's user is root or not numeric.
    async fn enforce_non_root(
        &self,
        container: &Container,
        image: &str,
        run_as_user: Option<i64>,
    ) -> Result<(), ConfigError> {
        let pod_label = self.pod_label();
        match run_as_user {
            Some(0) => Err(ConfigError(format!(
                "container's runAsUser breaks non-root policy (pod: \"{pod_label}\", container: {})",
                container.name
            ))),
            Some(_) => Ok(()),
            None => {
                let image_user = podman::image_user(&self.ctx.containers_conf, image)
                    .await
                    .unwrap_or_default();
                let uid_text = image_user.split(':').next().unwrap_or_default();
                match uid_text.parse::<u32>() {
                    Ok(0) => Err(ConfigError(format!(
                        "container has runAsNonRoot and image will run as root (pod: \"{pod_label}\", container: {})",
                        container.name
                    ))),
                    Ok(_) => Ok(()),
                    Err(_) if uid_text.is_empty() || uid_text == "root" => Err(ConfigError(format!(
                        "container has runAsNonRoot and image will run as root (pod: \"{pod_label}\", container: {})",
                        container.name
                    ))),
                    Err(_) => Err(ConfigError(format!(
                        "container has runAsNonRoot and image has non-numeric user ({uid_text}), cannot verify user is non-root (pod: \"{pod_label}\", container: {})",
                        container.name
                    ))),
                }
            }
        }
    }

    /// The container's volume mounts as podman's (host path, container path,
    /// read-only), each from the pod's volume of that name (and `subPath`).
    async fn mounts(&self, container: &Container) -> Result<Vec<(PathBuf, String, bool)>, ConfigError> {
        let volumes = self.volumes.lock().await.clone();
        let mut mounts = Vec::new();
        for mount in container.volume_mounts.iter().flatten() {
            let Some((_, host)) = volumes.iter().find(|(name, _)| *name == mount.name) else {
                return Err(ConfigError(format!(
                    "volume mount {:?}: no volume of that name in the pod",
                    mount.name
                )));
            };
            let host = match mount.sub_path.as_deref().filter(|s| !s.is_empty()) {
                Some(sub) => host.join(sub),
                None => host.clone(),
            };
            mounts.push((host, mount.mount_path.clone(), mount.read_only == Some(true)));
        }
        Ok(mounts)
    }

    /// What every in-cluster client looks for.
    fn in_cluster_env(&self) -> Vec<(String, String)> {
        let port = self.ctx.api_port.to_string();
        vec![
            ("KUBERNETES_SERVICE_HOST".to_owned(), "127.0.0.1".to_owned()),
            ("KUBERNETES_SERVICE_PORT".to_owned(), port.clone()),
            ("KUBERNETES_SERVICE_PORT_HTTPS".to_owned(), port.clone()),
            ("KUBERNETES_PORT".to_owned(), format!("tcp://127.0.0.1:{port}")),
            (
                "HOSTNAME".to_owned(),
                self.pod.metadata.name.clone().unwrap_or_default(),
            ),
        ]
    }
}
