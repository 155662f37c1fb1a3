//! The Destination controller: writes the canary files and
//! reports `Ready`, says when two Destinations of one store share a path, and,
//! with `cleanup: all`, removes every placement on the Destination and the
//! canaries before the Destination goes.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use kratix_shared::api::conditions::{reasons, status as state};
use kratix_shared::api::destination::Destination;
use kratix_shared::api::selectors;
use kratix_shared::api::work::WorkPlacement;
use kratix_shared::delivery::destination_status;
use kratix_shared::delivery::state_batch::Change;
use kratix_shared::workflow::conditions::Condition;
use kratix_shared::workflow::events::{KratixEvent, Reporter};
use kratix_shared::{delivery::canary, workflow::finalizers};
use kube::ResourceExt as _;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self};
use kube::runtime::{Predicate as _, WatchStreamExt as _, predicates, watcher};
use serde_json::json;

use super::store_lookup::StoreCaches;
use crate::controller::base::context::Agent;
use crate::controller::base::deletion;
use crate::controller::base::error::ReconcileError;
use crate::controller::base::events;
use crate::controller::base::finalizers as base_finalizers;
use crate::controller::base::status::status_with;
use crate::state_store::StoreObject;
use kratix_shared::delivery::state_batch::Target;

const DELETE_RECHECK: Duration = Duration::from_secs(1);

struct Context {
    agent: Arc<Agent>,
    caches: StoreCaches,
}

