//! The workflow commands' offline behaviour through the built binary: their
//! help, usage errors (exit 2), and the errors they give before any cluster
//! is reached (a bad config.toml, a kubeconfig that is not there). Against a
//! cluster they are tested on the local platform (tests/tests/plugin_workflows.rs).

use std::process::{Command, Output};

fn kratix(args: &[&str], config: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubectl-kratix"))
        .args(args)
        .env("KUBECTL_KRATIX_CONFIG", config)
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .output()
        .expect("kubectl-kratix runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn workflows_help_names_each_command_and_its_flags() {
    let help = text(&kratix(&["workflows", "--help"], "/dev/null").stdout);
    assert!(
        help.contains("Usage: kubectl kratix workflows <COMMAND>"),
        "{help}"
    );
    for command in ["status", "trigger", "logs", "service-accounts", "[alias: sa]"] {
        assert!(help.contains(command), "{command} in {help}");
    }
    let cases: [(&[&str], &str, &[&str]); 4] = [
        (
            &["workflows", "status", "--help"],
            "Usage: kubectl kratix workflows status [OPTIONS] [PROMISE] [RESOURCE]",
            &[
                "--all-namespaces",
                "--selector <SELECTOR>",
                "--output <FORMAT>",
                "--watch",
                "--color <WHEN>",
                "--namespace <NAMESPACE>",
                "--context <NAME>",
                "--kubeconfig <PATH>",
                "--as <USER>",
                "--request-timeout <DURATION>",
            ],
        ),
        (
            &["workflows", "trigger", "--help"],
            "Usage: kubectl kratix workflows trigger [OPTIONS] <PROMISE> [RESOURCE]",
            &[
                "--all-resources",
                "--wait",
                "--timeout <DURATION>",
                "[default: 10m]",
            ],
        ),
        (
            &["workflows", "logs", "--help"],
            "Usage: kubectl kratix workflows logs [OPTIONS] <PROMISE> [RESOURCE]",
            &[
                "--pipeline <PIPELINE>",
                "--container <CONTAINER>",
                "--follow",
                "--since <DURATION>",
                "--tail <N>",
                "--timestamps",
                "--run <N>",
            ],
        ),
        (
            &["workflows", "sa", "--help"],
            "Usage: kubectl kratix workflows service-accounts [OPTIONS] <PROMISE> [RESOURCE]",
            &["--check <VERB> <RESOURCE>", "--output <FORMAT>"],
        ),
    ];
    for (args, usage, flags) in cases {
        let output = kratix(args, "/dev/null");
        assert!(output.status.success(), "{args:?}");
        let help = text(&output.stdout);
        assert!(help.contains(usage), "{usage} in {help}");
        for flag in flags {
            assert!(help.contains(flag), "{flag} in {help}");
        }
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["workflows", "trigger"][..],
        &["workflows", "logs", "redis", "--run", "1", "-f"],
        &["workflows", "status", "-o", "xml"],
        &["workflows", "sa", "redis", "--check", "get"],
        &["workflows", "trigger", "redis", "cache", "--all-resources"],
    ] {
        let output = kratix(args, "/dev/null");
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
}

#[test]
fn a_bad_config_file_is_named_with_what_it_may_hold() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "output = \"wide\"\ncolour = \"never\"\n").expect("write");
    let output = kratix(&["workflows", "status"], path.to_str().expect("utf-8"));
    assert_eq!(output.status.code(), Some(1));
    let error = text(&output.stderr);
    assert!(
        error.contains(&path.display().to_string()) && error.contains("colour"),
        "{error}"
    );
    assert!(error.contains("color = \"auto\"|\"always\"|\"never\""), "{error}");

    let missing = dir.path().join("absent.toml");
    let output = kratix(&["workflows", "status"], missing.to_str().expect("utf-8"));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("KUBECTL_KRATIX_CONFIG names"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn without_a_cluster_the_error_says_what_to_set() {
    let output = kratix(&["workflows", "status"], "/dev/null");
    assert_eq!(output.status.code(), Some(1));
    let error = text(&output.stderr);
    assert!(
        error.contains("no cluster to talk to") && error.contains("KUBECONFIG"),
        "{error}"
    );
}
