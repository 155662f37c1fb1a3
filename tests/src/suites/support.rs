//! What the end-to-end suites use: the platform (started or reused), a
//! namespace per test, clients (admin or as a service account), images, and
//! waiting with a timeout that reports what was last seen.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ObjectMeta, PostParams};

use crate::fixtures::images::{self, ImageSpec};
use crate::platform::{self, paths, processes::is_alive, state::EnvState};

/// The environment the suites share when none is named.
pub const SUITE_ENV: &str = "tests";

/// The shared test platform, as the calling suite finds it: each suite's binary
/// knows the `testenv` tool it was built with (`CARGO_BIN_EXE_testenv`), which
/// only a suite, not this library, can name.
#[macro_export]
macro_rules! platform {
    () => {
        $crate::suites::support::Platform::get(::std::path::Path::new(env!("CARGO_BIN_EXE_testenv")))
    };
}

/// A running environment.
#[derive(Debug, Clone)]
pub struct Platform {
    pub name: String,
    pub kubeconfig: PathBuf,
}

static PLATFORM: OnceLock<Platform> = OnceLock::new();
static INSTANT_PLATFORM: OnceLock<Platform> = OnceLock::new();

/// The instant-mode environment the suites share when none is named.
pub const INSTANT_SUITE_ENV: &str = "tests-instant";

fn running(name: &str) -> Option<Platform> {
    let env = paths::env_dir(name);
    let state = EnvState::load(&env.join("state.json")).ok()?;
    state.pids.node.is_some_and(is_alive).then(|| Platform {
        name: name.to_owned(),
        kubeconfig: env.join("kubeconfig"),
    })
}

impl Platform {
    /// The running environment `name`, if it is running.
    pub fn attach(name: &str) -> Option<Platform> {
        running(name)
    }

    /// The environment named by `KRATIX_TESTENV`, or the suites' own one, started
    /// with `testenv_exe` when it is not running. Under `CI=true` a missing
    /// platform is a failure, never a silent skip.
    pub fn get(testenv_exe: &Path) -> &'static Platform {
        PLATFORM.get_or_init(|| get_or_start("KRATIX_TESTENV", SUITE_ENV, testenv_exe, &[]))
    }

    /// The instant-mode environment named by `KRATIX_TESTENV_INSTANT` (or the
    /// suites' own), started with `up_args` (such as `--host-image` mappings).
    pub fn get_instant(testenv_exe: &Path, up_args: &[&str]) -> &'static Platform {
        INSTANT_PLATFORM.get_or_init(|| {
            let mut args = vec!["--instant"];
            args.extend_from_slice(up_args);
            get_or_start("KRATIX_TESTENV_INSTANT", INSTANT_SUITE_ENV, testenv_exe, &args)
        })
    }

    /// An admin client.
    pub async fn client(&self) -> kube::Client {
        platform::kubeconfig::client(&self.kubeconfig)
            .await
            .unwrap_or_else(|e| panic!("client for {}: {e}", self.kubeconfig.display()))
    }

    /// A client acting as a service account (through impersonation, which the
    /// API server authorizes as it would that account's token).
    pub async fn client_as(&self, namespace: &str, account: &str) -> kube::Client {
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig");
        let mut config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
                .await
                .expect("config");
        config.auth_info.impersonate = Some(format!("system:serviceaccount:{namespace}:{account}"));
        kube::Client::try_from(config).expect("client")
    }

    /// A fresh namespace for one test, once its `default` service account
    /// exists (admission refuses pods that name a missing account).
    pub async fn namespace(&self, client: &kube::Client, prefix: &str) -> String {
        let name = format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap_or_else(|e| panic!("creating namespace {name}: {e}"));
        wait_for_default_service_account(client, &name).await;
        name
    }

    /// `kubectl` pointed at this environment: the one built with the control
    /// plane, at its release.
    pub fn kubectl(&self) -> Command {
        let mut command = Command::new(kubectl_binary());
        command.env("KUBECONFIG", &self.kubeconfig);
        command
    }

    /// `kubectl kratix ...` as a user runs it: kubectl finding the plugin on PATH.
    pub fn kubectl_kratix(&self) -> Command {
        let path = format!(
            "{}:{}",
            plugin_path_dir().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut command = self.kubectl();
        command.arg("kratix").env("PATH", path);
        command
    }

    /// Builds an image unless it exists already; returns its reference.
    pub fn image(&self, spec: &ImageSpec) -> String {
        let conf = platform::containers_conf().expect("containers.conf");
        let reference = images::qualified(&spec.reference);
        let exists = Command::new("podman")
            .env("CONTAINERS_CONF", &conf)
            .args(["image", "exists", &reference])
            .status()
            .is_ok_and(|s| s.success());
        if exists {
            return reference;
        }
        images::build(spec, &conf).unwrap_or_else(|e| panic!("{e}"))
    }
}

