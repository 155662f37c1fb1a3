//! Two agent replicas and a stalled API server: the leader reaches the API
//! server through a small proxy written for this test, which stops passing
//! bytes on (a renewal that hangs). The leader must stop acting before the
//! standby, which reaches the API server directly, takes the lease over.
//!
//! Its own binary: the replicas run as host processes beside the cluster's agent.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kratix_tests::suites::support::{agent_binary, install_kratix_crds};
use kube::api::Api;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

const LEASE: &str = "leader-test";

/// Copies bytes from `from` to `to`, holding them while `stalled` is set.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    stalled: Arc<AtomicBool>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        while stalled.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        while stalled.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            break;
        }
    }
}

/// A TCP proxy to `upstream` on a local port; setting the flag stalls every
/// connection, open and new.
async fn stalling_proxy(upstream: String) -> (String, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy port");
    let address = listener.local_addr().expect("address").to_string();
    let stalled = Arc::new(AtomicBool::new(false));
    let flag = stalled.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(&upstream).await else {
                continue;
            };
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::spawn(pipe(client_read, server_write, flag.clone()));
            tokio::spawn(pipe(server_read, client_write, flag.clone()));
        }
    });
    (address, stalled)
}

/// The platform's kubeconfig with its server at `address` instead.
fn kubeconfig_through(original: &Path, address: &str, dir: &Path) -> (PathBuf, String) {
    let text = std::fs::read_to_string(original).expect("kubeconfig");
    let server = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .expect("a server")
        .trim()
        .to_owned();
    let upstream = server.trim_start_matches("https://").to_owned();
    let path = dir.join("through-proxy.kubeconfig");
    std::fs::write(&path, text.replace(&server, &format!("https://{address}"))).expect("write");
    (path, upstream)
}

/// A replica's process, killed and reaped when dropped.
struct Replica(Child);

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn replica(name: &str, kubeconfig: &Path, namespace: &str, log: &Path) -> Replica {
    let child = Command::new(agent_binary())
        .args([
            "run",
            "--metrics-address",
            "127.0.0.1:0",
            "--leader-elect-lease",
            LEASE,
            "--leader-elect-namespace",
            namespace,
        ])
        .env("KUBECONFIG", kubeconfig)
        .env("POD_NAME", name)
        .env("RUST_LOG", "info")
        .env(
            "KRATIX_AGENT_STATE_DIR",
            log.parent().expect("dir").join(format!("{name}-state")),
        )
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log"))
        .spawn()
        .expect("replica starts");
    Replica(child)
}

async fn holder(leases: &Api<Lease>) -> Option<String> {
    leases
        .get_opt(LEASE)
        .await
        .ok()
        .flatten()
        .and_then(|l| l.spec?.holder_identity)
}

#[tokio::test]
async fn a_leader_whose_renewal_hangs_stops_before_the_standby_takes_over() {
    let platform = kratix_tests::platform!();
    let client = platform.client().await;
    install_kratix_crds(&client).await;
    let namespace = platform.namespace(&client, "leader").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, upstream) = kubeconfig_through(&platform.kubeconfig, "unused", dir.path());
    let (proxy, stalled) = stalling_proxy(upstream).await;
    let (through_proxy, _) = kubeconfig_through(&platform.kubeconfig, &proxy, dir.path());
    let leases: Api<Lease> = Api::namespaced(client.clone(), &namespace);

    let a_log = dir.path().join("replica-a.log");
    let mut a = replica("replica-a", &through_proxy, &namespace, &a_log);
    let deadline = Instant::now() + Duration::from_secs(60);
    while holder(&leases).await.as_deref() != Some("replica-a") {
        assert!(
            Instant::now() < deadline,
            "replica-a never led: {}",
            std::fs::read_to_string(&a_log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let b_log = dir.path().join("replica-b.log");
    let mut b = replica("replica-b", &platform.kubeconfig, &namespace, &b_log);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        holder(&leases).await.as_deref(),
        Some("replica-a"),
        "the standby waits"
    );
    assert!(b.0.try_wait().expect("b").is_none(), "the standby stands by");

    // The API server stops answering the leader.
    stalled.store(true, Ordering::Relaxed);
    let stalled_at = Instant::now();
    let mut a_stopped: Option<Duration> = None;
    let mut b_leads: Option<Duration> = None;
    while stalled_at.elapsed() < Duration::from_secs(90) && b_leads.is_none() {
        if a_stopped.is_none() && a.0.try_wait().expect("a").is_some() {
            a_stopped = Some(stalled_at.elapsed());
        }
        if holder(&leases).await.as_deref() == Some("replica-b") {
            b_leads = Some(stalled_at.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(b);
    drop(a);
    stalled.store(false, Ordering::Relaxed);
    let a_said = std::fs::read_to_string(&a_log).unwrap_or_default();
    let b_said = std::fs::read_to_string(&b_log).unwrap_or_default();
    let (Some(a_stopped), Some(b_leads)) = (a_stopped, b_leads) else {
        panic!(
            "after the stall: replica-a stopped at {a_stopped:?}, replica-b led at {b_leads:?}\n--- a:\n{a_said}\n--- b:\n{b_said}"
        );
    };
    assert!(
        a_stopped < b_leads,
        "the old leader stopped {a_stopped:?} after the stall, the new one led at {b_leads:?}\n--- a:\n{a_said}"
    );
    assert!(a_said.contains("lost the leader lease"), "{a_said}");
}
