//! `install` and `uninstall`: the agent's manifests (the same objects
//! `kratix-agent manifests` prints) applied with server-side apply, or deleted;
//! `--dry-run=client` prints what would be applied; `install --wait` waits for
//! the agent's Deployment to be Available.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use k8s_openapi::api::apps::v1::Deployment;
use kratix_shared::api::conditions::{status as state, types};
use kratix_shared::install::agent_manifests;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{self, Scope};
use serde_json::Value;

use crate::cli::{DryRun, InstallArgs, UninstallArgs};
use crate::cluster::{Cluster, explain};

const FIELD_MANAGER: &str = "kubectl-kratix";

fn objects(args: &InstallArgs) -> Vec<Value> {
    let image = args
        .image
        .clone()
        .unwrap_or_else(kratix_shared::render::default_adapter_image);
    agent_manifests::objects(&image, args.metrics_port)
}

fn gvk_and_name(object: &Value) -> Result<(GroupVersionKind, String, Option<String>)> {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let kind = object["kind"].as_str().unwrap_or_default();
    let name = object["metadata"]["name"]
        .as_str()
        .ok_or_else(|| anyhow!("a manifest of kind {kind} has no name"))?;
    Ok((
        GroupVersionKind::gvk(group, version, kind),
        name.to_owned(),
        object["metadata"]["namespace"].as_str().map(str::to_owned),
    ))
}

/// The API of one object's kind, found by discovery.
async fn api_for(cluster: &Cluster, object: &Value) -> Result<(Api<DynamicObject>, String, String)> {
    let (gvk, name, namespace) = gvk_and_name(object)?;
    let (resource, capabilities) = discovery::pinned_kind(&cluster.client, &gvk)
        .await
        .map_err(|e| explain(&e, cluster, &format!("looking up the {} API", gvk.kind)))?;
    let api = match (capabilities.scope, namespace) {
        (Scope::Namespaced, Some(namespace)) => {
            Api::namespaced_with(cluster.client.clone(), &namespace, &resource)
        }
        _ => Api::all_with(cluster.client.clone(), &resource),
    };
    Ok((api, name, gvk.kind))
}

