//! Deleting a Promise: its finalizers are worked through in
//! order, one step per pass: its delete pipeline, its Jobs, its requests
//! (each running its own delete flow), everything it created (RBAC, service
//! accounts, ConfigMaps), its Works, and last its API's CRD.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kratix_shared::api::hash::spec_hash;
use kratix_shared::api::labels;
use kratix_shared::api::resource_api::ResourceApi;
use kratix_shared::api::selectors;
use kratix_shared::api::work::Work;
use kratix_shared::api::{Workflow, WorkflowAction};
use kratix_shared::render::resource_crd::resource_crd;
use kratix_shared::validate::Validated;
use kratix_shared::workflow::finalizers::{
    self, API_CRD_CLEANUP, DELETE_WORKFLOWS, DEPENDANT_RESOURCES_CLEANUP, DEPENDENCIES_CLEANUP,
    RESOURCE_REQUEST_CLEANUP, WORKFLOWS_CLEANUP,
};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use kube::runtime::controller::Action;

use super::object::{Context, PromiseObject};
use crate::controller::base::deletion;
use crate::controller::base::error::ReconcileError;
use crate::controller::base::finalizers as write_finalizers;
use crate::controller::base::rbac_cleanup;
use crate::controller::resource::request;
use crate::controller::workflow::{DeleteStep, Run, background};
use kratix_shared::api::answers::ignore_missing;

/// How soon to look again while something is going away.
const CLEANUP_RECHECK: Duration = Duration::from_secs(2);

/// What one cleanup step left.
enum Cleanup {
    /// Its finalizer can go.
    Done,
    /// Not yet: look again as the action says.
    Wait(Action),
}

/// Works through the Promise's next finalizer.
pub async fn reconcile(
    context: &Context,
    promise: &PromiseObject,
    validated: &Validated,
) -> Result<Action, ReconcileError> {
    let Some(finalizer) = finalizers::next(promise.object.finalizers(), &finalizers::ALL_PROMISE) else {
        return Ok(Action::await_change());
    };
    let client = &context.agent.client;
    let step = match finalizer {
        DELETE_WORKFLOWS => run_delete_workflow(context, promise, validated).await?,
        WORKFLOWS_CLEANUP => delete_jobs(promise, client).await?,
        RESOURCE_REQUEST_CLEANUP => delete_requests(promise, client, validated).await?,
        DEPENDANT_RESOURCES_CLEANUP => {
            if let Some(handle) = context
                .agent
                .resource_controllers
                .lock()
                .await
                .remove(&promise.name)
            {
                handle.task.abort();
            }
            if rbac_cleanup::delete_everything_of_promise(client, &promise.name).await? == 0 {
                Cleanup::Done
            } else {
                Cleanup::Wait(Action::requeue(CLEANUP_RECHECK))
            }
        }
        DEPENDENCIES_CLEANUP => delete_works(promise, client).await?,
        API_CRD_CLEANUP => delete_crd(promise, client, validated).await?,
        // A finalizer of Kratix's versioning layer: nothing of it to clean up.
        _ => Cleanup::Done,
    };
    match step {
        Cleanup::Done => {
            write_finalizers::remove(&promise.api, &promise.object, finalizer).await?;
            Ok(Action::await_change())
        }
        Cleanup::Wait(action) => Ok(action),
    }
}

/// The Promise's delete pipeline, once its requests' configure Jobs are done.
async fn run_delete_workflow(
    context: &Context,
    promise: &PromiseObject,
    validated: &Validated,
) -> Result<Cleanup, ReconcileError> {
    let agent = &context.agent;
    let client = &agent.client;
    if requests_still_configuring(promise, client, validated).await? {
        return Ok(Cleanup::Wait(Action::requeue(CLEANUP_RECHECK)));
    }
    let delete = validated.runnable_pipelines(Workflow::PROMISE_DELETE);
    let hash = spec_hash(&promise.value);
    let run = Run::new(agent, promise.subject(), Workflow::PROMISE_DELETE, delete, &hash);
    match run.step().await?.for_deletion() {
        DeleteStep::Acted(action) => Ok(Cleanup::Wait(action)),
        DeleteStep::Done => {
            crate::crash_points::crash_point(crate::crash_points::PROMISE_DELETE_COMPLETED);
            Ok(Cleanup::Done)
        }
        DeleteStep::Stopped(status, action) => {
            promise.write_if_changed(agent, status).await?;
            Ok(Cleanup::Wait(action))
        }
    }
}

/// Whether a configure Job of one of the Promise's live requests runs: they
/// finish first. Only a live request's Jobs count: anyone can label a Job
/// alike in their own namespace, and must not hold the deletion up by it.
async fn requests_still_configuring(
    promise: &PromiseObject,
    client: &kube::Client,
    validated: &Validated,
) -> Result<bool, ReconcileError> {
    let configure_jobs = selectors::resource_jobs(&promise.name, Some(WorkflowAction::Configure));
    let jobs: Api<Job> = Api::all(client.clone());
    let requests = request_uids(client, &promise.name, validated).await?;
    Ok(jobs
        .list(&ListParams::default().labels_from(&configure_jobs))
        .await
        .map_err(|e| ReconcileError::kube("listing resource Jobs", e))?
        .items
        .iter()
        .filter(|j| {
            j.labels()
                .get(labels::OBJECT_UID)
                .is_some_and(|uid| requests.contains(uid))
        })
        .any(|j| j.status.as_ref().and_then(|s| s.active).unwrap_or_default() > 0))
}

