//! The resource controller of one Promise: runs each request's configure
//! workflow, one pipeline Job at a time, as the shared engine decides.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::jiff::Timestamp;
use kratix_shared::api::promise::WorkflowsStatus;
use kratix_shared::api::resource_api::ResourceApi;
use kratix_shared::api::work::Work;
use kratix_shared::api::{Pipeline, Promise, Workflow};
use kratix_shared::hash::resource_hash;
use kratix_shared::labels;
use kratix_shared::naming::random_suffix;
use kratix_shared::render::{RenderRequest, render_workflow};
use kratix_shared::status_conditions::{WorkReadiness, WorkflowState, reconciled, works_succeeded};
use kratix_shared::status_merge::set_condition;
use kratix_shared::validate::validate_promise;
use kratix_shared::workflow_engine::{self, Decision, JobState, ObservedJob, Situation};
use kube::ResourceExt;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use super::{Agent, ERROR_REQUEUE, ReconcileError, apply, status};

/// A running resource controller.
pub struct Handle {
    pub task: tokio::task::AbortHandle,
    /// Sending re-runs every resource of the Promise (its spec changed).
    pub rerun_all: mpsc::UnboundedSender<()>,
}

struct Context {
    agent: Arc<Agent>,
    promise: String,
    resource: ApiResource,
}

/// Starts the controller for `promise`'s API.
pub fn start(agent: Arc<Agent>, promise: String, resource: ApiResource) -> Handle {
    let (rerun_all, rerun_receiver) = mpsc::unbounded_channel::<()>();
    let task = tokio::spawn(run(agent, promise, resource, rerun_receiver));
    Handle {
        task: task.abort_handle(),
        rerun_all,
    }
}

async fn run(agent: Arc<Agent>, promise: String, resource: ApiResource, rerun: mpsc::UnboundedReceiver<()>) {
    let client = agent.client.clone();
    let requests: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    let jobs: Api<Job> = Api::all(client.clone());
    let job_selector = format!(
        "{}={promise},{}=resource",
        labels::PROMISE_NAME,
        labels::WORKFLOW_TYPE
    );
    let mapped = resource.clone();
    let reruns = futures::stream::unfold(rerun, |mut receiver| async move {
        receiver.recv().await.map(|()| ((), receiver))
    });
    let context = Arc::new(Context {
        agent,
        promise: promise.clone(),
        resource: resource.clone(),
    });
    Controller::new_with(requests, watcher::Config::default(), resource)
        .watches(
            jobs,
            watcher::Config::default().labels(&job_selector),
            move |job: Job| {
                let annotations = job.annotations();
                let name = annotations.get(labels::JOB_RESOURCE_NAME).cloned();
                let namespace = annotations.get(labels::JOB_RESOURCE_NAMESPACE).cloned();
                name.map(|name| {
                    ObjectRef::new_with(&name, mapped.clone())
                        .within(namespace.as_deref().unwrap_or("default"))
                })
            },
        )
        .reconcile_all_on(reruns)
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "resource reconcile failed");
            }
        })
        .await;
    tracing::info!(%promise, "resource controller stopped");
}

fn error_policy(_: Arc<DynamicObject>, error: &ReconcileError, _: Arc<Context>) -> Action {
    tracing::warn!(%error, "resource reconcile failed; retrying");
    Action::requeue(ERROR_REQUEUE)
}

fn job_state(job: &Job) -> JobState {
    let conditions = job
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let has = |type_: &str| conditions.iter().any(|c| c.type_ == type_ && c.status == "True");
    if has("Complete") {
        JobState::Succeeded
    } else if has("Failed") || has("Suspended") {
        JobState::Failed
    } else {
        JobState::Running
    }
}

fn label(object: &DynamicObject, key: &str) -> bool {
    object.labels().get(key).map(String::as_str) == Some("true")
}

fn progress_of(status: &Map<String, Value>) -> WorkflowsStatus {
    status
        .get("kratix")
        .and_then(|k| k.get("workflows"))
        .and_then(|w| serde_json::from_value(w.clone()).ok())
        .unwrap_or_default()
}

fn set_progress(status: &mut Map<String, Value>, progress: &WorkflowsStatus) {
    let kratix = status.entry("kratix").or_insert_with(|| json!({}));
    if !kratix.is_object() {
        *kratix = json!({});
    }
    kratix["workflows"] = serde_json::to_value(progress).unwrap_or_default();
}

