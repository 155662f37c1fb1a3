//! `promise validate`: one line per problem, `FILE: field.path: what is wrong`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use kratix_shared::authoring::source::{self, PromiseSource};
use kratix_shared::validate::{Problem, Severity, Validated, validate_promise};

use crate::cli::ValidateArgs;

/// Exit code when any Promise has an error (or a warning, with `--strict`).
const EXIT_INVALID: u8 = 1;

/// The lines `promise validate` prints for the Promise's errors (its
/// warnings left out): what the commands that refuse an invalid Promise say.
pub fn error_lines(source: &PromiseSource, validated: &Validated) -> Vec<String> {
    validated
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| problem_line(source, p))
        .collect()
}

/// `PATH has N validation error(s)`, after the errors themselves.
pub fn errors_summary(path: &Path, count: usize) -> String {
    format!(
        "{} has {count} validation error{}",
        path.display(),
        if count == 1 { "" } else { "s" }
    )
}

/// Formats one problem as a line.
pub fn problem_line(source: &PromiseSource, problem: &Problem) -> String {
    let mut line = source.file_for(&problem.path).display().to_string();
    line.push_str(": ");
    if let Some(label) = source.document_label() {
        line.push_str(&label);
        line.push_str(": ");
    }
    if !problem.path.is_empty() {
        line.push_str(&problem.path);
        line.push_str(": ");
    }
    if problem.severity == Severity::Warning {
        line.push_str("warning: ");
    }
    line.push_str(&problem.message);
    line
}

pub fn run(args: &ValidateArgs) -> Result<ExitCode> {
    let (mut errors, mut warnings, mut promises) = (0usize, 0usize, 0usize);
    for path in &args.paths {
        let loaded = match source::load(path) {
            Ok(loaded) => loaded,
            Err(error) => {
                println!("{error}");
                errors += 1;
                continue;
            }
        };
        for skipped in &loaded.skipped {
            eprintln!("{skipped}");
        }
        for promise in &loaded.promises {
            promises += 1;
            for problem in validate_promise(&promise.value).problems {
                println!("{}", problem_line(promise, &problem));
                match problem.severity {
                    Severity::Error => errors += 1,
                    Severity::Warning => warnings += 1,
                }
            }
        }
    }
    let failed = errors > 0 || (args.strict && warnings > 0);
    eprintln!(
        "{promises} Promise{} checked: {errors} error{}, {warnings} warning{}{}",
        plural(promises),
        plural(errors),
        plural(warnings),
        if args.strict && warnings > 0 && errors == 0 {
            " (warnings fail with --strict)"
        } else {
            ""
        }
    );
    Ok(if failed {
        ExitCode::from(EXIT_INVALID)
    } else {
        ExitCode::SUCCESS
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
