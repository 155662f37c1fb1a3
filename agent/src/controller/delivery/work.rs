//! The Work controller: schedules each Work's workload groups onto
//! Destinations as WorkPlacements, keeps them in line with the Work, and reports
//! the Work's `ScheduleSucceeded` and `Ready`. The decisions are
//! `kratix_shared::delivery::scheduling`'s; this module reads and writes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kratix_shared::api::conditions::{status as state, types};
use kratix_shared::api::destination::Destination;
use kratix_shared::api::selectors;
use kratix_shared::api::work::{Work, WorkPlacement, WorkPlacementSpec};
use kratix_shared::delivery::scheduling::{self, DestinationView, ExistingPlacement, Schedule, Written};
use kratix_shared::delivery::work_origin::{self, NamedPromise, WorkOrigin};
use kratix_shared::workflow::events::{self as kratix_events, KratixEvent, Reporter, Subject};
use kratix_shared::{api::labels, workflow::finalizers};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, ObjectMeta, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Resource as _, ResourceExt as _};
use serde_json::{Map, Value, json};

use crate::controller::base::apply;
use crate::controller::base::context::Agent;
use crate::controller::base::error::ReconcileError;
use crate::controller::base::events;
use crate::controller::base::status::status_with;
use kratix_shared::api::answers::ignore_missing;

/// A resource's group with nowhere to go looks again this often (Destinations
/// appearing or changing also wake every Work at once).
const UNSCHEDULED_RECHECK: Duration = Duration::from_secs(60);
/// How often to look again while a deleted Work's placements are going.
const DELETE_RECHECK: Duration = Duration::from_secs(1);
/// A refused Work looks again this often: its Promise may appear or change its
/// `pipelineNamespace`, and neither wakes Works.
const REFUSED_RECHECK: Duration = Duration::from_secs(30);

/// A placement's deletion completing wakes the Work; this is the fallback.
const AWAITING_DELETION_RECHECK: Duration = Duration::from_secs(5);

struct Context {
    agent: Arc<Agent>,
    destinations: Store<Destination>,
}

