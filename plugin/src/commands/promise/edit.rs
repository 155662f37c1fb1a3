//! Changing a Promise's files in place (`add-container`, `update`): the new
//! text written, the Promise validated, and the file put back as it was when
//! the change would leave the Promise invalid.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow};
use kratix_shared::authoring::source;
use kratix_shared::validate::{Severity, validate_promise};
use serde_json::Value;

use super::validate::problem_line;

/// A YAML file as JSON, its parse errors naming it.
pub fn read_yaml(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_saphyr::from_str(&text).map_err(|e| {
        anyhow!(
            "{}: {}",
            path.display(),
            kratix_shared::codec::yaml::describe_yaml_error(&e)
        )
    })
}

/// Writes `value` to `file` as YAML and validates the Promise in `dir`; when it
/// is no longer valid, puts `file` back (or removes it, if it was new) and
/// returns the errors `promise validate` would print.
pub fn write_checked(dir: &Path, file: &Path, value: &Value) -> Result<Vec<String>> {
    let before = file
        .is_file()
        .then(|| std::fs::read_to_string(file))
        .transpose()?;
    let label = file.display().to_string();
    let text = serde_saphyr::to_string(value).map_err(|e| anyhow!("encoding {label}: {e}"))?;
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(file, text).with_context(|| format!("writing {label}"))?;
    let errors = errors_of(dir)?;
    if !errors.is_empty() {
        match &before {
            Some(original) => std::fs::write(file, original).with_context(|| format!("restoring {label}"))?,
            None => std::fs::remove_file(file).with_context(|| format!("removing {label}"))?,
        }
    }
    Ok(errors)
}

/// The errors `promise validate` would print for the Promise in `dir`.
fn errors_of(dir: &Path) -> Result<Vec<String>> {
    let loaded = source::load(dir)?;
    let mut lines = Vec::new();
    for promise in &loaded.promises {
        for problem in validate_promise(&promise.value).problems {
            if problem.severity == Severity::Error {
                lines.push(problem_line(promise, &problem));
            }
        }
    }
    Ok(lines)
}

/// Prints the errors of a change that was put back; exit 1.
pub fn refused(errors: &[String], file: &Path) -> ExitCode {
    for line in errors {
        println!("{line}");
    }
    eprintln!(
        "nothing changed: the Promise would not be valid; {} is unchanged",
        file.display()
    );
    ExitCode::from(1)
}
