//! `promise render`: the objects a workflow creates, printed for review.

use std::process::ExitCode;

use anyhow::Result;
use kratix_shared::render::{RenderRequest, render_workflow, workflow_objects};

use super::offline;
use crate::cli::RenderArgs;
use crate::display::output::format_objects;

pub fn run(args: &RenderArgs) -> Result<ExitCode> {
    let (promise, validated) = offline::load(&args.path, args.promise.as_deref())?;
    let pipelines = validated.runnable_pipelines(args.workflow);
    if pipelines.is_empty() {
        eprintln!(
            "{}: Promise {} has no {} pipelines: nothing to render",
            args.path.display(),
            promise.name(),
            args.workflow
        );
        return Ok(ExitCode::SUCCESS);
    }
    let config = args.config.as_deref().map(offline::load_config).transpose()?;
    let resource_api = validated.resource_api.as_ref();
    let request = offline::request_for(
        &args.path,
        &promise,
        args.workflow,
        args.resource.as_deref(),
        resource_api,
    )?;
    let adapter = offline::adapter(
        args.pipeline_adapter_image.as_deref(),
        args.pipeline_adapter_pull_secret.as_deref(),
    );
    let rendered = render_workflow(&RenderRequest {
        promise: &promise.value,
        workflow: args.workflow,
        pipelines,
        resource: request.as_ref().zip(resource_api),
        config: config.as_ref(),
        adapter: &adapter,
        job_name_suffix: args.name_suffix.as_deref(),
    })?;
    let objects = workflow_objects(&rendered)?;
    print!("{}", format_objects(&objects, args.output)?);
    Ok(ExitCode::SUCCESS)
}
