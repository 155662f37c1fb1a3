//! `promise init --terraform-module`, run through the built binary on a module
//! this test writes (typed variables, optional object attributes, outputs): a
//! module directory read offline, against a golden tree, and the same module
//! as a `git::` source cloned from a local repository (a `//folder` in it, at a
//! tag, or at a commit); a registry source fetched by a stand-in `terraform`
//! that records what it was asked, with the module's provider files delivered;
//! and the errors for a module with no variables or an unreachable source.

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
    module(&temp.path().join("modules/bucket"));
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
        text(&output.stderr).contains("git fetch file:///nonexistent/repo failed"),
        "{}",
        text(&output.stderr)
    );
    let output = init(temp.path(), "modules/nowhere", &[]);
    assert!(
        text(&output.stderr)
            .contains("no such directory, not a git:: (or github.com/...) source, and not a registry source"),
        "{}",
        text(&output.stderr)
    );
    let output = init(temp.path(), "modules/bucket", &["--image", "example.org/x:v1"]);
    assert!(
        text(&output.stderr).contains(
            "--image: names the image the module's provider files are baked into, and modules/bucket has none"
        ),
        "{}",
        text(&output.stderr)
    );
    let output = init(
        temp.path(),
        "github.com/example/modules",
        &["--module-version", "1.0.0"],
    );
    assert!(
        text(&output.stderr)
            .contains("--module-version: github.com/example/modules is not a registry source"),
        "{}",
        text(&output.stderr)
    );
    let output = init(temp.path(), "empty", &["--module-version", "1.0.0"]);
    assert!(
        text(&output.stderr).contains("--module-version: empty is not a registry source"),
        "{}",
        text(&output.stderr)
    );
    assert!(!temp.path().join("bucket").exists(), "nothing written");
}

/// Runs init with `PATH` set to `path` alone (stand-ins for terraform).
fn init_with_path(dir: &Path, path: &Path, source: &str, extra: &[&str]) -> std::process::Output {
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
    Command::new(env!("CARGO_BIN_EXE_kubectl-kratix"))
        .args(base.iter().chain(extra))
        .current_dir(dir)
        .env("PATH", path)
        .output()
        .expect("kubectl-kratix runs")
}

/// A `terraform` that does what `init` does to a registry module: records its
/// arguments and the module call, and "downloads" `module` where Terraform
/// would, listing it in the module manifest.
fn stand_in_terraform(bin: &Path, module: &Path, record: &Path, recorded_dir: &str) {
    std::fs::create_dir_all(bin).expect("mkdir");
    let script = format!(
        "#!/bin/sh\n\
         echo \"$@\" > {record}/args\n\
         /bin/cp main.tf {record}/main.tf\n\
         /bin/mkdir -p .terraform/modules/kratix_target/modules/bucket\n\
         /bin/cp -R {module}/. .terraform/modules/kratix_target/modules/bucket\n\
         printf '%s' '{{\"Modules\":[{{\"Key\":\"\",\"Source\":\"\",\"Dir\":\".\"}},{{\"Key\":\"kratix_target\",\"Source\":\"x\",\"Dir\":\"{recorded_dir}\"}}]}}' > .terraform/modules/modules.json\n",
        record = record.display(),
        module = module.display(),
    );
    let _ = std::fs::remove_file(bin.join("terraform"));
    let path = bin.join("terraform");
    std::fs::write(&path, script).expect("write");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
}

