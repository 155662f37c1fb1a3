//! `promise init --helm-chart`, run through the built binary on charts this
//! test writes: a directory with only `values.yaml` (the API inferred), a
//! packaged `.tgz` with a `values.schema.json` (translated, in the split
//! layout), a repository chart fetched by a stand-in `helm` that records its
//! arguments, and the errors. The generated trees are compared byte for byte
//! with the golden files under `tests/golden/` (`UPDATE_GOLDEN=1` rewrites
//! them), and each generated Promise must validate and render.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{kratix_in, matches_golden, renders_its_example, spec_schema, text, validates, yaml};
use serde_json::json;

/// A small chart `web` 1.0.0 in `dir/charts/web`, with these extra files.
fn chart(dir: &Path, files: &[(&str, &str)]) -> PathBuf {
    let chart = dir.join("charts/web");
    std::fs::create_dir_all(chart.join("templates")).expect("mkdir");
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: web\nversion: 1.0.0\ndescription: A web server\n",
    )
    .expect("write");
    std::fs::write(
        chart.join("templates/deployment.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n",
    )
    .expect("write");
    for (name, content) in files {
        std::fs::write(chart.join(name), content).expect("write");
    }
    chart
}

const VALUES: &str = "replicaCount: 1\nimage:\n  repository: nginx\n  tag: \"1.27\"\nservice:\n  type: ClusterIP\n  port: 80\nresources: {}\ningress:\n  enabled: false\n  hosts: []\n";

const SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["host"],
  "properties": {
    "host": {"type": "string", "description": "The public host name", "pattern": "^[a-z.-]+$"},
    "replicas": {"type": "integer", "minimum": 1, "default": 2},
    "tier": {"enum": ["small", "large"], "default": "small"},
    "extra": {"oneOf": [{"type": "string"}, {"type": "object"}]}
  }
}"#;

/// Packs `chart` as `helm package` does: `web/...` in `web-1.0.0.tgz` beside it.
fn package(chart: &Path) -> PathBuf {
    let parent = chart.parent().expect("parent");
    let archive = parent.join("web-1.0.0.tgz");
    let status = Command::new("tar")
        .args(["czf"])
        .arg(&archive)
        .arg("-C")
        .arg(parent)
        .arg("web")
        .status()
        .expect("tar runs");
    assert!(status.success());
    archive
}

#[test]
fn a_chart_directory_with_values_only_becomes_a_promise_and_its_image_scaffold() {
    let temp = tempfile::tempdir().expect("tempdir");
    chart(temp.path(), &[("values.yaml", VALUES)]);
    let init = [
        "promise",
        "init",
        "web",
        "--group",
        "example.org",
        "--kind",
        "Web",
        "--helm-chart",
        "charts/web",
        "--image",
        "example.org/web-chart:v0.1.0",
        "--dir",
        "promise",
    ];
    let output = kratix_in(temp.path(), &init);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let promise = temp.path().join("promise");
    validates(temp.path(), "promise");
    let spec = yaml(&promise.join("promise.yaml"));
    let schema = spec_schema(&spec);
    assert_eq!(
        schema["properties"]["replicaCount"],
        json!({"type": "integer", "default": 1})
    );
    assert_eq!(
        schema["properties"]["image"]["properties"]["tag"],
        json!({"type": "string", "default": "1.27"})
    );
    assert_eq!(
        schema["properties"]["resources"],
        json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
    );
    let chart_copy = promise.join("workflows/resource/configure/instance-configure/instance-configure/chart");
    assert!(
        chart_copy.join("templates/deployment.yaml").is_file(),
        "the chart is copied for the image"
    );
    let rendered = renders_its_example(temp.path(), "promise");
    assert!(rendered.contains("value: /helm-chart"), "{}", rendered);
    matches_golden(&promise, "helm-chart-directory");

    // Again, byte for byte, and never over the first without --force.
    let again = kratix_in(temp.path(), &init);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("already exist"),
        "{}",
        text(&again.stderr)
    );
    let forced: Vec<&str> = init.iter().copied().chain(["--force"]).collect();
    let output = kratix_in(temp.path(), &forced);
    assert!(output.status.success(), "{}", text(&output.stderr));
    matches_golden(&promise, "helm-chart-directory");
}

