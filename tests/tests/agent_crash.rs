//! Crash recovery and replicas against the local platform: the agent killed
//! with SIGKILL at each step boundary of a workflow finishes it with every
//! pipeline run exactly once; killed at each step of a Promise's deletion, it
//! still deletes everything; killed between a state-store write and its status,
//! no file is lost and none is written twice; of two replicas only the Lease
//! holder acts, and the other takes over when the leader goes.
//!
//! Pipelines count their own runs in the status (`runs-<pipeline>`, read back
//! from `object.yaml`), so "exactly once" is checked by what ran, not by Jobs.
//! The tests reconfigure the shared agent Deployment, one at a time, and put
//! it back as they found it.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{EnvVar, Pod, Volume, VolumeMount};
use kratix_tests::suites::agent::{
    HOLD, Setup, TIMEOUT, condition, held_request, install_promise_with, pipeline, status_until,
};
use kratix_tests::suites::support::wait_for;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

const SYSTEM: &str = "kratix-platform-system";
const AGENT: &str = "kratix-agent";
const MARKERS: &str = "/crash-markers";

/// One test at a time changes the agent's Deployment.
static DEPLOYMENT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn setup(prefix: &str) -> Setup {
    kratix_tests::suites::agent::setup(kratix_tests::platform!(), prefix).await
}

/// A pipeline that records how often it ran: `runs-<name>` goes up by one.
fn counting(name: &str, image: &str) -> Value {
    let key = format!("runs-{name}");
    pipeline(
        name,
        image,
        &format!(
            "n=$(sed -n 's/^ *{key}: *\\([0-9]*\\).*/\\1/p' /kratix/input/object.yaml | head -1); \
             printf '{key}: %s\\n' $((${{n:-0}} + 1)) > /kratix/metadata/status.yaml"
        ),
    )
}

/// Sets replicas, the container's extra env and the markers volume; returns
/// the container's env as it will be.
fn configure(
    deployment: &mut Deployment,
    replicas: i32,
    env: Vec<EnvVar>,
    markers: bool,
) -> Option<Vec<EnvVar>> {
    let spec = &mut deployment.spec;
    spec.replicas = Some(replicas);
    let pod = spec.template.spec.as_mut()?;
    let container = &mut pod.containers[0];
    let mut all_env: Vec<EnvVar> = container
        .env
        .take()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| !e.name.starts_with("KRATIX_AGENT_CRASH"))
        .collect();
    all_env.extend(env);
    container.env = Some(all_env);
    if markers {
        container.volume_mounts = Some(vec![VolumeMount {
            name: "crash-markers".into(),
            mount_path: MARKERS.into(),
            ..VolumeMount::default()
        }]);
        pod.volumes = Some(vec![Volume {
            name: "crash-markers".into(),
            empty_dir: Some(Default::default()),
            ..Volume::default()
        }]);
    } else {
        container.volume_mounts = None;
        pod.volumes = None;
    }
    container.env.clone()
}

/// Reconfigures the agent's Deployment and waits for its pods to run with it.
async fn reconfigure(client: &kube::Client, replicas: i32, env: Vec<EnvVar>, markers: bool) {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), SYSTEM);
    // The Deployment controller writes its status too: retry on a conflict.
    let wanted_env = wait_for("the agent's Deployment to be replaced", TIMEOUT, || async {
        let mut deployment = deployments.get(AGENT).await.map_err(|e| e.to_string())?;
        let wanted_env = configure(&mut deployment, replicas, env.clone(), markers);
        deployments
            .replace(AGENT, &PostParams::default(), &deployment)
            .await
            .map_err(|e| e.to_string())?;
        Ok(wanted_env)
    })
    .await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), SYSTEM);
    wait_for("the agent's pods to run as configured", TIMEOUT, || async {
        let listed = pods
            .list(&ListParams::default().labels("app.kubernetes.io/name=kratix-agent"))
            .await
            .map_err(|e| e.to_string())?
            .items;
        let current: Vec<&Pod> = listed
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect();
        let ready = current.len() == replicas as usize
            && current.iter().all(|p| {
                p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
                    && p.spec.as_ref().map(|s| s.containers[0].env.clone()) == Some(wanted_env.clone())
            });
        if ready {
            Ok(())
        } else {
            Err(format!("{} pods", listed.len()))
        }
    })
    .await;
}

