//! Pipeline identities and permissions against the local platform (contract
//! 6), with RBAC enforced: a custom service account is used as it is when it
//! exists and created (and later deleted) when it does not; a permission in
//! another namespace lets a pipeline read there, and once the Promise drops it
//! the agent removes the stale grant; the default grants let each pipeline
//! touch its own object and Work and nothing more.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kratix_tests::fixtures::images::ImageSpec;
use kratix_tests::suites::agent::{
    Setup, TIMEOUT, condition, install_promise, pipeline, promises, request, status_until,
};
use kratix_tests::suites::support::wait_for;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

async fn setup(prefix: &str) -> Setup {
    kratix_tests::suites::agent::setup(kratix_tests::platform!(), prefix).await
}

/// busybox and kubectl, for pipelines that call the API themselves.
fn kubectl_image() -> String {
    kratix_tests::platform!().image(&ImageSpec {
        reference: "testenv-kubectl:v1".into(),
        binaries: vec![kratix_tests::suites::support::kubectl_binary()],
        user: Some(65534),
        ..Default::default()
    })
}

fn completed(status: &Value) -> bool {
    condition(status, "ConfigureWorkflowCompleted").is_some_and(|c| c["status"] == "True")
        && status["observedGeneration"].is_number()
}

fn with_rbac(mut pipeline: Value, rbac: Value) -> Value {
    pipeline["spec"]["rbac"] = rbac;
    pipeline
}

#[tokio::test]
async fn a_custom_service_account_is_used_as_it_is_or_created_and_owned_when_missing() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("customsa").await;
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), &namespace);
    let mine = ServiceAccount {
        metadata: ObjectMeta {
            name: Some("team-robot".into()),
            labels: Some([("owner".to_owned(), "team".to_owned())].into()),
            ..ObjectMeta::default()
        },
        ..ServiceAccount::default()
    };
    accounts
        .create(&PostParams::default(), &mine)
        .await
        .expect("the team's account");
    let (promise_name, resource) = install_promise(
        &client,
        &suffix,
        vec![
            with_rbac(
                pipeline("first", &image, "true"),
                json!({"serviceAccount": "team-robot"}),
            ),
            with_rbac(
                pipeline("second", &image, "true"),
                json!({"serviceAccount": "made-for-it"}),
            ),
        ],
    )
    .await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "orders", json!({})).await;
    status_until(&requests, "orders", "the workflow to complete", completed).await;

    let jobs: Api<Job> = Api::namespaced(client.clone(), &namespace);
    let listed = jobs
        .list(&ListParams::default().labels(&format!("kratix.io/promise-name={promise_name}")))
        .await
        .expect("jobs");
    let mut used: Vec<(String, String)> = listed
        .items
        .iter()
        .map(|j| {
            (
                j.labels()
                    .get("kratix.io/pipeline-name")
                    .cloned()
                    .unwrap_or_default(),
                j.spec
                    .as_ref()
                    .and_then(|s| s.template.spec.as_ref())
                    .and_then(|s| s.service_account_name.clone())
                    .unwrap_or_default(),
            )
        })
        .collect();
    used.sort();
    assert_eq!(
        used,
        [
            ("first".into(), "team-robot".into()),
            ("second".into(), "made-for-it".into())
        ]
    );
    let team = accounts.get("team-robot").await.expect("team account");
    assert!(
        !team.labels().contains_key("kratix.io/promise-name"),
        "an existing account is not taken over"
    );
    let created = accounts.get("made-for-it").await.expect("created account");
    assert_eq!(
        created.labels().get("kratix.io/promise-name"),
        Some(&promise_name)
    );

    promises(&client)
        .delete(&promise_name, &DeleteParams::default())
        .await
        .expect("deleted");
    wait_for("the Promise to go", TIMEOUT, || async {
        match promises(&client).get_opt(&promise_name).await {
            Ok(None) => Ok(()),
            Ok(Some(p)) => Err(format!("finalizers {:?}", p.finalizers())),
            Err(e) => Err(e.to_string()),
        }
    })
    .await;
    assert!(
        accounts.get_opt("made-for-it").await.expect("read").is_none(),
        "the account it created goes with it"
    );
    assert!(
        accounts.get_opt("team-robot").await.expect("read").is_some(),
        "the team's account stays"
    );
}

