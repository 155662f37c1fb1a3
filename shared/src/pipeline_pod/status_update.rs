//! The object's new status after one pipeline, as `update-status` writes it:
//! the pipeline's `status.yaml` merged in, then its workflow control (a
//! suspension or retry recorded), or the workflow's completion when it was
//! the last pipeline.

use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::pipeline_pod::env::PipelineEnv;
use crate::workflow::control::WorkflowControl;
use crate::workflow::status_merge::{self, StatusError};

/// The new status from the `current` one, the pipeline's `incoming`
/// status.yaml and `control`, at `now`.
pub fn updated_status(
    env: &PipelineEnv,
    current: &Value,
    incoming: &Value,
    control: &WorkflowControl,
    generation: i64,
    now: Timestamp,
) -> Result<Value, StatusError> {
    let merged = status_merge::merge(current, incoming)?;
    let Value::Object(mut status) = merged else {
        return Err(StatusError::NotAMapping);
    };
    if control.stops_workflow() {
        let after = |delay: Duration| {
            let signed = SignedDuration::try_from(delay).unwrap_or(SignedDuration::MAX);
            now.checked_add(signed).unwrap_or(Timestamp::MAX).to_string()
        };
        status_merge::record_suspension(
            &mut status,
            env.action,
            &env.pipeline_name,
            control,
            generation,
            after,
        )?;
    } else {
        if env.is_last_pipeline {
            status_merge::mark_completed(&mut status, env.workflow_type, env.action, &now.to_string());
        }
        status_merge::clear_suspension(&mut status, env.action, &env.pipeline_name)?;
    }
    if env.dry_run {
        status.insert("message".to_owned(), Value::String("Dry run executed".to_owned()));
    }
    Ok(Value::Object(status))
}
