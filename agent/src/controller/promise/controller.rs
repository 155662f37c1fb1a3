//! The Promise controller: validates the Promise, keeps its
//! finalizers, checks its required Promises, installs its API's CRD, writes its
//! dependencies Work, runs its configure workflow, and then starts (or re-runs)
//! the resource controller of its API.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kratix_shared::api::Promise;
use kratix_shared::api::Workflow;
use kratix_shared::api::hash::spec_hash;
use kratix_shared::api::resource_api::ResourceApi;
use kratix_shared::api::work::Work;
use kratix_shared::render::resource_crd::{API_OWNED, resource_crd};
use kratix_shared::validate::{Severity, policy, validate_promise};
use kratix_shared::workflow::conditions::{self, WorkReadiness, WorkflowState, WorksOf};
use kratix_shared::workflow::events::{self as kratix_events, KratixEvent, Reporter};
use kratix_shared::workflow::requirements::{self, Found};
use kratix_shared::workflow::status_merge::{self, remove_condition, set_condition};
use kratix_shared::{api::labels, workflow::finalizers};
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use serde_json::{Map, Value, json};

use super::delete;
use super::dependencies;
use super::object::{API_CONFLICT_RECHECK, Context, PromiseObject, api_conflict};
use super::required_by;
use crate::controller::base::context::Agent;
use crate::controller::base::context::interval_of;
use crate::controller::base::error::ReconcileError;
use crate::controller::base::events;
use crate::controller::base::promises::{api_resource, cached_or_read};
use crate::controller::base::status;
use crate::controller::base::status::now;
use crate::controller::base::status::{record_last_success, set_reconciled};
use crate::controller::resource;
use crate::controller::workflow::{self, Settled, Step, has_label};

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
    let metrics = agent.metrics.clone();
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
            watcher::Config::default().labels(&format!("{}=promise", labels::WORKFLOW_TYPE)),
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
            watcher::Config::default().labels(&format!("{}=promise", labels::WORK_TYPE)),
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
            crate::controller::base::context::reconciled(&retries_agent, "Promise", &result);
            metrics.reconciled("promise", result.is_ok());
            if let Err(error) = result {
                tracing::debug!(%error, "promise reconcile failed");
            }
            futures::future::ready(())
        })
        .await;
}

fn error_policy(promise: Arc<DynamicObject>, error: &ReconcileError, context: Arc<Context>) -> Action {
    let key = crate::controller::base::retries::key("Promise", None, &promise.name_any());
    crate::controller::base::context::retry_after(&context.agent, &key, error)
}

