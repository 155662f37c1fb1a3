//! The Promise controller: validates the Promise, keeps its
//! finalizers, checks its required Promises, installs its API's CRD, writes its
//! dependencies Work, runs its configure workflow, and then starts (or re-runs)
//! the resource controller of its API.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::batch::v1::Job;
use kratix_shared::api::Promise;
use kratix_shared::api::hash::spec_hash;
use kratix_shared::api::resource_api::ResourceApi;
use kratix_shared::api::selectors;
use kratix_shared::api::work::Work;
use kratix_shared::api::{Workflow, WorkflowType};
use kratix_shared::validate::{Severity, Validated, validate_promise};
use kratix_shared::workflow::conditions::{self, WorkReadiness};
use kratix_shared::workflow::events::{KratixEvent, Reporter};
use kratix_shared::workflow::{promise_status, status_merge};
use kratix_shared::{api::labels, workflow::finalizers};
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use serde_json::{Map, Value, json};

use super::object::{Context, PromiseObject, api_conflict};
use super::{delete, dependencies, refusals, required_by, requirements, served_api};
use crate::controller::base::context::Agent;
use crate::controller::base::context::interval_of;
use crate::controller::base::error::ReconcileError;
use crate::controller::base::events;
use crate::controller::base::promises::api_resource;
use crate::controller::base::status;
use crate::controller::base::status::now;
use crate::controller::workflow::{self, Run, Settled, Step, has_label};

/// How often to look at unmet requirements again (changes of the required
/// Promises also wake the Promise).
const REQUIREMENTS_RECHECK: Duration = Duration::from_secs(60);

pub async fn run(agent: Arc<Agent>) {
    let client = agent.client.clone();
    let promises: Api<DynamicObject> = Api::all_with(client.clone(), &api_resource());
    let jobs: Api<Job> = Api::all(client.clone());
    let works: Api<Work> = Api::all(client.clone());
    let to_promise = |object_labels: &std::collections::BTreeMap<String, String>| {
        object_labels
            .get(labels::PROMISE_NAME)
            .map(|name| ObjectRef::new_with(name, api_resource()))
    };
    let requirers = Arc::new(Mutex::new(HashMap::<String, BTreeSet<String>>::new()));
    let requirers_of = requirers.clone();
    let retries_agent = agent.clone();
    let context = Arc::new(Context { agent, requirers });
    let controller = Controller::new_with(promises, watcher::Config::default(), api_resource());
    let _ = context.agent.promises.set(controller.store());
    let policy_changes = futures::stream::unfold(
        context.agent.promise_policy_changed.subscribe(),
        |mut receiver| async move { receiver.changed().await.ok().map(|()| ((), receiver)) },
    );
    controller
        .reconcile_all_on(policy_changes)
        .watches(
            jobs,
            watcher::Config::default().labels_from(&selectors::jobs_of_type(WorkflowType::Promise)),
            move |job: Job| {
                if kratix_shared::workflow::jobs::is_finished(&job) {
                    to_promise(job.labels())
                } else {
                    None
                }
            },
        )
        .watches(
            works,
            watcher::Config::default().labels_from(&selectors::works_of_type(WorkflowType::Promise)),
            move |work: Work| to_promise(work.labels()),
        )
        // A change of a Promise wakes the Promises that require it. Watched
        // untyped: a Promise without a spec (a version marker) must not stop the watch.
        .watches_with(
            Api::<DynamicObject>::all_with(client, &api_resource()),
            api_resource(),
            watcher::Config::default(),
            move |changed: DynamicObject| {
                let names = requirers_of
                    .lock()
                    .map(|map| map.get(&changed.name_any()).cloned().unwrap_or_default())
                    .unwrap_or_default();
                names
                    .into_iter()
                    .map(|name| ObjectRef::new_with(&name, api_resource()))
                    .collect::<Vec<_>>()
            },
        )
        .run(reconcile, error_policy, context)
        .for_each(|result| {
            crate::controller::base::context::reconciled(&retries_agent, "Promise", "promise", &result);
            futures::future::ready(())
        })
        .await;
}

