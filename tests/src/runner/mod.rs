//! The runner: the platform's Job controller, Deployment controller and kubelet.

pub mod deployments;
pub mod host;
pub mod jobs;
pub mod kubelet;
pub mod logged;
pub mod pod_env;
pub mod pod_state;
pub mod pod_status;
pub mod podman;
pub mod strays;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, ResourceExt};
use serde_json::{Value, json};
use tokio::sync::{Mutex, Notify};

use crate::identity::Tokens;

/// What the runner needs from its environment.
pub struct RunnerContext {
    /// Admin client (through the proxy, so the core group is at /api/v1).
    pub client: kube::Client,
    pub env_name: String,
    pub pods_dir: PathBuf,
    pub containers_conf: PathBuf,
    /// The proxy's TLS port, which in-cluster clients use.
    pub api_port: u16,
    pub ca_cert: String,
    pub tokens: Tokens,
    /// Instant mode: images run as host processes; every other container succeeds at once.
    pub instant: Option<host::HostImages>,
}

const RESYNC: Duration = Duration::from_secs(2);
/// How often containers of deleted pods are looked for.
const ORPHAN_SWEEP: Duration = Duration::from_secs(5);

fn now() -> Time {
    Time(Timestamp::now())
}

fn random_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..5].to_owned()
}

/// A reflector store kept up to date by a background task; `notify` fires on every change.
fn watch<K>(api: Api<K>, notify: Arc<Notify>) -> Store<K>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone,
{
    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(writer, watcher(api, watcher::Config::default()).default_backoff());
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream.applied_objects());
        while let Some(event) = stream.next().await {
            if let Err(error) = event {
                tracing::debug!(%error, "watch error");
            }
            notify.notify_one();
        }
    });
    reader
}

/// Starts the controllers and the kubelet; runs until the process ends.
pub async fn run(ctx: Arc<RunnerContext>) {
    let client = ctx.client.clone();
    let changed = Arc::new(Notify::new());
    let jobs = watch(Api::<Job>::all(client.clone()), changed.clone());
    let deployments = watch(Api::<Deployment>::all(client.clone()), changed.clone());
    let pods = watch(Api::<Pod>::all(client.clone()), changed.clone());
    let _ = tokio::join!(
        jobs.wait_until_ready(),
        deployments.wait_until_ready(),
        pods.wait_until_ready()
    );
    let running: Mutex<HashMap<String, tokio::task::AbortHandle>> = Mutex::new(HashMap::new());
    let mut last_sweep = tokio::time::Instant::now();
    loop {
        reconcile_jobs(&ctx, &jobs, &pods).await;
        reconcile_deployments(&ctx, &deployments, &pods).await;
        run_pods(&ctx, &pods, &running).await;
        if last_sweep.elapsed() >= ORPHAN_SWEEP && ctx.instant.is_none() {
            let live: Vec<String> = pods.state().iter().filter_map(|p| p.uid()).collect();
            podman::remove_orphaned_containers(&ctx.containers_conf, &ctx.env_name, live.clone()).await;
            let env = ctx.env_name.clone();
            let _ = tokio::task::spawn_blocking(move || strays::kill_orphans(&env, &live)).await;
            last_sweep = tokio::time::Instant::now();
        }
        let _ = tokio::time::timeout(RESYNC, changed.notified()).await;
    }
}

fn owned_by<'a>(pods: &'a [Arc<Pod>], kind: &str, uid: &str) -> Vec<&'a Arc<Pod>> {
    pods.iter()
        .filter(|p| {
            p.owner_references()
                .iter()
                .any(|o| o.kind == kind && o.uid == uid)
        })
        .collect()
}

/// Merge patch replacing `status` whole (absent fields become null).
fn status_patch(old: Option<Value>, new: Value) -> Value {
    let mut patch = new;
    if let (Some(Value::Object(old)), Value::Object(patch)) = (old, &mut patch) {
        for key in old.keys() {
            patch.entry(key.clone()).or_insert(Value::Null);
        }
    }
    json!({"status": patch})
}

async fn delete_pods(client: &kube::Client, namespace: &str, names: &[String]) {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    for name in names {
        if let Err(error) = api.delete(name, &DeleteParams::default()).await {
            tracing::debug!(%name, %error, "pod deletion failed");
        }
    }
}

async fn service_account_exists(client: &kube::Client, namespace: &str, pod: &Pod) -> bool {
    let account = pod
        .spec
        .as_ref()
        .and_then(|s| s.service_account_name.clone())
        .unwrap_or_else(|| "default".to_owned());
    if account == "default" {
        return true;
    }
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    matches!(api.get_opt(&account).await, Ok(Some(_)))
}

