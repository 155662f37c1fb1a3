//! `workflows trigger PROMISE [RESOURCE] [--all-resources] [--wait]`: the
//! labels Kratix re-runs workflows for, and with `--wait` the run followed to
//! its end (as `kubectl rollout status` follows a rollout).

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use k8s_openapi::api::batch::v1::Job;
use kratix_shared::api::labels;
use kratix_shared::api::{Workflow, WorkflowAction, WorkflowType};
use kratix_shared::report::run_progress::{self, RunProgress};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use crate::cli::TriggerArgs;
use crate::cluster::kratix_objects::{self as objects, LivePromise, Namespaces};
use crate::cluster::workflow_subject::WorkflowSubject;
use crate::cluster::{Cluster, explain};
use crate::display::table;

/// One object whose new run is awaited.
struct Target<'p> {
    subject: WorkflowSubject<'p>,
    /// How messages name it.
    label: String,
    api: Api<DynamicObject>,
    /// The Jobs of its last run before the trigger: Kratix's own record names
    /// no Jobs, so a new run is told from the last by its Jobs.
    before: BTreeSet<String>,
    last: Option<RunProgress>,
    outcome: Option<RunProgress>,
    /// Deleted while waited for: with --all-resources not a failure.
    deleted: bool,
}

fn refuse_paused(subject: &WorkflowSubject<'_>) -> Result<()> {
    let paused = if subject.is_paused() {
        subject.describe()
    } else if subject.promise.is_paused() {
        format!("promise/{}", subject.promise.name)
    } else {
        return Ok(());
    };
    bail!(
        "{paused} is paused (label {}): nothing runs until it is removed (kubectl label ... {}-)",
        labels::PAUSED,
        labels::PAUSED
    )
}

fn refuse_empty(promise: &LivePromise, workflow_type: WorkflowType) -> Result<()> {
    let workflow = Workflow {
        workflow_type,
        action: WorkflowAction::Configure,
    };
    if objects::pipeline_names(promise, workflow).is_empty() {
        bail!(
            "Promise {} has no {workflow} pipelines (spec.workflows.{}.configure is empty): there is nothing to run",
            promise.name,
            workflow_type.as_str()
        );
    }
    Ok(())
}

async fn label(cluster: &Cluster, api: &Api<DynamicObject>, name: &str, key: &str, what: &str) -> Result<()> {
    let patch = json!({"metadata": {"labels": {key: "true"}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| explain(&e, cluster, &format!("labelling {what}")))?;
    Ok(())
}

pub async fn run(args: &TriggerArgs) -> Result<ExitCode> {
    let cluster = args.cluster.connect().await?;
    let promise = objects::promise(&cluster, &args.promise).await?;
    let mut targets = if args.all_resources {
        match trigger_all_requests(&cluster, &promise).await? {
            Some(targets) => targets,
            None => return Ok(ExitCode::SUCCESS),
        }
    } else if let Some(name) = &args.resource {
        vec![trigger_request(&cluster, args, &promise, name).await?]
    } else {
        vec![trigger_promise(&cluster, &promise).await?]
    };
    if !args.wait {
        return Ok(ExitCode::SUCCESS);
    }
    if !objects::agent_installed(&cluster).await {
        eprintln!(
            "warning: no Kratix agent runs in {}: nothing will pick the trigger up; kubectl kratix install installs it",
            labels::SYSTEM_NAMESPACE
        );
    }
    wait(&cluster, &mut targets, args, &promise.name).await
}

impl<'p> Target<'p> {
    /// A target not yet looked at since the trigger; its last run's Jobs
    /// are read now, before the label (the agent may start the new run at once).
    async fn before_trigger(cluster: &Cluster, subject: WorkflowSubject<'p>) -> Result<Self> {
        let jobs = jobs_unless_named(cluster, subject.object(), &subject).await?;
        let jobs: Vec<&Job> = jobs.iter().collect();
        let before = run_progress::recorded_jobs(subject.object(), &jobs);
        Ok(Target {
            label: subject.describe(),
            api: subject.api(cluster),
            subject,
            before,
            last: None,
            outcome: None,
            deleted: false,
        })
    }
}

/// `--all-resources`: labels the Promise so every request not paused
/// re-runs; none when there is no request to re-run.
async fn trigger_all_requests<'p>(
    cluster: &Cluster,
    promise: &'p LivePromise,
) -> Result<Option<Vec<Target<'p>>>> {
    let own = WorkflowSubject::of_promise(promise);
    objects::api_of(promise)?;
    refuse_paused(&own)?;
    refuse_empty(promise, WorkflowType::Resource)?;
    let listed = objects::requests(cluster, promise, &Namespaces::All, None).await?;
    let mut targets = Vec::new();
    for request in listed {
        let subject = WorkflowSubject::of_request(promise, request);
        if subject.is_paused() {
            eprintln!(
                "{} is paused (label {}): skipped",
                subject.describe(),
                labels::PAUSED
            );
            continue;
        }
        targets.push(Target::before_trigger(cluster, subject).await?);
    }
    if targets.is_empty() {
        println!("Promise {} has no requests to re-run", promise.name);
        return Ok(None);
    }
    let promise_label = own.describe();
    label(
        cluster,
        &own.api(cluster),
        &promise.name,
        labels::RECONCILE_RESOURCES,
        &promise_label,
    )
    .await?;
    println!(
        "{promise_label} labelled {}: the workflows of its {} requests re-run",
        labels::RECONCILE_RESOURCES,
        targets.len()
    );
    Ok(Some(targets))
}

