//! `tests/testenv`: the local test platform's command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kratix_tests::platform::node::host::{Bind, HostImages};
use kratix_tests::platform::{self, UpOptions, processes::is_alive};

fn parse_host_image(entry: &str) -> Result<(String, std::path::PathBuf), String> {
    HostImages::parse_entry(entry)
}

#[derive(Parser)]
#[command(
    name = "testenv",
    about = "A local Kubernetes platform for kubectl-kratix tests and demos"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start an environment and print `export KUBECONFIG=...` and the `PATH`
    /// that puts its kubectl first.
    Up {
        #[arg(long, default_value = "default")]
        name: String,
        /// Benchmarks of the controller alone: no podman; containers of the
        /// agent's image run as host processes, every other one succeeds at once.
        #[arg(long)]
        instant: bool,
        /// With --instant: run IMAGE (a trailing `*` matches any tag) as the host
        /// BINARY. Default: localhost/kratix-agent:* as the kratix-agent built
        /// beside this testenv.
        #[arg(long = "host-image", value_name = "IMAGE=BINARY", requires = "instant", value_parser = parse_host_image)]
        host_images: Vec<(String, std::path::PathBuf)>,
    },
    /// Stop everything an environment started.
    Down {
        #[arg(long, default_value = "default")]
        name: String,
        /// Also delete the environment's directory (its etcd data, pod volumes and
        /// logs), for throwaway environments such as tests/run's.
        #[arg(long)]
        forget: bool,
    },
    /// List environments and what runs in each.
    Status,
    /// Build a local image on a busybox-static base.
    Image {
        /// `NAME:TAG`; stored as `localhost/NAME:TAG`.
        reference: String,
        /// Copy this directory's files into the image's root.
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
        /// Copy this binary (and the libraries it links) into /bin; repeatable.
        #[arg(long = "binary")]
        binaries: Vec<std::path::PathBuf>,
        /// Numeric user the image runs as (default: root).
        #[arg(long)]
        user: Option<u32>,
        /// Entrypoint, as the words of a command.
        #[arg(long, num_args = 1.., value_name = "WORD")]
        entrypoint: Option<Vec<String>>,
        /// Add git and the OpenSSH client (what the agent's state-store writers run).
        #[arg(long)]
        with_git: bool,
    },
    /// Start a Git server (HTTP with basic auth, and SSH) beside an environment,
    /// with an empty repository `kratix`, and print its URL and credentials as
    /// `export` lines. `down` stops it with the environment.
    GitServer {
        #[arg(long, default_value = "default")]
        name: String,
    },
    /// Run an environment's node (started by `up`).
    #[command(hide = true)]
    Node {
        #[arg(long)]
        name: String,
    },
    /// Instant mode's container launcher (used by the node): bind the mounts
    /// in a private mount namespace, become UID:GID, exec the command.
    #[command(hide = true)]
    HostExec {
        #[arg(long, value_name = "UID:GID")]
        user: String,
        #[arg(long = "bind", num_args = 3, value_names = ["HOST", "TARGET", "ro|rw"])]
        binds: Vec<String>,
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Before any thread starts: a multi-threaded process cannot enter a mount namespace.
    if let Command::HostExec { user, binds, command } = &cli.command {
        return host_exec(user, binds, command);
    }
    init_tracing();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("testenv: starting the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("testenv: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `host-exec`: binds the mounts and execs the command; returns only on failure.
fn host_exec(user: &str, binds: &[String], command: &[String]) -> ExitCode {
    let failure = match Bind::parse_all(binds) {
        Ok(binds) => kratix_tests::platform::node::host::exec_with_binds(&binds, user, command),
        Err(error) => error,
    };
    eprintln!("testenv host-exec: {failure}");
    ExitCode::from(127)
}

/// Logs to stderr, filtered by `TESTENV_LOG`.
fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TESTENV_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,kube_client=off")),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// Runs a subcommand (all but `host-exec`) inside the runtime.
async fn run(command: Command) -> kratix_tests::error::Result<()> {
    match command {
        Command::Up {
            name,
            instant,
            host_images,
        } => up(name, instant, host_images).await,
        Command::GitServer { name } => git_server(&name),
        Command::Down { name, forget } => down(&name, forget),
        Command::Status => {
            status();
            Ok(())
        }
        Command::Node { name } => platform::run_node(&name).await,
        Command::HostExec { .. } => unreachable!("handled before the runtime starts"),
        Command::Image {
            reference,
            dir,
            binaries,
            user,
            entrypoint,
            with_git,
        } => {
            let spec = kratix_tests::fixtures::images::ImageSpec {
                reference,
                dir,
                binaries,
                user,
                entrypoint,
                ..Default::default()
            };
            image(spec, with_git)
        }
    }
}

/// `up`: starts the environment and prints the exports that use it.
async fn up(
    name: String,
    instant: bool,
    host_images: Vec<(String, std::path::PathBuf)>,
) -> kratix_tests::error::Result<()> {
    let testenv_exe = std::env::current_exe()
        .map_err(|e| kratix_tests::error::fail("finding the testenv executable", e.to_string()))?;
    let instant = instant.then(|| {
        if host_images.is_empty() {
            let agent = testenv_exe.with_file_name("kratix-agent");
            HostImages(vec![("localhost/kratix-agent:".to_owned(), agent)])
        } else {
            HostImages(host_images)
        }
    });
    let up = platform::up(&UpOptions {
        name,
        instant,
        testenv_exe,
    })
    .await?;
    eprintln!(
        "testenv: environment {:?} up in {:.1}s ({}); kube-apiserver on https://127.0.0.1:{}, node {} ({})",
        up.state.name,
        up.state.start_seconds,
        if up.state.cold {
            "cold: built Kubernetes"
        } else {
            "warm"
        },
        up.state.ports.apiserver,
        kratix_tests::platform::certs::NODE_NAME,
        platform::control_plane::versions(),
    );
    println!("export KUBECONFIG={}", up.kubeconfig.display());
    println!("export PATH={}:\"$PATH\"", up.bin.display());
    Ok(())
}

/// `git-server`: (re)starts the environment's Git server and prints its exports.
fn git_server(name: &str) -> kratix_tests::error::Result<()> {
    let dir = platform::state::EnvPaths::new(name).root.join("git-server");
    stop_git_server(&dir);
    let server = kratix_tests::fixtures::git_server::GitServer::start_in(&dir)?;
    server.create_repo("kratix")?;
    println!("export GIT_HTTP_URL={}", server.http_url("kratix"));
    println!("export GIT_REPO_DIR={}", server.repo_path("kratix").display());
    println!(
        "export GIT_USERNAME={}",
        kratix_tests::fixtures::git_server::USERNAME
    );
    println!(
        "export GIT_PASSWORD={}",
        kratix_tests::fixtures::git_server::PASSWORD
    );
    let pids = server.detach();
    std::fs::write(dir.join("pids"), format!("{} {}\n", pids[0], pids[1]))
        .map_err(|e| kratix_tests::error::fail("recording the Git server's processes", e.to_string()))
}

/// `down`: stops the environment and its Git server; with `forget`, deletes it.
fn down(name: &str, forget: bool) -> kratix_tests::error::Result<()> {
    stop_git_server(&platform::state::EnvPaths::new(name).root.join("git-server"));
    platform::down(name)?;
    if forget {
        platform::forget(name)?;
    }
    Ok(())
}

/// `status`: one line per environment, saying what runs in it.
fn status() {
    for state in platform::list() {
        println!(
            "{}: etcd {}, kube-apiserver {}, kube-controller-manager {}, kube-scheduler {}, node {}; started in {:.1}s ({}){}",
            state.name,
            running(state.pids.etcd),
            running(state.pids.apiserver),
            running(state.pids.controller_manager),
            running(state.pids.scheduler),
            running(state.pids.node),
            state.start_seconds,
            if state.cold { "cold" } else { "warm" },
            if state.instant.is_some() {
                ", instant mode"
            } else {
                ""
            }
        );
    }
}

/// How `status` shows a process: running if its pid is alive.
fn running(pid: Option<u32>) -> &'static str {
    if pid.is_some_and(is_alive) {
        "running"
    } else {
        "stopped"
    }
}

/// `image`: builds the image (with git tools when asked) and prints its reference.
fn image(
    mut spec: kratix_tests::fixtures::images::ImageSpec,
    with_git: bool,
) -> kratix_tests::error::Result<()> {
    if with_git {
        kratix_tests::fixtures::images::add_git_tools(&mut spec)?;
    }
    let built = kratix_tests::fixtures::images::build(&spec, &platform::containers_conf()?)?;
    println!("{built}");
    Ok(())
}

/// Stops the Git server `testenv git-server` left in `dir`, if any.
fn stop_git_server(dir: &std::path::Path) {
    let Ok(pids) = std::fs::read_to_string(dir.join("pids")) else {
        return;
    };
    for pid in pids.split_whitespace().filter_map(|p| p.parse::<u32>().ok()) {
        kratix_tests::platform::processes::stop_one(pid, std::time::Duration::from_secs(2));
    }
    let _ = std::fs::remove_file(dir.join("pids"));
}
