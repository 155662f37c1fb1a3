//! `workflows logs PROMISE [RESOURCE]`: a run's pipeline pods, pipeline by
//! pipeline, each container in the order it runs, every line prefixed with a
//! coloured `pipeline › container` whose colours come from the names (so they
//! are the same on every run). `-f` follows containers as they start until the
//! workflow ends. Log lines go to stdout; `+ pipeline › container (pod)`
//! markers to stderr, as stern does.

use std::collections::{BTreeMap, HashSet};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, bail};
use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kratix_shared::api::labels;
use kratix_shared::api::promise::{PipelineStatus, WorkflowRecord};
use kratix_shared::api::{Workflow, WorkflowAction, WorkflowType};
use kratix_shared::report::pipeline_runs::{self, ContainerStage, RunJob};
use kratix_shared::report::run_progress;
use kratix_shared::report::workflow as workflow_report;
use kratix_shared::workflow::engine::{FAILED, SUCCEEDED, SUSPENDED};
use kube::ResourceExt as _;
use kube::api::{Api, DynamicObject, ListParams, LogParams};
use serde_json::Value;

use crate::cli::LogsArgs;
use crate::cluster::kratix_objects::{self as objects, LivePromise};
use crate::cluster::workflow_subject::WorkflowSubject;
use crate::cluster::{Cluster, explain};
use crate::display::log_lines::LogPrinter;
use crate::preferences;

fn pod_name(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap_or_default()
}

/// The Job label every Kubernetes version puts on a Job's pods (1.27 added
/// `batch.kubernetes.io/job-name` beside it).
const LEGACY_JOB_NAME_LABEL: &str = "job-name";

pub async fn run(args: &LogsArgs) -> Result<ExitCode> {
    let preferences = preferences::load()?;
    let colour = preferences::stdout_colour(args.color, &preferences);
    let cluster = args.cluster.connect().await?;
    let promise = objects::promise(&cluster, &args.promise).await?;
    let subject = match &args.resource {
        None => WorkflowSubject::of_promise(&promise),
        Some(name) => {
            objects::api_of(&promise)?;
            let namespace = objects::namespace_or_default(&cluster, args.cluster.namespace.as_deref());
            let request = objects::request(&cluster, &promise, &namespace, name).await?;
            WorkflowSubject::of_request(&promise, request)
        }
    };
    let printer = LogPrinter::to_stdout(colour);
    if args.follow {
        follow(&cluster, &subject, args, &printer).await
    } else {
        past_run(&cluster, &subject, args, &printer).await
    }
}

fn position(subject: &WorkflowSubject<'_>, action: &str, pipeline: &str) -> Option<usize> {
    let action = match action {
        "delete" => WorkflowAction::Delete,
        _ => WorkflowAction::Configure,
    };
    subject.pipeline_names(action).iter().position(|p| p == pipeline)
}

async fn pods_of(cluster: &Cluster, namespace: &str, job: &str) -> Result<Vec<Pod>> {
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), namespace);
    let listed = pods
        .list(&ListParams::default().labels(&format!("{LEGACY_JOB_NAME_LABEL}={job}")))
        .await
        .map_err(|e| explain(&e, cluster, &format!("listing the pods of Job {job}")))?;
    let mut pods = listed.items;
    pods.sort_by_key(|p| {
        (
            p.metadata.creation_timestamp.clone().map(|t| t.0),
            p.metadata.name.clone(),
        )
    });
    Ok(pods)
}

fn log_params(args: &LogsArgs, follow: bool, container: &str) -> LogParams {
    LogParams {
        container: Some(container.to_owned()),
        follow,
        since_seconds: args.since.map(|d| d.as_secs().max(1) as i64),
        tail_lines: args.tail,
        timestamps: args.timestamps,
        ..LogParams::default()
    }
}

fn wanted(args: &LogsArgs, pipeline: &str, container: &str) -> bool {
    args.pipeline.as_deref().is_none_or(|p| p == pipeline)
        && args.container.as_deref().is_none_or(|c| c == container)
}

