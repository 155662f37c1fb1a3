//! The configure-workflow engine: what to do next for one object, decided from
//! the progress recorded in its status and the Jobs observed for it.
//!
//! Progress lives in `status.kratix.workflows.<action>` (as Kratix keeps it
//! since its #933), not in the Jobs: the controller records a pipeline as
//! Running, with the hash of the run and the name of the Job it is about to
//! create, before creating it. So a crash at any point resumes without running
//! a pipeline twice or skipping one, deleting Jobs loses nothing, and a pipeline
//! Succeeded at the current hash is settled.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::api::conditions::reasons::{
    NAMESPACE_TERMINATING, PIPELINE_NAMESPACE_MISSING as NAMESPACE_MISSING,
};
use crate::api::promise::{PipelineStatus, WorkflowRecord};
use crate::api::workflow::WorkflowAction;

pub const PENDING: &str = "Pending";
pub const RUNNING: &str = "Running";
pub const SUCCEEDED: &str = "Succeeded";
pub const FAILED: &str = "Failed";
pub const SUSPENDED: &str = "Suspended";

/// The reason a refused create lastingly fails, from the API server's answer:
/// the namespace is missing (404 naming a namespace) or being deleted (403 from
/// namespace lifecycle admission). Anything else is retried.
pub fn namespace_refusal(code: u16, message: &str) -> Option<&'static str> {
    if code == 404 && message.starts_with("namespaces ") {
        Some(NAMESPACE_MISSING)
    } else if code == 403 && message.contains("because it is being terminated") {
        Some(NAMESPACE_TERMINATING)
    } else {
        None
    }
}

/// A Job's state as the engine needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JobState {
    #[default]
    Running,
    Succeeded,
    /// Failed, or stopped (suspended) before finishing.
    Failed,
}

/// A Job of this object's workflow, whatever pipeline or spec it ran for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObservedJob {
    pub name: String,
    pub state: JobState,
    /// Its `kratix.io/workflow-action`, `kratix.io/pipeline-name` and
    /// `kratix.io/hash` labels: which run it belongs to when no record names it.
    pub action: String,
    pub pipeline: String,
    pub hash: String,
    /// Creation time (RFC 3339), to find a pipeline's newest Job.
    pub created: String,
    /// Why admission refuses the pod this running Job needs (a Pod Security
    /// violation, a namespace being deleted, ...), when it does: the Job
    /// controller would retry for ever, reporting it only as an Event.
    pub refusal: Option<String>,
}

impl ObservedJob {
    /// Running, and not held up by a refusal that no retry will fix.
    fn is_running(&self) -> bool {
        self.state == JobState::Running && self.refusal.is_none()
    }
}

/// Everything the decision depends on.
#[derive(Debug, Clone)]
pub struct Situation<'a> {
    /// Configure, or delete (each keeps its own record).
    pub action: WorkflowAction,
    /// The workflow's pipelines' names, in order.
    pub pipelines: &'a [String],
    /// The object's current `kratix.io/hash`.
    pub hash: &'a str,
    /// The record of this action's workflow.
    pub progress: &'a WorkflowRecord,
    pub jobs: &'a [ObservedJob],
    /// `kratix.io/manual-reconciliation` or `internal.workflows.kratix.io/run-from-start`.
    pub rerun: bool,
    /// The re-run was asked for manually: a running Job is stopped rather than awaited.
    pub stop_running: bool,
    /// `kratix.io/workflow-suspended` is on the object.
    pub suspended_label: bool,
    /// `kratix.io/paused` is on the object (or its Promise).
    pub paused: bool,
}

