//! The Kratix containers of every pipeline pod, as subcommands: `reader`,
//! `work-creator` and `update-status`. They use the pod's in-cluster identity.

pub mod reader;
pub mod update_status;
pub mod work_creator;

use anyhow::{Context, Result};
use kratix_shared::pipeline_pod::env::PipelineEnv;
use kube::api::{Api, ApiResource, DynamicObject};

/// The `KRATIX_*` variables of this container.
pub fn env() -> Result<PipelineEnv> {
    Ok(PipelineEnv::from_vars(|name| std::env::var(name).ok())?)
}

/// A client with the pod's service account.
pub async fn client() -> Result<kube::Client> {
    kube::Client::try_default()
        .await
        .context("connecting to the Kubernetes API with the pod's service account")
}

/// The API of the workflow's object (a Promise or a resource request).
pub fn object_api(client: &kube::Client, env: &PipelineEnv) -> (Api<DynamicObject>, ApiResource) {
    let resource = ApiResource {
        group: env.group.clone(),
        version: env.version.clone(),
        api_version: env.api_version(),
        kind: env.kind.clone(),
        plural: env.plural.clone(),
    };
    let api = if env.namespace.is_empty() {
        Api::all_with(client.clone(), &resource)
    } else {
        Api::namespaced_with(client.clone(), &env.namespace, &resource)
    };
    (api, resource)
}

/// `kind namespace/name`, for messages.
pub fn describe(env: &PipelineEnv) -> String {
    if env.namespace.is_empty() {
        format!("{} {}", env.kind, env.name)
    } else {
        format!("{} {}/{}", env.kind, env.namespace, env.name)
    }
}
