//! The `kratix` ConfigMap's `promisePolicy` against the local platform: off,
//! a Promise with a hostPath volume is installed as in Kratix; turned on, the
//! same Promise is refused with `PolicyAdmitted` False naming the field, and
//! nothing of it is made; turned off again, it is admitted. Each rule's
//! refusal is unit-tested in `shared::validate::policy`.
//!
//! Its own binary: the ConfigMap is shared by every test of the environment.

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kratix_tests::suites::agent::{
    Setup, cache_promise, condition, pipeline, promise_status_until, promises,
};
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams};
use serde_json::json;

async fn set_config(config_maps: &Api<ConfigMap>, text: &str) {
    let _ = config_maps.delete("kratix", &DeleteParams::default()).await;
    let config_map = ConfigMap {
        metadata: ObjectMeta {
            name: Some("kratix".to_owned()),
            namespace: Some("kratix-platform-system".to_owned()),
            ..ObjectMeta::default()
        },
        data: Some([("config".to_owned(), text.to_owned())].into()),
        ..ConfigMap::default()
    };
    config_maps
        .create(&PostParams::default(), &config_map)
        .await
        .expect("config");
}

#[tokio::test]
async fn the_promise_policy_refuses_naming_the_field_only_when_turned_on() {
    let Setup {
        client,
        suffix,
        image,
        ..
    } = kratix_tests::suites::agent::setup(kratix_tests::platform!(), "policy").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "kratix-platform-system");
    set_config(&config_maps, "promisePolicy:\n  enabled: true\n").await;

    let mut with_host_path = pipeline("make", &image, "true");
    with_host_path["spec"]["volumes"] = json!([{"name": "node", "hostPath": {"path": "/"}}]);
    let (promise, _) = cache_promise(
        &suffix,
        json!({"workflows": {"resource": {"configure": [with_host_path]}}}),
    );
    let name = promise.metadata.name.clone().expect("name");
    let crd_name = format!("caches.a{suffix}.example.org");
    promises(&client)
        .create(&PostParams::default(), &promise)
        .await
        .expect("promise created");
    let refused = promise_status_until(&client, &name, "the policy to refuse the Promise", |s| {
        condition(s, "PolicyAdmitted").is_some_and(|c| c["status"] == "False")
    })
    .await;
    let admitted = condition(&refused, "PolicyAdmitted").expect("condition");
    assert_eq!(admitted["reason"], "RefusedByPolicy");
    assert!(
        admitted["message"]
            .as_str()
            .is_some_and(|m| m.contains("spec.workflows.resource.configure[0].spec.volumes[0].hostPath")),
        "{admitted}"
    );
    assert_eq!(refused["status"], "Unavailable");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    assert!(
        crds.get_opt(&crd_name).await.expect("read").is_none(),
        "nothing of a refused Promise is made"
    );

    // Off again (the default): the same Promise is admitted, as in Kratix.
    set_config(&config_maps, "{}\n").await;
    let admitted = promise_status_until(&client, &name, "the Promise to be admitted", |s| {
        s["status"] == "Available"
    })
    .await;
    assert!(condition(&admitted, "PolicyAdmitted").is_none(), "{admitted}");
    assert!(crds.get_opt(&crd_name).await.expect("read").is_some());
    let _ = config_maps.delete("kratix", &DeleteParams::default()).await;
    promises(&client)
        .delete(&name, &DeleteParams::default())
        .await
        .expect("cleanup");
}
