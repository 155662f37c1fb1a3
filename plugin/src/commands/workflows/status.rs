//! `workflows status [PROMISE] [RESOURCE]`: every selected object's workflow,
//! pipeline by pipeline, then (for one Promise or one request) its conditions
//! and outputs. `--watch` prints again whenever a Promise, request or Job changes.

use std::collections::{BTreeSet, HashMap};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use futures::{StreamExt, stream};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kratix_shared::api::{WorkflowAction, labels, selectors};
use kratix_shared::report::workflow::{self as workflow_report, NOT_STARTED, ReportInput, WorkflowReport};
use kube::ResourceExt as _;
use kube::api::{Api, DynamicObject};
use kube::core::SelectorExt as _;
use kube::runtime::watcher;
use serde_json::json;

use crate::cli::{ReportFormat, StatusArgs};
use crate::cluster::Cluster;
use crate::cluster::kratix_objects::{self as objects, LivePromise, Namespaces};
use crate::cluster::workflow_subject::WorkflowSubject;
use crate::display::table;
use crate::preferences;

pub async fn run(args: &StatusArgs) -> Result<ExitCode> {
    let preferences = preferences::load()?;
    let format = args.output.or(preferences.output).unwrap_or(ReportFormat::Table);
    let colour = preferences::stdout_colour(args.color, &preferences);
    let cluster = args.cluster.connect().await?;
    let namespaces = if args.all_namespaces {
        Namespaces::All
    } else {
        Namespaces::One(objects::namespace_or_default(
            &cluster,
            args.cluster.namespace.as_deref(),
        ))
    };
    let mut last = String::new();
    let mut agent_warned = false;
    let mut changes = if args.watch {
        Some(change_stream(&cluster, args, &namespaces).await?)
    } else {
        None
    };
    loop {
        let reports = gather(&cluster, args, &namespaces).await?;
        let text = print(&reports, args, format, colour, &namespaces)?;
        if text != last {
            if !last.is_empty() && matches!(format, ReportFormat::Table | ReportFormat::Wide) {
                println!();
            }
            print!("{text}");
            last = text;
        }
        if reports.is_empty() && !args.watch {
            eprintln!("No Promises found; kubectl get promises lists what this cluster has.");
        }
        if !agent_warned
            && reports
                .iter()
                .any(|r| r.pipelines.iter().any(|p| p.phase == NOT_STARTED))
            && !objects::agent_installed(&cluster).await
        {
            agent_warned = true;
            eprintln!(
                "warning: no Kratix agent runs in {} (nothing will run these workflows); kubectl kratix install installs it",
                labels::SYSTEM_NAMESPACE
            );
        }
        let Some(changes) = changes.as_mut() else {
            return Ok(ExitCode::SUCCESS);
        };
        // One change usually comes with several (a Job, its object's status): settle first.
        if changes.next().await.is_none() {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        while let Some(Some(_)) = futures::FutureExt::now_or_never(changes.next()) {}
    }
}

/// The reports of everything selected: Promises first, then requests by
/// namespace and name.
async fn gather(
    cluster: &Cluster,
    args: &StatusArgs,
    namespaces: &Namespaces,
) -> Result<Vec<WorkflowReport>> {
    let promises = match &args.promise {
        Some(name) => vec![objects::promise(cluster, name).await?],
        None => objects::promises(cluster, None).await?,
    };
    let subjects = subjects(cluster, args, namespaces, &promises).await?;
    let (jobs, pods) = jobs_and_pods(cluster, &promises, &subjects, args).await?;
    let runs = RunIndex::new(&jobs, &pods);
    let now = Timestamp::now();
    let mut reports = Vec::with_capacity(subjects.len());
    for subject in &subjects {
        reports.push(report_of(cluster, subject, &runs, now).await?);
    }
    Ok(reports)
}

/// The objects to report on, each with the index of its Promise: the
/// Promises themselves (unless one request is asked for), then their requests.
async fn subjects<'p>(
    cluster: &Cluster,
    args: &StatusArgs,
    namespaces: &Namespaces,
    promises: &'p [LivePromise],
) -> Result<Vec<WorkflowSubject<'p>>> {
    let mut own = Vec::new();
    let mut of_requests = Vec::new();
    for promise in promises {
        match &args.resource {
            Some(name) => {
                let namespace = match namespaces {
                    Namespaces::One(ns) => ns.clone(),
                    Namespaces::All => "default".to_owned(),
                };
                let request = objects::request(cluster, promise, &namespace, name).await?;
                of_requests.push(WorkflowSubject::of_request(promise, request));
            }
            None => {
                own.push(WorkflowSubject::of_promise(promise));
                let requests =
                    objects::requests(cluster, promise, namespaces, args.selector.as_deref()).await?;
                of_requests.extend(
                    requests
                        .into_iter()
                        .map(|request| WorkflowSubject::of_request(promise, request)),
                );
            }
        }
    }
    own.extend(of_requests);
    Ok(own)
}

