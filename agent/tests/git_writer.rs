//! The Git writer against a hostile store and a hostile batch, on a local bare
//! repository (no server, no cluster): a symbolic link committed to the store
//! cannot carry a write outside the clone, and a change the clone cannot take
//! fails alone while the rest of its batch lands.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use kratix_agent::state_store::credentials::GitAuth;
use kratix_agent::state_store::git::GitRepo;
use kratix_shared::api::state_store::GitStateStoreSpec;
use kratix_shared::delivery::batch_fixtures;
use kratix_shared::delivery::state_batch::Change;
use kratix_shared::delivery::state_layout::Layout;

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A bare repository whose `main` holds what `seed` puts in a work tree.
fn store(root: &Path, seed: impl FnOnce(&Path)) -> String {
    let bare = root.join("store.git");
    let work = root.join("seed");
    std::fs::create_dir_all(&bare).expect("bare dir");
    std::fs::create_dir_all(&work).expect("seed dir");
    git(&bare, &["init", "--quiet", "--bare", "--initial-branch=main"]);
    git(&work, &["init", "--quiet", "--initial-branch=main"]);
    seed(&work);
    git(&work, &["add", "--all", "."]);
    git(&work, &["commit", "--quiet", "--allow-empty", "-m", "seed"]);
    git(
        &work,
        &["push", "--quiet", bare.to_str().expect("utf-8"), "HEAD:main"],
    );
    bare.to_str().expect("utf-8").to_owned()
}

fn repo(url: &str, dir: &Path) -> GitRepo {
    let spec = GitStateStoreSpec {
        url: url.to_owned(),
        branch: Some("main".to_owned()),
        ..GitStateStoreSpec::default()
    };
    GitRepo::new("GitStateStore test".to_owned(), &spec, dir.join("clone"))
}

fn write(name: &str, files: &[(&str, &str)], layout: Layout) -> Change {
    batch_fixtures::write("", layout, batch_fixtures::placement(name, files))
}

/// The files of `main` in the bare repository.
fn tree(bare: &str) -> Vec<String> {
    git(Path::new(bare), &["ls-tree", "-r", "--name-only", "main"])
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn a_symbolic_link_in_the_store_cannot_carry_a_write_outside_the_clone() {
    let root = tempfile::tempdir().expect("tempdir");
    let outside = root.path().join("outside");
    std::fs::create_dir_all(&outside).expect("outside dir");
    let target = outside.clone();
    let bare = store(root.path(), move |work| {
        std::os::unix::fs::symlink(&target, work.join("dev")).expect("symlink");
    });
    let mut writer = repo(&bare, &root.path().join("agent"));
    let changes = [write("cache", &[("x.yaml", "a: 1\n")], Layout::Flat)];
    let outcome = writer
        .write_batch(&changes, &GitAuth::None, Duration::ZERO)
        .await
        .expect("the batch is written");
    let error = outcome.results[0].as_ref().expect_err("refused").to_string();
    assert!(error.contains("dev"), "{error}");
    assert_eq!(
        std::fs::read_dir(&outside).expect("outside").count(),
        0,
        "nothing was written through the link"
    );
    assert_eq!(tree(&bare), ["dev"], "the store is unchanged");
}

#[tokio::test]
async fn a_change_the_clone_cannot_take_fails_alone_and_the_batch_lands() {
    let root = tempfile::tempdir().expect("tempdir");
    let bare = store(root.path(), |_| {});
    let mut writer = repo(&bare, &root.path().join("agent"));
    // Within the store's path limit, but past the kernel's once the clone's own
    // directory is in front of it.
    let deep = format!("{}/x.yaml", vec!["d".repeat(200); 20].join("/"));
    let changes = [
        write("good-1", &[("x.yaml", "a: 1\n")], Layout::Nested),
        write("too-deep", &[(&deep, "b: 1\n")], Layout::Nested),
        write("good-2", &[("x.yaml", "c: 1\n")], Layout::Nested),
    ];
    let outcome = writer
        .write_batch(&changes, &GitAuth::None, Duration::ZERO)
        .await
        .expect("the batch is written");
    assert!(matches!(outcome.results[0], Ok(true)), "{:?}", outcome.results);
    assert!(matches!(outcome.results[2], Ok(true)), "{:?}", outcome.results);
    let error = outcome.results[1].as_ref().expect_err("too deep").to_string();
    assert!(error.contains("nothing of this change was written"), "{error}");
    let files = tree(&bare);
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(
        files
            .iter()
            .all(|f| f.ends_with("/x.yaml") && !f.contains("too-deep")),
        "{files:?}"
    );
    // The next batch, without the bad change, lands alone.
    let again = [write("good-3", &[("x.yaml", "d: 1\n")], Layout::Nested)];
    let outcome = writer
        .write_batch(&again, &GitAuth::None, Duration::ZERO)
        .await
        .expect("the next batch is written");
    assert!(matches!(outcome.results[0], Ok(true)), "{:?}", outcome.results);
    assert_eq!(tree(&bare).len(), 3);
}
