//! Pipeline output written to Git state stores, on the local
//! platform with real pipeline pods and a real Git server on loopback: files
//! land under each Destination's path with the contract's layout, an update
//! rewrites them and removes what is no longer output, a delete removes them, a
//! Destination added later receives the Promise's dependencies, and a Git server
//! that goes away is reported and written to once it is back; the same for an
//! S3-compatible bucket that checks request signatures.

use std::collections::BTreeMap;

use kratix_shared::api::destination::Destination;
use kratix_shared::api::naming::md5_hex;
use kratix_shared::api::state_store::{BucketStateStore, GitStateStore};
use kratix_shared::api::work::WorkPlacement;
use kratix_tests::fixtures::git_server::{self, GitServer};
use kratix_tests::fixtures::s3_server::{self, S3Server};
use kratix_tests::suites::agent::{Setup, TIMEOUT, condition, install_promise_with, request, status_until};
use kratix_tests::suites::state_store::{
    apply_secret, bucket_store, destination, destination_on, destination_ready, destination_with,
    files_until, git_store, http_git_store, objects_until, remove, sized_pipeline,
};
use kratix_tests::suites::support::wait_for;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

#[tokio::test]
async fn outputs_land_in_git_under_each_destination_follow_updates_and_go_with_the_request() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = kratix_tests::suites::agent::setup(kratix_tests::platform!(), "gitstore").await;
    let repo = format!("state-{suffix}");
    // The test's own server: dropped (and stopped) when the test ends.
    let git = GitServer::start().unwrap_or_else(|e| panic!("{e}"));
    git.create_repo(&repo).unwrap_or_else(|e| panic!("{e}"));
    let url = git.http_url(&repo);
    let store = format!("git-{suffix}");
    apply_secret(
        &client,
        &namespace,
        &store,
        json!({"username": git_server::USERNAME, "password": git_server::PASSWORD}),
    )
    .await;
    git_store(&client, &store, &url, &namespace, "basicAuth").await;
    let (dev, prod, late) = (
        format!("dev-{suffix}"),
        format!("prod-{suffix}"),
        format!("late-{suffix}"),
    );
    let suite_label = format!("s{suffix}");
    destination(&client, &dev, &store, &[("env", &dev), ("suite", &suite_label)]).await;
    destination(&client, &prod, &store, &[("env", &prod), ("suite", &suite_label)]).await;

    // The canaries prove each Destination's path is written.
    let ready = destination_ready(&client, &dev).await;
    assert_eq!(
        condition(&ready, "Ready").map(|c| c["reason"].clone()),
        Some(json!("TestDocumentsWritten"))
    );
    files_until(&git, &repo, "the canary files", |f| {
        f.contains_key(&format!(
            "platform/{dev}/dependencies/kratix-canary-namespace.yaml"
        )) && f.contains_key(&format!("platform/{prod}/resources/kratix-canary-configmap.yaml"))
    })
    .await;
    let stores: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &kube::api::ApiResource::erase::<GitStateStore>(&()),
    );
    let store_status = status_until(&stores, &store, "the store to be Ready", |s| {
        s["status"] == "Ready"
    })
    .await;
    assert_eq!(
        condition(&store_status, "Ready").map(|c| c["status"].clone()),
        Some(json!("True"))
    );

    let (promise, resource) = install_promise_with(
        &client,
        &suffix,
        json!({
            "destinationSelectors": [{"matchLabels": {"suite": suite_label}}],
            "dependencies": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared-config", "namespace": "default"}}],
            "workflows": {"resource": {"configure": [sized_pipeline(&image, &dev, &prod)]}},
        }),
    )
    .await;
    let dependency_file = |destination: &str| {
        format!("platform/{destination}/dependencies/{promise}/5058f/static/{promise}-dependencies.yaml")
    };
    let files = files_until(
        &git,
        &repo,
        "the Promise's dependencies on both Destinations",
        |f| f.contains_key(&dependency_file(&dev)) && f.contains_key(&dependency_file(&prod)),
    )
    .await;
    assert!(
        files[&dependency_file(&dev)].contains("shared-config"),
        "{files:?}"
    );

    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "orders", json!({})).await;
    let app = format!("platform/{dev}/resources/{namespace}/{promise}/orders/place/5058f/app.yaml");
    let old = format!("platform/{dev}/resources/{namespace}/{promise}/orders/place/5058f/old.yaml");
    let db = format!(
        "platform/{prod}/resources/{namespace}/{promise}/orders/place/{}/db/db.yaml",
        &md5_hex(b"db")[..5]
    );
    let files = files_until(&git, &repo, "the request's files under both Destinations", |f| {
        f.contains_key(&app) && f.contains_key(&db) && f.contains_key(&old)
    })
    .await;
    assert_eq!(files[&app], "size: small\n");
    assert!(
        !files.keys().any(|p| p.starts_with(&format!(
            "platform/{prod}/resources/{namespace}/{promise}/orders/place/5058f"
        ))),
        "the default group goes to dev only: {files:?}"
    );

    // The request is Reconciled once its Works are written, and each placement
    // records the commit that holds it.
    let status = status_until(&requests, "orders", "the request to be Reconciled", |s| {
        condition(s, "Reconciled").is_some_and(|c| c["status"] == "True")
            && condition(s, "WorksSucceeded").is_some_and(|c| c["status"] == "True")
    })
    .await;
    assert_eq!(
        condition(&status, "Reconciled").map(|c| c["reason"].clone()),
        Some(json!("Reconciled"))
    );
    // The status says where the output went: Destination, path and commit.
    let status = status_until(&requests, "orders", "the request to record its outputs", |s| {
        s["kratix"]["outputs"].as_array().is_some_and(|o| o.len() == 2)
    })
    .await;
    let outputs = status["kratix"]["outputs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let by_destination: BTreeMap<String, Value> = outputs
        .iter()
        .map(|o| {
            (
                o["destination"].as_str().unwrap_or_default().to_owned(),
                o.clone(),
            )
        })
        .collect();
    assert_eq!(
        by_destination[&dev]["path"],
        json!(format!(
            "platform/{dev}/resources/{namespace}/{promise}/orders/place/5058f"
        )),
        "{outputs:?}"
    );
    assert_eq!(by_destination[&prod]["pipeline"], json!("place"));
    assert_eq!(
        by_destination[&prod]["versionID"].as_str().map(str::len),
        Some(40),
        "{outputs:?}"
    );
    let placements: Api<WorkPlacement> = Api::namespaced(client.clone(), &namespace);
    let of_request = ListParams::default().labels("kratix.io/pipeline-name=place");
    let (head, _) = git.head(&repo, "main").unwrap_or_else(|e| panic!("{e}"));
    let written = placements.list(&of_request).await.expect("placements").items;
    assert_eq!(written.len(), 2);
    for placement in &written {
        let status = placement.status.clone().unwrap_or_default();
        let version = status.version_id.clone().unwrap_or_default();
        assert_eq!(version.len(), 40, "{status:?}");
        let is_ancestor = std::process::Command::new("git")
            .arg("--git-dir")
            .arg(git.repo_path(&repo))
            .args(["merge-base", "--is-ancestor", &version, &head])
            .status()
            .expect("git runs")
            .success();
        assert!(is_ancestor, "versionID {version} is a commit of the branch");
        assert!(
            placement
                .finalizers()
                .iter()
                .any(|f| f == "finalizers.workplacement.kratix.io/repo-cleanup")
        );
    }

    // An update rewrites the files and removes the one no longer output.
    requests
        .patch(
            "orders",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": "large"}})),
        )
        .await
        .expect("updated");
    let files = files_until(&git, &repo, "the updated files", |f| {
        f.get(&app).is_some_and(|c| c == "size: large\n") && !f.contains_key(&old)
    })
    .await;
    assert!(files.contains_key(&db));

    // A Destination added later gets the Promise's dependencies (and nothing of
    // the request, whose placement is sticky).
    destination(&client, &late, &store, &[("env", &late), ("suite", &suite_label)]).await;
    let files = files_until(&git, &repo, "the dependencies on the late Destination", |f| {
        f.contains_key(&dependency_file(&late))
    })
    .await;
    assert!(
        !files
            .keys()
            .any(|p| p.starts_with(&format!("platform/{late}/resources/{namespace}")))
    );

    // Deleting the request removes its files; the dependencies stay.
    requests
        .delete("orders", &DeleteParams::default())
        .await
        .expect("deleted");
    let files = files_until(&git, &repo, "the request's files to go", |f| {
        !f.keys().any(|p| p.contains(&format!("/resources/{namespace}/")))
    })
    .await;
    assert!(files.contains_key(&dependency_file(&dev)));

    let promises = kratix_tests::suites::agent::promises(&client);
    promises
        .delete(&promise, &DeleteParams::default())
        .await
        .expect("promise deleted");
    files_until(&git, &repo, "the dependencies to go with the Promise", |f| {
        !f.keys().any(|p| p.contains(&format!("/dependencies/{promise}/")))
    })
    .await;
    let destinations: Api<Destination> = Api::all(client.clone());
    for name in [&dev, &prod, &late] {
        destinations
            .delete(name, &DeleteParams::default())
            .await
            .expect("cleanup");
    }
}