fn mark_unavailable(status: &mut Map<String, Value>, reason: &str, message: &str) {
    status.insert("status".to_owned(), Value::String("Unavailable".to_owned()));
    set_condition(status, "Available", "False", reason, message, &now());
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
    let value = serde_json::to_value(&object).map_err(|e| ReconcileError::Invalid(e.to_string()))?;
    let typed: Promise = Promise::from_json(&value)
        .map_err(|e| ReconcileError::Invalid(format!("Promise {name} does not decode: {e}")))?;
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

async fn reconcile_promise(context: &Context, promise: &PromiseObject) -> Result<Action, ReconcileError> {
    let agent = &context.agent;
    let mut status = status::status_of(&promise.object);
    if has_label(&promise.object, labels::PAUSED) {
        // As in Kratix, a pause holds deletion too, until it is lifted.
        mark_unavailable(&mut status, "PausedReconciliation", "Paused");
        set_reconciled(&mut status, WorksOf::Promise, WorkflowState::Paused, &[]);
        // Kratix's PausedReconciliation Event goes with the status change.
        promise.write_if_changed(agent, status).await?;
        return Ok(Action::await_change());
    }
    let has_own_workflow = promise
        .typed
        .spec
        .workflows
        .promise
        .as_ref()
        .is_some_and(|p| !p.configure.is_empty());
    if has_own_workflow
        && promise.object.metadata.deletion_timestamp.is_none()
        && conditions::resumed_from_pause(&status)
    {
        return resume_from_pause(agent, promise, status).await;
    }
    let validated = validate_promise(&promise.value);
    if promise.object.metadata.deletion_timestamp.is_some() {
        // After a restart nothing else starts it: the requests' own deletions,
        // which the Promise's waits for, need it.
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
            ensure_resource_controller(agent, &promise.name, resource_api, false).await;
        }
        return delete::reconcile(context, promise, &validated).await;
    }
    if let Some(problem) = validated.problems.iter().find(|p| p.severity == Severity::Error) {
        let message = format!("invalid Promise: {}: {}", problem.path, problem.message);
        status.insert("message".to_owned(), Value::String(message.clone()));
        mark_unavailable(&mut status, "PromiseUnavailable", &message);
        promise.write_if_changed(agent, status).await?;
        return Ok(Action::await_change());
    }
    if let Some(action) = refuse_by_policy(agent, promise, &validated, &mut status).await? {
        return Ok(action);
    }
    let resource_api = validated.resource_api.clone();
    if let Some(resource_api) = &resource_api
        && let Some(action) = refuse_foreign_api(agent, promise, resource_api, &mut status).await?
    {
        return Ok(action);
    }
    let delete_pipelines = promise.pipelines(&validated, Workflow::PROMISE_DELETE);
    let wanted = finalizers::promise(resource_api.is_some(), !delete_pipelines.is_empty());
    if let Some(next) = finalizers::synced(promise.object.finalizers(), &wanted, &finalizers::ALL_PROMISE) {
        crate::controller::base::finalizers::set(&promise.api, &promise.object, &next).await?;
        return Ok(Action::await_change());
    }
    let generation = promise.object.metadata.generation.unwrap_or_default();
    let was_available = status.get("status").and_then(Value::as_str) == Some("Available");
    let spec_changed = status.get("observedGeneration").and_then(Value::as_i64) != Some(generation);
    if spec_changed && delete_pipelines.len() > 1 {
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
    let requirements = check_requirements(agent, promise).await?;
    if let Some(resource_api) = &resource_api {
        if let Some(action) = install_api(agent, &promise.name, resource_api).await? {
            return Ok(action);
        }
        ensure_resource_controller(agent, &promise.name, resource_api, false).await;
    }
    dependencies::sync(&agent.client, &promise.typed).await?;

    // The Promise's own configure workflow runs before its API is served.
    let pipelines = promise.pipelines(&validated, Workflow::PROMISE_CONFIGURE);
    let hash = spec_hash(&promise.value);
    let jobs = promise.jobs(&agent.client);
    let job_selector = promise.job_selector(Some("configure"));
    let run = promise.run(
        agent,
        Workflow::PROMISE_CONFIGURE,
        &pipelines,
        &hash,
        &jobs,
        &job_selector,
    );
    let (state, mut status) = match run.step().await? {
        Step::Acted(action) => return Ok(action),
        Step::Settled { state, status } => (state, status),
    };
    if let Some(version) = promise.object.labels().get(labels::PROMISE_VERSION) {
        status.insert("version".to_owned(), Value::String(version.clone()));
        record_revision(&mut status, version);
    }
    if let Some(resource_api) = &resource_api {
        status.insert("kind".to_owned(), Value::String(resource_api.kind.clone()));
        status.insert(
            "apiVersion".to_owned(),
            Value::String(resource_api.api_version().to_lowercase()),
        );
    }
    let requirements_met = requirements.record(&mut status);
    match state {
        Settled::Suspended { retry_in } => {
            mark_unavailable(&mut status, "WorkflowSuspended", "Suspended");
            set_reconciled(&mut status, WorksOf::Promise, WorkflowState::Suspended, &[]);
            promise.write_if_changed(agent, status).await?;
            return Ok(retry_in.map_or_else(Action::await_change, Action::requeue));
        }
        Settled::Failed => {
            if status.get("status").and_then(Value::as_str) != Some("Available") {
                mark_unavailable(
                    &mut status,
                    "PromiseUnavailable",
                    "Cannot fulfil resource requests",
                );
            }
            set_reconciled(&mut status, WorksOf::Promise, WorkflowState::Failed, &[]);
            promise.write_if_changed(agent, status.clone()).await?;
            return periodic_rerun(agent, promise, &status).await;
        }
        Settled::Paused | Settled::NothingToRun | Settled::Completed => {}
    }

    // Requests look again when the Promise changed or was unavailable (they
    // wait for its requirements, and for it to be Available): once its status
    // says so, so that they read it.
    let look_again = spec_changed || !was_available;
    if !requirements_met {
        mark_unavailable(
            &mut status,
            "PromiseUnavailable",
            "Cannot fulfil resource requests",
        );
        set_condition(
            &mut status,
            "Reconciled",
            "Unknown",
            "RequirementsNotFulfilled",
            "Pending",
            &now(),
        );
        promise.write_if_changed(agent, status).await?;
        if let Some(resource_api) = &resource_api {
            start_resources(agent, promise, resource_api, look_again).await?;
        }
        return Ok(Action::requeue(REQUIREMENTS_RECHECK));
    }

    let became_available = status.get("status").and_then(Value::as_str) != Some("Available");
    status.insert("status".to_owned(), Value::String("Available".to_owned()));
    if became_available {
        status.insert("lastAvailableTime".to_owned(), Value::String(now()));
    }
    let message_is_ours = status
        .get("message")
        .and_then(Value::as_str)
        .is_none_or(|m| m.starts_with("invalid Promise") || m == "Pending");
    if message_is_ours {
        status.insert(
            "message".to_owned(),
            Value::String("Promise configured".to_owned()),
        );
    }
    set_condition(
        &mut status,
        "Available",
        "True",
        "PromiseAvailable",
        "Ready to fulfil resource requests",
        &now(),
    );
    kratix_shared::workflow::run_status::drop_counters(&mut status);
    status.insert("observedGeneration".to_owned(), Value::from(generation));
    if state == Settled::Completed {
        let works = promise_works(agent, &promise.name).await?;
        record_last_success(&mut status, false);
        set_reconciled(&mut status, WorksOf::Promise, WorkflowState::Completed, &works);
    } else if state == Settled::NothingToRun {
        if let Some(kratix) = status.get_mut("kratix").and_then(Value::as_object_mut) {
            kratix.remove("workflows");
        }
        // As Kratix: its Works decide WorksSucceeded; with no workflow there is no
        // ConfigureWorkflowCompleted, so nothing says Reconciled (one left from a
        // wait for requirements, or from a workflow since removed, would mislead).
        remove_condition(&mut status, "Reconciled");
        let works = promise_works(agent, &promise.name).await?;
        let condition = conditions::works_succeeded(WorksOf::Promise, &works);
        status_merge::set(&mut status, &condition, &now());
    }
    promise.write_if_changed(agent, status.clone()).await?;
    if let Some(resource_api) = &resource_api {
        start_resources(agent, promise, resource_api, look_again).await?;
    }
    if state == Settled::Completed {
        periodic_rerun(agent, promise, &status).await
    } else {
        Ok(Action::await_change())
    }
}

/// How the Promise's required Promises stand; `None` when it requires none.
struct Requirements(Option<(Vec<kratix_shared::api::promise::RequiredPromiseStatus>, bool)>);

impl Requirements {
    /// Writes `status.requiredPromises` and `RequirementsFulfilled`; says
    /// whether every requirement is met.
    fn record(self, status: &mut Map<String, Value>) -> bool {
        let Some((states, all)) = self.0 else {
            status.remove("requiredPromises");
            if let Some(Value::Array(conditions)) = status.get_mut("conditions") {
                conditions.retain(|c| c.get("type").and_then(Value::as_str) != Some("RequirementsFulfilled"));
            }
            return true;
        };
        status.insert(
            "requiredPromises".to_owned(),
            serde_json::to_value(&states).unwrap_or_default(),
        );
        let condition = requirements::fulfilled_condition(&states);
        // Kratix sets this one with meta.SetStatusCondition.
        status_merge::set_with(
            status,
            status_merge::Transition::OnStatusChange,
            &condition,
            &now(),
        );
        all
    }
}

/// Records `version` in `status.kratix.revisions`: a requirement on a version
/// this Promise has been installed at stays met after an upgrade.
fn record_revision(status: &mut Map<String, Value>, version: &str) {
    let kratix = status.entry("kratix").or_insert_with(|| json!({}));
    if !kratix.is_object() {
        *kratix = json!({});
    }
    let revisions = revisions_of(kratix);
    kratix["revisions"] = json!(requirements::record_revision(&revisions, version));
}

/// `status.kratix.revisions` of a Promise's `kratix` status (leniently: anything
/// not a list of strings is none).
fn revisions_of(kratix: &Value) -> Vec<String> {
    kratix
        .get("revisions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

async fn check_requirements(agent: &Agent, promise: &PromiseObject) -> Result<Requirements, ReconcileError> {
    let required = &promise.typed.spec.required_promises;
    if required.is_empty() {
        return Ok(Requirements(None));
    }
    let mut found = Vec::new();
    for requirement in required {
        found.push((
            requirement.name.clone(),
            cached_or_read(agent, &requirement.name).await?,
        ));
    }
    let revisions: Vec<(String, Vec<String>)> = found
        .iter()
        .map(|(name, p)| {
            let kept = p
                .as_ref()
                .map(|p| revisions_of(&p.data["status"]["kratix"]))
                .unwrap_or_default();
            (name.clone(), kept)
        })
        .collect();
    Ok(Requirements(Some(requirements::evaluate(required, |name| {
        let revisions = revisions
            .iter()
            .find(|(n, _)| n == name)
            .map_or(&[][..], |(_, r)| r.as_slice());
        found
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, p)| p.as_ref())
            .map(|p| Found {
                available: p.data["status"]["status"] == "Available",
                version: p.labels().get(labels::PROMISE_VERSION).map(String::as_str),
                revisions,
            })
    }))))
}

/// Creates or updates the API's CRD and waits until it is Established; grants
/// the agent access to it. `Some` while it is not yet served.
/// One of our own refusals of a Promise: its condition (False while it
/// lasts), reason, the Event's action and the message naming what to fix.
struct Refusal {
    condition: &'static str,
    reason: &'static str,
    message: String,
}

/// Refuses the Promise: `Unavailable` with the refusal's condition False, its
/// resource controller stopped (its requests run no pipeline of it either), and
/// a Warning Event when the status changed.
async fn refuse(
    agent: &Arc<Agent>,
    promise: &PromiseObject,
    status: &mut Map<String, Value>,
    refusal: Refusal,
) -> Result<(), ReconcileError> {
    if let Some(handle) = agent.resource_controllers.lock().await.remove(&promise.name) {
        handle.task.abort();
    }
    mark_unavailable(status, refusal.reason, &refusal.message);
    set_condition(
        status,
        refusal.condition,
        "False",
        refusal.reason,
        &refusal.message,
        &now(),
    );
    status.insert("message".to_owned(), Value::String(refusal.message.clone()));
    if promise.write_if_changed(agent, status.clone()).await? {
        let event = KratixEvent::warning(Reporter::PromiseController, refusal.reason, refusal.message);
        events::emit(agent, &promise.reference(), &event).await;
    }
    Ok(())
}

/// A refusal that no longer holds: its condition goes.
async fn lift_refusal(
    agent: &Agent,
    promise: &PromiseObject,
    status: &mut Map<String, Value>,
    condition: &str,
) -> Result<(), ReconcileError> {
    let refused_before = status
        .get("conditions")
        .and_then(Value::as_array)
        .is_some_and(|all| all.iter().any(|c| c["type"] == condition));
    if refused_before {
        remove_condition(status, condition);
        promise.write_if_changed(agent, status.clone()).await?;
    }
    Ok(())
}

/// Refuses a Promise the `kratix` ConfigMap's `promisePolicy` forbids:
/// `Unavailable` with `PolicyAdmitted` False naming every refused field, before
/// anything of it is made. A Promise the policy admits again loses the condition.
async fn refuse_by_policy(
    agent: &Arc<Agent>,
    promise: &PromiseObject,
    validated: &kratix_shared::validate::Validated,
    status: &mut Map<String, Value>,
) -> Result<Option<Action>, ReconcileError> {
    let policy = agent
        .config()
        .map(|c| c.promise_policy.clone())
        .unwrap_or_default();
    let refused = policy::refusals(
        &policy,
        promise.typed.spec.pipeline_namespace(),
        &validated.pipelines,
    );
    if refused.is_empty() {
        lift_refusal(agent, promise, status, policy::POLICY_ADMITTED).await?;
        return Ok(None);
    }
    let fields: Vec<String> = refused
        .iter()
        .map(|r| format!("{}: {}", r.path, r.message))
        .collect();
    let message = format!(
        "refused by the kratix ConfigMap's promisePolicy: {}",
        fields.join("; ")
    );
    let refusal = Refusal {
        condition: policy::POLICY_ADMITTED,
        reason: policy::REFUSED_BY_POLICY,
        message,
    };
    refuse(agent, promise, status, refusal).await?;
    Ok(Some(Action::await_change()))
}

/// Refuses a Promise whose API is another's CRD: `Unavailable` with `APIOwned`
/// False, its resource controller stopped, nothing of the CRD touched; looked
/// at again now and then. A resolved refusal's condition goes.
async fn refuse_foreign_api(
    agent: &Arc<Agent>,
    promise: &PromiseObject,
    resource_api: &ResourceApi,
    status: &mut Map<String, Value>,
) -> Result<Option<Action>, ReconcileError> {
    let Some((reason, message)) = api_conflict(&agent.client, &promise.name, resource_api).await? else {
        lift_refusal(agent, promise, status, API_OWNED).await?;
        return Ok(None);
    };
    let refusal = Refusal {
        condition: API_OWNED,
        reason,
        message,
    };
    refuse(agent, promise, status, refusal).await?;
    Ok(Some(Action::requeue(API_CONFLICT_RECHECK)))
}

async fn install_api(
    agent: &Agent,
    name: &str,
    resource_api: &ResourceApi,
) -> Result<Option<Action>, ReconcileError> {
    let crd = resource_crd(name, resource_api);
    let crds: Api<CustomResourceDefinition> = Api::all(agent.client.clone());
    let crd_name = crd.metadata.name.clone().unwrap_or_default();
    match crds.create(&PostParams::default(), &crd).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {
            // Made by someone else since the check: not taken over.
            if let Some((_, message)) = api_conflict(&agent.client, name, resource_api).await? {
                return Err(ReconcileError::Invalid(message));
            }
            let patch = json!({"metadata": {"labels": crd.metadata.labels}, "spec": crd.spec});
            crds.patch(&crd_name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(|e| ReconcileError::kube(format!("updating CRD {crd_name}"), e))?;
        }
        Err(error) => return Err(ReconcileError::kube(format!("creating CRD {crd_name}"), error)),
    }
    let established = crds
        .get(&crd_name)
        .await
        .map_err(|e| ReconcileError::kube(format!("reading CRD {crd_name}"), e))?
        .status
        .and_then(|s| s.conditions)
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Established" && c.status == "True"));
    if !established {
        return Ok(Some(Action::requeue(Duration::from_millis(200))));
    }
    if let Some((namespace, account)) = &agent.identity {
        grant_self(&agent.client, name, resource_api, namespace, account).await?;
    }
    Ok(None)
}

/// Starts the resource controller of Promise `name` unless it runs, or has it
/// look at every request again (`look_again`). It runs whenever the Promise's
/// API is installed, whatever its own workflow's state: its requests' deletions
/// must be carried out even while the Promise cannot fulfil new ones (its
/// requests' configure workflows wait for the Promise to be Available).
pub async fn ensure_resource_controller(
    agent: &Arc<Agent>,
    name: &str,
    resource_api: &ResourceApi,
    look_again: bool,
) {
    let mut controllers = agent.resource_controllers.lock().await;
    match controllers.get(name) {
        Some(handle) if !handle.task.is_finished() => {
            if look_again {
                let _ = handle.rerun_all.send(());
            }
        }
        _ => {
            let handle = resource::controller::start(
                agent.clone(),
                name.to_owned(),
                resource::request::api_resource(resource_api),
            );
            controllers.insert(name.to_owned(), handle);
        }
    }
}

/// Starts the resource controller, or has it look at every request again
/// (a changed Promise changes every request's hash); `kratix.io/reconcile-resources`
/// re-runs every request's workflow (waiting for running Jobs) and is removed.
async fn start_resources(
    agent: &Arc<Agent>,
    promise: &PromiseObject,
    resource_api: &ResourceApi,
    look_again: bool,
) -> Result<(), ReconcileError> {
    ensure_resource_controller(agent, &promise.name, resource_api, look_again).await;
    if !has_label(&promise.object, labels::RECONCILE_RESOURCES) {
        return Ok(());
    }
    let requests: Api<DynamicObject> = Api::all_with(
        agent.client.clone(),
        &resource::request::api_resource(resource_api),
    );
    let listed = requests
        .list(&ListParams::default())
        .await
        .map_err(|e| ReconcileError::kube(format!("listing the {} requests", resource_api.kind), e))?;
    let label = json!({"metadata": {"labels": {labels::RUN_FROM_START: "true"}}});
    for request in &listed.items {
        let namespaced: Api<DynamicObject> = Api::namespaced_with(
            agent.client.clone(),
            &request.namespace().unwrap_or_default(),
            &resource::request::api_resource(resource_api),
        );
        namespaced
            .patch(
                &request.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&label),
            )
            .await
            .map_err(|e| ReconcileError::kube(format!("re-running {}", request.name_any()), e))?;
    }
    tracing::info!(promise = %promise.name, requests = listed.items.len(), "re-running every request's workflows");
    events::emit(
        agent,
        &promise.reference(),
        &kratix_events::reconciling_resources(),
    )
    .await;
    let remove = json!({"metadata": {"labels": {labels::RECONCILE_RESOURCES: null}}});
    promise
        .api
        .patch(&promise.name, &PatchParams::default(), &Patch::Merge(&remove))
        .await
        .map_err(|e| ReconcileError::kube("removing kratix.io/reconcile-resources", e))?;
    Ok(())
}

