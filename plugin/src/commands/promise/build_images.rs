//! `promise build-images DIR`: every container scaffold under the Promise's
//! `workflows/LIFECYCLE/ACTION/PIPELINE/CONTAINER/` built with podman or docker
//! and tagged with the image the Promise gives that container (kratix-cli's
//! `build container --all`), then pushed with `--push`. Stdout lists the
//! images built, one per line; the engine's own output goes to stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context as _, Result, bail};
use kratix_shared::api::pipeline::parse_pipeline;
use kratix_shared::api::promise::Promise;
use kratix_shared::api::{Workflow, WorkflowAction, WorkflowType};
use kratix_shared::authoring::source;

use super::run::engine;
use crate::cli::BuildImagesArgs;

/// One container scaffold and the image it builds.
struct Scaffold {
    dir: PathBuf,
    image: String,
}

pub fn run(args: &BuildImagesArgs) -> Result<ExitCode> {
    for argument in &args.build_args {
        if !argument.contains('=') || argument.starts_with('=') {
            eprintln!("error: --build-arg {argument:?}: expected KEY=VALUE");
            return Ok(ExitCode::from(2));
        }
    }
    let scaffolds = scaffolds(&args.dir)?;
    if scaffolds.is_empty() {
        bail!(
            "{}: no container scaffold (workflows/LIFECYCLE/ACTION/PIPELINE/CONTAINER/Dockerfile) names a container of the Promise",
            args.dir.display()
        );
    }
    let (engine, program) = engine::choose(args.engine)?;
    let limits: Vec<String> = engine::ulimits(engine)
        .iter()
        .flat_map(|l| ["--ulimit".to_owned(), format!("{}={}:{}", l.name, l.soft, l.hard)])
        .collect();
    for scaffold in &scaffolds {
        let mut build = Command::new(&program);
        build.arg("build").args(&limits).args(["-t", &scaffold.image]);
        for argument in &args.build_args {
            build.args(["--build-arg", argument]);
        }
        build.arg(&scaffold.dir);
        eprintln!("building {} from {}", scaffold.image, scaffold.dir.display());
        if !status_of(&mut build, &program)? {
            eprintln!("error: building {} failed (see above)", scaffold.image);
            return Ok(ExitCode::from(1));
        }
        if args.push {
            let mut push = Command::new(&program);
            push.args(["push", &scaffold.image]);
            if !status_of(&mut push, &program)? {
                eprintln!("error: pushing {} failed (see above)", scaffold.image);
                return Ok(ExitCode::from(1));
            }
        }
        println!("{}", scaffold.image);
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the engine with its output on stderr: stdout lists the images built.
fn status_of(command: &mut Command, program: &Path) -> Result<bool> {
    Ok(command
        .stdout(std::io::stderr())
        .status()
        .with_context(|| format!("running {}", program.display()))?
        .success())
}

/// The scaffolds under `dir/workflows` that name a container of the Promise,
/// in path order; the others are said and skipped.
fn scaffolds(dir: &Path) -> Result<Vec<Scaffold>> {
    let mut loaded = source::load(dir)?;
    let promise = Promise::from_json(&loaded.promises.remove(0).value).with_context(|| {
        format!(
            "{}: the Promise does not decode; kubectl kratix promise validate says why",
            dir.display()
        )
    })?;
    let mut found = Vec::new();
    for workflow_type in [WorkflowType::Promise, WorkflowType::Resource] {
        for action in [WorkflowAction::Configure, WorkflowAction::Delete] {
            let workflow = Workflow {
                workflow_type,
                action,
            };
            let root = dir
                .join("workflows")
                .join(workflow_type.as_str())
                .join(action.as_str());
            for pipeline in subdirectories(&root)? {
                for container in subdirectories(&pipeline)? {
                    if !container.join("Dockerfile").is_file() {
                        continue;
                    }
                    match image_of(&promise, workflow, &pipeline, &container) {
                        Some(image) => found.push(Scaffold {
                            dir: container,
                            image,
                        }),
                        None => eprintln!(
                            "warning: {}: no container of that name in that pipeline of the Promise; not built",
                            container.display()
                        ),
                    }
                }
            }
        }
    }
    Ok(found)
}

fn subdirectories(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot read", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// The image the Promise gives container `container` of pipeline `pipeline`.
fn image_of(promise: &Promise, workflow: Workflow, pipeline: &Path, container: &Path) -> Option<String> {
    let name = |path: &Path| path.file_name().and_then(|n| n.to_str()).map(str::to_owned);
    let (pipeline, container) = (name(pipeline)?, name(container)?);
    promise
        .spec
        .workflows
        .pipelines(workflow)
        .iter()
        .filter_map(|p| parse_pipeline(p, "").0)
        .find(|p| p.name() == pipeline)?
        .spec
        .containers
        .into_iter()
        .find(|c| c.name == container)
        .map(|c| c.image)
}
