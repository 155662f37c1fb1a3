//! `kubectl kratix promise run` with podman on this machine, images built
//! locally: pipelines in order with the status between them, a failing
//! container, a missing Secret, a ConfigMap through envFrom, an output path
//! that escapes, a suspension, JSON output, the store paths for a
//! Destination, `--watch`, what a hostile pipeline plants (links in its
//! metadata and volumes), Ctrl-C and a closed output, and the exact docker
//! command lines (through a stand-in that records them: docker cannot run
//! here). No platform needed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kratix_tests::fixtures::images::{self, ImageSpec};
use kratix_tests::suites::promise_run;
use serde_json::{Value, json};

/// A busybox image built here, run as root.
fn image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let conf = kratix_tests::platform::containers_conf().expect("containers.conf");
        images::build(
            &ImageSpec {
                reference: "promise-run-busybox:v1".into(),
                ..ImageSpec::default()
            },
            &conf,
        )
        .expect("image builds")
    })
}

fn pipeline(name: &str, script: &str, extra: Value) -> Value {
    let mut container = json!({"name": "main", "image": image(), "command": ["sh", "-c"], "args": [script]});
    if let (Value::Object(container), Value::Object(extra)) = (&mut container, extra) {
        container.extend(extra);
    }
    json!({
        "apiVersion": "platform.kratix.io/v1alpha1", "kind": "Pipeline",
        "metadata": {"name": name},
        "spec": {"containers": [container]}
    })
}