/// A finished or running run, `--run N` back.
async fn past_run(
    cluster: &Cluster,
    subject: &WorkflowSubject<'_>,
    args: &LogsArgs,
    printer: &LogPrinter,
) -> Result<ExitCode> {
    let namespace = subject.jobs_namespace();
    let listed = subject.jobs(cluster).await?;
    let all_runs = pipeline_runs::runs(listed.iter().map(RunJob::of).collect(), |a, p| {
        position(subject, a, p)
    });
    let Some(run) = all_runs.iter().rev().nth(args.run) else {
        if all_runs.is_empty() {
            bail!(
                "no pipeline Jobs of {} in namespace {}: the workflow has not run (kubectl kratix workflows status {} shows why)",
                subject.describe(),
                namespace,
                subject.promise.name
            );
        }
        bail!(
            "--run {}: only {} run{} of {} kept (the kratix ConfigMap's numberOfJobsToKeep sets how many); --run 0 is the latest",
            args.run,
            all_runs.len(),
            if all_runs.len() == 1 { " is" } else { "s are" },
            subject.describe()
        );
    };
    let mut shown = 0;
    for job in run {
        let pods = pods_of(cluster, &namespace, &job.name).await?;
        if pods.is_empty() && args.pipeline.as_deref().is_none_or(|p| p == job.pipeline) {
            eprintln!(
                "- {} (job {}): no pods left (Kubernetes deletes them when a Job with restartPolicy OnFailure fails); -f on the next run shows its logs as they are written",
                printer.prefix(&job.pipeline, "*"),
                job.name
            );
        }
        for pod in pods {
            for container in pipeline_runs::containers_in_run_order(&pod) {
                if !wanted(args, &job.pipeline, &container) {
                    continue;
                }
                let stage = pipeline_runs::container_stage(&pod, &container);
                if matches!(stage, ContainerStage::Waiting | ContainerStage::Skipped) {
                    printer.marker('-', &job.pipeline, &container, pod_name(&pod), "did not run");
                    continue;
                }
                printer.marker('+', &job.pipeline, &container, pod_name(&pod), "");
                let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &namespace);
                let name = pod.metadata.name.clone().unwrap_or_default();
                match pods.logs(&name, &log_params(args, false, &container)).await {
                    Ok(text) => {
                        for line in text.lines() {
                            printer.line(&job.pipeline, &container, line)?;
                        }
                    }
                    Err(e) => printer.marker(
                        '!',
                        &job.pipeline,
                        &container,
                        pod_name(&pod),
                        &explain(&e, cluster, "reading logs").to_string(),
                    ),
                }
                shown += 1;
            }
        }
    }
    if shown == 0 && (args.pipeline.is_some() || args.container.is_some()) {
        bail!(
            "no container of this run matches --pipeline/--container; leave them out to see every container"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Follows the current (or next) run: pipeline after pipeline as the
/// object's progress names their Jobs, each container as it starts.
async fn follow(
    cluster: &Cluster,
    subject: &WorkflowSubject<'_>,
    args: &LogsArgs,
    printer: &LogPrinter,
) -> Result<ExitCode> {
    let api = subject.api(cluster);
    let namespace = subject.jobs_namespace();
    let promises: Api<DynamicObject> = Api::all_with(cluster.client.clone(), &objects::promise_resource());
    let mut follower = Follower {
        cluster,
        args,
        printer,
        namespace: namespace.clone(),
        pods: Api::namespaced(cluster.client.clone(), &namespace),
        done: HashSet::new(),
    };
    let mut waiting_said = false;
    loop {
        let object = match read_followed(cluster, subject, &api).await? {
            Reading::Found(object) => object,
            Reading::Deleted => {
                eprintln!("{} was deleted; its workflow has ended", subject.describe());
                return Ok(ExitCode::SUCCESS);
            }
            Reading::Retry => continue,
        };
        let promise = promise_now(subject, &promises, &object).await?;
        let promise = promise.as_ref().unwrap_or(subject.promise);
        let object_labels = object.labels().clone();
        let object = serde_json::to_value(&object)?;
        let progress = workflow_report::progress_of(&object);
        refuse_unrunnable(subject, &progress, &object_labels, promise)?;
        // Kratix's own record names no Jobs: its Jobs' labels say which is whose.
        let listed = if run_progress::progress_names_jobs(&object) {
            Vec::new()
        } else {
            subject.jobs(cluster).await?
        };
        let listed: Vec<&Job> = listed.iter().collect();
        let entries = run_progress::entries_with_jobs(&object, &listed);
        if run_not_started(subject, &progress, &object, &promise.object) {
            if !waiting_said {
                eprintln!("waiting for the workflow of {} to start", subject.describe());
                waiting_said = true;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        match follower.pass(&entries).await? {
            Pass::Blocked => tokio::time::sleep(Duration::from_millis(500)).await,
            Pass::Ended => {
                eprintln!("the workflow of {} has ended", subject.describe());
                return Ok(ExitCode::SUCCESS);
            }
            Pass::Stopped => return Ok(ExitCode::SUCCESS),
        }
    }
}

/// One read of the followed object.
enum Reading {
    Found(Box<DynamicObject>),
    Deleted,
    /// A passing failure, already warned about: read again.
    Retry,
}

/// The followed object as it is now; a dropped connection or a busy API
/// server is only a reason to try again.
async fn read_followed(
    cluster: &Cluster,
    subject: &WorkflowSubject<'_>,
    api: &Api<DynamicObject>,
) -> Result<Reading> {
    match api.get(subject.name()).await {
        Ok(object) => Ok(Reading::Found(Box::new(object))),
        Err(error) if kratix_shared::api::answers::is_not_found(&error) => Ok(Reading::Deleted),
        Err(kube::Error::Api(status)) => Err(explain(
            &kube::Error::Api(status),
            cluster,
            &format!("reading {}", subject.describe()),
        )),
        // A dropped connection or a busy API server: try again.
        Err(e) => {
            eprintln!("warning: reading {}: {e}; retrying", subject.describe());
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok(Reading::Retry)
        }
    }
}

/// The Promise as it is now, when it was read again: its spec is part of a
/// request's hash. None: the Promise as first read is all there is.
async fn promise_now(
    subject: &WorkflowSubject<'_>,
    promises: &Api<DynamicObject>,
    object: &DynamicObject,
) -> Result<Option<LivePromise>> {
    Ok(match subject.workflow_type() {
        WorkflowType::Promise => Some(objects::live(object)?),
        WorkflowType::Resource => match promises.get(&subject.promise.name).await {
            Ok(promise) => Some(objects::live(&promise)?),
            Err(_) => None,
        },
    })
}

/// Ends following with an error when no run can come: the Promise has no
/// pipelines for it, or the object or its Promise is paused.
fn refuse_unrunnable(
    subject: &WorkflowSubject<'_>,
    progress: &WorkflowRecord,
    object_labels: &BTreeMap<String, String>,
    promise: &LivePromise,
) -> Result<()> {
    let workflow = Workflow {
        workflow_type: subject.workflow_type(),
        action: WorkflowAction::Configure,
    };
    if progress.pipelines.is_empty() && objects::pipeline_names(promise, workflow).is_empty() {
        bail!(
            "Promise {} has no {workflow} pipelines: there is no run to follow",
            subject.promise.name
        );
    }
    let paused = if labels::is_on(object_labels, labels::PAUSED) {
        subject.describe()
    } else if promise.is_paused() {
        format!("promise/{}", subject.promise.name)
    } else {
        return Ok(());
    };
    bail!(
        "{paused} is paused (label {}): nothing runs until it is removed",
        labels::PAUSED
    )
}

/// Whether the run to follow is still to start: none recorded, a trigger
/// pending, or a spec change the agent has not started a run for yet.
fn run_not_started(
    subject: &WorkflowSubject<'_>,
    progress: &WorkflowRecord,
    object: &Value,
    promise: &Value,
) -> bool {
    let current_hash = match subject.workflow_type() {
        WorkflowType::Promise => kratix_shared::api::hash::spec_hash(object),
        WorkflowType::Resource => kratix_shared::api::hash::resource_hash(promise, object),
    };
    let stale = progress.run_hash().is_some_and(|h| h != current_hash);
    progress.pipelines.is_empty() || run_progress::trigger_pending(object) || stale
}

/// Where one pass over the run's pipelines got to.
enum Pass {
    /// A pipeline, pod or container is still to come: look again shortly.
    Blocked,
    /// Every pipeline succeeded.
    Ended,
    /// A pipeline failed or suspended the workflow: nothing more runs.
    Stopped,
}

/// Streams a run's containers as they start, each once.
struct Follower<'a> {
    cluster: &'a Cluster,
    args: &'a LogsArgs,
    printer: &'a LogPrinter,
    /// Where the pipeline pods run.
    namespace: String,
    pods: Api<Pod>,
    /// (pod, container) pairs already streamed or passed over.
    done: HashSet<(String, String)>,
}

impl Follower<'_> {
    /// Goes through the pipelines in order, streaming what has started, as
    /// far as the run has got.
    async fn pass(&mut self, entries: &[(PipelineStatus, Option<String>)]) -> Result<Pass> {
        for (pipeline, job) in entries {
            let Some(job) = job else {
                return Ok(Pass::Blocked);
            };
            if self.stream_job(&pipeline.name, job).await? {
                return Ok(Pass::Blocked);
            }
            match pipeline.phase.as_str() {
                SUCCEEDED => continue,
                // Suspended until a retry time: the agent resumes it then.
                SUSPENDED if pipeline.next_retry_at.is_some() => return Ok(Pass::Blocked),
                FAILED | SUSPENDED => {
                    // Another pod may still come (a Job retrying); the phase is final.
                    eprintln!(
                        "pipeline {} {}: the workflow stops here",
                        pipeline.name,
                        pipeline.phase.to_lowercase()
                    );
                    return Ok(Pass::Stopped);
                }
                _ => return Ok(Pass::Blocked),
            }
        }
        Ok(Pass::Ended)
    }

    /// Streams the pods of one pipeline's Job; true when a container it
    /// must wait for has not started yet.
    async fn stream_job(&mut self, pipeline: &str, job: &str) -> Result<bool> {
        for pod in pods_of(self.cluster, &self.namespace, job).await? {
            if self.stream_pod(pipeline, &pod).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Streams each of the pod's containers in run order; true when one it
    /// must wait for has not started yet.
    async fn stream_pod(&mut self, pipeline: &str, pod: &Pod) -> Result<bool> {
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        for container in pipeline_runs::containers_in_run_order(pod) {
            let key = (pod_name.clone(), container.clone());
            if self.done.contains(&key) {
                continue;
            }
            // Containers start one after another: re-read the pod for each.
            let current = self.pods.get(&pod_name).await.unwrap_or_else(|_| pod.clone());
            let stage = pipeline_runs::container_stage(&current, &container);
            if stage == ContainerStage::Skipped {
                self.done.insert(key);
                continue;
            }
            if !wanted(self.args, pipeline, &container) {
                if stage == ContainerStage::Waiting {
                    return Ok(true);
                }
                self.done.insert(key);
                continue;
            }
            // The pod's status can lag the container: the logs API says
            // first whether it has started.
            let params = log_params(self.args, true, &container);
            let reader = match self.pods.log_stream(&pod_name, &params).await {
                Ok(reader) => reader,
                Err(e) if stage == ContainerStage::Waiting => {
                    tracing::debug!(%e, pod = %pod_name, %container, "not started yet");
                    return Ok(true);
                }
                Err(e) => {
                    self.printer
                        .marker('!', pipeline, &container, &pod_name, &e.to_string());
                    self.done.insert(key);
                    continue;
                }
            };
            self.done.insert(key);
            self.printer.marker('+', pipeline, &container, &pod_name, "");
            consume(reader, pipeline, &container, self.printer).await?;
        }
        Ok(false)
    }
}

async fn consume(
    reader: impl futures::AsyncBufRead + Unpin,
    pipeline: &str,
    container: &str,
    printer: &LogPrinter,
) -> Result<()> {
    let mut lines = reader.lines();
    while let Some(line) = lines.next().await {
        match line {
            Ok(line) => printer.line(pipeline, container, &line)?,
            Err(e) => {
                tracing::debug!(%e, pipeline, container, "log stream ended");
                break;
            }
        }
    }
    Ok(())
}
