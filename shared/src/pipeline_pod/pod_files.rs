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

/// The most a metadata file a pipeline writes may hold: a status or a set of
/// selectors larger than this could not be stored on the object anyway.
pub const MAX_METADATA_FILE_BYTES: u64 = 1 << 20;

/// A file the agent wrote for the pod (the Promise's scheduling, mounted from
/// a ConfigMap, whose keys are links the kubelet makes); `None` when absent.
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

/// A file the pipeline wrote under `/kratix/metadata`; `None` when absent.
/// Read as untrusted: a regular file only, opened without following a link
/// (a local run reads it as the user, on the host, where a link could name
/// their kubeconfig) or blocking on a FIFO, and no larger than
/// [`MAX_METADATA_FILE_BYTES`].
pub fn read_pipeline_file(path: &Path) -> Result<Option<String>> {
    use std::io::Read as _;
    let refused = |message: String| Error::Invalid {
        source_name: path.display().to_string(),
        path: String::new(),
        message,
    };
    let read_error = |source: std::io::Error| Error::Read {
        path: path.to_owned(),
        source,
    };
    let file = match open_no_follow(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        // O_NOFOLLOW fails on a link (ELOOP): say what it was.
        Err(_) if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink()) => {
            return Err(refused(
                "is a symbolic link: refused; the pipeline must write the file itself".to_owned(),
            ));
        }
        Err(error) => return Err(read_error(error)),
    };
    let metadata = file.metadata().map_err(read_error)?;
    if !metadata.is_file() {
        return Err(refused(
            "is not a regular file (a directory, FIFO, socket or device): refused".to_owned(),
        ));
    }
    if metadata.len() > MAX_METADATA_FILE_BYTES {
        return Err(refused(too_large(metadata.len())));
    }
    let mut bytes = Vec::new();
    file.take(MAX_METADATA_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_METADATA_FILE_BYTES {
        return Err(refused(too_large(bytes.len() as u64)));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| refused("is not UTF-8 text".to_owned()))
}

fn too_large(bytes: u64) -> String {
    format!("is {bytes} bytes, more than a metadata file may hold ({MAX_METADATA_FILE_BYTES}): refused")
}

#[cfg(unix)]
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    if std::fs::symlink_metadata(path)?.is_symlink() {
        return Err(std::io::Error::other("a symbolic link"));
    }
    std::fs::File::open(path)
}

/// `metadata/status.yaml`'s first document; `Null` when there is none.
pub fn read_status(metadata: &Path) -> Result<Value> {
    let file = metadata.join(STATUS_FILE);
    let Some(text) = read_pipeline_file(&file)? else {
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
    match read_pipeline_file(&file)? {
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
    let selectors = match read_pipeline_file(&selectors_file)? {
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

    #[test]
    fn metadata_files_are_read_as_untrusted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let metadata = dir.path().join("metadata");
        std::fs::create_dir_all(&metadata).expect("mkdir");
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, "message: the user's credentials\n").expect("write");

        // A link to a file of the user's is refused, not read.
        std::os::unix::fs::symlink(&kubeconfig, metadata.join(STATUS_FILE)).expect("symlink");
        let error = read_status(&metadata).unwrap_err().to_string();
        assert!(
            error.contains(STATUS_FILE) && error.contains("symbolic link"),
            "{error}"
        );
        assert!(!error.contains("credentials"), "{error}");
        std::fs::remove_file(metadata.join(STATUS_FILE)).expect("remove");

        // A FIFO would block the reader forever: refused at once.
        make_fifo(&metadata.join(WORKFLOW_CONTROL_FILE));
        let error = read_control(&metadata).unwrap_err().to_string();
        assert!(error.contains("not a regular file"), "{error}");
        std::fs::remove_file(metadata.join(WORKFLOW_CONTROL_FILE)).expect("remove");

        // A directory in a file's place, and a file too large for any object.
        std::fs::create_dir(metadata.join(DESTINATION_SELECTORS_FILE)).expect("mkdir");
        let output = dir.path().join("output");
        std::fs::create_dir_all(&output).expect("mkdir");
        let error = read_workload_groups(&output, &metadata, None, WorkflowType::Resource)
            .unwrap_err()
            .to_string();
        assert!(error.contains("not a regular file"), "{error}");
        let huge = "message: \"".to_owned() + &"x".repeat(MAX_METADATA_FILE_BYTES as usize) + "\"\n";
        std::fs::write(metadata.join(STATUS_FILE), huge).expect("write");
        let error = read_status(&metadata).unwrap_err().to_string();
        assert!(error.contains("more than a metadata file may hold"), "{error}");
    }

    fn make_fifo(path: &Path) {
        let made = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .expect("mkfifo runs");
        assert!(made.success(), "mkfifo {}", path.display());
    }
}