/// Promise `cache` (API `Cache`, a `size` defaulting to small) with these
/// resource configure pipelines, written as `dir/promise.yaml`.
fn promise(dir: &Path, pipelines: Vec<Value>) -> PathBuf {
    let promise = json!({
        "apiVersion": "platform.kratix.io/v1alpha1", "kind": "Promise",
        "metadata": {"name": "cache"},
        "spec": {
            "destinationSelectors": [{"matchLabels": {"team": "a"}}],
            "api": {
                "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": "caches.example.org"},
                "spec": {"group": "example.org", "names": {"kind": "Cache", "plural": "caches", "singular": "cache"},
                    "scope": "Namespaced",
                    "versions": [{"name": "v1", "served": true, "storage": true,
                        "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                            "spec": {"type": "object", "properties": {"size": {"type": "string", "default": "small"}}}}}}}]}
            },
            "workflows": {"resource": {"configure": pipelines}}
        }
    });
    let path = dir.join("promise.yaml");
    std::fs::write(&path, serde_json::to_string_pretty(&promise).expect("json")).expect("write promise");
    path
}

fn run(dir: &Path, args: &[&str]) -> Output {
    promise_run::command(dir)
        .args(args)
        .output()
        .expect("the plugin runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn result(output: &Output) -> Value {
    promise_run::json_result(output)
}

/// Runs `pipelines`, expecting the first to fail; its message. (Its Work is
/// there when only the status-writer failed, as on a cluster, where the
/// work-writer runs first.)
fn failure(dir: &Path, pipelines: Vec<Value>) -> String {
    promise(dir, pipelines);
    let output = run(dir, &["-o", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let result = result(&output);
    assert_eq!(result["result"], "Failed");
    assert_eq!(result["pipelines"][0]["phase"], "Failed");
    result["pipelines"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Rewrites the test's `promise.yaml` through `edit`.
fn edit_promise(dir: &Path, edit: impl FnOnce(&mut Value)) {
    let file = dir.join("promise.yaml");
    let mut value: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
    edit(&mut value);
    std::fs::write(&file, value.to_string()).expect("write");
}

#[test]
fn the_second_pipeline_reads_the_first_ones_status_and_the_result_is_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    promise(
        dir.path(),
        vec![
            pipeline(
                "first",
                "echo \"size $(grep size: /kratix/input/object.yaml)\"; echo 'port: 6379' > /kratix/metadata/status.yaml; echo 'kind: App' > /kratix/output/app.yaml",
                json!({}),
            ),
            pipeline(
                "second",
                "grep -q 'port: 6379' /kratix/input/object.yaml || exit 9; echo 'ready: true' > /kratix/metadata/status.yaml; \
                 mkdir -p /kratix/output/db; echo 'kind: Db' > /kratix/output/db/db.yaml; \
                 printf -- '- directory: db\\n  matchLabels: {env: prod}\\n' > /kratix/metadata/destination-selectors.yaml",
                json!({}),
            ),
        ],
    );
    let output = run(dir.path(), &["-o", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let logs = text(&output.stderr);
    assert!(
        logs.contains("first › main size   size: small"),
        "logs go to stderr with their prefix: {logs}"
    );
    let result = result(&output);
    assert_eq!(result["result"], "Succeeded");
    assert_eq!(result["status"]["port"], 6379);
    assert_eq!(result["status"]["ready"], true);
    let completed = result["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "ConfigureWorkflowCompleted"))
        .expect("ConfigureWorkflowCompleted");
    assert_eq!(completed["status"], "True");
    let first = &result["pipelines"][0]["work"]["workloadGroups"][0];
    assert_eq!(first["files"], json!(["app.yaml"]));
    assert_eq!(
        first["destinationSelectors"],
        json!([{"matchLabels": {"team": "a"}, "source": "promise"}])
    );
    let second = &result["pipelines"][1]["work"]["workloadGroups"][0];
    assert_eq!(second["directory"], "db");
    assert_eq!(
        second["destinationSelectors"][0]["matchLabels"],
        json!({"env": "prod"})
    );
    assert!(
        dir.path().join("out/2-second/output/db/db.yaml").is_file(),
        "the folders are kept"
    );
}

#[test]
fn a_failing_container_stops_the_workflow_and_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    promise(
        dir.path(),
        vec![
            pipeline("first", "echo about to fail; exit 3", json!({})),
            pipeline("second", "echo never", json!({})),
        ],
    );
    let output = run(dir.path(), &["-o", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let result = result(&output);
    assert_eq!(result["result"], "Failed");
    assert_eq!(result["pipelines"][0]["phase"], "Failed");
    assert_eq!(result["pipelines"][0]["containers"][0]["exitCode"], 3);
    assert_eq!(result["pipelines"][0]["message"], "container main exited 3");
    assert_eq!(result["pipelines"][1]["phase"], "NotRun");
    assert!(!text(&output.stderr).contains("never"));
}

#[test]
fn a_missing_secret_is_named_before_anything_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    promise(
        dir.path(),
        vec![pipeline(
            "first",
            "touch /kratix/output/ran",
            json!({"env": [{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}),
        )],
    );
    let output = run(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(2));
    let said = text(&output.stderr);
    assert!(
        said.contains(
            "pipeline first, container main: env PASSWORD: Secret db is not given; pass it as --secret db=DIR"
        ),
        "{said}"
    );
    assert!(!dir.path().join("out/1-first/output/ran").exists(), "nothing ran");
}

#[test]
fn a_privileged_container_runs_only_when_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    promise(
        dir.path(),
        vec![pipeline(
            "first",
            "id -u > /kratix/output/uid",
            json!({"securityContext": {"runAsUser": 0, "capabilities": {"add": ["NET_ADMIN"]}}}),
        )],
    );
    let output = run(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let said = text(&output.stderr);
    for expected in [
        "pipeline first, container main: securityContext.runAsUser: is 0 (root)",
        "pipeline first, container main: securityContext.capabilities.add: is [NET_ADMIN]",
        "pass --allow-privileged",
    ] {
        assert!(said.contains(expected), "{expected} in {said}");
    }
    assert!(!dir.path().join("out/1-first/output/uid").exists(), "nothing ran");

    let output = run(dir.path(), &["--allow-privileged"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out/1-first/output/uid")).expect("ran"),
        "0\n"
    );
}

#[test]
fn secrets_and_config_maps_reach_the_container_as_the_kubelet_gives_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("db")).expect("mkdir");
    std::fs::write(dir.path().join("db/password"), "hunter2").expect("write");
    std::fs::write(
        dir.path().join("settings.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {LEVEL: debug, REGION: eu}\n",
    )
    .expect("write");
    promise(
        dir.path(),
        vec![pipeline(
            "first",
            "printf 'level: %s\\nregion: %s\\nsecretLength: %s\\nfile: %s\\n' \"$LEVEL\" \"$REGION\" \"${#PASSWORD}\" \"$(cat /creds/password)\" > /kratix/metadata/status.yaml",
            json!({
                "envFrom": [{"configMapRef": {"name": "settings"}}],
                "env": [{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
                "volumeMounts": [{"name": "creds", "mountPath": "/creds"}]
            }),
        )],
    );
    // The Secret as a volume too.
    edit_promise(dir.path(), |value| {
        value["spec"]["workflows"]["resource"]["configure"][0]["spec"]["volumes"] =
            json!([{"name": "creds", "secret": {"secretName": "db"}}]);
    });
    let output = run(
        dir.path(),
        &[
            "--secret",
            "db=db",
            "--configmap",
            "settings=settings.yaml",
            "-o",
            "json",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let status = &result(&output)["status"];
    assert_eq!(status["level"], "debug");
    assert_eq!(status["region"], "eu");
    assert_eq!(status["secretLength"], 7);
    assert_eq!(status["file"], "hunter2");
    let pipeline_dir = dir.path().join("out/1-first");
    assert!(pipeline_dir.join("output").is_dir(), "the folders are kept");
    assert!(
        !pipeline_dir.join("volumes/creds").exists(),
        "the Secret's files are gone once the pipeline ended"
    );
}

#[test]
fn an_output_path_that_escapes_fails_the_pipeline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let message = failure(
        dir.path(),
        vec![pipeline(
            "first",
            "ln -s /etc/passwd /kratix/output/passwd.yaml",
            json!({}),
        )],
    );
    assert!(
        message.starts_with("the work-writer refused the output"),
        "{message}"
    );
}

#[test]
fn a_suspension_stops_the_run_and_exits_3() {
    let dir = tempfile::tempdir().expect("tempdir");
    promise(
        dir.path(),
        vec![
            pipeline(
                "first",
                "echo 'kind: App' > /kratix/output/app.yaml; printf 'suspend: true\\nmessage: waiting for approval\\n' > /kratix/metadata/workflow-control.yaml",
                json!({}),
            ),
            pipeline("second", "echo never", json!({})),
        ],
    );
    let output = run(dir.path(), &["-o", "json"]);
    assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
    let result = result(&output);
    assert_eq!(result["result"], "Suspended");
    assert_eq!(result["pipelines"][0]["phase"], "Suspended");
    assert!(
        result["pipelines"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("waiting for approval")
    );
    assert!(
        result["pipelines"][0]["work"].is_null(),
        "no Work for a stopped workflow"
    );
    assert_eq!(result["pipelines"][1]["phase"], "NotRun");
}

#[test]
fn a_destination_and_store_say_where_the_files_land() {
    let dir = tempfile::tempdir().expect("tempdir");
    promise(
        dir.path(),
        vec![pipeline(
            "first",
            "echo 'kind: App' > /kratix/output/app.yaml; mkdir -p /kratix/output/db; echo 'kind: Db' > /kratix/output/db/db.yaml; \
             printf -- '- directory: db\\n  matchLabels: {env: prod}\\n' > /kratix/metadata/destination-selectors.yaml",
            json!({}),
        )],
    );
    std::fs::write(
        dir.path().join("destination.yaml"),
        "apiVersion: platform.kratix.io/v1alpha1\nkind: Destination\nmetadata: {name: dev, labels: {team: a}}\n\
         spec: {path: dev, stateStoreRef: {kind: GitStateStore, name: git}}\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("store.yaml"),
        "apiVersion: platform.kratix.io/v1alpha1\nkind: GitStateStore\nmetadata: {name: git}\n\
         spec: {url: https://git.example.org/state.git, path: clusters}\n",
    )
    .expect("write");
    let output = run(
        dir.path(),
        &[
            "--destination",
            "destination.yaml",
            "--state-store",
            "store.yaml",
            "-o",
            "json",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let groups = result(&output)["pipelines"][0]["work"]["workloadGroups"].clone();
    let by_directory = |directory: &str| {
        groups
            .as_array()
            .and_then(|g| g.iter().find(|g| g["directory"] == directory))
            .cloned()
            .unwrap_or_else(|| panic!("no group {directory} in {groups}"))
    };
    assert_eq!(
        by_directory(".")["storePaths"],
        json!(["clusters/dev/resources/default/cache/example/first/5058f/app.yaml"])
    );
    let db = by_directory("db")["storePaths"][0]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(db.starts_with("not scheduled to Destination dev"), "{db}");
}

#[test]
fn docker_gets_the_same_command_line_with_no_secret_on_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let record = dir.path().join("docker-calls");
    // A stand-in docker: records its arguments and whether the secret reached
    // its environment, and exits as a container that succeeded.
    let stand_in = bin.join("docker");
    std::fs::write(
        &stand_in,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > {}\necho \"PASSWORD=${{PASSWORD}}\" >> {}\n",
            record.display(),
            record.display()
        ),
    )
    .expect("write");
    std::fs::set_permissions(&stand_in, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    std::fs::create_dir_all(dir.path().join("db")).expect("mkdir");
    std::fs::write(dir.path().join("db/password"), "hunter2").expect("write");
    promise(
        dir.path(),
        vec![pipeline(
            "first",
            "exit 0",
            json!({"env": [{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
                   "securityContext": {"runAsUser": 1000, "allowPrivilegeEscalation": false}}),
        )],
    );
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let output = promise_run::command(dir.path())
        .args(["--engine", "docker", "--secret", "db=db"])
        .env("PATH", path)
        .output()
        .expect("the plugin runs");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let calls = std::fs::read_to_string(&record).expect("docker was called");
    let lines: Vec<&str> = calls.lines().collect();
    let (environment, args) = lines.split_last().expect("docker recorded something");
    assert_eq!(
        *environment, "PASSWORD=hunter2",
        "the secret is in docker's environment"
    );
    assert!(
        !args.iter().any(|a| a.contains("hunter2")),
        "no secret on the command line: {args:?}"
    );
    // Every option and its value are one word: no value can pass for an option.
    let expect = |word: &str| assert!(args.contains(&word), "{word} not in {args:?}");
    assert_eq!(&args[..2], ["run", "--rm"]);
    expect("--pull=missing");
    assert!(
        !args.iter().any(|a| a.starts_with("--ulimit")),
        "docker's daemon sets its own limits"
    );
    expect("--user=1000");
    expect("--security-opt=no-new-privileges");
    expect("--env=PASSWORD");
    expect("--env=KRATIX_WORKFLOW_TYPE=resource");
    expect("--entrypoint=sh");
    assert!(
        args.iter()
            .any(|a| a.starts_with("--volume=") && a.ends_with("/out/1-first/input:/kratix/input:ro")),
        "{args:?}"
    );
    assert_eq!(&args[args.len() - 3..], [image(), "-c", "exit 0"]);
}

#[test]
fn watch_runs_again_when_the_request_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    promise(
        dir.path(),
        vec![pipeline(
            "first",
            "echo \"size is $(sed -n 's/^ *size: *//p' /kratix/input/object.yaml)\"",
            json!({}),
        )],
    );
    let request = dir.path().join("request.yaml");
    std::fs::write(
        &request,
        "apiVersion: example.org/v1\nkind: Cache\nmetadata: {name: orders, namespace: default}\nspec: {size: small}\n",
    )
    .expect("write");
    let mut child = promise_run::command(dir.path())
        .args(["--resource", "request.yaml", "--watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the plugin runs");
    let stdout = child.stdout.take().expect("stdout");
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let reader = {
        let lines = lines.clone();
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                lines.lock().expect("lock").push(line);
            }
        })
    };
    let seen = |needle: &str| lines.lock().expect("lock").iter().any(|l| l.contains(needle));
    let wait_for = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !seen(needle) {
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in {:?}",
                lines.lock().expect("lock")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for("first › main size is small");
    wait_for("result: Succeeded");
    std::fs::write(
        &request,
        "apiVersion: example.org/v1\nkind: Cache\nmetadata: {name: orders, namespace: default}\nspec: {size: large}\n",
    )
    .expect("write");
    wait_for("first › main size is large");
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
}

#[test]
fn a_missing_image_or_engine_is_said_plainly() {
    let dir = tempfile::tempdir().expect("tempdir");
    promise(dir.path(), vec![pipeline("first", "exit 0", json!({}))]);
    edit_promise(dir.path(), |value| {
        let container = &mut value["spec"]["workflows"]["resource"]["configure"][0]["spec"]["containers"][0];
        container["image"] = json!("localhost/no-such-image:v1");
        container["imagePullPolicy"] = json!("Never");
    });
    let output = run(dir.path(), &["-o", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let message = result(&output)["pipelines"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("could not be started by podman") && message.contains("localhost/no-such-image:v1"),
        "{message}"
    );

    let empty = dir.path().join("no-engines");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let output = promise_run::command(dir.path())
        .env("PATH", &empty)
        .output()
        .expect("the plugin runs");
    assert_eq!(output.status.code(), Some(2));
    let said = text(&output.stderr);
    assert!(
        said.contains("no container engine: neither podman nor docker is on PATH"),
        "{said}"
    );
}

#[test]
fn a_status_file_that_does_not_parse_fails_the_pipeline_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let message = failure(
        dir.path(),
        vec![pipeline(
            "first",
            "printf 'port: [6379\\n' > /kratix/metadata/status.yaml",
            json!({}),
        )],
    );
    assert!(message.contains("1-first/metadata/status.yaml"), "{message}");
}

#[test]
fn a_status_file_linked_to_the_users_files_is_refused_unread() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, "message: the user's credentials\n").expect("write");
    let message = failure(
        dir.path(),
        vec![pipeline(
            "first",
            &format!("ln -s {} /kratix/metadata/status.yaml", kubeconfig.display()),
            json!({}),
        )],
    );
    assert!(
        message.contains("status.yaml") && message.contains("symbolic link"),
        "{message}"
    );
    assert!(!message.contains("credentials"), "{message}");
}

#[test]
fn a_sub_path_through_a_link_an_earlier_container_planted_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let container = |name: &str, script: &str, mounts: Value| json!({"name": name, "image": image(), "command": ["sh", "-c"], "args": [script], "volumeMounts": mounts});
    let plant = container(
        "plant",
        "ln -s / /scratch/escape; mkdir -p /scratch/kept",
        json!([{"name": "scratch", "mountPath": "/scratch"}]),
    );
    let reach = container(
        "reach",
        "ls /host > /kratix/output/host.yaml",
        json!([{"name": "scratch", "mountPath": "/host", "subPath": "escape/etc"}]),
    );
    let pipeline = json!({
        "apiVersion": "platform.kratix.io/v1alpha1", "kind": "Pipeline",
        "metadata": {"name": "first"},
        "spec": {"containers": [plant, reach], "volumes": [{"name": "scratch", "emptyDir": {}}]}
    });
    let message = failure(dir.path(), vec![pipeline]);
    assert!(
        message.contains("container reach: volumeMounts at /host: subPath escape/etc passes through a link"),
        "{message}"
    );
    assert!(!dir.path().join("out/1-first/output/host.yaml").exists());
}

/// Starts `promise run` on a pipeline that prints a line every tenth of a
/// second for a minute, its stdout piped, and waits for the first line.
fn start_endless(dir: &Path) -> (std::process::Child, std::io::BufReader<std::process::ChildStdout>) {
    use std::io::BufRead as _;
    promise(
        dir,
        vec![pipeline(
            "first",
            "i=0; while [ $i -lt 600 ]; do echo tick $i; i=$((i+1)); sleep 0.1; done",
            json!({"volumeMounts": [{"name": "creds", "mountPath": "/creds"}]}),
        )],
    );
    edit_promise(dir, |value| {
        value["spec"]["workflows"]["resource"]["configure"][0]["spec"]["volumes"] =
            json!([{"name": "creds", "secret": {"secretName": "db"}}]);
    });
    std::fs::create_dir_all(dir.join("db")).expect("mkdir");
    std::fs::write(dir.join("db/password"), "hunter2").expect("write");
    let mut child = promise_run::command(dir)
        .args(["--secret", "db=db"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the plugin runs");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("a first line");
    assert!(first.contains("first › main tick 0"), "{first:?}");
    (child, stdout)
}

/// The containers of the run `pid` that still exist.
fn containers_of(pid: u32) -> String {
    let listed = Command::new("podman")
        .args(["ps", "--all", "--format", "{{.Names}}", "--filter"])
        .arg(format!("name=kratix-run-{pid}-"))
        .output()
        .expect("podman ps");
    text(&listed.stdout)
}

/// Waits (at most a minute) for `child` to exit; its code.
fn exit_code(child: &mut std::process::Child) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the plugin did not stop");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn ctrl_c_stops_the_running_container() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, _stdout) = start_endless(dir.path());
    let pid = child.id();
    assert!(!containers_of(pid).is_empty(), "the container runs");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid")),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("SIGINT");
    assert_eq!(exit_code(&mut child), Some(130));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr).expect("stderr");
    assert!(stderr.contains("interrupted: stopping container"), "{stderr}");
    assert!(
        !dir.path().join("out/1-first/volumes/creds").exists(),
        "the Secret's files go even when interrupted"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !containers_of(pid).is_empty() {
        assert!(Instant::now() < deadline, "left running: {}", containers_of(pid));
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_closed_output_stops_the_running_container_and_exits_141() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, stdout) = start_endless(dir.path());
    let pid = child.id();
    drop(stdout);
    assert_eq!(exit_code(&mut child), Some(141));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !containers_of(pid).is_empty() {
        assert!(Instant::now() < deadline, "left running: {}", containers_of(pid));
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `promise init` with a first pipeline whose scaffold builds FROM the
/// suite's local image (no registry here), in `dir/redis`.
fn scaffolded_promise(dir: &Path, image: &str) -> PathBuf {
    let init = promise_run::kratix_in(
        dir,
        &[
            "promise",
            "init",
            "redis",
            "--group",
            "example.org",
            "--kind",
            "Redis",
        ],
    )
    .args(["--pipeline", "resource/configure/instance", "--image", image])
    .output()
    .expect("the plugin runs");
    assert!(init.status.success(), "{}", text(&init.stderr));
    let promise = dir.join("redis");
    let scaffold = std::fs::read_dir(promise.join("workflows/resource/configure/instance"))
        .expect("the scaffold")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .next()
        .expect("a container scaffold");
    std::fs::write(
        scaffold.join("Dockerfile"),
        format!(
            "FROM {}\nCOPY --chmod=0755 scripts/pipeline.sh /usr/bin/pipeline.sh\nCMD [\"/usr/bin/pipeline.sh\"]\n",
            self::image()
        ),
    )
    .expect("write");
    // The suite's busybox has no yq: the scaffold's script reads with sed.
    std::fs::write(
        scaffold.join("scripts/pipeline.sh"),
        "#!/bin/sh\nset -eu\nname=$(sed -n 's/^  name: *//p' /kratix/input/object.yaml | head -n1)\n\
         printf 'kind: ConfigMap\\nmetadata: {name: %s}\\n' \"$name\" > /kratix/output/configmap.yaml\n",
    )
    .expect("write");
    promise
}

#[test]
fn build_images_builds_each_scaffold_and_promise_run_runs_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let image = "localhost/build-images-test:v1";
    let promise = scaffolded_promise(dir.path(), image);
    let built = promise_run::kratix_in(&promise, &["promise", "build-images", "."])
        .env(
            "CONTAINERS_CONF",
            kratix_tests::platform::containers_conf().expect("containers.conf"),
        )
        .output()
        .expect("the plugin runs");
    assert!(built.status.success(), "{}", text(&built.stderr));
    assert_eq!(text(&built.stdout), format!("{image}\n"));
    let output = promise_run::kratix_in(
        &promise,
        &[
            "promise",
            "run",
            ".",
            "--workflow",
            "resource/configure",
            "-o",
            "json",
        ],
    )
    .output()
    .expect("the plugin runs");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let result = result(&output);
    assert_eq!(
        result["pipelines"][0]["work"]["workloadGroups"][0]["files"],
        json!(["configmap.yaml"])
    );
}

#[test]
fn build_images_pushes_with_the_engine_given() {
    let dir = tempfile::tempdir().expect("tempdir");
    let promise = scaffolded_promise(dir.path(), "registry.example.org/team/redis-instance:v2");
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let record = dir.path().join("docker-calls");
    let stand_in = bin.join("docker");
    std::fs::write(
        &stand_in,
        format!("#!/bin/sh\necho \"$*\" >> {}\n", record.display()),
    )
    .expect("write");
    std::fs::set_permissions(&stand_in, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let pushed = promise_run::kratix_in(
        &promise,
        &[
            "promise",
            "build-images",
            "--engine",
            "docker",
            "--push",
            "--build-arg",
            "VERSION=2",
        ],
    )
    .env("PATH", path)
    .output()
    .expect("the plugin runs");
    assert!(pushed.status.success(), "{}", text(&pushed.stderr));
    let calls = std::fs::read_to_string(&record).expect("docker was called");
    let lines: Vec<&str> = calls.lines().collect();
    assert_eq!(lines.len(), 2, "{calls}");
    assert!(
        lines[0].starts_with("build -t registry.example.org/team/redis-instance:v2 --build-arg VERSION=2 ")
            && lines[0].ends_with("workflows/resource/configure/instance/redis-instance"),
        "{calls}"
    );
    assert_eq!(lines[1], "push registry.example.org/team/redis-instance:v2");
}
