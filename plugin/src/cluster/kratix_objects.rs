//! Reading Kratix objects from a cluster: Promises, the Resource API each
//! offers (from `spec.api`, used through a dynamic Api), its requests, and the
//! Jobs, pods and Works of their workflows. Errors say what is missing and what
//! to do: no Kratix CRDs, no such Promise, no agent.

use anyhow::{Result, anyhow, bail};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kratix_shared::api::labels;
use kratix_shared::api::promise::{Promise, PromiseSpec};
use kratix_shared::api::resource_api::ResourceApi;
use kratix_shared::api::{Workflow, WorkflowAction, WorkflowType};
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::core::GroupVersionKind;
use serde_json::Value;

use crate::cluster::{Cluster, explain};

/// A Promise as read, with its API when it offers one.
pub struct LivePromise {
    pub name: String,
    pub object: Value,
    pub api: Option<ResourceApi>,
    /// The spec, typed, for the rules `shared/` has over it; `None` when it
    /// does not decode (the agent refuses such a Promise: nothing of it runs).
    pub spec: Option<PromiseSpec>,
}

pub fn promise_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(labels::GROUP, labels::VERSION, "Promise"),
        "promises",
    )
}

pub fn work_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(labels::GROUP, labels::VERSION, "Work"),
        "works",
    )
}

/// The requests' API of a Promise.
pub fn request_resource(api: &ResourceApi) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(&api.group, &api.version, &api.kind),
        &api.plural,
    )
}

fn to_value(object: &DynamicObject) -> Result<Value> {
    Ok(serde_json::to_value(object)?)
}

/// What a 404 on the Promises API means.
#[derive(Debug, PartialEq, Eq)]
enum Missing {
    /// `promises.platform.kratix.io "x" not found`: that Promise.
    Promise,
    /// "the server could not find the requested resource": the CRD itself.
    KratixApi,
}

fn missing(message: &str, name: Option<&str>) -> Missing {
    match name {
        Some(name) if message.contains(&format!("\"{name}\"")) => Missing::Promise,
        _ => Missing::KratixApi,
    }
}

fn promise_error(error: kube::Error, cluster: &Cluster, name: Option<&str>) -> anyhow::Error {
    match (&error, name) {
        (kube::Error::Api(status), name) if status.code == 404 => {
            match (missing(&status.message, name), name) {
                (Missing::Promise, Some(name)) => anyhow!(
                    "Promise {name} not found; kubectl get promises lists the Promises on this cluster"
                ),
                _ => anyhow!(
                    "this cluster has no Kratix API (promises.{} is not served at {}); install it with kubectl kratix install",
                    labels::GROUP,
                    cluster.server
                ),
            }
        }
        _ => explain(
            &error,
            cluster,
            &name.map_or_else(
                || "listing Promises".to_owned(),
                |n| format!("reading Promise {n}"),
            ),
        ),
    }
}

pub fn live(object: Value) -> LivePromise {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let api = object
        .pointer("/spec/api")
        .filter(|a| a.as_object().is_some_and(|m| !m.is_empty()))
        .and_then(|a| ResourceApi::decode(a).0);
    let spec = Promise::from_json(&object).ok().map(|p| p.spec);
    LivePromise {
        name,
        object,
        api,
        spec,
    }
}

pub async fn promise(cluster: &Cluster, name: &str) -> Result<LivePromise> {
    let promises: Api<DynamicObject> = Api::all_with(cluster.client.clone(), &promise_resource());
    let object = promises
        .get(name)
        .await
        .map_err(|e| promise_error(e, cluster, Some(name)))?;
    Ok(live(to_value(&object)?))
}

