//! The WorkPlacement controller: writes each placement's files to
//! its Destination's state store through the store's writer (which batches what
//! arrives together), reports `WriteSucceeded`, `Ready` and `status.versionID`,
//! rewrites every `stateStoreReconciliationInterval` to repair drift, and removes
//! the files before a deleted placement goes.

use std::sync::Arc;
use std::time::Duration;

use crate::state_store::StoreObject;
use futures::StreamExt as _;
use kratix_shared::api::conditions::{status as state, types};
use kratix_shared::api::destination::Destination;
use kratix_shared::api::work::WorkPlacement;
use kratix_shared::delivery::state_batch::Target;
use kratix_shared::delivery::state_batch::{self, Change, PlacementRecord};
use kratix_shared::delivery::state_layout::{self, Layout};
use kratix_shared::workflow::events::{self as kratix_events, KratixEvent, Reporter};
use kratix_shared::{api::labels, workflow::finalizers};
use kube::ResourceExt as _;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{PredicateConfig, WatchStreamExt as _, watcher};
use serde_json::{Value, json};

use super::store_lookup::StoreCaches;
use crate::controller::base::context::Agent;
use crate::controller::base::error::ReconcileError;
use crate::controller::base::events;
use crate::controller::base::predicates;
use crate::controller::base::status::status_with;
use kube::runtime::Predicate as _;

/// A placement waiting for its Destination or store looks again this soon (their
/// creation also wakes it at once).
const MISSING_RECHECK: Duration = Duration::from_secs(30);
const STATUS_ATTEMPTS: usize = 5;

struct Context {
    agent: Arc<Agent>,
    caches: StoreCaches,
    placements: Store<WorkPlacement>,
}

/// Whether the placement is marked misplaced (its files stay, written no more).
fn misplaced(placement: &WorkPlacement) -> Option<u64> {
    use std::hash::{Hash as _, Hasher as _};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    placement.labels().get(labels::MISPLACED).hash(&mut hasher);
    Some(hasher.finish())
}