fn error_policy(promise: Arc<DynamicObject>, error: &ReconcileError, context: Arc<Context>) -> Action {
    let key = crate::controller::base::retries::key("Promise", None, &promise.name_any());
    crate::controller::base::context::retry_after(&context.agent, &key, error)
}

async fn reconcile(cached: Arc<DynamicObject>, context: Arc<Context>) -> Result<Action, ReconcileError> {
    let agent = &context.agent;
    let api: Api<DynamicObject> = Api::all_with(agent.client.clone(), &api_resource());
    let name = cached.name_any();
    let Some(object) = api
        .get_opt(&name)
        .await
        .map_err(|e| ReconcileError::kube(format!("reading Promise {name}"), e))?
    else {
        return Ok(Action::await_change());
    };
    let value = serde_json::to_value(&object)
        .map_err(|e| ReconcileError::codec(format!("encoding Promise {name}"), e))?;
    let typed: Promise = Promise::from_json(&value)
        .map_err(|e| ReconcileError::codec(format!("Promise {name} does not decode"), e))?;
    let promise = PromiseObject {
        api,
        api_resource: api_resource(),
        object,
        typed,
        value,
        name,
    };
    context.record_requirements(&promise.typed);
    required_by::sync(agent, &promise.typed).await?;
    reconcile_promise(&context, &promise).await
}

/// A lifted pause runs the Promise's own workflow again from the start, as in
/// Kratix (its system test asserts it), and ends a suspension with it; its
/// requests resume where they were (docs/decisions.md).
async fn resume_from_pause(
    agent: &Agent,
    promise: &PromiseObject,
    mut status: Map<String, Value>,
) -> Result<Action, ReconcileError> {
    let patch = json!({"metadata": {"labels": {
        labels::RUN_FROM_START: "true",
        labels::WORKFLOW_SUSPENDED: null,
    }}});
    promise
        .api
        .patch(&promise.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| ReconcileError::kube(format!("re-running Promise {}", promise.name), e))?;
    let condition = conditions::unpaused();
    status_merge::set(&mut status, &condition, &now());
    promise.write_if_changed(agent, status).await?;
    Ok(Action::await_change())
}

/// What the Promise was before this pass, for what its requests must hear.
struct Before {
    was_available: bool,
    spec_changed: bool,
}

impl Before {
    /// Requests look again when the Promise changed or was unavailable (they
    /// wait for its requirements, and for it to be Available): once its status
    /// says so, so that they read it.
    fn requests_look_again(&self) -> bool {
        self.spec_changed || !self.was_available
    }
}

/// One pass over a Promise: pause, delete, our refusals and finalizers, what
/// its workflow needs, the workflow's next step, and the status it leaves.
async fn reconcile_promise(context: &Context, promise: &PromiseObject) -> Result<Action, ReconcileError> {
    let agent = &context.agent;
    let mut status = status::status_of(&promise.object);
    let deleting = promise.object.metadata.deletion_timestamp.is_some();
    if has_label(&promise.object, labels::PAUSED) {
        // As in Kratix, a pause holds deletion too, until it is lifted.
        promise_status::paused(&mut status, &now());
        // Kratix's PausedReconciliation Event goes with the status change.
        promise.write_if_changed(agent, status).await?;
        return Ok(Action::await_change());
    }
    if has_own_workflow(promise) && !deleting && conditions::resumed_from_pause(&status) {
        return resume_from_pause(agent, promise, status).await;
    }
    let validated = validate_promise(&promise.value);
    if deleting {
        return delete_promise(context, promise, &validated).await;
    }
    if let Some(action) = admit(agent, promise, &validated, &mut status).await? {
        return Ok(action);
    }
    let generation = promise.object.metadata.generation.unwrap_or_default();
    let before = Before {
        was_available: promise_status::is_available(&status),
        spec_changed: promise_status::spec_changed(&status, generation),
    };
    let required = requirements::check(agent, promise).await?;
    if let Some(action) = prepare(agent, promise, &validated, &before).await? {
        return Ok(action);
    }
    // The Promise's own configure workflow runs before its API is served.
    let pipelines = validated.runnable_pipelines(Workflow::PROMISE_CONFIGURE);
    let hash = spec_hash(&promise.value);
    let run = Run::new(
        agent,
        promise.subject(),
        Workflow::PROMISE_CONFIGURE,
        pipelines,
        &hash,
    );
    let (state, mut status) = match run.step().await? {
        Step::Acted(action) => return Ok(action),
        Step::Settled { state, status } => (state, status),
    };
    let resource_api = validated.resource_api.as_ref();
    let version = promise.object.labels().get(labels::PROMISE_VERSION);
    promise_status::describe(&mut status, version.map(String::as_str), resource_api);
    promise_status::record_requirements(
        &mut status,
        required.as_ref().map(|r| r.states.as_slice()),
        &now(),
    );
    let requirements_met = required.is_none_or(|r| r.all_met);
    settle(
        agent,
        promise,
        resource_api,
        state,
        status,
        requirements_met,
        &before,
    )
    .await
}

