//! The agent at scale: N requests (500 unless `AGENT_SCALE_REQUESTS` says
//! otherwise) of a Promise with two resource configure pipelines, on a fresh
//! instant-mode platform (the genuine control plane; the node runs the Kratix
//! containers as host processes, the release agent binary, and counts the
//! user containers as succeeded at once).
//!
//! First the floor: the same number of Jobs (2 N), with the pipelines' pod
//! shape (the reader, the user container and the work-writer as init
//! containers, the status-writer as the main one, three emptyDir volumes),
//! created directly with no agent, every container a host process that exits
//! at once; timed until all are Complete. Then the agent. Prints the agent's
//! time as a ratio of the floor, its API requests and reconciles per request,
//! its CPU seconds and peak RSS, against the targets.
//! `AGENT_SCALE_KEEP=1` leaves the platform (`agent-bench`) running.
//!
//! Run: `cargo bench -p kratix-tests --bench agent_scale`

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use futures::StreamExt as _;
use k8s_openapi::api::batch::v1::Job;
use kratix_tests::fixtures::bench_promise;
use kratix_tests::suites::support::{Platform, agent_binary_release, ensure_namespace, install_kratix_crds};
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use kube::runtime::WatchStreamExt as _;
use serde_json::json;

const ENV: &str = "agent-bench";
const ADAPTER: &str = "localhost/kratix-agent:bench";
/// The floor's image: every container runs `/bin/true` as a host process.
const FLOOR_IMAGE: &str = "localhost/bench-floor:v1";
const TARGET_RATIO: f64 = 2.0;
const TARGET_RSS_MIB: f64 = 64.0;

fn testenv() -> Command {
    Command::new(env!("CARGO_BIN_EXE_testenv"))
}

/// `GET path` on the agent's endpoint; the body.
fn http_get(address: &str, path: &str) -> Result<String> {
    let mut stream =
        std::net::TcpStream::connect(address).with_context(|| format!("connecting to {address}"))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default())
}

/// The sum of a counter's series in the exposition text.
fn counter_total(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// CPU seconds (user + system) a process has used.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat; after the comm they are 12 and 13.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn completed(object: &DynamicObject) -> bool {
    object.data["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "ConfigureWorkflowCompleted" && c["status"] == "True")
        && object.data["status"]["kratix"]["workflows"]["configure"]["pipelines"]
            .as_array()
            .is_some_and(|p| p.len() == 2 && p.iter().all(|p| p["phase"] == "Succeeded"))
}

async fn namespace(client: &kube::Client, name: &str) -> Result<()> {
    ensure_namespace(client, name)
        .await
        .with_context(|| format!("creating namespace {name}"))
}

async fn wait<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return Ok(value);
        }
        if start.elapsed() > timeout {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn job_complete(job: &Job) -> bool {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Complete" && c.status == "True"))
}

/// Waits until `count` distinct objects of `api` are `done`, calling
/// `progress` with the count as each one is. A watch, not a poll: listing
/// every object each second would load the API server the benchmark measures.
async fn watch_until_all<K>(
    api: &Api<K>,
    count: usize,
    what: &str,
    done: impl Fn(&K) -> bool,
    mut progress: impl FnMut(usize),
) -> Result<()>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    let mut seen = std::collections::BTreeSet::new();
    let events = kube::runtime::watcher(api.clone(), kube::runtime::watcher::Config::default())
        .default_backoff()
        .applied_objects();
    let mut events = std::pin::pin!(events);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    while seen.len() < count {
        let next = tokio::time::timeout_at(deadline, events.next())
            .await
            .map_err(|_| anyhow::anyhow!("timed out: {}/{count} {what}", seen.len()))?;
        let Some(object) = next else {
            bail!("the watch ended before {count} {what}");
        };
        let object = object.with_context(|| format!("watching until {count} {what}"))?;
        if done(&object) && seen.insert(object.meta().name.clone().unwrap_or_default()) {
            progress(seen.len());
        }
    }
    Ok(())
}

/// A Job shaped as a pipeline's: the Kratix containers around one user
/// container, as init containers, then the status-writer.
fn floor_job(name: &str) -> Result<Job> {
    let container = |name: &str| {
        json!({"name": name, "image": FLOOR_IMAGE, "command": ["/bin/true"],
            "volumeMounts": [
                {"name": "shared-input", "mountPath": "/kratix/input"},
                {"name": "shared-output", "mountPath": "/kratix/output"},
                {"name": "shared-metadata", "mountPath": "/kratix/metadata"}]})
    };
    Ok(serde_json::from_value(json!({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
        "spec": {"backoffLimit": 0, "template": {"spec": {
            "restartPolicy": "Never",
            "initContainers": [container("reader"), container("main"), container("work-writer")],
            "containers": [container("status-writer")],
            "volumes": [
                {"name": "shared-input", "emptyDir": {}},
                {"name": "shared-output", "emptyDir": {}},
                {"name": "shared-metadata", "emptyDir": {}}]
        }}}
    }))?)
}

