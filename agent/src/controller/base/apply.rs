//! Applying what rendering produced. The pipeline's service account, ConfigMap
//! and RBAC go in by server-side apply (one request each, whether they exist or
//! not); a ServiceAccount that exists without the Promise label is the user's
//! and is left alone; the Job is only ever created.
//!
//! Every request of a Promise in a namespace shares these objects, so an object
//! applied unchanged a moment ago is not sent again: [`Applied`] remembers
//! what was applied for [`REAPPLY_AFTER`]. The ServiceAccount is read at every
//! pipeline start: when it is gone (its Promise deleted and applied again, its
//! namespace re-created), everything is applied afresh. Another object deleted
//! by hand is put back at the next pipeline start after [`REAPPLY_AFTER`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kratix_shared::api::labels;
use kratix_shared::render::PipelineResources;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::ReconcileError;

/// How long an applied object is trusted to be still as applied.
pub const REAPPLY_AFTER: Duration = Duration::from_secs(60);

/// The field manager of everything the agent applies.
const FIELD_MANAGER: &str = "kratix-agent";

/// What was applied recently: object key → (its JSON, when).
#[derive(Default)]
pub struct Applied(Mutex<HashMap<String, (String, Instant)>>);

impl Applied {
    fn key<K: Resource<DynamicType = ()>>(object: &K) -> String {
        format!(
            "{}/{}/{}",
            K::kind(&()),
            object.meta().namespace.as_deref().unwrap_or_default(),
            object.meta().name.as_deref().unwrap_or_default()
        )
    }

    fn is_fresh<K: Resource<DynamicType = ()> + Serialize>(&self, object: &K) -> bool {
        let json = serde_json::to_string(object).unwrap_or_default();
        let Ok(map) = self.0.lock() else { return false };
        map.get(&Self::key(object))
            .is_some_and(|(applied, at)| *applied == json && at.elapsed() < REAPPLY_AFTER)
    }

    fn record<K: Resource<DynamicType = ()> + Serialize>(&self, object: &K) {
        let json = serde_json::to_string(object).unwrap_or_default();
        if let Ok(mut map) = self.0.lock() {
            map.retain(|_, (_, at)| at.elapsed() < REAPPLY_AFTER);
            map.insert(Self::key(object), (json, Instant::now()));
        }
    }
}

/// Whether [`Applied`] may be trusted for this pipeline's objects.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cache {
    Trusted,
    /// The objects were seen gone: apply each whatever was applied before.
    Bypassed,
}

async fn apply<K>(api: &Api<K>, object: &K, applied: &Applied, cache: Cache) -> Result<(), ReconcileError>
where
    K: Resource<DynamicType = ()> + Clone + Serialize + DeserializeOwned + std::fmt::Debug,
{
    if cache == Cache::Trusted && applied.is_fresh(object) {
        return Ok(());
    }
    server_side_apply(api, object).await?;
    applied.record(object);
    Ok(())
}