pub async fn run(agent: Arc<Agent>) {
    let client = agent.client.clone();
    let (destinations, destination_writer) = reflector::store();
    let placement_writer = reflector::store::Writer::new(());
    let placements = placement_writer.as_reader();
    let placement_changes = watcher(
        Api::<WorkPlacement>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .reflect(placement_writer)
    .applied_objects()
    .predicate_filter(
        // What a write depends on: a status write alone does not wake the placement.
        kube::runtime::predicates::generation
            .combine(predicates::deleting)
            .combine(kube::runtime::predicates::finalizers)
            .combine(misplaced),
        PredicateConfig::default(),
    );
    let by_destination = placements.clone();
    let destination_changes = watcher(
        Api::<Destination>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .reflect(destination_writer)
    .touched_objects();
    let (git_stores, bucket_stores, store_changes) = super::store_lookup::store_caches_and_changes(&client);
    let retries_agent = agent.clone();
    let context = Arc::new(Context {
        agent,
        caches: StoreCaches {
            destinations,
            git_stores,
            bucket_stores,
        },
        placements: placements.clone(),
    });
    Controller::for_stream(placement_changes, placements)
        .watches_stream(destination_changes, move |destination: Destination| {
            // A Destination's path or labels changing, or the Destination appearing,
            // concerns every placement that targets it.
            let name = destination.name_any();
            by_destination
                .state()
                .into_iter()
                .filter(|p| p.spec.target_destination_name == name)
                .map(|p| ObjectRef::from_obj(p.as_ref()))
                .collect::<Vec<_>>()
        })
        .reconcile_all_on(store_changes)
        .run(reconcile, error_policy, context)
        .for_each(|result| {
            crate::controller::base::context::reconciled(
                &retries_agent,
                "WorkPlacement",
                "workplacement",
                &result,
            );
            futures::future::ready(())
        })
        .await;
}

fn error_policy(placement: Arc<WorkPlacement>, error: &ReconcileError, context: Arc<Context>) -> Action {
    let key = crate::controller::base::retries::key(
        "WorkPlacement",
        placement.namespace().as_deref(),
        &placement.name_any(),
    );
    crate::controller::base::context::retry_after(&context.agent, &key, error)
}

/// The placement as the writers need it.
pub fn record(placement: &WorkPlacement) -> PlacementRecord {
    PlacementRecord {
        namespace: placement.namespace().unwrap_or_default(),
        request_namespace: placement
            .labels()
            .get(labels::RESOURCE_NAMESPACE)
            .filter(|_| !placement.spec.resource_name.is_empty())
            .cloned(),
        name: placement.name_any(),
        promise: placement.spec.promise_name.clone(),
        resource: placement.spec.resource_name.clone(),
        pipeline: placement.labels().get(labels::PIPELINE_NAME).cloned(),
        group_id: placement.spec.id.clone(),
        workloads: placement.spec.workloads.clone(),
    }
}

/// The finalizers a placement holds while it has files in a store.
fn wanted_finalizers(layout: &Layout) -> Vec<&'static str> {
    let mut wanted = vec![finalizers::WORKPLACEMENT_REPO_CLEANUP];
    if *layout == Layout::Flat {
        wanted.push(finalizers::WORKPLACEMENT_DOT_FILES_CLEANUP);
    }
    wanted
}

fn is_ours(finalizer: &str) -> bool {
    finalizer == finalizers::WORKPLACEMENT_REPO_CLEANUP
        || finalizer == finalizers::WORKPLACEMENT_DOT_FILES_CLEANUP
}

async fn reconcile(placement: Arc<WorkPlacement>, context: Arc<Context>) -> Result<Action, ReconcileError> {
    let agent = &context.agent;
    let namespace = placement.namespace().unwrap_or_default();
    let api: Api<WorkPlacement> = Api::namespaced(agent.client.clone(), &namespace);
    let destination_name = &placement.spec.target_destination_name;
    let destination = context.caches.destination(destination_name);
    if placement.metadata.deletion_timestamp.is_some() {
        return delete(&context, &api, &placement, destination.as_deref()).await;
    }
    let Some(destination) = destination else {
        let message = format!(
            "Destination {destination_name} does not exist; create it, or the placement's files are written nowhere"
        );
        write_failure(agent, &api, &placement, &message).await?;
        return Ok(Action::requeue(MISSING_RECHECK));
    };
    if destination.metadata.deletion_timestamp.is_some() {
        // Its cleanup removes every placement's files before it goes; a file
        // written now (a placement made again in the meantime) would outlive it.
        tracing::info!(placement = %placement.name_any(), %namespace, destination = %destination_name,
            "not written: the Destination is being deleted");
        return Ok(Action::await_change());
    }
    let (store, target) = match context.caches.store_and_target(&destination) {
        Ok(found) => found,
        Err(message) => {
            write_failure(agent, &api, &placement, &message).await?;
            return Ok(Action::requeue(MISSING_RECHECK));
        }
    };
    if let Some(list) = missing_finalizers(&placement, &target.layout) {
        crate::controller::base::finalizers::set(&api, &placement, &list).await?;
        // The finalizers' own event brings the placement back.
        return Ok(Action::await_change());
    }
    write(&context, &api, &placement, store, target).await
}

/// The finalizers the placement should have for its layout, when it lacks one.
fn missing_finalizers(placement: &WorkPlacement, layout: &Layout) -> Option<Vec<String>> {
    let wanted = wanted_finalizers(layout);
    if wanted
        .iter()
        .all(|f| placement.finalizers().iter().any(|have| have == f))
    {
        return None;
    }
    let mut list: Vec<String> = placement.finalizers().to_vec();
    for finalizer in wanted {
        if !list.iter().any(|have| have == finalizer) {
            list.push(finalizer.to_owned());
        }
    }
    Some(list)
}

/// Writes the placement's files to its store and records where they went,
/// at which version, or why they did not.
async fn write(
    context: &Context,
    api: &Api<WorkPlacement>,
    placement: &WorkPlacement,
    store: StoreObject,
    target: Target,
) -> Result<Action, ReconcileError> {
    let agent = &context.agent;
    let destination_name = &placement.spec.target_destination_name;
    let this = record(placement);
    let location = state_layout::location(
        &target.store_path,
        &target.destination_path,
        &target.layout,
        &this.view(),
    );
    let aggregate = match target.layout {
        Layout::Aggregated { .. } => siblings(context, destination_name, Some(&this)),
        _ => Vec::new(),
    };
    let change = Change::Write {
        target,
        placement: this,
        aggregate,
    };
    match agent
        .state_stores
        .write(&store, change, agent.git_min_fetch_interval())
        .await
    {
        Ok(written) => {
            crate::crash_points::crash_point(crate::crash_points::STORE_WRITTEN_UNRECORDED);
            write_status(
                api,
                placement,
                Ok(()),
                written.version.as_deref(),
                Some(&location),
            )
            .await?;
            if written.changed {
                let event = kratix_events::written(destination_name, written.version.as_deref());
                events::emit(agent, &events::reference(placement), &event).await;
            }
            agent.retries.succeeded(&write_key(placement));
            let interval = agent.state_store_reconciliation_interval();
            Ok(if interval.is_zero() {
                Action::await_change()
            } else {
                Action::requeue(interval)
            })
        }
        Err(error) => {
            write_failure(agent, api, placement, &error.to_string()).await?;
            Ok(Action::requeue(agent.retries.failed(&write_key(placement))))
        }
    }
}

/// The key of a placement's writes for the agent's backoff: a write that keeps
/// failing (a dead credential, a refused path) is tried less and less often, and
/// on the clock, so placements failing against one store retry together and land
/// in one batch when it is back.
fn write_key(placement: &WorkPlacement) -> String {
    crate::controller::base::retries::key(
        "WorkPlacement-write",
        placement.namespace().as_deref(),
        &placement.name_any(),
    )
}

/// Every live placement on the Destination, with `this` in place of its cached copy.
fn siblings(context: &Context, destination: &str, this: Option<&PlacementRecord>) -> Vec<PlacementRecord> {
    let mut all: Vec<PlacementRecord> = context
        .placements
        .state()
        .iter()
        .filter(|p| p.spec.target_destination_name == destination && p.metadata.deletion_timestamp.is_none())
        .map(|p| record(p))
        .filter(|r| this.is_none_or(|t| !(t.namespace == r.namespace && t.name == r.name)))
        .collect();
    all.extend(this.cloned());
    all
}

fn failing(placement: &WorkPlacement) -> bool {
    placement
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == types::WRITE_SUCCEEDED))
        .is_some_and(|c| c.status == state::FALSE)
}

