//! `promise update dependencies PATH [--image IMAGE]`: the Kubernetes objects
//! in PATH become the Promise's `spec.dependencies` (or the split layout's
//! `dependencies.yaml`), or, with `--image`, the resources of a
//! promise/configure pipeline `dependencies` whose container copies them to
//! its output, as kratix-cli's `update dependencies` does. Objects are kept as
//! written: no namespace is added, since a cluster-scoped object must have none.

use std::process::ExitCode;

use anyhow::{Result, bail};
use kratix_shared::api::Workflow;
use kratix_shared::authoring::scaffold::{self, PipelineInput, ScaffoldFile};
use kratix_shared::authoring::source::{DEPENDENCIES_FILE, PROMISE_FILE};
use kratix_shared::codec::yaml::to_yaml_stream;
use serde_json::Value;

use super::add_container::{pipelines_file, promise_with_container, workflow_file_with_container};
use super::init::write_files;
use super::{edit, manifests};
use crate::cli::UpdateDependenciesArgs;

pub fn run(args: &UpdateDependenciesArgs) -> Result<ExitCode> {
    let objects: Vec<_> = manifests::read_manifests(&args.path)?
        .into_iter()
        .map(|m| m.value)
        .collect();
    match &args.image {
        None => into_dependencies(args, objects),
        Some(image) => into_pipeline(args, image, &objects),
    }
}

fn into_dependencies(args: &UpdateDependenciesArgs, objects: Vec<Value>) -> Result<ExitCode> {
    let count = objects.len();
    let promise_file = args.dir.join(PROMISE_FILE);
    let (file, document) = if promise_file.is_file() {
        let mut promise = edit::read_yaml(&promise_file)?;
        let Some(spec) = promise.get_mut("spec").and_then(Value::as_object_mut) else {
            bail!("{}: spec is not a map", promise_file.display());
        };
        spec.insert("dependencies".to_owned(), Value::Array(objects));
        (promise_file, promise)
    } else {
        // Refuses a directory that holds no Promise at all.
        pipelines_file(&args.dir, Workflow::PROMISE_CONFIGURE)?;
        (args.dir.join(DEPENDENCIES_FILE), Value::Array(objects))
    };
    let errors = edit::write_checked(&args.dir, &file, &document)?;
    if !errors.is_empty() {
        return Ok(edit::refused(&errors, &file));
    }
    println!(
        "{count} object{} now the Promise's dependencies in {}",
        if count == 1 { " is" } else { "s are" },
        file.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn into_pipeline(args: &UpdateDependenciesArgs, image: &str, objects: &[Value]) -> Result<ExitCode> {
    let input = PipelineInput {
        workflow: Workflow::PROMISE_CONFIGURE,
        pipeline: "dependencies".to_owned(),
        container: "configure-deps".to_owned(),
        image: image.to_owned(),
        language: scaffold::Language::Bash,
    };
    let problems = scaffold::check_pipeline(&input);
    if let Some((flag, message)) = problems.first() {
        bail!("{flag}: {message}");
    }
    let (file, split) = pipelines_file(&args.dir, input.workflow)?;
    let label = file.display().to_string();
    let updated = if split {
        workflow_file_with_container(&file, file.is_file(), &input, &label)?
    } else {
        promise_with_container(&file, &input, &label)?
    };
    let dir = scaffold::container_dir(&input);
    let mut files: Vec<ScaffoldFile> = scaffold::container_files(&input)
        .into_iter()
        .filter(|f| !f.path.ends_with("resources/README.md") && !f.path.ends_with("scripts/pipeline.sh"))
        .collect();
    files.push(ScaffoldFile {
        path: format!("{dir}/scripts/pipeline.sh"),
        content: "#!/bin/sh\n# Writes the Promise's dependencies, copied into the image at /resources.\nset -eu\ncp /resources/* /kratix/output/\n".to_owned(),
        executable: true,
    });
    files.push(ScaffoldFile {
        path: format!("{dir}/resources/dependencies.yaml"),
        content: to_yaml_stream(objects)?,
        executable: false,
    });
    if !args.force
        && let Some(existing) = files.iter().map(|f| args.dir.join(&f.path)).find(|p| p.exists())
    {
        bail!(
            "{} already exists; nothing was changed (pass --force to overwrite)",
            existing.display()
        );
    }
    let errors = edit::write_checked(&args.dir, &file, &updated)?;
    if !errors.is_empty() {
        return Ok(edit::refused(&errors, &file));
    }
    write_files(&args.dir, &files, true)?;
    println!(
        "added pipeline dependencies (container configure-deps, {image}) to promise/configure in {label}; its {} objects are in {}",
        objects.len(),
        args.dir.join(&dir).join("resources/dependencies.yaml").display()
    );
    eprintln!(
        "Build {} as {image} before the Promise is installed",
        args.dir.join(&dir).display()
    );
    Ok(ExitCode::SUCCESS)
}
