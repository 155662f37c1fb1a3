//! Takes one step of one object's workflow (a Promise's or a resource
//! request's, configure or delete): observes its Jobs, asks the shared engine
//! what to do, records progress in the status before acting, and acts.
//!
//! What to make of a settled workflow (conditions from Works, Available,
//! periodic re-runs, finalizers) is the caller's business.

pub mod subject;

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::jiff::Timestamp;
use kratix_shared::api::naming::random_suffix;
use kratix_shared::api::promise::WorkflowRecord;
use kratix_shared::api::workflow::WorkflowAction;
use kratix_shared::api::{Pipeline, Workflow};
use kratix_shared::api::{conditions, labels, selectors};
use kratix_shared::render::{PipelineResources, RenderRequest, render_workflow};
use kratix_shared::workflow::engine::{self, Decision, JobState, ObservedJob, Situation};
use kratix_shared::workflow::events::{self as kratix_events, KratixEvent};
use kratix_shared::workflow::jobs as workflow_jobs;
use kratix_shared::workflow::records::{self, Layout};
use kratix_shared::workflow::{periodic, run_status};
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::Selector;
use kube::runtime::controller::Action;
use serde_json::{Map, Value, json};

use crate::controller::base::apply;
use crate::controller::base::context::Agent;
use crate::controller::base::error::ReconcileError;
use crate::controller::base::events;
use crate::controller::base::rbac_cleanup;
use crate::controller::base::status;
use crate::controller::base::status::now;
use crate::crash_points::{self, crash_point};
pub use subject::WorkflowSubject;

/// How long to wait for a running Job before looking again anyway (its watch
/// event normally comes first).
const RUNNING_JOB_RECHECK: Duration = Duration::from_secs(60);

/// One object's workflow: everything its next step depends on.
pub struct Run<'a> {
    agent: &'a Agent,
    subject: WorkflowSubject<'a>,
    workflow: Workflow,
    pipelines: &'a [Pipeline],
    /// The object's `kratix.io/hash`.
    hash: &'a str,
    /// Where its Jobs run.
    jobs: Api<Job>,
    /// Selects the object's Jobs this run counts: a configure run its
    /// configure Jobs; a delete run both actions', since its delete pipeline
    /// waits for a configure Job still running.
    job_selector: Selector,
}

/// Where a workflow stands once nothing more can be done right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Paused,
    NothingToRun,
    Failed,
    /// Waiting for `retry_in`, or for the user when `None`.
    Suspended {
        retry_in: Option<Duration>,
    },
    Completed,
}

/// What a step did.
pub enum Step {
    /// Progress was made and recorded; look again after this.
    Acted(Action),
    /// Nothing to do: the caller completes `status` (which may differ from the
    /// object's) and writes it.
    Settled {
        state: Settled,
        status: Map<String, Value>,
    },
}

/// What one step of a delete workflow means for the finalizer waiting on it.
pub enum DeleteStep {
    /// Done, or nothing to run: the finalizer may go.
    Done,
    /// Still going: look again as the action says.
    Acted(Action),
    /// Stopped short (suspended, failed, paused): write this status, then look
    /// again as the action says (a failure waits for a spec change or a manual
    /// reconciliation).
    Stopped(Map<String, Value>, Action),
}

impl Step {
    pub fn for_deletion(self) -> DeleteStep {
        match self {
            Step::Acted(action) => DeleteStep::Acted(action),
            Step::Settled {
                state: Settled::Completed | Settled::NothingToRun,
                ..
            } => DeleteStep::Done,
            Step::Settled {
                state: Settled::Suspended { retry_in },
                status,
            } => DeleteStep::Stopped(
                status,
                retry_in.map_or_else(Action::await_change, Action::requeue),
            ),
            Step::Settled { status, .. } => DeleteStep::Stopped(status, Action::await_change()),
        }
    }
}

/// The merge patch that removes those of `keys` present on `seen`, valid only
/// while the object is still at `seen`'s resourceVersion; `None` when none is.
pub fn label_removal(seen: &DynamicObject, keys: &[&str]) -> Option<Value> {
    let removed: Map<String, Value> = keys
        .iter()
        .filter(|k| seen.labels().contains_key(**k))
        .map(|k| ((*k).to_owned(), Value::Null))
        .collect();
    if removed.is_empty() {
        return None;
    }
    Some(json!({"metadata": {
        "labels": removed,
        "resourceVersion": seen.metadata.resource_version.clone().unwrap_or_default(),
    }}))
}

