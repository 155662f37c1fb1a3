//! `promise run`: a workflow's pipelines on this machine, with podman or
//! docker, in the pod the agent would run: the Job rendered as the agent
//! renders it, every user container started as the kubelet would start it,
//! and between them what Kratix's own containers do. Nothing runs until every
//! pipeline's Secrets, ConfigMaps and paths check out.
//!
//! `inputs` reads what the run needs, `sources` the Secrets and ConfigMaps,
//! `folders` keeps the run's host folders, `pipelines` runs them, `engine`
//! talks to podman or docker, `outcome` is
//! the result, `store_paths` where a Work would land, `watch` runs again on
//! changes.

pub(super) mod engine;
mod folders;
mod inputs;
mod interrupt;
mod outcome;
mod pipelines;
mod sources;
mod store_paths;
mod watch;

use std::io::{IsTerminal as _, Write as _};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::{OutputFormat, RunArgs};
use crate::display::log_lines::LogPrinter;
use crate::preferences;
use interrupt::OutputClosed;
use outcome::RunOutcome;
use pipelines::Runner;

/// The exit code of a run that could not start (flags, files, the Promise,
/// Secrets and ConfigMaps, the engine).
const NOT_STARTED: u8 = 2;

pub fn run(args: &RunArgs) -> Result<ExitCode> {
    let preferences = preferences::load()?;
    interrupt::install()?;
    let printer = if args.output.is_some() {
        let colour = preferences::colour(args.color, &preferences, std::io::stderr().is_terminal());
        LogPrinter::to_stderr(colour)
    } else {
        LogPrinter::to_stdout(preferences::stdout_colour(args.color, &preferences))
    };
    let output_dir = match folders::run_root(args.output_dir.as_deref()) {
        Ok(dir) => dir,
        Err(error) => return Ok(not_started(&error)),
    };
    if !args.watch {
        return Ok(once(args, &printer, &output_dir));
    }
    watch::run_on_changes(args, &output_dir, || {
        let code = once(args, &printer, &output_dir);
        eprintln!("run ended: {code:?}");
    })?;
    Ok(ExitCode::SUCCESS)
}

fn not_started(error: &anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    ExitCode::from(NOT_STARTED)
}

/// One run, from reading its inputs to its result.
fn once(args: &RunArgs, printer: &LogPrinter, output_dir: &Path) -> ExitCode {
    let inputs = match inputs::gather(args) {
        Ok(inputs) => inputs,
        Err(error) => return not_started(&error),
    };
    let (engine, program) = match engine::choose(args.engine) {
        Ok(chosen) => chosen,
        Err(error) => return not_started(&error),
    };
    if let Err(error) = folders::clear_run(output_dir, engine, &program) {
        return not_started(&error);
    }
    let plans = match pipelines::plan_all(&inputs, output_dir, args.allow_privileged) {
        Ok(plans) => plans,
        Err(problems) => {
            for problem in &problems {
                eprintln!("error: {problem}");
            }
            if let Some(hint) = pipelines::hint_for(&problems, &inputs.sources) {
                eprintln!("hint: {hint}");
            }
            eprintln!(
                "error: {} problem{} found before running anything",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            return ExitCode::from(NOT_STARTED);
        }
    };
    let runner = Runner {
        engine,
        program: &program,
        printer,
    };
    match pipelines::run_all(&runner, &inputs, &plans, output_dir).and_then(|o| report(args, &o).map(|()| o))
    {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(error) if error.is::<OutputClosed>() => {
            eprintln!("error: {error}");
            ExitCode::from(interrupt::OUTPUT_CLOSED)
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}

/// The result: a summary after the logs, or the whole result for scripts.
fn report(args: &RunArgs, outcome: &RunOutcome) -> Result<()> {
    let text = match args.output {
        None => outcome.summary(),
        Some(format) => {
            eprint!("{}", outcome.summary());
            match format {
                OutputFormat::Json => serde_json::to_string_pretty(outcome)? + "\n",
                OutputFormat::Yaml => {
                    serde_saphyr::to_string(outcome).context("encoding the result as YAML")?
                }
            }
        }
    };
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Err(OutputClosed.into()),
        written => written.context("writing the result"),
    }
}