#[tokio::test]
async fn a_permission_in_another_namespace_works_and_is_removed_when_the_promise_drops_it() {
    let Setup {
        client,
        namespace,
        suffix,
        ..
    } = setup("crossns").await;
    let other = kratix_tests::platform!().namespace(&client, "shared").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &other);
    let settings = ConfigMap {
        metadata: ObjectMeta {
            name: Some("settings".into()),
            ..ObjectMeta::default()
        },
        data: Some([("region".to_owned(), "north".to_owned())].into()),
        ..ConfigMap::default()
    };
    config_maps
        .create(&PostParams::default(), &settings)
        .await
        .expect("settings");
    let image = kubectl_image();
    let script = format!(
        "export HOME=/tmp; v=$(kubectl get configmap settings -n {other} -o jsonpath='{{.data.region}}' 2>/dev/null) || v=denied; \
         printf 'seen: %s\\n' \"$v\" > /kratix/metadata/status.yaml"
    );
    let reader = |permissions: Value| {
        with_rbac(
            pipeline("read", &image, &script),
            json!({"permissions": permissions}),
        )
    };
    let (promise_name, resource) = install_promise(
        &client,
        &suffix,
        vec![reader(json!([{
            "apiGroups": [""], "verbs": ["get"], "resources": ["configmaps"], "resourceNamespace": other
        }]))],
    )
    .await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "orders", json!({})).await;
    let first = status_until(
        &requests,
        "orders",
        "the pipeline to read the other namespace",
        completed,
    )
    .await;
    assert_eq!(first["seen"], "north", "{first}");
    let of_promise = ListParams::default().labels(&format!("kratix.io/promise-name={promise_name}"));
    let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), &other);
    assert_eq!(
        bindings.list(&of_promise).await.expect("bindings").items.len(),
        1,
        "a binding in the other namespace"
    );
    let cluster_roles: Api<ClusterRole> = Api::all(client.clone());
    let user_roles = ListParams::default().labels(&format!(
        "kratix.io/promise-name={promise_name},kratix.io/resource-namespace={other}"
    ));
    assert_eq!(
        cluster_roles.list(&user_roles).await.expect("roles").items.len(),
        1
    );

    let first_job = first["kratix"]["workflows"]["configure"]["pipelines"][0]["jobName"].clone();
    let dropped = json!({"spec": {"workflows": {"resource": {"configure": [reader(json!([]))]}}}});
    promises(&client)
        .patch(&promise_name, &PatchParams::default(), &Patch::Merge(dropped))
        .await
        .expect("permission dropped");
    let second = status_until(&requests, "orders", "the request to run again", |s| {
        completed(s)
            && s["kratix"]["workflows"]["configure"]["pipelines"][0]["jobName"] != first_job
            && s["seen"] != "north"
    })
    .await;
    assert_eq!(second["seen"], "denied", "the pipeline can no longer read there");
    assert!(
        bindings
            .list(&of_promise)
            .await
            .expect("bindings")
            .items
            .is_empty(),
        "the stale binding is removed"
    );
    assert!(
        cluster_roles
            .list(&user_roles)
            .await
            .expect("roles")
            .items
            .is_empty(),
        "the stale role is removed"
    );
}

/// A shell function that runs a command and says whether the API allowed it:
/// "allowed" (including NotFound, which comes after authorization), "forbidden",
/// or the error for anything else.
const PROBE: &str = r#"export HOME=/tmp
probe() {
  out=$("$@" 2>&1) && { echo allowed; return; }
  case "$out" in
    *NotFound*) echo allowed ;;
    *Forbidden*|*forbidden*) echo forbidden ;;
    *) echo "unexpected: $out" | head -c 200 | tr '\n' ' '; echo ;;
  esac
}
"#;

/// A script that runs each check and writes `key: answer` lines to status.yaml.
fn probes(checks: &[(&str, String)]) -> String {
    let mut script = PROBE.to_owned();
    script.push_str("{\n");
    for (key, command) in checks {
        script.push_str(&format!("  echo \"{key}: $(probe {command})\"\n"));
    }
    script.push_str("} > /kratix/metadata/status.yaml\n");
    script
}

/// The same as one `message` line of `key=answer` pairs: a Promise's status keeps
/// only its message and conditions.
fn probes_as_message(checks: &[(&str, String)]) -> String {
    let mut script = PROBE.to_owned();
    script.push_str("m=\"\"\n");
    for (key, command) in checks {
        script.push_str(&format!("m=\"$m {key}=$(probe {command})\"\n"));
    }
    script.push_str("echo \"message: '$m'\" > /kratix/metadata/status.yaml\n");
    script
}

