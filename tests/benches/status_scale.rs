//! `kubectl kratix workflows status -A` over N resource requests (1,000 unless
//! `STATUS_SCALE_REQUESTS` says otherwise) against `kubectl get` of the same
//! requests, on a fresh local platform. Each request carries the status the
//! agent writes after a two-pipeline run (progress with Job names, three
//! conditions, an output), spread over ten namespaces; no agent runs, so the
//! figures are the two commands' alone. Both run through kubectl, as a user
//! runs them: the release plugin, `RUNS` times each, and the medians are
//! printed with their ratio.
//!
//! Run: `cargo bench -p kratix-tests --bench status_scale`

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use futures::StreamExt as _;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kratix_tests::fixtures::bench_promise;
use kratix_tests::suites::support::{
    Platform, ensure_namespace, install_kratix_crds, plugin_binary_release, wait_established,
};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

const ENV: &str = "status-bench";
const NAMESPACES: usize = 10;
const RUNS: usize = 5;
const GROUP: &str = "statusbench.example.org";

fn testenv() -> Command {
    Command::new(env!("CARGO_BIN_EXE_testenv"))
}

/// What the agent leaves on a request after both pipelines ran.
fn status(namespace: &str, name: &str) -> Value {
    let at = "2026-12-01T10:00:00Z";
    let condition = |kind: &str, reason: &str, message: &str| json!({"type": kind, "status": "True", "reason": reason, "message": message, "lastTransitionTime": at});
    json!({"status": {
        "message": "Resource requested",
        "conditions": [
            condition("ConfigureWorkflowCompleted", "PipelinesExecutedSuccessfully", "Pipelines completed"),
            condition("WorksSucceeded", "WorksSucceeded", "All works associated with this resource are ready"),
            condition("Reconciled", "Reconciled", "Reconciled"),
        ],
        "lastSuccessfulConfigureWorkflowTime": at,
        "kratix": {
            "workflows": {"configure": {
                "lastSuccessfulConfigureWorkflowTime": at,
                "pipelines": [
                    {"name": "first", "hash": "0123456789abcdef0123456789abcdef", "phase": "Succeeded",
                     "attempts": 1, "lastTransitionTime": at,
                     "jobName": format!("kratix-statusbench-{name}-first-a1b2c")},
                    {"name": "second", "hash": "0123456789abcdef0123456789abcdef", "phase": "Succeeded",
                     "attempts": 1, "lastTransitionTime": at,
                     "jobName": format!("kratix-statusbench-{name}-second-d3e4f")}
                ]
            }},
            "outputs": [{"pipeline": "first", "destination": "worker-1",
                         "path": format!("worker-1/resources/{namespace}/statusbench/{name}/first"),
                         "versionID": "4f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39"}]
        }
    }})
}

async fn namespace(client: &kube::Client, name: &str) -> Result<()> {
    ensure_namespace(client, name)
        .await
        .with_context(|| format!("creating namespace {name}"))
}

