//! The Destination controller: writes the canary files and
//! reports `Ready`, says when two Destinations of one store share a path, and,
//! with `cleanup: all`, removes every placement on the Destination and the
//! canaries before the Destination goes.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use kratix_shared::api::destination::Destination;
use kratix_shared::api::work::WorkPlacement;
use kratix_shared::delivery::state_batch::Change;
use kratix_shared::workflow::conditions::Condition;
use kratix_shared::workflow::events::{KratixEvent, Reporter};
use kratix_shared::{api::labels, delivery::canary, workflow::finalizers};
use kube::ResourceExt as _;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self};
use kube::runtime::{Predicate as _, WatchStreamExt as _, predicates, watcher};
use serde_json::json;

use super::store_lookup::StoreCaches;
use crate::controller::base::context::Agent;
use crate::controller::base::error::ReconcileError;
use crate::controller::base::error::ignore_missing;
use crate::controller::base::events;
use crate::controller::base::status::status_with;

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
    let metrics = agent.metrics.clone();
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
            crate::controller::base::context::reconciled(&retries_agent, "Destination", &result);
            metrics.reconciled("destination", result.is_ok());
            if let Err(error) = result {
                tracing::debug!(%error, "destination reconcile failed");
            }
            futures::future::ready(())
        })
        .await;
}

fn error_policy(destination: Arc<Destination>, error: &ReconcileError, context: Arc<Context>) -> Action {
    let key = crate::controller::base::retries::key("Destination", None, &destination.name_any());
    crate::controller::base::context::retry_after(&context.agent, &key, error)
}

fn condition(status: &'static str, reason: &'static str, message: String) -> Condition {
    Condition {
        type_: "Ready",
        status,
        reason,
        message,
    }
}

