//! What the plugin's integration tests share: the built binary run in a
//! folder, its output as text, a YAML file read, and `promise validate`
//! expected to find nothing.

#![allow(dead_code)] // Each test crate uses its own share of these.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

pub fn kratix_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubectl-kratix"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("kubectl-kratix runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn yaml(path: &Path) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(path).expect("read")).expect("yaml")
}

pub fn validates(dir: &Path, path: &str) {
    let output = kratix_in(dir, &["promise", "validate", path]);
    assert!(
        output.status.success(),
        "{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    assert_eq!(text(&output.stdout), "", "no problems");
}
