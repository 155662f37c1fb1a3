//! Removing RBAC the agent created that is no longer wanted: a pipeline's user
//! permissions that its Promise no longer declares, and everything a deleted
//! Promise created.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kratix_shared::api::Workflow;
use kratix_shared::api::labels;
use kratix_shared::api::selectors;
use kratix_shared::render::PipelineResources;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;

use super::error::ReconcileError;

/// (namespace, name) of every object of one kind.
type Names = BTreeSet<(String, String)>;

fn names_of<K: ResourceExt>(objects: &[K]) -> Names {
    objects
        .iter()
        .map(|o| (o.namespace().unwrap_or_default(), o.name_any()))
        .collect()
}

/// The objects in `existing` that are not `desired`.
pub fn stale(existing: &Names, desired: &Names) -> Names {
    existing.difference(desired).cloned().collect()
}

async fn delete_stale<K>(
    client: &kube::Client,
    selector: &kube::core::Selector,
    desired: &Names,
) -> Result<(), ReconcileError>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let all: Api<K> = Api::all(client.clone());
    let existing = all
        .list(&ListParams::default().labels_from(selector))
        .await
        .map_err(|e| ReconcileError::kube(format!("listing {}s", K::kind(&())), e))?;
    for (namespace, name) in stale(&names_of(&existing.items), desired) {
        // Erased, so one function serves namespaced and cluster-scoped kinds.
        let resource = ApiResource::erase::<K>(&());
        let api: Api<DynamicObject> = if namespace.is_empty() {
            Api::all_with(client.clone(), &resource)
        } else {
            Api::namespaced_with(client.clone(), &namespace, &resource)
        };
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => tracing::info!(kind = %K::kind(&()), %namespace, %name, "removed stale pipeline RBAC"),
            Err(error) if kratix_shared::api::answers::is_not_found(&error) => {}
            Err(error) => {
                return Err(ReconcileError::kube(
                    format!("removing stale {} {name}", K::kind(&())),
                    error,
                ));
            }
        }
    }
    Ok(())
}

/// When a pipeline's stale user RBAC needs looking for. Four cluster-wide
/// lists per pipeline start are the agent's biggest cost at scale, and most
/// pipelines declare no permissions: the lists run the first time this process
/// starts a pipeline (it may have had permissions before), whenever it has
/// permissions now, and the first time after it had them.
#[derive(Default)]
pub struct StaleCheck(std::sync::Mutex<std::collections::HashMap<String, bool>>);

impl StaleCheck {
    fn key(workflow: Workflow, resources: &PipelineResources) -> String {
        format!(
            "{}/{}/{}/{}",
            resources
                .job
                .labels()
                .get(labels::PROMISE_NAME)
                .cloned()
                .unwrap_or_default(),
            workflow,
            resources.service_account.namespace().unwrap_or_default(),
            resources.pipeline_name
        )
    }

    fn has_permissions(resources: &PipelineResources) -> bool {
        let user = |labels: &std::collections::BTreeMap<String, String>| {
            labels.contains_key(labels::PIPELINE_NAMESPACE)
        };
        resources.roles.iter().any(|o| user(o.labels()))
            || resources.cluster_roles.iter().any(|o| user(o.labels()))
    }

    pub fn needed(&self, workflow: Workflow, resources: &PipelineResources) -> bool {
        let Ok(seen) = self.0.lock() else { return true };
        match seen.get(&Self::key(workflow, resources)) {
            None => true,
            Some(had) => *had || Self::has_permissions(resources),
        }
    }

    pub fn done(&self, workflow: Workflow, resources: &PipelineResources) {
        if let Ok(mut seen) = self.0.lock() {
            seen.insert(Self::key(workflow, resources), Self::has_permissions(resources));
        }
    }
}

/// Deletes the user-permission RBAC of this pipeline that its rendering no
/// longer contains (a permission removed from the Promise). Only objects
/// labelled with this pipeline's workflow type and action count, so a
/// configure and a delete pipeline of the same name never remove each other's
/// (in the reference they can: its stale-RBAC selector ignores type and
/// action).
pub async fn remove_stale_user_rbac(
    client: &kube::Client,
    workflow: Workflow,
    resources: &PipelineResources,
) -> Result<(), ReconcileError> {
    let account = &resources.service_account;
    let promise = resources
        .job
        .labels()
        .get(labels::PROMISE_NAME)
        .cloned()
        .unwrap_or_default();
    let selector = selectors::pipeline_rbac(
        &promise,
        &resources.pipeline_name,
        &account.namespace().unwrap_or_default(),
        workflow.workflow_type,
        workflow.action,
    );
    delete_stale::<Role>(client, &selector, &names_of(&resources.roles)).await?;
    delete_stale::<RoleBinding>(client, &selector, &names_of(&resources.role_bindings)).await?;
    delete_stale::<ClusterRole>(client, &selector, &names_of(&resources.cluster_roles)).await?;
    delete_stale::<ClusterRoleBinding>(client, &selector, &names_of(&resources.cluster_role_bindings)).await
}

/// Deletes every binding, role, service account and ConfigMap labelled with
/// `promise`, for a Promise's
/// `kratix.io/dynamic-controller-dependant-resources-cleanup` finalizer.
/// Returns how many were still there.
pub async fn delete_everything_of_promise(
    client: &kube::Client,
    promise: &str,
) -> Result<usize, ReconcileError> {
    let selector = selectors::of_promise(promise);
    let nothing = Names::new();
    let mut remaining = 0;
    remaining += count_and_delete::<ClusterRoleBinding>(client, &selector, &nothing).await?;
    remaining += count_and_delete::<ClusterRole>(client, &selector, &nothing).await?;
    remaining += count_and_delete::<RoleBinding>(client, &selector, &nothing).await?;
    remaining += count_and_delete::<Role>(client, &selector, &nothing).await?;
    remaining += count_and_delete::<ServiceAccount>(client, &selector, &nothing).await?;
    remaining += count_and_delete::<ConfigMap>(client, &selector, &nothing).await?;
    Ok(remaining)
}

async fn count_and_delete<K>(
    client: &kube::Client,
    selector: &kube::core::Selector,
    keep: &Names,
) -> Result<usize, ReconcileError>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let all: Api<K> = Api::all(client.clone());
    let count = all
        .list(&ListParams::default().labels_from(selector))
        .await
        .map_err(|e| ReconcileError::kube(format!("listing {}s", K::kind(&())), e))?
        .items
        .len();
    delete_stale::<K>(client, selector, keep).await?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[(&str, &str)]) -> Names {
        list.iter()
            .map(|(n, m)| ((*n).to_owned(), (*m).to_owned()))
            .collect()
    }

    #[test]
    fn only_objects_no_longer_rendered_are_stale() {
        let existing = names(&[("team-a", "p-abcde"), ("team-b", "p-fghij"), ("", "p-all")]);
        let desired = names(&[("team-a", "p-abcde"), ("", "p-all")]);
        assert_eq!(stale(&existing, &desired), names(&[("team-b", "p-fghij")]));
    }
}