async fn reconcile(destination: Arc<Destination>, context: Arc<Context>) -> Result<Action, ReconcileError> {
    let agent = &context.agent;
    let api: Api<Destination> = Api::all(agent.client.clone());
    let name = destination.name_any();
    let cleanup_all = destination.spec.cleanup.as_deref() == Some("all");
    let has_finalizer = destination
        .finalizers()
        .iter()
        .any(|f| f == finalizers::DESTINATION_CLEANUP);
    if destination.metadata.deletion_timestamp.is_some() {
        return delete(&context, &api, &destination, has_finalizer).await;
    }
    if cleanup_all != has_finalizer {
        let mut wanted: Vec<String> = destination
            .finalizers()
            .iter()
            .filter(|f| *f != finalizers::DESTINATION_CLEANUP)
            .cloned()
            .collect();
        if cleanup_all {
            wanted.push(finalizers::DESTINATION_CLEANUP.to_owned());
        }
        set_finalizers(&api, &destination, &wanted).await?;
        return Ok(Action::await_change());
    }
    let store = match context.caches.store_of(&destination) {
        Ok(store) => store,
        Err(message) => {
            let reference = &destination.spec.state_store_ref;
            let not_ready = if matches!(reference.kind.as_str(), "GitStateStore" | "BucketStateStore") {
                // Kratix's words, which its Destination tests look for.
                condition(
                    "False",
                    "StateStoreNotFound",
                    format!("{}/{}: not found", reference.kind, reference.name),
                )
            } else {
                condition("False", "DestinationNotReady", message)
            };
            report(agent, &api, &destination, not_ready).await?;
            return Ok(Action::requeue(
                context.agent.retries.failed(&failing_key(&destination)),
            ));
        }
    };
    let sharing = context
        .caches
        .destinations
        .state()
        .into_iter()
        .filter(|other| {
            other.name_any() != name
                && other.metadata.deletion_timestamp.is_none()
                && other.spec.state_store_ref == destination.spec.state_store_ref
                && kratix_shared::delivery::state_layout::join(&[&other.spec.path])
                    == kratix_shared::delivery::state_layout::join(&[&destination.spec.path])
        })
        .map(|other| other.name_any())
        .min();
    if let Some(other) = sharing {
        let message = format!(
            "spec.path {:?} is also the path of Destination {other} in {} {}; give each Destination of a store its own path",
            destination.spec.path,
            store.kind(),
            store.name()
        );
        report(
            agent,
            &api,
            &destination,
            condition("False", "DestinationNotReady", message),
        )
        .await?;
        return Ok(Action::requeue(
            context.agent.retries.failed(&failing_key(&destination)),
        ));
    }
    let target = match StoreCaches::target(&destination, &store) {
        Ok(target) => target,
        Err(message) => {
            report(
                agent,
                &api,
                &destination,
                condition("False", "DestinationNotReady", message),
            )
            .await?;
            return Ok(Action::await_change());
        }
    };
    if store.says_not_ready() {
        // As Kratix: a Destination is as ready as its store; the store's own
        // condition says why, and its change wakes the Destination.
        let not_ready = condition(
            "False",
            "StateStoreNotReady",
            format!("{}/{}: not ready", store.kind(), store.name()),
        );
        report(agent, &api, &destination, not_ready).await?;
        return Ok(Action::requeue(
            context.agent.retries.failed(&failing_key(&destination)),
        ));
    }
    let init_workloads = destination
        .spec
        .init_workloads
        .as_ref()
        .and_then(|i| i.enabled)
        .unwrap_or(true);
    let outcome = if init_workloads {
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
    match outcome {
        Ok(()) => {
            let ready = if init_workloads {
                condition(
                    "True",
                    "TestDocumentsWritten",
                    "Test documents written to State Store".to_owned(),
                )
            } else {
                condition("True", "DestinationReady", "Destination is ready".to_owned())
            };
            report(agent, &api, &destination, ready).await?;
            agent.retries.succeeded(&failing_key(&destination));
            let interval = agent.state_store_reconciliation_interval();
            Ok(if interval.is_zero() {
                Action::await_change()
            } else {
                Action::requeue(interval)
            })
        }
        Err(error) => {
            let not_ready = if !init_workloads {
                condition(
                    "False",
                    "StateStoreNotReady",
                    format!("{}/{}: not ready", store.kind(), store.name()),
                )
            } else {
                condition(
                    "False",
                    "StateStoreWriteFailed",
                    format!("Failed to write test documents to State Store: {error}"),
                )
            };
            report(agent, &api, &destination, not_ready).await?;
            Ok(Action::requeue(
                context.agent.retries.failed(&failing_key(&destination)),
            ))
        }
    }
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
    let on_destination = ListParams::default().labels(&format!("{}={name}", labels::TARGET_DESTINATION_NAME));
    let remaining = placements
        .list(&on_destination)
        .await
        .map_err(|e| ReconcileError::kube(format!("listing the WorkPlacements on Destination {name}"), e))?
        .items;
    if !remaining.is_empty() {
        for placement in remaining
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
        {
            let namespaced: Api<WorkPlacement> =
                Api::namespaced(agent.client.clone(), &placement.namespace().unwrap_or_default());
            ignore_missing(
                namespaced
                    .delete(&placement.name_any(), &DeleteParams::default())
                    .await,
            )
            .map_err(|e| {
                ReconcileError::kube(format!("deleting WorkPlacement {}", placement.name_any()), e)
            })?;
        }
        return Ok(Action::requeue(DELETE_RECHECK));
    }
    if let Ok((store, target)) = context.caches.store_and_target(destination) {
        let paths = canary::files(&target).into_keys().collect();
        if let Err(error) = agent
            .state_stores
            .write(&store, Change::DeleteFiles(paths), agent.git_min_fetch_interval())
            .await
        {
            write_ready(
                api,
                destination,
                condition(
                    "False",
                    "StateStoreWriteFailed",
                    format!("removing the canary files: {error}"),
                ),
            )
            .await?;
            return Ok(Action::requeue(
                context.agent.retries.failed(&failing_key(destination)),
            ));
        }
    }
    let wanted: Vec<String> = destination
        .finalizers()
        .iter()
        .filter(|f| *f != finalizers::DESTINATION_CLEANUP)
        .cloned()
        .collect();
    set_finalizers(api, destination, &wanted).await?;
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
    let event = if ready.status == "True" {
        KratixEvent::normal(reporter, "DestinationReady", "Destination is Ready")
    } else {
        KratixEvent::warning(reporter, "DestinationNotReady", ready.message)
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

async fn set_finalizers(
    api: &Api<Destination>,
    destination: &Destination,
    wanted: &[String],
) -> Result<(), ReconcileError> {
    let patch =
        json!({"metadata": {"finalizers": wanted, "resourceVersion": destination.resource_version()}});
    api.patch(
        &destination.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
    .map_err(|e| {
        ReconcileError::kube(
            format!(
                "updating the finalizers of Destination {}",
                destination.name_any()
            ),
            e,
        )
    })?;
    Ok(())
}

/// The key of a Destination that is not ready (no store, a shared path, its
/// canary files not written) for the agent's backoff: looked at less and less
/// often while it stays so.
fn failing_key(destination: &Destination) -> String {
    crate::controller::base::retries::key("Destination-ready", None, &destination.name_any())
}