#[tokio::test]
async fn a_git_server_that_goes_away_is_reported_and_everything_lands_once_it_is_back() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = kratix_tests::suites::agent::setup(kratix_tests::platform!(), "gitdown").await;
    let repo = format!("state-{suffix}");
    let mut git = GitServer::start().unwrap_or_else(|e| panic!("{e}"));
    git.create_repo(&repo).unwrap_or_else(|e| panic!("{e}"));
    let url = git.ssh_url(&repo);
    let key = git.client_key().unwrap_or_else(|e| panic!("{e}"));
    let known_hosts = git.known_hosts().unwrap_or_else(|e| panic!("{e}"));
    let store = format!("ssh-{suffix}");
    apply_secret(
        &client,
        &namespace,
        &store,
        json!({"sshPrivateKey": key, "knownHosts": known_hosts}),
    )
    .await;
    git_store(&client, &store, &url, &namespace, "ssh").await;
    let (dev, prod) = (format!("dev-{suffix}"), format!("prod-{suffix}"));
    destination(&client, &dev, &store, &[("env", &dev)]).await;
    destination(&client, &prod, &store, &[("env", &prod)]).await;
    destination_ready(&client, &dev).await;
    destination_ready(&client, &prod).await;
    let (promise, resource) = install_promise_with(
        &client,
        &suffix,
        json!({"workflows": {"resource": {"configure": [sized_pipeline(&image, &dev, &prod)]}}}),
    )
    .await;

    let (_, commits_before) = git.head(&repo, "main").unwrap_or_else(|e| panic!("{e}"));
    git.stop_ssh();
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    for name in ["one", "two", "three"] {
        request(&requests, &resource, &namespace, name, json!({})).await;
    }
    // Every placement says why it is not written, and so does each request.
    let placements: Api<WorkPlacement> = Api::namespaced(client.clone(), &namespace);
    let failures = wait_for("every placement to report the failure", TIMEOUT, || async {
        let all = placements
            .list(&ListParams::default())
            .await
            .map_err(|e| e.to_string())?
            .items;
        let failed: Vec<String> = all
            .iter()
            .filter_map(|p| {
                p.status
                    .as_ref()?
                    .conditions
                    .iter()
                    .find(|c| c.type_ == "WriteSucceeded" && c.status == "False")
                    .map(|c| c.message.clone())
            })
            .collect();
        if all.len() == 6 && failed.len() == 6 {
            Ok(failed)
        } else {
            Err(format!("{} placements, {} failed", all.len(), failed.len()))
        }
    })
    .await;
    assert!(
        failures[0].contains(&format!("GitStateStore {store}")),
        "{failures:?}"
    );
    assert!(
        !failures[0].contains("PRIVATE KEY"),
        "no credential in a message: {failures:?}"
    );
    let status = status_until(&requests, "one", "the request to say its Works fail", |s| {
        condition(s, "WorksSucceeded").is_some_and(|c| c["status"] == "False")
    })
    .await;
    assert_eq!(
        condition(&status, "Reconciled").map(|c| c["status"].clone()),
        Some(json!("False"))
    );

    git.start_ssh_again().unwrap_or_else(|e| panic!("{e}"));
    let files = files_until(
        &git,
        &repo,
        "every request's files once the server is back",
        |f| {
            ["one", "two", "three"].iter().all(|name| {
                let dir = format!("platform/{dev}/resources/{namespace}/{promise}/{name}/place/5058f");
                f.contains_key(&format!("{dir}/app.yaml")) && f.contains_key(&format!("{dir}/old.yaml"))
            }) && f.keys().filter(|p| p.ends_with("/db/db.yaml")).count() == 3
        },
    )
    .await;
    assert_eq!(
        files.keys().filter(|p| p.contains("/resources/")).count(),
        3 * 3 + 2,
        "each request's three files and the two canaries, nothing lost: {files:?}"
    );
    for name in ["one", "two", "three"] {
        status_until(&requests, name, "the request to be Reconciled", |s| {
            condition(s, "Reconciled").is_some_and(|c| c["status"] == "True")
        })
        .await;
    }
    let (_, commits) = git.head(&repo, "main").unwrap_or_else(|e| panic!("{e}"));
    assert!(
        commits - commits_before <= 3,
        "the six placements waiting for the server retry together and land in few commits: {} commits",
        commits - commits_before
    );
    remove(&client, &promise, &[&dev, &prod]).await;
}

