//! Instant mode: mapped images run as host processes with the pod's mounts and
//! identity; every other container succeeds at once.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kratix_tests::suites::support::{Platform, job_condition};
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

/// Must match the instant environment tests/run starts: `sh` and the
/// control plane's `kubectl` as host binaries.
fn host_images() -> Vec<String> {
    vec![
        "--host-image".to_owned(),
        "localhost/testenv-host-sh:=/bin/sh".to_owned(),
        "--host-image".to_owned(),
        format!(
            "localhost/testenv-host-kubectl:={}",
            kratix_tests::suites::support::host_kubectl().display()
        ),
    ]
}

fn platform() -> &'static Platform {
    let args = host_images();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Platform::get_instant(std::path::Path::new(env!("CARGO_BIN_EXE_testenv")), &args)
}

async fn run_job(client: &kube::Client, namespace: &str, job: Value, condition: &str) {
    let job: Job = serde_json::from_value(job).expect("job");
    let name = job.metadata.name.clone().expect("name");
    let api: Api<Job> = Api::namespaced(client.clone(), namespace);
    api.create(&PostParams::default(), &job).await.expect("created");
    job_condition(&api, &name, condition, Duration::from_secs(60)).await;
}

fn logs(namespace: &str, job: &str, container: &str) -> String {
    let output = platform()
        .kubectl()
        .args(["logs", "-n", namespace, &format!("job/{job}"), "-c", container])
        .output()
        .expect("kubectl runs");
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

#[tokio::test]
async fn mapped_images_run_on_the_host_with_the_pods_mounts_and_environment() {
    let client = platform().client().await;
    let namespace = platform().namespace(&client, "instant").await;
    let mount = json!([{"name": "work", "mountPath": "/work"}]);
    run_job(&client, &namespace, json!({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "quick"},
        "spec": {"backoffLimit": 0, "template": {"spec": {
            "restartPolicy": "Never",
            "volumes": [{"name": "work", "emptyDir": {}}],
            "initContainers": [
                {"name": "write", "image": "localhost/testenv-host-sh:v1", "command": ["/bin/agent", "-c",
                    "echo from-host > /work/out; id -u >> /work/out; echo $(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace) >> /work/out; echo \"$MARK\" >> /work/out"],
                 "env": [{"name": "MARK", "value": "env-passed"}], "volumeMounts": mount},
                {"name": "elsewhere", "image": "example.org/not/here:v1", "command": ["false"]}
            ],
            "containers": [{"name": "read", "image": "localhost/testenv-host-sh:v1", "command": ["/bin/agent", "-c", "cat /work/out"], "volumeMounts": mount}]
        }}}
    }), "Complete").await;
    assert_eq!(
        logs(&namespace, "quick", "read"),
        format!("from-host\n65534\n{namespace}\nenv-passed\n")
    );
    assert!(
        logs(&namespace, "quick", "elsewhere")
            .contains("example.org/not/here:v1 is not run; counted as succeeded")
    );
}

#[tokio::test]
async fn host_processes_carry_the_pods_service_account_identity() {
    let client = platform().client().await;
    let namespace = platform().namespace(&client, "identity").await;
    run_job(&client, &namespace, json!({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "api"},
        "spec": {"backoffLimit": 0, "template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "localhost/testenv-host-kubectl:v1", "command": ["/bin/kubectl", "get", "configmaps"]}]
        }}}
    }), "Failed").await;
    let denied = logs(&namespace, "api", "main");
    assert!(
        denied.contains(&format!(
            "configmaps is forbidden: User \"system:serviceaccount:{namespace}:default\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"{namespace}\""
        )),
        "{denied}"
    );
}