pub async fn run(agent: Arc<Agent>) {
    let client = agent.client.clone();
    let (destinations, writer) = reflector::store();
    // Any change of a Destination (labels, deletion, a new one) may change where
    // every Work's groups belong.
    let destination_changes = watcher(
        Api::<Destination>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .reflect(writer)
    .touched_objects()
    .filter_map(|result| futures::future::ready(result.ok().map(|_| ())));
    let retries_agent = agent.clone();
    let context = Arc::new(Context { agent, destinations });
    Controller::new(Api::<Work>::all(client.clone()), watcher::Config::default())
        .owns(Api::<WorkPlacement>::all(client), watcher::Config::default())
        .reconcile_all_on(destination_changes)
        .run(reconcile, error_policy, context)
        .for_each(|result| {
            crate::controller::base::context::reconciled(&retries_agent, "Work", "work", &result);
            futures::future::ready(())
        })
        .await;
}

fn error_policy(work: Arc<Work>, error: &ReconcileError, context: Arc<Context>) -> Action {
    let key = crate::controller::base::retries::key("Work", work.namespace().as_deref(), &work.name_any());
    crate::controller::base::context::retry_after(&context.agent, &key, error)
}

async fn reconcile(work: Arc<Work>, context: Arc<Context>) -> Result<Action, ReconcileError> {
    let agent = &context.agent;
    let name = work.name_any();
    let namespace = work.namespace().unwrap_or_default();
    let works: Api<Work> = Api::namespaced(agent.client.clone(), &namespace);
    let placements: Api<WorkPlacement> = Api::namespaced(agent.client.clone(), &namespace);
    let of_work = ListParams::default().labels_from(&selectors::placements_of(&name));
    if work.metadata.deletion_timestamp.is_some() {
        return delete(agent, &works, &placements, &work, &of_work).await;
    }
    if !work.finalizers().iter().any(|f| f == finalizers::WORK_CLEANUP) {
        let mut wanted = work.finalizers().to_vec();
        wanted.push(finalizers::WORK_CLEANUP.to_owned());
        crate::controller::base::finalizers::set(&works, &work, &wanted).await?;
        // The finalizer's own event brings the Work back.
        return Ok(Action::await_change());
    }
    let origin = WorkOrigin {
        namespace: &namespace,
        labels: work.labels(),
        spec: &work.spec,
    };
    let promise = named_promise(agent, &work.spec.promise_name).await?;
    let named = promise.as_ref().map(|pipeline_namespace| NamedPromise {
        pipeline_namespace: pipeline_namespace.as_deref(),
    });
    if let Some(problem) = origin.problem(named) {
        refuse(agent, &works, &work, &problem).await?;
        return Ok(Action::requeue(REFUSED_RECHECK));
    }
    // Destinations are read from the cache; wait for its first listing.
    if tokio::time::timeout(Duration::from_secs(10), context.destinations.wait_until_ready())
        .await
        .is_err()
    {
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    let existing = placements
        .list(&of_work)
        .await
        .map_err(|e| {
            ReconcileError::kube(
                format!("listing the WorkPlacements of Work {namespace}/{name}"),
                e,
            )
        })?
        .items;
    let plan = plan(&context, &work, &existing);
    for placement in &plan.placements {
        if plan.awaiting_deletion.contains(&placement.name) {
            continue;
        }
        apply_placement(agent, &works, &placements, &work, &existing, placement).await?;
    }
    for obsolete in &plan.obsolete {
        ignore_missing(placements.delete(obsolete, &DeleteParams::default()).await)
            .map_err(|e| ReconcileError::kube(format!("deleting WorkPlacement {namespace}/{obsolete}"), e))?;
    }
    write_status(agent, &works, &work, &plan, &existing).await?;
    if !plan.awaiting_deletion.is_empty() {
        return Ok(Action::requeue(AWAITING_DELETION_RECHECK));
    }
    if !plan.unscheduled.is_empty() && !work.spec.resource_name.is_empty() {
        return Ok(Action::requeue(UNSCHEDULED_RECHECK));
    }
    Ok(Action::await_change())
}

/// Where the Work's groups go, from the Destinations as the cache has them
/// and the placements the Work has.
fn plan(context: &Context, work: &Work, existing: &[WorkPlacement]) -> scheduling::Schedule {
    let destinations = context.destinations.state();
    let views: Vec<DestinationView<'_>> = destinations
        .iter()
        .map(|destination| DestinationView {
            name: destination.metadata.name.as_deref().unwrap_or_default(),
            labels: destination.labels(),
            strict_match_labels: destination.spec.strict_match_labels.unwrap_or(false),
            deleting: destination.metadata.deletion_timestamp.is_some(),
        })
        .collect();
    let existing_views: Vec<ExistingPlacement<'_>> = existing
        .iter()
        .map(|p| ExistingPlacement {
            name: p.metadata.name.as_deref().unwrap_or_default(),
            destination: &p.spec.target_destination_name,
            group_id: &p.spec.id,
            deleting: p.metadata.deletion_timestamp.is_some(),
        })
        .collect();
    let dry_run = work.labels().get(labels::DRY_RUN).is_some_and(|v| v == "true");
    scheduling::schedule(&work.name_any(), &work.spec, dry_run, &views, &existing_views)
}

/// Applies one planned WorkPlacement and reports it: Kratix's Event when it
/// was created or updated, and its conditions.
async fn apply_placement(
    agent: &Agent,
    works: &Api<Work>,
    placements: &Api<WorkPlacement>,
    work: &Work,
    existing: &[WorkPlacement],
    placement: &scheduling::Placement,
) -> Result<(), ReconcileError> {
    let Some(object) = placement_object(work, placement) else {
        return Ok(());
    };
    let applied = match apply::server_side_apply(placements, &object).await {
        Ok(applied) => applied,
        Err(error) if error.is_conflict() => return Err(error),
        Err(error) => {
            // As Kratix: the Work says which group failed; then it is retried.
            let group = work
                .spec
                .workload_groups
                .get(placement.group)
                .map(|g| g.id.as_str());
            write_failed_to_schedule(agent, works, work, group.unwrap_or_default()).await?;
            return Err(error);
        }
    };
    let before = existing
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some(&placement.name));
    // What this apply changed: the spec (its generation), labels or
    // annotations; a writer's status write in between is no update.
    let changed = |before: &WorkPlacement| {
        before.metadata.generation != applied.metadata.generation
            || before.metadata.labels != applied.metadata.labels
            || before.metadata.annotations != applied.metadata.annotations
    };
    let operation = match before {
        None => Some("created"),
        Some(before) if changed(before) => Some("updated"),
        Some(_) => None,
    };
    if let Some(operation) = operation {
        let event = kratix_events::placement_reconciled(&placement.name, operation);
        let related = Some(events::reference(&applied));
        events::emit_related(agent, &events::reference(work), related, &event).await;
    }
    write_placement_conditions(agent, placements, placement, &applied).await
}

/// The `pipelineNamespace` of the Promise named `name` (inner `None` when unset),
/// or `None` when there is no such Promise: from the Promise controller's cache,
/// read afresh when the cache has not seen it.
async fn named_promise(agent: &Agent, name: &str) -> Result<Option<Option<String>>, ReconcileError> {
    let pipeline_namespace = |promise: &DynamicObject| {
        promise
            .data
            .pointer("/spec/workflows/config/pipelineNamespace")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let resource = crate::controller::base::promises::api_resource();
    if let Some(cached) = agent
        .promises
        .get()
        .and_then(|store| store.get(&reflector::ObjectRef::new_with(name, resource.clone())))
    {
        return Ok(Some(pipeline_namespace(&cached)));
    }
    let promises: Api<DynamicObject> = Api::all_with(agent.client.clone(), &resource);
    let fresh = promises
        .get_opt(name)
        .await
        .map_err(|e| ReconcileError::kube(format!("reading Promise {name}"), e))?;
    Ok(fresh.as_ref().map(pipeline_namespace))
}

/// Marks a Work that may not be scheduled, once, with a Warning naming why. Its
/// placements are neither made nor removed: removing them would delete files
/// that may belong to the Work it imitates.
async fn refuse(agent: &Agent, works: &Api<Work>, work: &Work, problem: &str) -> Result<(), ReconcileError> {
    let (scheduled, ready) = work_origin::refused_conditions(problem);
    let (current, status) = status_with(work.status.as_ref(), [&scheduled, &ready]);
    if status == current {
        return Ok(());
    }
    works
        .patch_status(
            &work.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"conditions": status.get("conditions")}})),
        )
        .await
        .map_err(|e| ReconcileError::kube(format!("writing the status of Work {}", work.name_any()), e))?;
    tracing::warn!(work = %work.name_any(), namespace = ?work.namespace(), %problem, "work refused");
    let event = KratixEvent::warning(
        Reporter::Scheduler,
        "WorkRefused",
        format!("{problem}; nothing of this Work is written to any state store"),
    );
    events::emit(agent, &events::reference(work), &event).await;
    Ok(())
}

