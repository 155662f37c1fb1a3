//! The agent's in-pod subcommands in real pipeline pods: the rendered Job runs
//! `reader`, the user's containers, `work-writer` and `status-writer` with the
//! rendered RBAC enforced. The test plays the controller (that is the agent
//! issue's work): it applies each pipeline's rendered objects in turn.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kratix_shared::api::Workflow;
use kratix_shared::api::pipeline::parse_pipelines;
use kratix_shared::api::resource_api::ResourceApi;
use kratix_shared::api::work::Work;
use kratix_shared::codec::compression::decompress;
use kratix_shared::render::{AdapterImage, RenderRequest, render_workflow};
use kratix_tests::fixtures::images::ImageSpec;
use kratix_tests::suites::support::{adapter_image, install_kratix_crds, wait_for};
use kube::api::{Api, ApiResource, DynamicObject, ListParams, PostParams};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(90);

fn busybox() -> String {
    kratix_tests::platform!().image(&ImageSpec {
        reference: "testenv-busybox:v1".into(),
        user: Some(65534),
        ..Default::default()
    })
}

async fn create_or_keep<K>(api: &Api<K>, object: &K)
where
    K: kube::Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.create(&PostParams::default(), object).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(error) => panic!("creating {:?}: {error}", object.meta().name),
    }
}

fn pipeline(name: &str, image: &str, script: &str) -> Value {
    json!({
        "apiVersion": "platform.kratix.io/v1alpha1", "kind": "Pipeline", "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": image, "command": ["sh", "-c", script]}]}
    })
}

