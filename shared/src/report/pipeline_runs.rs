//! Which Jobs make up one run of a workflow, and in what order a pipeline
//! pod's containers run: what `kubectl kratix workflows logs` walks.
//!
//! Kratix keeps `numberOfJobsToKeep` Jobs per pipeline, so the Jobs of an
//! object hold several runs. A run is a sequence of Jobs whose pipelines go
//! forward in the workflow's order; a Job of the same or an earlier pipeline
//! (or of the other action) starts the next run.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;

use crate::workflow::jobs::{self, JobLabels};

/// One Job, as runs are cut from them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunJob {
    pub name: String,
    pub pipeline: String,
    /// `configure` or `delete`.
    pub action: String,
    /// Creation time, RFC 3339 (sorts as time).
    pub created: String,
}

impl RunJob {
    pub fn of(job: &Job) -> RunJob {
        let JobLabels { action, pipeline, .. } = JobLabels::of(job);
        RunJob {
            name: job.metadata.name.clone().unwrap_or_default(),
            pipeline,
            action,
            created: jobs::created(job),
        }
    }
}

/// The runs, oldest first. `position` gives a pipeline's place in its
/// action's workflow (`None` for a pipeline the Promise no longer has).
pub fn runs(mut jobs: Vec<RunJob>, position: impl Fn(&str, &str) -> Option<usize>) -> Vec<Vec<RunJob>> {
    jobs.sort_by(|a, b| (&a.created, &a.name).cmp(&(&b.created, &b.name)));
    let mut runs: Vec<Vec<RunJob>> = Vec::new();
    for job in jobs {
        let here = position(&job.action, &job.pipeline);
        let continues = runs.last().and_then(|run| run.last()).is_some_and(|previous| {
            previous.action == job.action
                && match (position(&previous.action, &previous.pipeline), here) {
                    (Some(before), Some(now)) => now > before,
                    _ => false,
                }
        });
        match runs.last_mut() {
            Some(run) if continues => run.push(job),
            _ => runs.push(vec![job]),
        }
    }
    runs
}

/// A pod's containers in the order they run: init containers (`reader`, the
/// user's, `work-writer`), then the others (`status-writer`).
pub fn containers_in_run_order(pod: &Pod) -> Vec<String> {
    let Some(spec) = &pod.spec else {
        return Vec::new();
    };
    spec.init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
        .map(|c| c.name.clone())
        .collect()
}

/// Where a container stands, for following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerStage {
    /// Not started; it may still start.
    Waiting,
    Running,
    Terminated,
    /// Not started and never will (its pod has finished).
    Skipped,
}

pub fn container_stage(pod: &Pod, container: &str) -> ContainerStage {
    let status = pod.status.as_ref();
    let finished = status
        .and_then(|s| s.phase.as_deref())
        .is_some_and(|p| matches!(p, "Succeeded" | "Failed"));
    let state = status
        .into_iter()
        .flat_map(|s| {
            s.init_container_statuses
                .iter()
                .flatten()
                .chain(s.container_statuses.iter().flatten())
        })
        .find(|c| c.name == container)
        .and_then(|c| c.state.as_ref());
    match state {
        Some(state) if state.terminated.is_some() => ContainerStage::Terminated,
        Some(state) if state.running.is_some() => ContainerStage::Running,
        _ if finished => ContainerStage::Skipped,
        _ => ContainerStage::Waiting,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn job(name: &str, pipeline: &str, action: &str, created: &str) -> RunJob {
        RunJob {
            name: name.to_owned(),
            pipeline: pipeline.to_owned(),
            action: action.to_owned(),
            created: created.to_owned(),
        }
    }

    fn position(action: &str, pipeline: &str) -> Option<usize> {
        match action {
            "configure" => ["first", "second"].iter().position(|p| *p == pipeline),
            _ => ["cleanup"].iter().position(|p| *p == pipeline),
        }
    }

    #[test]
    fn runs_are_cut_where_the_workflow_starts_again() {
        let jobs = vec![
            job("b2", "second", "configure", "2026-12-02T10:05:00Z"),
            job("a1", "first", "configure", "2026-12-02T10:00:00Z"),
            job("b1", "second", "configure", "2026-12-02T10:01:00Z"),
            job("a2", "first", "configure", "2026-12-02T10:04:00Z"),
            job("a3", "first", "configure", "2026-12-02T10:06:00Z"),
            job("d1", "cleanup", "delete", "2026-12-02T10:07:00Z"),
        ];
        let all = runs(jobs, position);
        let names: Vec<Vec<&str>> = all
            .iter()
            .map(|run| run.iter().map(|j| j.name.as_str()).collect())
            .collect();
        assert_eq!(
            names,
            [vec!["a1", "b1"], vec!["a2", "b2"], vec!["a3"], vec!["d1"]]
        );
    }

    #[test]
    fn containers_run_init_first_and_stages_follow_the_pod() {
        let pod: Pod = serde_json::from_value(json!({
            "spec": {
                "initContainers": [{"name": "reader"}, {"name": "mine"}, {"name": "work-writer"}],
                "containers": [{"name": "status-writer"}]
            },
            "status": {
                "phase": "Running",
                "initContainerStatuses": [
                    {"name": "reader", "image": "", "imageID": "", "ready": false, "restartCount": 0,
                     "state": {"terminated": {"exitCode": 0}}},
                    {"name": "mine", "image": "", "imageID": "", "ready": false, "restartCount": 0,
                     "state": {"running": {}}}
                ]
            }
        }))
        .expect("pod");
        assert_eq!(
            containers_in_run_order(&pod),
            ["reader", "mine", "work-writer", "status-writer"]
        );
        assert_eq!(container_stage(&pod, "reader"), ContainerStage::Terminated);
        assert_eq!(container_stage(&pod, "mine"), ContainerStage::Running);
        assert_eq!(container_stage(&pod, "work-writer"), ContainerStage::Waiting);
        let mut failed = pod.clone();
        failed.status.as_mut().expect("status").phase = Some("Failed".to_owned());
        assert_eq!(container_stage(&failed, "work-writer"), ContainerStage::Skipped);
    }
}
