//! `promise render`: the objects a workflow creates, printed for review.

use std::process::ExitCode;

use anyhow::Result;
use kratix_shared::render::workflow_objects;

use super::offline::{self, WorkflowSource};
use crate::cli::RenderArgs;
use crate::display::output::format_objects;

pub fn run(args: &RenderArgs) -> Result<ExitCode> {
    let rendered = offline::render(&WorkflowSource {
        path: &args.path,
        promise: args.promise.as_deref(),
        workflow: args.workflow,
        resource: args.resource.as_deref(),
        config: args.config.as_deref(),
        adapter: offline::adapter(
            args.pipeline_adapter_image.as_deref(),
            args.pipeline_adapter_pull_secret.as_deref(),
        ),
        job_name_suffix: args.name_suffix.as_deref(),
    })?;
    if rendered.pipelines.is_empty() {
        eprintln!(
            "{}: Promise {} has no {} pipelines: nothing to render",
            args.path.display(),
            rendered.promise.name(),
            args.workflow
        );
        return Ok(ExitCode::SUCCESS);
    }
    let objects = workflow_objects(&rendered.pipelines)?;
    print!("{}", format_objects(&objects, args.output)?);
    Ok(ExitCode::SUCCESS)
}