#[tokio::test]
async fn outputs_land_in_a_bucket_unchanged_objects_stay_and_stale_ones_go() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = kratix_tests::suites::agent::setup(kratix_tests::platform!(), "bucket").await;
    let bucket = format!("b-{suffix}");
    let s3 = S3Server::start().unwrap_or_else(|e| panic!("{e}"));
    s3.create_bucket(&bucket).unwrap_or_else(|e| panic!("{e}"));
    let store = format!("bucket-{suffix}");
    bucket_store(&s3, &client, &store, &bucket, &namespace, s3_server::SECRET_KEY).await;
    // A store with the wrong secret is refused by the server's signature check.
    let forged = format!("forged-{suffix}");
    bucket_store(&s3, &client, &forged, &bucket, &namespace, "not-the-secret").await;
    let stores: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &kube::api::ApiResource::erase::<BucketStateStore>(&()),
    );
    status_until(&stores, &store, "the bucket store to be Ready", |s| {
        s["status"] == "Ready"
    })
    .await;
    let refused = status_until(&stores, &forged, "the forged store to be refused", |s| {
        s["status"] == "NotReady"
    })
    .await;
    let message = condition(&refused, "Ready")
        .and_then(|c| c["message"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains(&format!("BucketStateStore {forged}")),
        "{message}"
    );
    assert!(
        !message.contains("not-the-secret"),
        "no credential in a message: {message}"
    );

    let (dev, prod) = (format!("dev-{suffix}"), format!("prod-{suffix}"));
    let suite = format!("s{suffix}");
    for name in [&dev, &prod] {
        destination_on(
            &client,
            name,
            ("BucketStateStore", &store),
            &[("env", name), ("suite", &suite)],
        )
        .await;
    }
    destination_ready(&client, &dev).await;
    objects_until(&s3, &bucket, "the canary objects", |o| {
        o.contains_key(&format!(
            "platform/{prod}/dependencies/kratix-canary-namespace.yaml"
        ))
    })
    .await;

    let (promise, resource) = install_promise_with(
        &client,
        &suffix,
        json!({
            "destinationSelectors": [{"matchLabels": {"suite": format!("s{suffix}")}}],
            "dependencies": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared-config", "namespace": "default"}}],
            "workflows": {"resource": {"configure": [sized_pipeline(&image, &dev, &prod)]}},
        }),
    )
    .await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "orders", json!({})).await;
    let dir = format!("platform/{dev}/resources/{namespace}/{promise}/orders/place/5058f");
    let db = format!(
        "platform/{prod}/resources/{namespace}/{promise}/orders/place/{}/db/db.yaml",
        &md5_hex(b"db")[..5]
    );
    let objects = objects_until(&s3, &bucket, "the request's objects", |o| {
        o.contains_key(&format!("{dir}/app.yaml"))
            && o.contains_key(&format!("{dir}/old.yaml"))
            && o.contains_key(&db)
    })
    .await;
    assert_eq!(objects[&db], "kind: Db\n");
    for destination in [&dev, &prod] {
        let dependencies =
            format!("platform/{destination}/dependencies/{promise}/5058f/static/{promise}-dependencies.yaml");
        let objects = objects_until(
            &s3,
            &bucket,
            "the Promise's dependencies on both Destinations",
            |o| o.contains_key(&dependencies),
        )
        .await;
        assert!(objects[&dependencies].contains("shared-config"));
    }
    let status = status_until(&requests, "orders", "the request to be Reconciled", |s| {
        condition(s, "Reconciled").is_some_and(|c| c["status"] == "True")
            && s["kratix"]["outputs"].as_array().is_some_and(|o| o.len() == 2)
    })
    .await;
    let version = status["kratix"]["outputs"][0]["versionID"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(version.len(), 64, "a sha256 of the objects' versions: {status}");
    let db_object = s3.object_path(&bucket, &db);
    let db_written = std::fs::metadata(&db_object)
        .and_then(|m| m.modified())
        .expect("db object");

    // An update rewrites what changed, removes what is no longer output, and
    // leaves the unchanged object alone.
    requests
        .patch(
            "orders",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": "large"}})),
        )
        .await
        .expect("updated");
    objects_until(&s3, &bucket, "the updated objects", |o| {
        o.get(&format!("{dir}/app.yaml"))
            .is_some_and(|c| c == "size: large\n")
            && !o.contains_key(&format!("{dir}/old.yaml"))
    })
    .await;
    assert_eq!(
        std::fs::metadata(&db_object)
            .and_then(|m| m.modified())
            .expect("db object"),
        db_written,
        "an object whose ETag matches its content is not written again"
    );

    requests
        .delete("orders", &DeleteParams::default())
        .await
        .expect("deleted");
    objects_until(&s3, &bucket, "the request's objects to go", |o| {
        !o.keys().any(|k| k.contains(&format!("/resources/{namespace}/")))
    })
    .await;
    remove(&client, &promise, &[&dev, &prod]).await;
}