/// Whether the Promise has a configure workflow of its own.
fn has_own_workflow(promise: &PromiseObject) -> bool {
    promise
        .typed
        .spec
        .workflows
        .promise
        .as_ref()
        .is_some_and(|p| !p.configure.is_empty())
}

/// A Promise being deleted. After a restart nothing else starts its resource
/// controller: the requests' own deletions, which the Promise's waits for, need it.
async fn delete_promise(
    context: &Context,
    promise: &PromiseObject,
    validated: &Validated,
) -> Result<Action, ReconcileError> {
    let agent = &context.agent;
    if let Some(resource_api) = &validated.resource_api
        && promise
            .object
            .finalizers()
            .iter()
            .any(|f| f == finalizers::RESOURCE_REQUEST_CLEANUP)
        && api_conflict(&agent.client, &promise.name, resource_api)
            .await?
            .is_none()
    {
        served_api::ensure_resource_controller(agent, &promise.name, resource_api, false).await;
    }
    delete::reconcile(context, promise, validated).await
}

/// Whether the Promise may go ahead: valid, admitted by policy, its API its
/// own, and its finalizers as its workflows need. `Some` when it may not yet.
async fn admit(
    agent: &Arc<Agent>,
    promise: &PromiseObject,
    validated: &Validated,
    status: &mut Map<String, Value>,
) -> Result<Option<Action>, ReconcileError> {
    if let Some(problem) = validated.problems.iter().find(|p| p.severity == Severity::Error) {
        let problem = format!("{}: {}", problem.path, problem.message);
        promise_status::invalid(status, &problem, &now());
        promise.write_if_changed(agent, status.clone()).await?;
        return Ok(Some(Action::await_change()));
    }
    if let Some(action) = refusals::refuse_by_policy(agent, promise, validated, status).await? {
        return Ok(Some(action));
    }
    if let Some(resource_api) = &validated.resource_api
        && let Some(action) = refusals::refuse_foreign_api(agent, promise, resource_api, status).await?
    {
        return Ok(Some(action));
    }
    let has_delete = !validated.pipelines_of(Workflow::PROMISE_DELETE).is_empty();
    let wanted = finalizers::promise(validated.resource_api.is_some(), has_delete);
    if let Some(next) = finalizers::synced(promise.object.finalizers(), &wanted, &finalizers::ALL_PROMISE) {
        crate::controller::base::finalizers::set(&promise.api, &promise.object, &next).await?;
        return Ok(Some(Action::await_change()));
    }
    Ok(None)
}

