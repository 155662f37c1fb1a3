//! `kubectl kratix workflows status | trigger | logs | service-accounts` on the
//! local platform with the agent running, each run through kubectl (which
//! finds the plugin on PATH): a two-pipeline workflow's logs followed live,
//! its status in every format, trigger --wait on success and on failure, and
//! the service accounts of a pipeline granted rights in another namespace,
//! with --check answers compared with what the platform enforces; and
//! `promise tree`, a request with the component another Promise's request is
//! labelled as.

use std::io::{BufRead as _, BufReader};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kratix_tests::suites::agent::{
    Setup, install_promise, install_promise_with, pipeline, request, setup as agent_setup, status_until,
};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

async fn setup(prefix: &str) -> Setup {
    agent_setup(kratix_tests::platform!(), prefix).await
}

fn kubectl_kratix(args: &[&str]) -> Output {
    kratix_tests::platform!()
        .kubectl_kratix()
        .args(args)
        // No user preferences from the machine running the tests.
        .env("KUBECTL_KRATIX_CONFIG", "/dev/null")
        .output()
        .expect("kubectl runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

fn completed(status: &Value) -> bool {
    status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "ConfigureWorkflowCompleted" && c["status"] == "True")
}

fn two_containers(name: &str, image: &str, first: &str, second: &str) -> Value {
    json!({
        "apiVersion": "platform.kratix.io/v1alpha1", "kind": "Pipeline", "metadata": {"name": name},
        "spec": {"containers": [
            {"name": "prepare", "image": image, "command": ["sh", "-c", first]},
            {"name": "render", "image": image, "command": ["sh", "-c", second]}
        ]}
    })
}

#[tokio::test]
async fn logs_follow_a_two_pipeline_workflow_live_and_status_shows_it() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("wflogs").await;
    let (promise, resource) = install_promise(
        &client,
        &suffix,
        vec![
            two_containers(
                "build",
                &image,
                "echo preparing the build",
                "echo rendering; sleep 4; echo rendered; echo 'kind: ConfigMap' > /kratix/output/cm.yaml",
            ),
            pipeline("publish", &image, "echo publishing now"),
        ],
    )
    .await;
    // The plugin is built on first use: before the run starts, not during it.
    succeeded(&kubectl_kratix(&["version"]));
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "shop", json!({})).await;

    // Followed from before the first pipeline has finished: every line arrives
    // as it is written, pipeline after pipeline, and the command ends with the workflow.
    let started = Instant::now();
    let mut follow = kratix_tests::platform!()
        .kubectl_kratix()
        .args(["workflows", "logs", &promise, "shop", "-n", &namespace, "-f"])
        .env("KUBECTL_KRATIX_CONFIG", "/dev/null")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("logs -f starts");
    let stdout = follow.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .map(|line| (Instant::now(), line))
            .collect::<Vec<_>>()
    });
    let ended = loop {
        if let Some(status) = follow.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "logs -f did not end with the workflow"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let lines = reader.join().expect("reader");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut follow.stderr.take().expect("stderr"), &mut stderr).expect("stderr");
    assert!(ended.success(), "{stderr}");
    let shown: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
    let position = |needle: &str| {
        shown
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in {shown:#?}\n{stderr}"))
    };
    let order = [
        "build › prepare preparing the build",
        "build › render rendering",
        "build › render rendered",
        "publish › main publishing now",
    ];
    let positions: Vec<usize> = order.iter().map(|l| position(l)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{shown:#?}");
    assert!(
        stderr.contains("+ build › reader") && stderr.contains("+ publish › status-writer"),
        "markers for every container, Kratix's too: {stderr}"
    );
    assert!(
        stderr.find("+ build › work-writer") < stderr.find("+ build › status-writer"),
        "{stderr}"
    );
    // Live: the first pipeline's early line came seconds before its last one.
    let at = |needle: &str| lines.iter().find(|(_, l)| l.contains(needle)).map(|(t, _)| *t);
    let (early, late) = (at("build › render rendering"), at("build › render rendered"));
    let gap = late.expect("late").duration_since(early.expect("early"));
    let timeline: Vec<String> = lines
        .iter()
        .map(|(t, l)| format!("{:>6.2}s {l}", t.duration_since(started).as_secs_f64()))
        .collect();
    assert!(
        gap >= Duration::from_secs(2),
        "lines arrived {gap:?} apart: not followed live\n{}\n{stderr}",
        timeline.join("\n")
    );

    status_until(&requests, "shop", "the workflow to complete", completed).await;

    let table = succeeded(&kubectl_kratix(&[
        "workflows",
        "status",
        &promise,
        "shop",
        "-n",
        &namespace,
    ]));
    let header = table.lines().next().unwrap_or_default();
    for column in [
        "OBJECT", "PIPELINE", "PHASE", "ATTEMPTS", "LAST RUN", "DURATION", "JOB",
    ] {
        assert!(header.contains(column), "{table}");
    }
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("cache/shop")).collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(
        rows[0].contains("build") && rows[0].contains("Succeeded"),
        "{table}"
    );
    assert!(
        rows[1].contains("publish") && rows[1].contains("Succeeded"),
        "{table}"
    );
    assert!(
        table.contains("Conditions of cache/shop:") && table.contains("ConfigureWorkflowCompleted"),
        "{table}"
    );
    assert!(table.contains("Outputs of cache/shop:"), "{table}");

    // On a terminal the table fits its width: long columns wrap, short ones do not.
    let screen = on_terminal(100, &["workflows", "status", &promise, "shop", "-n", &namespace]);
    assert!(screen.lines().all(|l| l.chars().count() <= 100), "{screen}");
    assert!(
        screen
            .lines()
            .any(|l| l.starts_with("cache/shop") && l.contains("Succeeded")),
        "{screen}"
    );

    let json = succeeded(&kubectl_kratix(&[
        "workflows",
        "status",
        &promise,
        "shop",
        "-n",
        &namespace,
        "-o",
        "json",
    ]));
    let report: Value = serde_json::from_str(&json).expect("json");
    let item = &report["items"][0];
    assert_eq!(item["name"], "shop");
    assert_eq!(item["namespace"], namespace.as_str());
    let pipelines = item["pipelines"].as_array().expect("pipelines");
    assert_eq!(pipelines.len(), 2, "{json}");
    let jobs: Api<k8s_openapi::api::batch::v1::Job> = Api::namespaced(client.clone(), &namespace);
    for entry in pipelines {
        assert_eq!(entry["phase"], "Succeeded", "{json}");
        let job = entry["job"].as_str().expect("job name");
        assert!(jobs.get_opt(job).await.expect("job").is_some(), "{job} exists");
        assert!(
            entry["pod"].as_str().is_some_and(|p| p.starts_with(job)),
            "{json}"
        );
        assert!(entry["durationSeconds"].as_i64().is_some(), "{json}");
    }
    assert!(
        pipelines[0]["durationSeconds"].as_i64() >= Some(4),
        "the build ran at least its sleep: {json}"
    );

    let yaml = succeeded(&kubectl_kratix(&[
        "workflows",
        "status",
        &promise,
        "-A",
        "-o",
        "yaml",
    ]));
    assert!(
        yaml.contains("kind: WorkflowStatusList") && yaml.contains("name: shop"),
        "{yaml}"
    );
    let wide = succeeded(&kubectl_kratix(&[
        "workflows",
        "status",
        &promise,
        "-A",
        "-o",
        "wide",
    ]));
    assert!(
        wide.lines()
            .next()
            .is_some_and(|h| h.starts_with("NAMESPACE") && h.contains("POD")),
        "{wide}"
    );
    assert!(wide.contains(&namespace) && wide.contains("promise/"), "{wide}");

    // One pipeline and container of the finished run.
    let only = succeeded(&kubectl_kratix(&[
        "workflows",
        "logs",
        &promise,
        "shop",
        "-n",
        &namespace,
        "--pipeline",
        "build",
        "-c",
        "render",
    ]));
    assert_eq!(
        only.lines().collect::<Vec<_>>(),
        ["build › render rendering", "build › render rendered"]
    );
    let tail = succeeded(&kubectl_kratix(&[
        "workflows",
        "logs",
        &promise,
        "shop",
        "-n",
        &namespace,
        "-c",
        "render",
        "--tail",
        "1",
    ]));
    assert_eq!(tail.trim(), "build › render rendered");
    let too_far = kubectl_kratix(&[
        "workflows",
        "logs",
        &promise,
        "shop",
        "-n",
        &namespace,
        "--run",
        "3",
    ]);
    assert_eq!(too_far.status.code(), Some(1));
    assert!(
        text(&too_far.stderr).contains("only 1 run is"),
        "{}",
        text(&too_far.stderr)
    );

    let denied = kubectl_kratix(&[
        "workflows",
        "status",
        &promise,
        "--as",
        "system:serviceaccount:default:nobody",
    ]);
    assert_eq!(denied.status.code(), Some(1));
    assert!(
        text(&denied.stderr).contains("permission denied reading Promise"),
        "{}",
        text(&denied.stderr)
    );

    // Nothing to follow is said at once rather than waited on.
    let nothing = kubectl_kratix(&["workflows", "logs", &promise, "-f"]);
    assert_eq!(nothing.status.code(), Some(1));
    assert!(
        text(&nothing.stderr).contains("no promise/configure pipelines"),
        "{}",
        text(&nothing.stderr)
    );

    let missing = kubectl_kratix(&["workflows", "status", "no-such-promise"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("Promise no-such-promise not found"),
        "{}",
        text(&missing.stderr)
    );
}

#[tokio::test]
async fn trigger_waits_for_the_run_and_fails_when_it_fails() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("wftrigger").await;
    let (promise, resource) = install_promise(
        &client,
        &suffix,
        vec![pipeline(
            "check",
            &image,
            "if grep -q 'size: broken' /kratix/input/object.yaml; then echo broken >&2; exit 3; fi; echo fine",
        )],
    )
    .await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "good", json!({})).await;
    let first = status_until(&requests, "good", "the first run", completed).await;
    let first_job = first["kratix"]["workflows"]["configure"]["pipelines"][0]["jobName"].clone();

    // Watched while triggered, colour asked for in config.toml.
    let config = tempfile::NamedTempFile::new().expect("config file");
    std::fs::write(config.path(), "color = \"always\"\n").expect("config written");
    let mut watch = Watched::new(
        kratix_tests::platform!()
            .kubectl_kratix()
            .args([
                "workflows",
                "status",
                &promise,
                "good",
                "-n",
                &namespace,
                "--watch",
            ])
            .env("KUBECTL_KRATIX_CONFIG", config.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("status --watch starts"),
    );
    let first_job_name = first_job.as_str().expect("job name").to_owned();
    watch.until(&first_job_name).await;
    let run = succeeded(&kubectl_kratix(&[
        "workflows",
        "trigger",
        &promise,
        "good",
        "-n",
        &namespace,
        "--wait",
        "--timeout",
        "3m",
    ]));
    assert!(run.contains("pipeline check running (1/1)"), "{run}");
    assert!(run.contains("1 workflow succeeded"), "{run}");
    let after = requests.get("good").await.expect("request");
    assert_ne!(
        after.data["status"]["kratix"]["workflows"]["configure"]["pipelines"][0]["jobName"], first_job,
        "a new Job ran"
    );
    assert!(
        after
            .metadata
            .labels
            .as_ref()
            .is_none_or(|l| !l.contains_key("kratix.io/manual-reconciliation")),
        "the agent took the label off"
    );
    let new_job = after.data["status"]["kratix"]["workflows"]["configure"]["pipelines"][0]["jobName"]
        .as_str()
        .expect("job")
        .to_owned();
    let watched = watch.until(&new_job).await.to_owned();
    drop(watch);
    let tables = watched.matches("OBJECT").count();
    assert!(tables >= 2, "printed again on change: {watched}");
    assert!(
        watched.contains("\x1b["),
        "config.toml's color = always: {watched:?}"
    );
    let plain = kratix_tests::platform!()
        .kubectl_kratix()
        .args(["workflows", "status", &promise, "good", "-n", &namespace])
        .env("KUBECTL_KRATIX_CONFIG", config.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("status");
    assert!(
        !text(&plain.stdout).contains("\x1b["),
        "NO_COLOR wins over the file"
    );
    let forced = kratix_tests::platform!()
        .kubectl_kratix()
        .args([
            "workflows",
            "status",
            &promise,
            "good",
            "-n",
            &namespace,
            "--color",
            "always",
        ])
        .env("NO_COLOR", "1")
        .output()
        .expect("status");
    assert!(
        text(&forced.stdout).contains("\x1b["),
        "but not over --color always"
    );

    // The failing run's logs are caught live: Kubernetes deletes the pods of a
    // failed Job (restartPolicy OnFailure), so afterwards only the status explains it.
    let broken = json!({"spec": {"size": "broken"}});
    requests
        .patch("good", &PatchParams::default(), &Patch::Merge(&broken))
        .await
        .expect("broken");
    let live = kubectl_kratix(&["workflows", "logs", &promise, "good", "-n", &namespace, "-f"]);
    assert!(live.status.success(), "{}", text(&live.stderr));
    assert!(
        text(&live.stdout).contains("check › main broken"),
        "{}",
        text(&live.stdout)
    );
    assert!(
        text(&live.stderr).contains("pipeline check failed"),
        "{}",
        text(&live.stderr)
    );
    let failed = kubectl_kratix(&[
        "workflows",
        "trigger",
        &promise,
        "good",
        "-n",
        &namespace,
        "--wait",
        "--timeout",
        "3m",
    ]);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed.stdout));
    assert!(
        text(&failed.stdout).contains("pipeline check failed"),
        "{}",
        text(&failed.stdout)
    );
    assert!(
        text(&failed.stderr).contains("did not succeed"),
        "{}",
        text(&failed.stderr)
    );

    // The failure is obvious from status.
    let status = succeeded(&kubectl_kratix(&[
        "workflows",
        "status",
        &promise,
        "good",
        "-n",
        &namespace,
    ]));
    assert!(
        status.contains("Failed") && status.contains("BackoffLimitExceeded"),
        "{status}"
    );
    assert!(
        status.contains("A Configure Pipeline has failed: check"),
        "{status}"
    );

    // Nothing to run is said before anything is labelled.
    let nothing = kubectl_kratix(&["workflows", "trigger", &promise, "--wait"]);
    assert_eq!(nothing.status.code(), Some(1));
    assert!(
        text(&nothing.stderr).contains("nothing to run"),
        "{}",
        text(&nothing.stderr)
    );

    // Every request again: the broken one fails the whole wait.
    request(&requests, &resource, &namespace, "other", json!({})).await;
    status_until(&requests, "other", "the other request's run", completed).await;
    let all = kubectl_kratix(&[
        "workflows",
        "trigger",
        &promise,
        "--all-resources",
        "--wait",
        "--timeout",
        "3m",
    ]);
    assert_eq!(all.status.code(), Some(1), "{}", text(&all.stdout));
    let out = text(&all.stdout);
    assert!(out.contains("the workflows of its 2 requests re-run"), "{out}");
    assert!(
        out.contains("cache/other in") && out.contains("workflow succeeded"),
        "{out}"
    );
    assert!(
        text(&all.stderr).contains("1 of 2 workflows did not succeed"),
        "{}",
        text(&all.stderr)
    );
}