#[test]
fn a_packaged_chart_with_a_schema_becomes_a_split_promise_saying_what_was_dropped() {
    let temp = tempfile::tempdir().expect("tempdir");
    let chart = chart(
        temp.path(),
        &[("values.yaml", VALUES), ("values.schema.json", SCHEMA)],
    );
    package(&chart);
    let output = kratix_in(
        temp.path(),
        &[
            "promise",
            "init",
            "web",
            "--group",
            "example.org",
            "--kind",
            "Web",
            "--split",
            "--helm-chart",
            "charts/web-1.0.0.tgz",
            "--image",
            "example.org/web-chart:v0.1.0",
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let warnings = text(&output.stderr);
    assert!(
        warnings.contains(
            "warning: charts/web-1.0.0.tgz: the API cannot check spec.extra: `type: [\"string\", \"object\"]`"
        ),
        "{warnings}"
    );
    let promise = temp.path().join("web");
    validates(temp.path(), "web");
    let api = yaml(&promise.join("api.yaml"));
    let spec = spec_schema(&api);
    assert_eq!(spec["required"], json!(["host"]));
    assert_eq!(
        spec["properties"]["tier"],
        json!({"type": "string", "enum": ["small", "large"], "default": "small"})
    );
    assert!(
        spec["properties"].get("replicaCount").is_none(),
        "the schema is the API, not values.yaml"
    );
    let workflow = yaml(&promise.join("workflows/resource/configure/workflow.yaml"));
    assert_eq!(
        workflow[0]["spec"]["containers"][0]["env"],
        json!([{"name": "CHART_URL", "value": "/helm-chart/web-1.0.0.tgz"}])
    );
    let copy = promise
        .join("workflows/resource/configure/instance-configure/instance-configure/chart/web-1.0.0.tgz");
    assert_eq!(
        std::fs::read(copy).expect("the packaged chart, copied for the image"),
        std::fs::read(temp.path().join("charts/web-1.0.0.tgz")).expect("the packaged chart")
    );
    matches_golden(&promise, "helm-chart-packaged-split");
}

#[test]
fn a_repository_chart_is_fetched_with_helm_and_the_stage_fetches_it_again() {
    let temp = tempfile::tempdir().expect("tempdir");
    let chart = chart(temp.path(), &[("values.yaml", VALUES)]);
    let archive = package(&chart);
    let bin = temp.path().join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let record = temp.path().join("helm-calls");
    // A stand-in helm: records its arguments, then "pulls" the packaged chart.
    std::fs::write(
        bin.join("helm"),
        format!(
            "#!/bin/sh\necho \"$*\" >> {record}\nwhile [ $# -gt 0 ]; do [ \"$1\" = --destination ] && cp {archive} \"$2\"; shift; done\n",
            record = record.display(),
            archive = archive.display()
        ),
    )
    .expect("write");
    std::fs::set_permissions(
        bin.join("helm"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let output = Command::new(env!("CARGO_BIN_EXE_kubectl-kratix"))
        .args([
            "promise",
            "init",
            "web",
            "--group",
            "example.org",
            "--kind",
            "Web",
            "--helm-chart",
            "https://charts.example.org",
            "--chart-name",
            "web",
            "--chart-version",
            "1.0.0",
        ])
        .current_dir(temp.path())
        .env("PATH", path)
        .output()
        .expect("the plugin runs");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let calls = std::fs::read_to_string(&record).expect("helm was called");
    assert!(
        calls.starts_with("pull web --repo https://charts.example.org --version 1.0.0 --destination "),
        "{calls}"
    );
    validates(temp.path(), "web");
    let promise = yaml(&temp.path().join("web/promise.yaml"));
    let container = &promise["spec"]["workflows"]["resource"]["configure"][0]["spec"]["containers"][0];
    assert_eq!(
        container["image"],
        "ghcr.io/syntasso/kratix-cli/helm-resource-configure:v0.2.0"
    );
    assert_eq!(
        container["env"],
        json!([
            {"name": "CHART_URL", "value": "https://charts.example.org"},
            {"name": "CHART_NAME", "value": "web"},
            {"name": "CHART_VERSION", "value": "1.0.0"}
        ])
    );
    assert!(
        !temp.path().join("web/workflows").exists(),
        "no image to build for a repository chart"
    );
}

#[test]
fn chart_errors_name_the_file_or_flag() {
    let temp = tempfile::tempdir().expect("tempdir");
    chart(temp.path(), &[]);
    let base = [
        "promise",
        "init",
        "web",
        "--group",
        "example.org",
        "--kind",
        "Web",
    ];
    let run = |extra: &[&str], path: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kubectl-kratix"));
        command.args(base).args(extra).current_dir(temp.path());
        if let Some(path) = path {
            command.env("PATH", path);
        }
        let output = command.output().expect("the plugin runs");
        assert_ne!(output.status.code(), Some(0));
        text(&output.stderr)
    };
    let said = run(&["--helm-chart", "charts/web", "--image", "x/y:v1"], None);
    assert!(
        said.contains("charts/web: has neither values.schema.json nor values.yaml"),
        "{said}"
    );
    std::fs::write(temp.path().join("charts/web/values.yaml"), "a: 1\n").expect("write");
    let said = run(&["--helm-chart", "charts/web"], None);
    assert!(
        said.contains("--image: a chart on disk is baked into the pipeline's image"),
        "{said}"
    );
    let said = run(&["--helm-chart", "nowhere"], None);
    assert!(
        said.contains("--helm-chart nowhere: no such directory or file"),
        "{said}"
    );
    let said = run(
        &["--helm-chart", "oci://ghcr.io/example/web"],
        Some("/nonexistent"),
    );
    assert!(said.contains("needs helm on PATH"), "{said}");
    let said = run(
        &[
            "--helm-chart",
            "https://charts.example.org",
            "--chart-name=--untar",
        ],
        None,
    );
    assert!(said.contains("may not start with '-'"), "{said}");
    let said = run(
        &[
            "--helm-chart",
            "charts/web",
            "--image",
            "x/y:v1",
            "--dir",
            "charts/web/promise",
        ],
        None,
    );
    assert!(said.contains("is inside the chart"), "{said}");
    assert!(
        !temp.path().join("charts/web/promise").exists(),
        "nothing written"
    );
    let said = run(
        &[
            "--helm-chart",
            "charts/web",
            "--pipeline",
            "resource/configure/x",
            "--image",
            "x/y:v1",
        ],
        None,
    );
    assert!(said.contains("cannot be used with"), "{said}");
    assert!(!temp.path().join("web/promise.yaml").exists(), "nothing written");
}