/// The floor: `jobs` Jobs created directly (16 at a time, as the requests
/// are), timed until every one is Complete. Seconds.
/// Every request the API server has served so far (its own metric), to see
/// how much work a phase costs the whole platform.
async fn apiserver_requests(client: &kube::Client) -> Result<f64> {
    let request = http::Request::get("/metrics").body(Vec::new())?;
    let text = client
        .request_text(request)
        .await
        .context("reading the API server's metrics")?;
    Ok(counter_total(&text, "apiserver_request_total{"))
}

async fn measure_floor(client: &kube::Client, jobs: usize) -> Result<(f64, f64)> {
    let served_before = apiserver_requests(client).await?;
    namespace(client, "floor").await?;
    kratix_tests::suites::support::wait_for_default_service_account(client, "floor").await;
    let api: Api<Job> = Api::namespaced(client.clone(), "floor");
    let start = Instant::now();
    let created: Vec<Result<Job, kube::Error>> = futures::stream::iter(0..jobs)
        .map(|i| {
            let api = api.clone();
            async move {
                let job = floor_job(&format!("floor-{i:04}")).map_err(|e| kube::Error::Service(e.into()))?;
                api.create(&PostParams::default(), &job).await
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    if let Some(Err(error)) = created.into_iter().find(Result::is_err) {
        bail!("creating the floor's Jobs: {error}");
    }
    watch_until_all(&api, jobs, "floor Jobs complete", job_complete, |_| {}).await?;
    let seconds = start.elapsed().as_secs_f64();
    let served = apiserver_requests(client).await? - served_before;
    eprintln!("  floor: {jobs} Jobs Complete after {seconds:.1} s");
    // Out of the agent's way: its run is measured on a quiet platform.
    kube::Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
        .delete("floor", &kube::api::DeleteParams::default())
        .await
        .context("deleting the floor's namespace")?;
    Ok((seconds, served))
}

async fn measure(platform: &Platform, agent_binary: &Path, requests: usize) -> Result<()> {
    let client = platform.client().await;
    install_kratix_crds(&client).await;
    namespace(&client, "kratix-platform-system").await?;
    namespace(&client, "bench").await?;
    let (floor, floor_served) = measure_floor(&client, 2 * requests).await?;
    let address = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.local_addr()?.to_string()
    };
    let log_path = std::env::temp_dir().join("agent-bench-agent.log");
    let log = std::fs::File::create(&log_path)?;
    let mut agent = Command::new(agent_binary)
        .args([
            "run",
            "--pipeline-adapter-image",
            ADAPTER,
            "--leader-elect=false",
            "--metrics-address",
            &address,
        ])
        .env("KUBECONFIG", &platform.kubeconfig)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("starting the agent")?;
    let result = async {
        wait("the agent's endpoint", Duration::from_secs(30), || async {
            http_get(&address, "/readyz").ok().filter(|b| b == "ok")
        })
        .await?;
        let promises: Api<DynamicObject> = Api::all_with(
            client.clone(),
            &ApiResource::erase::<kratix_shared::api::Promise>(&()),
        );
        promises
            .create(&PostParams::default(), &serde_json::from_value(bench_promise::two_pipeline_promise("bench", "bench.example.org"))?)
            .await
            .context("creating the Promise")?;
        wait("the Promise to be Available", Duration::from_secs(60), || async {
            let promise = promises.get("bench").await.ok()?;
            (promise.data["status"]["status"] == "Available").then_some(())
        })
        .await?;
        let before = http_get(&address, "/metrics")?;
        let baseline = counter_total(&before, "kratix_agent_api_requests_total");
        let baseline_reconciles = counter_total(&before, "kratix_agent_reconciles_total");
        let resource = ApiResource {
            group: "bench.example.org".into(),
            version: "v1".into(),
            api_version: "bench.example.org/v1".into(),
            kind: "Cache".into(),
            plural: "caches".into(),
        };
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "bench", &resource);
        let served_before = apiserver_requests(&client).await?;
        let start = Instant::now();
        let created: Vec<Result<DynamicObject, kube::Error>> = futures::stream::iter(0..requests)
            .map(|i| {
                let api = api.clone();
                async move {
                    let object: DynamicObject = serde_json::from_value(json!({
                        "apiVersion": "bench.example.org/v1", "kind": "Cache",
                        "metadata": {"name": format!("cache-{i:04}")}, "spec": {"size": "small"}
                    }))
                    .map_err(kube::Error::SerdeError)?;
                    api.create(&PostParams::default(), &object).await
                }
            })
            .buffer_unordered(16)
            .collect()
            .await;
        if let Some(Err(error)) = created.into_iter().find(Result::is_err) {
            bail!("creating the requests: {error}");
        }
        watch_until_all(&api, requests, "workflows completed", completed, |count| {
            if count % 50 == 0 || count == 1 || count == requests {
                eprintln!(
                    "  {count}/{requests} completed after {:.1} s",
                    start.elapsed().as_secs_f64()
                );
            }
        })
        .await?;
        let seconds = start.elapsed().as_secs_f64();
        let metrics = http_get(&address, "/metrics")?;
        let calls = counter_total(&metrics, "kratix_agent_api_requests_total") - baseline;
        let reconciles = counter_total(&metrics, "kratix_agent_reconciles_total") - baseline_reconciles;
        let rss = peak_rss_mib(agent.id()).unwrap_or(f64::NAN);
        let cpu = cpu_seconds(agent.id()).unwrap_or(f64::NAN);
        let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
        println!();
        println!(
            "agent at scale: {requests} requests of a Promise with two configure pipelines (instant mode)"
        );
        let served = apiserver_requests(&client).await? - served_before;
        let ratio = seconds / floor;
        println!(
            "  every workflow completed in {seconds:.1} s; the floor ({} Jobs of the same shape, no agent) in {floor:.1} s",
            2 * requests
        );
        println!(
            "  ratio to the floor: {ratio:.2}   (target <= {TARGET_RATIO}: {})",
            verdict(ratio <= TARGET_RATIO)
        );
        println!(
            "  API server requests per Job: {:.1} with the agent (its own, the pipelines' and the platform's), {:.1} in the floor",
            served / (2 * requests) as f64,
            floor_served / (2 * requests) as f64
        );
        println!(
            "  agent API requests: {:.1} per resource request ({calls:.0} in all)",
            calls / requests as f64
        );
        let by_method: Vec<String> = metrics
            .lines()
            .filter(|l| l.starts_with("kratix_agent_api_requests_total{"))
            .filter_map(|l| {
                let method = l.split("method=\"").nth(1)?.split('"').next()?;
                let value: f64 = l.rsplit(' ').next()?.parse().ok()?;
                let series = &l[..l.rfind(' ')?];
                let before = before
                    .lines()
                    .find(|b| b.starts_with(series))
                    .and_then(|b| b.rsplit(' ').next()?.parse::<f64>().ok())
                    .unwrap_or(0.0);
                Some(format!("{method} {:.1}", (value - before) / requests as f64))
            })
            .collect();
        println!("  of which, per resource request: {}", by_method.join(", "));
        println!(
            "  agent reconciles: {:.1} per resource request",
            reconciles / requests as f64
        );
        println!("  agent CPU time: {cpu:.1} s (the control plane, the node and the pipeline processes share the machine)");
        let limit = kratix_shared::install::agent_manifests::MEMORY_LIMIT_MIB;
        println!(
            "  agent peak RSS: {rss:.1} MiB   (target < {TARGET_RSS_MIB} MiB: {}; under half the Deployment's {limit} MiB limit: {})",
            verdict(rss < TARGET_RSS_MIB),
            verdict(rss < f64::from(limit) / 2.0)
        );
        Ok(())
    }
    .await;
    let _ = agent.kill();
    let _ = agent.wait();
    if result.is_err() {
        eprintln!("the agent's log: {}", log_path.display());
    }
    result
}

fn main() -> Result<()> {
    let requests: usize = std::env::var("AGENT_SCALE_REQUESTS")
        .ok()
        .map(|v| v.parse().context("AGENT_SCALE_REQUESTS must be a number"))
        .transpose()?
        .unwrap_or(500);
    let agent_binary = agent_binary_release();
    let _ = testenv().args(["down", "--name", ENV]).output();
    let mapping = format!("{ADAPTER}={}", agent_binary.display());
    let floor_mapping = format!("{FLOOR_IMAGE}=/bin/true");
    let up = testenv()
        .args(["up", "--name", ENV, "--instant", "--host-image", &mapping])
        .args(["--host-image", &floor_mapping])
        .output()
        .context("running tests/testenv up")?;
    if !up.status.success() {
        bail!("testenv up failed:\n{}", String::from_utf8_lossy(&up.stderr));
    }
    let platform = Platform::attach(ENV).context("the bench platform did not stay up")?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime.block_on(measure(&platform, &agent_binary, requests));
    if std::env::var("AGENT_SCALE_KEEP").as_deref() != Ok("1") {
        let _ = testenv().args(["down", "--name", ENV]).output();
    }
    result
}