fn get_or_start(variable: &str, default: &str, testenv_exe: &Path, up_args: &[&str]) -> Platform {
    let name = std::env::var(variable).unwrap_or_else(|_| default.to_owned());
    if let Some(platform) = running(&name) {
        return platform;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "the test platform {name:?} is not running; in CI the suites run through tests/run, which starts it"
        );
    }
    eprintln!(
        "starting the test platform {name:?} (tests/testenv up --name {name} {})",
        up_args.join(" ")
    );
    let output = Command::new(testenv_exe)
        .args(["up", "--name", &name])
        .args(up_args)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", testenv_exe.display()));
    assert!(
        output.status.success(),
        "tests/testenv up --name {name} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    running(&name).unwrap_or_else(|| panic!("environment {name:?} did not stay up"))
}

/// The `kratix-agent` binary of this workspace, built first (cargo is quick
/// when it is up to date).
pub fn agent_binary() -> PathBuf {
    workspace_binary("kratix-agent", false)
}

/// A directory holding the debug build of `kubectl-kratix` (built first) and its
/// completion helper, to put on `PATH` so that kubectl finds the plugin.
pub fn plugin_path_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "kubectl-kratix"])
            .current_dir(&root)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building kubectl-kratix failed");
        let dir = std::env::temp_dir().join(format!("kubectl-kratix-plugin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("plugin dir");
        std::fs::copy(target.join("debug/kubectl-kratix"), dir.join("kubectl-kratix")).expect("copy plugin");
        // kubectl asks this helper to complete the plugin's arguments.
        std::fs::copy(
            root.join("krew/kubectl_complete-kratix"),
            dir.join("kubectl_complete-kratix"),
        )
        .expect("copy the completion helper");
        dir
    })
    .clone()
}

/// The release build of `kratix-agent`, for measurements.
pub fn agent_binary_release() -> PathBuf {
    workspace_binary("kratix-agent", true)
}

/// The release build of `kubectl-kratix`, for measurements.
pub fn plugin_binary_release() -> PathBuf {
    workspace_binary("kubectl-kratix", true)
}

/// A binary of this workspace (package and binary share the name), built first.
fn workspace_binary(name: &str, release: bool) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "-p", name]).current_dir(&root);
    if release {
        build.arg("--release");
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "building {name} failed");
    target.join(if release { "release" } else { "debug" }).join(name)
}

/// The pipeline adapter image, built from this workspace's agent once per test binary.
pub fn adapter_image() -> String {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE
        .get_or_init(|| {
            let mut spec = ImageSpec {
                reference: "kratix-agent:e2e".into(),
                binaries: vec![agent_binary()],
                user: Some(65534),
                ..Default::default()
            };
            images::add_git_tools(&mut spec).unwrap_or_else(|e| panic!("{e}"));
            let conf = platform::containers_conf().expect("containers.conf");
            images::build(&spec, &conf).unwrap_or_else(|e| panic!("{e}"))
        })
        .clone()
}