#[tokio::test]
async fn service_accounts_show_cross_namespace_grants_and_check_matches_enforcement() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("wfsa").await;
    let other = kratix_tests::platform!().namespace(&client, "wfsa-other").await;
    let mut writer = pipeline("write", &image, "echo writing");
    writer["spec"]["rbac"] = json!({"permissions": [
        {"apiGroups": [""], "verbs": ["get", "create"], "resources": ["configmaps"], "resourceNamespace": other},
        {"apiGroups": [""], "verbs": ["get"], "resources": ["secrets"]}
    ]});
    let (promise, resource) = install_promise(&client, &suffix, vec![writer]).await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "app", json!({})).await;
    status_until(&requests, "app", "the workflow to complete", completed).await;
    let account = format!("{promise}-resource-configure-write");

    // kubectl completes the Promise and then the request from the cluster.
    let complete = |words: &[&str]| {
        let output = kratix_tests::platform!()
            .kubectl()
            .args(["__complete", "kratix"])
            .args(words)
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    kratix_tests::suites::support::plugin_path_dir().display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .output()
            .expect("kubectl __complete");
        text(&output.stdout)
    };
    let promises = complete(&["workflows", "sa", &promise[..promise.len() - 2]]);
    assert!(promises.lines().any(|l| l == promise), "{promises}");
    let requests = complete(&["workflows", "logs", &promise, "-n", &namespace, ""]);
    assert_eq!(requests.lines().collect::<Vec<_>>(), ["app", ":4"], "{requests}");

    let view = succeeded(&kubectl_kratix(&["workflows", "sa", &promise]));
    let header = view.lines().next().unwrap_or_default();
    for column in ["PIPELINE", "SERVICE ACCOUNT", "OWNER", "SCOPE", "ROLE", "RULES"] {
        assert!(header.contains(column), "{view}");
    }
    assert!(!header.contains("SOURCE"), "SOURCE is -o wide's: {view}");
    let mine: Vec<&str> = view
        .lines()
        .filter(|l| l.contains(&format!("{namespace}/{account}")))
        .collect();
    assert!(
        mine.iter()
            .all(|l| l.contains("resource/configure/write") && l.contains("kratix")),
        "{view}"
    );
    assert!(
        mine.iter()
            .any(|l| l.contains(&other) && l.contains("get,create configmaps")),
        "{view}"
    );
    assert!(mine.iter().any(|l| l.contains("get secrets")), "{view}");

    let wide = succeeded(&kubectl_kratix(&[
        "workflows",
        "service-accounts",
        &promise,
        "app",
        "-o",
        "wide",
    ]));
    assert!(wide.contains(&format!("RoleBinding/{other}/")), "{wide}");

    let json = succeeded(&kubectl_kratix(&[
        "workflows",
        "sa",
        &promise,
        &format!("{namespace}/app"),
        "-o",
        "json",
    ]));
    let listed: Value = serde_json::from_str(&json).expect("json");
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "one resource pipeline: {json}");
    assert_eq!(items[0]["serviceAccount"]["name"], account.as_str());
    assert_eq!(items[0]["owner"], "kratix");

    // Each answer matches what the platform does when the account tries.
    let as_pipeline = kratix_tests::platform!().client_as(&namespace, &account).await;
    for (verb, target, in_namespace) in [
        ("create", "configmaps", other.as_str()),
        ("create", "configmaps", namespace.as_str()),
        ("get", "secrets", namespace.as_str()),
        ("get", "secrets", other.as_str()),
    ] {
        let output = kubectl_kratix(&[
            "workflows",
            "sa",
            &promise,
            "app",
            "--check",
            verb,
            target,
            "-n",
            in_namespace,
            "-o",
            "json",
        ]);
        let answer: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}{}", text(&output.stdout), text(&output.stderr)));
        let check = &answer["items"][0]["check"];
        let said = check["allowed"].as_bool().expect("allowed");
        assert_eq!(check["subjectAccessReview"], said, "the review agrees: {check}");
        assert_eq!(output.status.code(), Some(if said { 0 } else { 1 }), "{check}");
        let enforced = match (verb, target) {
            ("create", "configmaps") => {
                let config_maps: Api<ConfigMap> = Api::namespaced(as_pipeline.clone(), in_namespace);
                let probe = ConfigMap {
                    metadata: kube::api::ObjectMeta {
                        generate_name: Some("probe-".to_owned()),
                        ..Default::default()
                    },
                    ..ConfigMap::default()
                };
                allowed(
                    config_maps
                        .create(&PostParams::default(), &probe)
                        .await
                        .map(|_| ()),
                )
            }
            _ => {
                let secrets: Api<k8s_openapi::api::core::v1::Secret> =
                    Api::namespaced(as_pipeline.clone(), in_namespace);
                allowed(secrets.get("absent").await.map(|_| ()))
            }
        };
        assert_eq!(said, enforced, "{verb} {target} in {in_namespace}: {check}");
    }
    let table = succeeded(&kubectl_kratix(&[
        "workflows",
        "sa",
        &promise,
        "app",
        "--check",
        "create",
        "configmaps",
        "-n",
        &other,
    ]));
    assert!(
        table.contains("ALLOWED BY") && table.contains(&format!("via RoleBinding/{other}/")),
        "{table}"
    );
}