/// The WorkPlacement for one scheduled group: spec from the Work, the contract's
/// labels, the Work's annotations, owned by the Work.
fn placement_object(work: &Work, placement: &scheduling::Placement) -> Option<WorkPlacement> {
    let group = work.spec.workload_groups.get(placement.group)?;
    let mut placement_labels = BTreeMap::from([
        (labels::WORK.to_owned(), work.name_any()),
        (labels::WORKLOAD_GROUP_ID.to_owned(), group.id.clone()),
        (
            labels::TARGET_DESTINATION_NAME.to_owned(),
            placement.destination.clone(),
        ),
    ]);
    // The request's namespace, when it is not the Work's, decides its directory.
    for key in [labels::PIPELINE_NAME, labels::RESOURCE_NAMESPACE] {
        if let Some(value) = work.labels().get(key) {
            placement_labels.insert(key.to_owned(), value.clone());
        }
    }
    if placement.misplaced {
        placement_labels.insert(labels::MISPLACED.to_owned(), "true".to_owned());
    }
    let owner = OwnerReference {
        api_version: Work::api_version(&()).into_owned(),
        kind: Work::kind(&()).into_owned(),
        name: work.name_any(),
        uid: work.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    Some(WorkPlacement {
        metadata: ObjectMeta {
            name: Some(placement.name.clone()),
            namespace: work.namespace(),
            labels: Some(placement_labels),
            annotations: (!work.annotations().is_empty()).then(|| work.annotations().clone()),
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        spec: WorkPlacementSpec {
            target_destination_name: placement.destination.clone(),
            workloads: group.workloads.clone(),
            promise_name: work.spec.promise_name.clone(),
            resource_name: work.spec.resource_name.clone(),
            id: group.id.clone(),
            generation: work.metadata.generation,
        },
        status: None,
    })
}

/// Sets the scheduler's conditions on a WorkPlacement when they changed, guarded
/// by its resourceVersion so a writer's concurrent `WriteSucceeded` is never lost.
async fn write_placement_conditions(
    agent: &Agent,
    placements: &Api<WorkPlacement>,
    placement: &scheduling::Placement,
    current: &WorkPlacement,
) -> Result<(), ReconcileError> {
    let (before, status) = status_with(
        current.status.as_ref(),
        &scheduling::placement_conditions(placement, written(Some(current))),
    );
    if status == before {
        return Ok(());
    }
    let written = placements
        .patch_status(
            &placement.name,
            &PatchParams::default(),
            &Patch::Merge(json!({
                "metadata": {"resourceVersion": current.resource_version()},
                "status": {"conditions": status.get("conditions")},
            })),
        )
        .await
        .map_err(|e| {
            ReconcileError::kube(
                format!("writing the status of WorkPlacement {}", placement.name),
                e,
            )
        })?;
    let subject = Subject::WorkPlacement {
        destination: &placement.destination,
    };
    events::status_changed(agent, &events::reference(&written), subject, &before, &status).await;
    Ok(())
}

/// Where a placement's last write stands, from its `WriteSucceeded` condition.
fn written(placement: Option<&WorkPlacement>) -> Written {
    let condition = placement
        .and_then(|p| p.status.as_ref())
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == types::WRITE_SUCCEEDED));
    match condition.map(|c| c.status.as_str()) {
        Some(state::TRUE) => Written::Yes,
        Some(state::FALSE) => Written::Failed,
        _ => Written::NotYet,
    }
}

