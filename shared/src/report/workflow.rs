//! What `kubectl kratix workflows status` shows for one Promise or resource
//! request: its workflow's pipelines in order (phase, attempts, last run,
//! duration, Job, pod, why it is stuck), its conditions and where its output
//! went. Built from the object, its Jobs and their pods; no IO.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use k8s_openapi::jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use crate::api::labels;
use crate::api::promise::{PipelineStatus, WorkflowRecord};
use crate::api::workflow::WorkflowAction;
use crate::workflow::jobs::{self, JobLabels};
use crate::workflow::records;

/// Phase shown for a pipeline the agent has not recorded yet.
pub const NOT_STARTED: &str = "NotStarted";
/// The label Kubernetes puts on a Job's pods.
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";

/// One object's workflow, as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowReport {
    pub kind: String,
    pub api_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    pub promise: String,
    /// `configure`, or `delete` while the delete workflow runs.
    pub action: String,
    pub pipelines: Vec<PipelineReport>,
    pub conditions: Vec<ConditionReport>,
    pub outputs: Vec<OutputReport>,
    /// `kratix.io/paused` is set: nothing runs.
    pub paused: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineReport {
    pub name: String,
    pub phase: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<i64>,
    /// When the pipeline's Job started (else its last phase change), RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<String>,
    /// How long the Job ran (so far, while it runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// The pipeline's message, else what holds its pod up (an image that
    /// does not pull, a container that exited non-zero).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_retry_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionReport {
    #[serde(rename = "type")]
    pub condition_type: String,
    pub status: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
}

/// Where a Work of the object was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<String>,
    pub destination: String,
    pub path: String,
    /// The commit (Git) or the objects' version (bucket).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// Everything a report is built from.
pub struct ReportInput<'a> {
    /// The Promise or the request, as the API returns it.
    pub object: &'a Value,
    pub promise: &'a str,
    /// The configure workflow's pipeline names, shown as not started when the
    /// agent has recorded no progress yet.
    pub configure_pipelines: &'a [String],
    /// Jobs of the object (any run); matched by the names progress records.
    pub jobs: &'a [&'a Job],
    /// Pods of those Jobs.
    pub pods: &'a [&'a Pod],
    /// Where the object's Works went (requests: `status.kratix.outputs`).
    pub outputs: Vec<OutputReport>,
    pub now: Timestamp,
}

/// The workflow record to show for `object`, in any layout Kratix or
/// kubectl-kratix wrote (its delete run's while it is going), decoded
/// leniently: a malformed status shows as none.
pub fn progress_of(object: &Value) -> WorkflowRecord {
    shown_progress(object).1
}

/// [`progress_of`], with the action the record is for.
pub fn shown_progress(object: &Value) -> (WorkflowAction, WorkflowRecord) {
    let deleting = object
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null());
    records::read_object(object).shown(deleting)
}

fn text(object: &Value, pointer: &str) -> String {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

pub fn build(input: &ReportInput<'_>) -> WorkflowReport {
    let object = input.object;
    let (action, progress) = shown_progress(object);
    let pipelines = if progress.pipelines.is_empty() {
        input
            .configure_pipelines
            .iter()
            .map(|name| PipelineReport {
                name: name.clone(),
                phase: NOT_STARTED.to_owned(),
                attempts: None,
                last_run: None,
                duration_seconds: None,
                job: None,
                pod: None,
                message: None,
                next_retry_at: None,
            })
            .collect()
    } else {
        progress
            .pipelines
            .iter()
            .map(|p| pipeline_report(p, action, input))
            .collect()
    };
    let namespace = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    WorkflowReport {
        kind: text(object, "/kind"),
        api_version: text(object, "/apiVersion"),
        namespace,
        name: text(object, "/metadata/name"),
        promise: input.promise.to_owned(),
        action: action.as_str().to_owned(),
        pipelines,
        conditions: conditions(object),
        outputs: input.outputs.clone(),
        paused: labels::is_on_object(object, labels::PAUSED),
    }
}

/// The Job of a pipeline's entry: the one it names, or, in Kratix's records
/// (which name none), its pipeline's newest Job of this action at the entry's hash.
pub fn job_of<'j>(progress: &PipelineStatus, action: WorkflowAction, jobs: &[&'j Job]) -> Option<&'j Job> {
    if let Some(name) = progress.job_name.as_deref() {
        return jobs
            .iter()
            .copied()
            .find(|j| j.metadata.name.as_deref() == Some(name));
    }
    jobs.iter()
        .copied()
        .filter(|j| {
            let of = JobLabels::of(j);
            of.action == action.as_str()
                && of.pipeline == progress.name
                && progress.hash.as_ref().is_none_or(|h| of.hash == *h)
        })
        .max_by_key(|j| jobs::created(j))
}