/// Server-side apply of `object` as the agent's field manager: fields the agent
/// set before and leaves out now are removed, fields others own are kept.
pub async fn server_side_apply<K>(api: &Api<K>, object: &K) -> Result<K, ReconcileError>
where
    K: Resource<DynamicType = ()> + Clone + Serialize + DeserializeOwned + std::fmt::Debug,
{
    let name = object.name_any();
    // Server-side apply needs apiVersion and kind in the body.
    let mut body = serde_json::to_value(object)
        .map_err(|e| ReconcileError::codec(format!("encoding {} {name}", K::kind(&())), e))?;
    body["apiVersion"] = K::api_version(&()).into();
    body["kind"] = K::kind(&()).into();
    api.patch(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .map_err(|e| ReconcileError::kube(format!("applying {} {name}", K::kind(&())), e))
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
    applied: &Applied,
    resources: &PipelineResources,
) -> Result<(), ReconcileError> {
    let cache = apply_service_account(client, applied, &resources.service_account).await?;
    if let Some(config_map) = &resources.config_map {
        apply(
            &namespaced::<ConfigMap>(client, config_map),
            config_map,
            applied,
            cache,
        )
        .await?;
    }
    for role in &resources.roles {
        apply(&namespaced::<Role>(client, role), role, applied, cache).await?;
    }
    for binding in &resources.role_bindings {
        apply(
            &namespaced::<RoleBinding>(client, binding),
            binding,
            applied,
            cache,
        )
        .await?;
    }
    for role in &resources.cluster_roles {
        apply(&Api::<ClusterRole>::all(client.clone()), role, applied, cache).await?;
    }
    for binding in &resources.cluster_role_bindings {
        apply(
            &Api::<ClusterRoleBinding>::all(client.clone()),
            binding,
            applied,
            cache,
        )
        .await?;
    }
    crate::crash_points::crash_point(crate::crash_points::RBAC_APPLIED);
    create_job(client, &resources.job).await
}

/// The pipeline's service account: a user's own is used as it is, never
/// changed. Says whether what was applied before may be trusted: a missing
/// account means its objects were deleted behind the agent's back, and are
/// applied afresh.
async fn apply_service_account(
    client: &kube::Client,
    applied: &Applied,
    account: &ServiceAccount,
) -> Result<Cache, ReconcileError> {
    let accounts: Api<ServiceAccount> = namespaced(client, account);
    let existing = accounts
        .get_opt(&account.name_any())
        .await
        .map_err(|e| ReconcileError::kube("reading a service account", e))?;
    Ok(match existing {
        Some(existing) if !existing.labels().contains_key(labels::PROMISE_NAME) => {
            applied.record(account);
            Cache::Trusted
        }
        Some(_) => {
            apply(&accounts, account, applied, Cache::Trusted).await?;
            Cache::Trusted
        }
        None => {
            apply(&accounts, account, applied, Cache::Bypassed).await?;
            Cache::Bypassed
        }
    })
}

/// A Job is never updated: each run has its own, and one that exists
/// already (created before a crash) is the one wanted, if it is this run's.
async fn create_job(client: &kube::Client, job: &Job) -> Result<(), ReconcileError> {
    let jobs = namespaced::<Job>(client, job);
    match jobs.create(&PostParams::default(), job).await {
        Ok(_) => Ok(()),
        Err(error) if kratix_shared::api::answers::is_already_exists(&error) => {
            let existing = jobs
                .get(&job.name_any())
                .await
                .map_err(|e| ReconcileError::kube(format!("reading Job {}", job.name_any()), e))?;
            match foreign_job(job, &existing) {
                None => Ok(()),
                Some(why) => Err(ReconcileError::Foreign(why)),
            }
        }
        Err(error) => Err(ReconcileError::kube(
            format!("creating Job {}", job.name_any()),
            error,
        )),
    }
}

/// Why `existing`, found under the name of the `wanted` Job, is not this run's,
/// if it is not: a Job counts as a run's only with the object's UID and the
/// run's hash, as the agent sets them.
pub fn foreign_job(wanted: &Job, existing: &Job) -> Option<String> {
    for key in [labels::OBJECT_UID, labels::HASH] {
        let want = wanted.labels().get(key);
        let have = existing.labels().get(key);
        if want != have {
            return Some(format!(
                "Job {}/{} exists but is not this run's (its {key} label is {:?}, not {:?}); the agent does not use a Job it did not make: delete it",
                existing.namespace().unwrap_or_default(),
                existing.name_any(),
                have.map(String::as_str).unwrap_or(""),
                want.map(String::as_str).unwrap_or("")
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(uid: &str, hash: &str) -> Job {
        let mut job = Job::default();
        job.metadata.name = Some("kratix-cache-orders-make-abcde".to_owned());
        job.metadata.namespace = Some("pipes".to_owned());
        job.metadata.labels = Some(
            [(labels::OBJECT_UID, uid), (labels::HASH, hash)]
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        );
        job
    }

    #[test]
    fn a_job_under_the_same_name_counts_only_with_the_objects_uid_and_the_runs_hash() {
        let wanted = job("uid-a", "h1");
        assert_eq!(foreign_job(&wanted, &job("uid-a", "h1")), None);
        let other_request = foreign_job(&wanted, &job("uid-b", "h1")).expect("another object's");
        assert!(
            other_request.contains("agent.kratix.io/object-uid") && other_request.contains("uid-b"),
            "{other_request}"
        );
        assert!(
            foreign_job(&wanted, &job("uid-a", "h0")).is_some(),
            "another run's"
        );
        assert!(
            foreign_job(&wanted, &job("", "")).is_some(),
            "made by someone else"
        );
    }
}