/// The Promise's own workflow: status, trigger --wait and logs run in the
/// system namespace, and -l narrows the requests listed.
#[tokio::test]
async fn a_promise_workflow_is_triggered_and_its_logs_read() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("wfpromise").await;
    let (promise, resource) = install_promise_with(
        &client,
        &suffix,
        json!({"workflows": {
            "promise": {"configure": [pipeline("setup", &image, "echo configuring the promise")]},
            "resource": {"configure": [pipeline("instance", &image, "echo an instance")]}
        }}),
    )
    .await;
    kratix_tests::suites::agent::promise_status_until(&client, &promise, "the promise workflow", |s| {
        s["kratix"]["workflows"]["configure"]["pipelines"][0]["phase"] == "Succeeded"
    })
    .await;
    let run = succeeded(&kubectl_kratix(&[
        "workflows",
        "trigger",
        &promise,
        "--wait",
        "--timeout",
        "3m",
    ]));
    assert!(
        run.contains(&format!("promise/{promise}: pipeline setup running (1/1)")),
        "{run}"
    );
    assert!(run.contains("1 workflow succeeded"), "{run}");
    let logs = succeeded(&kubectl_kratix(&["workflows", "logs", &promise]));
    assert!(logs.contains("setup › main configuring the promise"), "{logs}");
    let before = succeeded(&kubectl_kratix(&[
        "workflows",
        "logs",
        &promise,
        "--run",
        "1",
        "-c",
        "main",
    ]));
    assert_eq!(
        before.trim(),
        "setup › main configuring the promise",
        "the run before the trigger"
    );
    let status = succeeded(&kubectl_kratix(&[
        "workflows",
        "status",
        &promise,
        "-n",
        &namespace,
    ]));
    let row = status
        .lines()
        .find(|l| l.starts_with(&format!("promise/{promise}")))
        .unwrap_or_else(|| panic!("{status}"));
    assert!(row.contains("setup") && row.contains("Succeeded"), "{status}");
    assert!(
        status.contains(&format!("Conditions of promise/{promise}:")),
        "{status}"
    );

    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "plain", json!({})).await;
    request(&requests, &resource, &namespace, "gold", json!({})).await;
    let labelled = json!({"metadata": {"labels": {"tier": "gold"}}});
    requests
        .patch("gold", &PatchParams::default(), &Patch::Merge(&labelled))
        .await
        .expect("labelled");
    let selected = succeeded(&kubectl_kratix(&[
        "workflows",
        "status",
        &promise,
        "-n",
        &namespace,
        "-l",
        "tier=gold",
    ]));
    assert!(
        selected.contains("cache/gold") && !selected.contains("cache/plain"),
        "{selected}"
    );
}

