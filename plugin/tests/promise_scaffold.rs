//! `promise init` and `promise add-container`, run through the built binary: the
//! files they write, that what they write validates, that nothing is overwritten
//! without --force, the errors for missing and bad values, and the prompts on a
//! real terminal (tmux).

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

use common::{kratix_in, text, validates, yaml};

#[test]
fn init_writes_a_promise_that_validates_with_a_container_scaffold() {
    let temp = tempfile::tempdir().expect("tempdir");
    let output = kratix_in(
        temp.path(),
        &[
            "promise",
            "init",
            "redis",
            "--group",
            "example.org",
            "--kind",
            "Redis",
            "--pipeline",
            "resource/configure/instance",
            "--image",
            "example.org/redis-generate:v0.1.0",
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        "created redis/promise.yaml\n\
         created redis/example-resource.yaml\n\
         created redis/README.md\n\
         created redis/workflows/resource/configure/instance/redis-generate/Dockerfile\n\
         created redis/workflows/resource/configure/instance/redis-generate/scripts/pipeline.sh\n\
         created redis/workflows/resource/configure/instance/redis-generate/resources/README.md\n"
    );
    validates(temp.path(), "redis");
    let promise = yaml(&temp.path().join("redis/promise.yaml"));
    assert_eq!(
        promise["metadata"]["labels"]["kratix.io/promise-version"],
        "v0.0.1"
    );
    assert_eq!(promise["spec"]["api"]["spec"]["names"]["plural"], "redises");
    assert_eq!(
        promise["spec"]["workflows"]["resource"]["configure"][0]["spec"]["containers"][0],
        serde_json::json!({"name": "redis-generate", "image": "example.org/redis-generate:v0.1.0"})
    );
    let example = yaml(&temp.path().join("redis/example-resource.yaml"));
    assert_eq!(
        (example["apiVersion"].as_str(), example["kind"].as_str()),
        (Some("example.org/v1alpha1"), Some("Redis"))
    );
    let script = temp
        .path()
        .join("redis/workflows/resource/configure/instance/redis-generate/scripts/pipeline.sh");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&script).expect("script").permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "the script is executable");
    }
    let body = std::fs::read_to_string(&script).expect("script");
    assert!(
        body.contains("${KRATIX_INPUT:-/kratix/input}/object.yaml")
            && body.contains("${KRATIX_OUTPUT:-/kratix/output}"),
        "{body}"
    );
    let readme = std::fs::read_to_string(temp.path().join("redis/README.md")).expect("readme");
    assert!(
        readme.contains("kubectl kratix promise init redis --group example.org"),
        "{readme}"
    );
    // The rendered Job runs the scaffolded container.
    let render = kratix_in(
        temp.path(),
        &[
            "promise",
            "render",
            "redis",
            "--workflow",
            "resource/configure",
            "--name-suffix",
            "abcde",
        ],
    );
    assert!(render.status.success(), "{}", text(&render.stderr));
    assert!(text(&render.stdout).contains("image: example.org/redis-generate:v0.1.0"));
}

