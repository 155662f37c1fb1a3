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

/// A kubeconfig whose user's credentials come from an exec plugin that never
/// answers (a login that waits for someone at a browser).
fn hanging_kubeconfig(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n\
         clusters: [{name: k, cluster: {server: 'https://127.0.0.1:1'}}]\n\
         contexts: [{name: c, context: {cluster: k, user: u}}]\n\
         users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: sleep, args: ['300'], interactiveMode: IfAvailable}}}]\n",
    )
    .expect("kubeconfig");
    path
}

#[test]
fn completion_never_waits_for_a_credential_plugin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = hanging_kubeconfig(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubectl-kratix"))
        .args(["__complete", "workflows", "status", ""])
        .env("KUBECONFIG", &kubeconfig)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waits") {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let status = status.expect("completion waited on the credential plugin instead of giving up after 2 s");
    assert!(status.success(), "{status}");
}