#[tokio::test]
async fn promise_tree_shows_the_components_labelled_as_made_for_a_request() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("wftree").await;
    let (parent, parent_resource) =
        install_promise(&client, &suffix, vec![pipeline("instance", &image, "true")]).await;
    let (child, child_resource) = install_promise(
        &client,
        &format!("{suffix}c"),
        vec![pipeline("instance", &image, "true")],
    )
    .await;
    let parents: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &parent_resource);
    request(&parents, &parent_resource, &namespace, "shop", json!({})).await;
    status_until(&parents, "shop", "the parent request to be reconciled", |s| {
        s["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Reconciled" && c["status"] == "True")
    })
    .await;
    // What a compound Promise's pipeline writes: its component, labelled as
    // kratix-cli's convention says; and one that is nobody's component.
    let children: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &child_resource);
    kratix_tests::suites::agent::create_request(
        &children,
        &child_resource,
        json!({"name": "shop-db", "namespace": namespace, "labels": {
            "kratix.io/component-of-promise-name": parent,
            "kratix.io/component-of-resource-name": "shop",
            "kratix.io/component-of-resource-namespace": namespace,
        }}),
        json!({}),
    )
    .await;
    request(&children, &child_resource, &namespace, "loose", json!({})).await;

    let tree = succeeded(&kubectl_kratix(&["promise", "tree", &parent]));
    let lines: Vec<&str> = tree.lines().collect();
    assert_eq!(lines.len(), 2, "{tree}");
    assert_eq!(
        lines[0],
        format!("Cache {namespace}/shop ({parent}): Reconciled \"Resource requested\""),
        "{tree}"
    );
    assert!(
        lines[1].starts_with(&format!("└── Cache {namespace}/shop-db ({child}): ")),
        "{tree}"
    );
    let as_json: Value = serde_json::from_str(&succeeded(&kubectl_kratix(&[
        "promise", "tree", &parent, "-o", "json",
    ])))
    .expect("json");
    assert_eq!(as_json[0]["components"][0]["name"], "shop-db");
    assert_eq!(as_json[0]["components"][0]["promise"], child.as_str());

    let elsewhere = kubectl_kratix(&["promise", "tree", &parent, "-n", "kube-system"]);
    assert!(elsewhere.status.success(), "{}", text(&elsewhere.stderr));
    assert!(
        text(&elsewhere.stderr).contains(&format!(
            "No Cache requests of Promise {parent} in namespace kube-system"
        )),
        "{}",
        text(&elsewhere.stderr)
    );
    let missing = kubectl_kratix(&["promise", "tree", "no-such-promise"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("Promise no-such-promise not found"),
        "{}",
        text(&missing.stderr)
    );
}