/// The listed Jobs by name and their pods by Job, indexed once: a thousand
/// requests must not scan a thousand Jobs each.
struct RunIndex<'a> {
    jobs_by_name: HashMap<(&'a str, &'a str), &'a Job>,
    pods_by_job: HashMap<(&'a str, &'a str), Vec<&'a Pod>>,
}

impl<'a> RunIndex<'a> {
    fn new(jobs: &'a [Job], pods: &'a [Pod]) -> Self {
        let mut jobs_by_name: HashMap<(&str, &str), &Job> = HashMap::new();
        for job in jobs {
            if let (Some(ns), Some(name)) = (job.metadata.namespace.as_deref(), job.metadata.name.as_deref())
            {
                jobs_by_name.insert((ns, name), job);
            }
        }
        let mut pods_by_job: HashMap<(&str, &str), Vec<&Pod>> = HashMap::new();
        for pod in pods {
            if let (Some(ns), Some(job)) = (pod.metadata.namespace.as_deref(), workflow_report::pod_job(pod))
            {
                pods_by_job.entry((ns, job)).or_default().push(pod);
            }
        }
        RunIndex {
            jobs_by_name,
            pods_by_job,
        }
    }

    /// The Jobs and pods of the object's last run, whose pipelines run in
    /// `namespace`.
    fn last_run(&self, subject: &WorkflowSubject<'_>, namespace: &str) -> (Vec<&'a Job>, Vec<&'a Pod>) {
        let object = subject.object();
        // Kratix's own record names no Jobs: the object's Jobs are found by
        // labels (a scan, so only then).
        let candidates: Vec<&Job> = if kratix_shared::report::run_progress::progress_names_jobs(object) {
            Vec::new()
        } else {
            let selector = subject.jobs_selector();
            self.jobs_by_name
                .iter()
                .filter(|((ns, _), job)| *ns == namespace && selector.matches(job.labels()))
                .map(|(_, job)| *job)
                .collect()
        };
        let recorded = kratix_shared::report::run_progress::recorded_jobs(object, &candidates);
        let jobs: Vec<&Job> = recorded
            .iter()
            .filter_map(|name| self.jobs_by_name.get(&(namespace, name.as_str())).copied())
            .collect();
        let pods: Vec<&Pod> = recorded
            .iter()
            .filter_map(|name| self.pods_by_job.get(&(namespace, name.as_str())))
            .flatten()
            .copied()
            .collect();
        (jobs, pods)
    }
}

/// The report of one object.
async fn report_of(
    cluster: &Cluster,
    subject: &WorkflowSubject<'_>,
    runs: &RunIndex<'_>,
    now: Timestamp,
) -> Result<WorkflowReport> {
    let outputs = match &subject.request {
        Some(request) => workflow_report::outputs_from_status(&request.object),
        None => workflow_report::outputs_from_works(
            &objects::promise_works(cluster, &subject.promise.name).await?,
        ),
    };
    let names = subject.pipeline_names(WorkflowAction::Configure);
    let (jobs, pods) = runs.last_run(subject, &subject.jobs_namespace());
    Ok(workflow_report::build(&ReportInput {
        object: subject.object(),
        promise: &subject.promise.name,
        configure_pipelines: &names,
        jobs: &jobs,
        pods: &pods,
        outputs,
        now,
    }))
}