/// The Works of the Promise's own workflows and how each stands.
async fn promise_works(agent: &Agent, name: &str) -> Result<Vec<(String, WorkReadiness)>, ReconcileError> {
    let works: Api<Work> = Api::all(agent.client.clone());
    let selector = format!("{}={name},{}=promise", labels::PROMISE_NAME, labels::WORK_TYPE);
    Ok(works
        .list(&ListParams::default().labels(&selector))
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

/// `<promise>-promise-controller`: the agent's access to the Promise's API, as
/// the reference grants its manager.
async fn grant_self(
    client: &kube::Client,
    promise: &str,
    api: &ResourceApi,
    namespace: &str,
    account: &str,
) -> Result<(), ReconcileError> {
    use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
    let name = format!("{promise}-promise-controller");
    let labels = json!({labels::PROMISE_NAME: promise});
    let role: ClusterRole = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels},
        "rules": [{
            "apiGroups": [api.group],
            "resources": [api.plural, format!("{}/status", api.plural), format!("{}/finalizers", api.plural)],
            "verbs": ["*"]
        }]
    }))
    .map_err(|e| ReconcileError::Invalid(e.to_string()))?;
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]
    }))
    .map_err(|e| ReconcileError::Invalid(e.to_string()))?;
    let roles: Api<ClusterRole> = Api::all(client.clone());
    let bindings: Api<ClusterRoleBinding> = Api::all(client.clone());
    for result in [
        roles.create(&PostParams::default(), &role).await.map(|_| ()),
        bindings
            .create(&PostParams::default(), &binding)
            .await
            .map(|_| ()),
    ] {
        match result {
            Ok(()) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(error) => {
                return Err(ReconcileError::kube(
                    format!("granting the agent access to {name}"),
                    error,
                ));
            }
        }
    }
    Ok(())
}