/// `RESOURCE`: labels the one request for a manual re-run.
async fn trigger_request<'p>(
    cluster: &Cluster,
    args: &TriggerArgs,
    promise: &'p LivePromise,
    name: &str,
) -> Result<Target<'p>> {
    objects::api_of(promise)?;
    let namespace = objects::namespace_or_default(cluster, args.cluster.namespace.as_deref());
    let request = objects::request(cluster, promise, &namespace, name).await?;
    let subject = WorkflowSubject::of_request(promise, request);
    refuse_paused(&subject)?;
    refuse_empty(promise, WorkflowType::Resource)?;
    trigger_one(cluster, subject).await
}

/// No `RESOURCE`: labels the Promise for a manual re-run of its own workflow.
async fn trigger_promise<'p>(cluster: &Cluster, promise: &'p LivePromise) -> Result<Target<'p>> {
    let subject = WorkflowSubject::of_promise(promise);
    refuse_paused(&subject)?;
    refuse_empty(promise, WorkflowType::Promise)?;
    trigger_one(cluster, subject).await
}

/// Labels one object for a manual re-run, its last run read first.
async fn trigger_one<'p>(cluster: &Cluster, subject: WorkflowSubject<'p>) -> Result<Target<'p>> {
    let target = Target::before_trigger(cluster, subject).await?;
    label(
        cluster,
        &target.api,
        target.subject.name(),
        labels::MANUAL_RECONCILIATION,
        &target.label,
    )
    .await?;
    println!("{} labelled {}", target.label, labels::MANUAL_RECONCILIATION);
    Ok(target)
}

/// The object's Jobs when its record (`object`, as read now) names none
/// (Kratix's own), else none are needed.
async fn jobs_unless_named(
    cluster: &Cluster,
    object: &Value,
    subject: &WorkflowSubject<'_>,
) -> Result<Vec<Job>> {
    if run_progress::progress_names_jobs(object) {
        return Ok(Vec::new());
    }
    subject.jobs(cluster).await
}

