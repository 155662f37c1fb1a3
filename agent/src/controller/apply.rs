//! Applying what rendering produced: create it, or bring what Kratix owns up
//! to date. A ServiceAccount that exists without the Promise label is the
//! user's and is left alone.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kratix_shared::labels;
use kratix_shared::render::PipelineResources;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ReconcileError;

/// Creates `object`, or merge-patches it when it exists (`update` false: leave it).
async fn create_or_update<K>(api: &Api<K>, object: &K, update: bool) -> Result<(), ReconcileError>
where
    K: Resource<DynamicType = ()> + Clone + Serialize + DeserializeOwned + std::fmt::Debug,
{
    let name = object.name_any();
    match api.create(&PostParams::default(), object).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => {
            if update {
                api.patch(&name, &PatchParams::default(), &Patch::Merge(object))
                    .await
                    .map_err(|e| ReconcileError::kube(format!("updating {} {name}", K::kind(&())), e))?;
            }
            Ok(())
        }
        Err(error) => Err(ReconcileError::kube(
            format!("creating {} {name}", K::kind(&())),
            error,
        )),
    }
}

fn namespaced<K>(client: &kube::Client, object: &K) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    Api::namespaced(client.clone(), &object.namespace().unwrap_or_default())
}

/// Applies one pipeline's objects in Kratix's order: ServiceAccount, ConfigMap,
/// Roles, RoleBindings, ClusterRoles, ClusterRoleBindings, then the Job.
pub async fn apply_pipeline(
    client: &kube::Client,
    resources: &PipelineResources,
) -> Result<(), ReconcileError> {
    let account = &resources.service_account;
    let accounts: Api<ServiceAccount> = namespaced(client, account);
    match accounts
        .get_opt(&account.name_any())
        .await
        .map_err(|e| ReconcileError::kube("reading a service account", e))?
    {
        Some(existing) if !existing.labels().contains_key(labels::PROMISE_NAME) => {}
        _ => create_or_update(&accounts, account, true).await?,
    }
    if let Some(config_map) = &resources.config_map {
        create_or_update(&namespaced::<ConfigMap>(client, config_map), config_map, true).await?;
    }
    for role in &resources.roles {
        create_or_update(&namespaced::<Role>(client, role), role, true).await?;
    }
    for binding in &resources.role_bindings {
        create_or_update(&namespaced::<RoleBinding>(client, binding), binding, true).await?;
    }
    for role in &resources.cluster_roles {
        create_or_update(&Api::<ClusterRole>::all(client.clone()), role, true).await?;
    }
    for binding in &resources.cluster_role_bindings {
        create_or_update(&Api::<ClusterRoleBinding>::all(client.clone()), binding, true).await?;
    }
    crate::crash_points::crash_point(crate::crash_points::RBAC_APPLIED);
    // A Job is never updated: each run has its own.
    create_or_update(&namespaced::<Job>(client, &resources.job), &resources.job, false).await
}