/// What the workflow needs before it runs: the API served (its controller
/// started) and the dependencies Work written; a warning when more delete
/// pipelines are given than run. `Some` while the API is not yet served.
async fn prepare(
    agent: &Arc<Agent>,
    promise: &PromiseObject,
    validated: &Validated,
    before: &Before,
) -> Result<Option<Action>, ReconcileError> {
    let delete_pipelines = validated.pipelines_of(Workflow::PROMISE_DELETE);
    if before.spec_changed && delete_pipelines.len() > 1 {
        let event = KratixEvent::warning(
            Reporter::PromiseController,
            "MultipleDeletePipelines",
            format!(
                "spec.workflows.promise.delete has {} pipelines; only the first ({}) runs",
                delete_pipelines.len(),
                delete_pipelines[0].name()
            ),
        );
        events::emit(agent, &promise.reference(), &event).await;
    }
    if let Some(resource_api) = &validated.resource_api {
        if let Some(action) = served_api::install(agent, &promise.name, resource_api).await? {
            return Ok(Some(action));
        }
        served_api::ensure_resource_controller(agent, &promise.name, resource_api, false).await;
    }
    dependencies::sync(&agent.client, &promise.typed).await?;
    Ok(None)
}

/// The status a settled workflow leaves, written, and when to look again.
async fn settle(
    agent: &Arc<Agent>,
    promise: &PromiseObject,
    resource_api: Option<&ResourceApi>,
    state: Settled,
    mut status: Map<String, Value>,
    requirements_met: bool,
    before: &Before,
) -> Result<Action, ReconcileError> {
    match state {
        Settled::Suspended { retry_in } => {
            promise_status::suspended(&mut status, &now());
            promise.write_if_changed(agent, status).await?;
            return Ok(retry_in.map_or_else(Action::await_change, Action::requeue));
        }
        Settled::Failed => {
            promise_status::failed(&mut status, &now());
            promise.write_if_changed(agent, status.clone()).await?;
            return periodic_rerun(agent, promise, &status).await;
        }
        Settled::Paused | Settled::NothingToRun | Settled::Completed => {}
    }
    if !requirements_met {
        promise_status::requirements_unmet(&mut status, &now());
        promise.write_if_changed(agent, status).await?;
        if let Some(resource_api) = resource_api {
            served_api::start_resources(agent, promise, resource_api, before.requests_look_again()).await?;
        }
        return Ok(Action::requeue(REQUIREMENTS_RECHECK));
    }
    let generation = promise.object.metadata.generation.unwrap_or_default();
    promise_status::available(&mut status, generation, &now());
    if state == Settled::Completed {
        let works = promise_works(agent, &promise.name).await?;
        promise_status::completed(&mut status, &works, &now());
    } else if state == Settled::NothingToRun {
        let works = promise_works(agent, &promise.name).await?;
        promise_status::without_workflow(&mut status, &works, &now());
    }
    promise.write_if_changed(agent, status.clone()).await?;
    if let Some(resource_api) = resource_api {
        served_api::start_resources(agent, promise, resource_api, before.requests_look_again()).await?;
    }
    if state == Settled::Completed {
        periodic_rerun(agent, promise, &status).await
    } else {
        Ok(Action::await_change())
    }
}

/// The Works of the Promise's own workflows and how each stands.
async fn promise_works(agent: &Agent, name: &str) -> Result<Vec<(String, WorkReadiness)>, ReconcileError> {
    let works: Api<Work> = Api::all(agent.client.clone());
    let selector = selectors::promise_works(name);
    Ok(works
        .list(&ListParams::default().labels_from(&selector))
        .await
        .map_err(|e| ReconcileError::kube("listing the Promise's Works", e))?
        .items
        .iter()
        .map(|w| (w.name_any(), WorkReadiness::of_work(w)))
        .collect())
}

/// As for requests: a finished Promise workflow re-runs after its interval.
async fn periodic_rerun(
    agent: &Agent,
    promise: &PromiseObject,
    status: &Map<String, Value>,
) -> Result<Action, ReconcileError> {
    let interval = interval_of(agent, &promise.typed);
    workflow::periodic_rerun(agent, &promise.api, &promise.object, interval, status).await
}
