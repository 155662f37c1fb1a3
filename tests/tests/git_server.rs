//! The state-store tests' Git server (`kratix_tests::fixtures::git_server`) works as a
//! real one: a push over HTTP with basic auth and a clone over SSH with a key
//! and known_hosts see the same commit, and a wrong password is refused. The
//! credentials travel as the agent will pass them: an `http.extraHeader` from
//! the environment and a `GIT_SSH_COMMAND`, never in a URL.

use std::path::Path;
use std::process::{Command, Output};

use base64::Engine as _;
use kratix_tests::fixtures::git_server::{GitServer, PASSWORD, USERNAME};

fn git(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Output {
    Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "kratix")
        .env("GIT_AUTHOR_EMAIL", "kratix@example.org")
        .env("GIT_COMMITTER_NAME", "kratix")
        .env("GIT_COMMITTER_EMAIL", "kratix@example.org")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("running git")
}

fn basic_auth(user: &str, password: &str) -> Vec<(&'static str, String)> {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    vec![
        ("GIT_CONFIG_COUNT", "1".to_owned()),
        ("GIT_CONFIG_KEY_0", "http.extraHeader".to_owned()),
        ("GIT_CONFIG_VALUE_0", format!("Authorization: Basic {token}")),
    ]
}

fn ok(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn pushes_over_http_are_seen_over_ssh_and_a_wrong_password_is_refused() {
    let server = GitServer::start().expect("git server");
    server.create_repo("state").expect("repository");
    let work = tempfile::tempdir().expect("work dir");
    let http = basic_auth(USERNAME, PASSWORD);

    let clone = work.path().join("http");
    ok(
        &git(
            work.path(),
            &["clone", "--quiet", &server.http_url("state"), "http"],
            &http,
        ),
        "clone over HTTP",
    );
    std::fs::write(clone.join("hello.yaml"), "kind: Hello\n").expect("file");
    ok(&git(&clone, &["add", "-A"], &[]), "add");
    ok(&git(&clone, &["commit", "--quiet", "-m", "first"], &[]), "commit");
    ok(
        &git(&clone, &["push", "--quiet", "origin", "HEAD:main"], &http),
        "push over HTTP",
    );
    let pushed = String::from_utf8_lossy(&git(&clone, &["rev-parse", "HEAD"], &[]).stdout)
        .trim()
        .to_owned();

    let key = work.path().join("key");
    std::fs::write(&key, server.client_key().expect("client key")).expect("key file");
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("key mode");
    let known = work.path().join("known_hosts");
    std::fs::write(&known, server.known_hosts().expect("known hosts")).expect("known_hosts file");
    let ssh = vec![(
        "GIT_SSH_COMMAND",
        format!(
            "ssh -i {} -o IdentitiesOnly=yes -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o BatchMode=yes",
            key.display(),
            known.display()
        ),
    )];
    ok(
        &git(
            work.path(),
            &["clone", "--quiet", &server.ssh_url("state"), "ssh"],
            &ssh,
        ),
        "clone over SSH",
    );
    let seen = String::from_utf8_lossy(&git(&work.path().join("ssh"), &["rev-parse", "HEAD"], &[]).stdout)
        .trim()
        .to_owned();
    assert_eq!(seen, pushed);
    assert_eq!(
        std::fs::read_to_string(work.path().join("ssh/hello.yaml")).expect("pushed file"),
        "kind: Hello\n"
    );

    let refused = git(
        work.path(),
        &["clone", "--quiet", &server.http_url("state"), "refused"],
        &basic_auth(USERNAME, "wrong"),
    );
    assert!(!refused.status.success(), "a wrong password must be refused");
    let message = String::from_utf8_lossy(&refused.stderr);
    // A 401 with credentials already sent: git would ask for others, and may not.
    assert!(
        ["401", "Authentication failed", "could not read Username"]
            .iter()
            .any(|m| message.contains(m)),
        "{message}"
    );
}