/// Whether switch label `key` is `"true"` on the object.
pub fn has_label(object: &DynamicObject, key: &str) -> bool {
    labels::is_on(object.labels(), key)
}

/// What a step decided on: the object's progress and Jobs as they were read.
struct Seen<'s> {
    situation: &'s Situation<'s>,
    progress: &'s WorkflowRecord,
    jobs: &'s [Job],
    observed: &'s [ObservedJob],
}

impl<'a> Run<'a> {
    pub fn new(
        agent: &'a Agent,
        subject: WorkflowSubject<'a>,
        workflow: Workflow,
        pipelines: &'a [Pipeline],
        hash: &'a str,
    ) -> Self {
        let counted = match workflow.action {
            WorkflowAction::Configure => Some(WorkflowAction::Configure),
            WorkflowAction::Delete => None,
        };
        Run {
            agent,
            jobs: subject.jobs(&agent.client),
            job_selector: subject.job_selector(counted),
            subject,
            workflow,
            pipelines,
            hash,
        }
    }

    fn describe(&self) -> String {
        match self.subject.object.namespace() {
            Some(namespace) => format!(
                "{} {namespace}/{}",
                self.subject.api_resource.kind,
                self.subject.object.name_any()
            ),
            None => format!(
                "{} {}",
                self.subject.api_resource.kind,
                self.subject.object.name_any()
            ),
        }
    }

    fn pipeline_name(&self, index: usize) -> String {
        self.pipelines
            .get(index)
            .map(|p| p.name().to_owned())
            .unwrap_or_default()
    }

    fn render(&self, suffix: &str) -> Result<Vec<PipelineResources>, ReconcileError> {
        render_workflow(&RenderRequest {
            promise: self.subject.promise,
            workflow: self.workflow,
            pipelines: self.pipelines,
            resource: self.subject.request,
            config: self.agent.config().as_deref(),
            adapter: &self.agent.adapter,
            job_name_suffix: Some(suffix),
        })
        .map_err(ReconcileError::from)
    }

    async fn announce(&self, event: KratixEvent) {
        events::emit(
            self.agent,
            &events::dynamic_reference(self.subject.object, self.subject.api_resource),
            &event,
        )
        .await;
    }

    /// Removes trigger labels from `seen`, the version of the object the
    /// decision was made on: a conflict means someone changed it since (a label
    /// put back asks for another run), and the reconcile looks again.
    async fn remove_labels(&self, seen: &DynamicObject, keys: &[&str]) -> Result<(), ReconcileError> {
        let Some(patch) = label_removal(seen, keys) else {
            return Ok(());
        };
        self.subject
            .api
            .patch(&seen.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| ReconcileError::kube(format!("removing labels from {}", self.describe()), e))?;
        Ok(())
    }

