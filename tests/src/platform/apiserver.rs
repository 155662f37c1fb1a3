//! The API server and etcd: built once and cached, started per environment.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::paths::apiserver_cache;
use super::processes::{ensure_running, spawn_detached};
use super::state::{EnvPaths, Ports};
use crate::error::{Result, StepContext, fail};

pub const APISERVER_BINARY: &str = "kube-apiextensions-apiserver";
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// The cached binaries, building them first when absent. Returns the binary
/// folder and whether a build was needed.
pub fn ensure_built() -> Result<(PathBuf, bool)> {
    let cache = apiserver_cache();
    let bin = cache.join("bin");
    if bin.join(APISERVER_BINARY).is_file() && bin.join("etcd").is_file() {
        return Ok((bin, false));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("platform/build-apiserver.sh");
    eprintln!(
        "testenv: building the API server into {} (about 4 minutes, once)",
        cache.display()
    );
    let status = Command::new("bash")
        .arg(&script)
        .arg(&cache)
        .stdout(std::io::stderr())
        .status()
        .step("building the API server")?;
    if !status.success() {
        return Err(fail(
            "building the API server",
            format!("{} failed ({status})", script.display()),
        ));
    }
    Ok((bin, true))
}

pub fn start_etcd(bin: &Path, paths: &EnvPaths, ports: &Ports) -> Result<u32> {
    let step = "starting etcd";
    let client = format!("http://127.0.0.1:{}", ports.etcd_client);
    let peer = format!("http://127.0.0.1:{}", ports.etcd_peer);
    let mut command = Command::new(bin.join("etcd"));
    command
        .arg("--data-dir")
        .arg(paths.etcd_data())
        .args([
            "--listen-client-urls",
            &client,
            "--advertise-client-urls",
            &client,
        ])
        .args([
            "--listen-peer-urls",
            &peer,
            "--initial-advertise-peer-urls",
            &peer,
        ])
        .args(["--initial-cluster", &format!("default={peer}")])
        .args(["--unsafe-no-fsync", "--log-level", "warn"]);
    let log = paths.logs().join("etcd.log");
    let pid = spawn_detached(step, command, &log)?;
    std::thread::sleep(Duration::from_millis(300));
    ensure_running(step, pid, &log)?;
    Ok(pid)
}

pub fn start_apiserver(bin: &Path, paths: &EnvPaths, ports: &Ports) -> Result<u32> {
    let step = "starting the API server";
    let pki = paths.pki();
    let kubeconfig = paths.admin_kubeconfig();
    let mut command = Command::new(bin.join(APISERVER_BINARY));
    command
        .arg(format!("--etcd-servers=http://127.0.0.1:{}", ports.etcd_client))
        .arg("--bind-address=127.0.0.1")
        .arg(format!("--secure-port={}", ports.apiserver))
        .arg(format!("--tls-cert-file={}", pki.join("serving.crt").display()))
        .arg(format!("--tls-private-key-file={}", pki.join("serving.key").display()))
        .arg(format!("--client-ca-file={}", pki.join("ca.crt").display()))
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .arg(format!("--authentication-kubeconfig={}", kubeconfig.display()))
        .arg(format!("--authorization-kubeconfig={}", kubeconfig.display()))
        .arg("--authentication-skip-lookup")
        .arg("--enable-priority-and-fairness=false")
        .arg(
            "--disable-admission-plugins=NamespaceLifecycle,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy,MutatingAdmissionPolicy",
        );
    let log = paths.logs().join("apiserver.log");
    let pid = spawn_detached(step, command, &log)?;
    Ok(pid)
}

/// Waits until the API server answers (its /readyz never turns ready without a
/// Service API, so this asks for the apiextensions group instead).
pub async fn wait_ready(client: &kube::Client, pid: u32, log: &Path) -> Result<()> {
    let step = "waiting for the API server";
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let request = http::Request::get("/apis/apiextensions.k8s.io/v1")
            .body(Vec::new())
            .step(step)?;
        match client.request_text(request).await {
            Ok(_) => return Ok(()),
            Err(error) => {
                ensure_running(step, pid, log)?;
                if Instant::now() > deadline {
                    return Err(fail(step, format!("no answer after {READY_TIMEOUT:?}: {error}")));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
