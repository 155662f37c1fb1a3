//! One Promise and request through `kubectl kratix promise run` on this
//! machine and through the agent on the local platform: what must agree does
//! (each pipeline's Work groups with their directories, destination selectors
//! and decoded files, and the status keys the pipelines wrote); times,
//! attempts and Job names aside.

use std::collections::BTreeMap;

use kratix_shared::api::selectors;
use kratix_shared::api::work::Work;
use kratix_shared::codec::compression::decompress;
use kratix_tests::suites::agent::{
    Setup, cache_promise, install_promise_with, pipeline, request, status_until,
};
use kratix_tests::suites::promise_run;
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::{Value, json};

/// Per pipeline: (directory, destination selectors as JSON) → path → content.
type Groups = BTreeMap<String, BTreeMap<(String, String), BTreeMap<String, String>>>;

/// Two pipelines: the first writes the default group and a status key, the
/// second reads that key and writes a selected directory and one of its own.
fn pipelines(image: &str) -> Vec<Value> {
    vec![
        pipeline(
            "first",
            image,
            "size=$(sed -n 's/^ *size: *//p' /kratix/input/object.yaml | head -n1); \
             printf 'kind: App\\nsize: %s\\n' \"$size\" > /kratix/output/app.yaml; \
             printf 'port: 6379\\nsize: %s\\n' \"$size\" > /kratix/metadata/status.yaml",
        ),
        pipeline(
            "second",
            image,
            "grep -q 'port: 6379' /kratix/input/object.yaml || exit 9; \
             mkdir -p /kratix/output/db; echo 'kind: Db' > /kratix/output/db/db.yaml; echo 'kind: Extra' > /kratix/output/extra.yaml; \
             printf -- '- directory: db\\n  matchLabels: {env: prod}\\n' > /kratix/metadata/destination-selectors.yaml; \
             printf 'ready: true\\n' > /kratix/metadata/status.yaml",
        ),
    ]
}

fn selectors_json(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The request's Works on the platform, by pipeline.
async fn agent_groups(client: &kube::Client, namespace: &str, promise: &str) -> Groups {
    let works: Api<Work> = Api::namespaced(client.clone(), namespace);
    let listed = works
        .list(&ListParams::default().labels_from(&selectors::request_works(promise, "orders")))
        .await
        .expect("Works listed");
    let mut groups = Groups::new();
    for work in listed.items {
        let labels = work.metadata.labels.clone().unwrap_or_default();
        let pipeline = labels.get("kratix.io/pipeline-name").cloned().unwrap_or_default();
        for group in &work.spec.workload_groups {
            let selectors = serde_json::to_value(&group.destination_selectors).expect("selectors");
            let files = group
                .workloads
                .iter()
                .map(|w| {
                    let bytes = decompress(&w.content).expect("gzip");
                    (w.filepath.clone(), String::from_utf8(bytes).expect("utf-8"))
                })
                .collect();
            groups
                .entry(pipeline.clone())
                .or_default()
                .insert((group.directory.clone(), selectors_json(&selectors)), files);
        }
    }
    groups
}

/// The same from `promise run`'s JSON result and its output folders.
fn local_groups(result: &Value, out: &std::path::Path) -> Groups {
    let mut groups = Groups::new();
    for (index, pipeline) in result["pipelines"].as_array().into_iter().flatten().enumerate() {
        let name = pipeline["name"].as_str().unwrap_or_default().to_owned();
        let output = out.join(format!("{}-{name}", index + 1)).join("output");
        for group in pipeline["work"]["workloadGroups"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let files = group["files"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|f| {
                    let content = std::fs::read_to_string(output.join(f)).expect("output file");
                    (f.to_owned(), content)
                })
                .collect();
            let directory = group["directory"].as_str().unwrap_or_default().to_owned();
            groups
                .entry(name.clone())
                .or_default()
                .insert((directory, selectors_json(&group["destinationSelectors"])), files);
        }
    }
    groups
}

/// The status keys the pipelines wrote (the agent's and Kratix's own aside).
fn written_keys(status: &Value) -> BTreeMap<String, Value> {
    const OWN: [&str; 8] = [
        "conditions",
        "kratix",
        "message",
        "observedGeneration",
        "lastSuccessfulConfigureWorkflowTime",
        "workflows",
        "workflowsSucceeded",
        "workflowsFailed",
    ];
    status
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !OWN.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[tokio::test]
async fn promise_run_and_the_agent_agree_on_works_and_status() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = kratix_tests::suites::agent::setup(kratix_tests::platform!(), "run-agrees").await;
    let spec = json!({
        "destinationSelectors": [{"matchLabels": {"suite": format!("s{suffix}")}}],
        "workflows": {"resource": {"configure": pipelines(&image)}}
    });

    // On this machine.
    let dir = tempfile::tempdir().expect("tempdir");
    let (promise_object, resource) = cache_promise(&suffix, spec.clone());
    std::fs::write(
        dir.path().join("promise.yaml"),
        serde_json::to_string(&promise_object).expect("json"),
    )
    .expect("write promise");
    let request_object = json!({
        "apiVersion": resource.api_version, "kind": "Cache",
        "metadata": {"name": "orders", "namespace": namespace},
        "spec": {"size": "large"}
    });
    std::fs::write(dir.path().join("request.yaml"), request_object.to_string()).expect("write request");
    let output = promise_run::command(dir.path())
        .args(["--resource", "request.yaml", "-o", "json"])
        .output()
        .expect("the plugin runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let local = promise_run::json_result(&output);

    // On the platform.
    let (promise, resource) = install_promise_with(&client, &suffix, spec).await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(
        &requests,
        &resource,
        &namespace,
        "orders",
        json!({"size": "large"}),
    )
    .await;
    let status = status_until(&requests, "orders", "the workflow to complete", |s| {
        s["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "ConfigureWorkflowCompleted" && c["status"] == "True")
        })
    })
    .await;

    let on_platform = agent_groups(&client, &namespace, &promise).await;
    let on_laptop = local_groups(&local, &dir.path().join("out"));
    assert_eq!(on_laptop, on_platform, "the Works' groups and files agree");
    assert_eq!(on_laptop.len(), 2, "one Work per pipeline: {on_laptop:?}");
    assert_eq!(
        written_keys(&local["status"]),
        written_keys(&status),
        "the status keys the pipelines wrote"
    );
    assert_eq!(written_keys(&status)["size"], "large");
}