pub async fn run(agent: Arc<Agent>) {
    let client = agent.client.clone();
    let destination_writer = reflector::store::Writer::new(());
    let destinations = destination_writer.as_reader();
    let destination_changes = watcher(
        Api::<Destination>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .reflect(destination_writer)
    .applied_objects()
    .predicate_filter(
        predicates::generation.combine(predicates::finalizers),
        Default::default(),
    );
    let (git_stores, bucket_stores, store_changes) = super::store_lookup::store_caches_and_changes(&client);
    let retries_agent = agent.clone();
    let context = Arc::new(Context {
        agent,
        caches: StoreCaches {
            destinations: destinations.clone(),
            git_stores,
            bucket_stores,
        },
    });
    Controller::for_stream(destination_changes, destinations)
        .reconcile_all_on(store_changes)
        .run(reconcile, error_policy, context)
        .for_each(|result| {
            crate::controller::base::context::reconciled(
                &retries_agent,
                "Destination",
                "destination",
                &result,
            );
            futures::future::ready(())
        })
        .await;
}

fn error_policy(destination: Arc<Destination>, error: &ReconcileError, context: Arc<Context>) -> Action {
    let key = crate::controller::base::retries::key("Destination", None, &destination.name_any());
    crate::controller::base::context::retry_after(&context.agent, &key, error)
}

async fn reconcile(destination: Arc<Destination>, context: Arc<Context>) -> Result<Action, ReconcileError> {
    let agent = &context.agent;
    let api: Api<Destination> = Api::all(agent.client.clone());
    let has_finalizer = destination
        .finalizers()
        .iter()
        .any(|f| f == finalizers::DESTINATION_CLEANUP);
    if destination.metadata.deletion_timestamp.is_some() {
        return delete(&context, &api, &destination, has_finalizer).await;
    }
    let cleanup_all = destination.spec.cleanup.as_deref() == Some("all");
    if cleanup_all != has_finalizer {
        let mut wanted = base_finalizers::without(destination.as_ref(), finalizers::DESTINATION_CLEANUP);
        if cleanup_all {
            wanted.push(finalizers::DESTINATION_CLEANUP.to_owned());
        }
        base_finalizers::set(&api, destination.as_ref(), &wanted).await?;
        return Ok(Action::await_change());
    }
    let (store, target) = match usable_store(&context, &destination) {
        Ok(usable) => usable,
        Err(Unusable { ready, retry }) => {
            report(agent, &api, &destination, ready).await?;
            return Ok(if retry {
                Action::requeue(agent.retries.failed(&failing_key(&destination)))
            } else {
                Action::await_change()
            });
        }
    };
    let canaries = destination_status::writes_canaries(&destination);
    let outcome = if canaries {
        agent
            .state_stores
            .write(
                &store,
                Change::PutFiles(canary::files(&target)),
                agent.git_min_fetch_interval(),
            )
            .await
            .map(|_| ())
    } else {
        agent.state_stores.probe(&store).await
    };
    let failed = outcome.err().map(|e| e.to_string());
    let ready_now = failed.is_none();
    let ready = destination_status::after_write(canaries, store.kind(), &store.name(), failed);
    report(agent, &api, &destination, ready).await?;
    if !ready_now {
        return Ok(Action::requeue(agent.retries.failed(&failing_key(&destination))));
    }
    agent.retries.succeeded(&failing_key(&destination));
    let interval = agent.state_store_reconciliation_interval();
    Ok(if interval.is_zero() {
        Action::await_change()
    } else {
        Action::requeue(interval)
    })
}

/// Why a Destination cannot be written to, and whether to look again with
/// backoff (else its change or its store's wakes it).
struct Unusable {
    ready: Condition,
    retry: bool,
}

/// The Destination's store and where in it its files go, when it can be
/// written to: the store exists and is ready, the path is the Destination's
/// alone, and the store's settings make a target.
fn usable_store(context: &Context, destination: &Destination) -> Result<(StoreObject, Target), Unusable> {
    let store = context.caches.store_of(destination).map_err(|lookup| {
        let reference = &destination.spec.state_store_ref;
        Unusable {
            ready: destination_status::store_not_found(&reference.kind, &reference.name, lookup),
            retry: true,
        }
    })?;
    let others = context.caches.destinations.state();
    if let Some(other) = destination_status::sharing_path(destination, others.iter().map(AsRef::as_ref)) {
        return Err(Unusable {
            ready: destination_status::shared_path(destination, &other, store.kind(), &store.name()),
            retry: true,
        });
    }
    let target = StoreCaches::target(destination, &store).map_err(|message| Unusable {
        ready: destination_status::not_ready(message),
        retry: false,
    })?;
    if store.says_not_ready() {
        // Its change wakes the Destination.
        return Err(Unusable {
            ready: destination_status::store_not_ready(store.kind(), &store.name()),
            retry: true,
        });
    }
    Ok((store, target))
}

/// `cleanup: all`: every placement on the Destination goes (each removing its
/// files while the Destination still exists), then the canary files, then the
/// finalizer.
async fn delete(
    context: &Context,
    api: &Api<Destination>,
    destination: &Destination,
    has_finalizer: bool,
) -> Result<Action, ReconcileError> {
    if !has_finalizer {
        return Ok(Action::await_change());
    }
    let agent = &context.agent;
    let name = destination.name_any();
    let placements: Api<WorkPlacement> = Api::all(agent.client.clone());
    let on_destination = ListParams::default().labels_from(&selectors::placements_on(&name));
    let remaining = placements
        .list(&on_destination)
        .await
        .map_err(|e| ReconcileError::kube(format!("listing the WorkPlacements on Destination {name}"), e))?
        .items;
    if !remaining.is_empty() {
        let placements_in = |ns: &str| Api::namespaced(agent.client.clone(), ns);
        deletion::delete_each(&remaining, placements_in, "WorkPlacement").await?;
        return Ok(Action::requeue(DELETE_RECHECK));
    }
    if let Ok((store, target)) = context.caches.store_and_target(destination) {
        let paths = canary::files(&target).into_keys().collect();
        if let Err(error) = agent
            .state_stores
            .write(&store, Change::DeleteFiles(paths), agent.git_min_fetch_interval())
            .await
        {
            let ready = destination_status::canaries_not_removed(&error.to_string());
            write_ready(api, destination, ready).await?;
            return Ok(Action::requeue(
                context.agent.retries.failed(&failing_key(destination)),
            ));
        }
    }
    let wanted = base_finalizers::without(destination, finalizers::DESTINATION_CLEANUP);
    base_finalizers::set(api, destination, &wanted).await?;
    Ok(Action::await_change())
}

/// Writes the Destination's `Ready` and, when it changed, Kratix's Event for it:
/// Normal `DestinationReady` "Destination is Ready", or Warning
/// `DestinationNotReady` with the condition's message.
async fn report(
    agent: &crate::controller::base::context::Agent,
    api: &Api<Destination>,
    destination: &Destination,
    ready: Condition,
) -> Result<(), ReconcileError> {
    if !write_ready(api, destination, ready.clone()).await? {
        return Ok(());
    }
    let reporter = Reporter::DestinationController;
    let event = if ready.status == state::TRUE {
        KratixEvent::normal(reporter, reasons::DESTINATION_READY, "Destination is Ready")
    } else {
        KratixEvent::warning(reporter, reasons::DESTINATION_NOT_READY, ready.message)
    };
    events::emit(agent, &events::reference(destination), &event).await;
    Ok(())
}

async fn write_ready(
    api: &Api<Destination>,
    destination: &Destination,
    ready: Condition,
) -> Result<bool, ReconcileError> {
    let (before, after) = status_with(destination.status.as_ref(), [&ready]);
    if before == after {
        return Ok(false);
    }
    api.patch_status(
        &destination.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"conditions": after.get("conditions")}})),
    )
    .await
    .map_err(|e| {
        ReconcileError::kube(
            format!("writing the status of Destination {}", destination.name_any()),
            e,
        )
    })?;
    Ok(true)
}

/// The key of a Destination that is not ready (no store, a shared path, its
/// canary files not written) for the agent's backoff: looked at less and less
/// often while it stays so.
fn failing_key(destination: &Destination) -> String {
    crate::controller::base::retries::key("Destination-ready", None, &destination.name_any())
}
