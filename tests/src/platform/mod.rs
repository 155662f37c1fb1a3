//! Environments: bring one up, list them, take one down.

pub mod certs;
pub mod control_plane;
pub mod kubeconfig;
pub mod node;
pub mod paths;
pub mod processes;
pub mod state;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use k8s_openapi::api::core::v1::{Node, ServiceAccount};
use kube::api::Api;

use crate::error::{Result, StepContext, fail};
use certs::{Identity, NODE_NAME, Pki};
use node::NodeContext;
use processes::{free_port, is_alive, spawn_detached, stop};
use state::{EnvPaths, EnvState, Pids, Ports};

const STOP_GRACE: Duration = Duration::from_secs(5);
const NODE_READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Options of `testenv up`.
#[derive(Debug, Clone)]
pub struct UpOptions {
    pub name: String,
    /// Instant mode, with the images that run as host binaries.
    pub instant: Option<crate::platform::node::host::HostImages>,
    /// The `testenv` executable that runs the node (`testenv node`).
    pub testenv_exe: std::path::PathBuf,
}

/// What `up` reports.
pub struct Up {
    pub state: EnvState,
    pub kubeconfig: std::path::PathBuf,
    /// The folder of the control plane's binaries, kubectl among them.
    pub bin: std::path::PathBuf,
}

/// Installs Debian packages the platform needs when their commands are missing.
pub fn ensure_packages() -> Result<()> {
    let wanted = [
        ("podman", "podman"),
        ("runc", "runc"),
        ("busybox", "busybox-static"),
        ("newuidmap", "uidmap"),
        ("fuse-overlayfs", "fuse-overlayfs"),
    ];
    ensure_commands(&wanted)
}

/// Installs the Debian package of each `(command, package)` whose command is
/// missing. One install at a time across processes: tests starting in
/// parallel on a fresh machine would otherwise fight over apt's lock.
pub fn ensure_commands(wanted: &[(&str, &str)]) -> Result<()> {
    if missing_packages(wanted).is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(paths::state_root()).step("creating the state folder")?;
    let lock_path = paths::state_root().join("apt.lock");
    let lock = std::fs::File::create(&lock_path).step(format!("opening {}", lock_path.display()))?;
    lock.lock().step(format!("locking {}", lock_path.display()))?;
    install_missing(wanted)
}

fn missing_packages<'a>(wanted: &[(&str, &'a str)]) -> Vec<&'a str> {
    wanted
        .iter()
        .filter(|(command, _)| {
            Command::new("sh")
                .args(["-c", &format!("command -v {command}")])
                .output()
                .map(|o| !o.status.success())
                .unwrap_or(true)
        })
        .map(|(_, package)| *package)
        .collect()
}

fn install_missing(wanted: &[(&str, &str)]) -> Result<()> {
    let missing = missing_packages(wanted);
    if missing.is_empty() {
        return Ok(());
    }
    let step = format!("installing {}", missing.join(" "));
    eprintln!("testenv: {step}");
    // stdout carries only the `export KUBECONFIG=...` line: apt's chatter goes to stderr.
    let update = Command::new("apt-get")
        .args(["update", "-qq"])
        .stdout(std::io::stderr())
        .status()
        .step(&step)?;
    if !update.success() {
        return Err(fail(&step, "apt-get update failed"));
    }
    let status = Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(std::io::stderr())
        .status()
        .step(&step)?;
    if status.success() {
        Ok(())
    } else {
        Err(fail(step, "apt-get install failed"))
    }
}

/// Brings an environment up and returns once its node is Ready.
pub async fn up(options: &UpOptions) -> Result<Up> {
    let started = Instant::now();
    let paths = EnvPaths::new(&options.name);
    if let Ok(existing) = EnvState::load(&paths.state())
        && existing.pids.node.is_some_and(is_alive)
    {
        return Err(fail(
            "checking for a running environment",
            format!(
                "environment {:?} is already up; `tests/testenv down --name {}` first",
                options.name, options.name
            ),
        ));
    }
    if options.instant.is_none() {
        ensure_packages()?;
    }
    let (bin, built) = control_plane::ensure_built()?;
    // A fresh environment every time: stale etcd data would resurrect old objects.
    if paths.root.exists() {
        std::fs::remove_dir_all(&paths.root).step(format!("clearing {}", paths.root.display()))?;
    }
    for dir in [paths.root.clone(), paths.logs(), paths.pods()] {
        std::fs::create_dir_all(&dir).step(format!("creating {}", dir.display()))?;
    }
    let pki = certs::generate(&paths.pki())?;
    let ports = Ports {
        etcd_client: free_port()?,
        etcd_peer: free_port()?,
        apiserver: free_port()?,
        node: free_port()?,
    };
    let write_kubeconfig = |path: std::path::PathBuf, identity: Identity| {
        std::fs::write(
            &path,
            kubeconfig::for_identity(&options.name, ports.apiserver, &pki, identity),
        )
        .step(format!("writing {}", path.display()))
    };
    write_kubeconfig(paths.kubeconfig(), Identity::Admin)?;
    for identity in [Identity::ControllerManager, Identity::Scheduler, Identity::Node] {
        write_kubeconfig(paths.component_kubeconfig(identity), identity)?;
    }
    let mut state = EnvState {
        name: options.name.clone(),
        ports: ports.clone(),
        pids: Pids::default(),
        instant: options.instant.clone(),
        started_at: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default(),
        start_seconds: 0.0,
        cold: built,
    };
    let result = start_processes(&bin, &paths, &mut state, &options.testenv_exe).await;
    state.save(&paths.state())?;
    if let Err(error) = result {
        down(&options.name)?;
        return Err(error);
    }
    state.start_seconds = started.elapsed().as_secs_f64();
    state.save(&paths.state())?;
    Ok(Up {
        state,
        kubeconfig: paths.kubeconfig(),
        bin,
    })
}