/// Applies what one pipeline needs and waits for its Job to finish.
async fn run_pipeline(client: &kube::Client, rendered: &kratix_shared::render::PipelineResources) -> Job {
    let job = &rendered.job;
    let namespace = job.metadata.namespace.clone().expect("job namespace");
    let sa_namespace = rendered
        .service_account
        .metadata
        .namespace
        .clone()
        .expect("sa namespace");
    create_or_keep(
        &Api::<ServiceAccount>::namespaced(client.clone(), &sa_namespace),
        &rendered.service_account,
    )
    .await;
    if let Some(cm) = &rendered.config_map {
        create_or_keep(&Api::<ConfigMap>::namespaced(client.clone(), &namespace), cm).await;
    }
    for role in &rendered.roles {
        let ns = role.metadata.namespace.clone().expect("ns");
        create_or_keep(&Api::<Role>::namespaced(client.clone(), &ns), role).await;
    }
    for binding in &rendered.role_bindings {
        let ns = binding.metadata.namespace.clone().expect("ns");
        create_or_keep(&Api::<RoleBinding>::namespaced(client.clone(), &ns), binding).await;
    }
    for role in &rendered.cluster_roles {
        create_or_keep(&Api::<ClusterRole>::all(client.clone()), role).await;
    }
    for binding in &rendered.cluster_role_bindings {
        create_or_keep(&Api::<ClusterRoleBinding>::all(client.clone()), binding).await;
    }
    let jobs: Api<Job> = Api::namespaced(client.clone(), &namespace);
    jobs.create(&PostParams::default(), job)
        .await
        .expect("job created");
    let name = job.metadata.name.clone().expect("job name");
    let finished = wait_for(&format!("job {name} to finish"), TIMEOUT, || async {
        let job = jobs.get(&name).await.map_err(|e| e.to_string())?;
        let done = job
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| {
                c.iter()
                    .any(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
            });
        if done {
            Ok(job)
        } else {
            Err(format!("{:?}", job.status))
        }
    })
    .await;
    let complete = finished
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Complete" && c.status == "True"));
    if !complete {
        let mut logs = String::new();
        for container in ["reader", "main", "work-writer", "status-writer"] {
            let output = kratix_tests::platform!()
                .kubectl()
                .args(["logs", "-n", &namespace, &format!("job/{name}"), "-c", container])
                .output()
                .expect("kubectl");
            logs.push_str(&format!(
                "--- {container}:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        panic!("pipeline job {name} failed:\n{logs}");
    }
    finished
}

#[tokio::test]
async fn two_pipelines_run_in_order_and_write_works_and_status() {
    let client = kratix_tests::platform!().client().await;
    install_kratix_crds(&client).await;
    let namespace = kratix_tests::platform!().namespace(&client, "pipes").await;
    let suffix = &namespace[namespace.len() - 6..];
    let group = format!("p{suffix}.example.org");
    let image = busybox();
    let first = "mkdir -p /kratix/output/dev; echo 'kind: ConfigMap' > /kratix/output/dev/app.yaml; \
                 echo 'kind: Namespace' > /kratix/output/ns.yaml; \
                 printf -- '- directory: dev\\n  matchLabels: {env: dev}\\n' > /kratix/metadata/destination-selectors.yaml; \
                 printf 'message: first done\\nstage: one\\n' > /kratix/metadata/status.yaml";
    let second = "grep -q 'stage: one' /kratix/input/object.yaml && saw=found || saw=missing; \
                  echo \"second: $KRATIX_PIPELINE_NAME\" > /kratix/output/second.yaml; \
                  printf 'stage: two\\nsawFirst: %s\\nconditions:\\n- {type: Custom, status: \"True\", reason: Set, message: by pipeline, lastTransitionTime: \"2026-01-01T00:00:00Z\"}\\n' $saw > /kratix/metadata/status.yaml";
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("databases.{group}")},
        "spec": {"group": group, "names": {"kind": "Database", "plural": "databases"}, "scope": "Namespaced",
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}
    });
    let promise = json!({
        "apiVersion": "platform.kratix.io/v1alpha1", "kind": "Promise",
        "metadata": {"name": format!("database-{suffix}")},
        "spec": {
            "api": crd,
            "destinationSelectors": [{"matchLabels": {"cloud": "local"}}],
            "workflows": {"resource": {"configure": [pipeline("first", &image, first), pipeline("second", &image, second)]}}
        }
    });
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    create_or_keep(&crds, &serde_json::from_value(crd.clone()).expect("crd")).await;
    kratix_tests::platform!()
        .kubectl()
        .args([
            "wait",
            "--for=condition=Established",
            &format!("crd/databases.{group}"),
            "--timeout=30s",
        ])
        .status()
        .expect("kubectl wait");
    let resource = ApiResource {
        group: group.clone(),
        version: "v1".into(),
        api_version: format!("{group}/v1"),
        kind: "Database".into(),
        plural: "databases".into(),
    };
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    let request: DynamicObject = serde_json::from_value(json!({
        "apiVersion": format!("{group}/v1"), "kind": "Database",
        "metadata": {"name": "orders", "namespace": namespace}, "spec": {"size": "small"}
    }))
    .expect("request");
    let request = wait_for("the new API to accept requests", TIMEOUT, || async {
        requests
            .create(&PostParams::default(), &request)
            .await
            .map_err(|e| e.to_string())
    })
    .await;
    let request_value = serde_json::to_value(&request).expect("request value");
    let (api, problems) = ResourceApi::decode(&promise["spec"]["api"]);
    assert_eq!(problems, vec![]);
    let api = api.expect("api");
    let pipelines = parse_pipelines(
        promise["spec"]["workflows"]["resource"]["configure"]
            .as_array()
            .expect("pipelines"),
        "configure",
    )
    .expect("pipelines parse");
    let adapter = AdapterImage {
        image: adapter_image(),
        pull_secret: None,
    };
    let rendered = render_workflow(&RenderRequest {
        promise: &promise,
        workflow: Workflow::RESOURCE_CONFIGURE,
        pipelines: &pipelines,
        resource: Some((&request_value, &api)),
        config: None,
        adapter: &adapter,
        job_name_suffix: None,
    })
    .expect("renders");
    for pipeline in &rendered {
        run_pipeline(&client, pipeline).await;
    }

    let stored = requests.get("orders").await.expect("request");
    let status = stored.data["status"].clone();
    assert_eq!(status["message"], "first done");
    assert_eq!(status["stage"], "two");
    assert_eq!(
        status["sawFirst"], "found",
        "the second pipeline read the first one's status"
    );
    let conditions = status["conditions"].as_array().cloned().unwrap_or_default();
    let types: Vec<&str> = conditions.iter().filter_map(|c| c["type"].as_str()).collect();
    assert_eq!(types, ["Custom", "ConfigureWorkflowCompleted"]);
    assert_eq!(conditions[1]["status"], "True");
    assert_eq!(conditions[1]["reason"], "PipelinesExecutedSuccessfully");

    let works: Api<Work> = Api::namespaced(client.clone(), &namespace);
    let listed = works
        .list(&ListParams::default().labels(&format!(
            "kratix.io/promise-name=database-{suffix},kratix.io/resource-name=orders"
        )))
        .await
        .expect("works");
    assert_eq!(listed.items.len(), 2, "one Work per pipeline");
    let first_work = listed
        .items
        .iter()
        .find(|w| {
            w.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("kratix.io/pipeline-name"))
                .map(String::as_str)
                == Some("first")
        })
        .expect("the first pipeline's Work");
    assert!(
        first_work
            .metadata
            .name
            .as_deref()
            .unwrap_or_default()
            .starts_with(&format!("database-{suffix}-orders-first-"))
    );
    let groups = &first_work.spec.workload_groups;
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].directory, "dev");
    assert_eq!(groups[0].workloads[0].filepath, "dev/app.yaml");
    assert_eq!(
        decompress(&groups[0].workloads[0].content).as_deref(),
        Some(&b"kind: ConfigMap\n"[..])
    );
    assert_eq!(groups[0].destination_selectors[0].source, "resource-workflow");
    assert_eq!(groups[1].directory, ".");
    assert_eq!(groups[1].workloads[0].filepath, "ns.yaml");
    assert_eq!(groups[1].destination_selectors[0].source, "promise");
    assert_eq!(
        groups[1].destination_selectors[0]
            .match_labels
            .get("cloud")
            .map(String::as_str),
        Some("local")
    );
    // The pipelines' identities are the rendered ones.
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), &namespace);
    for account in [
        format!("database-{suffix}-resource-configure-first"),
        format!("database-{suffix}-resource-configure-second"),
    ] {
        accounts
            .get(&account)
            .await
            .unwrap_or_else(|e| panic!("service account {account}: {e}"));
    }
}