fn now() -> String {
    Timestamp::now().to_string()
}

async fn reconcile(cached: Arc<DynamicObject>, context: Arc<Context>) -> Result<Action, ReconcileError> {
    let client = context.agent.client.clone();
    let name = cached.name_any();
    let namespace = cached.namespace().unwrap_or_else(|| "default".to_owned());
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &context.resource);
    // Decide from the object as it is now: the watch cache can lag behind our
    // own last write (a removed re-run label, just-recorded progress), and acting
    // on that would stop the Job this controller has just started.
    let Some(request) = requests
        .get_opt(&name)
        .await
        .map_err(|e| ReconcileError::kube(format!("reading {namespace}/{name}"), e))?
    else {
        return Ok(Action::await_change());
    };
    if request.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    if !request.labels().contains_key(labels::PROMISE_NAME) {
        let patch = json!({"metadata": {"labels": {labels::PROMISE_NAME: context.promise}}});
        requests
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| ReconcileError::kube(format!("labelling {namespace}/{name}"), e))?;
        return Ok(Action::await_change());
    }
    let promise = Api::<Promise>::all(client.clone())
        .get(&context.promise)
        .await
        .map_err(|e| ReconcileError::kube(format!("reading Promise {}", context.promise), e))?;
    let promise_value = serde_json::to_value(&promise).map_err(|e| ReconcileError::Invalid(e.to_string()))?;
    let validated = validate_promise(&promise_value);
    if validated.has_errors() {
        return Err(ReconcileError::Invalid(format!(
            "Promise {} is invalid; see its status",
            context.promise
        )));
    }
    let Some(api) = validated.resource_api.clone() else {
        return Ok(Action::await_change());
    };
    let pipelines: Vec<Pipeline> = validated
        .pipelines
        .iter()
        .find(|(w, _)| *w == Workflow::RESOURCE_CONFIGURE)
        .map(|(_, p)| p.clone())
        .unwrap_or_default();
    let names: Vec<String> = pipelines.iter().map(|p| p.name().to_owned()).collect();
    let request_value = serde_json::to_value(&request).map_err(|e| ReconcileError::Invalid(e.to_string()))?;
    let hash = resource_hash(&promise_value, &request_value);
    let current_status = status::status_of(&request);
    let progress = progress_of(&current_status);
    let pipeline_namespace = promise.spec.pipeline_namespace().unwrap_or(&namespace).to_owned();
    let job_selector = format!(
        "{}={},{}={name},{}=resource,{}=configure",
        labels::PROMISE_NAME,
        context.promise,
        labels::RESOURCE_NAME,
        labels::WORKFLOW_TYPE,
        labels::WORKFLOW_ACTION
    );
    let jobs_api: Api<Job> = Api::namespaced(client.clone(), &pipeline_namespace);
    let jobs = jobs_api
        .list(&ListParams::default().labels(&job_selector))
        .await
        .map_err(|e| ReconcileError::kube("listing pipeline Jobs", e))?;
    let observed: Vec<ObservedJob> = jobs
        .items
        .iter()
        .map(|j| ObservedJob {
            name: j.name_any(),
            state: job_state(j),
        })
        .collect();
    let manual = label(&request, labels::MANUAL_RECONCILIATION);
    let situation = Situation {
        pipelines: &names,
        hash: &hash,
        progress: &progress,
        jobs: &observed,
        rerun: manual || label(&request, labels::RUN_FROM_START),
        stop_running: manual,
        suspended_label: label(&request, labels::WORKFLOW_SUSPENDED),
        paused: label(&request, labels::PAUSED)
            || promise.labels().get(labels::PAUSED).map(String::as_str) == Some("true"),
    };
    let decision = workflow_engine::decide(&situation);
    tracing::debug!(request = %format!("{namespace}/{name}"), ?decision, "decided");
    let render = |suffix: &str| {
        render_workflow(&RenderRequest {
            promise: &promise_value,
            workflow: Workflow::RESOURCE_CONFIGURE,
            pipelines: &pipelines,
            resource: Some((&request_value, &api)),
            config: context.agent.config.as_ref(),
            adapter: &context.agent.adapter,
            job_name_suffix: Some(suffix),
        })
        .map_err(|e| ReconcileError::Invalid(e.to_string()))
    };
    let mut status = current_status.clone();
    status.insert("workflows".to_owned(), Value::from(names.len()));
    match decision {
        Decision::Paused => {
            set_reconciled(&mut status, WorkflowState::Paused, &[]);
            write_if_changed(&requests, &request, &current_status, status).await?;
            Ok(Action::await_change())
        }
        Decision::NothingToRun => {
            status.insert("workflowsSucceeded".to_owned(), Value::from(0));
            status.insert("workflowsFailed".to_owned(), Value::from(0));
            write_if_changed(&requests, &request, &current_status, status).await?;
            Ok(Action::await_change())
        }
        Decision::StopJob { job } => {
            jobs_api
                .patch(
                    &job,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"spec": {"suspend": true}})),
                )
                .await
                .map_err(|e| ReconcileError::kube(format!("suspending Job {job}"), e))?;
            Ok(Action::await_change())
        }
        Decision::Wait { .. } => Ok(Action::requeue(Duration::from_secs(60))),
        Decision::Start { index, fresh_run } => {
            let suffix = random_suffix();
            let rendered = render(&suffix)?;
            let Some(resources) = rendered.get(index) else {
                return Err(ReconcileError::Invalid(format!("no pipeline {index} to start")));
            };
            let job_name = resources.job.metadata.name.clone().unwrap_or_default();
            let next = workflow_engine::start(
                &progress,
                &names,
                &hash,
                index,
                fresh_run,
                &job_name,
                Timestamp::now(),
            );
            set_progress(&mut status, &next);
            status.insert("message".to_owned(), Value::String("Pending".to_owned()));
            set_condition(
                &mut status,
                "ConfigureWorkflowCompleted",
                "False",
                "PipelinesInProgress",
                "Pipelines are still in progress",
                &now(),
            );
            set_reconciled(&mut status, WorkflowState::InProgress, &[]);
            // Progress first: a crash after this line re-creates this very Job.
            status::replace(&requests, &request, status).await?;
            if situation.rerun {
                let patch = json!({"metadata": {"labels": {labels::MANUAL_RECONCILIATION: null, labels::RUN_FROM_START: null}}});
                requests
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map_err(|e| ReconcileError::kube("removing the re-run labels", e))?;
            }
            apply::apply_pipeline(&client, resources).await?;
            tracing::info!(request = %format!("{namespace}/{name}"), pipeline = %names[index], job = %job_name, "pipeline started");
            Ok(Action::requeue(Duration::from_secs(60)))
        }
        Decision::EnsureJob { index, job } => {
            let suffix = job.rsplit('-').next().unwrap_or_default().to_owned();
            let rendered = render(&suffix)?;
            if let Some(resources) = rendered.get(index) {
                apply::apply_pipeline(&client, resources).await?;
            }
            Ok(Action::requeue(Duration::from_secs(60)))
        }
        Decision::Succeeded { index } => {
            let next = workflow_engine::mark(&progress, index, workflow_engine::SUCCEEDED, Timestamp::now());
            set_progress(&mut status, &next);
            status.insert("workflowsSucceeded".to_owned(), Value::from(index + 1));
            status::replace(&requests, &request, status).await?;
            Ok(Action::requeue(Duration::from_millis(10)))
        }
        Decision::Failed { index } => {
            prune_jobs(&jobs_api, &jobs.items, &progress, context.agent.config.as_ref()).await;
            let next = workflow_engine::mark(&progress, index, workflow_engine::FAILED, Timestamp::now());
            set_progress(&mut status, &next);
            status.insert("workflowsFailed".to_owned(), Value::from(1));
            let message = format!(
                "A Configure Pipeline has failed: {}",
                names.get(index).cloned().unwrap_or_default()
            );
            set_condition(
                &mut status,
                "ConfigureWorkflowCompleted",
                "False",
                "ConfigureWorkflowFailed",
                &message,
                &now(),
            );
            set_reconciled(&mut status, WorkflowState::Failed, &[]);
            write_if_changed(&requests, &request, &current_status, status).await?;
            Ok(Action::await_change())
        }
        Decision::Suspended { retry_at, .. } => {
            set_reconciled(&mut status, WorkflowState::Suspended, &[]);
            write_if_changed(&requests, &request, &current_status, status).await?;
            match retry_at.map(|t| t.0) {
                Some(at) if at <= Timestamp::now() => {
                    let patch = json!({"metadata": {"labels": {labels::WORKFLOW_SUSPENDED: null}}});
                    requests
                        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                        .await
                        .map_err(|e| ReconcileError::kube("resuming the suspended workflow", e))?;
                    Ok(Action::await_change())
                }
                Some(at) => {
                    let wait = at.duration_since(Timestamp::now()).unsigned_abs();
                    Ok(Action::requeue(wait))
                }
                None => Ok(Action::await_change()),
            }
        }
        Decision::Completed => {
            prune_jobs(&jobs_api, &jobs.items, &progress, context.agent.config.as_ref()).await;
            let works_api: Api<Work> = Api::namespaced(client.clone(), &pipeline_namespace);
            let work_selector = format!(
                "{}={},{}={name}",
                labels::PROMISE_NAME,
                context.promise,
                labels::RESOURCE_NAME
            );
            let works = works_api
                .list(&ListParams::default().labels(&work_selector))
                .await
                .map_err(|e| ReconcileError::kube("listing Works", e))?;
            let readiness: Vec<(String, WorkReadiness)> = works
                .items
                .iter()
                .map(|w| {
                    (
                        w.name_any(),
                        WorkReadiness::of(&serde_json::to_value(w).unwrap_or_default()),
                    )
                })
                .collect();
            status.insert(
                "observedGeneration".to_owned(),
                Value::from(request.metadata.generation.unwrap_or_default()),
            );
            status.insert("workflowsSucceeded".to_owned(), Value::from(names.len()));
            status.insert("workflowsFailed".to_owned(), Value::from(0));
            set_reconciled(&mut status, WorkflowState::Completed, &readiness);
            write_if_changed(&requests, &request, &current_status, status).await?;
            let interval = context
                .agent
                .config
                .as_ref()
                .map(|c| c.reconciliation_interval)
                .unwrap_or(Duration::from_secs(36_000));
            Ok(Action::requeue(interval))
        }
    }
}

