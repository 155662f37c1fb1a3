//! What every group's test needs: the assets, the images they name, kubectl as
//! Kratix's suite runs it, and its `Eventually`/`Consistently`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kratix_tests::fixtures::git_server::GitServer;
use kratix_tests::fixtures::images::ImageSpec;
use kratix_tests::suites::agent::install_agent;
use kratix_tests::suites::state_store::{destination_ready, http_git_store};
use kratix_tests::suites::support::{Platform, install_kratix_crds, wait_for};

/// Kratix's suite waits up to two minutes for each step of this group.
pub(crate) const STEP_TIMEOUT: Duration = Duration::from_secs(120);

pub(crate) fn platform() -> &'static Platform {
    Platform::get(Path::new(env!("CARGO_BIN_EXE_testenv")))
}

/// The group's asset folder, or `None` (said on stderr) when the conformance
/// folder is not beside the project.
pub(crate) fn assets(group: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/conformance/kratix-system")
        .join(group);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: no Kratix system-test assets at {}", dir.display());
        None
    }
}

/// Every `image:` the group's assets name.
pub(crate) fn images_named_in(dir: &Path) -> Vec<String> {
    let mut images: Vec<String> = std::fs::read_dir(dir)
        .expect("assets")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .flat_map(|p| {
            std::fs::read_to_string(&p)
                .expect("asset")
                .lines()
                .filter_map(|line| {
                    let line = line.trim().trim_start_matches("- ");
                    line.strip_prefix("image:").map(|i| i.trim().to_owned())
                })
                .collect::<Vec<_>>()
        })
        .collect();
    images.sort();
    images.dedup();
    images
}

/// Builds each image the assets name, under that name: the pipeline utility
/// image with the tools its scripts call, anything else as plain busybox.
pub(crate) fn build_images(dir: &Path) {
    for reference in images_named_in(dir) {
        let mut spec = ImageSpec {
            reference: reference.clone(),
            ..Default::default()
        };
        if reference.contains("kratix-pipeline-utility") {
            kratix_tests::fixtures::images::add_git_tools(&mut spec).unwrap_or_else(|e| panic!("{e}"));
            kratix_tests::fixtures::tools::add_pipeline_tools(&mut spec).unwrap_or_else(|e| panic!("{e}"));
        }
        platform().image(&spec);
    }
}