async fn reconcile_jobs(ctx: &RunnerContext, jobs: &Store<Job>, pods: &Store<Pod>) {
    let all_pods = pods.state();
    let all_jobs = jobs.state();
    for job in &all_jobs {
        let namespace = job.namespace().unwrap_or_default();
        let uid = job.uid().unwrap_or_default();
        if job.spec.as_ref().is_some_and(|s| s.selector.is_none()) {
            // What the API server's Job defaulting does: select the Job's own pods.
            let api: Api<Job> = Api::namespaced(ctx.client.clone(), &namespace);
            let labels = json!({jobs::CONTROLLER_UID_LABEL: uid, jobs::JOB_NAME_LABEL: job.name_any()});
            let patch = json!({"spec": {"selector": {"matchLabels": {jobs::CONTROLLER_UID_LABEL: uid}},
                "template": {"metadata": {"labels": labels}}}});
            if let Err(error) = api
                .patch(&job.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                tracing::debug!(job = %job.name_any(), %error, "selector defaulting failed");
            }
        }
        let owned: Vec<Pod> = owned_by(&all_pods, "Job", &uid)
            .into_iter()
            .map(|p| (**p).clone())
            .collect();
        let plan = jobs::plan(job, &owned, &now());
        delete_pods(&ctx.client, &namespace, &plan.delete_pods).await;
        let api: Api<Job> = Api::namespaced(ctx.client.clone(), &namespace);
        if plan.create_pod {
            let pod = jobs::pod_for(job, &random_suffix());
            if !service_account_exists(&ctx.client, &namespace, &pod).await {
                tracing::info!(job = %job.name_any(), "waiting for the pod's service account");
                continue;
            }
            let pods_api: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
            if let Err(error) = pods_api.create(&PostParams::default(), &pod).await {
                tracing::warn!(job = %job.name_any(), %error, "pod creation failed");
                continue;
            }
        }
        if let Some(status) = plan.status {
            let old = job.status.as_ref().and_then(|s| serde_json::to_value(s).ok());
            let patch = status_patch(old, serde_json::to_value(&status).unwrap_or_default());
            if let Err(error) = api
                .patch_status(&job.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                tracing::debug!(job = %job.name_any(), %error, "job status update failed");
            }
        }
    }
    // No garbage collector: pods of deleted Jobs go here.
    collect_orphans(
        ctx,
        &all_pods,
        "Job",
        &all_jobs.iter().filter_map(|j| j.uid()).collect::<Vec<_>>(),
    )
    .await;
}

async fn reconcile_deployments(ctx: &RunnerContext, deployments: &Store<Deployment>, pods: &Store<Pod>) {
    let all_pods = pods.state();
    let all = deployments.state();
    for deployment in &all {
        let namespace = deployment.namespace().unwrap_or_default();
        let uid = deployment.uid().unwrap_or_default();
        let owned: Vec<Pod> = owned_by(&all_pods, "Deployment", &uid)
            .into_iter()
            .map(|p| (**p).clone())
            .collect();
        let plan = deployments::plan(deployment, &owned, &now());
        delete_pods(&ctx.client, &namespace, &plan.delete_pods).await;
        let pods_api: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
        for _ in 0..plan.create_pods {
            let pod = deployments::pod_for(deployment, &random_suffix());
            if !service_account_exists(&ctx.client, &namespace, &pod).await {
                break;
            }
            if let Err(error) = pods_api.create(&PostParams::default(), &pod).await {
                tracing::warn!(deployment = %deployment.name_any(), %error, "pod creation failed");
            }
        }
        if let Some(status) = plan.status {
            let api: Api<Deployment> = Api::namespaced(ctx.client.clone(), &namespace);
            let old = deployment
                .status
                .as_ref()
                .and_then(|s| serde_json::to_value(s).ok());
            let patch = status_patch(old, serde_json::to_value(&status).unwrap_or_default());
            let _ = api
                .patch_status(
                    &deployment.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await;
        }
    }
    collect_orphans(
        ctx,
        &all_pods,
        "Deployment",
        &all.iter().filter_map(|d| d.uid()).collect::<Vec<_>>(),
    )
    .await;
}

async fn collect_orphans(ctx: &RunnerContext, pods: &[Arc<Pod>], kind: &str, owners: &[String]) {
    for pod in pods {
        let orphaned = pod
            .owner_references()
            .iter()
            .any(|o| o.kind == kind && o.controller == Some(true) && !owners.contains(&o.uid));
        if orphaned {
            delete_pods(
                &ctx.client,
                &pod.namespace().unwrap_or_default(),
                &[pod.name_any()],
            )
            .await;
        }
    }
}

async fn run_pods(
    ctx: &Arc<RunnerContext>,
    pods: &Store<Pod>,
    running: &Mutex<HashMap<String, tokio::task::AbortHandle>>,
) {
    let mut running = running.lock().await;
    let current = pods.state();
    let live: Vec<String> = current.iter().filter_map(|p| p.uid()).collect();
    let gone: Vec<String> = running
        .keys()
        .filter(|uid| !live.contains(uid))
        .cloned()
        .collect();
    for uid in gone {
        if let Some(handle) = running.remove(&uid) {
            handle.abort();
        }
        podman::remove_pod_containers(&ctx.containers_conf, &uid).await;
    }
    for pod in current {
        let Some(uid) = pod.uid() else { continue };
        let phase = pod
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .unwrap_or_default();
        let finished = matches!(phase, "Succeeded" | "Failed");
        // A pod with a phase that this runner never started was left by an earlier
        // daemon: it cannot resume.
        if running.contains_key(&uid) || finished || pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        if !phase.is_empty() {
            let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &pod.namespace().unwrap_or_default());
            let patch = json!({"status": {"phase": "Failed", "reason": "NodeLost", "message": "the runner restarted while the pod ran"}});
            let _ = api
                .patch_status(&pod.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
                .await;
            continue;
        }
        let task = tokio::spawn(kubelet::run_pod(ctx.clone(), (*pod).clone()));
        running.insert(uid, task.abort_handle());
    }
    // Finished tasks stay recorded until their pod is gone: a stale copy of the
    // pod in the store must not look like a pod nobody runs.
}