pub async fn install(args: &InstallArgs) -> Result<ExitCode> {
    let objects = objects(args);
    if args.dry_run == Some(DryRun::Client) {
        print!("{}", kratix_shared::codec::yaml::to_yaml_stream(&objects)?);
        return Ok(ExitCode::SUCCESS);
    }
    let cluster = args.cluster.connect().await?;
    for object in &objects {
        let (api, name, kind) = api_for(&cluster, object).await?;
        let params = PatchParams::apply(FIELD_MANAGER).force();
        api.patch(&name, &params, &Patch::Apply(object))
            .await
            .map_err(|e| explain(&e, &cluster, &format!("applying {kind} {name}")))?;
        println!("{} {name} applied", kind.to_ascii_lowercase());
        if kind == "CustomResourceDefinition" {
            // The agent and later objects need the API served.
            wait_established(&cluster, &name).await?;
        }
    }
    if args.wait {
        let deployments: Api<Deployment> = Api::namespaced(
            cluster.client.clone(),
            kratix_shared::api::labels::SYSTEM_NAMESPACE,
        );
        let deadline = Instant::now() + args.timeout;
        loop {
            let deployment = deployments
                .get(agent_manifests::NAME)
                .await
                .map_err(|e| explain(&e, &cluster, "reading the agent's Deployment"))?;
            let available = deployment
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| {
                    c.iter().any(|c| {
                        c.type_.as_deref() == Some(types::AVAILABLE)
                            && c.status.as_deref() == Some(state::TRUE)
                    })
                });
            if available {
                println!(
                    "kratix-agent is available in {}",
                    kratix_shared::api::labels::SYSTEM_NAMESPACE
                );
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "kratix-agent is not available after {} s; see kubectl -n {} describe deployment {} and its pod's logs",
                    args.timeout.as_secs(),
                    kratix_shared::api::labels::SYSTEM_NAMESPACE,
                    agent_manifests::NAME
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn wait_established(cluster: &Cluster, name: &str) -> Result<()> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let crds: Api<CustomResourceDefinition> = Api::all(cluster.client.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let crd = crds
            .get(name)
            .await
            .map_err(|e| explain(&e, cluster, &format!("reading CustomResourceDefinition {name}")))?;
        let established = crd.status.and_then(|s| s.conditions).is_some_and(|c| {
            c.iter()
                .any(|c| c.type_ == types::ESTABLISHED && c.status == state::TRUE)
        });
        if established {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("CustomResourceDefinition {name} is not Established after 60 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How many objects of Kratix kind `K` there are (in `namespace`, or
/// everywhere); none when the kind is not installed.
async fn count<K>(cluster: &Cluster, namespace: Option<&str>) -> Result<usize>
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>,
{
    let api: Api<K> = match namespace {
        Some(namespace) => Api::namespaced(cluster.client.clone(), namespace),
        None => Api::all(cluster.client.clone()),
    };
    match api.list_metadata(&kube::api::ListParams::default()).await {
        Ok(list) => Ok(list.items.len()),
        Err(error) if kratix_shared::api::answers::is_not_found(&error) => Ok(0),
        Err(e) => Err(explain(&e, cluster, &format!("listing {}s", K::kind(&())))),
    }
}

pub async fn uninstall(args: &UninstallArgs) -> Result<ExitCode> {
    // In reverse: the agent first, its identity, then (only when asked) the CRDs,
    // whose deletion deletes every Promise, request and Work.
    let all = agent_manifests::objects(
        &kratix_shared::render::default_adapter_image(),
        agent_manifests::HTTP_PORT,
    );
    let mut chosen: Vec<&Value> = all
        .iter()
        .rev()
        .filter(|o| args.crds || o["kind"] != "CustomResourceDefinition")
        .collect();
    if args.dry_run == Some(DryRun::Client) {
        for object in &chosen {
            let (gvk, name, _) = gvk_and_name(object)?;
            println!("{} {name} would be deleted", gvk.kind.to_ascii_lowercase());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let cluster = args.cluster.connect().await?;
    // Kratix objects carry the agent's finalizers: once the agent is gone nothing
    // removes them, and whatever deletes them (a namespace, a CRD) waits for ever.
    if args.crds {
        let promises = {
            let api: Api<kratix_shared::api::Promise> = Api::all(cluster.client.clone());
            match api.list_metadata(&kube::api::ListParams::default()).await {
                Ok(list) => list.items.len(),
                Err(error) if kratix_shared::api::answers::is_not_found(&error) => 0,
                Err(e) => return Err(explain(&e, &cluster, "listing Promises")),
            }
        };
        let works = count::<kratix_shared::api::Work>(&cluster, None).await?;
        if promises + works > 0 {
            bail!(
                "{promises} Promise(s) and {works} Work(s) remain: delete the Promises first, while the agent runs \
                 (their delete pipelines and state-store cleanup need it), then run uninstall --crds"
            );
        }
    }
    let system = kratix_shared::api::labels::SYSTEM_NAMESPACE;
    let held = count::<kratix_shared::api::Work>(&cluster, Some(system)).await?
        + count::<kratix_shared::api::WorkPlacement>(&cluster, Some(system)).await?;
    if held > 0 {
        chosen.retain(|o| !(o["kind"] == "Namespace" && o["metadata"]["name"] == system));
        eprintln!(
            "namespace {system} kept: it holds {held} Work(s) and WorkPlacement(s) the agent's finalizers guard; \
             deleting it without the agent would never finish. Delete the Promises while the agent runs to empty it."
        );
    }
    for object in chosen {
        let (api, name, kind) = api_for(&cluster, object).await?;
        match api.delete(&name, &DeleteParams::background()).await {
            Ok(_) => println!("{} {name} deleted", kind.to_ascii_lowercase()),
            Err(error) if kratix_shared::api::answers::is_not_found(&error) => {
                println!("{} {name} not found", kind.to_ascii_lowercase());
            }
            Err(e) => return Err(explain(&e, &cluster, &format!("deleting {kind} {name}"))),
        }
    }
    if !args.crds {
        eprintln!(
            "The Kratix CRDs (and every Promise, request and Work) are kept; uninstall --crds removes them too."
        );
    }
    Ok(ExitCode::SUCCESS)
}
