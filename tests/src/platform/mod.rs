//! Environments: bring one up, list them, take one down.

pub mod apiserver;
pub mod builtin_kinds;
pub mod certs;
pub mod kubeconfig;
pub mod paths;
pub mod processes;
pub mod state;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};

use crate::error::{Result, StepContext, fail};
use crate::identity::Tokens;
use crate::proxy::Proxy;
use crate::runner::{self, RunnerContext};
use processes::{free_port, is_alive, spawn_detached, stop};
use state::{EnvPaths, EnvState, Pids, Ports};

const STOP_GRACE: Duration = Duration::from_secs(5);
const PROXY_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Options of `testenv up`.
#[derive(Debug, Clone)]
pub struct UpOptions {
    pub name: String,
    /// Instant mode, with the images that run as host binaries.
    pub instant: Option<crate::runner::host::HostImages>,
    /// The `testenv` executable that runs the proxy and runner (`testenv daemon`).
    pub testenv_exe: std::path::PathBuf,
}

/// What `up` reports.
pub struct Up {
    pub state: EnvState,
    pub kubeconfig: std::path::PathBuf,
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

/// Installs the Debian package of each `(command, package)` whose command is missing.
pub fn ensure_commands(wanted: &[(&str, &str)]) -> Result<()> {
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|(command, _)| {
            Command::new("sh")
                .args(["-c", &format!("command -v {command}")])
                .output()
                .map(|o| !o.status.success())
                .unwrap_or(true)
        })
        .map(|(_, package)| *package)
        .collect();
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

/// Brings an environment up and returns once its proxy answers.
pub async fn up(options: &UpOptions) -> Result<Up> {
    let started = Instant::now();
    let paths = EnvPaths::new(&options.name);
    if let Ok(existing) = EnvState::load(&paths.state())
        && existing.pids.daemon.is_some_and(is_alive)
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
    let (bin, built) = apiserver::ensure_built()?;
    // A fresh environment every time: stale etcd data would resurrect old objects.
    if paths.root.exists() {
        std::fs::remove_dir_all(&paths.root).step(format!("clearing {}", paths.root.display()))?;
    }
    for dir in [paths.root.clone(), paths.logs(), paths.pods()] {
        std::fs::create_dir_all(&dir).step(format!("creating {}", dir.display()))?;
    }
    let pki = certs::generate()?;
    pki.write(&paths.pki())?;
    let ports = Ports {
        etcd_client: free_port()?,
        etcd_peer: free_port()?,
        apiserver: free_port()?,
        proxy_http: free_port()?,
        proxy_https: free_port()?,
    };
    std::fs::write(
        paths.admin_kubeconfig(),
        kubeconfig::admin_kubeconfig(&options.name, ports.apiserver, &paths.pki()),
    )
    .step("writing the admin kubeconfig")?;
    std::fs::write(
        paths.kubeconfig(),
        kubeconfig::proxy_kubeconfig(&options.name, ports.proxy_http),
    )
    .step("writing the kubeconfig")?;
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
    })
}

async fn start_processes(
    bin: &std::path::Path,
    paths: &EnvPaths,
    state: &mut EnvState,
    testenv_exe: &std::path::Path,
) -> Result<()> {
    state.pids.etcd = Some(apiserver::start_etcd(bin, paths, &state.ports)?);
    state.save(&paths.state())?;
    let apiserver_pid = apiserver::start_apiserver(bin, paths, &state.ports)?;
    state.pids.apiserver = Some(apiserver_pid);
    state.save(&paths.state())?;
    let admin = kubeconfig::client(&paths.admin_kubeconfig()).await?;
    apiserver::wait_ready(&admin, apiserver_pid, &paths.logs().join("apiserver.log")).await?;
    install_builtin_kinds(&admin).await?;

    let mut daemon = Command::new(testenv_exe);
    daemon.args(["daemon", "--name", &state.name]);
    let daemon_log = paths.logs().join("daemon.log");
    state.pids.daemon = Some(spawn_detached(
        "starting the proxy and runner",
        daemon,
        &daemon_log,
    )?);
    state.save(&paths.state())?;
    let client = kubeconfig::client(&paths.kubeconfig()).await?;
    wait_for_proxy(&client, state.pids.daemon.unwrap_or_default(), &daemon_log).await?;
    create_initial_namespaces(&client).await
}