/// Follows every target's new run to its end, or until the timeout.
async fn wait(
    cluster: &Cluster,
    targets: &mut [Target<'_>],
    args: &TriggerArgs,
    promise: &str,
) -> Result<ExitCode> {
    let started = Instant::now();
    let deadline = started + args.timeout;
    // With --all-resources the Promise's label goes first, then each request's.
    loop {
        for target in targets.iter_mut().filter(|t| t.outcome.is_none()) {
            poll(cluster, target, started).await?;
        }
        let done = targets.iter().filter(|t| t.outcome.is_some()).count();
        if done == targets.len() {
            break;
        }
        if Instant::now() > deadline {
            let waiting: Vec<&str> = targets
                .iter()
                .filter(|t| t.outcome.is_none())
                .map(|t| t.label.as_str())
                .collect();
            eprintln!(
                "error: timed out after {} waiting for {}; kubectl kratix workflows status {promise} shows where they are",
                table::short_duration(args.timeout.as_secs() as i64),
                waiting.join(", ")
            );
            return Ok(ExitCode::from(1));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(verdict(targets, args, promise, started))
}

/// Reads one target once: reports a change in its run's progress and
/// records the outcome when the run has ended.
async fn poll(cluster: &Cluster, target: &mut Target<'_>, started: Instant) -> Result<()> {
    let object = match target.api.get(target.subject.name()).await {
        Ok(object) => serde_json::to_value(&object)?,
        Err(error) if kratix_shared::api::answers::is_not_found(&error) => {
            println!("{}: deleted while waiting", target.label);
            target.deleted = true;
            target.outcome = Some(RunProgress::Failed {
                pipeline: "-".to_owned(),
                message: "deleted".to_owned(),
            });
            return Ok(());
        }
        Err(kube::Error::Api(status)) if status.code == 403 => {
            return Err(explain(
                &kube::Error::Api(status),
                cluster,
                &format!("reading {}", target.label),
            ));
        }
        // A dropped connection or a busy API server: try again until the deadline.
        Err(e) => {
            eprintln!("warning: reading {}: {e}; retrying", target.label);
            return Ok(());
        }
    };
    let jobs = jobs_unless_named(cluster, &object, &target.subject).await?;
    let jobs: Vec<&Job> = jobs.iter().collect();
    let progress = run_progress::run_progress(&object, &target.before, &jobs);
    if target.last.as_ref() != Some(&progress) {
        report(target, &progress, started);
        target.last = Some(progress.clone());
    }
    match progress {
        RunProgress::Succeeded | RunProgress::Failed { .. } => target.outcome = Some(progress),
        RunProgress::Suspended { retry_at: None, .. } => target.outcome = Some(progress),
        _ => {}
    }
    Ok(())
}

/// Once every run has ended: success only if each succeeded (a request
/// deleted meanwhile does not count against --all-resources).
fn verdict(targets: &[Target<'_>], args: &TriggerArgs, promise: &str, started: Instant) -> ExitCode {
    let failed: Vec<&Target<'_>> = targets
        .iter()
        .filter(|t| !matches!(t.outcome, Some(RunProgress::Succeeded)))
        .filter(|t| !(args.all_resources && t.deleted))
        .collect();
    let took = table::short_duration(started.elapsed().as_secs() as i64);
    if failed.is_empty() {
        println!(
            "{} workflow{} succeeded in {took}",
            targets.len(),
            if targets.len() == 1 { "" } else { "s" }
        );
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "error: {} of {} workflows did not succeed; kubectl kratix workflows logs {promise} [RESOURCE] shows their pipelines' logs",
        failed.len(),
        targets.len()
    );
    ExitCode::from(1)
}

fn report(target: &Target<'_>, progress: &RunProgress, started: Instant) {
    let at = table::short_duration(started.elapsed().as_secs() as i64);
    match progress {
        RunProgress::Waiting => println!("{}: waiting for the agent to start the run", target.label),
        RunProgress::Running {
            index,
            total,
            pipeline,
        } => {
            println!(
                "{}: pipeline {pipeline} running ({}/{total}) [{at}]",
                target.label,
                index + 1
            );
        }
        RunProgress::Succeeded => println!("{}: workflow succeeded [{at}]", target.label),
        RunProgress::Failed { pipeline, message } => {
            let detail = if message.is_empty() {
                String::new()
            } else {
                format!(": {message}")
            };
            println!("{}: pipeline {pipeline} failed{detail} [{at}]", target.label);
        }
        RunProgress::Suspended {
            pipeline,
            message,
            retry_at,
        } => match retry_at {
            Some(at) => println!(
                "{}: pipeline {pipeline} suspended until {at}: {message}",
                target.label
            ),
            None => println!(
                "{}: pipeline {pipeline} suspended the workflow: {message} (remove the label {} to resume)",
                target.label,
                labels::WORKFLOW_SUSPENDED
            ),
        },
    }
}
