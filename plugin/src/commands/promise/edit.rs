//! Changing a Promise's files in place (`add-container`, `update`): the new
//! text written, the Promise validated, and the file put back as it was when
//! the change would leave the Promise invalid.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow};
use kratix_shared::authoring::source;
use kratix_shared::validate::validate_promise;
use serde_json::Value;

use super::validate::error_lines;

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
/// is no longer valid, or cannot be validated at all, puts `file` back (or
/// removes it, if it was new) and returns the errors `promise validate` would
/// print (or the error that stopped validation).
pub fn write_checked(dir: &Path, file: &Path, value: &Value) -> Result<Vec<String>> {
    let before = file
        .is_file()
        .then(|| std::fs::read(file))
        .transpose()
        .with_context(|| format!("reading {}", file.display()))?;
    let label = file.display().to_string();
    let text = serde_saphyr::to_string(value).map_err(|e| anyhow!("encoding {label}: {e}"))?;
    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    replace(file, text.as_bytes()).with_context(|| format!("writing {label}"))?;
    let checked = errors_of(dir);
    if !matches!(&checked, Ok(errors) if errors.is_empty()) {
        let put_back = match &before {
            Some(original) => replace(file, original),
            None => std::fs::remove_file(file),
        };
        put_back.with_context(|| format!("putting {label} back as it was"))?;
    }
    checked
}

/// Replaces `file`'s content at once: written beside it, then renamed over
/// it, so an interrupted write never leaves half a Promise.
fn replace(file: &Path, content: &[u8]) -> std::io::Result<()> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let staged = file.with_file_name(format!(".{name}.kubectl-kratix-{}", std::process::id()));
    let written = std::fs::write(&staged, content).and_then(|()| {
        if let Ok(metadata) = std::fs::metadata(file) {
            std::fs::set_permissions(&staged, metadata.permissions())?;
        }
        std::fs::rename(&staged, file)
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&staged);
    }
    written
}

/// The errors `promise validate` would print for the Promise in `dir`.
fn errors_of(dir: &Path) -> Result<Vec<String>> {
    let loaded = source::load(dir)?;
    Ok(loaded
        .promises
        .iter()
        .flat_map(|promise| error_lines(promise, &validate_promise(&promise.value)))
        .collect())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_that_cannot_be_validated_is_put_back() {
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = temp.path();
        std::fs::write(dir.join("api.yaml"), "a: [\n").expect("write");
        let dependencies = dir.join("dependencies.yaml");
        let value = serde_json::json!([{"kind": "Namespace"}]);

        let error = write_checked(dir, &dependencies, &value).unwrap_err();
        assert!(format!("{error:#}").contains("api.yaml"), "{error:#}");
        assert!(!dependencies.exists(), "a new file is removed again");

        let original = b"# kept as written\n- {kind: ConfigMap}\n";
        std::fs::write(&dependencies, original).expect("write");
        write_checked(dir, &dependencies, &value).unwrap_err();
        assert_eq!(std::fs::read(&dependencies).expect("read"), original);
        let left: Vec<_> = std::fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left.len(), 2, "no staged file left behind: {left:?}");
    }
}
