//! `promise add-container`: adds a container to a pipeline in `promise.yaml` or
//! in the split layout's `workflow.yaml`, writes its scaffold, and checks that
//! the Promise is still valid (putting the file back when it is not).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use kratix_shared::authoring::scaffold::{self, PipelineInput, ScaffoldFile};
use kratix_shared::authoring::source;
use serde_json::Value;

use super::edit;
use super::init::write_files;
use crate::cli::AddContainerArgs;

const EXIT_USAGE: u8 = 2;
const EXIT_INVALID: u8 = 1;

/// The file that holds the pipeline list, and whether it is the split layout's.
pub(super) fn pipelines_file(dir: &Path, workflow: kratix_shared::api::Workflow) -> Result<(PathBuf, bool)> {
    let promise = dir.join("promise.yaml");
    if promise.is_file() {
        return Ok((promise, false));
    }
    if dir.join("api.yaml").is_file()
        || dir.join("dependencies.yaml").is_file()
        || dir.join("workflows").is_dir()
    {
        return Ok((source::workflow_file(dir, workflow), true));
    }
    bail!(
        "{} holds no Promise: expected promise.yaml, or api.yaml and dependencies.yaml for the split layout (pass --dir, or run promise init first)",
        dir.display()
    )
}

pub fn run(args: &AddContainerArgs) -> Result<ExitCode> {
    let input = container_input(args);
    let problems = scaffold::check_pipeline(&input);
    if !problems.is_empty() {
        for (flag, message) in &problems {
            eprintln!("error: {flag}: {message}");
        }
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let (file, split) = pipelines_file(&args.dir, input.workflow)?;
    let existed = file.is_file();
    let label = file.display().to_string();
    let updated = if split {
        workflow_file_with_container(&file, existed, &input, &label)?
    } else {
        promise_with_container(&file, &input, &label)?
    };
    let container_files = scaffold::container_files(&input);
    refuse_existing_scaffold(&args.dir, &container_files, args.force)?;
    // The Promise must still be valid; if not, the file goes back as it was.
    let errors = edit::write_checked(&args.dir, &file, &updated)?;
    if !errors.is_empty() {
        for line in &errors {
            println!("{line}");
        }
        eprintln!("the container was not added: the Promise would not be valid; {label} is unchanged");
        return Ok(ExitCode::from(EXIT_INVALID));
    }
    write_files(&args.dir, &container_files, true)?;
    report_added(&args.dir, &input, &label, &container_files);
    Ok(ExitCode::SUCCESS)
}

/// The container the flags describe, named after its image unless `--name` says.
fn container_input(args: &AddContainerArgs) -> PipelineInput {
    PipelineInput {
        workflow: args.pipeline.workflow,
        pipeline: args.pipeline.name.clone(),
        container: args
            .name
            .clone()
            .unwrap_or_else(|| scaffold::default_container_name(&args.image)),
        image: args.image.clone(),
        language: args.language.into(),
    }
}

/// The split layout's workflow file with the container added (a new list
/// when the file does not exist yet).
pub(super) fn workflow_file_with_container(
    file: &Path,
    exists: bool,
    input: &PipelineInput,
    label: &str,
) -> Result<Value> {
    let mut pipelines: Vec<Value> = if exists {
        match edit::read_yaml(file)? {
            Value::Array(list) => list,
            Value::Null => Vec::new(),
            _ => bail!("{label}: must be a list of Pipeline objects"),
        }
    } else {
        Vec::new()
    };
    scaffold::add_container(&mut pipelines, input, label)?;
    Ok(Value::Array(pipelines))
}

/// `promise.yaml` with the container added, making the maps down to the
/// workflow's pipeline list where they are missing.
pub(super) fn promise_with_container(file: &Path, input: &PipelineInput, label: &str) -> Result<Value> {
    let mut promise = edit::read_yaml(file)?;
    let (kind, action) = (
        input.workflow.workflow_type.as_str(),
        input.workflow.action.as_str(),
    );
    let list = promise
        .as_object_mut()
        .ok_or_else(|| anyhow!("{label}: is not a Promise"))?
        .entry("spec")
        .or_insert_with(|| Value::Object(Default::default()))
        .as_object_mut()
        .ok_or_else(|| anyhow!("{label}: spec is not a map"))?
        .entry("workflows")
        .or_insert_with(|| Value::Object(Default::default()))
        .as_object_mut()
        .ok_or_else(|| anyhow!("{label}: spec.workflows is not a map"))?
        .entry(kind)
        .or_insert_with(|| Value::Object(Default::default()))
        .as_object_mut()
        .ok_or_else(|| anyhow!("{label}: spec.workflows.{kind} is not a map"))?
        .entry(action)
        .or_insert_with(|| Value::Array(Vec::new()));
    if list.is_null() {
        *list = Value::Array(Vec::new());
    }
    let pipelines = list
        .as_array_mut()
        .ok_or_else(|| anyhow!("{label}: spec.workflows.{kind}.{action} is not a list"))?;
    scaffold::add_container(pipelines, input, label)?;
    Ok(promise)
}

/// Stops before anything is written when the container's scaffold would
/// overwrite a file and `--force` is off.
fn refuse_existing_scaffold(dir: &Path, files: &[ScaffoldFile], force: bool) -> Result<()> {
    if !force && let Some(existing) = files.iter().map(|f| dir.join(&f.path)).find(|p| p.exists()) {
        bail!(
            "{} already exists; nothing was changed (pass --force to overwrite the container scaffold)",
            existing.display()
        );
    }
    Ok(())
}

/// Says what was added and written, and what to do next.
fn report_added(dir: &Path, input: &PipelineInput, label: &str, files: &[ScaffoldFile]) {
    println!(
        "added container {} ({}) to pipeline {} of {} in {label}",
        input.container, input.image, input.pipeline, input.workflow
    );
    for written in files {
        println!("created {}", dir.join(&written.path).display());
    }
    eprintln!(
        "Customise {} and build it as {}",
        dir.join(scaffold::container_dir(input))
            .join(input.language.script())
            .display(),
        input.image
    );
}
