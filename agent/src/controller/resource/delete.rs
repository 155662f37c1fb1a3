//! Deleting a resource request: its finalizers are worked
//! through in order, one step per pass: the delete pipeline (its output is
//! discarded), then its Works, then its Jobs.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kratix_shared::api::hash::resource_hash;
use kratix_shared::api::resource_api::ResourceApi;
use kratix_shared::api::selectors;
use kratix_shared::api::work::Work;
use kratix_shared::api::{Pipeline, Workflow};
use kratix_shared::workflow::events::{KratixEvent, Reporter};
use kratix_shared::workflow::finalizers::{self, DELETE_WORKFLOWS, WORK_CLEANUP, WORKFLOWS_CLEANUP};
use kratix_shared::workflow::request_status;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::Selector;
use kube::runtime::controller::Action;

use super::request::{Context, Request, write_if_changed};
use crate::controller::base::deletion;
use crate::controller::base::error::ReconcileError;
use crate::controller::base::events;
use crate::controller::base::finalizers as write_finalizers;
use crate::controller::workflow::{DeleteStep, Run, background};
use kratix_shared::api::answers::ignore_missing;

/// How soon to look again while Works or Jobs are going away.
const CLEANUP_RECHECK: Duration = Duration::from_secs(2);

/// Every finalizer a request may carry, in the order they are handled
/// (Kratix's binding finalizer last: there is nothing of it to clean up here).
const ORDER: [&str; 4] = [
    DELETE_WORKFLOWS,
    WORK_CLEANUP,
    WORKFLOWS_CLEANUP,
    "kratix.io/resource-binding-cleanup",
];

/// What one cleanup step left.
enum Cleanup {
    /// Its finalizer can go.
    Done,
    /// Not yet: look again as the action says.
    Wait(Action),
}

/// Works through the request's next finalizer.
pub async fn reconcile(
    request: &Request<'_>,
    resource_api: &ResourceApi,
    delete_pipelines: &[Pipeline],
) -> Result<Action, ReconcileError> {
    let Some(finalizer) = finalizers::next(request.object.finalizers(), &ORDER) else {
        return Ok(Action::await_change());
    };
    let step = match finalizer {
        DELETE_WORKFLOWS => run_delete_workflow(request, resource_api, delete_pipelines).await?,
        WORK_CLEANUP => delete_works(request).await?,
        WORKFLOWS_CLEANUP => {
            let client = &request.context.agent.client;
            let subject = request.subject(resource_api);
            delete_jobs(client, &subject.jobs_namespace, &subject.job_selector(None)).await?;
            crate::crash_points::crash_point(crate::crash_points::JOBS_DELETED);
            Cleanup::Done
        }
        _ => Cleanup::Done,
    };
    match step {
        Cleanup::Done => {
            write_finalizers::remove(&request.api, &request.object, finalizer).await?;
            Ok(Action::await_change())
        }
        Cleanup::Wait(action) => Ok(action),
    }
}

/// The request's delete pipeline.
async fn run_delete_workflow(
    request: &Request<'_>,
    resource_api: &ResourceApi,
    delete_pipelines: &[Pipeline],
) -> Result<Cleanup, ReconcileError> {
    let hash = resource_hash(&request.promise_value, &request.value);
    let run = Run::new(
        &request.context.agent,
        request.subject(resource_api),
        Workflow::RESOURCE_DELETE,
        delete_pipelines,
        &hash,
    );
    match run.step().await?.for_deletion() {
        DeleteStep::Acted(action) => Ok(Cleanup::Wait(action)),
        DeleteStep::Done => {
            crate::crash_points::crash_point(crate::crash_points::DELETE_COMPLETED);
            Ok(Cleanup::Done)
        }
        DeleteStep::Stopped(status, action) => {
            write_if_changed(request, status).await?;
            Ok(Cleanup::Wait(action))
        }
    }
}

/// The request's Works; done when none of its own is left.
async fn delete_works(request: &Request<'_>) -> Result<Cleanup, ReconcileError> {
    let works: Api<Work> = Api::namespaced(
        request.context.agent.client.clone(),
        &request.pipeline_namespace(),
    );
    let selector = selectors::all_request_works(&request.context.promise, &request.name);
    let listed = works
        .list(&ListParams::default().labels_from(&selector))
        .await
        .map_err(|e| ReconcileError::kube("listing Works to delete", e))?
        .items;
    let remaining = request_status::own_works(&listed, &request.namespace);
    if remaining.is_empty() {
        return Ok(Cleanup::Done);
    }
    let remaining: Vec<Work> = remaining.into_iter().cloned().collect();
    // Every Work here is in the pipeline namespace `works` lists.
    deletion::delete_each(&remaining, |_| works.clone(), "Work").await?;
    crate::crash_points::crash_point(crate::crash_points::WORKS_DELETED);
    Ok(Cleanup::Wait(Action::requeue(CLEANUP_RECHECK)))
}

/// A request whose Promise is gone (removed without its finalizers running):
/// no delete pipeline can run, so say so and let the request go.
pub async fn without_promise(
    context: &Context,
    api: &Api<DynamicObject>,
    object: &DynamicObject,
) -> Result<Action, ReconcileError> {
    let ours: Vec<String> = object
        .finalizers()
        .iter()
        .filter(|f| ORDER.contains(&f.as_str()))
        .cloned()
        .collect();
    if ours.is_empty() {
        return Ok(Action::await_change());
    }
    let event = KratixEvent::warning(
        Reporter::PromiseController,
        "PromiseMissing",
        format!(
            "Promise {} no longer exists: its delete pipeline cannot run; removing the finalizers",
            context.promise
        ),
    );
    events::emit(
        &context.agent,
        &events::dynamic_reference(object, &context.resource),
        &event,
    )
    .await;
    let remaining: Vec<String> = object
        .finalizers()
        .iter()
        .filter(|f| !ours.contains(f))
        .cloned()
        .collect();
    write_finalizers::set(api, object, &remaining).await?;
    Ok(Action::await_change())
}

/// Deletes the Jobs `selector` matches in `namespace` (their Pods follow).
pub async fn delete_jobs(
    client: &kube::Client,
    namespace: &str,
    selector: &Selector,
) -> Result<(), ReconcileError> {
    let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
    let listed = jobs
        .list(&ListParams::default().labels_from(selector))
        .await
        .map_err(|e| ReconcileError::kube("listing Jobs to delete", e))?;
    for job in listed.items {
        ignore_missing(jobs.delete(&job.name_any(), &background()).await)
            .map_err(|e| ReconcileError::kube(format!("deleting Job {}", job.name_any()), e))?;
    }
    Ok(())
}