/// The next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Paused: nothing runs.
    Paused,
    /// The workflow has no pipelines.
    NothingToRun,
    /// A manual re-run: stop (suspend) this running Job first.
    StopJob { job: String },
    /// A Job is running; wait for it (spec changes never kill a running Job).
    Wait { job: String },
    /// Record pipeline `index` as Running (a fresh run resets every pipeline to
    /// Pending under the current hash first), then create its Job.
    Start { index: usize, fresh_run: bool },
    /// Pipeline `index` is recorded as Running with this Job, which does not
    /// exist (a crash between recording and creating, or a deleted Job): create it.
    EnsureJob { index: usize, job: String },
    /// Pipeline `index`'s Job succeeded: record it.
    Succeeded { index: usize },
    /// Pipeline `index` failed: the workflow stops until a spec change or re-run.
    Failed { index: usize },
    /// Pipeline `index`'s Job cannot create its pod (`message` says why): stop
    /// the Job and record the pipeline as failed, with that message.
    Refused {
        index: usize,
        job: String,
        message: String,
    },
    /// Pipeline `index` suspended the workflow; with a retry time, resume then.
    Suspended { index: usize, retry_at: Option<Time> },
    /// Every pipeline of the current run succeeded.
    Completed,
}

fn job<'a>(jobs: &'a [ObservedJob], name: &str) -> Option<&'a ObservedJob> {
    jobs.iter().find(|j| j.name == name)
}

/// Whether the recorded progress is a run of these pipelines at this hash:
/// every entry names its pipeline, and every one that began ran at this hash.
fn is_current_run(situation: &Situation<'_>) -> bool {
    let progress = situation.progress;
    progress.pipelines.len() == situation.pipelines.len()
        && progress
            .pipelines
            .iter()
            .zip(situation.pipelines)
            .all(|(entry, name)| {
                entry.name == *name
                    && (entry.phase == PENDING || entry.hash.as_deref() == Some(situation.hash))
            })
}

/// The newest Job of `pipeline` in this action at `hash`: the run a record
/// written by Kratix (which names no Job) means.
pub fn newest_job<'a>(
    jobs: &'a [ObservedJob],
    action: WorkflowAction,
    pipeline: &str,
    hash: &str,
) -> Option<&'a ObservedJob> {
    jobs.iter()
        .filter(|j| j.action == action.as_str() && j.pipeline == pipeline && j.hash == hash)
        .max_by(|a, b| a.created.cmp(&b.created).then_with(|| a.name.cmp(&b.name)))
}

/// Decides the next step.
pub fn decide(situation: &Situation<'_>) -> Decision {
    if situation.paused {
        return Decision::Paused;
    }
    if situation.pipelines.is_empty() {
        return Decision::NothingToRun;
    }
    if let Some(running) = situation.jobs.iter().find(|j| j.is_running()) {
        if situation.rerun && situation.stop_running {
            return Decision::StopJob {
                job: running.name.clone(),
            };
        }
        return Decision::Wait {
            job: running.name.clone(),
        };
    }
    if situation.rerun || !is_current_run(situation) {
        return Decision::Start {
            index: 0,
            fresh_run: true,
        };
    }
    for (index, entry) in situation.progress.pipelines.iter().enumerate() {
        match entry.phase.as_str() {
            SUCCEEDED => continue,
            RUNNING => {
                let named = entry.job_name.clone().or_else(|| {
                    newest_job(situation.jobs, situation.action, &entry.name, situation.hash)
                        .map(|j| j.name.clone())
                });
                let Some(name) = named else {
                    return Decision::Start {
                        index,
                        fresh_run: false,
                    };
                };
                return match job(situation.jobs, &name) {
                    None => Decision::EnsureJob { index, job: name },
                    Some(ObservedJob {
                        state: JobState::Running,
                        refusal: Some(message),
                        ..
                    }) => Decision::Refused {
                        index,
                        job: name,
                        message: message.clone(),
                    },
                    Some(observed) => match observed.state {
                        JobState::Running => Decision::Wait { job: name },
                        JobState::Succeeded => Decision::Succeeded { index },
                        JobState::Failed => Decision::Failed { index },
                    },
                };
            }
            FAILED => return Decision::Failed { index },
            SUSPENDED if situation.suspended_label => {
                return Decision::Suspended {
                    index,
                    retry_at: entry.next_retry_at.clone(),
                };
            }
            // Resumed (the label is gone), or not started yet.
            _ => {
                return Decision::Start {
                    index,
                    fresh_run: false,
                };
            }
        }
    }
    Decision::Completed
}