#[tokio::test]
async fn the_default_grants_are_what_the_kratix_containers_need_and_no_more() {
    let Setup {
        client,
        namespace,
        suffix,
        ..
    } = setup("grants").await;
    let image = kubectl_image();
    let promise_name = format!("cache-{suffix}");
    let requests_kind = format!("caches.a{suffix}.example.org");
    let platform_namespace = "kratix-platform-system";
    let promise_script = probes_as_message(&[
        (
            "ownPromise",
            format!("kubectl get promise {promise_name} -o name"),
        ),
        (
            "otherPromise",
            "kubectl get promise not-this-one -o name".to_owned(),
        ),
        ("listPromises", "kubectl get promises -o name".to_owned()),
        (
            "worksHere",
            format!("kubectl get works -n {platform_namespace} -o name"),
        ),
        (
            "worksElsewhere",
            format!("kubectl get works -n {namespace} -o name"),
        ),
    ]);
    let resource_script = probes(&[
        (
            "ownRequest",
            format!("kubectl get {requests_kind} orders -n {namespace} -o name"),
        ),
        (
            "listRequests",
            format!("kubectl get {requests_kind} -n {namespace} -o name"),
        ),
        (
            "deleteRequest",
            format!("kubectl delete {requests_kind} not-this-one -n {namespace}"),
        ),
        (
            "deleteWork",
            format!("kubectl delete works not-this-one -n {namespace}"),
        ),
        ("secrets", format!("kubectl get secrets -n {namespace} -o name")),
    ]);
    let (_, resource) = kratix_tests::suites::agent::install_promise_with(
        &client,
        &suffix,
        json!({"workflows": {
            "promise": {"configure": [pipeline("probe", &image, &promise_script)]},
            "resource": {"configure": [pipeline("probe", &image, &resource_script)]}
        }}),
    )
    .await;
    let promise_status = kratix_tests::suites::agent::promise_status_until(
        &client,
        &promise_name,
        "the Promise's probes",
        |s| s["message"].as_str().is_some_and(|m| m.contains("ownPromise=")),
    )
    .await;
    let answers: Vec<&str> = promise_status["message"]
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        answers,
        [
            "ownPromise=allowed",
            "otherPromise=forbidden",
            "listPromises=forbidden",
            "worksHere=allowed",
            "worksElsewhere=forbidden"
        ],
        "{promise_status}"
    );

    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "orders", json!({})).await;
    let status = status_until(&requests, "orders", "the request's probes", completed).await;
    let expected_request = json!({
        "ownRequest": "allowed", "listRequests": "forbidden", "deleteRequest": "forbidden",
        "deleteWork": "forbidden", "secrets": "forbidden"
    });
    for (key, want) in expected_request.as_object().into_iter().flatten() {
        assert_eq!(&status[key], want, "{key}: {status}");
    }

    // The objects carry the names the contract gives them.
    let resource_id = format!("{promise_name}-resource-configure-probe");
    let promise_id = format!("{promise_name}-promise-configure-probe");
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), &namespace);
    accounts
        .get(&resource_id)
        .await
        .expect("the request pipeline's account");
    let roles: Api<Role> = Api::namespaced(client.clone(), &namespace);
    roles.get(&resource_id).await.expect("its Role");
    let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), &namespace);
    bindings.get(&resource_id).await.expect("its RoleBinding");
    let platform_accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), platform_namespace);
    platform_accounts
        .get(&promise_id)
        .await
        .expect("the Promise pipeline's account");
    let cluster_roles: Api<ClusterRole> = Api::all(client.clone());
    cluster_roles.get(&promise_id).await.expect("its ClusterRole");
    let cluster_bindings: Api<ClusterRoleBinding> = Api::all(client.clone());
    cluster_bindings
        .get(&promise_id)
        .await
        .expect("its ClusterRoleBinding");
    let platform_roles: Api<Role> = Api::namespaced(client.clone(), platform_namespace);
    platform_roles.get(&promise_id).await.expect("its Role for Works");

    // What the real authorizer says the request pipeline's account may do in
    // its namespace: the three rules docs/decisions.md lists, and nothing else
    // beyond what the namespace's `default` account (any authenticated user) may.
    let can_i_list = |account: &str| {
        let output = kratix_tests::platform!()
            .kubectl()
            .args(["auth", "can-i", "--list", "-n", &namespace])
            .arg(format!("--as=system:serviceaccount:{namespace}:{account}"))
            .output()
            .expect("kubectl runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let listed = String::from_utf8_lossy(&output.stdout).into_owned();
        let rows: Vec<(String, String)> = listed
            .lines()
            .skip(1)
            .filter(|line| !line.starts_with(' '))
            .filter_map(|line| {
                let resource = line.split_whitespace().next()?;
                let verbs = line.rsplit_once('[')?.1.trim_end_matches(']');
                Some((resource.to_owned(), verbs.to_owned()))
            })
            .collect();
        (rows, listed)
    };
    let (everyone, _) = can_i_list("default");
    let (rows, listed) = can_i_list(&resource_id);
    let mut granted: Vec<(String, String)> = rows.into_iter().filter(|row| !everyone.contains(row)).collect();
    granted.sort();
    let plural = format!("caches.a{suffix}.example.org");
    let mut expected = vec![
        (plural.clone(), "get patch".to_owned()),
        (format!("{plural}/status"), "get update patch".to_owned()),
        (
            "works.platform.kratix.io".to_owned(),
            "list create patch".to_owned(),
        ),
    ];
    expected.sort();
    assert_eq!(granted, expected, "kubectl auth can-i --list:\n{listed}");
}