pub async fn promises(cluster: &Cluster, selector: Option<&str>) -> Result<Vec<LivePromise>> {
    let promises: Api<DynamicObject> = Api::all_with(cluster.client.clone(), &promise_resource());
    let mut params = ListParams::default();
    if let Some(selector) = selector {
        params = params.labels(selector);
    }
    let listed = promises
        .list(&params)
        .await
        .map_err(|e| promise_error(e, cluster, None))?;
    let mut out = listed
        .items
        .iter()
        .map(|o| to_value(o).map(live))
        .collect::<Result<Vec<_>>>()?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The Promise's API, or an error saying it offers none.
pub fn api_of(promise: &LivePromise) -> Result<&ResourceApi> {
    promise.api.as_ref().ok_or_else(|| {
        anyhow!(
            "Promise {} offers no resource API (spec.api is empty), so it has no requests",
            promise.name
        )
    })
}

/// Where requests are looked for.
#[derive(Debug, Clone)]
pub enum Namespaces {
    All,
    One(String),
}

pub async fn requests(
    cluster: &Cluster,
    promise: &LivePromise,
    namespaces: &Namespaces,
    selector: Option<&str>,
) -> Result<Vec<Value>> {
    let Some(api) = &promise.api else {
        return Ok(Vec::new());
    };
    let resource = request_resource(api);
    let requests: Api<DynamicObject> = match namespaces {
        Namespaces::One(namespace) if api.namespaced => {
            Api::namespaced_with(cluster.client.clone(), namespace, &resource)
        }
        _ => Api::all_with(cluster.client.clone(), &resource),
    };
    let mut params = ListParams::default();
    if let Some(selector) = selector {
        params = params.labels(selector);
    }
    let listed = match requests.list(&params).await {
        Ok(listed) => listed,
        // The agent serves a Promise's API once the Promise is installed: until then none.
        Err(error) if kratix_shared::api::answers::is_not_found(&error) => {
            tracing::debug!(promise = %promise.name, "its API is not served yet");
            return Ok(Vec::new());
        }
        Err(e) => {
            return Err(explain(
                &e,
                cluster,
                &format!("listing {} requests of Promise {}", api.kind, promise.name),
            ));
        }
    };
    let mut out = listed.items.iter().map(to_value).collect::<Result<Vec<_>>>()?;
    out.sort_by_key(|o| {
        (
            o.pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            o.pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        )
    });
    Ok(out)
}

pub async fn request(cluster: &Cluster, promise: &LivePromise, namespace: &str, name: &str) -> Result<Value> {
    let api = api_of(promise)?;
    let resource = request_resource(api);
    let requests: Api<DynamicObject> = if api.namespaced {
        Api::namespaced_with(cluster.client.clone(), namespace, &resource)
    } else {
        Api::all_with(cluster.client.clone(), &resource)
    };
    match requests.get(name).await {
        Ok(object) => to_value(&object),
        Err(error) if kratix_shared::api::answers::is_not_found(&error) => {
            let place = if api.namespaced {
                format!(" in namespace {namespace}")
            } else {
                String::new()
            };
            bail!(
                "{} {name} not found{place}; kubectl get {} -A lists the requests of Promise {}",
                api.kind,
                api.plural,
                promise.name
            )
        }
        Err(e) => Err(explain(&e, cluster, &format!("reading {} {name}", api.kind))),
    }
}

/// A request named `NAME` or `NAMESPACE/NAME`: `NAME` is looked for in every
/// namespace and must be unambiguous.
pub async fn request_anywhere(cluster: &Cluster, promise: &LivePromise, reference: &str) -> Result<Value> {
    if let Some((namespace, name)) = reference.split_once('/') {
        return request(cluster, promise, namespace, name).await;
    }
    let api = api_of(promise)?;
    let all = requests(cluster, promise, &Namespaces::All, None).await?;
    let mut matching: Vec<Value> = all
        .into_iter()
        .filter(|o| o.pointer("/metadata/name").and_then(Value::as_str) == Some(reference))
        .collect();
    match matching.len() {
        0 => bail!(
            "{} {reference} not found in any namespace; kubectl get {} -A lists the requests of Promise {}",
            api.kind,
            api.plural,
            promise.name
        ),
        1 => Ok(matching.remove(0)),
        _ => {
            let namespaces: Vec<&str> = matching
                .iter()
                .filter_map(|o| o.pointer("/metadata/namespace").and_then(Value::as_str))
                .collect();
            bail!(
                "{} {reference} exists in several namespaces ({}); write NAMESPACE/{reference}",
                api.kind,
                namespaces.join(", ")
            )
        }
    }
}

/// The namespace a request's or a Promise's pipelines run in.
pub fn pipeline_namespace(
    promise: &LivePromise,
    workflow_type: WorkflowType,
    request: Option<&Value>,
) -> String {
    let request_namespace = request
        .and_then(|r| r.pointer("/metadata/namespace"))
        .and_then(Value::as_str)
        .unwrap_or("default");
    let spec = promise.spec.clone().unwrap_or_default();
    kratix_shared::render::job_namespace(&spec, workflow_type, request_namespace)
}

/// Where an object's pipeline Jobs run, and the label selector that picks its
/// Jobs there: a Promise's (`request` None) or a request's; in a shared
/// `pipelineNamespace` a request's by its namespace label too.
pub fn object_jobs_selector(promise: &LivePromise, request: Option<&Value>) -> (String, String) {
    let mut selector = format!(
        "{}={},{}={}",
        labels::MANAGED_BY,
        labels::MANAGED_BY_KRATIX,
        labels::PROMISE_NAME,
        promise.name
    );
    let Some(request) = request else {
        selector.push_str(&format!(",{}=promise", labels::WORKFLOW_TYPE));
        return (pipeline_namespace(promise, WorkflowType::Promise, None), selector);
    };
    let name = request
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    selector.push_str(&format!(
        ",{}=resource,{}={name}",
        labels::WORKFLOW_TYPE,
        labels::RESOURCE_NAME
    ));
    let request_namespace = request
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let has_pipeline_namespace = promise
        .spec
        .as_ref()
        .is_some_and(|spec| spec.pipeline_namespace().is_some());
    if has_pipeline_namespace && !request_namespace.is_empty() {
        // A pipelineNamespace holds the pods of same-named requests from every
        // namespace; their Jobs say whose they are.
        selector.push_str(&format!(",{}={request_namespace}", labels::RESOURCE_NAMESPACE));
    }
    (
        pipeline_namespace(promise, WorkflowType::Resource, Some(request)),
        selector,
    )
}

/// The Jobs `selector` picks in `namespace` (see [`object_jobs_selector`]).
pub async fn object_jobs(cluster: &Cluster, namespace: &str, selector: &str) -> Result<Vec<Job>> {
    let jobs: Api<Job> = Api::namespaced(cluster.client.clone(), namespace);
    let listed = jobs
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(|e| explain(&e, cluster, &format!("listing the pipeline Jobs in {namespace}")))?;
    Ok(listed.items)
}

/// One of the Promise's workflows, its pipelines as stored (unparsed).
pub fn pipelines(promise: &LivePromise, workflow: Workflow) -> &[Value] {
    promise
        .spec
        .as_ref()
        .map_or(&[], |spec| spec.workflows.pipelines(workflow))
}

/// The pipeline names of one of the Promise's workflows, in order (a delete
/// workflow runs its first pipeline only).
pub fn pipeline_names(promise: &LivePromise, workflow: Workflow) -> Vec<String> {
    pipelines(promise, workflow)
        .iter()
        .filter_map(|p| p.pointer("/metadata/name").and_then(Value::as_str))
        .map(str::to_owned)
        .take(if workflow.action == WorkflowAction::Delete {
            1
        } else {
            usize::MAX
        })
        .collect()
}

/// The Kratix Jobs and pods of a Promise's workflows, in one namespace or all.
pub async fn jobs_and_pods(
    cluster: &Cluster,
    namespaces: &Namespaces,
    promise: Option<&str>,
) -> Result<(Vec<Job>, Vec<Pod>)> {
    let mut selector = format!("{}={}", labels::MANAGED_BY, labels::MANAGED_BY_KRATIX);
    if let Some(promise) = promise {
        selector.push_str(&format!(",{}={promise}", labels::PROMISE_NAME));
    }
    let params = ListParams::default().labels(&selector);
    let (jobs, pods): (Api<Job>, Api<Pod>) = match namespaces {
        Namespaces::All => (Api::all(cluster.client.clone()), Api::all(cluster.client.clone())),
        Namespaces::One(ns) => (
            Api::namespaced(cluster.client.clone(), ns),
            Api::namespaced(cluster.client.clone(), ns),
        ),
    };
    let (jobs, pods) = futures::try_join!(jobs.list(&params), pods.list(&params))
        .map_err(|e| explain(&e, cluster, "listing the pipeline Jobs and pods"))?;
    Ok((jobs.items, pods.items))
}

/// The Works of a Promise's own workflows and dependencies (in the system namespace).
pub async fn promise_works(cluster: &Cluster, promise: &str) -> Result<Vec<Value>> {
    let works: Api<DynamicObject> =
        Api::namespaced_with(cluster.client.clone(), labels::SYSTEM_NAMESPACE, &work_resource());
    let params = ListParams::default().labels(&format!(
        "{}={promise},!{}",
        labels::PROMISE_NAME,
        labels::RESOURCE_NAME
    ));
    let listed = works
        .list(&params)
        .await
        .map_err(|e| explain(&e, cluster, &format!("listing the Works of Promise {promise}")))?;
    listed.items.iter().map(to_value).collect()
}

/// Whether the agent's Deployment exists: without it nothing runs, which
/// explains an empty status.
/// Kratix's own controller counts too.
pub async fn agent_installed(cluster: &Cluster) -> bool {
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), labels::SYSTEM_NAMESPACE);
    for name in [
        kratix_shared::install::agent_manifests::NAME,
        REFERENCE_CONTROLLER,
    ] {
        if !matches!(deployments.get_opt(name).await, Ok(None)) {
            return true;
        }
    }
    false
}

/// The Deployment of Kratix's Go controller.
const REFERENCE_CONTROLLER: &str = "kratix-platform-controller-manager";

/// The namespace to use: `-n`, else the context's.
pub fn namespace_or_default(cluster: &Cluster, flag: Option<&str>) -> String {
    flag.map_or_else(|| cluster.client.default_namespace().to_owned(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_404_names_the_promise_or_the_missing_api() {
        assert_eq!(
            missing("promises.platform.kratix.io \"redis\" not found", Some("redis")),
            Missing::Promise
        );
        assert_eq!(
            missing("the server could not find the requested resource", Some("redis")),
            Missing::KratixApi
        );
        assert_eq!(
            missing("the server could not find the requested resource", None),
            Missing::KratixApi
        );
    }
}
