//! Reading Kratix objects from a cluster: Promises, the Resource API each
//! offers (from `spec.api`, used through a dynamic Api), its requests, and the
//! Jobs, pods and Works of their workflows. Errors say what is missing and what
//! to do: no Kratix CRDs, no such Promise, no agent.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow, bail};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kratix_shared::api::pipeline::{Pipeline, parse_pipeline};
use kratix_shared::api::promise::{Promise, PromiseSpec};
use kratix_shared::api::resource_api::ResourceApi;
use kratix_shared::api::{Workflow, WorkflowAction, labels, selectors};
use kube::ResourceExt as _;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::core::GroupVersionKind;
use serde_json::Value;

use crate::cluster::{Cluster, explain};

/// A Promise as read, with its API when it offers one.
pub struct LivePromise {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub object: Value,
    pub api: Option<ResourceApi>,
    /// The spec, typed, for the rules `shared/` has over it; `None` when it
    /// does not decode (the agent refuses such a Promise: nothing of it runs).
    pub spec: Option<PromiseSpec>,
}

impl LivePromise {
    pub fn is_paused(&self) -> bool {
        labels::is_on(&self.labels, labels::PAUSED)
    }
}

/// A request as read.
pub struct LiveRequest {
    pub name: String,
    /// Empty for a cluster-scoped request.
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub object: Value,
}

impl LiveRequest {
    pub fn new(object: &DynamicObject) -> Result<Self> {
        Ok(LiveRequest {
            name: object.name_any(),
            namespace: object.namespace().unwrap_or_default(),
            labels: object.labels().clone(),
            object: to_value(object)?,
        })
    }

    pub fn is_paused(&self) -> bool {
        labels::is_on(&self.labels, labels::PAUSED)
    }
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

pub fn live(object: &DynamicObject) -> Result<LivePromise> {
    let spec = Promise::from_json(&to_value(object)?).ok().map(|p| p.spec);
    let api = spec
        .as_ref()
        .and_then(|spec| spec.api.as_ref())
        .filter(|a| a.as_object().is_some_and(|m| !m.is_empty()))
        .and_then(|a| ResourceApi::decode(a).0);
    Ok(LivePromise {
        name: object.name_any(),
        labels: object.labels().clone(),
        object: to_value(object)?,
        api,
        spec,
    })
}

pub async fn promise(cluster: &Cluster, name: &str) -> Result<LivePromise> {
    let promises: Api<DynamicObject> = Api::all_with(cluster.client.clone(), &promise_resource());
    let object = promises
        .get(name)
        .await
        .map_err(|e| promise_error(e, cluster, Some(name)))?;
    live(&object)
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
    let mut out = listed.items.iter().map(live).collect::<Result<Vec<_>>>()?;
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
) -> Result<Vec<LiveRequest>> {
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
    let mut out = listed
        .items
        .iter()
        .map(LiveRequest::new)
        .collect::<Result<Vec<_>>>()?;
    out.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    Ok(out)
}

pub async fn request(
    cluster: &Cluster,
    promise: &LivePromise,
    namespace: &str,
    name: &str,
) -> Result<LiveRequest> {
    let api = api_of(promise)?;
    let resource = request_resource(api);
    let requests: Api<DynamicObject> = if api.namespaced {
        Api::namespaced_with(cluster.client.clone(), namespace, &resource)
    } else {
        Api::all_with(cluster.client.clone(), &resource)
    };
    match requests.get(name).await {
        Ok(object) => LiveRequest::new(&object),
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
pub async fn request_anywhere(
    cluster: &Cluster,
    promise: &LivePromise,
    reference: &str,
) -> Result<LiveRequest> {
    if let Some((namespace, name)) = reference.split_once('/') {
        return request(cluster, promise, namespace, name).await;
    }
    let api = api_of(promise)?;
    let all = requests(cluster, promise, &Namespaces::All, None).await?;
    let mut matching: Vec<LiveRequest> = all.into_iter().filter(|r| r.name == reference).collect();
    match matching.len() {
        0 => bail!(
            "{} {reference} not found in any namespace; kubectl get {} -A lists the requests of Promise {}",
            api.kind,
            api.plural,
            promise.name
        ),
        1 => Ok(matching.remove(0)),
        _ => {
            let namespaces: Vec<&str> = matching.iter().map(|r| r.namespace.as_str()).collect();
            bail!(
                "{} {reference} exists in several namespaces ({}); write NAMESPACE/{reference}",
                api.kind,
                namespaces.join(", ")
            )
        }
    }
}

/// The pipelines of one of the Promise's workflows, in order (a delete
/// workflow runs its first pipeline only). One that does not decode is left
/// out: the agent refuses such a Promise, so it never runs.
pub fn pipelines(promise: &LivePromise, workflow: Workflow) -> Vec<Pipeline> {
    let stored = promise
        .spec
        .as_ref()
        .map_or(&[][..], |spec| spec.workflows.pipelines(workflow));
    let runs = if workflow.action == WorkflowAction::Delete {
        1
    } else {
        usize::MAX
    };
    stored
        .iter()
        .filter_map(|p| parse_pipeline(p, "").0)
        .take(runs)
        .collect()
}

/// The names of [`pipelines`].
pub fn pipeline_names(promise: &LivePromise, workflow: Workflow) -> Vec<String> {
    pipelines(promise, workflow)
        .iter()
        .map(|p| p.name().to_owned())
        .collect()
}

/// The Kratix Jobs and pods of a Promise's workflows, in one namespace or all.
pub async fn jobs_and_pods(
    cluster: &Cluster,
    namespaces: &Namespaces,
    promise: Option<&str>,
) -> Result<(Vec<Job>, Vec<Pod>)> {
    let params = ListParams::default().labels_from(&selectors::pipeline_objects(promise));
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
    let params = ListParams::default().labels_from(&selectors::promise_and_dependency_works(promise));
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
