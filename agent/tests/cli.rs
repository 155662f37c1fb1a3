//! Flags the agent refuses at start, naming the flag and what is wrong, before it
//! touches a cluster.

use std::process::Command;

fn run_agent(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_kratix-agent"))
        .arg("run")
        .args(args)
        // No cluster is reached: the flags are refused first.
        .env("KUBECONFIG", "/nonexistent")
        .output()
        .expect("the agent runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_lease_or_namespace_no_api_server_would_take_is_refused_at_start() {
    for (flag, value, expected) in [
        ("--leader-elect-lease", "", "a Lease name must not be empty"),
        (
            "--leader-elect-lease",
            "Kratix Agent",
            "a Lease name must be lower-case",
        ),
        ("--leader-elect-namespace", "", "a namespace name"),
        ("--leader-elect-namespace", "a.b", "a namespace name"),
    ] {
        let (code, stderr) = run_agent(&[flag, value]);
        assert_eq!(code, Some(2), "{flag} {value:?}: {stderr}");
        assert!(
            stderr.contains(flag) && stderr.contains(expected),
            "{flag} {value:?}: {stderr}"
        );
    }
}