#[test]
fn a_registry_module_is_fetched_by_terraform_init_and_its_providers_delivered() {
    let temp = tempfile::tempdir().expect("tempdir");
    let module_dir = temp.path().join("upstream");
    module(&module_dir);
    std::fs::write(
        module_dir.join("versions.tf"),
        "terraform {\n  required_providers {\n    aws = { source = \"hashicorp/aws\" }\n  }\n}\n",
    )
    .expect("write");
    let (bin, record) = (temp.path().join("bin"), temp.path().join("record"));
    std::fs::create_dir_all(&record).expect("mkdir");
    stand_in_terraform(
        &bin,
        &module_dir,
        &record,
        ".terraform/modules/kratix_target/modules/bucket",
    );
    let source = "example-org/bucket/aws//modules/bucket";

    // Without --image the provider files are named, and left out.
    let output = init_with_path(temp.path(), &bin, source, &["--module-version", "~> 3.7"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("versions.tf is not delivered to the Destinations: pass --image IMAGE"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(record.join("main.tf")).expect("recorded"),
        "module \"kratix_target\" {\n  source = \"example-org/bucket/aws//modules/bucket\"\n  version = \"~> 3.7\"\n}\n"
    );
    assert_eq!(
        std::fs::read_to_string(record.join("args"))
            .expect("recorded")
            .trim(),
        "init -backend=false -input=false -no-color"
    );

    let image = "registry.example/bucket-providers:v0.1.0";
    let output = init_with_path(
        temp.path(),
        &bin,
        source,
        &["--module-version", "~> 3.7", "--image", image, "--force"],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    validates(temp.path(), "bucket");
    let promise = yaml(&temp.path().join("bucket/promise.yaml"));
    let configure = &promise["spec"]["workflows"]["resource"]["configure"][0]["spec"]["containers"][0];
    assert_eq!(
        configure["env"],
        json!([
            {"name": "MODULE_SOURCE", "value": source},
            {"name": "MODULE_REGISTRY_VERSION", "value": "~> 3.7"}
        ])
    );
    assert_eq!(
        promise["spec"]["workflows"]["promise"]["configure"][0]["spec"]["containers"][0],
        json!({"name": "add-tf-dependencies", "image": image})
    );
    let delivered = temp
        .path()
        .join("bucket/workflows/promise/configure/dependencies/add-tf-dependencies");
    assert_eq!(
        std::fs::read_to_string(delivered.join("resources/versions.tf")).expect("copied"),
        std::fs::read_to_string(module_dir.join("versions.tf")).expect("read")
    );
    renders_its_example(temp.path(), "bucket");
    matches_golden(&temp.path().join("bucket"), "terraform-module-registry");

    // The delivery script copies the files to the output folder it is given.
    let output_dir = temp.path().join("output");
    std::fs::create_dir_all(&output_dir).expect("mkdir");
    let script = std::fs::read_to_string(delivered.join("scripts/pipeline.sh")).expect("script");
    let script = script.replace("/resources/", &format!("{}/resources/", delivered.display()));
    let ran = Command::new("sh")
        .args(["-c", &script])
        .env("KRATIX_OUTPUT", &output_dir)
        .output()
        .expect("sh runs");
    assert!(ran.status.success(), "{}", text(&ran.stderr));
    assert!(output_dir.join("versions.tf").is_file());

    // Named provider files must be in the module, and need an image.
    let output = init_with_path(
        temp.path(),
        &bin,
        source,
        &["--module-providers", "providers.tf", "--image", image, "--force"],
    );
    assert!(
        text(&output.stderr).contains("--module-providers providers.tf: the module example-org/bucket/aws//modules/bucket has no file providers.tf"),
        "{}",
        text(&output.stderr)
    );
    let output = init_with_path(
        temp.path(),
        &bin,
        source,
        &["--module-providers", "versions.tf", "--force"],
    );
    assert!(
        text(&output.stderr).contains("name that image with --image"),
        "{}",
        text(&output.stderr)
    );
    let output = init_with_path(
        temp.path(),
        &bin,
        source,
        &["--module-version", "1.0\"\n}", "--force"],
    );
    assert!(
        text(&output.stderr).contains("is not a version or version constraint"),
        "{}",
        text(&output.stderr)
    );

    // A manifest that puts the module outside the download is not followed.
    stand_in_terraform(&bin, &module_dir, &record, "../../..");
    let output = init_with_path(temp.path(), &bin, source, &["--force"]);
    assert!(
        text(&output.stderr).contains("puts the module outside the folder it was fetched into"),
        "{}",
        text(&output.stderr)
    );

    // No terraform, no tofu: say what fetches a registry module.
    let empty = temp.path().join("empty-bin");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let output = init_with_path(temp.path(), &empty, source, &["--force"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("neither is on PATH"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_git_source_may_name_a_commit() {
    let temp = tempfile::tempdir().expect("tempdir");
    let repository = temp.path().join("modules-repo");
    module(&repository.join("modules/bucket"));
    git(&repository, &["init", "--quiet"]);
    git(&repository, &["add", "."]);
    git(&repository, &["commit", "--quiet", "-m", "bucket module"]);
    let commit = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(&repository)
        .output()
        .expect("git");
    let commit = text(&commit.stdout).trim().to_owned();
    std::fs::remove_dir_all(repository.join("modules")).expect("rm");
    git(&repository, &["add", "-A"]);
    git(&repository, &["commit", "--quiet", "-m", "module gone"]);
    let source = format!(
        "git::file://{}//modules/bucket?ref={commit}",
        repository.display()
    );
    let output = init(temp.path(), &source, &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    validates(temp.path(), "bucket");
}