#[tokio::test]
async fn flat_and_aggregated_layouts_and_a_destination_that_cleans_up_after_itself() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = kratix_tests::suites::agent::setup(kratix_tests::platform!(), "layouts").await;
    let (git, repo, store) = http_git_store(&client, &namespace, &suffix).await;
    let (flat, aggregated) = (format!("flat-{suffix}"), format!("agg-{suffix}"));
    destination_with(&client, &flat, &store, json!({"mode": "none"}), Some("all")).await;
    destination_with(
        &client,
        &aggregated,
        &store,
        json!({"mode": "aggregatedYAML", "filename": "all.yaml"}),
        None,
    )
    .await;
    destination_ready(&client, &flat).await;
    destination_ready(&client, &aggregated).await;
    let (promise, resource) = install_promise_with(
        &client,
        &suffix,
        json!({"workflows": {"resource": {"configure": [sized_pipeline(&image, &flat, &aggregated)]}}}),
    )
    .await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "orders", json!({})).await;

    // Flat: the files straight under the Destination, and the ownership file.
    let files = files_until(&git, &repo, "the flat and aggregated files", |f| {
        f.contains_key(&format!("platform/{flat}/app.yaml"))
            && f.contains_key(&format!("platform/{flat}/old.yaml"))
            && f.get(&format!("platform/{aggregated}/all.yaml"))
                .is_some_and(|c| c.contains("kind: Db"))
    })
    .await;
    let ownership: Vec<&String> = files
        .keys()
        .filter(|p| p.starts_with(&format!("platform/{flat}/.kratix/{namespace}-")))
        .collect();
    assert_eq!(ownership.len(), 1, "{files:?}");
    assert!(files[ownership[0]].contains("app.yaml") && files[ownership[0]].contains("old.yaml"));
    let placements: Api<WorkPlacement> = Api::namespaced(client.clone(), &namespace);
    let on_flat = placements
        .list(&ListParams::default().labels(&format!("kratix.io/targetDestinationName={flat}")))
        .await
        .expect("placements")
        .items;
    assert!(
        on_flat[0]
            .finalizers()
            .iter()
            .any(|f| f == "finalizers.workplacement.kratix.io/kratix-dot-files-cleanup"),
        "{:?}",
        on_flat[0].finalizers()
    );

    // The flat layout removes only what the placement owned before.
    requests
        .patch(
            "orders",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": "large"}})),
        )
        .await
        .expect("updated");
    files_until(&git, &repo, "old.yaml to go from the flat Destination", |f| {
        f.get(&format!("platform/{flat}/app.yaml"))
            .is_some_and(|c| c == "size: large\n")
            && !f.contains_key(&format!("platform/{flat}/old.yaml"))
            && f.contains_key(&format!("platform/{flat}/kratix-canary-namespace.yaml"))
    })
    .await;

    // cleanup: all — deleting the Destination removes its placements' files and
    // its canaries before it goes.
    let destinations: Api<Destination> = Api::all(client.clone());
    destinations
        .delete(&flat, &DeleteParams::default())
        .await
        .expect("deleted");
    let files = files_until(&git, &repo, "everything under the flat Destination to go", |f| {
        !f.keys().any(|p| p.starts_with(&format!("platform/{flat}/")))
    })
    .await;
    assert!(files.contains_key(&format!("platform/{aggregated}/all.yaml")));
    wait_for("the Destination to go", TIMEOUT, || async {
        match destinations.get_opt(&flat).await {
            Ok(None) => Ok(()),
            Ok(Some(d)) => Err(format!("still there: {:?}", d.finalizers())),
            Err(e) => Err(e.to_string()),
        }
    })
    .await;

    requests
        .delete("orders", &DeleteParams::default())
        .await
        .expect("deleted");
    files_until(
        &git,
        &repo,
        "the aggregated file to go with the last placement",
        |f| !f.contains_key(&format!("platform/{aggregated}/all.yaml")),
    )
    .await;
    kratix_tests::suites::agent::promises(&client)
        .delete(&promise, &DeleteParams::default())
        .await
        .expect("promise deleted");
    destinations
        .delete(&aggregated, &DeleteParams::default())
        .await
        .expect("cleanup");
}

