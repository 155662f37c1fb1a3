//! `promise init --terraform-module`, run through the built binary on a module
//! this test writes (typed variables, optional object attributes, outputs): a
//! module directory read offline, against a golden tree, and the same module
//! as a `git::` source cloned from a local repository (a `//folder` in it, at a
//! tag); and the errors for a module with no variables or an unreachable source.

mod common;

use std::path::Path;
use std::process::Command;

use common::{kratix_in, matches_golden, renders_its_example, spec_schema, text, validates, yaml};
use serde_json::json;

const VARIABLES: &str = r#"variable "bucket_name" {
  type        = string
  description = "The bucket's name"
}

variable "versioning" {
  type    = bool
  default = false
}

variable "lifecycle_rules" {
  type = list(object({
    id   = string
    days = optional(number, 30)
  }))
  default = []
}

variable "tags" {
  type    = map(string)
  default = {}
}
"#;

fn module(dir: &Path) {
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(dir.join("variables.tf"), VARIABLES).expect("write");
    std::fs::write(
        dir.join("outputs.tf"),
        "output \"bucket_arn\" {\n  value = \"arn\"\n}\n",
    )
    .expect("write");
    std::fs::write(dir.join("main.tf"), "resource \"null_resource\" \"x\" {}\n").expect("write");
}

fn init(dir: &Path, source: &str, extra: &[&str]) -> std::process::Output {
    let base = [
        "promise",
        "init",
        "bucket",
        "--group",
        "platform.example.org",
        "--kind",
        "Bucket",
        "--terraform-module",
        source,
    ];
    let args: Vec<&str> = base.iter().chain(extra).copied().collect();
    kratix_in(dir, &args)
}

#[test]
fn a_module_directory_becomes_a_promise_of_its_variables() {
    let temp = tempfile::tempdir().expect("tempdir");
    module(&temp.path().join("modules/bucket"));
    let output = init(temp.path(), "modules/bucket", &["--generate-outputs"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("MODULE_SOURCE is the local path modules/bucket"));
    validates(temp.path(), "bucket");
    let promise = yaml(&temp.path().join("bucket/promise.yaml"));
    let spec = spec_schema(&promise);
    assert_eq!(spec["required"], json!(["bucket_name"]));
    assert_eq!(
        spec["properties"]["lifecycle_rules"]["items"]["properties"]["days"],
        json!({"type": "number", "default": 30})
    );
    assert_eq!(
        promise["spec"]["destinationSelectors"],
        json!([{"matchLabels": {"environment": "terraform"}}])
    );
    let container = &promise["spec"]["workflows"]["resource"]["configure"][0]["spec"]["containers"][0];
    assert_eq!(
        container["env"],
        json!([
            {"name": "MODULE_SOURCE", "value": "modules/bucket"},
            {"name": "MODULE_OUTPUT_NAMES", "value": "bucket_arn"}
        ])
    );
    renders_its_example(temp.path(), "bucket");
    matches_golden(&temp.path().join("bucket"), "terraform-module");
}

fn git(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .args(["-c", "user.name=test", "-c", "user.email=test@example.org"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {}", text(&output.stderr));
}

#[test]
fn a_git_source_is_cloned_at_its_ref_and_folder() {
    let temp = tempfile::tempdir().expect("tempdir");
    let repository = temp.path().join("modules-repo");
    module(&repository.join("modules/bucket"));
    git(&repository, &["init", "--quiet"]);
    git(&repository, &["add", "."]);
    git(&repository, &["commit", "--quiet", "-m", "bucket module"]);
    git(&repository, &["tag", "v1.0.0"]);
    let source = format!("git::file://{}//modules/bucket?ref=v1.0.0", repository.display());
    let output = init(temp.path(), &source, &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    validates(temp.path(), "bucket");
    let promise = yaml(&temp.path().join("bucket/promise.yaml"));
    let container = &promise["spec"]["workflows"]["resource"]["configure"][0]["spec"]["containers"][0];
    assert_eq!(
        container["env"],
        json!([{"name": "MODULE_SOURCE", "value": source}])
    );

    let absolute = format!("git::file://{}///etc?ref=v1.0.0", repository.display());
    let output = init(temp.path(), &absolute, &["--force"]);
    assert!(
        text(&output.stderr).contains("leaves the repository"),
        "{}",
        text(&output.stderr)
    );
    std::os::unix::fs::symlink("/etc", repository.join("escape")).expect("symlink");
    git(&repository, &["add", "escape"]);
    git(&repository, &["commit", "--quiet", "-m", "a link out"]);
    git(&repository, &["tag", "v1.0.1"]);
    let linked = format!("git::file://{}//escape?ref=v1.0.1", repository.display());
    let output = init(temp.path(), &linked, &["--force"]);
    assert!(
        text(&output.stderr).contains("is a link out of the repository"),
        "{}",
        text(&output.stderr)
    );
    let missing = format!("git::file://{}//modules/absent?ref=v1.0.0", repository.display());
    let output = init(temp.path(), &missing, &["--force"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("the repository has no folder \"modules/absent\""),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_module_without_variables_or_reachable_source_is_named() {
    let temp = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(temp.path().join("empty")).expect("mkdir");
    std::fs::write(temp.path().join("empty/main.tf"), "# nothing\n").expect("write");
    let output = init(temp.path(), "empty", &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("empty: declares no variable"),
        "{}",
        text(&output.stderr)
    );
    let output = init(temp.path(), "git::file:///nonexistent/repo", &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("git clone file:///nonexistent/repo failed"),
        "{}",
        text(&output.stderr)
    );
    let output = init(temp.path(), "terraform-aws-modules/s3-bucket/aws", &[]);
    assert!(text(&output.stderr).contains("a module from a Terraform registry is not fetched yet"));
    assert!(!temp.path().join("bucket").exists(), "nothing written");
}