pub(crate) fn kubectl(args: &[&str]) -> (bool, String) {
    let output = platform().kubectl().args(args).output().expect("kubectl runs");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// `Eventually(kubectl ...).Should(ContainSubstring(wanted))`.
pub(crate) async fn eventually_contains(what: &str, args: &[&str], wanted: &str) -> String {
    wait_for(what, STEP_TIMEOUT, || async {
        let (_, text) = kubectl(args);
        if text.contains(wanted) {
            Ok(text)
        } else {
            Err(text)
        }
    })
    .await
}

/// The condition statuses Kratix's test reads with jsonpath.
pub(crate) async fn eventually_true(what: &str, args: &[&str], types: &[&str]) {
    for type_ in types {
        let jsonpath = format!("-o=jsonpath={{.status.conditions[?(@.type==\"{type_}\")].status}}");
        let mut all = args.to_vec();
        all.push(&jsonpath);
        eventually_contains(&format!("{what}: {type_}"), &all, "True").await;
    }
}

/// The Go test's three checks that a workflow ran in `kube-public`: a Job named
/// with `job`, a Work named with `work`, and that Work's WorkPlacement.
pub(crate) async fn ran_in_kube_public(
    whose: &str,
    job_selector: &str,
    job: &str,
    work_selector: &str,
    work: &str,
    pipeline: &str,
) {
    eventually_contains(
        &format!("{whose} workflow to run in kube-public"),
        &[
            "get",
            "jobs",
            "--namespace",
            "kube-public",
            "--selector",
            job_selector,
        ],
        job,
    )
    .await;
    let work_name = eventually_contains(
        &format!("{whose} Work in kube-public"),
        &[
            "get",
            "works",
            "--namespace",
            "kube-public",
            "--selector",
            work_selector,
            "-o=jsonpath={.items[0].metadata.name}",
        ],
        work,
    )
    .await;
    let work_name = work_name.trim();
    eventually_contains(
        &format!("{whose} WorkPlacement in kube-public"),
        &[
            "get",
            "workplacements",
            "--namespace",
            "kube-public",
            "--selector",
            &format!("kratix.io/work={work_name},kratix.io/pipeline-name={pipeline}"),
        ],
        work_name,
    )
    .await;
}

pub(crate) async fn gone_from_kube_public(what: &str, kind: &str, selector: &str) {
    eventually_contains(
        &format!("{what} to go"),
        &["get", kind, "--namespace", "kube-public", "--selector", selector],
        "No resources found in kube-public namespace",
    )
    .await;
}

/// A worker Destination as Kratix's quick-start registers one (no strict
/// labels: Works without selectors land on it), on the platform's Git server:
/// its name, the server and the repository it writes to. Hold [`WORKER`].
pub(crate) async fn worker_destination(
    client: &kube::Client,
    namespace: &str,
    suffix: &str,
) -> (String, GitServer, String) {
    let (git, repo, store) = http_git_store(client, namespace, suffix).await;
    let name = format!("worker-{suffix}");
    let destinations: kube::Api<kratix_shared::api::destination::Destination> =
        kube::Api::all(client.clone());
    let destination: kratix_shared::api::destination::Destination =
        serde_json::from_value(serde_json::json!({
            "apiVersion": "platform.kratix.io/v1alpha1", "kind": "Destination",
            "metadata": {"name": name, "labels": {"environment": "dev"}},
            "spec": {"path": name, "stateStoreRef": {"kind": "GitStateStore", "name": store}}
        }))
        .expect("destination");
    destinations
        .create(&kube::api::PostParams::default(), &destination)
        .await
        .expect("destination created");
    destination_ready(client, &name).await;
    (name, git, repo)
}

/// Taken by every test for its whole run: shared by tests Kratix runs in
/// parallel, alone by those it marks `Serial` (they register Destinations any
/// Work may land on, or share names).
static TURNS: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// A test's turn on the platform, held until the test ends.
pub(crate) enum Turn {
    Shared(#[allow(dead_code)] tokio::sync::RwLockReadGuard<'static, ()>),
    Alone(#[allow(dead_code)] tokio::sync::RwLockWriteGuard<'static, ()>),
}

/// What a group's test starts from: its turn, the Kratix CRDs, the agent, and
/// the images the group's assets name.
pub(crate) struct Group {
    pub(crate) client: kube::Client,
    pub(crate) dir: PathBuf,
    _turn: Turn,
}

/// Starts a test of `group` Kratix runs in parallel with others; `None`
/// (said) when the assets are absent.
pub(crate) async fn start(group: &str) -> Option<Group> {
    let dir = assets(group)?;
    let turn = Turn::Shared(TURNS.read().await);
    Some(prepare(dir, turn).await)
}

/// Starts a test of `group` Kratix marks `Serial`: it runs alone.
pub(crate) async fn start_alone(group: &str) -> Option<Group> {
    let dir = assets(group)?;
    let turn = Turn::Alone(TURNS.write().await);
    Some(prepare(dir, turn).await)
}

async fn prepare(dir: PathBuf, turn: Turn) -> Group {
    let client = platform().client().await;
    install_kratix_crds(&client).await;
    install_agent(platform(), &client).await;
    build_images(&dir);
    Group {
        client,
        dir,
        _turn: turn,
    }
}

/// `kubectl` that must succeed (Kratix's `Kubectl`): its output.
pub(crate) fn kubectl_ok(args: &[&str]) -> String {
    let (ok, text) = kubectl(args);
    assert!(ok, "kubectl {}: {text}", args.join(" "));
    text
}

/// Kratix's `Eventually(func(g) {...})`: `check` until it passes, for up to `timeout`.
pub(crate) async fn eventually<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    wait_for(what, timeout, || std::future::ready(check())).await
}

/// Kratix's `Consistently(...)`: `check` holds at every look for `period`.
pub(crate) async fn consistently(
    what: &str,
    period: Duration,
    mut check: impl FnMut() -> Result<(), String>,
) {
    let until = std::time::Instant::now() + period;
    loop {
        if let Err(seen) = check() {
            panic!("{what} did not hold: {seen}");
        }
        if std::time::Instant::now() >= until {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// `-o=go-template={{len .items}}` over `kubectl get <kind> -n <namespace> -l <selector>`.
pub(crate) fn count(kind: &str, namespace: &str, selector: &str) -> usize {
    let text = kubectl_ok(&[
        "get",
        kind,
        "-n",
        namespace,
        "-l",
        selector,
        "-o=go-template={{len .items}}",
    ]);
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("a count of {kind}: {text}"))
}

/// Held by a test while it has a worker Destination registered: Works go to
/// any Destination whose labels match, so two tests' workers at once would
/// each receive the other's.
pub(crate) static WORKER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The path of `file` in the asset folder `dir`, as a kubectl argument.
pub(crate) fn asset(dir: &Path, file: &str) -> String {
    dir.join(file).to_str().expect("a path").to_owned()
}

/// Kratix's `Eventually(kubectl get <what...>).Should(ContainSubstring(wanted))`.
pub(crate) async fn shows(what: &[&str], wanted: &str, timeout: Duration) {
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    eventually(
        &format!("kubectl get {} to show {wanted}", what.join(" ")),
        timeout,
        || {
            let (_, text) = kubectl(&args);
            if text.contains(wanted) { Ok(()) } else { Err(text) }
        },
    )
    .await;
}