fn pipeline_report(
    progress: &PipelineStatus,
    action: WorkflowAction,
    input: &ReportInput<'_>,
) -> PipelineReport {
    let job = job_of(progress, action, input.jobs);
    let job_name = job
        .and_then(|j| j.metadata.name.clone())
        .or_else(|| progress.job_name.clone());
    let started = job
        .and_then(|j| j.status.as_ref())
        .and_then(|s| s.start_time.as_ref())
        .map(|t| t.0);
    let finished = job.and_then(jobs::finished_at);
    let duration_seconds = started.map(|start| {
        let end = finished.unwrap_or(input.now);
        end.duration_since(start).as_secs().max(0)
    });
    let last_run = started
        .or_else(|| progress.last_transition_time.as_ref().map(|t| t.0))
        .filter(|_| progress.phase != crate::workflow::engine::PENDING)
        .map(|t| t.to_string());
    let pod = job_name.as_deref().and_then(|name| newest_pod(input.pods, name));
    // A failed Job's verdict is final and comes first; its pod, until
    // Kubernetes deletes it, adds what the container did.
    let problem = pod.and_then(pod_problem);
    let verdict = match (job.and_then(jobs::failure), problem) {
        (Some(failure), Some(problem)) => Some(format!("{failure} ({problem})")),
        (failure, problem) => failure.or(problem),
    };
    let message = progress.message.clone().filter(|m| !m.is_empty()).or(verdict);
    PipelineReport {
        name: progress.name.clone(),
        phase: progress.phase.clone(),
        attempts: progress.attempts,
        last_run,
        duration_seconds,
        job: job_name,
        pod: pod.and_then(|p| p.metadata.name.clone()),
        message,
        next_retry_at: progress.next_retry_at.as_ref().map(|t| t.0.to_string()),
    }
}

/// The newest pod of a Job (retries make several).
pub fn newest_pod<'p>(pods: &[&'p Pod], job: &str) -> Option<&'p Pod> {
    pods.iter()
        .copied()
        .filter(|p| pod_job(p) == Some(job))
        .max_by(|a, b| {
            let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
            created(a)
                .cmp(&created(b))
                .then_with(|| a.metadata.name.cmp(&b.metadata.name))
        })
}

/// The Job a pod belongs to, from Kubernetes' labels (old and new spelling).
pub fn pod_job(pod: &Pod) -> Option<&str> {
    let labels = pod.metadata.labels.as_ref()?;
    labels
        .get(JOB_NAME_LABEL)
        .or_else(|| labels.get("job-name"))
        .map(String::as_str)
}

/// What holds a pod up, in words: the first container (in run order) that
/// exited non-zero, or waits for a reason other than its turn.
pub fn pod_problem(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    let ordered = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    for container in ordered {
        if let Some(problem) = container_problem(container) {
            return Some(problem);
        }
    }
    None
}

fn container_problem(container: &ContainerStatus) -> Option<String> {
    let state = container.state.as_ref()?;
    if let Some(done) = &state.terminated
        && done.exit_code != 0
    {
        let reason = done.reason.clone().unwrap_or_else(|| "Error".to_owned());
        return Some(format!(
            "container {} exited {} ({reason})",
            container.name, done.exit_code
        ));
    }
    if let Some(waiting) = &state.waiting {
        let reason = waiting.reason.clone().unwrap_or_default();
        if !reason.is_empty() && !matches!(reason.as_str(), "PodInitializing" | "ContainerCreating") {
            let detail = waiting
                .message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            return Some(format!(
                "container {} is waiting: {reason}{detail}",
                container.name
            ));
        }
    }
    None
}

fn conditions(object: &Value) -> Vec<ConditionReport> {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| ConditionReport {
            condition_type: text(c, "/type"),
            status: text(c, "/status"),
            reason: text(c, "/reason"),
            message: text(c, "/message"),
            last_transition_time: c
                .get("lastTransitionTime")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
        .collect()
}

/// A request's `status.kratix.outputs`.
pub fn outputs_from_status(object: &Value) -> Vec<OutputReport> {
    object
        .pointer("/status/kratix/outputs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(output_from)
        .collect()
}

/// The outputs recorded on Works (`status.outputs`), for a Promise's own Works.
pub fn outputs_from_works(works: &[Value]) -> Vec<OutputReport> {
    let mut outputs = Vec::new();
    for work in works {
        let pipeline = work
            .pointer("/metadata/labels")
            .and_then(|l| l.get(labels::PIPELINE_NAME))
            .and_then(Value::as_str)
            .map(str::to_owned);
        for output in work
            .pointer("/status/outputs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let mut report = output_from(output);
            report.pipeline = report.pipeline.or_else(|| pipeline.clone());
            outputs.push(report);
        }
    }
    outputs
}

fn output_from(output: &Value) -> OutputReport {
    OutputReport {
        pipeline: output.get("pipeline").and_then(Value::as_str).map(str::to_owned),
        destination: text(output, "/destination"),
        path: text(output, "/path"),
        version: output
            .get("versionID")
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned),
    }
}

#[cfg(test)]
#[path = "workflow_tests.rs"]
mod tests;