async fn start_processes(
    bin: &std::path::Path,
    paths: &EnvPaths,
    state: &mut EnvState,
    testenv_exe: &std::path::Path,
) -> Result<()> {
    state.pids.etcd = Some(control_plane::start_etcd(bin, paths, &state.ports)?);
    state.save(&paths.state())?;
    let apiserver = control_plane::start_apiserver(bin, paths, &state.ports)?;
    state.pids.apiserver = Some(apiserver);
    state.save(&paths.state())?;
    let admin = kubeconfig::client(&paths.kubeconfig()).await?;
    control_plane::wait_ready(&admin, apiserver, &paths.logs().join("kube-apiserver.log")).await?;
    state.pids.controller_manager = Some(control_plane::start_controller_manager(bin, paths)?);
    state.pids.scheduler = Some(control_plane::start_scheduler(bin, paths)?);
    state.save(&paths.state())?;

    let mut node = Command::new(testenv_exe);
    node.args(["node", "--name", &state.name]);
    let node_log = paths.logs().join("node.log");
    let node_pid = spawn_detached("starting the node", node, &node_log)?;
    state.pids.node = Some(node_pid);
    state.save(&paths.state())?;
    wait_for_node(&admin, node_pid, &node_log).await?;
    wait_for_default_service_account(&admin, state, paths).await
}

/// Waits until the node has registered and is Ready, so the scheduler binds to it.
async fn wait_for_node(client: &kube::Client, pid: u32, log: &std::path::Path) -> Result<()> {
    let step = "waiting for the node to be Ready";
    let nodes: Api<Node> = Api::all(client.clone());
    let deadline = Instant::now() + NODE_READY_TIMEOUT;
    loop {
        let node = nodes.get_opt(NODE_NAME).await.step(step)?;
        if node.as_ref().is_some_and(node::registration::is_ready) {
            return Ok(());
        }
        processes::ensure_running(step, pid, log)?;
        if Instant::now() > deadline {
            return Err(fail(
                step,
                format!("not Ready after {NODE_READY_TIMEOUT:?}: {node:?}"),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Pods name the `default` account unless told otherwise, and admission refuses
/// them until the controller manager has made it.
async fn wait_for_default_service_account(
    client: &kube::Client,
    state: &EnvState,
    paths: &EnvPaths,
) -> Result<()> {
    let step = "waiting for the default service account";
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    let deadline = Instant::now() + NODE_READY_TIMEOUT;
    loop {
        if accounts.get_opt("default").await.step(step)?.is_some() {
            return Ok(());
        }
        if let Some(pid) = state.pids.controller_manager {
            processes::ensure_running(step, pid, &paths.logs().join("kube-controller-manager.log"))?;
        }
        if Instant::now() > deadline {
            return Err(fail(step, format!("none after {NODE_READY_TIMEOUT:?}")));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// podman settings that work on these machines: no CAP_SYS_RESOURCE (so small
/// rlimits), no crun, cgroupfs, and no network namespace by default.
const CONTAINERS_CONF: &str = r#"[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"
"#;

/// The podman settings every environment and image build uses, written on first use.
pub fn containers_conf() -> Result<std::path::PathBuf> {
    let path = paths::state_root().join("containers.conf");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(CONTAINERS_CONF) {
        std::fs::create_dir_all(paths::state_root()).step("creating the state folder")?;
        std::fs::write(&path, CONTAINERS_CONF).step(format!("writing {}", path.display()))?;
    }
    Ok(path)
}

/// Runs the node of environment `name` in this process.
pub async fn run_node(name: &str) -> Result<()> {
    let paths = EnvPaths::new(name);
    let state = EnvState::load(&paths.state())?;
    let pki = Pki::at(&paths.pki());
    let client = kubeconfig::client(&paths.component_kubeconfig(Identity::Node)).await?;
    let context = Arc::new(NodeContext {
        client,
        env_name: name.to_owned(),
        pods_dir: paths.pods(),
        containers_conf: containers_conf()?,
        api_port: state.ports.apiserver,
        node_port: state.ports.node,
        pki,
        instant: state.instant.clone(),
    });
    node::run(context).await
}

/// Stops everything environment `name` started, and nothing else.
pub fn down(name: &str) -> Result<()> {
    let paths = EnvPaths::new(name);
    let state = EnvState::load(&paths.state())?;
    for pid in state.pids.in_stop_order() {
        stop(pid, STOP_GRACE);
    }
    remove_containers(name);
    Ok(())
}

/// Deletes a stopped environment's directory.
pub fn forget(name: &str) -> Result<()> {
    let paths = EnvPaths::new(name);
    std::fs::remove_dir_all(&paths.root).step(format!("deleting {}", paths.root.display()))
}

/// Removes the podman containers of an environment (they carry its label).
fn remove_containers(name: &str) {
    let conf = containers_conf().ok();
    crate::platform::node::podman::remove_labelled(
        conf.as_deref(),
        &format!("{}={name}", crate::platform::node::podman::ENV_LABEL),
        0,
    );
    // And any container process podman lost track of.
    crate::platform::node::strays::kill_orphans(name, &[]);
}

/// Every environment with its state.
pub fn list() -> Vec<EnvState> {
    let root = paths::state_root().join("envs");
    let mut states: Vec<EnvState> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| EnvState::load(&entry.path().join("state.json")).ok())
        .collect();
    states.sort_by(|a, b| a.name.cmp(&b.name));
    states
}
