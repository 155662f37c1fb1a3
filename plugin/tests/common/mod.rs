//! What the plugin's integration tests share: the built binary run in a
//! folder, its output as text, a YAML file read, `promise validate`
//! expected to find nothing, and generated trees compared with golden ones.

#![allow(dead_code)] // Each test crate uses its own share of these.

use std::collections::BTreeMap;
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

/// Every file under `root`, relative path → content.
pub fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).expect("inside").display().to_string();
                out.insert(relative, std::fs::read(&path).expect("read"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// The generated tree at `generated` is the golden tree `name`, byte for byte.
pub fn matches_golden(generated: &Path, name: &str) {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    // The chart copied into the image scaffold is the test's input, not generated.
    let mut generated_files = tree(generated);
    generated_files.retain(|path, _| !path.contains("/chart/"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let _ = std::fs::remove_dir_all(&golden);
        for (path, content) in &generated_files {
            let file = golden.join(path);
            std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
            std::fs::write(file, content).expect("write");
        }
    }
    let golden_files = tree(&golden);
    assert_eq!(
        generated_files.keys().collect::<Vec<_>>(),
        golden_files.keys().collect::<Vec<_>>(),
        "the files of {name}"
    );
    for (path, content) in &generated_files {
        assert_eq!(
            text(content),
            text(&golden_files[path]),
            "{name}/{path} differs from its golden file (UPDATE_GOLDEN=1 rewrites them)"
        );
    }
}

/// `promise render PROMISE_DIR --workflow resource/configure` of the
/// Promise's own example request, which must succeed; what it printed.
pub fn renders_its_example(dir: &Path, promise_dir: &str) -> String {
    let example = format!("{promise_dir}/example-resource.yaml");
    let rendered = kratix_in(
        dir,
        &[
            "promise",
            "render",
            promise_dir,
            "--workflow",
            "resource/configure",
            "--resource",
            &example,
        ],
    );
    assert!(rendered.status.success(), "{}", text(&rendered.stderr));
    text(&rendered.stdout)
}

/// The request `spec` schema of a Promise's (or a CRD's) single version.
pub fn spec_schema(object: &Value) -> &Value {
    let crd = if object["kind"] == "Promise" {
        &object["spec"]["api"]
    } else {
        object
    };
    &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
}
