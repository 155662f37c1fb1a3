//! What the state-store suites share: Secrets, Git and bucket stores,
//! Destinations on them, a pipeline whose output depends on the request, and
//! waits on what a store holds.

use std::collections::BTreeMap;

use kratix_shared::api::destination::{Destination, DestinationSpec, StateStoreReference};
use kratix_shared::api::state_store::{
    BucketStateStore, BucketStateStoreSpec, GitStateStore, GitStateStoreSpec, SecretReference,
};
use kube::api::{Api, DynamicObject, ObjectMeta, PostParams};
use serde_json::{Value, json};

use crate::fixtures::git_server::GitServer;
use crate::fixtures::s3_server::{self, S3Server};
use crate::suites::agent::{TIMEOUT, condition, pipeline, status_until};
use crate::suites::support::wait_for;

pub async fn apply_secret(client: &kube::Client, namespace: &str, name: &str, data: Value) {
    let secrets: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        namespace,
        &kube::api::ApiResource::erase::<k8s_openapi::api::core::v1::Secret>(&()),
    );
    let secret: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "stringData": data,
    }))
    .expect("secret");
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .expect("secret created");
}

/// A GitStateStore `name` for `url`, its credentials in Secret `name` of `namespace`.
pub async fn git_store(client: &kube::Client, name: &str, url: &str, namespace: &str, auth_method: &str) {
    let stores: Api<GitStateStore> = Api::all(client.clone());
    let store = GitStateStore {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        spec: GitStateStoreSpec {
            url: url.to_owned(),
            path: Some("platform".to_owned()),
            secret_ref: Some(SecretReference {
                name: name.to_owned(),
                namespace: Some(namespace.to_owned()),
            }),
            branch: Some("main".to_owned()),
            auth_method: Some(auth_method.to_owned()),
            git_author: None,
        },
        status: None,
    };
    stores
        .create(&PostParams::default(), &store)
        .await
        .expect("store created");
}

/// A strict Destination on GitStateStore `store`, so other suites' Works never land here.
pub async fn destination(client: &kube::Client, name: &str, store: &str, labels: &[(&str, &str)]) {
    destination_on(client, name, ("GitStateStore", store), labels).await;
}

/// A strict Destination on the state store `(kind, name)`.
pub async fn destination_on(
    client: &kube::Client,
    name: &str,
    (store_kind, store): (&str, &str),
    labels: &[(&str, &str)],
) {
    let destinations: Api<Destination> = Api::all(client.clone());
    let object = Destination {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            ..ObjectMeta::default()
        },
        spec: DestinationSpec {
            path: name.to_owned(),
            state_store_ref: StateStoreReference {
                kind: store_kind.to_owned(),
                name: store.to_owned(),
            },
            strict_match_labels: Some(true),
            ..DestinationSpec::default()
        },
        status: None,
    };
    destinations
        .create(&PostParams::default(), &object)
        .await
        .expect("destination");
}

/// Waits until the repository's files satisfy `done`, returning them.
pub async fn files_until(
    git: &GitServer,
    repo: &str,
    what: &str,
    done: impl Fn(&BTreeMap<String, String>) -> bool,
) -> BTreeMap<String, String> {
    wait_for(what, TIMEOUT, || async {
        let files = git.files(repo, "main").map_err(|e| e.to_string())?;
        if done(&files) {
            Ok(files)
        } else {
            Err(format!("files now: {:?}", files.keys().collect::<Vec<_>>()))
        }
    })
    .await
}

/// A pipeline whose output depends on the request's `size`: `app.yaml` (default
/// group, to `env=<dev>`), `db/db.yaml` (to `env=<prod>`), and `old.yaml` only
/// while the size is `small`.
pub fn sized_pipeline(image: &str, dev: &str, prod: &str) -> Value {
    let script = format!(
        "size=$(sed -n 's/^ *size: *//p' /kratix/input/object.yaml | head -n1); \
         mkdir -p /kratix/output/db; echo \"size: $size\" > /kratix/output/app.yaml; echo 'kind: Db' > /kratix/output/db/db.yaml; \
         if [ \"$size\" = small ]; then echo 'old: true' > /kratix/output/old.yaml; fi; \
         printf -- '- matchLabels:\\n    env: {dev}\\n- directory: db\\n  matchLabels:\\n    env: {prod}\\n' > /kratix/metadata/destination-selectors.yaml"
    );
    pipeline("place", image, &script)
}