fn env(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        value_from: None,
    }
}

/// The agent as installed: one replica, no crash points.
async fn restore(client: &kube::Client) {
    reconfigure(client, 1, Vec::new(), false).await;
}

async fn agent_pods(client: &kube::Client) -> Vec<Pod> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), SYSTEM);
    pods.list(&ListParams::default().labels("app.kubernetes.io/name=kratix-agent"))
        .await
        .expect("pods")
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect()
}

async fn wait_for_crash(client: &kube::Client, point: &str) {
    wait_for(&format!("the agent to crash at {point}"), TIMEOUT, || async {
        let restarted = agent_pods(client).await.iter().any(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.restart_count > 0))
        });
        if restarted {
            Ok(())
        } else {
            Err("no restart yet".to_owned())
        }
    })
    .await;
}

fn completed(status: &Value) -> bool {
    condition(status, "ConfigureWorkflowCompleted").is_some_and(|c| c["status"] == "True")
        && status["observedGeneration"].is_number()
}

#[tokio::test]
async fn the_agent_killed_at_every_step_boundary_finishes_every_workflow_exactly_once() {
    let _one_at_a_time = DEPLOYMENT.lock().await;
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("crash").await;
    let (_, resource) = install_promise_with(
        &client,
        &suffix,
        json!({"workflows": {"resource": {
            "configure": [counting("first", &image), counting("second", &image)],
            "delete": [counting("remove", &image)],
        }}}),
    )
    .await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    let configure_points = [
        "progress-recorded",
        "rbac-applied",
        "job-created",
        "job-finished-unrecorded",
    ];
    for point in configure_points {
        reconfigure(
            &client,
            1,
            vec![
                env("KRATIX_AGENT_CRASH_AT", point),
                env("KRATIX_AGENT_CRASH_MARKERS", MARKERS),
            ],
            true,
        )
        .await;
        let name = format!("at-{point}");
        held_request(&requests, &resource, &namespace, &name, json!({})).await;
        wait_for_crash(&client, point).await;
        let status = status_until(
            &requests,
            &name,
            "the workflow to complete after the crash",
            completed,
        )
        .await;
        assert_eq!(
            (status["runs-first"].clone(), status["runs-second"].clone()),
            (json!(1), json!(1)),
            "crash at {point}: each pipeline ran once: {status}"
        );
    }
    for point in ["delete-completed", "works-deleted", "jobs-deleted"] {
        reconfigure(
            &client,
            1,
            vec![
                env("KRATIX_AGENT_CRASH_AT", point),
                env("KRATIX_AGENT_CRASH_MARKERS", MARKERS),
            ],
            true,
        )
        .await;
        let name = format!("at-{point}");
        held_request(&requests, &resource, &namespace, &name, json!({})).await;
        status_until(&requests, &name, "the workflow to complete", completed).await;
        requests
            .delete(&name, &DeleteParams::default())
            .await
            .expect("deleted");
        wait_for_crash(&client, point).await;
        let left = wait_for("the delete flow to finish after the crash", TIMEOUT, || async {
            let object = requests.get(&name).await.map_err(|e| e.to_string())?;
            if object.finalizers() == [HOLD.to_owned()] {
                Ok(object)
            } else {
                Err(format!("{:?}", object.finalizers()))
            }
        })
        .await;
        assert_eq!(
            left.data["status"]["runs-remove"], 1,
            "crash at {point}: the delete pipeline ran once"
        );
        requests
            .patch(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"finalizers": null}})),
            )
            .await
            .expect("released");
    }
    restore(&client).await;
}

