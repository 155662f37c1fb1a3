//! `destination_test.go`: a Destination's and its state store's `Ready` and
//! Events as their references and credentials break and mend, and the
//! `cleanup: all` strategy. Substitutions: the stores the assets point at
//! Gitea and MinIO point at the platform's own Git and S3 servers, with the
//! Secrets Kratix's quick-start makes (`gitea-credentials`, `minio-credentials`,
//! and the BucketStateStore `default`) holding those servers' credentials;
//! `mc ls` and `mc cat` read the S3 server's bucket instead. Kratix marks the
//! group `Serial`. The filepath-mode tests assert every file and WorkPlacement
//! of a new Destination without strict labels, which every Work without
//! selectors lands on: like Kratix's, they need a platform no other suite has
//! left Works on (tests/run gives this suite its own).

use std::path::Path;
use std::time::Duration;

use kratix_tests::fixtures::git_server::{self, GitServer};
use kratix_tests::fixtures::s3_server::{self, S3Server};

use crate::harness::{asset, eventually, kubectl, kubectl_ok, start_alone};

/// Kratix's suite waits up to three minutes for each step of this group.
const STEP: Duration = Duration::from_secs(180);

/// The asset `file` with the value of each `key:` line replaced, as Kratix's
/// quick-start would have the servers the assets name.
fn substituted(dir: &Path, file: &str, replacements: &[(&str, &str)]) -> String {
    let text = std::fs::read_to_string(dir.join(file)).expect("the asset");
    text.lines()
        .map(|line| {
            let indent = &line[..line.len() - line.trim_start().len()];
            replacements
                .iter()
                .find(|(key, _)| line.trim_start().starts_with(&format!("{key}:")))
                .map_or_else(
                    || line.to_owned(),
                    |(key, value)| format!("{indent}{key}: {value}"),
                )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `kubectl apply -f -` of `yaml`.
fn apply_text(yaml: &str) {
    use std::io::Write as _;
    let mut child = crate::harness::platform()
        .kubectl()
        .args(["apply", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(yaml.as_bytes())
        .expect("yaml piped");
    let output = child.wait_with_output().expect("kubectl ends");
    assert!(
        output.status.success(),
        "kubectl apply: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Kratix's `WaitReady`: `kubectl get` shows `True` (the READY column).
async fn wait_ready(kind: &str, name: &str) {
    eventually(&format!("{kind} {name} Ready"), STEP, || {
        let (_, text) = kubectl(&["get", kind, name]);
        if text.contains("True") { Ok(()) } else { Err(text) }
    })
    .await;
}

/// Kratix's `ExpectNotReady`: `False` within 30 s.
async fn expect_not_ready(kind: &str, name: &str) {
    eventually(
        &format!("{kind} {name} not Ready"),
        Duration::from_secs(30),
        || {
            let (_, text) = kubectl(&["get", kind, name]);
            if text.contains("False") { Ok(()) } else { Err(text) }
        },
    )
    .await;
}

/// Kratix's `ExpectEvent`: the last line of `kubectl describe` (the newest
/// Event) says one of `wanted`.
async fn expect_event(kind: &str, name: &str, wanted: &[&str]) {
    eventually(
        &format!("{kind} {name}'s newest Event to say one of {wanted:?}"),
        STEP,
        || {
            let (_, text) = kubectl(&["describe", kind, name]);
            let lines: Vec<&str> = text.split('\n').collect();
            let last = lines.len().checked_sub(2).map_or("", |i| lines[i]);
            if wanted.iter().any(|w| last.contains(w)) {
                Ok(())
            } else {
                Err(format!("last line {last:?} of:\n{text}"))
            }
        },
    )
    .await;
}

/// Secret `name` in `default` with `data`, made or replaced (a test before may
/// have left it, with credentials of a server since stopped).
fn credentials(name: &str, data: &[(&str, &str)]) {
    let lines: String = data
        .iter()
        .map(|(key, value)| format!("  {key}: \"{value}\"\n"))
        .collect();
    apply_text(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: default\ntype: Opaque\nstringData:\n{lines}"
    ));
}

/// The Git server standing in for Gitea, its `kratix` repository, and the
/// `gitea-credentials` Secret holding its credentials.
fn gitea() -> GitServer {
    let git = GitServer::start().unwrap_or_else(|e| panic!("{e}"));
    git.create_repo("kratix").unwrap_or_else(|e| panic!("{e}"));
    credentials(
        "gitea-credentials",
        &[
            ("username", git_server::USERNAME),
            ("password", git_server::PASSWORD),
        ],
    );
    git
}

/// The S3 server standing in for MinIO, its `kratix` bucket, and the
/// `minio-credentials` Secret holding its credentials.
fn minio() -> S3Server {
    let s3 = S3Server::start().unwrap_or_else(|e| panic!("{e}"));
    s3.create_bucket("kratix").unwrap_or_else(|e| panic!("{e}"));
    credentials(
        "minio-credentials",
        &[
            ("accessKeyID", s3_server::ACCESS_KEY),
            ("secretAccessKey", s3_server::SECRET_KEY),
        ],
    );
    s3
}

/// The outer BeforeEach: the Git store and the Destination on it.
fn git_store_and_destination(dir: &Path, git: &GitServer) -> String {
    let store = substituted(
        dir,
        "destination-git-test-store.yaml",
        &[("url", &git.http_url("kratix"))],
    );
    apply_text(&store);
    kubectl_ok(&["apply", "-f", &asset(dir, "destination-worker-git.yaml")]);
    store
}

/// The outer AfterEach: the credentials mended, the Destination gone.
fn outer_after_each(dir: &Path) {
    set_credential("gitea-credentials", "username", git_server::USERNAME);
    kubectl_ok(&[
        "delete",
        "-f",
        &asset(dir, "destination-worker-git.yaml"),
        "--ignore-not-found",
    ]);
}

/// One store-backed Destination as Kratix's two status-and-events tests walk it.
struct StoreCase<'a> {
    store_kind: &'a str,
    store: &'a str,
    /// The store as applied (the asset with the stand-in server's address).
    store_yaml: &'a str,
    destination: &'a str,
    destination_file: &'a str,
    /// The Secret, the key whose value is made invalid.
    credentials: (&'a str, &'a str),
    /// What the store's newest Event says once the credentials are wrong.
    bad_credentials_events: &'a [&'a str],
    /// What the Destination's newest Event says then.
    destination_event: &'a str,
}

/// The steps both tests share: Ready; a missing store reference; a missing
/// Secret; wrong credentials (left wrong: the AfterEach mends them).
async fn store_status_and_events(dir: &Path, case: &StoreCase<'_>) {
    let (store_kind, store, destination) = (case.store_kind, case.store, case.destination);
    wait_ready(store_kind, store).await;
    wait_ready("destination", destination).await;
    expect_event("destination", destination, &["Destination is Ready"]).await;

    // Failing when the state store ref is not found.
    kubectl_ok(&[
        "patch",
        "destinations",
        destination,
        "--type=merge",
        "-p",
        r#"{"spec":{"stateStoreRef":{"name":"non-existing"}}}"#,
    ]);
    expect_not_ready("destination", destination).await;
    expect_event("destination", destination, &["not found"]).await;
    kubectl_ok(&["apply", "-f", &asset(dir, case.destination_file)]);
    wait_ready("destination", destination).await;

    // Failing when the state store's Secret does not exist.
    kubectl_ok(&[
        "patch",
        store_kind,
        store,
        "--type=merge",
        "-p",
        r#"{"spec":{"secretRef":{"name":"non-existent-secret"}}}"#,
    ]);
    expect_not_ready(store_kind, store).await;
    expect_event(
        store_kind,
        store,
        &["Secret non-existent-secret not found in namespace default"],
    )
    .await;
    expect_not_ready("destination", destination).await;
    expect_event("destination", destination, &["not ready"]).await;
    apply_text(case.store_yaml);
    wait_ready(store_kind, store).await;
    wait_ready("destination", destination).await;

    // Failing when the credentials are wrong.
    let (secret, key) = case.credentials;
    set_credential(secret, key, "invalid");
    expect_not_ready(store_kind, store).await;
    expect_event(store_kind, store, case.bad_credentials_events).await;
    expect_not_ready("destination", destination).await;
    expect_event("destination", destination, &[case.destination_event]).await;
}

/// `kubectl patch secret <secret> -p '{"stringData":{"<key>":"<value>"}}'`.
fn set_credential(secret: &str, key: &str, value: &str) {
    kubectl_ok(&[
        "patch",
        "secret",
        secret,
        "-n",
        "default",
        "--type=merge",
        "-p",
        &format!(r#"{{"stringData":{{"{key}":"{value}"}}}}"#),
    ]);
}

/// "Git-backed destination status and events" "properly set the conditions and events".
#[tokio::test]
async fn destination_git_backed_status_and_events() {
    let Some(group) = start_alone("destination").await else {
        return;
    };
    let dir = group.dir.clone();
    let git = gitea();
    let store = git_store_and_destination(&dir, &git);
    let case = StoreCase {
        store_kind: "gitstatestore",
        store: "destination-git-test-store",
        store_yaml: &store,
        destination: "test-worker-git",
        destination_file: "destination-worker-git.yaml",
        credentials: ("gitea-credentials", "username"),
        bad_credentials_events: &["unable to clone repository", "Authentication failed"],
        destination_event: "StateStore/destination-git-test-store: not ready",
    };
    store_status_and_events(&dir, &case).await;

    outer_after_each(&dir);
    kubectl_ok(&["delete", "gitstatestore", case.store, "--ignore-not-found"]);
}

/// "Bucket-backed destination status and events" "properly set the conditions and events".
#[tokio::test]
async fn destination_bucket_backed_status_and_events() {
    let Some(group) = start_alone("destination").await else {
        return;
    };
    let dir = group.dir.clone();
    let git = gitea();
    let s3 = minio();
    git_store_and_destination(&dir, &git);
    // The inner BeforeEach.
    let store = substituted(
        &dir,
        "destination-test-store.yaml",
        &[("endpoint", &s3.endpoint())],
    );
    apply_text(&store);
    kubectl_ok(&["apply", "-f", &asset(&dir, "destination-worker-3.yaml")]);
    let case = StoreCase {
        store_kind: "bucketstatestore",
        store: "destination-test-store",
        store_yaml: &store,
        destination: "worker-3",
        destination_file: "destination-worker-3.yaml",
        credentials: ("minio-credentials", "accessKeyID"),
        bad_credentials_events: &[
            "write permission validation failed",
            "Error validating state store permissions",
        ],
        destination_event: "not ready",
    };
    store_status_and_events(&dir, &case).await;

    // The inner AfterEach, then the outer.
    set_credential("minio-credentials", "accessKeyID", s3_server::ACCESS_KEY);
    kubectl_ok(&[
        "delete",
        "-f",
        &asset(&dir, case.destination_file),
        "--ignore-not-found",
    ]);
    kubectl_ok(&["delete", "secret", "new-state-store-secret", "--ignore-not-found"]);
    outer_after_each(&dir);
    kubectl_ok(&["delete", "bucketstatestore", case.store, "--ignore-not-found"]);
    kubectl_ok(&[
        "delete",
        "gitstatestore",
        "destination-git-test-store",
        "--ignore-not-found",
    ]);
}

/// The quick-start's BucketStateStore `default`, on the S3 server.
fn default_bucket_store(s3: &S3Server) {
    apply_text(&format!(
        "apiVersion: platform.kratix.io/v1alpha1
kind: BucketStateStore
metadata:
  name: default
spec:
  authMethod: accessKey
  bucketName: kratix
  endpoint: {}
  insecure: true
  secretRef:
    name: minio-credentials
    namespace: default
",
        s3.endpoint()
    ));
}

/// Kratix's `filenames(mc ls -r kind/kratix/<prefix>)`: the keys under
/// `prefix/`, relative to it, sorted.
fn filenames(s3: &S3Server, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = bucket_keys(s3, &format!("{prefix}/"))
        .into_iter()
        .map(|k| k[prefix.len() + 1..].to_owned())
        .collect();
    names.sort();
    names
}

/// Kratix's `parseYAML(mc cat ...)` as `Kind:name`, sorted.
fn kinds_and_names(s3: &S3Server, key: &str) -> Result<Vec<String>, String> {
    let objects = s3.objects("kratix").map_err(|e| e.to_string())?;
    let text = objects.get(key).ok_or_else(|| format!("no {key}"))?;
    let documents = kratix_shared::codec::yaml::parse_documents(key, text).map_err(|e| e.to_string())?;
    let mut found: Vec<String> = documents
        .iter()
        .map(|d| {
            format!(
                "{}:{}",
                d.value["kind"].as_str().unwrap_or_default(),
                d.value["metadata"]["name"].as_str().unwrap_or_default()
            )
        })
        .collect();
    found.sort();
    Ok(found)
}

fn exactly(seen: Vec<String>, wanted: &[&str]) -> Result<(), String> {
    let mut wanted: Vec<String> = wanted.iter().map(|w| (*w).to_owned()).collect();
    wanted.sort();
    if seen == wanted {
        Ok(())
    } else {
        Err(format!("{seen:?}, wanted exactly {wanted:?}"))
    }
}

async fn crd(name: &str, present: bool) {
    eventually(&format!("CRD {name} present: {present}"), STEP, || {
        let (_, text) = kubectl(&["get", "crds"]);
        if text.contains(name) == present {
            Ok(())
        } else {
            Err(text)
        }
    })
    .await;
}

/// "filepath modes" "aggregatedYAML" "aggregates workplacements into a single file".
#[tokio::test]
async fn destination_aggregated_yaml_writes_one_file() {
    let Some(group) = start_alone("destination").await else {
        return;
    };
    let dir = group.dir.clone();
    let git = gitea();
    let s3 = minio();
    git_store_and_destination(&dir, &git);
    default_bucket_store(&s3);
    // BeforeEach.
    kubectl_ok(&["apply", "-f", &asset(&dir, "destination-aggregated-yaml.yaml")]);
    kubectl_ok(&["apply", "-f", &asset(&dir, "promise.yaml")]);
    crd("aggregates.test.kratix.io", true).await;
    kubectl_ok(&["apply", "-f", &asset(&dir, "resources.yaml")]);

    let canaries = ["kratix-canary-configmap.yaml", "kratix-canary-namespace.yaml"];
    eventually("the aggregated file and the canaries", STEP, || {
        exactly(
            filenames(&s3, "aggregated-yaml"),
            &["catalog.yaml", canaries[0], canaries[1]],
        )
    })
    .await;
    eventually("every workload in the catalog", STEP, || {
        exactly(
            kinds_and_names(&s3, "aggregated-yaml/catalog.yaml")?,
            &[
                "Namespace:aggregate-test-ns",
                "ConfigMap:req-1",
                "ConfigMap:req-2",
            ],
        )
    })
    .await;
    kubectl_ok(&["delete", "aggregates", "req-1", "-n", "default", "--timeout=180s"]);
    eventually("req-1 gone from the catalog", STEP, || {
        exactly(
            kinds_and_names(&s3, "aggregated-yaml/catalog.yaml")?,
            &["Namespace:aggregate-test-ns", "ConfigMap:req-2"],
        )
    })
    .await;
    kubectl_ok(&["delete", "promises", "aggregate-promise", "--timeout=180s"]);
    crd("aggregates.test.kratix.io", false).await;
    eventually("only the canaries left", STEP, || {
        exactly(filenames(&s3, "aggregated-yaml"), &canaries)
    })
    .await;

    // AfterEach.
    kubectl_ok(&["delete", "promises", "aggregate-promise", "--ignore-not-found"]);
    kubectl_ok(&["delete", "-f", &asset(&dir, "destination-aggregated-yaml.yaml")]);
    outer_after_each(&dir);
    kubectl_ok(&["delete", "bucketstatestore", "default", "--ignore-not-found"]);
    kubectl_ok(&[
        "delete",
        "gitstatestore",
        "destination-git-test-store",
        "--ignore-not-found",
    ]);
}

/// "filepath modes" "none" "can write and delete from statestore".
#[tokio::test]
async fn destination_filepath_mode_none_writes_and_deletes() {
    let Some(group) = start_alone("destination").await else {
        return;
    };
    let dir = group.dir.clone();
    let git = gitea();
    git_store_and_destination(&dir, &git);
    // BeforeEach.
    kubectl_ok(&[
        "apply",
        "-f",
        &asset(&dir, "destination-git-filepathmode-none.yaml"),
    ]);
    kubectl_ok(&["apply", "-f", &asset(&dir, "promise-filepathmode-none.yaml")]);
    crd("modenone.test.kratix.io", true).await;
    kubectl_ok(&["apply", "-f", &asset(&dir, "resource-filepathmode-none.yaml")]);

    eventually("the request Reconciled", STEP, || {
        let (_, text) = kubectl(&["get", "modenone", "modenone-request-1", "-n", "default"]);
        if text.contains("Reconciled") {
            Ok(())
        } else {
            Err(text)
        }
    })
    .await;
    eventually("a WorkPlacement Ready", STEP, || {
        let (_, text) = kubectl(&["get", "workplacement", "-n", "default"]);
        if text.contains("Ready") { Ok(()) } else { Err(text) }
    })
    .await;
    kubectl_ok(&[
        "delete",
        "-f",
        &asset(&dir, "resource-filepathmode-none.yaml"),
        "--timeout=180s",
    ]);
    eventually("the request's WorkPlacement gone", STEP, || {
        let (_, text) = kubectl(&[
            "-n",
            "default",
            "get",
            "workplacements",
            "-l",
            "kratix.io/targetDestinationName=test-worker-git-filepathmode-none",
        ]);
        if text.contains("modenone-request-1") {
            Err(text)
        } else {
            Ok(())
        }
    })
    .await;
    kubectl_ok(&["delete", "promises", "filepathmode-none", "--timeout=180s"]);
    eventually("every WorkPlacement of the Destination gone", STEP, || {
        let (_, text) = kubectl(&[
            "get",
            "workplacements",
            "--all-namespaces",
            "-l",
            "kratix.io/targetDestinationName=test-worker-git-filepathmode-none",
        ]);
        if text.contains("No resources found") {
            Ok(())
        } else {
            Err(text)
        }
    })
    .await;

    // AfterEach.
    kubectl_ok(&["delete", "promises", "filepathmode-none", "--ignore-not-found"]);
    kubectl_ok(&[
        "delete",
        "-f",
        &asset(&dir, "destination-git-filepathmode-none.yaml"),
    ]);
    outer_after_each(&dir);
    kubectl_ok(&[
        "delete",
        "gitstatestore",
        "destination-git-test-store",
        "--ignore-not-found",
    ]);
}

/// The keys of the S3 bucket `kratix`, as `mc ls -r kind/kratix/<prefix>` lists them.
fn bucket_keys(s3: &S3Server, prefix: &str) -> Vec<String> {
    s3.objects("kratix")
        .unwrap_or_else(|e| panic!("{e}"))
        .into_keys()
        .filter(|k| k.starts_with(prefix))
        .collect()
}

/// "cleanup all" "When destination cleanup strategy is set to 'all'"
/// "reconciles successfully and delete all workplacements on deletion".
#[tokio::test]
async fn destination_cleanup_all_removes_everything_it_wrote() {
    let Some(group) = start_alone("destination").await else {
        return;
    };
    let dir = group.dir.clone();
    let git = gitea();
    let s3 = minio();
    git_store_and_destination(&dir, &git);
    default_bucket_store(&s3);
    // BeforeEach.
    kubectl_ok(&["apply", "-f", &asset(&dir, "destination-cleanup-all.yaml")]);
    kubectl_ok(&["apply", "-f", &asset(&dir, "promise-cleanup-all.yaml")]);
    eventually("the Promise's CRD", STEP, || {
        let (_, text) = kubectl(&["get", "crds"]);
        if text.contains("cleanupalls.test.kratix.io") {
            Ok(())
        } else {
            Err(text)
        }
    })
    .await;
    kubectl_ok(&["apply", "-f", &asset(&dir, "resources-cleanup-all.yaml")]);

    wait_ready("destinations", "cleanup-all").await;
    eventually("the cleanup finalizer", STEP, || {
        let (_, text) = kubectl(&[
            "get",
            "destinations",
            "cleanup-all",
            "-ojsonpath={.metadata.finalizers}",
        ]);
        if text.contains("kratix.io/destination-cleanup") {
            Ok(())
        } else {
            Err(text)
        }
    })
    .await;
    eventually("the Destination's files", STEP, || {
        let listed = bucket_keys(&s3, "cleanup-all/").join("\n");
        let wanted = [
            "ns.yaml",
            "/configmap.yaml",
            "kratix-canary-namespace.yaml",
            "kratix-canary-configmap.yaml",
        ];
        if wanted.iter().all(|w| listed.contains(w)) {
            Ok(())
        } else {
            Err(listed)
        }
    })
    .await;

    kubectl_ok(&["delete", "destinations", "cleanup-all", "--timeout=180s"]);
    eventually("every file of the Destination gone", STEP, || {
        let listed = bucket_keys(&s3, "");
        if listed.iter().any(|k| k.starts_with("cleanup-all")) {
            Err(listed.join("\n"))
        } else {
            Ok(())
        }
    })
    .await;

    // AfterEach, then the stand-ins' objects.
    kubectl_ok(&[
        "delete",
        "-f",
        &asset(&dir, "resources-cleanup-all.yaml"),
        "--ignore-not-found",
        "--timeout=180s",
    ]);
    kubectl_ok(&[
        "delete",
        "-f",
        &asset(&dir, "promise-cleanup-all.yaml"),
        "--ignore-not-found",
        "--timeout=180s",
    ]);
    outer_after_each(&dir);
    kubectl_ok(&["delete", "bucketstatestore", "default", "--ignore-not-found"]);
    kubectl_ok(&[
        "delete",
        "gitstatestore",
        "destination-git-test-store",
        "--ignore-not-found",
    ]);
}