#[tokio::test]
async fn a_workload_path_that_leaves_its_directory_is_refused_and_reported() {
    let Setup {
        client,
        namespace,
        suffix,
        ..
    } = kratix_tests::suites::agent::setup(kratix_tests::platform!(), "escape").await;
    let (git, repo, store) = http_git_store(&client, &namespace, &suffix).await;
    let dev = format!("dev-{suffix}");
    destination(&client, &dev, &store, &[("env", &dev)]).await;
    destination_ready(&client, &dev).await;
    // A Work counts only for a Promise that exists, where its requests' pipelines run.
    let (promise, _) = install_promise_with(&client, &suffix, json!({})).await;

    // A Work (written by hand: the work creator never makes such a path) with one
    // file that climbs out of its directory and one that does not.
    let works: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &namespace,
        &kube::api::ApiResource::erase::<kratix_shared::api::work::Work>(&()),
    );
    let compress = |text: &str| kratix_shared::codec::compression::compress(text.as_bytes());
    let work: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "platform.kratix.io/v1alpha1", "kind": "Work",
        "metadata": {"name": format!("escape-{suffix}"), "namespace": namespace},
        "spec": {"promiseName": promise, "resourceName": "escape", "workloadGroups": [{
            "id": md5_hex(b"."), "directory": ".",
            "workloads": [
                {"filepath": "../../../../outside.yaml", "content": compress("escaped: true\n")},
                {"filepath": "inside.yaml", "content": compress("inside: true\n")},
            ],
            "destinationSelectors": [{"matchLabels": {"env": dev}, "source": "promise"}],
        }]},
    }))
    .expect("work");
    works
        .create(&PostParams::default(), &work)
        .await
        .expect("work created");
    // Names that would move a placement's directory are refused by the CRD's
    // patterns before the agent sees them (and by the agent again if not).
    for (field, value) in [("promiseName", json!("../x")), ("resourceName", json!("a/b"))] {
        let mut hostile = work.clone();
        hostile.metadata.name = Some(format!("hostile-{suffix}"));
        hostile.data["spec"][field] = value;
        let error = works
            .create(&PostParams::default(), &hostile)
            .await
            .expect_err("refused by the CRD")
            .to_string();
        assert!(error.contains(&format!("spec.{field}")), "{error}");
    }
    let mut hostile = work.clone();
    hostile.metadata.name = Some(format!("hostile-{suffix}"));
    hostile.data["spec"]["workloadGroups"][0]["id"] = json!("../../x");
    let error = works
        .create(&PostParams::default(), &hostile)
        .await
        .expect_err("refused by the CRD")
        .to_string();
    assert!(error.contains("spec.workloadGroups[0].id"), "{error}");
    let placements: Api<WorkPlacement> = Api::namespaced(client.clone(), &namespace);
    let refused = wait_for("the placement to report the refusal", TIMEOUT, || async {
        let all = placements
            .list(&ListParams::default())
            .await
            .map_err(|e| e.to_string())?
            .items;
        all.iter()
            .find_map(|p| {
                p.status
                    .as_ref()?
                    .conditions
                    .iter()
                    .find(|c| c.type_ == "WriteSucceeded" && c.status == "False")
                    .map(|c| c.message.clone())
            })
            .ok_or_else(|| format!("{} placements, none refused yet", all.len()))
    })
    .await;
    assert!(
        refused.contains("../../../../outside.yaml") && refused.contains("climbs out of its directory"),
        "{refused}"
    );
    let status = status_until(
        &works,
        &format!("escape-{suffix}"),
        "the Work to say Failing",
        |s| condition(s, "Ready").is_some_and(|c| c["message"] == "Failing"),
    )
    .await;
    assert_eq!(
        condition(&status, "Ready").map(|c| c["status"].clone()),
        Some(json!("False"))
    );
    let files = git.files(&repo, "main").unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !files
            .keys()
            .any(|p| p.ends_with("outside.yaml") || p.ends_with("inside.yaml")),
        "nothing of a refused placement is written: {files:?}"
    );

    works
        .delete(&format!("escape-{suffix}"), &DeleteParams::default())
        .await
        .expect("deleted");
    wait_for("the placement to go", TIMEOUT, || async {
        let left = placements
            .list(&ListParams::default())
            .await
            .map_err(|e| e.to_string())?
            .items;
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("{} left", left.len()))
        }
    })
    .await;
    let destinations: Api<Destination> = Api::all(client.clone());
    destinations
        .delete(&dev, &DeleteParams::default())
        .await
        .expect("cleanup");
}

