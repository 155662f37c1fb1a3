//! `promise run`: a workflow's pipelines on this machine, with podman or
//! docker, in the pod the agent would run: the Job rendered as the agent
//! renders it, every user container started as the kubelet would start it,
//! and between them what Kratix's own containers do. Nothing runs until every
//! pipeline's Secrets, ConfigMaps and paths check out.
//!
//! `inputs` reads what the run needs, `sources` the Secrets and ConfigMaps,
//! `pipelines` runs them, `engine` talks to podman or docker, `outcome` is
//! the result, `store_paths` where a Work would land, `watch` runs again on
//! changes.

pub(super) mod engine;
mod inputs;
mod outcome;
mod pipelines;
mod sources;
mod store_paths;
mod watch;

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use kratix_shared::api::naming::random_suffix;

use crate::cli::{OutputFormat, RunArgs};
use crate::display::log_lines::LogPrinter;
use crate::preferences;
use outcome::RunOutcome;
use pipelines::Runner;

/// The file that marks a directory as a run's: only such a directory (or an
/// empty one) is cleared for a new run.
const MARKER: &str = ".kubectl-kratix-run";

/// The exit code of a run that could not start (flags, files, the Promise,
/// Secrets and ConfigMaps, the engine).
const NOT_STARTED: u8 = 2;

pub fn run(args: &RunArgs) -> Result<ExitCode> {
    let preferences = preferences::load()?;
    let printer = if args.output.is_some() {
        let colour = preferences::colour(args.color, &preferences, std::io::stderr().is_terminal());
        LogPrinter::to_stderr(colour)
    } else {
        LogPrinter::to_stdout(preferences::stdout_colour(args.color, &preferences))
    };
    let output_dir = match output_dir(args.output_dir.as_deref()) {
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
    let plans = match pipelines::plan_all(&inputs, output_dir) {
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
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}

/// The result: a summary after the logs, or the whole result for scripts.
fn report(args: &RunArgs, outcome: &RunOutcome) -> Result<()> {
    match args.output {
        None => print!("{}", outcome.summary()),
        Some(format) => {
            eprint!("{}", outcome.summary());
            let text = match format {
                OutputFormat::Json => serde_json::to_string_pretty(outcome)? + "\n",
                OutputFormat::Yaml => {
                    serde_saphyr::to_string(outcome).context("encoding the result as YAML")?
                }
            };
            print!("{text}");
        }
    }
    Ok(())
}

/// `--output-dir`, made ready (an empty directory, or one a run made before,
/// cleared); without it a new directory under the system's temporary one.
fn output_dir(wanted: Option<&Path>) -> Result<PathBuf> {
    let dir = match wanted {
        Some(dir) => dir.to_owned(),
        None => loop {
            let dir = std::env::temp_dir().join(format!("kratix-run-{}", random_suffix()));
            if !dir.exists() {
                break dir;
            }
        },
    };
    if dir.exists() {
        let empty = std::fs::read_dir(&dir)
            .with_context(|| format!("--output-dir {}: cannot read", dir.display()))?
            .next()
            .is_none();
        if !empty && !dir.join(MARKER).exists() {
            bail!(
                "--output-dir {}: is not empty and holds no earlier run; choose an empty or new directory (its contents are replaced)",
                dir.display()
            );
        }
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                std::fs::remove_dir_all(&path).with_context(|| format!("clearing {}", path.display()))?;
            }
        }
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(
        dir.join(MARKER),
        "kubectl kratix promise run keeps its pipelines' folders here\n",
    )
    .with_context(|| format!("writing {}", dir.join(MARKER).display()))?;
    // An engine takes a relative host path for a named volume: mounts need it absolute.
    std::fs::canonicalize(&dir).with_context(|| format!("resolving {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_dir_is_only_cleared_when_it_is_a_runs() {
        let root = tempfile::tempdir().expect("tempdir");
        let precious = root.path().join("home");
        std::fs::create_dir_all(&precious).expect("mkdir");
        std::fs::write(precious.join("notes.txt"), "keep me").expect("write");
        let error = output_dir(Some(&precious)).unwrap_err().to_string();
        assert!(error.contains("is not empty and holds no earlier run"), "{error}");
        assert!(precious.join("notes.txt").exists());

        let runs = root.path().join("runs");
        output_dir(Some(&runs)).expect("a new directory");
        std::fs::create_dir_all(runs.join("1-first/output")).expect("mkdir");
        output_dir(Some(&runs)).expect("an earlier run's directory");
        assert!(!runs.join("1-first").exists(), "cleared for the new run");
        assert!(runs.join(MARKER).exists());
    }
}
