//! Writing the outputs of many resources to a Git state store: the agent's
//! writer, which commits and pushes every pending placement as one batch, against
//! the reference's way (one commit and one push per placement on a
//! warm clone), both with the `git` command line against the same local Git
//! server over HTTP with basic auth. Prints both times and their ratio.
//!
//! `cargo bench -p kratix-agent --bench git_writes` (`GIT_WRITES_RESOURCES=N`
//! for another count than 1,000).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use kratix_agent::state_store::credentials::GitAuth;
use kratix_agent::state_store::git::GitRepo;
use kratix_shared::api::state_store::GitStateStoreSpec;
use kratix_shared::api::work::Workload;
use kratix_shared::codec::compression::compress;
use kratix_shared::delivery::state_batch::{Change, PlacementRecord, Target};
use kratix_shared::delivery::state_layout::{self, Layout};
use kratix_tests::fixtures::git_server::{GitServer, PASSWORD, USERNAME};

fn placements(count: usize) -> Vec<PlacementRecord> {
    (0..count)
        .map(|i| PlacementRecord {
            namespace: "default".to_owned(),
            request_namespace: None,
            name: format!("redis-orders-{i}.dev-5058f"),
            promise: "redis".to_owned(),
            resource: format!("orders-{i}"),
            pipeline: Some("instance".to_owned()),
            group_id: "5058f1af8388633f609cadb75a75dc9d".to_owned(),
            workloads: vec![
                Workload {
                    filepath: "redis.yaml".to_owned(),
                    content: compress(format!("apiVersion: v1\nkind: Redis\nmetadata:\n  name: orders-{i}\nspec:\n  size: small\n").as_bytes()),
                },
                Workload {
                    filepath: "secret.yaml".to_owned(),
                    content: compress(format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: orders-{i}-auth\n").as_bytes()),
                },
            ],
        })
        .collect()
}

fn target() -> Target {
    Target {
        destination: "dev".to_owned(),
        store_path: "platform".to_owned(),
        destination_path: "dev".to_owned(),
        layout: Layout::Nested,
    }
}

fn git(dir: &Path, args: &[&str], header: &str) {
    let output = Command::new("git")
        .args(["-c", &format!("http.extraHeader={header}")])
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn commits(server: &GitServer, repo: &str) -> usize {
    server.head(repo, "main").map(|(_, count)| count).unwrap_or(0)
}

/// The reference's way: per placement, rewrite its directory in a warm clone,
/// commit, push.
fn reference(server: &GitServer, placements: &[PlacementRecord], header: &str) -> Duration {
    let repo = "reference";
    server.create_repo(repo).expect("repo");
    let work = tempfile::tempdir().expect("tempdir");
    let clone = work.path().join("clone");
    git(
        work.path(),
        &["clone", "--quiet", &server.http_url(repo), "clone"],
        header,
    );
    git(&clone, &["config", "user.name", "kratix"], header);
    git(&clone, &["config", "user.email", "kratix@kratix.io"], header);
    let started = Instant::now();
    for placement in placements {
        let write = state_layout::placement_write("platform", "dev", &Layout::Nested, &placement.view())
            .expect("layout");
        if let Some(dir) = &write.owned_directory {
            let _ = std::fs::remove_dir_all(clone.join(dir));
        }
        for (path, content) in &write.files {
            let file = clone.join(path);
            std::fs::create_dir_all(file.parent().expect("parent")).expect("dir");
            std::fs::write(file, content).expect("write");
        }
        git(&clone, &["add", "--all", "."], header);
        git(
            &clone,
            &[
                "commit",
                "--quiet",
                "-m",
                &format!("Update from: {}", placement.name),
            ],
            header,
        );
        git(
            &clone,
            &["push", "--quiet", "origin", "HEAD:refs/heads/main"],
            header,
        );
    }
    let took = started.elapsed();
    assert_eq!(
        commits(server, repo),
        placements.len(),
        "one commit per placement"
    );
    took
}

/// The agent's writer: every placement that is pending when it starts goes into
/// one commit and one push.
fn batched(server: &GitServer, placements: &[PlacementRecord], auth: &GitAuth) -> Duration {
    let repo = "batched";
    server.create_repo(repo).expect("repo");
    let work = tempfile::tempdir().expect("tempdir");
    let spec = GitStateStoreSpec {
        url: server.http_url(repo),
        path: Some("platform".to_owned()),
        branch: Some("main".to_owned()),
        ..GitStateStoreSpec::default()
    };
    let mut writer = GitRepo::new("GitStateStore bench".to_owned(), &spec, work.path().join("clone"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // A warm clone, as for the reference.
    runtime.block_on(writer.probe(auth)).expect("probe");
    let changes: Vec<Change> = placements
        .iter()
        .map(|placement| Change::Write {
            target: target(),
            placement: placement.clone(),
            aggregate: Vec::new(),
        })
        .collect();
    let started = Instant::now();
    let outcome = runtime
        .block_on(writer.write_batch(&changes, auth, Duration::from_secs(5)))
        .expect("batch written");
    let took = started.elapsed();
    assert!(outcome.results.iter().all(|r| matches!(r, Ok(true))));
    let files = server.files(repo, "main").expect("files");
    assert_eq!(files.len(), placements.len() * 2, "every file is there");
    assert_eq!(commits(server, repo), 1);
    took
}

fn main() {
    let count: usize = std::env::var("GIT_WRITES_RESOURCES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let server = GitServer::start().unwrap_or_else(|e| panic!("{e}"));
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{USERNAME}:{PASSWORD}"));
    let header = format!("Authorization: Basic {encoded}");
    let auth = GitAuth::Basic {
        header: header.clone(),
        secrets: vec![PASSWORD.to_owned(), encoded],
    };
    let placements = placements(count);
    println!(
        "git_writes: {count} resources, one placement of two files each, to a local Git server over HTTP"
    );
    let ours = batched(&server, &placements, &auth);
    println!(
        "  kratix-agent (one batch, 1 commit):         {:>9.2} s",
        ours.as_secs_f64()
    );
    let theirs = reference(&server, &placements, &header);
    println!(
        "  reference (commit+push per placement, {count} commits): {:>9.2} s",
        theirs.as_secs_f64()
    );
    println!(
        "  ratio: {:.1}x faster (target: at least 10x)",
        theirs.as_secs_f64() / ours.as_secs_f64()
    );
}