/// The Jobs and pods of the namespaces the selected workflows run in: one
/// list each across the cluster with -A, else one per namespace.
async fn jobs_and_pods(
    cluster: &Cluster,
    promises: &[LivePromise],
    subjects: &[WorkflowSubject<'_>],
    args: &StatusArgs,
) -> Result<(Vec<Job>, Vec<Pod>)> {
    let promise = (promises.len() == 1).then(|| promises[0].name.as_str());
    if args.all_namespaces {
        return objects::jobs_and_pods(cluster, &Namespaces::All, promise).await;
    }
    let namespaces: BTreeSet<String> = subjects.iter().map(WorkflowSubject::jobs_namespace).collect();
    let mut all = (Vec::new(), Vec::new());
    for namespace in namespaces {
        let (jobs, pods) = objects::jobs_and_pods(cluster, &Namespaces::One(namespace), promise).await?;
        all.0.extend(jobs);
        all.1.extend(pods);
    }
    Ok(all)
}

/// Everything a change can come from: Promises, their requests, Kratix Jobs.
async fn change_stream(
    cluster: &Cluster,
    args: &StatusArgs,
    namespaces: &Namespaces,
) -> Result<stream::SelectAll<stream::BoxStream<'static, ()>>> {
    let config = watcher::Config::default();
    let mut streams: Vec<stream::BoxStream<'static, ()>> = Vec::new();
    let promises: Api<DynamicObject> = Api::all_with(cluster.client.clone(), &objects::promise_resource());
    streams.push(quiet(watcher(promises, config.clone())));
    let listed = match &args.promise {
        Some(name) => vec![objects::promise(cluster, name).await?],
        None => objects::promises(cluster, None).await?,
    };
    let job_config = watcher::Config::default().labels_from(&selectors::pipeline_objects(None));
    // Without -A, the namespaces the shown workflows run in (users with namespace
    // rights only can watch those).
    let job_apis: Vec<Api<Job>> = match namespaces {
        Namespaces::All => vec![Api::all(cluster.client.clone())],
        Namespaces::One(ns) => {
            let mut watched = BTreeSet::from([ns.clone(), labels::SYSTEM_NAMESPACE.to_owned()]);
            watched.extend(
                listed
                    .iter()
                    .map(|p| WorkflowSubject::of_promise(p).jobs_namespace()),
            );
            watched
                .iter()
                .map(|ns| Api::namespaced(cluster.client.clone(), ns))
                .collect()
        }
    };
    for jobs in job_apis {
        streams.push(quiet(watcher(jobs, job_config.clone())));
    }
    for promise in &listed {
        let Some(api) = &promise.api else { continue };
        let resource = objects::request_resource(api);
        let requests: Api<DynamicObject> = match namespaces {
            Namespaces::One(ns) if api.namespaced => {
                Api::namespaced_with(cluster.client.clone(), ns, &resource)
            }
            _ => Api::all_with(cluster.client.clone(), &resource),
        };
        streams.push(quiet(watcher(requests, config.clone())));
    }
    Ok(stream::select_all(streams))
}

/// A watcher as a stream of "something changed"; errors (a watch that
/// expired, a dropped connection) are retried by the watcher itself.
fn quiet<K, S>(events: S) -> stream::BoxStream<'static, ()>
where
    K: Send + 'static,
    S: futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
{
    events
        .filter_map(|event| async move {
            match event {
                Ok(watcher::Event::Init | watcher::Event::InitApply(_)) => None,
                Ok(_) => Some(()),
                Err(error) => {
                    // The watcher retries by itself; say why, at most every few seconds.
                    eprintln!("warning: watch interrupted ({error}); retrying");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    None
                }
            }
        })
        .boxed()
}