async fn populate(platform: &Platform, requests: usize) -> Result<()> {
    let client = platform.client().await;
    install_kratix_crds(&client).await;
    namespace(&client, "kratix-platform-system").await?;
    for index in 0..NAMESPACES {
        namespace(&client, &format!("bench-{index}")).await?;
    }
    let promises: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::erase::<kratix_shared::api::Promise>(&()),
    );
    promises
        .create(
            &PostParams::default(),
            &serde_json::from_value(bench_promise::two_pipeline_promise("statusbench", GROUP))?,
        )
        .await
        .context("creating the Promise")?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(
        &PostParams::default(),
        &serde_json::from_value(bench_promise::cache_api(GROUP))?,
    )
    .await
    .context("creating the requests' CRD")?;
    wait_established(&client, &format!("caches.{GROUP}")).await;
    let resource = ApiResource {
        group: GROUP.into(),
        version: "v1".into(),
        api_version: format!("{GROUP}/v1"),
        kind: "Cache".into(),
        plural: "caches".into(),
    };
    let results: Vec<Result<()>> = futures::stream::iter(0..requests)
        .map(|i| {
            let client = client.clone();
            let resource = resource.clone();
            async move {
                let namespace = format!("bench-{}", i % NAMESPACES);
                let name = format!("cache-{i:04}");
                let api: Api<DynamicObject> = Api::namespaced_with(client, &namespace, &resource);
                let object: DynamicObject = serde_json::from_value(json!({
                    "apiVersion": format!("{GROUP}/v1"), "kind": "Cache",
                    "metadata": {"name": name, "namespace": namespace,
                                 "labels": {"kratix.io/promise-name": "statusbench"}},
                    "spec": {"size": "small"}
                }))?;
                api.create(&PostParams::default(), &object)
                    .await
                    .with_context(|| format!("creating {name}"))?;
                api.patch_status(
                    &name,
                    &PatchParams::default(),
                    &Patch::Merge(status(&namespace, &name)),
                )
                .await
                .with_context(|| format!("writing the status of {name}"))?;
                Ok(())
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<()>>>()?;
    Ok(())
}

/// Runs a command `RUNS` times; the median wall time and the last output.
fn median_of(mut command: impl FnMut() -> Command, what: &str) -> Result<(Duration, String)> {
    let mut times = Vec::with_capacity(RUNS);
    let mut last = String::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let output = command().output().with_context(|| format!("running {what}"))?;
        times.push(start.elapsed());
        if !output.status.success() {
            bail!("{what} failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        last = String::from_utf8_lossy(&output.stdout).into_owned();
    }
    times.sort();
    Ok((times[RUNS / 2], last))
}

fn measure(platform: &Platform, plugin: &Path, requests: usize) -> Result<()> {
    let plugin_dir = plugin.parent().context("the plugin's directory")?;
    let path = format!(
        "{}:{}",
        plugin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let kubectl = || {
        let mut command = platform.kubectl();
        command
            .env("PATH", &path)
            .env("KUBECTL_KRATIX_CONFIG", "/dev/null");
        command
    };
    let (status_time, status_out) = median_of(
        || {
            let mut command = kubectl();
            command.args(["kratix", "workflows", "status", "statusbench", "-A"]);
            command
        },
        "kubectl kratix workflows status -A",
    )?;
    let (get_time, get_out) = median_of(
        || {
            let mut command = kubectl();
            command.args(["get", &format!("caches.{GROUP}"), "-A"]);
            command
        },
        "kubectl get -A",
    )?;
    let status_rows = status_out.lines().filter(|l| l.contains("cache/cache-")).count();
    let get_rows = get_out.lines().count().saturating_sub(1);
    if status_rows != requests * 2 || get_rows != requests {
        bail!(
            "expected {requests} requests ({} pipeline rows): status printed {status_rows} rows, kubectl get {get_rows}",
            requests * 2
        );
    }
    println!(
        "requests:                                {requests} in {NAMESPACES} namespaces, 2 pipelines each"
    );
    println!(
        "kubectl kratix workflows status -A:      {:.3} s (median of {RUNS})",
        status_time.as_secs_f64()
    );
    println!(
        "kubectl get -A:                          {:.3} s (median of {RUNS})",
        get_time.as_secs_f64()
    );
    println!(
        "ratio (status / get):                    {:.2}",
        status_time.as_secs_f64() / get_time.as_secs_f64()
    );
    Ok(())
}

fn main() -> Result<()> {
    let requests: usize = std::env::var("STATUS_SCALE_REQUESTS")
        .ok()
        .map(|v| v.parse().context("STATUS_SCALE_REQUESTS must be a number"))
        .transpose()?
        .unwrap_or(1000);
    let plugin = plugin_binary_release();
    let _ = testenv().args(["down", "--name", ENV]).output();
    let up = testenv()
        .args(["up", "--name", ENV, "--instant"])
        .output()
        .context("running tests/testenv up")?;
    if !up.status.success() {
        bail!("testenv up failed:\n{}", String::from_utf8_lossy(&up.stderr));
    }
    let platform = Platform::attach(ENV).context("the bench platform did not stay up")?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime
        .block_on(populate(&platform, requests))
        .and_then(|()| measure(&platform, &plugin, requests));
    if std::env::var("STATUS_SCALE_KEEP").as_deref() != Ok("1") {
        let _ = testenv().args(["down", "--name", ENV]).output();
    }
    result
}
