//! The container scaffolds `promise init --language` and `promise
//! add-container --language` write, run on this machine as a pod would run
//! them: the bash one with yq, the Python one with the Kratix Python SDK from
//! the package index, the Go one compiled with the standard library alone
//! (no module proxy) and run. Each reads a request from folders laid out as
//! `/kratix` (pointed at with `KRATIX_INPUT`, `KRATIX_OUTPUT` and
//! `KRATIX_METADATA`) and must write its output and status there. No
//! platform needed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kratix_tests::fixtures::tools;
use kratix_tests::suites::promise_run::kratix_in;
use serde_json::Value;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn succeeded(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what}: {}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// `promise init demo` with a resource configure pipeline `instance` whose
/// container `demo` is written in `language`; its scaffold directory.
fn scaffold(dir: &Path, language: &str) -> PathBuf {
    let output = kratix_in(
        dir,
        &[
            "promise",
            "init",
            "demo",
            "--group",
            "example.org",
            "--kind",
            "Demo",
            "--pipeline",
            "resource/configure/instance",
            "--image",
            "example.org/demo:v1",
            "--language",
            language,
        ],
    )
    .output()
    .expect("the plugin runs");
    succeeded(&output, "promise init");
    dir.join("demo/workflows/resource/configure/instance/demo")
}

/// Folders laid out as `/kratix`, with a request `shop/orders` as the object.
struct KratixFolders {
    root: tempfile::TempDir,
}

impl KratixFolders {
    fn new() -> Self {
        let root = tempfile::tempdir().expect("tempdir");
        for folder in ["input", "output", "metadata"] {
            std::fs::create_dir_all(root.path().join(folder)).expect("mkdir");
        }
        std::fs::write(
            root.path().join("input/object.yaml"),
            "apiVersion: example.org/v1alpha1\nkind: Demo\nmetadata:\n  name: orders\n  namespace: shop\nspec:\n  size: large\n",
        )
        .expect("write");
        KratixFolders { root }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.path().join(relative)
    }

    /// The variables Kratix sets on a resource workflow's container, and the
    /// folders in place of `/kratix`.
    fn environment(&self, action: &str, pipeline: &str) -> Vec<(String, String)> {
        [
            ("KRATIX_INPUT", self.path("input").display().to_string()),
            ("KRATIX_OUTPUT", self.path("output").display().to_string()),
            ("KRATIX_METADATA", self.path("metadata").display().to_string()),
            ("KRATIX_WORKFLOW_TYPE", "resource".to_owned()),
            ("KRATIX_WORKFLOW_ACTION", action.to_owned()),
            ("KRATIX_PIPELINE_NAME", pipeline.to_owned()),
            ("KRATIX_PROMISE_NAME", "demo".to_owned()),
            ("KRATIX_OBJECT_KIND", "Demo".to_owned()),
            ("KRATIX_OBJECT_GROUP", "example.org".to_owned()),
            ("KRATIX_OBJECT_VERSION", "v1alpha1".to_owned()),
            ("KRATIX_OBJECT_NAME", "orders".to_owned()),
            ("KRATIX_OBJECT_NAMESPACE", "shop".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    fn yaml(&self, relative: &str) -> Value {
        let file = self.path(relative);
        let content = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        serde_saphyr::from_str(&content).unwrap_or_else(|e| panic!("{}: {e}\n{content}", file.display()))
    }

    /// What a configure container must leave: a ConfigMap for the request and a status.
    fn expect_configured(&self) -> Value {
        let configmap = self.yaml("output/configmap.yaml");
        assert_eq!(configmap["kind"], "ConfigMap");
        assert_eq!(configmap["metadata"]["name"], "orders");
        assert_eq!(configmap["metadata"]["namespace"], "shop");
        assert_eq!(configmap["data"]["promise"], "demo");
        assert_eq!(
            self.yaml("metadata/status.yaml")["message"],
            "Demo orders configured by instance"
        );
        configmap
    }
}

#[test]
fn the_bash_scaffold_reads_the_request_with_yq_and_writes_output_and_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let container = scaffold(dir.path(), "bash");
    let yq = tools::yq().expect("yq");
    let path = format!(
        "{}:{}",
        yq.parent().expect("yq's folder").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let kratix = KratixFolders::new();
    let output = Command::new("sh")
        .arg(container.join("scripts/pipeline.sh"))
        .envs(kratix.environment("configure", "instance"))
        .env("PATH", path)
        .output()
        .expect("sh runs");
    succeeded(&output, "pipeline.sh");
    assert!(
        text(&output.stdout).contains("instance (resource/configure) for Demo shop/orders"),
        "{}",
        text(&output.stdout)
    );
    kratix.expect_configured();
}

#[test]
fn the_python_scaffold_uses_the_kratix_sdk_for_configure_and_delete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let container = scaffold(dir.path(), "python");
    let dockerfile = std::fs::read_to_string(container.join("Dockerfile")).expect("Dockerfile");
    assert!(
        dockerfile.contains(&format!("kratix-sdk=={}", tools::PYTHON_SDK_VERSION)),
        "{dockerfile}"
    );
    let python = tools::python_with_kratix_sdk().expect("a Python with the SDK");
    let kratix = KratixFolders::new();
    let output = Command::new(&python)
        .arg(container.join("scripts/pipeline.py"))
        .envs(kratix.environment("configure", "instance"))
        .output()
        .expect("python runs");
    succeeded(&output, "pipeline.py");
    kratix.expect_configured();

    // A delete container writes no output, only its status.
    let added = kratix_in(
        &dir.path().join("demo"),
        &[
            "promise",
            "add-container",
            "resource/delete/teardown",
            "--image",
            "example.org/teardown:v1",
            "--language",
            "python",
        ],
    )
    .output()
    .expect("the plugin runs");
    succeeded(&added, "promise add-container");
    let teardown = dir
        .path()
        .join("demo/workflows/resource/delete/teardown/teardown/scripts/pipeline.py");
    let deleting = KratixFolders::new();
    let output = Command::new(&python)
        .arg(&teardown)
        .envs(deleting.environment("delete", "teardown"))
        .output()
        .expect("python runs");
    succeeded(&output, "the delete pipeline.py");
    assert!(!deleting.path("output/configmap.yaml").exists());
    assert_eq!(
        deleting.yaml("metadata/status.yaml")["message"],
        "Demo orders deleted by teardown"
    );
}

#[test]
fn the_go_scaffold_builds_with_the_standard_library_alone_and_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let container = scaffold(dir.path(), "go");
    let build = tempfile::tempdir().expect("tempdir");
    let binary = build.path().join("pipeline");
    let output = Command::new("go")
        .args(["build", "-o"])
        .arg(&binary)
        .arg(".")
        .current_dir(container.join("scripts"))
        .env("GOCACHE", build.path().join("cache"))
        .env("GOFLAGS", "-mod=mod")
        // Nothing fetched: the scaffold needs no module but the standard library.
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local")
        .env("CGO_ENABLED", "0")
        .output()
        .expect("go runs (it builds the local platform's components too)");
    succeeded(&output, "go build");
    let kratix = KratixFolders::new();
    let output = Command::new(&binary)
        .envs(kratix.environment("configure", "instance"))
        .output()
        .expect("the pipeline runs");
    succeeded(&output, "the Go pipeline");
    let configmap = kratix.expect_configured();
    let request = configmap["data"]["request.yaml"].as_str().unwrap_or_default();
    assert!(request.contains("size: large"), "the request as read: {request}");
}
