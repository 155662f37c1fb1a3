//! `promise build DIR [-o FILE]`: a Promise in the split layout joined into
//! one `promise.yaml` (kratix-cli's `build promise`), validated first, the
//! same bytes for the same files (keys in order, one document).

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use kratix_shared::authoring::source::{self, Origin, PROMISE_FILE};
use kratix_shared::validate::validate_promise;

use super::validate::{error_lines, errors_summary, problem_line};
use crate::cli::BuildArgs;

pub fn run(args: &BuildArgs) -> Result<ExitCode> {
    if args.dir.join(PROMISE_FILE).is_file() {
        bail!(
            "{}: holds {PROMISE_FILE} already; build joins the split layout (api.yaml, dependencies.yaml, workflows/)",
            args.dir.display()
        );
    }
    let mut loaded = source::load(&args.dir)?;
    let promise = loaded.promises.remove(0);
    if !matches!(promise.origin, Origin::Split { .. }) {
        bail!("{}: is not a directory in the split layout", args.dir.display());
    }
    let validated = validate_promise(&promise.value);
    for problem in &validated.problems {
        eprintln!("{}", problem_line(&promise, problem));
    }
    let errors = error_lines(&promise, &validated).len();
    if errors > 0 {
        eprintln!("error: {}: nothing written", errors_summary(&args.dir, errors));
        return Ok(ExitCode::from(1));
    }
    let yaml = serde_saphyr::to_string(&promise.value).context("encoding the Promise as YAML")?;
    match &args.output {
        None => std::io::stdout().lock().write_all(yaml.as_bytes())?,
        Some(file) => {
            if file.exists() && !args.force {
                bail!("{}: exists; --force overwrites it", file.display());
            }
            std::fs::write(file, &yaml).with_context(|| format!("writing {}", file.display()))?;
            eprintln!("wrote Promise {} to {}", promise.name(), file.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
