//! The resource controller of one Promise: runs each request's configure
//! workflow, one pipeline Job at a time, as the shared engine decides.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::batch::v1::Job;
use kratix_shared::api::hash::resource_hash;
use kratix_shared::api::work::Work;
use kratix_shared::api::{Promise, Workflow};
use kratix_shared::api::{conditions, selectors};
use kratix_shared::workflow::request_status;
use kratix_shared::{api::labels, workflow::finalizers};
use kube::ResourceExt;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{PredicateConfig, WatchStreamExt as _, watcher};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use super::delete;
use super::request::{Context, Request, write_if_changed};
use crate::controller::base::context::{Agent, ResourceControllerHandle, interval_of};
use crate::controller::base::error::ReconcileError;
use crate::controller::base::predicates;
use crate::controller::base::status;
use crate::controller::base::status::now;
use crate::controller::workflow::{self, Run, Settled, Step, has_label};

/// Requests of one Promise reconciled at the same time.
const RECONCILE_CONCURRENCY: u16 = 16;

/// Starts the controller for `promise`'s API.
pub fn start(agent: Arc<Agent>, promise: String, resource: ApiResource) -> ResourceControllerHandle {
    let (rerun_all, rerun_receiver) = mpsc::unbounded_channel::<()>();
    let task = tokio::spawn(run(agent, promise, resource, rerun_receiver));
    ResourceControllerHandle {
        task: task.abort_handle(),
        rerun_all,
    }
}