/// The progress to record before starting pipeline `index` with Job `job_name`.
pub fn start(
    situation: &Situation<'_>,
    index: usize,
    fresh_run: bool,
    job_name: &str,
    now: Timestamp,
) -> WorkflowRecord {
    let mut next = situation.progress.clone();
    if fresh_run {
        next.suspended_generation = None;
        next.pipelines = situation
            .pipelines
            .iter()
            .map(|name| PipelineStatus {
                name: name.clone(),
                hash: Some(situation.hash.to_owned()),
                phase: PENDING.to_owned(),
                last_transition_time: Some(Time(now)),
                ..PipelineStatus::default()
            })
            .collect();
    }
    if let Some(entry) = next.pipelines.get_mut(index) {
        entry.phase = RUNNING.to_owned();
        entry.hash = Some(situation.hash.to_owned());
        entry.job_name = Some(job_name.to_owned());
        entry.message = None;
        entry.next_retry_at = None;
        // `attempts` is kept: a retried pipeline counts its tries.
        entry.last_transition_time = Some(Time(now));
    }
    next
}

/// The progress with pipeline `index` in `phase`.
pub fn mark(progress: &WorkflowRecord, index: usize, phase: &str, now: Timestamp) -> WorkflowRecord {
    let mut next = progress.clone();
    if let Some(entry) = next.pipelines.get_mut(index)
        && entry.phase != phase
    {
        entry.phase = phase.to_owned();
        entry.last_transition_time = Some(Time(now));
    }
    next
}

/// The progress with pipeline `index` failed because its pod was refused,
/// the refusal as its message.
pub fn refused(progress: &WorkflowRecord, index: usize, message: &str, now: Timestamp) -> WorkflowRecord {
    let mut next = mark(progress, index, FAILED, now);
    if let Some(entry) = next.pipelines.get_mut(index) {
        entry.message = Some(message.to_owned());
    }
    next
}

/// Whether a `FailedCreate` Event's message is a refusal that retrying will
/// not fix: admission forbids the pod (Pod Security, a LimitRange, a webhook, a
/// namespace being deleted). A missing service account (created just before
/// the Job) and an exhausted quota are passing and do not count.
pub fn is_lasting_refusal(message: &str) -> bool {
    const PASSING: [&str; 3] = ["error looking up service account", "exceeded quota", "not found"];
    message.contains("is forbidden:") && !PASSING.iter().any(|p| message.contains(p))
}

/// A finished Job as pruning sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrunableJob {
    pub name: String,
    pub pipeline: String,
    /// Creation time (RFC 3339); ties are broken by name.
    pub created: String,
}

