//! How a triggered run stands (`kubectl kratix workflows trigger --wait`,
//! `logs -f`): judged from the object's recorded progress against the Jobs it
//! ran in before the trigger, since a new run's pipelines run in new Jobs.
//! kubectl-kratix's record names each pipeline's Job; Kratix's names none, so
//! there the Job is found by its labels among the object's Jobs.

use std::collections::BTreeSet;

use serde_json::Value;

use k8s_openapi::api::batch::v1::Job;

use crate::api::labels;
use crate::api::promise::PipelineStatus;
use crate::report::workflow::{job_of, progress_of, shown_progress};
use crate::workflow::engine::{FAILED, RUNNING, SUCCEEDED, SUSPENDED};

/// Where the run stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunProgress {
    /// The agent has not picked the trigger up yet.
    Waiting,
    /// Pipeline `index` (of `total`) runs.
    Running {
        index: usize,
        total: usize,
        pipeline: String,
    },
    Succeeded,
    Failed {
        pipeline: String,
        message: String,
    },
    /// Suspended by the pipeline's `workflow-control.yaml`; with a retry time,
    /// the agent resumes it then.
    Suspended {
        pipeline: String,
        message: String,
        retry_at: Option<String>,
    },
}

/// The trigger labels the agent removes once it has started the new run.
pub const TRIGGER_LABELS: [&str; 3] = [
    labels::MANUAL_RECONCILIATION,
    labels::RUN_FROM_START,
    labels::RECONCILE_RESOURCES,
];

/// Each pipeline entry of the record shown for `object`, with the Job it ran
/// in (`jobs`: the object's Jobs, needed only when the record names none).
pub fn entries_with_jobs(object: &Value, jobs: &[&Job]) -> Vec<(PipelineStatus, Option<String>)> {
    let (action, record) = shown_progress(object);
    record
        .pipelines
        .into_iter()
        .map(|entry| {
            let job = job_of(&entry, action, jobs).and_then(|j| j.metadata.name.clone());
            let job = job.or_else(|| entry.job_name.clone());
            (entry, job)
        })
        .collect()
}

/// The Jobs the object's progress ran in now: what "before the trigger" means.
pub fn recorded_jobs(object: &Value, jobs: &[&Job]) -> BTreeSet<String> {
    entries_with_jobs(object, jobs)
        .into_iter()
        .filter_map(|(entry, job)| job.filter(|_| entry.phase != crate::workflow::engine::PENDING))
        .collect()
}

pub fn run_progress(object: &Value, before: &BTreeSet<String>, jobs: &[&Job]) -> RunProgress {
    if TRIGGER_LABELS
        .iter()
        .any(|label| labels::is_on_object(object, label))
    {
        return RunProgress::Waiting;
    }
    let entries = entries_with_jobs(object, jobs);
    let progress = crate::api::promise::WorkflowRecord {
        pipelines: entries.iter().map(|(entry, _)| entry.clone()).collect(),
        ..Default::default()
    };
    let total = progress.pipelines.len();
    let job_of_entry = |p: &PipelineStatus| {
        entries
            .iter()
            .find(|(entry, _)| entry.name == p.name)
            .and_then(|(_, job)| job.clone())
    };
    // A pending entry has not run: a Job found for it by labels is an older run's.
    let is_new = |p: &PipelineStatus| {
        p.phase != crate::workflow::engine::PENDING && job_of_entry(p).is_some_and(|j| !before.contains(&j))
    };
    if total > 0
        && progress
            .pipelines
            .iter()
            .all(|p| p.phase == SUCCEEDED && is_new(p))
    {
        return RunProgress::Succeeded;
    }
    for (index, pipeline) in progress.pipelines.iter().enumerate() {
        if !is_new(pipeline) {
            continue;
        }
        let message = pipeline.message.clone().unwrap_or_default();
        match pipeline.phase.as_str() {
            FAILED => {
                return RunProgress::Failed {
                    pipeline: pipeline.name.clone(),
                    message,
                };
            }
            SUSPENDED => {
                return RunProgress::Suspended {
                    pipeline: pipeline.name.clone(),
                    message,
                    retry_at: pipeline.next_retry_at.as_ref().map(|t| t.0.to_string()),
                };
            }
            RUNNING => {
                return RunProgress::Running {
                    index,
                    total,
                    pipeline: pipeline.name.clone(),
                };
            }
            _ => {}
        }
    }
    // Between two pipelines: the next one is about to start.
    let started = progress.pipelines.iter().any(is_new);
    match progress.pipelines.iter().position(|p| p.phase != SUCCEEDED) {
        Some(index) if started => RunProgress::Running {
            index,
            total,
            pipeline: progress.pipelines[index].name.clone(),
        },
        _ => RunProgress::Waiting,
    }
}

/// Whether a trigger label is still on the object (the agent has not started the run).
pub fn trigger_pending(object: &Value) -> bool {
    TRIGGER_LABELS
        .iter()
        .any(|label| labels::is_on_object(object, label))
}

