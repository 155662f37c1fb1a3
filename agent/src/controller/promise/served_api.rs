//! The API a Promise serves: its CRD (made or updated, never taken from
//! another), the agent's access to it, and the resource controller serving its
//! requests, started or asked to look at every request again.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kratix_shared::api::conditions::{status as state, types};
use kratix_shared::api::labels;
use kratix_shared::api::resource_api::ResourceApi;
use kratix_shared::render::resource_crd::resource_crd;
use kratix_shared::workflow::events as kratix_events;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use serde_json::json;

use super::object::{PromiseObject, api_conflict};
use crate::controller::base::context::Agent;
use crate::controller::base::error::ReconcileError;
use crate::controller::base::events;
use crate::controller::resource;
use crate::controller::workflow::has_label;

/// Creates or updates the API's CRD and waits until it is Established; grants
/// the agent access to it. `Some` while it is not yet served.
pub async fn install(
    agent: &Agent,
    name: &str,
    resource_api: &ResourceApi,
) -> Result<Option<Action>, ReconcileError> {
    let crd = resource_crd(name, resource_api);
    let crds: Api<CustomResourceDefinition> = Api::all(agent.client.clone());
    let crd_name = crd.metadata.name.clone().unwrap_or_default();
    match crds.create(&PostParams::default(), &crd).await {
        Ok(_) => {}
        Err(error) if kratix_shared::api::answers::is_already_exists(&error) => {
            // Made by someone else since the check: not taken over.
            if let Some((_, message)) = api_conflict(&agent.client, name, resource_api).await? {
                return Err(ReconcileError::Foreign(message));
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
        .is_some_and(|c| {
            c.iter()
                .any(|c| c.type_ == types::ESTABLISHED && c.status == state::TRUE)
        });
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
pub async fn start_resources(
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
    .map_err(|e| ReconcileError::codec(format!("building ClusterRole {name}"), e))?;
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]
    }))
    .map_err(|e| ReconcileError::codec(format!("building ClusterRoleBinding {name}"), e))?;
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
            Err(error) if kratix_shared::api::answers::is_already_exists(&error) => {}
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