/// Deletes old Jobs beyond `numberOfJobsToKeep` per pipeline; failures are
/// logged and retried on a later pass.
async fn prune_jobs(
    api: &Api<Job>,
    jobs: &[Job],
    progress: &WorkflowsStatus,
    config: Option<&kratix_shared::config::KratixConfig>,
) {
    let keep = config.map_or(5, |c| c.number_of_jobs_to_keep) as usize;
    let finished: Vec<workflow_engine::PrunableJob> = jobs
        .iter()
        .filter(|j| job_state(j) != JobState::Running)
        .map(|j| workflow_engine::PrunableJob {
            name: j.name_any(),
            pipeline: j.labels().get(labels::PIPELINE_NAME).cloned().unwrap_or_default(),
            created: j
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0.to_string())
                .unwrap_or_default(),
        })
        .collect();
    let background = kube::api::DeleteParams {
        propagation_policy: Some(kube::api::PropagationPolicy::Background),
        ..Default::default()
    };
    for name in workflow_engine::jobs_to_prune(&finished, keep, progress) {
        if let Err(error) = api.delete(&name, &background).await {
            tracing::warn!(job = %name, %error, "pruning an old Job failed; will retry");
        }
    }
}

/// Sets WorksSucceeded (when the workflow completed) and Reconciled.
fn set_reconciled(
    status: &mut Map<String, Value>,
    workflow: WorkflowState,
    works: &[(String, WorkReadiness)],
) {
    let now = now();
    let works_condition = works_succeeded(works);
    if workflow == WorkflowState::Completed {
        set_condition(
            status,
            works_condition.type_,
            works_condition.status,
            works_condition.reason,
            &works_condition.message,
            &now,
        );
    }
    let condition = reconciled(workflow, &works_condition);
    set_condition(
        status,
        condition.type_,
        condition.status,
        condition.reason,
        &condition.message,
        &now,
    );
}

async fn write_if_changed(
    api: &Api<DynamicObject>,
    object: &DynamicObject,
    current: &Map<String, Value>,
    status: Map<String, Value>,
) -> Result<(), ReconcileError> {
    if *current != status {
        status::replace(api, object, status).await?;
    }
    Ok(())
}

/// The API resource of a Promise's requests.
pub fn api_resource(api: &ResourceApi) -> ApiResource {
    ApiResource {
        group: api.group.clone(),
        version: api.version.clone(),
        api_version: api.api_version(),
        kind: api.kind.clone(),
        plural: api.plural.clone(),
    }
}