pub async fn destination_ready(client: &kube::Client, name: &str) -> Value {
    let destinations: Api<DynamicObject> =
        Api::all_with(client.clone(), &kube::api::ApiResource::erase::<Destination>(&()));
    status_until(&destinations, name, "the Destination to be Ready", |s| {
        condition(s, "Ready").is_some_and(|c| c["status"] == "True")
    })
    .await
}

/// A BucketStateStore `name` on the test server, its keys in Secret `name`.
pub async fn bucket_store(
    s3: &S3Server,
    client: &kube::Client,
    name: &str,
    bucket: &str,
    namespace: &str,
    secret_key: &str,
) {
    apply_secret(
        client,
        namespace,
        name,
        json!({"accessKeyID": s3_server::ACCESS_KEY, "secretAccessKey": secret_key}),
    )
    .await;
    let stores: Api<BucketStateStore> = Api::all(client.clone());
    let store = BucketStateStore {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        spec: BucketStateStoreSpec {
            bucket_name: bucket.to_owned(),
            endpoint: s3.endpoint(),
            path: Some("platform".to_owned()),
            secret_ref: Some(SecretReference {
                name: name.to_owned(),
                namespace: Some(namespace.to_owned()),
            }),
            insecure: Some(true),
            use_dual_stack: None,
            auth_method: Some("accessKey".to_owned()),
        },
        status: None,
    };
    stores
        .create(&PostParams::default(), &store)
        .await
        .expect("bucket store created");
}

pub async fn objects_until(
    s3: &S3Server,
    bucket: &str,
    what: &str,
    done: impl Fn(&BTreeMap<String, String>) -> bool,
) -> BTreeMap<String, String> {
    wait_for(what, TIMEOUT, || async {
        let objects = s3.objects(bucket).map_err(|e| e.to_string())?;
        if done(&objects) {
            Ok(objects)
        } else {
            Err(format!("objects now: {:?}", objects.keys().collect::<Vec<_>>()))
        }
    })
    .await
}

/// A Destination on `store` with a file layout and cleanup of its own.
pub async fn destination_with(
    client: &kube::Client,
    name: &str,
    store: &str,
    filepath: Value,
    cleanup: Option<&str>,
) {
    let destinations: Api<DynamicObject> =
        Api::all_with(client.clone(), &kube::api::ApiResource::erase::<Destination>(&()));
    let mut spec = json!({
        "path": name,
        "stateStoreRef": {"kind": "GitStateStore", "name": store},
        "strictMatchLabels": true,
        "filepath": filepath,
    });
    if let Some(cleanup) = cleanup {
        spec["cleanup"] = json!(cleanup);
    }
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "platform.kratix.io/v1alpha1", "kind": "Destination",
        "metadata": {"name": name, "labels": {"env": name}},
        "spec": spec,
    }))
    .expect("destination");
    destinations
        .create(&PostParams::default(), &object)
        .await
        .expect("destination created");
}

/// A test's teardown: its Promise, then its Destinations.
pub async fn remove(client: &kube::Client, promise: &str, destinations: &[&String]) {
    use kube::api::DeleteParams;
    crate::suites::agent::promises(client)
        .delete(promise, &DeleteParams::default())
        .await
        .expect("promise deleted");
    let api: Api<Destination> = Api::all(client.clone());
    for name in destinations {
        api.delete(name, &DeleteParams::default())
            .await
            .expect("destination deleted");
    }
}

/// A test's own Git server with repository `state-<suffix>`, and GitStateStore
/// `git-<suffix>` on it over HTTP with basic auth (its Secret in `namespace`).
/// Returns the server (stopped when dropped), the repository and the store's name.
pub async fn http_git_store(
    client: &kube::Client,
    namespace: &str,
    suffix: &str,
) -> (GitServer, String, String) {
    let repo = format!("state-{suffix}");
    let server = GitServer::start().unwrap_or_else(|e| panic!("{e}"));
    server.create_repo(&repo).unwrap_or_else(|e| panic!("{e}"));
    let store = format!("git-{suffix}");
    apply_secret(
        client,
        namespace,
        &store,
        json!({"username": crate::fixtures::git_server::USERNAME, "password": crate::fixtures::git_server::PASSWORD}),
    )
    .await;
    git_store(client, &store, &server.http_url(&repo), namespace, "basicAuth").await;
    (server, repo, store)
}