/// Merges `status` into the Work's (whose status was `before`), then emits the
/// Events Kratix's scheduler and Work controller emit for the change.
async fn patch_work_status(
    agent: &Agent,
    works: &Api<Work>,
    work: &Work,
    before: &Map<String, Value>,
    status: Map<String, Value>,
) -> Result<(), ReconcileError> {
    let written = works
        .patch_status(
            &work.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({"status": &status})),
        )
        .await
        .map_err(|e| ReconcileError::kube(format!("writing the status of Work {}", work.name_any()), e))?;
    let subject = Subject::Work {
        of_request: !work.spec.resource_name.is_empty(),
    };
    events::status_changed(agent, &events::reference(&written), subject, before, &status).await;
    Ok(())
}

/// `ScheduleSucceeded` and `Ready` False/`FailedToScheduleWorkloads` on the Work.
async fn write_failed_to_schedule(
    agent: &Agent,
    works: &Api<Work>,
    work: &Work,
    group_id: &str,
) -> Result<(), ReconcileError> {
    let (scheduled, ready) = scheduling::failed_to_schedule(group_id);
    let (current, status) = status_with(work.status.as_ref(), [&scheduled, &ready]);
    if status != current {
        patch_work_status(agent, works, work, &current, status).await?;
    }
    Ok(())
}