/// The Jobs to delete so that each pipeline keeps its newest `keep` Jobs
/// (`numberOfJobsToKeep`, per object and pipeline as in Kratix); the Jobs the
/// recorded progress names are never deleted.
pub fn jobs_to_prune(jobs: &[PrunableJob], keep: usize, progress: &WorkflowRecord) -> Vec<String> {
    let protected: Vec<&str> = progress
        .pipelines
        .iter()
        .filter_map(|p| p.job_name.as_deref())
        .collect();
    let mut pipelines: Vec<&str> = jobs.iter().map(|j| j.pipeline.as_str()).collect();
    pipelines.sort_unstable();
    pipelines.dedup();
    let mut prune = Vec::new();
    for pipeline in pipelines {
        let mut of_pipeline: Vec<&PrunableJob> = jobs.iter().filter(|j| j.pipeline == pipeline).collect();
        // Newest first.
        of_pipeline.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.name.cmp(&a.name)));
        prune.extend(
            of_pipeline
                .into_iter()
                .skip(keep.max(1))
                .filter(|j| !protected.contains(&j.name.as_str()))
                .map(|j| j.name.clone()),
        );
    }
    prune
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["first".to_owned(), "second".to_owned()]
    }

    fn now() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().expect("time")
    }

    fn situation<'a>(
        pipelines: &'a [String],
        progress: &'a WorkflowRecord,
        jobs: &'a [ObservedJob],
    ) -> Situation<'a> {
        Situation {
            action: WorkflowAction::Configure,
            pipelines,
            hash: "h1",
            progress,
            jobs,
            rerun: false,
            stop_running: false,
            suspended_label: false,
            paused: false,
        }
    }

    fn job(name: &str, state: JobState) -> ObservedJob {
        ObservedJob {
            name: name.to_owned(),
            state,
            refusal: None,
            ..ObservedJob::default()
        }
    }

    /// Runs the engine as a controller would, returning the decisions taken,
    /// with `finish` saying how each created Job ends.
    fn drive(finish: impl Fn(usize) -> JobState) -> Vec<Decision> {
        let pipelines = names();
        let mut progress = WorkflowRecord::default();
        let mut jobs: Vec<ObservedJob> = Vec::new();
        let mut decisions = Vec::new();
        for _ in 0..20 {
            let decision = decide(&situation(&pipelines, &progress, &jobs));
            decisions.push(decision.clone());
            match decision {
                Decision::Start { index, fresh_run } => {
                    let name = format!("job-{index}-{}", jobs.len());
                    progress = start(
                        &situation(&pipelines, &progress, &jobs),
                        index,
                        fresh_run,
                        &name,
                        now(),
                    );
                    jobs.push(job(&name, finish(index)));
                }
                Decision::Succeeded { index } => progress = mark(&progress, index, SUCCEEDED, now()),
                Decision::Failed { index } => {
                    progress = mark(&progress, index, FAILED, now());
                    decisions.push(decide(&situation(&pipelines, &progress, &jobs)));
                    break;
                }
                _ => break,
            }
        }
        decisions
    }

    #[test]
    fn pipelines_run_one_after_another_to_completion() {
        assert_eq!(
            drive(|_| JobState::Succeeded),
            [
                Decision::Start {
                    index: 0,
                    fresh_run: true
                },
                Decision::Succeeded { index: 0 },
                Decision::Start {
                    index: 1,
                    fresh_run: false
                },
                Decision::Succeeded { index: 1 },
                Decision::Completed,
            ]
        );
    }

    #[test]
    fn a_refused_pod_fails_its_pipeline_with_the_refusal_and_stays_failed() {
        let pipelines = names();
        let first = decide(&situation(&pipelines, &WorkflowRecord::default(), &[]));
        assert_eq!(
            first,
            Decision::Start {
                index: 0,
                fresh_run: true
            }
        );
        let progress = start(
            &situation(&pipelines, &WorkflowRecord::default(), &[]),
            0,
            true,
            "job-0",
            now(),
        );
        let message = "pods \"job-0-x\" is forbidden: violates PodSecurity \"restricted:latest\"";
        let jobs = [ObservedJob {
            refusal: Some(message.to_owned()),
            ..job("job-0", JobState::Running)
        }];
        let decision = decide(&situation(&pipelines, &progress, &jobs));
        assert_eq!(
            decision,
            Decision::Refused {
                index: 0,
                job: "job-0".to_owned(),
                message: message.to_owned()
            }
        );
        let failed = refused(&progress, 0, message, now());
        assert_eq!(failed.pipelines[0].phase, FAILED);
        assert_eq!(failed.pipelines[0].message.as_deref(), Some(message));
        // Once the Job is stopped, it is an ordinary failure that keeps its message.
        let stopped = [job("job-0", JobState::Failed)];
        assert_eq!(
            decide(&situation(&pipelines, &failed, &stopped)),
            Decision::Failed { index: 0 }
        );
        // A refused Job of an older run is not waited on.
        let old = [ObservedJob {
            refusal: Some(message.to_owned()),
            ..job("old", JobState::Running)
        }];
        assert_eq!(
            decide(&situation(&pipelines, &WorkflowRecord::default(), &old)),
            Decision::Start {
                index: 0,
                fresh_run: true
            }
        );
    }

    #[test]
    fn a_missing_or_terminating_namespace_is_a_lasting_refusal() {
        assert_eq!(
            namespace_refusal(404, "namespaces \"gone\" not found"),
            Some(NAMESPACE_MISSING)
        );
        assert_eq!(
            namespace_refusal(
                403,
                "serviceaccounts \"sa\" is forbidden: unable to create new content in namespace x because it is being terminated"
            ),
            Some(NAMESPACE_TERMINATING)
        );
        assert_eq!(namespace_refusal(404, "serviceaccounts \"sa\" not found"), None);
        assert_eq!(
            namespace_refusal(403, "roles.rbac.authorization.k8s.io is forbidden"),
            None
        );
    }

    #[test]
    fn only_lasting_refusals_count() {
        assert!(is_lasting_refusal(
            "Error creating: pods \"p\" is forbidden: violates PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false"
        ));
        assert!(is_lasting_refusal(
            "Error creating: pods \"p\" is forbidden: unable to create new content in namespace x because it is being terminated"
        ));
        assert!(!is_lasting_refusal(
            "Error creating: pods \"p\" is forbidden: error looking up service account ns/sa: serviceaccount \"sa\" not found"
        ));
        assert!(!is_lasting_refusal(
            "Error creating: pods \"p\" is forbidden: exceeded quota: q, requested: pods=1"
        ));
        assert!(!is_lasting_refusal(
            "Error creating: Timeout: request did not complete"
        ));
    }

    #[test]
    fn a_failure_stops_the_workflow_and_stays_failed() {
        assert_eq!(
            drive(|index| if index == 1 {
                JobState::Failed
            } else {
                JobState::Succeeded
            }),
            [
                Decision::Start {
                    index: 0,
                    fresh_run: true
                },
                Decision::Succeeded { index: 0 },
                Decision::Start {
                    index: 1,
                    fresh_run: false
                },
                Decision::Failed { index: 1 },
                Decision::Failed { index: 1 },
            ]
        );
    }

    #[test]
    fn a_running_job_is_awaited_even_after_a_spec_change() {
        let pipelines = names();
        let progress = start(
            &Situation {
                hash: "h0",
                ..situation(&pipelines, &WorkflowRecord::default(), &[])
            },
            0,
            true,
            "job-a",
            now(),
        );
        let jobs = [job("job-a", JobState::Running)];
        assert_eq!(
            decide(&situation(&pipelines, &progress, &jobs)),
            Decision::Wait { job: "job-a".into() }
        );
        // When it ends, the new spec restarts from the first pipeline.
        let jobs = [job("job-a", JobState::Succeeded)];
        assert_eq!(
            decide(&situation(&pipelines, &progress, &jobs)),
            Decision::Start {
                index: 0,
                fresh_run: true
            }
        );
    }

    #[test]
    fn a_manual_rerun_stops_the_running_job_then_starts_over() {
        let pipelines = names();
        let progress = start(
            &Situation {
                hash: "h1",
                ..situation(&pipelines, &WorkflowRecord::default(), &[])
            },
            1,
            true,
            "job-b",
            now(),
        );
        let running = [job("job-b", JobState::Running)];
        let mut s = situation(&pipelines, &progress, &running);
        s.rerun = true;
        s.stop_running = true;
        assert_eq!(decide(&s), Decision::StopJob { job: "job-b".into() });
        let stopped = [job("job-b", JobState::Failed)];
        let mut s = situation(&pipelines, &progress, &stopped);
        s.rerun = true;
        assert_eq!(
            decide(&s),
            Decision::Start {
                index: 0,
                fresh_run: true
            }
        );
    }

    #[test]
    fn a_run_from_start_waits_for_the_running_job() {
        let pipelines = names();
        let progress = start(
            &Situation {
                hash: "h1",
                ..situation(&pipelines, &WorkflowRecord::default(), &[])
            },
            0,
            true,
            "job-a",
            now(),
        );
        let running = [job("job-a", JobState::Running)];
        let mut s = situation(&pipelines, &progress, &running);
        s.rerun = true;
        assert_eq!(decide(&s), Decision::Wait { job: "job-a".into() });
    }

    #[test]
    fn a_recorded_job_that_does_not_exist_is_created_again_under_its_name() {
        // The crash window between recording progress and creating the Job.
        let pipelines = names();
        let progress = start(
            &Situation {
                hash: "h1",
                ..situation(&pipelines, &WorkflowRecord::default(), &[])
            },
            0,
            true,
            "job-a",
            now(),
        );
        assert_eq!(
            decide(&situation(&pipelines, &progress, &[])),
            Decision::EnsureJob {
                index: 0,
                job: "job-a".into()
            }
        );
    }

    #[test]
    fn deleting_finished_jobs_loses_no_progress() {
        let pipelines = names();
        let first = start(
            &Situation {
                hash: "h1",
                ..situation(&pipelines, &WorkflowRecord::default(), &[])
            },
            0,
            true,
            "job-a",
            now(),
        );
        let done = mark(&first, 0, SUCCEEDED, now());
        // job-a is gone; the second pipeline starts, the first is not run again.
        assert_eq!(
            decide(&situation(&pipelines, &done, &[])),
            Decision::Start {
                index: 1,
                fresh_run: false
            }
        );
    }

    #[test]
    fn suspension_waits_for_the_label_to_go_then_reruns_that_pipeline() {
        let pipelines = names();
        let mut progress = start(
            &Situation {
                hash: "h1",
                ..situation(&pipelines, &WorkflowRecord::default(), &[])
            },
            1,
            true,
            "job-b",
            now(),
        );
        progress.pipelines[0].phase = SUCCEEDED.into();
        progress.pipelines[1].phase = SUSPENDED.into();
        progress.pipelines[1].attempts = Some(1);
        progress.pipelines[1].next_retry_at = Some(Time(now()));
        let jobs = [job("job-b", JobState::Succeeded)];
        let mut s = situation(&pipelines, &progress, &jobs);
        s.suspended_label = true;
        assert_eq!(
            decide(&s),
            Decision::Suspended {
                index: 1,
                retry_at: Some(Time(now()))
            }
        );
        let resumed = situation(&pipelines, &progress, &jobs);
        assert_eq!(
            decide(&resumed),
            Decision::Start {
                index: 1,
                fresh_run: false
            }
        );
        let restarted = start(
            &Situation {
                hash: "h1",
                ..situation(&pipelines, &progress, &[])
            },
            1,
            false,
            "job-c",
            now(),
        );
        assert_eq!(
            restarted.pipelines[1].attempts,
            Some(1),
            "a retry keeps its count"
        );
        assert_eq!(restarted.pipelines[1].next_retry_at, None);
    }

    #[test]
    fn renamed_pipelines_start_a_fresh_run() {
        let old = vec!["first".to_owned()];
        let progress = mark(
            &start(
                &Situation {
                    hash: "h1",
                    ..situation(&old, &WorkflowRecord::default(), &[])
                },
                0,
                true,
                "job-a",
                now(),
            ),
            0,
            SUCCEEDED,
            now(),
        );
        let pipelines = names();
        assert_eq!(
            decide(&situation(&pipelines, &progress, &[])),
            Decision::Start {
                index: 0,
                fresh_run: true
            }
        );
    }

    #[test]
    fn paused_and_empty_workflows_do_nothing() {
        let progress = WorkflowRecord::default();
        let pipelines = names();
        let mut s = situation(&pipelines, &progress, &[]);
        s.paused = true;
        assert_eq!(decide(&s), Decision::Paused);
        assert_eq!(decide(&situation(&[], &progress, &[])), Decision::NothingToRun);
    }

    #[test]
    fn pruning_keeps_the_newest_jobs_of_each_pipeline_and_the_recorded_ones() {
        let job = |name: &str, pipeline: &str, created: &str| PrunableJob {
            name: name.into(),
            pipeline: pipeline.into(),
            created: created.into(),
        };
        let jobs = [
            job("a1", "a", "2026-01-01T00:00:01Z"),
            job("a2", "a", "2026-01-01T00:00:02Z"),
            job("a3", "a", "2026-01-01T00:00:03Z"),
            job("b1", "b", "2026-01-01T00:00:01Z"),
        ];
        let mut progress = WorkflowRecord::default();
        assert_eq!(jobs_to_prune(&jobs, 2, &progress), ["a1"]);
        assert_eq!(jobs_to_prune(&jobs, 5, &progress), Vec::<String>::new());
        // A recorded Job survives even when it is old.
        progress.pipelines.push(PipelineStatus {
            name: "a".into(),
            job_name: Some("a1".into()),
            ..Default::default()
        });
        assert_eq!(jobs_to_prune(&jobs, 1, &progress), ["a2"]);
    }

    #[test]
    fn a_fresh_run_records_every_pipeline_pending_but_the_started_one() {
        let pipelines = names();
        let old = WorkflowRecord {
            suspended_generation: Some(3),
            ..Default::default()
        };
        let next = start(
            &Situation {
                hash: "h1",
                ..situation(&pipelines, &old, &[])
            },
            0,
            true,
            "job-a",
            now(),
        );
        assert!(next.pipelines.iter().all(|p| p.hash.as_deref() == Some("h1")));
        assert_eq!(next.run_hash(), Some("h1"));
        assert_eq!(next.suspended_generation, None);
        let phases: Vec<&str> = next.pipelines.iter().map(|p| p.phase.as_str()).collect();
        assert_eq!(phases, [RUNNING, PENDING]);
        assert_eq!(next.pipelines[0].job_name.as_deref(), Some("job-a"));
    }

    #[test]
    fn a_pipeline_that_ran_at_another_hash_starts_a_fresh_run() {
        let pipelines = names();
        let done_at_h0 = WorkflowRecord {
            pipelines: pipelines
                .iter()
                .map(|name| PipelineStatus {
                    name: name.clone(),
                    hash: Some("h0".into()),
                    phase: SUCCEEDED.into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let fresh = Decision::Start {
            index: 0,
            fresh_run: true,
        };
        assert_eq!(decide(&situation(&pipelines, &done_at_h0, &[])), fresh);
        // Pending entries have not run: their hash does not matter.
        let mut half = done_at_h0.clone();
        half.pipelines[0].hash = Some("h1".into());
        half.pipelines[1].phase = PENDING.into();
        assert_eq!(
            decide(&situation(&pipelines, &half, &[])),
            Decision::Start {
                index: 1,
                fresh_run: false
            }
        );
        // An entry with no hash at all (an older layout) has run at an unknown one.
        let mut unknown = half.clone();
        unknown.pipelines[0].hash = None;
        assert_eq!(decide(&situation(&pipelines, &unknown, &[])), fresh);
    }

    #[test]
    fn a_running_entry_without_a_job_name_follows_the_newest_job_of_its_pipeline_at_the_hash() {
        // Kratix's record names no Job: the Job's labels say which run it is.
        let pipelines = names();
        let record = WorkflowRecord {
            pipelines: vec![
                PipelineStatus {
                    name: "first".into(),
                    hash: Some("h1".into()),
                    phase: SUCCEEDED.into(),
                    ..Default::default()
                },
                PipelineStatus {
                    name: "second".into(),
                    hash: Some("h1".into()),
                    phase: RUNNING.into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let labelled = |name: &str, hash: &str, created: &str, state| ObservedJob {
            name: name.into(),
            state,
            action: "configure".into(),
            pipeline: "second".into(),
            hash: hash.into(),
            created: created.into(),
            ..Default::default()
        };
        let jobs = [
            labelled("old", "h0", "2026-01-01T00:00:09Z", JobState::Failed),
            labelled("earlier", "h1", "2026-01-01T00:00:01Z", JobState::Failed),
            labelled("newest", "h1", "2026-01-01T00:00:02Z", JobState::Succeeded),
        ];
        assert_eq!(
            decide(&situation(&pipelines, &record, &jobs)),
            Decision::Succeeded { index: 1 }
        );
        // With no such Job, the pipeline runs.
        assert_eq!(
            decide(&situation(&pipelines, &record, &jobs[..1])),
            Decision::Start {
                index: 1,
                fresh_run: false
            }
        );
    }

    #[test]
    fn a_running_configure_job_holds_back_the_delete_pipeline() {
        let pipelines = vec!["delete".to_owned()];
        let jobs = [job("configure-job", JobState::Running)];
        let nothing_yet = WorkflowRecord::default();
        let deleting = Situation {
            action: WorkflowAction::Delete,
            ..situation(&pipelines, &nothing_yet, &jobs)
        };
        assert_eq!(
            decide(&deleting),
            Decision::Wait {
                job: "configure-job".to_owned()
            }
        );
    }
}
