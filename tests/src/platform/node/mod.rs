//! The node: what a kubelet does on a real cluster, with podman and runc.
//! It authenticates as `system:node:testenv-node`, registers its Node and
//! keeps its Lease, runs the pods the scheduler binds to it, writes their
//! status as the kubelet does, stops the containers of a pod being deleted
//! and then removes it, and serves `/containerLogs` to the API server so
//! `kubectl logs` and `pods/log` go through the real API server.
//!
//! Everything else (Jobs, Deployments, garbage collection, admission, RBAC,
//! the scheduler) is Kubernetes' own.

pub mod host;
pub mod kubelet;
pub mod log_server;
pub mod logged;
pub mod logs;
pub mod pod_env;
pub mod pod_status;
pub mod podman;
pub mod registration;
pub mod strays;
pub mod volumes;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, ResourceExt};
use serde_json::json;
use tokio::sync::{Notify, watch};

use crate::error::{Result, StepContext};
use crate::platform::certs::{NODE_NAME, Pki};

/// What the node needs from its environment.
pub struct NodeContext {
    /// The node's own client (`system:node:testenv-node`): the Node authorizer
    /// lets it read only what its pods reference.
    pub client: kube::Client,
    pub env_name: String,
    pub pods_dir: PathBuf,
    pub containers_conf: PathBuf,
    /// The API server's port, which in-cluster clients reach on loopback.
    pub api_port: u16,
    /// The port the node serves container logs on.
    pub node_port: u16,
    pub pki: Pki,
    /// Instant mode: images run as host processes; every other container succeeds at once.
    pub instant: Option<host::HostImages>,
}

const RESYNC: Duration = Duration::from_secs(2);
/// How often containers of deleted pods are looked for.
const ORPHAN_SWEEP: Duration = Duration::from_secs(5);

/// One pod this node runs.
struct PodTask {
    terminate: watch::Sender<bool>,
    finished: Arc<AtomicBool>,
    abort: tokio::task::AbortHandle,
    /// The final removal was sent (a pod being deleted, its containers stopped).
    removed: bool,
}

/// Registers the node, serves logs, and runs the pods bound to it until the process ends.
pub async fn run(ctx: Arc<NodeContext>) -> Result<()> {
    registration::register(&ctx).await?;
    tokio::spawn(registration::heartbeat(ctx.clone()));
    let changed = Arc::new(Notify::new());
    let pods = watch_own_pods(&ctx.client, changed.clone());
    let server = log_server::start(ctx.clone(), pods.clone()).await?;
    pods.wait_until_ready().await.step("listing the node's pods")?;
    let mut tasks: HashMap<String, PodTask> = HashMap::new();
    let mut last_sweep = tokio::time::Instant::now();
    // The loop must never wait on podman: a pod being deleted has to hear of it
    // within its grace period however slow podman is under load.
    let sweeping = Arc::new(AtomicBool::new(false));
    loop {
        if server.is_finished() {
            return server
                .await
                .step("serving container logs")
                .and_then(|served| served);
        }
        sync_pods(&ctx, &pods, &mut tasks).await;
        if last_sweep.elapsed() >= ORPHAN_SWEEP
            && ctx.instant.is_none()
            && !sweeping.swap(true, Ordering::SeqCst)
        {
            let live: Vec<String> = pods.state().iter().filter_map(|p| p.uid()).collect();
            let (ctx, sweeping) = (ctx.clone(), sweeping.clone());
            tokio::spawn(async move {
                podman::remove_orphaned_containers(&ctx.containers_conf, &ctx.env_name, live.clone()).await;
                let env = ctx.env_name.clone();
                let _ = tokio::task::spawn_blocking(move || strays::kill_orphans(&env, &live)).await;
                sweeping.store(false, Ordering::SeqCst);
            });
            last_sweep = tokio::time::Instant::now();
        }
        let _ = tokio::time::timeout(RESYNC, changed.notified()).await;
    }
}