/// A deleted placement: its files leave the store, then its finalizers go. When
/// the Destination is gone there is nowhere to remove them from; when its store
/// is gone, nothing can be removed, and waiting would only hang the delete.
async fn delete(
    context: &Context,
    api: &Api<WorkPlacement>,
    placement: &WorkPlacement,
    destination: Option<&Destination>,
) -> Result<Action, ReconcileError> {
    if !placement.finalizers().iter().any(|f| is_ours(f)) {
        return Ok(Action::await_change());
    }
    let agent = &context.agent;
    let remaining: Vec<String> = placement
        .finalizers()
        .iter()
        .filter(|f| !is_ours(f))
        .cloned()
        .collect();
    let Some(destination) = destination else {
        crate::controller::base::finalizers::set(api, placement, &remaining).await?;
        return Ok(Action::await_change());
    };
    let (store, target) = match context.caches.store_and_target(destination) {
        Ok(found) => found,
        Err(message) => {
            let event = KratixEvent::warning(
                Reporter::WorkPlacementController,
                "FilesLeftInStateStore",
                format!("{message}; the placement's files could not be removed"),
            );
            events::emit(agent, &events::reference(placement), &event).await;
            crate::controller::base::finalizers::set(api, placement, &remaining).await?;
            return Ok(Action::await_change());
        }
    };
    let this = record(placement);
    let aggregate = match target.layout {
        Layout::Aggregated { .. } => siblings(context, &destination.name_any(), None)
            .into_iter()
            .filter(|r| !(r.namespace == this.namespace && r.name == this.name))
            .collect(),
        _ => Vec::new(),
    };
    let change = Change::Remove {
        target,
        placement: this,
        aggregate,
    };
    match agent
        .state_stores
        .write(&store, change, agent.git_min_fetch_interval())
        .await
    {
        Ok(_) => {
            agent.retries.succeeded(&write_key(placement));
            crate::controller::base::finalizers::set(api, placement, &remaining).await?;
            Ok(Action::await_change())
        }
        Err(error) => {
            let was_failing = failing(placement);
            let message = format!("removing the files: {error}");
            write_status(api, placement, Err(&message), None, None).await?;
            if !was_failing {
                let event = kratix_events::delete_files_failed(&error.to_string());
                events::emit(agent, &events::reference(placement), &event).await;
            }
            Ok(Action::requeue(agent.retries.failed(&write_key(placement))))
        }
    }
}

