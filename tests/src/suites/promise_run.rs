//! `kubectl kratix promise run` from a suite: the command over the Promise a
//! test wrote as `promise.yaml` in its directory, and its `-o json` result.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::suites::support::plugin_path_dir;

/// `kubectl kratix ARGS` in `dir`, without colour; add the test's own flags
/// and environment.
pub fn kratix_in(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(plugin_path_dir().join("kubectl-kratix"));
    command.args(args).current_dir(dir).env("NO_COLOR", "1");
    command
}

/// `promise run promise.yaml --workflow resource/configure --output-dir out`
/// in `dir`, without colour; add the test's own flags.
pub fn command(dir: &Path) -> Command {
    kratix_in(
        dir,
        &[
            "promise",
            "run",
            "promise.yaml",
            "--workflow",
            "resource/configure",
            "--output-dir",
            "out",
        ],
    )
}

/// The `-o json` result on stdout, or a panic showing both streams.
pub fn json_result(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {}\nstderr {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}
