//! Completion: the scripts for each shell, and kubectl's plugin completion going
//! through `krew/kubectl_complete-kratix` to the built binary.

use std::path::Path;
use std::process::Command;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_script_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef kubectl-kratix"),
        ("fish", "complete -c kubectl-kratix"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_kubectl-kratix"))
            .args(["completion", shell])
            .output()
            .expect("runs");
        assert!(output.status.success());
        let script = text(&output.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(script.contains("promise"), "{shell} completes the subcommands");
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_kubectl-kratix"))
        .args(["completion", "tcsh"])
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn kubectl_completes_plugin_arguments_through_the_helper() {
    let Ok(version) = Command::new("kubectl").args(["version", "--client"]).output() else {
        assert!(
            std::env::var("CI").is_err(),
            "kubectl is needed for the plugin completion test"
        );
        eprintln!("skipped: kubectl is not installed");
        return;
    };
    assert!(version.status.success());
    let bin = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        env!("CARGO_BIN_EXE_kubectl-kratix"),
        bin.path().join("kubectl-kratix"),
    )
    .expect("copy");
    let helper = Path::new(env!("CARGO_MANIFEST_DIR")).join("../krew/kubectl_complete-kratix");
    std::fs::copy(&helper, bin.path().join("kubectl_complete-kratix")).expect("copy helper");
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let complete = |words: &[&str]| {
        let output = Command::new("kubectl")
            .arg("__complete")
            .arg("kratix")
            .args(words)
            .env("PATH", &path)
            .output()
            .expect("kubectl runs");
        text(&output.stdout)
    };
    let promise = complete(&["promise", "in"]);
    assert!(promise.starts_with("init\t"), "{promise}");
    assert!(promise.trim_end().ends_with(":4"), "{promise}");
    let flags = complete(&["promise", "add-container", "--im"]);
    assert!(flags.starts_with("--image\n"), "{flags}");
    let version = Command::new("kubectl")
        .args(["kratix", "version"])
        .env("PATH", &path)
        .output()
        .expect("kubectl runs");
    assert_eq!(
        text(&version.stdout),
        format!("kubectl-kratix {}\n", env!("CARGO_PKG_VERSION"))
    );
}