async fn arm(client: &kube::Client, point: &str) {
    reconfigure(
        client,
        1,
        vec![
            env("KRATIX_AGENT_CRASH_AT", point),
            env("KRATIX_AGENT_CRASH_MARKERS", MARKERS),
        ],
        true,
    )
    .await;
}

#[tokio::test]
async fn a_promise_deletion_killed_at_every_step_still_deletes_everything() {
    let _one_at_a_time = DEPLOYMENT.lock().await;
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("crash-promise").await;
    let points = [
        "requests-deleted",
        "promise-delete-completed",
        "dependencies-deleted",
        "crd-deleted",
    ];
    for (index, point) in points.into_iter().enumerate() {
        arm(&client, point).await;
        let (promise, resource) = install_promise_with(
            &client,
            &format!("{suffix}{index}"),
            json!({"workflows": {
                "promise": {
                    "configure": [pipeline("deps", &image, "echo 'kind: Operator' > /kratix/output/operator.yaml")],
                    "delete": [pipeline("undeps", &image, "true")]
                },
                "resource": {"configure": [counting("first", &image)]}
            }}),
        )
        .await;
        let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
        kratix_tests::suites::agent::request(&requests, &resource, &namespace, "one", json!({})).await;
        status_until(&requests, "one", "the request to complete", completed).await;
        let promises = kratix_tests::suites::agent::promises(&client);
        promises
            .delete(&promise, &DeleteParams::default())
            .await
            .expect("promise deleted");
        wait_for_crash(&client, point).await;
        wait_for("the Promise to go after the crash", TIMEOUT, || async {
            match promises.get_opt(&promise).await {
                Ok(None) => Ok(()),
                Ok(Some(p)) => Err(format!("crash at {point}: finalizers {:?}", p.finalizers())),
                Err(e) => Err(e.to_string()),
            }
        })
        .await;
        let crds: Api<
            k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
        > = Api::all(client.clone());
        assert!(
            crds.get_opt(&format!("caches.{}", resource.group))
                .await
                .expect("read")
                .is_none(),
            "crash at {point}: the API went"
        );
        let works: Api<kratix_shared::api::work::Work> = Api::all(client.clone());
        let left = works
            .list(&ListParams::default().labels(&format!("kratix.io/promise-name={promise}")))
            .await
            .expect("works")
            .items;
        assert!(left.is_empty(), "crash at {point}: no Work is left: {left:?}");
    }
    restore(&client).await;
}

#[tokio::test]
async fn a_write_killed_before_its_status_loses_no_file_and_writes_none_twice() {
    use kratix_tests::suites::state_store::{destination, destination_ready, files_until, http_git_store};
    let _one_at_a_time = DEPLOYMENT.lock().await;
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("crash-store").await;
    let (git, repo, store) = http_git_store(&client, &namespace, &suffix).await;
    let dev = format!("dev-{suffix}");
    destination(&client, &dev, &store, &[("env", &dev)]).await;
    destination_ready(&client, &dev).await;
    arm(&client, "store-written-unrecorded").await;
    let (promise, resource) = install_promise_with(
        &client,
        &suffix,
        json!({
            "destinationSelectors": [{"matchLabels": {"env": dev}}],
            "workflows": {"resource": {"configure": [pipeline("out", &image, "echo 'kind: App' > /kratix/output/app.yaml")]}}
        }),
    )
    .await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    kratix_tests::suites::agent::request(&requests, &resource, &namespace, "one", json!({})).await;
    wait_for_crash(&client, "store-written-unrecorded").await;
    let (_, commits_at_crash) = git.head(&repo, "main").unwrap_or_else(|e| panic!("{e}"));
    let placements: Api<kratix_shared::api::work::WorkPlacement> =
        Api::namespaced(client.clone(), &namespace);
    wait_for("the placement to say it was written", TIMEOUT, || async {
        let all = placements
            .list(&ListParams::default())
            .await
            .map_err(|e| e.to_string())?
            .items;
        let written = all.iter().any(|p| {
            p.status.as_ref().is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == "WriteSucceeded" && c.status == "True")
            })
        });
        if written {
            Ok(())
        } else {
            Err(format!("{} placements, none written yet", all.len()))
        }
    })
    .await;
    let files = files_until(&git, &repo, "the request's file", |f| {
        f.keys().any(|p| p.ends_with("/app.yaml") && p.contains("/one/"))
    })
    .await;
    assert_eq!(
        files.keys().filter(|p| p.ends_with("/app.yaml")).count(),
        1,
        "the file is there once: {files:?}"
    );
    let (_, commits_after) = git.head(&repo, "main").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        commits_after, commits_at_crash,
        "the restarted agent found the file written and committed nothing again"
    );
    restore(&client).await;
    kratix_tests::suites::state_store::remove(&client, &promise, &[&dev]).await;
}

