//! What a pipeline leaves for the Kratix containers after it, read as they read
//! it: `status.yaml` and `workflow-control.yaml` under `/kratix/metadata`, and
//! its output with `destination-selectors.yaml` and the Promise's own
//! destination selectors as workload groups. The agent's `work-creator` and
//! `update-status` and `kubectl kratix promise run` read them through here.

use std::path::Path;

use serde_json::Value;

use crate::api::work::{WorkloadGroup, WorkloadGroupScheduling};
use crate::api::workflow::WorkflowType;
use crate::codec::yaml::parse_documents;
use crate::pipeline_pod::work_output::{self, DESTINATION_SELECTORS_FILE};
use crate::workflow::control::{WORKFLOW_CONTROL_FILE, WorkflowControl};
use crate::{Error, Result};

/// The object a pipeline reads, under `/kratix/input`.
pub const OBJECT_FILE: &str = "object.yaml";
/// The status a pipeline asks for, under `/kratix/metadata`.
pub const STATUS_FILE: &str = "status.yaml";

/// A file's content, or `None` when it does not exist (the metadata files are optional).
pub fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// `metadata/status.yaml`'s first document; `Null` when there is none.
pub fn read_status(metadata: &Path) -> Result<Value> {
    let file = metadata.join(STATUS_FILE);
    let Some(text) = read_optional(&file)? else {
        return Ok(Value::Null);
    };
    Ok(parse_documents(&file.display().to_string(), &text)?
        .into_iter()
        .next()
        .map_or(Value::Null, |document| document.value))
}

/// `metadata/workflow-control.yaml`; asks for nothing when absent.
pub fn read_control(metadata: &Path) -> Result<WorkflowControl> {
    let file = metadata.join(WORKFLOW_CONTROL_FILE);
    match read_optional(&file)? {
        Some(text) => WorkflowControl::parse(&file.display().to_string(), &text),
        None => Ok(WorkflowControl::default()),
    }
}

/// The pipeline's output as the workload groups of its Work: its files, with
/// the destination selectors it (`metadata/destination-selectors.yaml`) and
/// the Promise (`promise_scheduling`, the file the agent mounts) ask for;
/// refused when too large.
pub fn read_workload_groups(
    output: &Path,
    metadata: &Path,
    promise_scheduling: Option<&Path>,
    workflow_type: WorkflowType,
) -> Result<Vec<WorkloadGroup>> {
    let selectors_file = metadata.join(DESTINATION_SELECTORS_FILE);
    let selectors = match read_optional(&selectors_file)? {
        Some(text) => work_output::parse_destination_selectors(&selectors_file.display().to_string(), &text)?,
        None => Vec::new(),
    };
    let scheduling: Vec<WorkloadGroupScheduling> = match promise_scheduling {
        Some(file) => match read_optional(file)? {
            Some(text) => work_output::parse_promise_scheduling(&file.display().to_string(), &text)?,
            None => Vec::new(),
        },
        None => Vec::new(),
    };
    let groups = work_output::workload_groups(output, &selectors, &scheduling, workflow_type)?;
    work_output::check_work_size(&groups)?;
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_files_ask_for_nothing_and_bad_ones_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(read_status(dir.path()).expect("absent"), Value::Null);
        assert!(!read_control(dir.path()).expect("absent").stops_workflow());
        std::fs::write(dir.path().join(STATUS_FILE), "message: hi\n").expect("write");
        assert_eq!(read_status(dir.path()).expect("reads")["message"], "hi");
        std::fs::write(dir.path().join(WORKFLOW_CONTROL_FILE), "suspend: maybe\n").expect("write");
        let error = read_control(dir.path()).unwrap_err().to_string();
        assert!(error.contains(WORKFLOW_CONTROL_FILE), "{error}");
    }

    #[test]
    fn output_becomes_groups_with_the_promises_selectors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (output, metadata) = (dir.path().join("output"), dir.path().join("metadata"));
        std::fs::create_dir_all(output.join("db")).expect("mkdir");
        std::fs::create_dir_all(&metadata).expect("mkdir");
        std::fs::write(output.join("app.yaml"), "a: 1\n").expect("write");
        std::fs::write(output.join("db/db.yaml"), "b: 2\n").expect("write");
        std::fs::write(
            metadata.join(DESTINATION_SELECTORS_FILE),
            "- directory: db\n  matchLabels: {env: prod}\n",
        )
        .expect("write");
        let scheduling = dir.path().join("promise-scheduling");
        std::fs::write(&scheduling, "- matchLabels: {team: a}\n  source: promise\n").expect("write");
        let groups = read_workload_groups(&output, &metadata, Some(&scheduling), WorkflowType::Resource)
            .expect("groups");
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].directory, "db");
        assert_eq!(groups[0].destination_selectors[0].match_labels["env"], "prod");
        assert_eq!(groups[1].directory, ".");
        assert_eq!(groups[1].destination_selectors[0].match_labels["team"], "a");
    }
}