async fn run(agent: Arc<Agent>, promise: String, resource: ApiResource, rerun: mpsc::UnboundedReceiver<()>) {
    let client = agent.client.clone();
    let requests: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    let jobs: Api<Job> = Api::all(client.clone());
    let job_selector = selectors::resource_jobs(&promise, None);
    let mapped = resource.clone();
    let reruns = futures::stream::unfold(rerun, |mut receiver| async move {
        receiver.recv().await.map(|()| ((), receiver))
    });
    let retries_agent = agent.clone();
    let retries_kind = format!("{}.{}", resource.kind, resource.group);
    let context = Arc::new(Context::new(agent, promise.clone(), resource.clone()));
    let works: Api<Work> = Api::all(client.clone());
    let work_selector = selectors::any_request_works(&promise);
    let work_mapped = resource.clone();
    let writer = reflector::store::Writer::new(resource.clone());
    let store = writer.as_reader();
    let changes = watcher(requests, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(
            // Waking a request for a status write would cost a read and a Job
            // list and decide nothing new: a quarter of all reconciles were such.
            predicates::workflow_inputs::<DynamicObject>(),
            PredicateConfig::default(),
        );
    let work_changes = changed_works(
        watcher(works, watcher::Config::default().labels_from(&work_selector)).default_backoff(),
    );
    Controller::for_stream_with(changes, store, resource)
        .watches_stream(work_changes, move |work: Work| {
            let labels = work.labels();
            let name = labels.get(labels::RESOURCE_NAME)?;
            let namespace = labels
                .get(labels::RESOURCE_NAMESPACE)
                .cloned()
                .or_else(|| work.namespace())?;
            Some(ObjectRef::new_with(name, work_mapped.clone()).within(&namespace))
        })
        .watches(
            jobs,
            watcher::Config::default().labels_from(&job_selector),
            move |job: Job| {
                // Only a finished Job changes what the workflow does next; its
                // other status updates would only wake the request for nothing.
                if !kratix_shared::workflow::jobs::is_finished(&job) {
                    return None;
                }
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
        // A burst of requests is worked through a few at a time: the API server
        // is the bottleneck, and each reconcile in flight holds memory.
        .with_config(kube::runtime::controller::Config::default().concurrency(RECONCILE_CONCURRENCY))
        .run(reconcile, error_policy, context)
        .for_each(|result| {
            crate::controller::base::context::reconciled(&retries_agent, &retries_kind, &promise, &result);
            futures::future::ready(())
        })
        .await;
    tracing::info!(%promise, "resource controller stopped");
}

/// What a request reads from its Works: their spec (through the generation),
/// their deletion and their status (conditions, outputs). A finalizer added or
/// the agent's bookkeeping in metadata changes none of it, and each such
/// update would otherwise cost the request a read and a Job list.
fn work_inputs(work: &Work) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    work.metadata.generation.hash(&mut hasher);
    work.metadata.deletion_timestamp.is_some().hash(&mut hasher);
    serde_json::to_string(&work.status)
        .unwrap_or_default()
        .hash(&mut hasher);
    hasher.finish()
}

/// The Works whose [`work_inputs`] changed, and every deleted one.
fn changed_works(
    events: impl futures::Stream<Item = Result<watcher::Event<Work>, watcher::Error>> + Send + 'static,
) -> impl futures::Stream<Item = Result<Work, watcher::Error>> + Send + 'static {
    let mut seen: std::collections::HashMap<(Option<String>, String), u64> = Default::default();
    events.flat_map(move |event| {
        let changed: Vec<Result<Work, watcher::Error>> = match event {
            Ok(watcher::Event::Apply(work) | watcher::Event::InitApply(work)) => {
                let key = (work.namespace(), work.name_any());
                let inputs = work_inputs(&work);
                if seen.insert(key, inputs) == Some(inputs) {
                    Vec::new()
                } else {
                    vec![Ok(work)]
                }
            }
            Ok(watcher::Event::Delete(work)) => {
                seen.remove(&(work.namespace(), work.name_any()));
                vec![Ok(work)]
            }
            Ok(watcher::Event::Init | watcher::Event::InitDone) => Vec::new(),
            Err(error) => vec![Err(error)],
        };
        futures::stream::iter(changed)
    })
}

fn error_policy(request: Arc<DynamicObject>, error: &ReconcileError, context: Arc<Context>) -> Action {
    let kind = format!("{}.{}", context.resource.kind, context.resource.group);
    let key =
        crate::controller::base::retries::key(&kind, request.namespace().as_deref(), &request.name_any());
    crate::controller::base::context::retry_after(&context.agent, &key, error)
}

/// Whether the request's Promise says it is Available: the cached copy, or
/// the API server's when the cache may lag behind the Promise's own write.
async fn promise_available(request: &Request<'_>) -> Result<bool, ReconcileError> {
    let available = |promise: &Value| {
        promise.pointer("/status/status").and_then(Value::as_str)
            == Some(conditions::promise_state::AVAILABLE)
    };
    if available(&request.promise_value) {
        return Ok(true);
    }
    let promises: Api<DynamicObject> = Api::all_with(
        request.context.agent.client.clone(),
        &crate::controller::base::promises::api_resource(),
    );
    let fresh = promises
        .get_opt(&request.context.promise)
        .await
        .map_err(|e| ReconcileError::kube(format!("reading Promise {}", request.context.promise), e))?;
    Ok(fresh.is_some_and(|promise| available(&promise.data)))
}

/// One pass over a request: read it and its Promise, then pause, delete, the
/// labels and finalizers it needs, the wait for its Promise, its configure
/// workflow's next step, and the status it leaves.
async fn reconcile(cached: Arc<DynamicObject>, context: Arc<Context>) -> Result<Action, ReconcileError> {
    let Some(loaded) = load(&cached, &context).await? else {
        return Ok(Action::await_change());
    };
    let (request, promise_object) = match loaded {
        Loaded::Request(request, promise_object) => (*request, promise_object),
        Loaded::Orphan(orphan) => return delete::without_promise(&context, &orphan.0, &orphan.1).await,
    };
    let paused =
        has_label(&request.object, labels::PAUSED) || labels::is_on(request.promise.labels(), labels::PAUSED);
    if paused {
        // As in Kratix, a pause holds deletion too, until it is lifted.
        let mut status = status::status_of(&request.object);
        request_status::paused(&mut status, &now());
        write_if_changed(&request, status).await?;
        return Ok(Action::await_change());
    }
    let validated = context.validated(&promise_object, &request.promise_value);
    if validated.has_errors() {
        return Err(ReconcileError::InvalidPromise {
            promise: context.promise.clone(),
            message: "invalid; see its status".to_owned(),
        });
    }
    let Some(resource_api) = validated.resource_api.clone() else {
        return Ok(Action::await_change());
    };
    if request.object.metadata.deletion_timestamp.is_some() {
        let delete = validated.runnable_pipelines(Workflow::RESOURCE_DELETE);
        return delete::reconcile(&request, &resource_api, delete).await;
    }
    if let Some(action) = admit(&request).await? {
        return Ok(action);
    }
    if let Some(action) = availability_gate(&request).await? {
        return Ok(action);
    }
    let pipelines = validated.runnable_pipelines(Workflow::RESOURCE_CONFIGURE);
    let hash = resource_hash(&request.promise_value, &request.value);
    let run = Run::new(
        &context.agent,
        request.subject(&resource_api),
        Workflow::RESOURCE_CONFIGURE,
        pipelines,
        &hash,
    );
    match run.step().await? {
        Step::Acted(action) => Ok(action),
        Step::Settled { state, status } => settle(&request, state, status).await,
    }
}

/// A request as read, with its Promise; or one whose Promise is gone.
enum Loaded<'c> {
    Request(Box<Request<'c>>, Arc<DynamicObject>),
    Orphan(Box<(Api<DynamicObject>, DynamicObject)>),
}

/// Reads the request and its Promise. `None` when the request is gone, or
/// its Promise is and it is not being deleted.
async fn load<'c>(
    cached: &DynamicObject,
    context: &'c Context,
) -> Result<Option<Loaded<'c>>, ReconcileError> {
    let name = cached.name_any();
    let namespace = cached.namespace().unwrap_or_else(|| "default".to_owned());
    let api: Api<DynamicObject> =
        Api::namespaced_with(context.agent.client.clone(), &namespace, &context.resource);
    // Decide from the object as it is now: the watch cache can lag behind our
    // own last write (a removed re-run label, just-recorded progress), and acting
    // on that would stop the Job this controller has just started.
    let Some(object) = api
        .get_opt(&name)
        .await
        .map_err(|e| ReconcileError::kube(format!("reading {namespace}/{name}"), e))?
    else {
        return Ok(None);
    };
    let Some(promise_object) =
        crate::controller::base::promises::cached_or_read(&context.agent, &context.promise).await?
    else {
        let deleting = object.metadata.deletion_timestamp.is_some();
        return Ok(deleting.then(|| Loaded::Orphan(Box::new((api, object)))));
    };
    let promise_value = serde_json::to_value(promise_object.as_ref())
        .map_err(|e| ReconcileError::codec(format!("encoding Promise {}", context.promise), e))?;
    let promise: Promise = Promise::from_json(&promise_value)
        .map_err(|e| ReconcileError::codec(format!("Promise {} does not decode", context.promise), e))?;
    let request = Request {
        context,
        value: serde_json::to_value(&object)
            .map_err(|e| ReconcileError::codec(format!("encoding {namespace}/{name}"), e))?,
        promise_value,
        api,
        object,
        name,
        namespace,
        promise,
    };
    Ok(Some(Loaded::Request(Box::new(request), promise_object)))
}

