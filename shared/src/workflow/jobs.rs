//! A pipeline Job as the workflow rules read it: whether it has ended and how,
//! which run it belongs to (its labels), and when it was made. The agent's
//! engine, its request watch and the plugin's reports all read Jobs through
//! these, so "finished" means the same everywhere.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::jiff::Timestamp;

use crate::api::conditions::{job_types, status as state};
use crate::api::labels;
use crate::workflow::engine::{JobState, ObservedJob};

/// Whether the Job has a condition `type_` that is True.
fn has_condition(job: &Job, type_: &str) -> bool {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == type_ && c.status == state::TRUE))
}

/// Succeeded on `Complete`; Failed on `Failed`, or when suspended (the agent
/// suspends a Job to stop it, and a stopped run does not finish); else Running.
pub fn state(job: &Job) -> JobState {
    if has_condition(job, job_types::COMPLETE) {
        JobState::Succeeded
    } else if has_condition(job, job_types::FAILED) || has_condition(job, job_types::SUSPENDED) {
        JobState::Failed
    } else {
        JobState::Running
    }
}

/// Whether the Job has ended, however it ended.
pub fn is_finished(job: &Job) -> bool {
    state(job) != JobState::Running
}

/// When a finished Job finished: its completion time, else the time of its
/// `Complete`/`Failed` condition.
pub fn finished_at(job: &Job) -> Option<Timestamp> {
    let status = job.status.as_ref()?;
    if let Some(done) = &status.completion_time {
        return Some(done.0);
    }
    status
        .conditions
        .iter()
        .flatten()
        .find(|c| {
            matches!(c.type_.as_str(), job_types::COMPLETE | job_types::FAILED) && c.status == state::TRUE
        })
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0)
}

/// Why a Job failed, from its `Failed` condition (its pods may be gone:
/// Kubernetes deletes them when a Job with `restartPolicy: OnFailure` fails).
pub fn failure(job: &Job) -> Option<String> {
    let failed = job
        .status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == job_types::FAILED && c.status == state::TRUE)?;
    let reason = failed.reason.clone().unwrap_or_default();
    let message = failed.message.clone().unwrap_or_default();
    Some(
        format!("Job failed: {reason}: {message}")
            .trim_end_matches([':', ' '])
            .to_owned(),
    )
}

/// Which run a Job belongs to, from its labels (empty when one is missing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobLabels {
    /// `kratix.io/workflow-action`: configure or delete.
    pub action: String,
    /// `kratix.io/pipeline-name`.
    pub pipeline: String,
    /// `kratix.io/hash`: the object's spec the run was for.
    pub hash: String,
}

impl JobLabels {
    pub fn of(job: &Job) -> JobLabels {
        let label = |key: &str| {
            job.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(key))
                .cloned()
                .unwrap_or_default()
        };
        JobLabels {
            action: label(labels::WORKFLOW_ACTION),
            pipeline: label(labels::PIPELINE_NAME),
            hash: label(labels::HASH),
        }
    }
}

/// The Job's creation time (RFC 3339, so it sorts), empty when unset.
pub fn created(job: &Job) -> String {
    job.metadata
        .creation_timestamp
        .as_ref()
        .map(|t| t.0.to_string())
        .unwrap_or_default()
}

/// The Job as the engine observes it; `refusal` is why admission refuses its
/// pod, when the caller found one.
pub fn observe(job: &Job, refusal: Option<String>) -> ObservedJob {
    let JobLabels {
        action,
        pipeline,
        hash,
    } = JobLabels::of(job);
    ObservedJob {
        name: job.metadata.name.clone().unwrap_or_default(),
        state: state(job),
        refusal,
        action,
        pipeline,
        hash,
        created: created(job),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(conditions: serde_json::Value) -> Job {
        serde_json::from_value(json!({
            "metadata": {"name": "configure-a1b2c", "creationTimestamp": "2026-01-01T00:00:00Z",
                "labels": {"kratix.io/workflow-action": "configure", "kratix.io/pipeline-name": "one",
                    "kratix.io/hash": "h1"}},
            "status": {"conditions": conditions}
        }))
        .expect("a Job")
    }

    #[test]
    fn a_suspended_job_has_ended_as_failed() {
        let cases = [
            (json!([]), JobState::Running),
            (
                json!([{"type": "Complete", "status": "True"}]),
                JobState::Succeeded,
            ),
            (json!([{"type": "Failed", "status": "True"}]), JobState::Failed),
            (json!([{"type": "Suspended", "status": "True"}]), JobState::Failed),
            (
                json!([{"type": "Complete", "status": "False"}]),
                JobState::Running,
            ),
        ];
        for (conditions, expected) in cases {
            let job = job(conditions.clone());
            assert_eq!(state(&job), expected, "{conditions}");
            assert_eq!(is_finished(&job), expected != JobState::Running, "{conditions}");
        }
    }

    #[test]
    fn a_failure_says_the_jobs_reason_and_message() {
        let failed = job(
            json!([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
            "message": "Job has reached the specified backoff limit",
            "lastTransitionTime": "2026-01-01T00:01:00Z"}]),
        );
        assert_eq!(
            failure(&failed).as_deref(),
            Some("Job failed: BackoffLimitExceeded: Job has reached the specified backoff limit")
        );
        assert_eq!(
            finished_at(&failed).map(|t| t.to_string()).as_deref(),
            Some("2026-01-01T00:01:00Z")
        );
        let bare = job(json!([{"type": "Failed", "status": "True"}]));
        assert_eq!(failure(&bare).as_deref(), Some("Job failed"));
        assert_eq!(failure(&job(json!([]))), None);
    }

    #[test]
    fn the_observed_job_carries_its_runs_labels() {
        let observed = observe(&job(json!([])), Some("refused".to_owned()));
        assert_eq!(observed.name, "configure-a1b2c");
        assert_eq!(
            (
                observed.action.as_str(),
                observed.pipeline.as_str(),
                observed.hash.as_str()
            ),
            ("configure", "one", "h1")
        );
        assert_eq!(observed.created, "2026-01-01T00:00:00Z");
        assert_eq!(observed.refusal.as_deref(), Some("refused"));
        let unlabelled: Job = serde_json::from_value(json!({"metadata": {"name": "x"}})).expect("a Job");
        assert_eq!(JobLabels::of(&unlabelled), JobLabels::default());
        assert_eq!(created(&unlabelled), "");
    }
}
