//! The genuine control plane: etcd, kube-apiserver, kube-controller-manager
//! and kube-scheduler, built once from k8s.io/kubernetes at a pinned release
//! (`platform/build-kubernetes.sh`) and started per environment on loopback,
//! each with its own identity, as a cluster runs them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::certs::{Identity, Pki};
use super::paths::kubernetes_cache;
use super::processes::{ensure_running, spawn_detached};
use super::state::{EnvPaths, Ports};
use crate::error::{Result, StepContext, fail};

const READY_TIMEOUT: Duration = Duration::from_secs(120);
const BINARIES: [&str; 5] = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubectl",
];

/// The range Services take their cluster IPs from. Nothing routes to it: pods
/// reach the API server on loopback, through `KUBERNETES_SERVICE_HOST`.
const SERVICE_CLUSTER_IP_RANGE: &str = "10.96.0.0/16";
const SERVICE_ACCOUNT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// The folder of the cached binaries, building them first when absent.
/// Returns it and whether a build was needed.
pub fn ensure_built() -> Result<(PathBuf, bool)> {
    let cache = kubernetes_cache();
    let bin = cache.join("bin");
    if BINARIES.iter().all(|b| bin.join(b).is_file()) && cache.join("VERSIONS").is_file() {
        return Ok((bin, false));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("platform/build-kubernetes.sh");
    eprintln!(
        "testenv: building Kubernetes {} into {} (about 5 minutes on 2 cores, once)",
        super::paths::KUBERNETES_VERSION,
        cache.display()
    );
    let status = Command::new("bash")
        .arg(&script)
        .arg(&cache)
        .env("KRATIX_TESTENV_K8S_VERSION", super::paths::KUBERNETES_VERSION)
        .stdout(std::io::stderr())
        .status()
        .step("building Kubernetes")?;
    if !status.success() {
        return Err(fail(
            "building Kubernetes",
            format!("{} failed ({status})", script.display()),
        ));
    }
    Ok((bin, true))
}

/// The `kubectl` built with the control plane (the machine's own may be older).
pub fn kubectl() -> PathBuf {
    kubernetes_cache().join("bin/kubectl")
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
        // Throwaway data: fsync buys nothing and costs the tests seconds.
        .args(["--unsafe-no-fsync", "--log-level", "warn"])
        .arg("--listen-metrics-urls=")
        .env("ETCD_UNSUPPORTED_ARCH", "");
    let log = paths.logs().join("etcd.log");
    let pid = spawn_detached(step, command, &log)?;
    std::thread::sleep(Duration::from_millis(300));
    ensure_running(step, pid, &log)?;
    Ok(pid)
}

pub fn start_apiserver(bin: &Path, paths: &EnvPaths, ports: &Ports) -> Result<u32> {
    let step = "starting kube-apiserver";
    let pki = Pki::at(&paths.pki());
    let file = |path: PathBuf| path.display().to_string();
    let mut command = Command::new(bin.join("kube-apiserver"));
    command
        .arg(format!("--etcd-servers=http://127.0.0.1:{}", ports.etcd_client))
        .arg("--bind-address=127.0.0.1")
        .arg("--advertise-address=127.0.0.1")
        .arg(format!("--secure-port={}", ports.apiserver))
        .arg(format!(
            "--tls-cert-file={}",
            file(pki.cert_path(Identity::ApiServer))
        ))
        .arg(format!(
            "--tls-private-key-file={}",
            file(pki.key_path(Identity::ApiServer))
        ))
        .arg(format!("--client-ca-file={}", file(pki.ca_cert_path())))
        .arg("--authorization-mode=Node,RBAC")
        // The defaults (NamespaceLifecycle, ServiceAccount, PodSecurity, ...) stay on.
        .arg("--enable-admission-plugins=NodeRestriction")
        .arg(format!("--service-account-issuer={SERVICE_ACCOUNT_ISSUER}"))
        .arg(format!(
            "--service-account-key-file={}",
            file(pki.service_account_public_key())
        ))
        .arg(format!(
            "--service-account-signing-key-file={}",
            file(pki.service_account_key())
        ))
        .arg(format!("--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}"))
        // `pods/log` goes to the node, which serves it as a kubelet does.
        .arg(format!(
            "--kubelet-client-certificate={}",
            file(pki.cert_path(Identity::ApiServerKubeletClient))
        ))
        .arg(format!(
            "--kubelet-client-key={}",
            file(pki.key_path(Identity::ApiServerKubeletClient))
        ))
        .arg(format!(
            "--kubelet-certificate-authority={}",
            file(pki.ca_cert_path())
        ))
        .arg("--kubelet-preferred-address-types=InternalIP")
        // The `kubernetes` Service's endpoints may not be a loopback address,
        // and no pod needs them: pods find the API server through their environment.
        .arg("--endpoint-reconciler-type=none")
        .arg("--allow-privileged=true")
        .arg("--profiling=false");
    let log = paths.logs().join("kube-apiserver.log");
    spawn_detached(step, command, &log)
}

/// Waits until the API server's `/readyz` answers ok (its bootstrap RBAC
/// policy and priority levels are in place by then).
pub async fn wait_ready(client: &kube::Client, pid: u32, log: &Path) -> Result<()> {
    let step = "waiting for kube-apiserver to be ready";
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let request = http::Request::get("/readyz").body(Vec::new()).step(step)?;
        let outcome = client.request_text(request).await;
        match outcome {
            Ok(text) if text.trim() == "ok" => return Ok(()),
            other => {
                ensure_running(step, pid, log)?;
                if Instant::now() > deadline {
                    return Err(fail(
                        step,
                        format!("not ready after {READY_TIMEOUT:?}: {other:?}"),
                    ));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub fn start_controller_manager(bin: &Path, paths: &EnvPaths) -> Result<u32> {
    let step = "starting kube-controller-manager";
    let pki = Pki::at(&paths.pki());
    let kubeconfig = paths.component_kubeconfig(Identity::ControllerManager);
    let mut command = Command::new(bin.join("kube-controller-manager"));
    command
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .arg("--secure-port=0")
        .arg("--leader-elect=false")
        // Each controller acts with its own service account and RBAC, as in a cluster.
        .arg("--use-service-account-credentials=true")
        .arg(format!(
            "--service-account-private-key-file={}",
            pki.service_account_key().display()
        ))
        .arg(format!("--root-ca-file={}", pki.ca_cert_path().display()))
        .arg(format!(
            "--cluster-signing-cert-file={}",
            pki.ca_cert_path().display()
        ))
        .arg(format!(
            "--cluster-signing-key-file={}",
            pki.ca_key_path().display()
        ))
        .arg(format!("--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}"))
        // The client's default 20 requests a second would make a thousand Jobs
        // queue behind the controller manager's own rate limit.
        .arg("--kube-api-qps=200")
        .arg("--kube-api-burst=400")
        .arg("--concurrent-job-syncs=20")
        .arg("--profiling=false");
    let log = paths.logs().join("kube-controller-manager.log");
    spawn_detached(step, command, &log)
}

pub fn start_scheduler(bin: &Path, paths: &EnvPaths) -> Result<u32> {
    let step = "starting kube-scheduler";
    let kubeconfig = paths.component_kubeconfig(Identity::Scheduler);
    let mut command = Command::new(bin.join("kube-scheduler"));
    command
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .arg("--secure-port=0")
        .arg("--leader-elect=false")
        .arg("--kube-api-qps=200")
        .arg("--kube-api-burst=400")
        .arg("--profiling=false");
    let log = paths.logs().join("kube-scheduler.log");
    spawn_detached(step, command, &log)
}

/// What `kube-apiserver --version` and the build recorded, for `testenv status`.
pub fn versions() -> String {
    std::fs::read_to_string(kubernetes_cache().join("VERSIONS"))
        .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