    /// Stops Job `name` where it runs (its own namespace: a Promise's Jobs are
    /// listed across namespaces).
    async fn suspend_job(&self, name: &str, jobs: &[Job]) -> Result<(), ReconcileError> {
        let namespace = jobs
            .iter()
            .find(|j| j.name_any() == name)
            .and_then(ResourceExt::namespace);
        let api: Api<Job> = match namespace {
            Some(namespace) => Api::namespaced(self.agent.client.clone(), &namespace),
            None => self.jobs.clone(),
        };
        api.patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"suspend": true}})),
        )
        .await
        .map_err(|e| ReconcileError::kube(format!("suspending Job {name}"), e))?;
        Ok(())
    }

    /// Counts a pipeline's end and how long it ran (from its recorded start).
    fn finished(&self, progress: &WorkflowRecord, index: usize, outcome: &str) {
        let workflow = self.workflow.to_string();
        self.agent.metrics.pipeline(&workflow, outcome);
        if let Some(started) = progress
            .pipelines
            .get(index)
            .and_then(|p| p.last_transition_time.as_ref())
        {
            let seconds = Timestamp::now().duration_since(started.0).as_secs_f64();
            self.agent.metrics.pipeline_finished(&workflow, seconds.max(0.0));
        }
    }

    /// Records pipeline `index` as failed (`next` is the progress saying so),
    /// with Kratix's condition, and, the first time, its Event and the metrics.
    async fn fail(
        &self,
        progress: &WorkflowRecord,
        next: WorkflowRecord,
        index: usize,
        jobs: &[Job],
        mut status: Map<String, Value>,
    ) -> Step {
        let newly_failed = progress
            .pipelines
            .get(index)
            .is_some_and(|p| p.phase != engine::FAILED);
        prune_jobs(&self.jobs, jobs, progress, self.agent).await;
        records::write(&mut status, self.workflow.action, &next);
        let event = run_status::failed(&mut status, self.workflow, &self.pipeline_name(index), &now());
        if newly_failed {
            self.finished(progress, index, "failed");
            self.announce(event).await;
        }
        Step::Settled {
            state: Settled::Failed,
            status,
        }
    }

    /// When creating pipeline `index`'s objects failed because its namespace is
    /// missing or being deleted: records the pipeline as failed with our
    /// condition saying so (retrying would loop for ever) and returns the step.
    /// Other errors are returned, to be retried.
    async fn namespace_refused(
        &self,
        applied: Result<(), ReconcileError>,
        progress: &WorkflowRecord,
        index: usize,
        jobs: &[Job],
        mut status: Map<String, Value>,
    ) -> Result<Option<Step>, ReconcileError> {
        let error = match applied {
            Ok(()) => return Ok(None),
            Err(error) => error,
        };
        let refusal = match &error {
            ReconcileError::Kube { source, .. } => match source.as_ref() {
                kube::Error::Api(answer) => engine::namespace_refusal(answer.code, &answer.message)
                    .map(|reason| (reason, answer.message.clone())),
                _ => None,
            },
            _ => None,
        };
        let Some((reason, answer)) = refusal else {
            return Err(error);
        };
        let message = run_status::namespace_refused_message(&self.pipeline_name(index), &answer);
        let event = run_status::refused(&mut status, reason, &message, &now());
        self.announce(event).await;
        let next = engine::refused(progress, index, &message, Timestamp::now());
        Ok(Some(self.fail(progress, next, index, jobs, status).await))
    }

    /// Why admission refuses the pod of a running Job, when it lastingly does.
    /// Asked only of a Job with no pod yet: the Job controller reports a
    /// refused pod as a `FailedCreate` Event on the Job and nowhere else.
    async fn pod_refusal(&self, job: &Job) -> Option<String> {
        let status = job.status.as_ref();
        if status.and_then(|s| s.active).unwrap_or(0) > 0 || status.and_then(|s| s.failed).unwrap_or(0) > 0 {
            return None;
        }
        let namespace = job.namespace()?;
        let uid = job.uid()?;
        let events: Api<Event> = Api::namespaced(self.agent.client.clone(), &namespace);
        let params = ListParams::default().fields(&format!("involvedObject.uid={uid},reason=FailedCreate"));
        let listed = match events.list(&params).await {
            Ok(listed) => listed.items,
            Err(error) => {
                tracing::warn!(job = %job.name_any(), %error, "reading the Job's events failed");
                return None;
            }
        };
        listed
            .into_iter()
            .filter_map(|e| e.message)
            .rfind(|m| engine::is_lasting_refusal(m))
    }

    /// The object's Jobs of this workflow, and each as the engine sees it.
    /// Jobs without our UID label (Kratix's) count only while a record Kratix
    /// wrote is taken over or followed: otherwise anyone able to create a Job
    /// labelled like the object's could hold its workflow up.
    async fn observe_jobs(
        &self,
        recorded: &records::Recorded,
    ) -> Result<(Vec<Job>, Vec<ObservedJob>), ReconcileError> {
        let uid = self.subject.object.uid().unwrap_or_default();
        let namespace = self.subject.object.namespace().unwrap_or_default();
        let selector = if records::needs_kratix_jobs(recorded, self.workflow.action) {
            selectors::without_uid(&self.job_selector)
        } else {
            self.job_selector.clone()
        };
        let jobs: Vec<Job> = self
            .jobs
            .list(&ListParams::default().labels_from(&selector))
            .await
            .map_err(|e| ReconcileError::kube(format!("listing the Jobs of {}", self.describe()), e))?
            .items
            .into_iter()
            .filter(|j| records::is_objects_job(j.labels(), j.annotations(), &uid, &namespace))
            .collect();
        let mut observed = Vec::with_capacity(jobs.len());
        for job in &jobs {
            let refusal = if workflow_jobs::state(job) == JobState::Running {
                self.pod_refusal(job).await
            } else {
                None
            };
            observed.push(workflow_jobs::observe(job, refusal));
        }
        Ok((jobs, observed))
    }

    /// Rewrites a record in an older layout (Kratix's before its #933, or
    /// ours before we followed it) keyed, adopting what already succeeded at
    /// the current hash, and looks again.
    async fn adopt(
        &self,
        recorded: &records::Recorded,
        names: &[String],
        observed: &[ObservedJob],
        current: Map<String, Value>,
    ) -> Result<Step, ReconcileError> {
        let completed = current
            .get("conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|c| {
                c["type"] == conditions::types::CONFIGURE_WORKFLOW_COMPLETED
                    && c["status"] == conditions::status::TRUE
            });
        let adopted = records::adopt(recorded, names, observed, self.hash, completed);
        let mut status = current;
        run_status::drop_counters(&mut status);
        records::write_all(&mut status, &adopted);
        tracing::info!(
            object = %self.describe(),
            layout = ?recorded.layout,
            adopted = adopted.get(self.workflow.action).is_some(),
            "workflow record taken over in the keyed layout"
        );
        status::replace(self.agent, self.subject.api, self.subject.object, status).await?;
        Ok(Step::Acted(Action::requeue(Duration::from_millis(10))))
    }

    /// Takes the next step: observe, decide, act on the decision.
    pub async fn step(&self) -> Result<Step, ReconcileError> {
        let names: Vec<String> = self.pipelines.iter().map(|p| p.name().to_owned()).collect();
        let current = status::status_of(self.subject.object);
        let recorded = records::read_status(&current, self.workflow.action == WorkflowAction::Delete);
        let (jobs, observed) = self.observe_jobs(&recorded).await?;
        if !matches!(recorded.layout, Layout::Keyed | Layout::Empty) {
            return self.adopt(&recorded, &names, &observed, current).await;
        }
        let progress = recorded.get(self.workflow.action).cloned().unwrap_or_default();
        let manual = has_label(self.subject.object, labels::MANUAL_RECONCILIATION);
        let situation = Situation {
            action: self.workflow.action,
            pipelines: &names,
            hash: self.hash,
            progress: &progress,
            jobs: &observed,
            rerun: manual || has_label(self.subject.object, labels::RUN_FROM_START),
            stop_running: manual,
            suspended_label: has_label(self.subject.object, labels::WORKFLOW_SUSPENDED),
            // A paused object, or one whose Promise is paused, never gets this far.
            paused: false,
        };
        let decision = engine::decide(&situation);
        tracing::debug!(object = %self.describe(), workflow = %self.workflow, ?decision, "decided");
        let mut status = current;
        run_status::drop_counters(&mut status);
        let seen = Seen {
            situation: &situation,
            progress: &progress,
            jobs: &jobs,
            observed: &observed,
        };
        self.act(decision, &seen, status).await
    }

    /// Carries out the engine's decision.
    async fn act(
        &self,
        decision: Decision,
        seen: &Seen<'_>,
        mut status: Map<String, Value>,
    ) -> Result<Step, ReconcileError> {
        let settled = |state, status| Ok(Step::Settled { state, status });
        match decision {
            Decision::Paused => settled(Settled::Paused, status),
            Decision::NothingToRun => settled(Settled::NothingToRun, status),
            Decision::StopJob { job } => self.stop(&job, seen).await,
            Decision::Wait { .. } => Ok(Step::Acted(Action::requeue(RUNNING_JOB_RECHECK))),
            Decision::Start { index, fresh_run } => self.start(index, fresh_run, seen, status).await,
            Decision::EnsureJob { index, job } => self.ensure_job(index, &job, seen, status).await,
            Decision::Succeeded { index } => {
                crash_point(crash_points::JOB_FINISHED_UNRECORDED);
                self.finished(seen.progress, index, "succeeded");
                let next = engine::mark(seen.progress, index, engine::SUCCEEDED, Timestamp::now());
                records::write(&mut status, self.workflow.action, &next);
                status::replace(self.agent, self.subject.api, self.subject.object, status).await?;
                Ok(Step::Acted(Action::requeue(Duration::from_millis(10))))
            }
            Decision::Refused { index, job, message } => {
                // The Job controller would keep trying for ever: stop it where it is.
                self.suspend_job(&job, seen.jobs).await?;
                let text = run_status::pod_refused_message(&self.pipeline_name(index), &job, &message);
                let event = run_status::refused(&mut status, conditions::reasons::POD_REFUSED, &text, &now());
                self.announce(event).await;
                let next = engine::refused(seen.progress, index, &text, Timestamp::now());
                Ok(self.fail(seen.progress, next, index, seen.jobs, status).await)
            }
            Decision::Failed { index } => {
                let next = engine::mark(seen.progress, index, engine::FAILED, Timestamp::now());
                Ok(self.fail(seen.progress, next, index, seen.jobs, status).await)
            }
            Decision::Suspended { retry_at, .. } => {
                run_status::suspended(&mut status, self.workflow.action, &now());
                let retry_in = self.retry_in(retry_at.map(|t| t.0), seen).await?;
                settled(Settled::Suspended { retry_in }, status)
            }
            Decision::Completed => {
                prune_jobs(&self.jobs, seen.jobs, seen.progress, self.agent).await;
                settled(Settled::Completed, status)
            }
        }
    }

    /// Stops a running Job a manual reconciliation replaces.
    async fn stop(&self, job: &str, seen: &Seen<'_>) -> Result<Step, ReconcileError> {
        self.suspend_job(job, seen.jobs).await?;
        let pipeline = seen
            .observed
            .iter()
            .find(|j| j.name == job)
            .map_or(job, |j| j.pipeline.as_str());
        let action = run_status::action_word(self.workflow.action);
        self.announce(kratix_events::pipeline_suspended(action, pipeline))
            .await;
        Ok(Step::Acted(Action::await_change()))
    }

    /// How long a suspended workflow waits for its retry (`None`: for the
    /// user). When the retry is due, the label goes and the next pass re-runs
    /// the pipeline.
    async fn retry_in(
        &self,
        retry_at: Option<Timestamp>,
        seen: &Seen<'_>,
    ) -> Result<Option<Duration>, ReconcileError> {
        Ok(match retry_at {
            Some(at) if at <= Timestamp::now() => {
                self.remove_labels(self.subject.object, &[labels::WORKFLOW_SUSPENDED])
                    .await?;
                prune_jobs(&self.jobs, seen.jobs, seen.progress, self.agent).await;
                Some(Duration::ZERO)
            }
            Some(at) => Some(at.duration_since(Timestamp::now()).unsigned_abs()),
            None => None,
        })
    }

    /// Starts pipeline `index`: records it Running under the Job's name
    /// first (a crash after that write re-creates this very Job), lifts the
    /// labels the run answers, then creates the pipeline's objects.
    async fn start(
        &self,
        index: usize,
        fresh_run: bool,
        seen: &Seen<'_>,
        mut status: Map<String, Value>,
    ) -> Result<Step, ReconcileError> {
        let rendered = self.render(&random_suffix())?;
        let Some(resources) = rendered.get(index) else {
            return Err(ReconcileError::Shared(kratix_shared::Error::Render {
                workflow: self.workflow.to_string(),
                message: format!("no pipeline {index} to start"),
            }));
        };
        let job_name = resources.job.metadata.name.clone().unwrap_or_default();
        let next = engine::start(seen.situation, index, fresh_run, &job_name, Timestamp::now());
        records::write(&mut status, self.workflow.action, &next);
        run_status::started(&mut status, self.workflow.action, fresh_run, &now());
        let recorded =
            status::replace(self.agent, self.subject.api, self.subject.object, status.clone()).await?;
        crash_point(crash_points::PROGRESS_RECORDED);
        let answered =
            run_status::labels_answered(seen.situation.rerun, fresh_run, seen.situation.suspended_label);
        if !answered.is_empty() {
            self.remove_labels(&recorded, &answered).await?;
        }
        if self.workflow.action == WorkflowAction::Configure
            && self.agent.stale_rbac.needed(self.workflow, resources)
        {
            rbac_cleanup::remove_stale_user_rbac(&self.agent.client, self.workflow, resources).await?;
            self.agent.stale_rbac.done(self.workflow, resources);
        }
        let applied = apply::apply_pipeline(&self.agent.client, &self.agent.applied, resources).await;
        if let Some(refused) = self
            .namespace_refused(applied, &next, index, seen.jobs, status)
            .await?
        {
            return Ok(refused);
        }
        crash_point(crash_points::JOB_CREATED);
        let pipeline = self.pipeline_name(index);
        tracing::info!(object = %self.describe(), %pipeline, job = %job_name, "pipeline started");
        self.agent.metrics.pipeline(&self.workflow.to_string(), "started");
        let action = run_status::action_word(self.workflow.action);
        self.announce(kratix_events::pipeline_started(action, &pipeline))
            .await;
        Ok(Step::Acted(Action::requeue(RUNNING_JOB_RECHECK)))
    }

    /// Makes sure the recorded Job of a Running pipeline exists (a crash may
    /// have come between recording and creating it).
    async fn ensure_job(
        &self,
        index: usize,
        job: &str,
        seen: &Seen<'_>,
        status: Map<String, Value>,
    ) -> Result<Step, ReconcileError> {
        // The recorded name's suffix makes the render produce that very Job.
        let suffix = job.rsplit('-').next().unwrap_or_default().to_owned();
        if let Some(resources) = self.render(&suffix)?.get(index) {
            let applied = apply::apply_pipeline(&self.agent.client, &self.agent.applied, resources).await;
            if let Some(refused) = self
                .namespace_refused(applied, seen.progress, index, seen.jobs, status)
                .await?
            {
                return Ok(refused);
            }
        }
        Ok(Step::Acted(Action::requeue(RUNNING_JOB_RECHECK)))
    }
}