/// What a request needs before its workflow runs: its Promise's label, its
/// finalizers, and a Promise that is not going. `Some` when it must wait.
async fn admit(request: &Request<'_>) -> Result<Option<Action>, ReconcileError> {
    if !request.object.labels().contains_key(labels::PROMISE_NAME) {
        let patch = json!({"metadata": {"labels": {labels::PROMISE_NAME: request.context.promise}}});
        request
            .api
            .patch(&request.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| ReconcileError::kube(format!("labelling {}", request.describe()), e))?;
        return Ok(Some(Action::await_change()));
    }
    if let Some(next) = finalizers::synced(
        request.object.finalizers(),
        &finalizers::RESOURCE,
        &finalizers::RESOURCE,
    ) {
        crate::controller::base::finalizers::set(&request.api, &request.object, &next).await?;
        return Ok(Some(Action::await_change()));
    }
    if request.promise.metadata.deletion_timestamp.is_some() {
        // The Promise is going: its requests run no more configure workflows.
        return Ok(Some(Action::await_change()));
    }
    Ok(None)
}

/// The status a settled workflow leaves, written, and when to look again.
async fn settle(
    request: &Request<'_>,
    state: Settled,
    mut status: Map<String, Value>,
) -> Result<Action, ReconcileError> {
    let generation = request.object.metadata.generation.unwrap_or_default();
    match state {
        Settled::Paused => {
            request_status::paused(&mut status, &now());
            write_if_changed(request, status).await?;
            Ok(Action::await_change())
        }
        Settled::NothingToRun => {
            request_status::without_workflow(&mut status, generation);
            write_if_changed(request, status).await?;
            Ok(Action::await_change())
        }
        Settled::Suspended { retry_in } => {
            request_status::suspended(&mut status, &now());
            write_if_changed(request, status).await?;
            Ok(retry_in.map_or_else(Action::await_change, Action::requeue))
        }
        Settled::Failed => {
            request_status::failed(&mut status, &now());
            write_if_changed(request, status.clone()).await?;
            periodic_rerun(request, &status).await
        }
        Settled::Completed => {
            let works = works_of(request).await?;
            let own = request_status::own_works(&works, &request.namespace);
            let readiness = request_status::readiness(&own);
            let outputs = request_status::outputs(&own);
            request_status::completed(&mut status, generation, &readiness, outputs, &now());
            write_if_changed(request, status.clone()).await?;
            periodic_rerun(request, &status).await
        }
    }
}

