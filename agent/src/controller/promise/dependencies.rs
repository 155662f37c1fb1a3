//! A Promise's `spec.dependencies` as one Work in `kratix-platform-system`:
//! created, brought up to date, or deleted when the
//! Promise no longer has any.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kratix_shared::api::Promise;
use kratix_shared::api::labels::SYSTEM_NAMESPACE;
use kratix_shared::api::naming::random_object_name;
use kratix_shared::api::work::Work;
use kratix_shared::render::dependencies::{dependencies_work, work_base_name, work_labels};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::controller::base::error::ReconcileError;
use kratix_shared::api::answers::ignore_missing;

const LAST_UPDATED: &str = "kratix.io/last-updated-at";

fn selector(promise: &str) -> String {
    work_labels(promise)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

pub async fn sync(client: &kube::Client, promise: &Promise) -> Result<(), ReconcileError> {
    let name = promise.name_any();
    let api: Api<Work> = Api::namespaced(client.clone(), SYSTEM_NAMESPACE);
    let existing = api
        .list(&ListParams::default().labels(&selector(&name)))
        .await
        .map_err(|e| ReconcileError::kube(format!("listing the dependency Work of Promise {name}"), e))?
        .items;
    let spec = dependencies_work(&name, &promise.spec).map_err(|e| ReconcileError::InvalidPromise {
        promise: name.clone(),
        message: format!("spec.dependencies: {e}"),
    })?;
    let Some(spec) = spec else {
        for work in existing {
            ignore_missing(api.delete(&work.name_any(), &DeleteParams::default()).await)
                .map_err(|e| ReconcileError::kube(format!("deleting Work {}", work.name_any()), e))?;
        }
        return Ok(());
    };
    match existing.first() {
        Some(work) if work.spec == spec => Ok(()),
        Some(work) => {
            let patch = json!({
                "metadata": {"annotations": {LAST_UPDATED: Timestamp::now().to_string()}},
                "spec": spec,
            });
            api.patch(&work.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(|e| ReconcileError::kube(format!("updating Work {}", work.name_any()), e))?;
            Ok(())
        }
        None => {
            let work = Work {
                metadata: ObjectMeta {
                    name: Some(random_object_name(&work_base_name(&name))),
                    namespace: Some(SYSTEM_NAMESPACE.to_owned()),
                    labels: Some(work_labels(&name)),
                    ..ObjectMeta::default()
                },
                spec,
                status: None,
            };
            api.create(&PostParams::default(), &work).await.map_err(|e| {
                ReconcileError::kube(format!("creating the dependency Work of Promise {name}"), e)
            })?;
            Ok(())
        }
    }
}