#[tokio::test]
async fn of_two_replicas_only_the_leader_acts_and_the_other_takes_over() {
    let _one_at_a_time = DEPLOYMENT.lock().await;
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("replicas").await;
    // Installed with `--http-port 0`: the two replicas on the host's network pick free ports.
    reconfigure(&client, 2, Vec::new(), false).await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), SYSTEM);
    let pods = agent_pods(&client).await;
    let names: Vec<String> = pods.iter().map(|p| p.name_any()).collect();
    let leader = wait_for("one of the two to lead", TIMEOUT, || async {
        let lease = leases.get(AGENT).await.map_err(|e| e.to_string())?;
        let holder = lease.spec.and_then(|s| s.holder_identity).unwrap_or_default();
        if names.contains(&holder) {
            Ok(holder)
        } else {
            Err(format!("holder {holder:?} of {names:?}"))
        }
    })
    .await;
    let (_, resource) = install_promise_with(
        &client,
        &suffix,
        json!({"workflows": {"resource": {"configure": [counting("first", &image), counting("second", &image)]}}}),
    )
    .await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    for name in ["one", "two", "three"] {
        held_request(&requests, &resource, &namespace, name, json!({})).await;
    }
    for name in ["one", "two", "three"] {
        let status = status_until(&requests, name, "the workflow to complete", completed).await;
        assert_eq!(
            (status["runs-first"].clone(), status["runs-second"].clone()),
            (json!(1), json!(1)),
            "{status}"
        );
    }
    let standby = names.iter().find(|n| **n != leader).expect("a standby").clone();
    let logs = kratix_tests::platform!()
        .kubectl()
        .args(["logs", "-n", SYSTEM, &standby])
        .output()
        .expect("kubectl logs");
    let logs = String::from_utf8_lossy(&logs.stdout);
    assert!(logs.contains("waiting to lead"), "{logs}");
    assert!(!logs.contains("pipeline started"), "the standby acted: {logs}");

    // The leader goes; the standby takes over and serves new requests.
    let pods_api: Api<Pod> = Api::namespaced(client.clone(), SYSTEM);
    pods_api
        .delete(&leader, &DeleteParams::default())
        .await
        .expect("leader deleted");
    // The standby, or the replacement the Deployment starts, whichever asks first.
    let successor = wait_for("another replica to take over", TIMEOUT, || async {
        let lease = leases.get(AGENT).await.map_err(|e| e.to_string())?;
        let holder = lease.spec.and_then(|s| s.holder_identity).unwrap_or_default();
        if !holder.is_empty() && holder != leader {
            Ok(holder)
        } else {
            Err(format!("holder {holder:?}"))
        }
    })
    .await;
    assert!(
        agent_pods(&client)
            .await
            .iter()
            .any(|p| p.name_any() == successor),
        "{successor} is a live replica"
    );
    held_request(&requests, &resource, &namespace, "four", json!({})).await;
    let status = status_until(&requests, "four", "the new leader to run the workflow", completed).await;
    assert_eq!(status["runs-first"], 1);
    restore(&client).await;
}
