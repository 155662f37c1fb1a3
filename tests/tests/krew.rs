//! The krew manifest and release archive: the committed `krew/kratix.yaml`
//! follows krew's rules; `krew/build-release` builds this platform's archive
//! reproducibly and writes its real sha256 into a manifest; and the archive laid
//! out the way krew installs it (store directory, `kubectl-kratix` linked into
//! krew's bin) runs as `kubectl kratix version`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sha2::Digest as _;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn manifest(path: &Path) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(path).expect("manifest")).expect("yaml")
}

fn sha256_of(path: &Path) -> String {
    let bytes = std::fs::read(path).expect("archive");
    sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn build_release(manifest: &Path, dist: &Path) -> PathBuf {
    let output = Command::new(root().join("krew/build-release"))
        .args(["--manifest"])
        .arg(manifest)
        .arg("--dist")
        .arg(dist)
        // The packaging is what is under test; the debug build is already there.
        .args(["--profile", "dev"])
        .output()
        .expect("build-release runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

#[test]
fn the_committed_manifest_follows_krews_rules() {
    let committed = manifest(&root().join("krew/kratix.yaml"));
    assert_eq!(
        kratix_krew::problems(&committed, "kratix.yaml"),
        Vec::<String>::new()
    );
    assert_eq!(
        committed["spec"]["version"],
        format!("v{}", env!("CARGO_PKG_VERSION")),
        "the manifest's version is the workspace's"
    );
}

#[test]
fn a_release_archive_installs_the_way_krew_lays_it_out_and_runs_through_kubectl() {
    let work = tempfile::tempdir().expect("tempdir");
    let copy = work.path().join("kratix.yaml");
    std::fs::copy(root().join("krew/kratix.yaml"), &copy).expect("copy");
    let dist = work.path().join("dist");
    let archive = build_release(&copy, &dist);
    let sha = sha256_of(&archive);
    let again = build_release(&copy, &dist);
    assert_eq!(sha256_of(&again), sha, "the archive is reproducible");

    let updated = manifest(&copy);
    assert_eq!(
        kratix_krew::problems(&updated, "kratix.yaml"),
        Vec::<String>::new()
    );
    let os = if cfg!(target_os = "macos") {
        "darwin"
    } else {
        std::env::consts::OS
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let platform = updated["spec"]["platforms"]
        .as_array()
        .expect("platforms")
        .iter()
        .find(|p| p["selector"]["matchLabels"]["os"] == os && p["selector"]["matchLabels"]["arch"] == arch)
        .cloned()
        .expect("this platform's entry");
    assert_eq!(
        platform["sha256"], sha,
        "the manifest holds the archive's real sha256"
    );
    let name = archive
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    assert!(
        platform["uri"]
            .as_str()
            .unwrap_or_default()
            .ends_with(&format!("/{name}"))
    );

    // krew: extract into store/<plugin>/<version>/, keep what `files` names, link `bin`.
    let krew = work.path().join("krew");
    let version = updated["spec"]["version"].as_str().expect("version").to_owned();
    let extracted = work.path().join("extracted");
    std::fs::create_dir_all(&extracted).expect("dir");
    let untar = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&extracted)
        .status()
        .expect("tar runs");
    assert!(untar.success());
    let store = krew.join("store/kratix").join(&version);
    std::fs::create_dir_all(&store).expect("store");
    for file in platform["files"].as_array().expect("files") {
        let from = file["from"].as_str().expect("from");
        std::fs::copy(extracted.join(from), store.join(from)).unwrap_or_else(|e| panic!("{from}: {e}"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(extracted.join(from))
                .expect("meta")
                .permissions()
                .mode();
            std::fs::set_permissions(store.join(from), std::fs::Permissions::from_mode(mode)).expect("mode");
        }
    }
    assert!(store.join("LICENSE").is_file(), "the LICENSE is extracted");
    let bin = krew.join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        store.join(platform["bin"].as_str().expect("bin")),
        bin.join("kubectl-kratix"),
    )
    .expect("link");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let output = Command::new("kubectl")
        .args(["kratix", "version"])
        .env("PATH", &path)
        .output()
        .expect("kubectl runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("kubectl-kratix {}\n", env!("CARGO_PKG_VERSION"))
    );
}
