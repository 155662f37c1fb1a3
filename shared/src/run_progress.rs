//! How a triggered run stands (`kubectl kratix workflows trigger --wait`,
//! `logs -f`): judged from the object's recorded progress against the Jobs it
//! named before the trigger, since a new run's pipelines name new Jobs.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::api::promise::PipelineStatus;
use crate::labels;
use crate::workflow_engine::{FAILED, RUNNING, SUCCEEDED, SUSPENDED};
use crate::workflow_report::{has_label, progress_of};

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

/// The Jobs an object's progress names now: what "before the trigger" means.
pub fn recorded_jobs(object: &Value) -> BTreeSet<String> {
    progress_of(object)
        .pipelines
        .into_iter()
        .filter_map(|p| p.job_name)
        .collect()
}

pub fn run_progress(object: &Value, before: &BTreeSet<String>) -> RunProgress {
    if TRIGGER_LABELS.iter().any(|label| has_label(object, label)) {
        return RunProgress::Waiting;
    }
    let progress = progress_of(object);
    let total = progress.pipelines.len();
    let is_new = |p: &PipelineStatus| p.job_name.as_ref().is_some_and(|j| !before.contains(j));
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
    TRIGGER_LABELS.iter().any(|label| has_label(object, label))
}

/// Whether the recorded progress names the Jobs it ran: kratix-agent records
/// them; Kratix's own controller records phases only, so a run cannot be followed.
pub fn progress_names_jobs(object: &Value) -> bool {
    progress_of(object)
        .pipelines
        .iter()
        .filter(|p| p.phase != crate::workflow_engine::PENDING)
        .all(|p| p.job_name.is_some())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(pipelines: Value) -> Value {
        json!({"metadata": {"name": "cache", "labels": {}},
               "status": {"kratix": {"workflows": {"pipelines": pipelines}}}})
    }

    #[test]
    fn a_triggered_run_is_judged_by_the_jobs_it_names() {
        let before_run = request(json!([
            {"name": "a", "phase": "Succeeded", "jobName": "a-1"},
            {"name": "b", "phase": "Succeeded", "jobName": "b-1"}
        ]));
        let before = recorded_jobs(&before_run);
        assert_eq!(run_progress(&before_run, &before), RunProgress::Waiting);

        let mut labelled = before_run.clone();
        labelled["metadata"]["labels"][labels::MANUAL_RECONCILIATION] = json!("true");
        assert!(trigger_pending(&labelled));
        assert_eq!(run_progress(&labelled, &before), RunProgress::Waiting);

        let between = request(json!([
            {"name": "a", "phase": "Succeeded", "jobName": "a-2"},
            {"name": "b", "phase": "Pending"}
        ]));
        assert_eq!(
            run_progress(&between, &before),
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
            run_progress(&failed, &before),
            RunProgress::Failed {
                pipeline: "b".to_owned(),
                message: "exit 1".to_owned()
            }
        );
        let done = request(json!([
            {"name": "a", "phase": "Succeeded", "jobName": "a-2"},
            {"name": "b", "phase": "Succeeded", "jobName": "b-2"}
        ]));
        assert_eq!(run_progress(&done, &before), RunProgress::Succeeded);
    }

    #[test]
    fn progress_without_job_names_cannot_be_followed() {
        let ours = request(json!([{"name": "a", "phase": "Succeeded", "jobName": "a-1"},
                                  {"name": "b", "phase": "Pending"}]));
        assert!(progress_names_jobs(&ours));
        let reference = request(json!([{"name": "a", "phase": "Succeeded"}]));
        assert!(!progress_names_jobs(&reference));
    }
}
