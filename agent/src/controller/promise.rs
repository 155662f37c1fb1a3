//! The Promise controller: validates the Promise, installs its API's CRD, and
//! starts (or re-runs) the resource controller of that API.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::jiff::Timestamp;
use kratix_shared::api::Promise;
use kratix_shared::resource_crd::resource_crd;
use kratix_shared::status_merge::set_condition;
use kratix_shared::validate::{Severity, validate_promise};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::{Map, Value, json};

use super::{Agent, ERROR_REQUEUE, ReconcileError, resource};

pub async fn run(agent: Arc<Agent>) {
    let promises: Api<Promise> = Api::all(agent.client.clone());
    Controller::new(promises, watcher::Config::default())
        .run(reconcile, error_policy, agent)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "promise reconcile failed");
            }
        })
        .await;
}

fn error_policy(_: Arc<Promise>, error: &ReconcileError, _: Arc<Agent>) -> Action {
    tracing::warn!(%error, "promise reconcile failed; retrying");
    Action::requeue(ERROR_REQUEUE)
}

async fn write_status(
    api: &Api<Promise>,
    promise: &Promise,
    status: Map<String, Value>,
) -> Result<(), ReconcileError> {
    let current = serde_json::to_value(&promise.status).unwrap_or(Value::Null);
    if current == Value::Object(status.clone()) {
        return Ok(());
    }
    let patch = json!({"status": status});
    api.patch_status(
        &promise.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
    .map_err(|e| ReconcileError::kube(format!("writing the status of Promise {}", promise.name_any()), e))?;
    Ok(())
}

/// `<promise>-promise-controller`: the agent's access to the Promise's API, as
/// the reference grants its manager.
async fn grant_self(
    client: &kube::Client,
    promise: &str,
    api: &kratix_shared::api::resource_api::ResourceApi,
    namespace: &str,
    account: &str,
) -> Result<(), ReconcileError> {
    use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
    let name = format!("{promise}-promise-controller");
    let labels = json!({kratix_shared::labels::PROMISE_NAME: promise});
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

async fn reconcile(promise: Arc<Promise>, agent: Arc<Agent>) -> Result<Action, ReconcileError> {
    let name = promise.name_any();
    let api: Api<Promise> = Api::all(agent.client.clone());
    let now = Timestamp::now().to_string();
    let mut status: Map<String, Value> = serde_json::to_value(&promise.status)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    let value = serde_json::to_value(promise.as_ref()).map_err(|e| ReconcileError::Invalid(e.to_string()))?;
    let validated = validate_promise(&value);
    if let Some(problem) = validated.problems.iter().find(|p| p.severity == Severity::Error) {
        let message = format!("invalid Promise: {}: {}", problem.path, problem.message);
        status.insert("status".to_owned(), Value::String("Unavailable".to_owned()));
        status.insert("message".to_owned(), Value::String(message.clone()));
        set_condition(
            &mut status,
            "Available",
            "False",
            "PromiseUnavailable",
            &message,
            &now,
        );
        write_status(&api, &promise, status).await?;
        return Ok(Action::await_change());
    }
    if let Some(version) = promise.labels().get(kratix_shared::labels::PROMISE_VERSION) {
        status.insert("version".to_owned(), Value::String(version.clone()));
    }
    if let Some(resource_api) = &validated.resource_api {
        let crd = resource_crd(&name, resource_api);
        let crds: Api<CustomResourceDefinition> = Api::all(agent.client.clone());
        let crd_name = crd.metadata.name.clone().unwrap_or_default();
        match crds.create(&PostParams::default(), &crd).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {
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
            return Ok(Action::requeue(Duration::from_millis(200)));
        }
        if let Some((namespace, account)) = &agent.identity {
            grant_self(&agent.client, &name, resource_api, namespace, account).await?;
        }
        status.insert("kind".to_owned(), Value::String(resource_api.kind.clone()));
        status.insert(
            "apiVersion".to_owned(),
            Value::String(resource_api.api_version().to_lowercase()),
        );
        let mut controllers = agent.resource_controllers.lock().await;
        match controllers.get(&name) {
            Some(handle) if !handle.task.is_finished() => {
                // Whatever changed in the Promise, its resources look again
                // (their hash includes the Promise spec).
                let _ = handle.rerun_all.send(());
            }
            _ => {
                let handle =
                    resource::start(agent.clone(), name.clone(), resource::api_resource(resource_api));
                controllers.insert(name.clone(), handle);
            }
        }
    }
    let was_available = status.get("status").and_then(Value::as_str) == Some("Available");
    status.insert("status".to_owned(), Value::String("Available".to_owned()));
    if !was_available {
        status.insert("lastAvailableTime".to_owned(), Value::String(now.clone()));
    }
    status
        .entry("message")
        .or_insert_with(|| Value::String("Promise configured".to_owned()));
    if status
        .get("message")
        .and_then(Value::as_str)
        .is_some_and(|m| m.starts_with("invalid Promise"))
    {
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
        &now,
    );
    for counter in ["workflows", "workflowsSucceeded", "workflowsFailed"] {
        status.entry(counter).or_insert(Value::from(0));
    }
    write_status(&api, &promise, status).await?;
    Ok(Action::await_change())
}