#[test]
fn init_never_overwrites_without_force() {
    let temp = tempfile::tempdir().expect("tempdir");
    let args = [
        "promise",
        "init",
        "redis",
        "--group",
        "example.org",
        "--kind",
        "Redis",
    ];
    assert!(kratix_in(temp.path(), &args).status.success());
    let promise = temp.path().join("redis/promise.yaml");
    std::fs::write(&promise, "# mine\n").expect("edit");
    let again = kratix_in(temp.path(), &args);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("redis/promise.yaml, redis/example-resource.yaml, redis/README.md already exist; nothing was written (pass --force to overwrite)"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(std::fs::read_to_string(&promise).expect("read"), "# mine\n");
    let mut forced = args.to_vec();
    forced.push("--force");
    assert!(kratix_in(temp.path(), &forced).status.success());
    validates(temp.path(), "redis");
}

#[test]
fn without_a_terminal_missing_values_are_a_usage_error_naming_them() {
    let temp = tempfile::tempdir().expect("tempdir");
    let output = kratix_in(temp.path(), &["promise", "init", "redis"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).starts_with("error: missing --group, --kind: there is no terminal to ask on"),
        "{}",
        text(&output.stderr)
    );
    let bad = kratix_in(
        temp.path(),
        &[
            "promise",
            "init",
            "Redis_DB",
            "--group",
            "example",
            "--kind",
            "redis",
            "--version",
            "1",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    let errors = text(&bad.stderr);
    for flag in [
        "error: NAME: \"Redis_DB\"",
        "error: --group: \"example\" needs at least one dot",
        "error: --kind:",
        "error: --version: \"1\"",
    ] {
        assert!(errors.contains(flag), "{flag} in {errors}");
    }
    assert!(
        std::fs::read_dir(temp.path()).expect("dir").next().is_none(),
        "nothing written"
    );
    let half = kratix_in(
        temp.path(),
        &[
            "promise",
            "init",
            "x",
            "--group",
            "a.b",
            "--kind",
            "X",
            "--pipeline",
            "resource/configure/p",
        ],
    );
    assert_eq!(half.status.code(), Some(2), "--pipeline needs --image");
    assert!(text(&half.stderr).contains("--image"), "{}", text(&half.stderr));
}

#[test]
fn the_split_layout_and_add_container_keep_the_promise_valid() {
    let temp = tempfile::tempdir().expect("tempdir");
    let init = kratix_in(
        temp.path(),
        &[
            "promise",
            "init",
            "cache",
            "--split",
            "--group",
            "example.org",
            "--kind",
            "Cache",
        ],
    );
    assert!(init.status.success(), "{}", text(&init.stderr));
    for file in [
        "api.yaml",
        "dependencies.yaml",
        "example-resource.yaml",
        "README.md",
    ] {
        assert!(temp.path().join("cache").join(file).is_file(), "{file}");
    }
    validates(temp.path(), "cache");
    let add = |args: &[&str]| {
        let mut all = vec!["promise", "add-container"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--dir", "cache"]);
        kratix_in(temp.path(), &all)
    };
    let first = add(&["resource/configure/instance", "--image", "example.org/gen:v1"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(text(&first.stdout).starts_with(
        "added container gen (example.org/gen:v1) to pipeline instance of resource/configure in cache/workflows/resource/configure/workflow.yaml\n"
    ));
    let second = add(&[
        "resource/configure/instance",
        "--image",
        "example.org/other:v1",
        "--name",
        "report",
    ]);
    assert!(second.status.success(), "{}", text(&second.stderr));
    let pipelines = yaml(
        &temp
            .path()
            .join("cache/workflows/resource/configure/workflow.yaml"),
    );
    let names: Vec<&str> = pipelines[0]["spec"]["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["gen", "report"]);
    assert!(
        temp.path()
            .join("cache/workflows/resource/configure/instance/report/Dockerfile")
            .is_file()
    );
    validates(temp.path(), "cache");

    let twice = add(&[
        "resource/configure/instance",
        "--image",
        "example.org/other:v2",
        "--name",
        "report",
    ]);
    assert_eq!(twice.status.code(), Some(1));
    assert!(
        text(&twice.stderr).contains("already has a container named report; choose another with --name"),
        "{}",
        text(&twice.stderr)
    );
    let reserved = add(&[
        "resource/configure/instance",
        "--image",
        "x:v1",
        "--name",
        "reader",
    ]);
    assert_eq!(reserved.status.code(), Some(2));
    let nowhere = kratix_in(
        temp.path(),
        &[
            "promise",
            "add-container",
            "resource/configure/a",
            "--image",
            "x:v1",
        ],
    );
    assert_eq!(nowhere.status.code(), Some(1));
    assert!(
        text(&nowhere.stderr).contains(". holds no Promise"),
        "{}",
        text(&nowhere.stderr)
    );
    let bad_path = kratix_in(
        temp.path(),
        &["promise", "add-container", "resource/update/a", "--image", "x:v1"],
    );
    assert_eq!(bad_path.status.code(), Some(2));
}

#[test]
fn build_joins_the_split_layout_into_one_stable_valid_promise() {
    let temp = tempfile::tempdir().expect("tempdir");
    let init = kratix_in(
        temp.path(),
        &[
            "promise",
            "init",
            "cache",
            "--split",
            "--group",
            "example.org",
            "--kind",
            "Cache",
        ],
    );
    assert!(init.status.success(), "{}", text(&init.stderr));
    let add = kratix_in(
        temp.path(),
        &[
            "promise",
            "add-container",
            "resource/configure/instance",
            "--image",
            "example.org/gen:v1",
            "--dir",
            "cache",
        ],
    );
    assert!(add.status.success(), "{}", text(&add.stderr));

    let printed = kratix_in(temp.path(), &["promise", "build", "cache"]);
    assert!(printed.status.success(), "{}", text(&printed.stderr));
    let again = kratix_in(temp.path(), &["promise", "build", "cache"]);
    assert_eq!(printed.stdout, again.stdout, "the same files give the same bytes");
    let built: Value = serde_saphyr::from_str(&text(&printed.stdout)).expect("one YAML document");
    assert_eq!(built["kind"], "Promise");
    assert_eq!(built["metadata"]["name"], "cache");
    assert_eq!(built["spec"]["api"]["kind"], "CustomResourceDefinition");
    assert_eq!(
        built["spec"]["workflows"]["resource"]["configure"][0]["spec"]["containers"][0]["image"],
        "example.org/gen:v1"
    );

    let written = kratix_in(temp.path(), &["promise", "build", "cache", "-o", "built.yaml"]);
    assert!(written.status.success(), "{}", text(&written.stderr));
    assert_eq!(
        std::fs::read(temp.path().join("built.yaml")).expect("read"),
        printed.stdout
    );
    validates(temp.path(), "built.yaml");
    let kept = kratix_in(temp.path(), &["promise", "build", "cache", "-o", "built.yaml"]);
    assert_eq!(kept.status.code(), Some(1));
    assert!(text(&kept.stderr).contains("built.yaml: exists; --force overwrites it"));
    let forced = kratix_in(
        temp.path(),
        &["promise", "build", "cache", "-o", "built.yaml", "--force"],
    );
    assert!(forced.status.success(), "{}", text(&forced.stderr));

    // An invalid split Promise is refused, naming the file and field.
    std::fs::write(
        temp.path().join("cache/workflows/resource/configure/workflow.yaml"),
        "- apiVersion: platform.kratix.io/v1alpha1\n  kind: Pipeline\n  metadata: {name: instance}\n  spec: {containers: [{name: main}]}\n",
    )
    .expect("write");
    let refused = kratix_in(temp.path(), &["promise", "build", "cache"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stdout).is_empty(), "nothing written");
    let said = text(&refused.stderr);
    assert!(
        said.contains("cache/workflows/resource/configure/workflow.yaml") && said.contains("image"),
        "{said}"
    );
    let single = kratix_in(temp.path(), &["promise", "build", "."]);
    assert_eq!(single.status.code(), Some(1));
}

#[test]
fn update_api_and_destination_selector_change_the_promise_and_keep_it_valid() {
    let temp = tempfile::tempdir().expect("tempdir");
    let init = kratix_in(
        temp.path(),
        &[
            "promise",
            "init",
            "redis",
            "--group",
            "example.org",
            "--kind",
            "Redis",
        ],
    );
    assert!(init.status.success(), "{}", text(&init.stderr));
    let dir = temp.path().join("redis");
    let kratix = |args: &[&str]| kratix_in(&dir, args);

    let added = kratix(&[
        "promise",
        "update",
        "api",
        "-p",
        "size:string",
        "-p",
        "db.replicas:integer",
    ]);
    assert!(added.status.success(), "{}", text(&added.stderr));
    let spec_of = || {
        yaml(&dir.join("promise.yaml"))["spec"]["api"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
            ["spec"]["properties"]
            .clone()
    };
    assert_eq!(spec_of()["size"]["type"], "string");
    assert_eq!(spec_of()["db"]["properties"]["replicas"]["type"], "integer");
    validates(&dir, ".");
    let removed = kratix(&["promise", "update", "api", "-p", "db.replicas-"]);
    assert!(removed.status.success(), "{}", text(&removed.stderr));
    assert!(spec_of()["db"]["properties"].get("replicas").is_none());

    let renamed = kratix(&[
        "promise", "update", "api", "--group", "acme.io", "--kind", "Cache", "--plural", "caches",
    ]);
    assert!(renamed.status.success(), "{}", text(&renamed.stderr));
    let api = yaml(&dir.join("promise.yaml"))["spec"]["api"].clone();
    assert_eq!(api["metadata"]["name"], "caches.acme.io");
    let example = yaml(&dir.join("example-resource.yaml"));
    assert_eq!(
        (example["apiVersion"].as_str(), example["kind"].as_str()),
        (Some("acme.io/v1alpha1"), Some("Cache"))
    );
    validates(&dir, ".");

    // A rename Kubernetes would refuse is put back, naming the field.
    let before = std::fs::read(dir.join("promise.yaml")).expect("read");
    let bad = kratix(&["promise", "update", "api", "--kind", "not a kind"]);
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(
        std::fs::read(dir.join("promise.yaml")).expect("read"),
        before,
        "unchanged"
    );
    let usage = kratix(&["promise", "update", "api", "-p", "size:text"]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(text(&usage.stderr).contains("\"text\" is not one of string, number, integer, object, boolean"));

    let set = kratix(&["promise", "update", "destination-selector", "env=prod"]);
    assert!(set.status.success(), "{}", text(&set.stderr));
    let selectors = || yaml(&dir.join("promise.yaml"))["spec"]["destinationSelectors"].clone();
    assert_eq!(selectors(), serde_json::json!([{"matchLabels": {"env": "prod"}}]));
    let unset = kratix(&["promise", "update", "destination-selector", "env-"]);
    assert!(unset.status.success(), "{}", text(&unset.stderr));
    assert_eq!(selectors(), serde_json::json!([{"matchLabels": {}}]));
    validates(&dir, ".");

    let split = kratix_in(
        temp.path(),
        &[
            "promise",
            "init",
            "cache",
            "--split",
            "--group",
            "example.org",
            "--kind",
            "Cache",
        ],
    );
    assert!(split.status.success(), "{}", text(&split.stderr));
    let split_dir = temp.path().join("cache");
    // The split layout keeps its selectors in destination-selectors.yaml, which
    // promise build joins in.
    let set = kratix_in(
        &split_dir,
        &["promise", "update", "destination-selector", "env=prod"],
    );
    assert!(set.status.success(), "{}", text(&set.stderr));
    assert!(
        text(&set.stdout).contains("set env=prod in [0].matchLabels of ./destination-selectors.yaml"),
        "{}",
        text(&set.stdout)
    );
    assert_eq!(
        yaml(&split_dir.join("destination-selectors.yaml")),
        serde_json::json!([{"matchLabels": {"env": "prod"}}])
    );
    let built = kratix_in(&split_dir, &["promise", "build", "."]);
    assert!(built.status.success(), "{}", text(&built.stderr));
    let promise: serde_json::Value = serde_saphyr::from_str(&text(&built.stdout)).expect("yaml");
    assert_eq!(
        promise["spec"]["destinationSelectors"],
        serde_json::json!([{"matchLabels": {"env": "prod"}}])
    );
    std::fs::write(
        split_dir.join("destination-selectors.yaml"),
        "- matchLabels: [1]\n",
    )
    .expect("write");
    let invalid = kratix_in(&split_dir, &["promise", "validate", "."]);
    assert_eq!(invalid.status.code(), Some(1));
    assert!(
        text(&invalid.stdout).contains("destination-selectors.yaml"),
        "{}",
        text(&invalid.stdout)
    );
    std::fs::remove_file(split_dir.join("destination-selectors.yaml")).expect("rm");
    let split_api = kratix_in(&split_dir, &["promise", "update", "api", "-p", "size:string"]);
    assert!(split_api.status.success(), "{}", text(&split_api.stderr));
    let api = yaml(&split_dir.join("api.yaml"));
    assert_eq!(
        api["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["size"]["type"],
        "string"
    );
}

#[test]
fn update_dependencies_makes_objects_dependencies_or_a_pipeline_that_writes_them() {
    let temp = tempfile::tempdir().expect("tempdir");
    let deps = temp.path().join("deps");
    std::fs::create_dir_all(deps.join("nested")).expect("mkdir");
    std::fs::write(
        deps.join("a.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: redis-system}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: redis-system}\n",
    )
    .expect("write");
    std::fs::write(
        deps.join("nested/b.yml"),
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: operator}\n",
    )
    .expect("write");
    std::fs::write(deps.join("notes.txt"), "not yaml, not read").expect("write");
    let init = kratix_in(
        temp.path(),
        &[
            "promise",
            "init",
            "redis",
            "--group",
            "example.org",
            "--kind",
            "Redis",
        ],
    );
    assert!(init.status.success(), "{}", text(&init.stderr));
    let dir = temp.path().join("redis");

    let plain = kratix_in(&dir, &["promise", "update", "dependencies", "../deps"]);
    assert!(plain.status.success(), "{}", text(&plain.stderr));
    let dependencies = yaml(&dir.join("promise.yaml"))["spec"]["dependencies"].clone();
    let names: Vec<&str> = dependencies
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|d| d["metadata"]["name"].as_str())
        .collect();
    assert_eq!(names, ["redis-system", "settings", "operator"]);
    assert!(
        dependencies[0]["metadata"].get("namespace").is_none(),
        "a Namespace gets no namespace"
    );
    validates(&dir, ".");

    let piped = kratix_in(
        &dir,
        &[
            "promise",
            "update",
            "dependencies",
            "../deps",
            "--image",
            "example.org/deps:v1",
        ],
    );
    assert!(piped.status.success(), "{}", text(&piped.stderr));
    let promise = yaml(&dir.join("promise.yaml"));
    let pipeline = &promise["spec"]["workflows"]["promise"]["configure"][0];
    assert_eq!(pipeline["metadata"]["name"], "dependencies");
    assert_eq!(pipeline["spec"]["containers"][0]["name"], "configure-deps");
    let container = dir.join("workflows/promise/configure/dependencies/configure-deps");
    let script = std::fs::read_to_string(container.join("scripts/pipeline.sh")).expect("script");
    assert!(script.contains("cp /resources/* /kratix/output/"), "{script}");
    let stream = std::fs::read_to_string(container.join("resources/dependencies.yaml")).expect("resources");
    assert_eq!(stream.matches("kind:").count(), 3, "{stream}");
    validates(&dir, ".");
    let again = kratix_in(
        &dir,
        &[
            "promise",
            "update",
            "dependencies",
            "../deps",
            "--image",
            "example.org/deps:v1",
        ],
    );
    assert_eq!(
        again.status.code(),
        Some(1),
        "the scaffold is not overwritten without --force"
    );

    std::fs::write(deps.join("bad.yaml"), "just: a map\n").expect("write");
    let bad = kratix_in(&dir, &["promise", "update", "dependencies", "../deps"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("bad.yaml: document 1 is not a Kubernetes object"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn add_container_to_a_single_file_promise_starts_a_new_pipeline() {
    let temp = tempfile::tempdir().expect("tempdir");
    assert!(
        kratix_in(
            temp.path(),
            &["promise", "init", "db", "--group", "example.org", "--kind", "Db"]
        )
        .status
        .success()
    );
    let output = kratix_in(
        temp.path(),
        &[
            "promise",
            "add-container",
            "promise/configure/dependencies",
            "--image",
            "example.org/deps:v1",
            "--dir",
            "db",
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let promise = yaml(&temp.path().join("db/promise.yaml"));
    assert_eq!(
        promise["spec"]["workflows"]["promise"]["configure"][0]["metadata"]["name"],
        "dependencies"
    );
    validates(temp.path(), "db");
}

#[test]
fn init_help_lists_its_flags() {
    let temp = tempfile::tempdir().expect("tempdir");
    let help = text(&kratix_in(temp.path(), &["promise", "init", "--help"]).stdout);
    assert!(
        help.contains("Usage: kubectl kratix promise init [OPTIONS] [NAME]"),
        "{help}"
    );
    for flag in [
        "--group <GROUP>",
        "--kind <KIND>",
        "--version <VERSION>",
        "--plural <PLURAL>",
        "--dir <DIR>",
        "--split",
        "--pipeline <LIFECYCLE/ACTION/NAME>",
        "--image <IMAGE>",
        "--force",
        "[default: v1alpha1]",
    ] {
        assert!(help.contains(flag), "{flag} in {help}");
    }
    let help = text(&kratix_in(temp.path(), &["promise", "add-container", "--help"]).stdout);
    assert!(help.contains("Usage: kubectl kratix promise add-container [OPTIONS] --image <IMAGE> <LIFECYCLE/ACTION/PIPELINE>"), "{help}");
}

/// tmux's screen of `session`.
fn screen(session: &str) -> String {
    let output = Command::new("tmux")
        .args(["capture-pane", "-p", "-t", session])
        .output()
        .expect("tmux runs");
    text(&output.stdout)
}

fn wait_for_screen(session: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let shown = screen(session);
        if shown.contains(needle) {
            return shown;
        }
        assert!(
            Instant::now() < deadline,
            "{needle:?} never appeared; the screen:\n{shown}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn keys(session: &str, keys: &[&str]) {
    let status = Command::new("tmux")
        .args(["send-keys", "-t", session])
        .args(keys)
        .status()
        .expect("tmux runs");
    assert!(status.success());
}

#[test]
fn on_a_terminal_missing_values_are_asked_for_with_defaults() {
    let has_tmux = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_tmux {
        assert!(
            std::env::var("CI").is_err(),
            "tmux is needed to drive the prompts in a terminal (apt-get install tmux)"
        );
        eprintln!("skipped: tmux is not installed (apt-get install tmux)");
        return;
    }
    let temp = tempfile::tempdir().expect("tempdir");
    let session = format!("kratix-init-{}", std::process::id());
    let command = format!(
        "cd {} && {} promise init; echo EXIT=$? > {}/exit",
        temp.path().display(),
        env!("CARGO_BIN_EXE_kubectl-kratix"),
        temp.path().display()
    );
    let status = Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-x",
            "160",
            "-y",
            "40",
            "-s",
            &session,
            "sh",
            "-c",
            &command,
        ])
        .status()
        .expect("tmux runs");
    assert!(status.success());
    wait_for_screen(&session, "Promise name [my-promise]");
    keys(&session, &["billing", "Enter"]);
    wait_for_screen(&session, "API group of its requests [example.org]");
    keys(&session, &["Enter"]);
    wait_for_screen(&session, "Kind of its requests [Billing]");
    keys(&session, &["Enter"]);
    wait_for_screen(&session, "Plural [billings]");
    keys(&session, &["Enter"]);
    let exit = temp.path().join("exit");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !exit.exists() {
        assert!(
            Instant::now() < deadline,
            "init never finished; the screen:\n{}",
            screen(&session)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = Command::new("tmux")
        .args(["kill-session", "-t", &session])
        .status();
    assert_eq!(std::fs::read_to_string(&exit).expect("exit").trim(), "EXIT=0");
    let promise = yaml(&temp.path().join("billing/promise.yaml"));
    assert_eq!(promise["metadata"]["name"], "billing");
    assert_eq!(promise["spec"]["api"]["metadata"]["name"], "billings.example.org");
    assert_eq!(promise["spec"]["api"]["spec"]["names"]["kind"], "Billing");
    validates(temp.path(), "billing");
}