fn object_label(report: &WorkflowReport) -> String {
    if report.kind == "Promise" {
        format!("promise/{}", report.name)
    } else {
        format!("{}/{}", report.kind.to_ascii_lowercase(), report.name)
    }
}

fn print(
    reports: &[WorkflowReport],
    args: &StatusArgs,
    format: ReportFormat,
    colour: bool,
    namespaces: &Namespaces,
) -> Result<String> {
    match format {
        ReportFormat::Json | ReportFormat::Yaml => {
            let list = json!({"kind": "WorkflowStatusList", "items": reports});
            if format == ReportFormat::Json {
                let mut text = serde_json::to_string_pretty(&list)?;
                text.push('\n');
                Ok(text)
            } else {
                kratix_shared::codec::yaml::to_yaml_stream(&[list]).context("encoding YAML")
            }
        }
        ReportFormat::Table | ReportFormat::Wide => {
            let wide = format == ReportFormat::Wide;
            let mut out = pipelines_table(reports, wide, colour, matches!(namespaces, Namespaces::All));
            // One object asked for: its conditions and outputs too.
            let detailed = match (&args.promise, &args.resource) {
                (_, Some(_)) => reports.iter().find(|r| r.kind != "Promise"),
                (Some(_), None) => reports.iter().find(|r| r.kind == "Promise"),
                _ => None,
            };
            if let Some(report) = detailed {
                out.push_str(&details(report, colour));
            }
            Ok(out)
        }
    }
}

/// Which columns the pipelines table has, and whether it is coloured.
#[derive(Clone, Copy)]
struct Columns {
    wide: bool,
    colour: bool,
    all_namespaces: bool,
}

fn pipelines_table(reports: &[WorkflowReport], wide: bool, colour: bool, all_namespaces: bool) -> String {
    let now = Timestamp::now();
    let columns = Columns {
        wide,
        colour,
        all_namespaces,
    };
    let mut headers = Vec::new();
    if all_namespaces {
        headers.push("NAMESPACE");
    }
    headers.extend([
        "OBJECT", "PIPELINE", "PHASE", "ATTEMPTS", "LAST RUN", "DURATION", "JOB",
    ]);
    if wide {
        headers.extend(["POD", "OUTPUTS"]);
    }
    headers.push("MESSAGE");
    let mut table = if wide {
        table::wide(&headers, colour)
    } else {
        table::new(&headers, colour)
    };
    for report in reports {
        if report.pipelines.is_empty() {
            table.add_row(no_pipelines_row(report, columns));
        }
        for pipeline in &report.pipelines {
            table.add_row(pipeline_row(report, pipeline, columns, now));
        }
    }
    table::render(&table)
}

/// The cells every row starts with: the namespace (with -A) and the object.
fn object_cells(report: &WorkflowReport, columns: Columns) -> Vec<comfy_table::Cell> {
    let mut row = Vec::new();
    if columns.all_namespaces {
        row.push(comfy_table::Cell::new(report.namespace.as_deref().unwrap_or("-")));
    }
    row.push(comfy_table::Cell::new(object_label(report)));
    row
}

/// The one row of an object whose workflow has no configure pipelines.
fn no_pipelines_row(report: &WorkflowReport, columns: Columns) -> Vec<comfy_table::Cell> {
    let mut row = object_cells(report, columns);
    row.push(comfy_table::Cell::new("-"));
    row.push(comfy_table::Cell::new(if report.paused { "Paused" } else { "-" }));
    for _ in 0..4 {
        row.push(comfy_table::Cell::new("-"));
    }
    if columns.wide {
        row.push(comfy_table::Cell::new("-"));
        row.push(comfy_table::Cell::new(outputs_cell(report, None)));
    }
    let kind = if report.kind == "Promise" {
        "promise"
    } else {
        "resource"
    };
    row.push(comfy_table::Cell::new(format!("no {kind} configure pipelines")));
    row
}