/// Writes the Work's status when it changed.
async fn write_status(
    agent: &Agent,
    works: &Api<Work>,
    work: &Work,
    plan: &Schedule,
    existing: &[WorkPlacement],
) -> Result<(), ReconcileError> {
    // A name an object being deleted still holds is not written yet, whatever
    // that object says.
    let written_as = |name: &str| {
        if plan.awaiting_deletion.iter().any(|n| n == name) {
            return written(None);
        }
        written(existing.iter().find(|p| p.metadata.name.as_deref() == Some(name)))
    };
    let (scheduled, ready) = scheduling::work_conditions(plan, &work.spec, written_as);
    let (current, mut status) = status_with(work.status.as_ref(), [&scheduled, &ready]);
    status.insert(
        "workPlacements".to_owned(),
        json!(work.spec.workload_groups.len()),
    );
    status.insert("workPlacementsCreated".to_owned(), json!(plan.placements.len()));
    status.insert(
        "workPlacementsWritten".to_owned(),
        json!(scheduling::written_count(plan, written_as)),
    );
    let current_placements: Vec<WorkPlacement> = existing
        .iter()
        .filter(|p| {
            p.metadata.deletion_timestamp.is_none()
                && plan
                    .placements
                    .iter()
                    .any(|planned| p.metadata.name.as_deref() == Some(&planned.name))
        })
        .cloned()
        .collect();
    let outputs = scheduling::work_outputs(&current_placements);
    if !outputs.is_empty() {
        status.insert("outputs".to_owned(), json!(outputs));
    } else if current.contains_key("outputs") {
        // A merge patch removes a key only when told to.
        status.insert("outputs".to_owned(), Value::Null);
    }
    if status != current {
        patch_work_status(agent, works, work, &current, status).await?;
    }
    Ok(())
}

/// A deleted Work: its placements go first (each may hold its own finalizer while
/// its files are removed from the store), then the Work's finalizer.
async fn delete(
    agent: &Agent,
    works: &Api<Work>,
    placements: &Api<WorkPlacement>,
    work: &Work,
    of_work: &ListParams,
) -> Result<Action, ReconcileError> {
    if !work.finalizers().iter().any(|f| f == finalizers::WORK_CLEANUP) {
        return Ok(Action::await_change());
    }
    let remaining = match placements.list(of_work).await {
        Ok(listed) => listed.items,
        Err(error) => {
            let event =
                kratix_events::failed_delete(&format!("failed to list associated workplacements: {error}"));
            events::emit(agent, &events::reference(work), &event).await;
            return Err(ReconcileError::kube(
                format!("listing the WorkPlacements of Work {}", work.name_any()),
                error,
            ));
        }
    };
    if !remaining.is_empty() {
        for placement in remaining
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
        {
            let name = placement.name_any();
            if let Err(error) = ignore_missing(placements.delete(&name, &DeleteParams::default()).await) {
                let event = kratix_events::failed_delete(&format!(
                    "deleting associated workplacement failed: {error}"
                ));
                events::emit(agent, &events::reference(work), &event).await;
                return Err(ReconcileError::kube(
                    format!("deleting WorkPlacement {name}"),
                    error,
                ));
            }
        }
        return Ok(Action::requeue(DELETE_RECHECK));
    }
    let wanted: Vec<String> = work
        .finalizers()
        .iter()
        .filter(|f| *f != finalizers::WORK_CLEANUP)
        .cloned()
        .collect();
    crate::controller::base::finalizers::set(works, work, &wanted).await?;
    Ok(Action::await_change())
}