/// Re-runs a finished workflow when `interval` has passed since it finished,
/// by the `run-from-start` label: a periodic run waits for a running Job
/// rather than stopping it (the reference sets the manual-reconciliation
/// label, which stops it).
pub async fn periodic_rerun(
    agent: &Agent,
    api: &Api<DynamicObject>,
    object: &DynamicObject,
    interval: Duration,
    status: &Map<String, Value>,
) -> Result<Action, ReconcileError> {
    match periodic::rerun(
        status,
        interval,
        agent.reconcile_after_failure(),
        Timestamp::now(),
    ) {
        periodic::Rerun::Never => Ok(Action::await_change()),
        periodic::Rerun::At(at) => Ok(Action::requeue(
            at.duration_since(Timestamp::now()).unsigned_abs(),
        )),
        periodic::Rerun::Now => {
            let name = object.name_any();
            let patch = json!({"metadata": {"labels": {labels::RUN_FROM_START: "true"}}});
            api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(|e| ReconcileError::kube(format!("re-running {name}"), e))?;
            tracing::info!(object = %name, "periodic re-run");
            Ok(Action::await_change())
        }
    }
}

/// Deletes old Jobs beyond `numberOfJobsToKeep` per pipeline; failures are
/// logged and retried on a later pass.
async fn prune_jobs(api: &Api<Job>, jobs: &[Job], progress: &WorkflowRecord, agent: &Agent) {
    let keep = agent.config().map_or(5, |c| c.number_of_jobs_to_keep) as usize;
    let finished: Vec<engine::PrunableJob> = jobs
        .iter()
        .filter(|j| workflow_jobs::is_finished(j))
        .map(|j| {
            let of = workflow_jobs::JobLabels::of(j);
            engine::PrunableJob {
                name: j.name_any(),
                pipeline: format!("{}/{}", of.action, of.pipeline),
                created: workflow_jobs::created(j),
            }
        })
        .collect();
    for name in engine::jobs_to_prune(&finished, keep, progress) {
        let Some(job) = jobs.iter().find(|j| j.name_any() == name) else {
            continue;
        };
        let namespaced: Api<Job> = match job.namespace() {
            Some(namespace) => Api::namespaced(api.clone().into_client(), &namespace),
            None => api.clone(),
        };
        if let Err(error) = namespaced.delete(&name, &background()).await {
            tracing::warn!(job = %name, %error, "pruning an old Job failed; will retry");
        }
    }
}

/// Delete with background propagation: the Job goes now, its Pods after.
pub fn background() -> kube::api::DeleteParams {
    kube::api::DeleteParams {
        propagation_policy: Some(kube::api::PropagationPolicy::Background),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_labels_go_only_from_the_version_the_decision_saw() {
        let mut seen: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "example.org/v1", "kind": "Cache",
            "metadata": {"name": "orders", "resourceVersion": "42",
                "labels": {"kratix.io/manual-reconciliation": "true", "team": "a"}}
        }))
        .expect("object");
        let patch =
            label_removal(&seen, &[labels::MANUAL_RECONCILIATION, labels::RUN_FROM_START]).expect("a patch");
        assert_eq!(
            patch,
            json!({"metadata": {"labels": {"kratix.io/manual-reconciliation": null}, "resourceVersion": "42"}})
        );
        seen.metadata.labels = None;
        assert_eq!(label_removal(&seen, &[labels::MANUAL_RECONCILIATION]), None);
    }
}