/// One pipeline's row.
fn pipeline_row(
    report: &WorkflowReport,
    p: &workflow_report::PipelineReport,
    columns: Columns,
    now: Timestamp,
) -> Vec<comfy_table::Cell> {
    let mut row = object_cells(report, columns);
    let pipeline_name = if report.action == "configure" {
        p.name.clone()
    } else {
        format!("{} ({})", p.name, report.action)
    };
    row.push(comfy_table::Cell::new(pipeline_name));
    let phase = if report.paused {
        format!("{} (paused)", p.phase)
    } else {
        p.phase.clone()
    };
    row.push(table::phase_cell(&phase, columns.colour));
    row.push(comfy_table::Cell::new(table::or_dash(p.attempts)));
    row.push(comfy_table::Cell::new(
        p.last_run
            .as_deref()
            .map_or_else(|| "-".to_owned(), |t| table::age(t, now)),
    ));
    row.push(comfy_table::Cell::new(table::or_dash(
        p.duration_seconds.map(table::short_duration),
    )));
    row.push(comfy_table::Cell::new(table::or_dash(p.job.as_deref())));
    if columns.wide {
        row.push(comfy_table::Cell::new(table::or_dash(p.pod.as_deref())));
        row.push(comfy_table::Cell::new(outputs_cell(report, Some(&p.name))));
    }
    let mut message = p.message.clone().unwrap_or_default();
    if let Some(retry) = &p.next_retry_at {
        message = format!("{message} (retry at {retry})").trim().to_owned();
    }
    row.push(comfy_table::Cell::new(if message.is_empty() {
        "-".to_owned()
    } else {
        message
    }));
    row
}

/// Each pipeline's own outputs (all of them where a Work names no pipeline).
fn outputs_cell(report: &WorkflowReport, pipeline: Option<&str>) -> String {
    let listed: Vec<String> = report
        .outputs
        .iter()
        .filter(|o| pipeline.is_none() || o.pipeline.is_none() || o.pipeline.as_deref() == pipeline)
        .map(|o| {
            let version = o
                .version
                .as_deref()
                .map(|v| format!("@{}", short_version(v)))
                .unwrap_or_default();
            format!("{}:{}{version}", o.destination, o.path)
        })
        .collect();
    if listed.is_empty() {
        "-".to_owned()
    } else {
        listed.join(", ")
    }
}

/// Commits are long: 12 characters identify one, as git's short form.
fn short_version(version: &str) -> &str {
    version.get(..12).unwrap_or(version)
}

fn details(report: &WorkflowReport, colour: bool) -> String {
    let now = Timestamp::now();
    let label = object_label(report);
    let mut out = String::new();
    out.push_str(&format!("\nConditions of {label}:\n"));
    if report.conditions.is_empty() {
        out.push_str("  (none yet)\n");
    } else {
        let mut table = table::new(&["TYPE", "STATUS", "REASON", "AGE", "MESSAGE"], colour);
        for condition in &report.conditions {
            table.add_row(vec![
                comfy_table::Cell::new(&condition.condition_type),
                table::phase_cell(&condition.status, colour),
                comfy_table::Cell::new(if condition.reason.is_empty() {
                    "-"
                } else {
                    &condition.reason
                }),
                comfy_table::Cell::new(
                    condition
                        .last_transition_time
                        .as_deref()
                        .map_or_else(|| "-".to_owned(), |t| table::age(t, now)),
                ),
                comfy_table::Cell::new(if condition.message.is_empty() {
                    "-"
                } else {
                    &condition.message
                }),
            ]);
        }
        out.push_str(&table::render(&table));
    }
    out.push_str(&format!("\nOutputs of {label}:\n"));
    if report.outputs.is_empty() {
        out.push_str("  (none written yet)\n");
    } else {
        let mut table = table::new(&["PIPELINE", "DESTINATION", "PATH", "VERSION"], colour);
        for output in &report.outputs {
            table.add_row(vec![
                table::or_dash(output.pipeline.as_deref()),
                output.destination.clone(),
                output.path.clone(),
                table::or_dash(output.version.as_deref()),
            ]);
        }
        out.push_str(&table::render(&table));
    }
    out
}