async fn install_builtin_kinds(admin: &kube::Client) -> Result<()> {
    let step = "installing the built-in kinds";
    let api: Api<CustomResourceDefinition> = Api::all(admin.clone());
    let mut names = Vec::new();
    for crd in builtin_kinds::crds() {
        let crd: CustomResourceDefinition = serde_json::from_value(crd).step(step)?;
        names.push(crd.metadata.name.clone().unwrap_or_default());
        api.create(&PostParams::default(), &crd).await.step(format!(
            "{step}: {}",
            names.last().map(String::as_str).unwrap_or_default()
        ))?;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    for name in names {
        loop {
            let crd = api.get(&name).await.step(step)?;
            let established = crd
                .status
                .and_then(|s| s.conditions)
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Established" && c.status == "True"));
            if established {
                break;
            }
            if Instant::now() > deadline {
                return Err(fail(step, format!("{name} did not become Established")));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(())
}

async fn wait_for_proxy(client: &kube::Client, pid: u32, log: &std::path::Path) -> Result<()> {
    let step = "waiting for the proxy";
    let deadline = Instant::now() + PROXY_READY_TIMEOUT;
    loop {
        let request = http::Request::get("/api/v1/namespaces")
            .body(Vec::new())
            .step(step)?;
        match client.request_text(request).await {
            Ok(_) => return Ok(()),
            Err(error) => {
                processes::ensure_running(step, pid, log)?;
                if Instant::now() > deadline {
                    return Err(fail(
                        step,
                        format!("no answer after {PROXY_READY_TIMEOUT:?}: {error}"),
                    ));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn create_initial_namespaces(client: &kube::Client) -> Result<()> {
    use k8s_openapi::api::core::v1::Namespace;
    let api: Api<Namespace> = Api::all(client.clone());
    for name in builtin_kinds::INITIAL_NAMESPACES {
        let namespace = Namespace {
            metadata: kube::api::ObjectMeta {
                name: Some(name.to_owned()),
                ..Default::default()
            },
            ..Namespace::default()
        };
        api.create(&PostParams::default(), &namespace)
            .await
            .step(format!("creating namespace {name}"))?;
    }
    Ok(())
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

/// Runs the proxy and the runner of environment `name` in this process.
pub async fn run_daemon(name: &str) -> Result<()> {
    let paths = EnvPaths::new(name);
    let state = EnvState::load(&paths.state())?;
    let pki = certs::Pki::read(&paths.pki())?;
    let tokens = Tokens::default();
    // RBAC objects are not in the core group: watch them straight from the API server.
    let admin = kubeconfig::client(&paths.admin_kubeconfig()).await?;
    let rbac = crate::proxy::rbac_cache::RbacCache::start(&admin).await;
    let proxy = Arc::new(Proxy::new(
        &pki,
        state.ports.apiserver,
        state.ports.proxy_http,
        tokens.clone(),
        rbac,
        paths.pods(),
    )?);
    let serving = {
        let pki = certs::Pki::read(&paths.pki())?;
        let (http, https) = (state.ports.proxy_http, state.ports.proxy_https);
        tokio::spawn(async move { proxy.serve(http, https, &pki).await })
    };
    let client = kubeconfig::client(&paths.kubeconfig()).await?;
    let context = Arc::new(RunnerContext {
        client,
        env_name: name.to_owned(),
        pods_dir: paths.pods(),
        containers_conf: containers_conf()?,
        api_port: state.ports.proxy_https,
        ca_cert: pki.ca_cert.clone(),
        tokens,
        instant: state.instant.clone(),
    });
    tokio::select! {
        result = serving => result.step("running the proxy")?,
        () = runner::run(context) => Ok(()),
    }
}

/// Stops everything environment `name` started, and nothing else.
pub fn down(name: &str) -> Result<()> {
    let paths = EnvPaths::new(name);
    let state = EnvState::load(&paths.state())?;
    for pid in [state.pids.daemon, state.pids.apiserver, state.pids.etcd]
        .into_iter()
        .flatten()
    {
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
    crate::runner::podman::remove_labelled(
        conf.as_deref(),
        &format!("{}={name}", crate::runner::podman::ENV_LABEL),
        0,
    );
    // And any container process podman lost track of.
    crate::runner::strays::kill_orphans(name, &[]);
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