/// Installs the Kratix CRDs (Promise, Work, ...) unless they are there.
pub async fn install_kratix_crds(client: &kube::Client) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in kratix_shared::install::crds::all() {
        match api.create(&PostParams::default(), &crd).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(error) => panic!("installing {:?}: {error}", crd.metadata.name),
        }
    }
    for crd in kratix_shared::install::crds::all() {
        wait_established(client, &crd.metadata.name.unwrap_or_default()).await;
    }
}

/// Waits until Job `name` has condition `condition` True (`Complete`, `Failed`,
/// `Suspended`) and returns it.
pub async fn job_condition(
    api: &Api<k8s_openapi::api::batch::v1::Job>,
    name: &str,
    condition: &str,
    timeout: Duration,
) -> k8s_openapi::api::batch::v1::Job {
    wait_for(&format!("job {name} {condition}"), timeout, || async {
        let job = api.get(name).await.map_err(|e| e.to_string())?;
        let conditions = job
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default();
        if conditions
            .iter()
            .any(|c| c.type_ == condition && c.status == "True")
        {
            Ok(job)
        } else {
            Err(format!("{:?}", job.status))
        }
    })
    .await
}

/// Polls `check` until it returns `Ok`, or panics after `timeout` with the
/// last thing it saw.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(seen) if Instant::now() > deadline => {
                panic!("timed out after {timeout:?} waiting for {what}; last seen: {seen}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// The `kubectl` built with the control plane.
pub fn kubectl_binary() -> PathBuf {
    platform::control_plane::kubectl()
}

/// Where instant mode's host processes find kubectl: a copy of the control
/// plane's, outside `/root` (which the pods' non-root users cannot enter).
/// tests/run makes the same copy.
pub const HOST_KUBECTL: &str = "/tmp/kubectl-kratix-testenv/kubectl";

/// [`HOST_KUBECTL`], copied from the control plane's kubectl when missing.
pub fn host_kubectl() -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let target = PathBuf::from(HOST_KUBECTL);
    let source = kubectl_binary();
    let same = |a: &Path, b: &Path| {
        std::fs::metadata(a).ok().map(|m| m.len()) == std::fs::metadata(b).ok().map(|m| m.len())
    };
    if !same(&source, &target) {
        let dir = target.parent().expect("a folder");
        std::fs::create_dir_all(dir).expect("the host kubectl folder");
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("permissions");
        let partial = target.with_extension("partial");
        std::fs::copy(&source, &partial).unwrap_or_else(|e| panic!("copying {}: {e}", source.display()));
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755)).expect("permissions");
        std::fs::rename(&partial, &target).expect("the host kubectl");
    }
    target
}

/// Waits (30 s at most) until namespace `namespace` has its `default` service account.
pub async fn wait_for_default_service_account(client: &kube::Client, namespace: &str) {
    let accounts: Api<k8s_openapi::api::core::v1::ServiceAccount> =
        Api::namespaced(client.clone(), namespace);
    wait_for(
        &format!("the default service account of {namespace}"),
        Duration::from_secs(30),
        || async {
            match accounts.get_opt("default").await {
                Ok(Some(_)) => Ok(()),
                Ok(None) => Err("not yet".to_owned()),
                Err(error) => Err(error.to_string()),
            }
        },
    )
    .await;
}

/// Creates namespace `name` unless it exists.
pub async fn ensure_namespace(client: &kube::Client, name: &str) -> Result<(), kube::Error> {
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    match Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(error) => Err(error),
    }
}

/// Waits (30 s at most) until CustomResourceDefinition `name` is Established.
pub async fn wait_established(client: &kube::Client, name: &str) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    wait_for(
        &format!("{name} to be Established"),
        Duration::from_secs(30),
        || async {
            let crd = api.get(name).await.map_err(|e| e.to_string())?;
            let established = crd
                .status
                .and_then(|s| s.conditions)
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Established" && c.status == "True"));
            if established {
                Ok(())
            } else {
                Err("not yet".to_owned())
            }
        },
    )
    .await;
}
