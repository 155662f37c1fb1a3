//! `update-status`: the pipeline's `status.yaml` and workflow control, written
//! into the object's status.

use std::path::Path;

use anyhow::{Context, Result, bail};
use k8s_openapi::jiff::Timestamp;
use kratix_shared::api::labels;
use kratix_shared::api::workflow::WorkflowType;
use kratix_shared::pipeline_pod::pod_files;
use kratix_shared::pipeline_pod::status_update::updated_status;
use kratix_shared::workflow::status_merge;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::{client, describe, env, object_api};

/// Conflicts with a concurrent writer are retried from a fresh read.
const ATTEMPTS: usize = 5;

pub async fn run(metadata_dir: &Path) -> Result<()> {
    let env = env()?;
    let incoming = pod_files::read_status(metadata_dir)?;
    if env.workflow_type == WorkflowType::Promise {
        for key in status_merge::keys_a_promise_drops(&incoming) {
            eprintln!(
                "warning: {}: {key:?} is dropped: a Promise's status keeps only message and conditions",
                pod_files::STATUS_FILE
            );
        }
    }
    let control = pod_files::read_control(metadata_dir)?;
    let client = client().await?;
    let (api, _) = object_api(&client, &env);
    if control.stops_workflow() {
        let label = json!({"metadata": {"labels": {labels::WORKFLOW_SUSPENDED: "true"}}});
        api.patch(&env.name, &PatchParams::default(), &Patch::Merge(&label))
            .await
            .with_context(|| format!("labelling {} suspended", describe(&env)))?;
    }
    for attempt in 1..=ATTEMPTS {
        let mut object = api
            .get(&env.name)
            .await
            .with_context(|| format!("reading {}", describe(&env)))?;
        let current = object
            .data
            .get("status")
            .cloned()
            .unwrap_or(Value::Object(Default::default()));
        let generation = object.metadata.generation.unwrap_or_default();
        let status = updated_status(&env, &current, &incoming, &control, generation, Timestamp::now())
            .with_context(|| describe(&env))?;
        object.data["status"] = status;
        match api
            .replace_status(&env.name, &PostParams::default(), &object)
            .await
        {
            Ok(_) => {
                println!("status of {} updated", describe(&env));
                return Ok(());
            }
            Err(error) if kratix_shared::api::answers::is_conflict(&error) && attempt < ATTEMPTS => continue,
            Err(error) => {
                return Err(error).with_context(|| format!("writing the status of {}", describe(&env)));
            }
        }
    }
    bail!(
        "the status of {} kept changing under us; gave up after {ATTEMPTS} attempts",
        describe(&env)
    )
}
