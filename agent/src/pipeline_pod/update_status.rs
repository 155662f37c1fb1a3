//! `update-status`: the pipeline's `status.yaml` and workflow control, written
//! into the object's status.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kratix_shared::api::labels;
use kratix_shared::api::workflow::WorkflowType;
use kratix_shared::codec::yaml::parse_documents;
use kratix_shared::pipeline_pod::env::PipelineEnv;
use kratix_shared::workflow::control::{WORKFLOW_CONTROL_FILE, WorkflowControl};
use kratix_shared::workflow::status_merge::{self, StatusError};
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::{client, describe, env, object_api, read_optional};

pub const STATUS_FILE: &str = "status.yaml";
/// Conflicts with a concurrent writer are retried from a fresh read.
const ATTEMPTS: usize = 5;

fn now_plus(delay: Duration) -> String {
    let signed = SignedDuration::try_from(delay).unwrap_or(SignedDuration::MAX);
    Timestamp::now()
        .checked_add(signed)
        .unwrap_or(Timestamp::MAX)
        .to_string()
}

/// The new status from the current one, the pipeline's files and its position.
fn updated_status(
    env: &PipelineEnv,
    current: &Value,
    incoming: &Value,
    control: &WorkflowControl,
    generation: i64,
) -> Result<Value, StatusError> {
    let merged = status_merge::merge(current, incoming)?;
    let Value::Object(mut status) = merged else {
        return Err(StatusError::NotAMapping);
    };
    let now = Timestamp::now().to_string();
    if control.stops_workflow() {
        status_merge::record_suspension(
            &mut status,
            env.action,
            &env.pipeline_name,
            control,
            generation,
            now_plus,
        )?;
    } else {
        if env.is_last_pipeline {
            status_merge::mark_completed(&mut status, env.workflow_type, env.action, &now);
        }
        status_merge::clear_suspension(&mut status, env.action, &env.pipeline_name)?;
    }
    if env.dry_run {
        status.insert("message".to_owned(), Value::String("Dry run executed".to_owned()));
    }
    Ok(Value::Object(status))
}

pub async fn run(metadata_dir: &Path) -> Result<()> {
    let env = env()?;
    let status_file = metadata_dir.join(STATUS_FILE);
    let incoming = match read_optional(&status_file)? {
        Some(text) => {
            let source = status_file.display().to_string();
            parse_documents(&source, &text)?
                .into_iter()
                .next()
                .map(|d| d.value)
                .unwrap_or(Value::Null)
        }
        None => Value::Null,
    };
    if env.workflow_type == WorkflowType::Promise {
        for key in status_merge::keys_a_promise_drops(&incoming) {
            eprintln!(
                "warning: {STATUS_FILE}: {key:?} is dropped: a Promise's status keeps only message and conditions"
            );
        }
    }
    let control_file = metadata_dir.join(WORKFLOW_CONTROL_FILE);
    let control = match read_optional(&control_file)? {
        Some(text) => WorkflowControl::parse(&control_file.display().to_string(), &text)?,
        None => WorkflowControl::default(),
    };
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
        let status = updated_status(&env, &current, &incoming, &control, generation)
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