/// The note of the newest Event about `name` (as the last line of `kubectl
/// describe` shows it, which Kratix's Destination tests read).
async fn newest_event_note(client: &kube::Client, namespace: &str, name: &str) -> Option<String> {
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), namespace);
    let list = events.list(&ListParams::default()).await.ok()?;
    list.items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .max_by_key(|e| {
            e.series
                .as_ref()
                .map(|s| s.last_observed_time.0)
                .or_else(|| e.event_time.as_ref().map(|t| t.0))
        })
        .and_then(|e| e.note)
}

async fn newest_event_until(client: &kube::Client, namespace: &str, name: &str, wanted: &str) {
    wait_for(
        &format!("an Event about {name} saying {wanted:?}"),
        TIMEOUT,
        || async {
            match newest_event_note(client, namespace, name).await {
                Some(note) if note.contains(wanted) => Ok(()),
                other => Err(format!("newest: {other:?}")),
            }
        },
    )
    .await;
}

fn ready_is(status: &Value, wanted: &str) -> bool {
    condition(status, "Ready").is_some_and(|c| c["status"] == wanted)
}

#[tokio::test]
async fn destination_and_store_conditions_and_events_are_kratixs() {
    let Setup {
        client,
        namespace,
        suffix,
        ..
    } = kratix_tests::suites::agent::setup(kratix_tests::platform!(), "kratix-words").await;
    let (_git, _repo, store) = http_git_store(&client, &namespace, &suffix).await;
    let dev = format!("dev-{suffix}");
    destination(&client, &dev, &store, &[("env", &dev)]).await;
    let ready = destination_ready(&client, &dev).await;
    assert_eq!(
        condition(&ready, "Ready").map(|c| (c["reason"].clone(), c["message"].clone())),
        Some((
            json!("TestDocumentsWritten"),
            json!("Test documents written to State Store")
        ))
    );
    // Events of cluster-scoped objects are in `default`.
    newest_event_until(&client, "default", &dev, "Destination is Ready").await;
    let stores: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &kube::api::ApiResource::erase::<GitStateStore>(&()),
    );
    let destinations: Api<DynamicObject> =
        Api::all_with(client.clone(), &kube::api::ApiResource::erase::<Destination>(&()));
    let store_status = status_until(&stores, &store, "the store to be Ready", |s| ready_is(s, "True")).await;
    assert_eq!(store_status["status"], "Ready");
    newest_event_until(
        &client,
        "default",
        &store,
        &format!("GitStateStore \"{store}\" is ready"),
    )
    .await;

    // A store that does not exist.
    let point_at = |name: &str| Patch::Merge(json!({"spec": {"stateStoreRef": {"name": name}}}));
    destinations
        .patch(&dev, &PatchParams::default(), &point_at("non-existing"))
        .await
        .expect("patched");
    let missing = status_until(&destinations, &dev, "the Destination to be not Ready", |s| {
        ready_is(s, "False")
    })
    .await;
    assert_eq!(
        condition(&missing, "Ready").map(|c| (c["reason"].clone(), c["message"].clone())),
        Some((
            json!("StateStoreNotFound"),
            json!("GitStateStore/non-existing: not found")
        ))
    );
    newest_event_until(&client, "default", &dev, "not found").await;
    destinations
        .patch(&dev, &PatchParams::default(), &point_at(&store))
        .await
        .expect("restored");
    status_until(&destinations, &dev, "the Destination to be Ready again", |s| {
        ready_is(s, "True")
    })
    .await;

    // A store whose Secret does not exist.
    stores
        .patch(
            &store,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"secretRef": {"name": "non-existent-secret"}}})),
        )
        .await
        .expect("patched");
    let broken = status_until(&stores, &store, "the store to be not Ready", |s| {
        ready_is(s, "False")
    })
    .await;
    let expected = format!("Secret non-existent-secret not found in namespace {namespace}");
    assert_eq!(
        condition(&broken, "Ready").map(|c| (c["reason"].clone(), c["message"].clone())),
        Some((json!("SecretNotFound"), json!(expected)))
    );
    assert_eq!(broken["status"], "NotReady");
    newest_event_until(&client, "default", &store, &expected).await;
    status_until(&destinations, &dev, "the Destination to follow its store", |s| {
        condition(s, "Ready").is_some_and(|c| c["reason"] == "StateStoreNotReady")
    })
    .await;
    newest_event_until(
        &client,
        "default",
        &dev,
        &format!("GitStateStore/{store}: not ready"),
    )
    .await;
    Api::<Destination>::all(client.clone())
        .delete(&dev, &DeleteParams::default())
        .await
        .expect("cleanup");
}