/// The Promise's own workflow Jobs.
async fn delete_jobs(promise: &PromiseObject, client: &kube::Client) -> Result<Cleanup, ReconcileError> {
    let subject = promise.subject();
    let jobs = subject.jobs(client);
    let listed = jobs
        .list(&ListParams::default().labels_from(&subject.job_selector(None)))
        .await
        .map_err(|e| ReconcileError::kube("listing the Promise's Jobs", e))?;
    for job in listed.items {
        ignore_missing(jobs.delete(&job.name_any(), &background()).await)
            .map_err(|e| ReconcileError::kube(format!("deleting Job {}", job.name_any()), e))?;
    }
    Ok(Cleanup::Done)
}

/// The Promise's API, when it offers one of its own: another Promise's API,
/// its requests and its CRD are not this Promise's to delete.
async fn own_api<'v>(
    promise: &PromiseObject,
    client: &kube::Client,
    validated: &'v Validated,
) -> Result<Option<&'v ResourceApi>, ReconcileError> {
    let Some(resource_api) = &validated.resource_api else {
        return Ok(None);
    };
    let foreign = super::object::api_conflict(client, &promise.name, resource_api)
        .await?
        .is_some();
    Ok((!foreign).then_some(resource_api))
}

/// The Promise's requests, each running its own delete flow; done when none is left.
async fn delete_requests(
    promise: &PromiseObject,
    client: &kube::Client,
    validated: &Validated,
) -> Result<Cleanup, ReconcileError> {
    let Some(resource_api) = own_api(promise, client, validated).await? else {
        return Ok(Cleanup::Done);
    };
    let ar = request::api_resource(resource_api);
    let requests: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    let listed = match requests.list(&ListParams::default()).await {
        Ok(list) => list.items,
        // The API is gone already: no requests are left.
        Err(error) if kratix_shared::api::answers::is_not_found(&error) => Vec::new(),
        Err(error) => return Err(ReconcileError::kube("listing requests to delete", error)),
    };
    if listed.is_empty() {
        return Ok(Cleanup::Done);
    }
    let kind = resource_api.kind.clone();
    deletion::delete_each(&listed, |ns| Api::namespaced_with(client.clone(), ns, &ar), &kind).await?;
    crate::crash_points::crash_point(crate::crash_points::REQUESTS_DELETED);
    Ok(Cleanup::Wait(Action::requeue(CLEANUP_RECHECK)))
}

/// The Promise's Works (its dependencies and its workflows'); done when none is left.
async fn delete_works(promise: &PromiseObject, client: &kube::Client) -> Result<Cleanup, ReconcileError> {
    let works: Api<Work> = Api::all(client.clone());
    let listed = works
        .list(&ListParams::default().labels_from(&selectors::of_promise(&promise.name)))
        .await
        .map_err(|e| ReconcileError::kube("listing the Promise's Works", e))?
        .items;
    if listed.is_empty() {
        return Ok(Cleanup::Done);
    }
    deletion::delete_each(&listed, |ns| Api::namespaced(client.clone(), ns), "Work").await?;
    crate::crash_points::crash_point(crate::crash_points::DEPENDENCIES_DELETED);
    Ok(Cleanup::Wait(Action::requeue(CLEANUP_RECHECK)))
}

/// The API's CRD, when it is the Promise's own. The API server removes a CRD
/// after its objects: the Promise goes only once its API has, so a Promise
/// that is gone has no API left.
async fn delete_crd(
    promise: &PromiseObject,
    client: &kube::Client,
    validated: &Validated,
) -> Result<Cleanup, ReconcileError> {
    let Some(resource_api) = own_api(promise, client, validated).await? else {
        return Ok(Cleanup::Done);
    };
    let crd_name = resource_crd(&promise.name, resource_api)
        .metadata
        .name
        .unwrap_or_default();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    ignore_missing(crds.delete(&crd_name, &DeleteParams::default()).await)
        .map_err(|e| ReconcileError::kube(format!("deleting CRD {crd_name}"), e))?;
    crate::crash_points::crash_point(crate::crash_points::CRD_DELETED);
    let left = crds
        .get_opt(&crd_name)
        .await
        .map_err(|e| ReconcileError::kube(format!("reading CRD {crd_name}"), e))?;
    Ok(if left.is_some() {
        Cleanup::Wait(Action::requeue(CLEANUP_RECHECK))
    } else {
        Cleanup::Done
    })
}

/// The UIDs of the Promise's requests (none when it has no API, or it is gone).
async fn request_uids(
    client: &kube::Client,
    promise_name: &str,
    validated: &kratix_shared::validate::Validated,
) -> Result<std::collections::BTreeSet<String>, ReconcileError> {
    let Some(resource_api) = &validated.resource_api else {
        return Ok(std::collections::BTreeSet::new());
    };
    if super::object::api_conflict(client, promise_name, resource_api)
        .await?
        .is_some()
    {
        return Ok(std::collections::BTreeSet::new());
    }
    let requests: Api<DynamicObject> = Api::all_with(client.clone(), &request::api_resource(resource_api));
    match requests.list_metadata(&ListParams::default()).await {
        Ok(list) => Ok(list.items.into_iter().filter_map(|r| r.metadata.uid).collect()),
        Err(error) if kratix_shared::api::answers::is_not_found(&error) => {
            Ok(std::collections::BTreeSet::new())
        }
        Err(error) => Err(ReconcileError::kube("listing the Promise's requests", error)),
    }
}