/// The pods bound to this node, as the kubelet watches them.
fn watch_own_pods(client: &kube::Client, notify: Arc<Notify>) -> Store<Pod> {
    let api: Api<Pod> = Api::all(client.clone());
    let config = watcher::Config::default().fields(&format!("spec.nodeName={NODE_NAME}"));
    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(writer, watcher(api, config).default_backoff());
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream.applied_objects());
        while let Some(event) = stream.next().await {
            if let Err(error) = event {
                tracing::debug!(%error, "pod watch error");
            }
            notify.notify_one();
        }
    });
    reader
}

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or_default()
}

/// Starts new pods, stops pods being deleted and removes them once their
/// containers have stopped, and forgets pods that are gone.
async fn sync_pods(ctx: &Arc<NodeContext>, pods: &Store<Pod>, tasks: &mut HashMap<String, PodTask>) {
    let current = pods.state();
    let live: Vec<String> = current.iter().filter_map(|p| p.uid()).collect();
    let gone: Vec<String> = tasks.keys().filter(|uid| !live.contains(uid)).cloned().collect();
    for uid in gone {
        if let Some(task) = tasks.remove(&uid) {
            task.abort.abort();
        }
        let conf = ctx.containers_conf.clone();
        tokio::spawn(async move { podman::remove_pod_containers(&conf, &uid).await });
    }
    for pod in current {
        let Some(uid) = pod.uid() else { continue };
        let deleting = pod.metadata.deletion_timestamp.is_some();
        match tasks.get_mut(&uid) {
            Some(task) if deleting => {
                if !*task.terminate.borrow() {
                    tracing::info!(pod = %pod.name_any(), namespace = %pod.namespace().unwrap_or_default(), "stopping a deleted pod");
                }
                task.terminate.send_replace(true);
                if task.finished.load(Ordering::SeqCst) && !task.removed {
                    task.removed = remove(ctx, &pod).await;
                }
            }
            Some(_) => {}
            None if deleting => {
                // Never started here (or left by an earlier node process): nothing runs.
                if remove(ctx, &pod).await {
                    tasks.insert(uid, finished_task());
                }
            }
            None => {
                let started_before = pod.status.as_ref().is_some_and(|s| s.start_time.is_some());
                if matches!(phase(&pod), "Succeeded" | "Failed") {
                    continue;
                }
                if started_before {
                    // Started by an earlier node process: it cannot resume.
                    mark_lost(ctx, &pod).await;
                    tasks.insert(uid, finished_task());
                    continue;
                }
                let (terminate, terminating) = watch::channel(false);
                let finished = Arc::new(AtomicBool::new(false));
                let done = finished.clone();
                let ctx = ctx.clone();
                let pod = (*pod).clone();
                let task = tokio::spawn(async move {
                    kubelet::run_pod(ctx, pod, terminating).await;
                    done.store(true, Ordering::SeqCst);
                });
                tasks.insert(
                    uid,
                    PodTask {
                        terminate,
                        finished,
                        abort: task.abort_handle(),
                        removed: false,
                    },
                );
            }
        }
    }
}

fn finished_task() -> PodTask {
    let (terminate, _) = watch::channel(true);
    PodTask {
        terminate,
        finished: Arc::new(AtomicBool::new(true)),
        abort: tokio::spawn(async {}).abort_handle(),
        removed: true,
    }
}

/// The kubelet's final word on a deleted pod whose containers have stopped:
/// delete it with no grace period, for exactly this pod (its UID).
async fn remove(ctx: &NodeContext, pod: &Pod) -> bool {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &pod.namespace().unwrap_or_default());
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions {
            uid: pod.uid(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(&pod.name_any(), &params).await {
        Ok(_) => true,
        Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => true,
        Err(error) => {
            tracing::warn!(pod = %pod.name_any(), %error, "removing a deleted pod failed");
            false
        }
    }
}

/// A pod an earlier node process started: it ran on this node and cannot
/// resume, as when a real node restarts under a pod with no restart policy.
async fn mark_lost(ctx: &NodeContext, pod: &Pod) {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &pod.namespace().unwrap_or_default());
    let patch = json!({"status": {"phase": "Failed", "reason": "NodeLost", "message": "the testenv node restarted while the pod ran"}});
    if let Err(error) = api
        .patch_status(&pod.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        tracing::warn!(pod = %pod.name_any(), %error, "marking a pod lost failed");
    }
}