/// Requests wait while their Promise is not Available: its required Promises
/// are missing, its own workflow runs first, or it cannot fulfil requests. As
/// in Kratix, they say so in `PromiseAvailable` False (with Kratix's strings,
/// whatever the cause) and `message: Pending`. `None` when the Promise is Available.
async fn availability_gate(request: &Request<'_>) -> Result<Option<Action>, ReconcileError> {
    let unmet = request
        .promise
        .status
        .as_ref()
        .and_then(|s| {
            s.conditions
                .iter()
                .find(|c| c.type_ == conditions::types::REQUIREMENTS_FULFILLED)
        })
        .is_some_and(|c| c.status == conditions::status::FALSE);
    let unavailable = unmet || !promise_available(request).await?;
    let mut status = status::status_of(&request.object);
    if unavailable {
        request_status::waiting_for_promise(&mut status, &now());
        write_if_changed(request, status).await?;
        // Unmet requirements are looked at again in a minute, as in Kratix; an
        // unavailable Promise has its requests looked at once it is Available.
        return Ok(Some(if unmet {
            Action::requeue(Duration::from_secs(60))
        } else {
            Action::await_change()
        }));
    }
    if request_status::has_waited_for_promise(&status) {
        request_status::promise_available(&mut status, &now());
        if write_if_changed(request, status).await? {
            // A status write does not wake the request (see `predicates::workflow_inputs`):
            // look again now, with the object this write produced.
            return Ok(Some(Action::requeue(Duration::from_millis(10))));
        }
    }
    Ok(None)
}

/// The Works listed for the request (by its Promise's and its name; the
/// caller keeps its own).
async fn works_of(request: &Request<'_>) -> Result<Vec<Work>, ReconcileError> {
    let works_api: Api<Work> = Api::namespaced(
        request.context.agent.client.clone(),
        &request.pipeline_namespace(),
    );
    let selector = selectors::request_works(&request.context.promise, &request.name);
    Ok(works_api
        .list(&ListParams::default().labels_from(&selector))
        .await
        .map_err(|e| ReconcileError::kube("listing Works", e))?
        .items)
}

async fn periodic_rerun(
    request: &Request<'_>,
    status: &Map<String, Value>,
) -> Result<Action, ReconcileError> {
    let agent = &request.context.agent;
    workflow::periodic_rerun(
        agent,
        &request.api,
        &request.object,
        interval_of(agent, &request.promise),
        status,
    )
    .await
}