/// Whether the recorded progress names the Jobs it ran: kratix-agent records
/// them; Kratix's own controller records phases only, and then the object's
/// Jobs must be listed to follow a run.
pub fn progress_names_jobs(object: &Value) -> bool {
    progress_of(object)
        .pipelines
        .iter()
        .filter(|p| p.phase != crate::workflow::engine::PENDING)
        .all(|p| p.job_name.is_some())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(pipelines: Value) -> Value {
        json!({"metadata": {"name": "cache", "labels": {}},
               "status": {"kratix": {"workflows": {"configure": {"pipelines": pipelines}}}}})
    }

    #[test]
    fn a_triggered_run_is_judged_by_the_jobs_it_names() {
        let before_run = request(json!([
            {"name": "a", "phase": "Succeeded", "jobName": "a-1"},
            {"name": "b", "phase": "Succeeded", "jobName": "b-1"}
        ]));
        let before = recorded_jobs(&before_run, &[]);
        assert_eq!(run_progress(&before_run, &before, &[]), RunProgress::Waiting);

        let mut labelled = before_run.clone();
        labelled["metadata"]["labels"][labels::MANUAL_RECONCILIATION] = json!("true");
        assert!(trigger_pending(&labelled));
        assert_eq!(run_progress(&labelled, &before, &[]), RunProgress::Waiting);

        let between = request(json!([
            {"name": "a", "phase": "Succeeded", "jobName": "a-2"},
            {"name": "b", "phase": "Pending"}
        ]));
        assert_eq!(
            run_progress(&between, &before, &[]),
            RunProgress::Running {
                index: 1,
                total: 2,
                pipeline: "b".to_owned()
            }
        );
        let failed = request(json!([
            {"name": "a", "phase": "Succeeded", "jobName": "a-2"},
            {"name": "b", "phase": "Failed", "jobName": "b-2", "message": "exit 1"}
        ]));
        assert_eq!(
            run_progress(&failed, &before, &[]),
            RunProgress::Failed {
                pipeline: "b".to_owned(),
                message: "exit 1".to_owned()
            }
        );
        let done = request(json!([
            {"name": "a", "phase": "Succeeded", "jobName": "a-2"},
            {"name": "b", "phase": "Succeeded", "jobName": "b-2"}
        ]));
        assert_eq!(run_progress(&done, &before, &[]), RunProgress::Succeeded);
    }

    #[test]
    fn progress_without_job_names_is_followed_through_the_jobs_labels() {
        let ours = request(json!([{"name": "a", "phase": "Succeeded", "jobName": "a-1"},
                                  {"name": "b", "phase": "Pending"}]));
        assert!(progress_names_jobs(&ours));
        // Kratix's record (since its #933): phases and hashes, no Job names.
        let kratix = |phases: [&str; 2]| {
            request(json!([{"name": "a", "hash": "h1", "phase": phases[0]},
                           {"name": "b", "hash": "h1", "phase": phases[1]}]))
        };
        assert!(!progress_names_jobs(&kratix(["Succeeded", "Succeeded"])));
        let job = |name: &str, pipeline: &str, created: &str| -> Job {
            serde_json::from_value(json!({"metadata": {
                "name": name, "creationTimestamp": created,
                "labels": {"kratix.io/workflow-action": "configure",
                           "kratix.io/pipeline-name": pipeline, "kratix.io/hash": "h1"}}}))
            .expect("job")
        };
        let old = [
            job("a-1", "a", "2026-01-01T00:00:01Z"),
            job("b-1", "b", "2026-01-01T00:00:02Z"),
        ];
        let old: Vec<&Job> = old.iter().collect();
        let before = recorded_jobs(&kratix(["Succeeded", "Succeeded"]), &old);
        assert_eq!(before, BTreeSet::from(["a-1".to_owned(), "b-1".to_owned()]));
        // Re-run at the same hash: until a pipeline's new Job exists, nothing is new.
        assert_eq!(
            run_progress(&kratix(["Running", "Pending"]), &before, &old),
            RunProgress::Waiting
        );
        let mut jobs = vec![job("a-2", "a", "2026-01-01T00:01:00Z")];
        jobs.extend(old.iter().map(|j| (*j).clone()));
        let jobs_now: Vec<&Job> = jobs.iter().collect();
        assert_eq!(
            run_progress(&kratix(["Running", "Pending"]), &before, &jobs_now),
            RunProgress::Running {
                index: 0,
                total: 2,
                pipeline: "a".to_owned()
            }
        );
        jobs.push(job("b-2", "b", "2026-01-01T00:02:00Z"));
        let jobs_now: Vec<&Job> = jobs.iter().collect();
        assert_eq!(
            run_progress(&kratix(["Succeeded", "Succeeded"]), &before, &jobs_now),
            RunProgress::Succeeded
        );
    }
}