/// Records a write that failed, or could not be tried, and says so in Kratix's
/// Warning the first time.
async fn write_failure(
    agent: &Agent,
    api: &Api<WorkPlacement>,
    placement: &WorkPlacement,
    message: &str,
) -> Result<(), ReconcileError> {
    let was_failing = failing(placement);
    write_status(api, placement, Err(message), None, None).await?;
    if !was_failing {
        let event = kratix_events::write_failed(message);
        events::emit(agent, &events::reference(placement), &event).await;
    }
    Ok(())
}

/// Sets the writer's conditions and `versionID`, on the freshest copy of the
/// placement so the scheduler's conditions are kept.
async fn write_status(
    api: &Api<WorkPlacement>,
    placement: &WorkPlacement,
    outcome: Result<(), &str>,
    version: Option<&str>,
    location: Option<&str>,
) -> Result<(), ReconcileError> {
    let name = placement.name_any();
    let mut current = placement.clone();
    for attempt in 0..STATUS_ATTEMPTS {
        let misplaced = current
            .labels()
            .get(labels::MISPLACED)
            .is_some_and(|v| v == "true");
        let conditions = state_batch::write_conditions(outcome, misplaced);
        let (before, mut after) = status_with(current.status.as_ref(), &conditions);
        if let Some(version) = version {
            after.insert("versionID".to_owned(), Value::String(version.to_owned()));
        }
        if let Some(location) = location {
            after.insert("path".to_owned(), Value::String(location.to_owned()));
        }
        if after == before {
            return Ok(());
        }
        let patch = json!({
            "metadata": {"resourceVersion": current.resource_version()},
            "status": after,
        });
        match api
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => return Ok(()),
            Err(error)
                if kratix_shared::api::answers::is_conflict(&error) && attempt + 1 < STATUS_ATTEMPTS =>
            {
                current = match api.get_opt(&name).await {
                    Ok(Some(fresh)) => fresh,
                    Ok(None) => return Ok(()),
                    Err(e) => return Err(ReconcileError::kube(format!("reading WorkPlacement {name}"), e)),
                };
            }
            Err(error) if kratix_shared::api::answers::is_not_found(&error) => return Ok(()),
            Err(e) => {
                return Err(ReconcileError::kube(
                    format!("writing the status of WorkPlacement {name}"),
                    e,
                ));
            }
        }
    }
    Ok(())
}
