//! The offline commands, run through the built binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const VALID: &str = r#"apiVersion: platform.kratix.io/v1alpha1
kind: Promise
metadata:
  name: database
spec:
  api:
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: databases.example.org
    spec:
      group: example.org
      names: {kind: Database, plural: databases, singular: database}
      scope: Namespaced
      versions:
      - name: v1
        served: true
        storage: true
        schema:
          openAPIV3Schema:
            type: object
            properties:
              spec:
                type: object
                properties:
                  size: {type: string, default: small}
  workflows:
    resource:
      configure:
      - apiVersion: platform.kratix.io/v1alpha1
        kind: Pipeline
        metadata: {name: instance}
        spec:
          containers:
          - {name: create, image: example/create:v1}
    promise:
      configure:
      - apiVersion: platform.kratix.io/v1alpha1
        kind: Pipeline
        metadata: {name: deps}
        spec:
          containers:
          - {name: install, image: example/install:v1}
"#;

fn kratix(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubectl-kratix"))
        .args(args)
        .env_remove("PIPELINE_ADAPTER_IMG")
        .env_remove("PIPELINE_ADAPTER_PULL_SECRET")
        .output()
        .expect("kubectl-kratix runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write fixture");
    path
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

#[test]
fn validate_accepts_a_valid_promise_quietly() {
    let temp = tempfile::tempdir().expect("tempdir");
    let file = write(temp.path(), "promise.yaml", VALID);
    let output = kratix(&["promise", "validate", path_str(&file)]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    assert_eq!(stderr(&output), "1 Promise checked: 0 errors, 0 warnings\n");
}

#[test]
fn validate_prints_one_line_per_problem_and_exits_1() {
    let temp = tempfile::tempdir().expect("tempdir");
    let broken = VALID
        .replace(
            "containers:\n          - {name: create",
            "contianers:\n          - {name: create",
        )
        .replace("scope: Namespaced", "scope: Cluster");
    let file = write(temp.path(), "promise.yaml", &broken);
    let output = kratix(&["promise", "validate", path_str(&file)]);
    assert_eq!(output.status.code(), Some(1));
    let f = path_str(&file);
    assert_eq!(
        stdout(&output),
        format!(
            "{f}: spec.api.spec.scope: promise api needs to be namespace scoped: set scope: Namespaced\n\
             {f}: spec.workflows.resource.configure[0].spec.contianers: unknown field \"contianers\"\n\
             {f}: spec.workflows.resource.configure[0].spec.containers: a pipeline needs at least one container\n"
        )
    );
    assert_eq!(stderr(&output), "1 Promise checked: 3 errors, 0 warnings\n");
}

#[test]
fn validate_names_the_document_in_multi_document_files() {
    let temp = tempfile::tempdir().expect("tempdir");
    let second = VALID
        .replace("name: database\n", "name: second\n")
        .replace("example/install:v1", "\"\"");
    let file = write(temp.path(), "all.yaml", &format!("{VALID}---\n{second}"));
    let output = kratix(&["promise", "validate", path_str(&file)]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout(&output),
        format!(
            "{}: document 2 (Promise second): spec.workflows.promise.configure[0].spec.containers[0].image: container \"install\" needs an image\n",
            path_str(&file)
        )
    );
}

#[test]
fn warnings_fail_only_with_strict() {
    let temp = tempfile::tempdir().expect("tempdir");
    let with_warning = VALID.replace(
        "storage: true\n",
        "storage: true\n        subresources: {status: {}}\n        Deprecated: false\n",
    );
    let file = write(temp.path(), "promise.yaml", &with_warning);
    let output = kratix(&["promise", "validate", path_str(&file)]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(
        stdout(&output).contains(
            "spec.api.spec.versions[0].Deprecated: warning: \"Deprecated\" is read as \"deprecated\""
        ),
        "{}",
        stdout(&output)
    );
    let strict = kratix(&["promise", "validate", "--strict", path_str(&file)]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(stderr(&strict).contains("(warnings fail with --strict)"));
}

#[test]
fn yaml_syntax_errors_name_file_line_and_column() {
    let temp = tempfile::tempdir().expect("tempdir");
    let file = write(
        temp.path(),
        "bad.yaml",
        "apiVersion: v1\nkind: [Promise\nmetadata: {}\n",
    );
    let output = kratix(&["promise", "validate", path_str(&file)]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.starts_with(&format!("{}: ", path_str(&file))) && text.contains("line 3"),
        "{text}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let output = kratix(&["promise", "validate"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("Usage: kubectl kratix promise validate"),
        "{}",
        stderr(&output)
    );
    let output = kratix(&["promise", "render", "x.yaml", "--workflow", "resource/update"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("unknown workflow \"resource/update\""),
        "{}",
        stderr(&output)
    );
}

#[test]
fn render_prints_a_yaml_stream_in_apply_order() {
    let temp = tempfile::tempdir().expect("tempdir");
    let file = write(temp.path(), "promise.yaml", VALID);
    let output = kratix(&[
        "promise",
        "render",
        path_str(&file),
        "--workflow",
        "resource/configure",
        "--name-suffix",
        "x1y2z",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let documents: Vec<Value> = serde_saphyr::from_multiple(&text).expect("YAML stream");
    let kinds: Vec<&str> = documents.iter().filter_map(|d| d["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        ["ServiceAccount", "ConfigMap", "Role", "RoleBinding", "Job"]
    );
    let job = &documents[4];
    assert_eq!(job["metadata"]["name"], "kratix-database-example-instance-x1y2z");
    assert_eq!(job["metadata"]["namespace"], "default");
    let image = &job["spec"]["template"]["spec"]["initContainers"][0]["image"];
    assert_eq!(
        image,
        &format!("localhost/kratix-agent:v{}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn render_json_is_a_v1_list_and_takes_the_given_request_and_config() {
    let temp = tempfile::tempdir().expect("tempdir");
    let file = write(temp.path(), "promise.yaml", VALID);
    let request = write(
        temp.path(),
        "request.yaml",
        "apiVersion: example.org/v1\nkind: Database\nmetadata: {name: orders, namespace: shop}\nspec: {}\n",
    );
    let config = write(
        temp.path(),
        "kratix.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kratix, namespace: kratix-platform-system}\ndata:\n  config: |\n    workflows:\n      jobOptions: {defaultBackoffLimit: 3}\n",
    );
    let output = kratix(&[
        "promise",
        "render",
        path_str(&file),
        "--workflow",
        "resource/configure",
        "-o",
        "json",
        "--resource",
        path_str(&request),
        "--config",
        path_str(&config),
        "--pipeline-adapter-image",
        "registry.local/adapter:1",
        "--name-suffix",
        "aaaaa",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let list: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(list["apiVersion"], "v1");
    assert_eq!(list["kind"], "List");
    let job = &list["items"][4];
    assert_eq!(job["metadata"]["name"], "kratix-database-orders-instance-aaaaa");
    assert_eq!(job["metadata"]["namespace"], "shop");
    assert_eq!(job["spec"]["backoffLimit"], 3);
    assert_eq!(
        job["spec"]["template"]["spec"]["initContainers"][0]["image"],
        "registry.local/adapter:1"
    );
    // The request's spec took the schema default before hashing.
    let env = &job["spec"]["template"]["spec"]["initContainers"][1]["env"];
    assert_eq!(env[7]["value"], "orders");
}

#[test]
fn render_refuses_a_request_of_another_kind() {
    let temp = tempfile::tempdir().expect("tempdir");
    let file = write(temp.path(), "promise.yaml", VALID);
    let request = write(
        temp.path(),
        "request.yaml",
        "apiVersion: example.org/v1\nkind: Cache\nmetadata: {name: c}\n",
    );
    let output = kratix(&[
        "promise",
        "render",
        path_str(&file),
        "--workflow",
        "resource/configure",
        "--resource",
        path_str(&request),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(&format!(
            "{}: kind: \"Cache\" is not the Promise's kind \"Database\"",
            path_str(&request)
        )),
        "{}",
        stderr(&output)
    );
}

#[test]
fn render_refuses_an_invalid_promise_and_says_why() {
    let temp = tempfile::tempdir().expect("tempdir");
    let file = write(
        temp.path(),
        "promise.yaml",
        &VALID.replace("name: create", "name: reader"),
    );
    let output = kratix(&[
        "promise",
        "render",
        path_str(&file),
        "--workflow",
        "resource/configure",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains("containers[0].name: container name \"reader\" is reserved"),
        "{text}"
    );
    assert!(text.contains("has 1 validation error; fix them"), "{text}");
    assert_eq!(stdout(&output), "");
}

#[test]
fn render_of_an_empty_workflow_says_so() {
    let temp = tempfile::tempdir().expect("tempdir");
    let file = write(temp.path(), "promise.yaml", VALID);
    let output = kratix(&[
        "promise",
        "render",
        path_str(&file),
        "--workflow",
        "promise/delete",
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains("has no promise/delete pipelines"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn version_and_help() {
    let output = kratix(&["--version"]);
    assert_eq!(
        stdout(&output),
        format!("kubectl-kratix {}\n", env!("CARGO_PKG_VERSION"))
    );
    let output = kratix(&["version"]);
    assert_eq!(
        stdout(&output),
        format!("kubectl-kratix {}\n", env!("CARGO_PKG_VERSION"))
    );
    let help = stdout(&kratix(&["promise", "--help"]));
    assert!(help.contains("Usage: kubectl kratix promise <COMMAND>"), "{help}");
    assert!(help.contains("validate") && help.contains("render"), "{help}");
}