/// Whether the API let the request through: NotFound comes after authorization.
fn allowed(result: Result<(), kube::Error>) -> bool {
    match result {
        Ok(()) => true,
        Err(kube::Error::Api(status)) if status.code == 404 => true,
        Err(kube::Error::Api(status)) if status.code == 403 => false,
        Err(other) => panic!("unexpected answer: {other}"),
    }
}

/// A running command's stdout, read as it comes.
struct Watched {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: String,
}

impl Watched {
    fn new(mut child: std::process::Child) -> Watched {
        let stdout = child.stdout.take().expect("stdout");
        let (sender, lines) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Watched {
            child,
            lines,
            seen: String::new(),
        }
    }

    /// Everything printed so far, once it contains `needle` (two minutes at most).
    async fn until(&mut self, needle: &str) -> &str {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline && !self.seen.contains(needle) {
            match self.lines.try_recv() {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(std::sync::mpsc::TryRecvError::Disconnected) => break,
            }
        }
        assert!(self.seen.contains(needle), "no {needle:?} in {}", self.seen);
        &self.seen
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// What `kubectl kratix ARGS` shows on a terminal `width` columns wide (tmux).
fn on_terminal(width: u16, args: &[&str]) -> String {
    let session = format!("plugin-workflows-{}", std::process::id());
    let mut command = vec![
        "env".to_owned(),
        format!("KUBECONFIG={}", kratix_tests::platform!().kubeconfig.display()),
        "KUBECTL_KRATIX_CONFIG=/dev/null".to_owned(),
        format!(
            "PATH={}:{}",
            kratix_tests::suites::support::plugin_path_dir().display(),
            std::env::var("PATH").unwrap_or_default()
        ),
        "kubectl".to_owned(),
        "kratix".to_owned(),
    ];
    command.extend(args.iter().map(|a| (*a).to_owned()));
    let script = format!("{}; echo; echo DONE; sleep 30", shell_words(&command));
    let started = std::process::Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            &width.to_string(),
            "-y",
            "60",
            &script,
        ])
        .status()
        .expect("tmux runs (tests/run installs it)");
    assert!(started.success(), "tmux new-session");
    let deadline = Instant::now() + Duration::from_secs(60);
    let screen = loop {
        let captured = std::process::Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &session])
            .output()
            .expect("tmux capture-pane");
        let screen = text(&captured.stdout);
        if screen.contains("DONE") || Instant::now() > deadline {
            break screen;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = std::process::Command::new("tmux")
        .args(["kill-session", "-t", &session])
        .status();
    screen
}

fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ")
}
