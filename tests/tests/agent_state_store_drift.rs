//! Drift in a state store is repaired: with a short
//! `stateStoreReconciliationInterval`, files edited or deleted in the Git
//! repository behind the agent's back are written again. Its own test binary,
//! because the interval is set in the `kratix` ConfigMap, which every test of an
//! agent shares.

use std::path::Path;
use std::process::Command;

use k8s_openapi::api::core::v1::ConfigMap;
use kratix_tests::suites::agent::{Setup, install_promise_with, request};
use kratix_tests::suites::state_store::{
    destination, destination_ready, files_until, http_git_store, remove, sized_pipeline,
};
use kube::api::{Api, DeleteParams, DynamicObject, ObjectMeta, PostParams};
use serde_json::json;

fn git(dir: &Path, args: &[&str]) {
    let output = git_output(dir, args);
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn git_output(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .args([
            "-c",
            "user.name=intruder",
            "-c",
            "user.email=intruder@example.org",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs")
}

#[tokio::test]
async fn files_edited_or_deleted_in_the_store_are_written_again_at_the_interval() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = kratix_tests::suites::agent::setup(kratix_tests::platform!(), "drift").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "kratix-platform-system");
    let _ = config_maps.delete("kratix", &DeleteParams::default()).await;
    let config = ConfigMap {
        metadata: ObjectMeta {
            name: Some("kratix".into()),
            namespace: Some("kratix-platform-system".into()),
            ..ObjectMeta::default()
        },
        data: Some(
            [(
                "config".to_owned(),
                "stateStoreReconciliationInterval: 2s\n".to_owned(),
            )]
            .into(),
        ),
        ..ConfigMap::default()
    };
    config_maps
        .create(&PostParams::default(), &config)
        .await
        .expect("config");

    let (server, repo, store) = http_git_store(&client, &namespace, &suffix).await;
    let (dev, prod) = (format!("dev-{suffix}"), format!("prod-{suffix}"));
    destination(&client, &dev, &store, &[("env", &dev)]).await;
    destination(&client, &prod, &store, &[("env", &prod)]).await;
    destination_ready(&client, &dev).await;
    let (promise, resource) = install_promise_with(
        &client,
        &suffix,
        json!({"workflows": {"resource": {"configure": [sized_pipeline(&image, &dev, &prod)]}}}),
    )
    .await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "orders", json!({})).await;
    let dir = format!("platform/{dev}/resources/{namespace}/{promise}/orders/place/5058f");
    let (app, old) = (format!("{dir}/app.yaml"), format!("{dir}/old.yaml"));
    files_until(&server, &repo, "the request's files", |f| {
        f.contains_key(&app) && f.contains_key(&old)
    })
    .await;

    // Someone edits one file and deletes another, straight in the repository.
    let work = tempfile::tempdir().expect("tempdir");
    let bare = server.repo_path(&repo);
    git(
        work.path(),
        &["clone", "--quiet", &bare.to_string_lossy(), "clone"],
    );
    let clone = work.path().join("clone");
    // The agent writes every two seconds: a push that loses the race to it
    // is made again on top of what it wrote.
    let mut pushed = String::new();
    for _ in 0..10 {
        git(&clone, &["fetch", "--quiet", "origin", "main"]);
        git(&clone, &["reset", "--quiet", "--hard", "origin/main"]);
        std::fs::write(clone.join(&app), "tampered: true\n").expect("edit");
        std::fs::remove_file(clone.join(&old)).expect("delete");
        git(&clone, &["commit", "--quiet", "-am", "hand edit"]);
        let push = git_output(&clone, &["push", "--quiet", "origin", "HEAD:main"]);
        if push.status.success() {
            pushed.clear();
            break;
        }
        pushed = String::from_utf8_lossy(&push.stderr).into_owned();
    }
    assert!(pushed.is_empty(), "the hand edit was never pushed: {pushed}");

    let files = files_until(&server, &repo, "the agent to write both back", |f| {
        f.get(&app).is_some_and(|c| c == "size: small\n") && f.contains_key(&old)
    })
    .await;
    assert!(files.contains_key(&format!(
        "platform/{dev}/dependencies/kratix-canary-namespace.yaml"
    )));

    config_maps
        .delete("kratix", &DeleteParams::default())
        .await
        .expect("config removed");
    requests
        .delete("orders", &DeleteParams::default())
        .await
        .expect("deleted");
    remove(&client, &promise, &[&dev, &prod]).await;
}
