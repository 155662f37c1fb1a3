//! `kratix-agent`: the in-cluster side of kubectl-kratix.
//!
//! Today it prints the CRDs of the Kratix kinds and runs the Kratix containers
//! of pipeline pods (`reader`, `work-creator`, `update-status`).

use kratix_agent::{controller, endpoints, leader, manifests, metrics, pipeline_pod, state_store};

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "kratix-agent",
    version,
    about = "Runs Kratix Promise workflows in a cluster"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the CustomResourceDefinitions of the Kratix kinds as a YAML stream.
    Crds,
    /// Print everything that installs the agent, as a YAML stream.
    Manifests {
        /// The agent's image (also the pipeline adapter image).
        #[arg(long, default_value_t = kratix_shared::render::default_adapter_image())]
        image: String,
        /// Port of /healthz, /readyz and /metrics; 0 picks a free one and drops the
        /// probes (for test platforms whose pods share the host's network).
        #[arg(long, default_value_t = manifests::HTTP_PORT)]
        http_port: u16,
    },
    /// Run the controllers (in a cluster, or against the current kubeconfig).
    Run {
        /// Image of the Kratix containers in pipeline pods.
        #[arg(long, env = "PIPELINE_ADAPTER_IMG")]
        pipeline_adapter_image: Option<String>,
        #[arg(long, env = "PIPELINE_ADAPTER_PULL_SECRET")]
        pipeline_adapter_pull_secret: Option<String>,
        /// Where /healthz, /readyz and /metrics are served.
        #[arg(long, env = "KRATIX_AGENT_METRICS_ADDRESS", default_value = "0.0.0.0:8080")]
        metrics_address: std::net::SocketAddr,
        /// Run the controllers only while holding the leader Lease, so that
        /// several replicas are safe. Off for a single agent run by hand.
        #[arg(long, env = "KRATIX_AGENT_LEADER_ELECT", default_value_t = true, action = clap::ArgAction::Set)]
        leader_elect: bool,
        /// The leader Lease's name.
        #[arg(long, env = "KRATIX_AGENT_LEADER_ELECT_LEASE", default_value = manifests::NAME, value_parser = object_name)]
        leader_elect_lease: String,
        /// The leader Lease's namespace (default: the agent's own, else
        /// kratix-platform-system).
        #[arg(long, env = "KRATIX_AGENT_LEADER_ELECT_NAMESPACE", value_parser = namespace_name)]
        leader_elect_namespace: Option<String>,
        /// Where the state-store writers keep their Git clones (rebuilt on start).
        #[arg(long, env = "KRATIX_AGENT_STATE_DIR", default_value_os_t = std::env::temp_dir().join("kratix-agent"))]
        state_dir: PathBuf,
    },
    /// Pipeline pod: write the workflow's object to /kratix/input/object.yaml.
    Reader {
        #[arg(long, default_value = "/kratix/input", hide = true)]
        input_directory: PathBuf,
    },
    /// Pipeline pod: turn /kratix/output into this pipeline's Work.
    WorkCreator(pipeline_pod::work_creator::WorkCreatorArgs),
    /// Pipeline pod: write status.yaml and workflow control into the object's status.
    UpdateStatus {
        #[arg(long, default_value = "/work-creator-files/metadata", hide = true)]
        metadata_directory: PathBuf,
    },
}

fn main() -> Result<()> {
    init_tracing();
    // kube's TLS and the bucket client's both use rustls; with two providers
    // compiled in, one must be chosen before the first connection.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    match &cli.command {
        Command::Crds => {
            print!("{}", kratix_shared::install::crds::to_yaml()?);
            return Ok(());
        }
        Command::Manifests { image, http_port } => {
            print!(
                "{}",
                kratix_shared::codec::yaml::to_yaml_stream(&manifests::objects(image, *http_port))?
            );
            return Ok(());
        }
        _ => {}
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match cli.command {
            Command::Crds | Command::Manifests { .. } => Ok(()),
            Command::Run {
                pipeline_adapter_image,
                pipeline_adapter_pull_secret,
                metrics_address,
                leader_elect,
                leader_elect_lease,
                leader_elect_namespace,
                state_dir,
            } => {
                run_controllers(RunOptions {
                    image: pipeline_adapter_image,
                    pull_secret: pipeline_adapter_pull_secret,
                    metrics_address,
                    leader_elect,
                    leader_elect_lease,
                    leader_elect_namespace,
                    state_dir,
                })
                .await
            }
            Command::Reader { input_directory } => pipeline_pod::reader::run(&input_directory).await,
            Command::WorkCreator(args) => pipeline_pod::work_creator::run(&args).await,
            Command::UpdateStatus { metadata_directory } => {
                pipeline_pod::update_status::run(&metadata_directory).await
            }
        }
    })
}

/// A client whose every request is counted in the metrics.
async fn counting_client(metrics: std::sync::Arc<metrics::Metrics>) -> Result<kube::Client> {
    use anyhow::Context as _;
    let config = kube::Config::infer()
        .await
        .context("finding the Kubernetes API (in-cluster, or KUBECONFIG)")?;
    let count = tower::util::MapRequestLayer::new(move |request: http::Request<kube::client::Body>| {
        metrics.api_request(request.method().as_str());
        request
    });
    Ok(kube::client::ClientBuilder::try_from(config)
        .context("configuring the Kubernetes client")?
        .with_layer(&count)
        .build())
}

/// A Lease name, refused at start rather than by every renewal.
fn object_name(value: &str) -> Result<String, String> {
    match kratix_shared::validate::names::dns_subdomain_problem(value) {
        None => Ok(value.to_owned()),
        Some(problem) => Err(format!("a Lease name {problem}")),
    }
}

fn namespace_name(value: &str) -> Result<String, String> {
    match kratix_shared::validate::names::dns_label_problem(value) {
        None => Ok(value.to_owned()),
        Some(problem) => Err(format!("a namespace name {problem}")),
    }
}

struct RunOptions {
    image: Option<String>,
    pull_secret: Option<String>,
    metrics_address: std::net::SocketAddr,
    leader_elect: bool,
    leader_elect_lease: String,
    leader_elect_namespace: Option<String>,
    state_dir: PathBuf,
}

async fn run_controllers(options: RunOptions) -> Result<()> {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    use anyhow::Context as _;
    let metrics = Arc::new(metrics::Metrics::default());
    let health = Arc::new(endpoints::Health {
        metrics: metrics.clone(),
        ready: Default::default(),
    });
    endpoints::serve(options.metrics_address, health.clone()).await?;
    let client = counting_client(metrics.clone()).await?;
    let config = controller::config_watch::load(&client)
        .await
        .map_err(anyhow::Error::msg)?;
    health.ready.store(true, Ordering::Relaxed);
    let adapter = kratix_shared::render::AdapterImage {
        image: options
            .image
            .clone()
            .filter(|i| !i.is_empty())
            .unwrap_or_else(kratix_shared::render::default_adapter_image),
        pull_secret: options.pull_secret.clone().filter(|s| !s.is_empty()),
    };
    let identity = own_identity();
    let pod = pod_name();
    let elector = elector(&options, &client, identity.as_ref(), &pod);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listening for SIGTERM")?;
    if let Some(elector) = &elector {
        tracing::info!(identity = %elector.identity(), "waiting to lead");
        tokio::select! {
            () = elector.acquire() => {}
            _ = terminate.recv() => return Ok(()),
        }
        metrics.leader.set(1);
    }
    tracing::info!(image = %adapter.image, "kratix-agent controllers starting");
    let client_for_stores = client.clone();
    let agent = Arc::new(controller::base::context::Agent {
        recorders: controller::base::context::Recorders::new(&client, &pod),
        client,
        config: std::sync::RwLock::new(config.map(Arc::new)),
        adapter,
        identity,
        metrics,
        applied: Default::default(),
        stale_rbac: Default::default(),
        promises: Default::default(),
        resource_controllers: Default::default(),
        state_stores: state_store::StateStores::new(client_for_stores, options.state_dir),
        retries: Default::default(),
        promise_policy_changed: tokio::sync::watch::Sender::new(()),
    });
    let lost = async {
        match &elector {
            Some(elector) => elector.keep().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = controller::run(agent) => Ok(()),
        reason = lost => {
            // Stop at once, before a standby may act: no task of the runtime
            // gets to finish first.
            tracing::error!("lost the leader lease: {reason}; exiting so a restart stands by");
            std::process::exit(1)
        }
        _ = terminate.recv() => {
            if let Some(elector) = &elector {
                elector.release().await;
            }
            tracing::info!("SIGTERM: stopped");
            Ok(())
        }
    }
}

/// The leader elector, when leader election is on: its lease lives in the
/// given namespace, else the agent's own, else Kratix's system namespace.
fn elector(
    options: &RunOptions,
    client: &kube::Client,
    identity: Option<&(String, String)>,
    pod: &str,
) -> Option<leader::Elector> {
    options.leader_elect.then(|| {
        let namespace = options.leader_elect_namespace.clone().unwrap_or_else(|| {
            identity
                .map_or(kratix_shared::api::labels::SYSTEM_NAMESPACE, |(n, _)| n.as_str())
                .to_owned()
        });
        leader::Elector::new(
            client.clone(),
            &namespace,
            &options.leader_elect_lease,
            pod.to_owned(),
        )
    })
}

/// The agent's namespace and service account, as its Deployment tells it;
/// `None` when run by hand.
fn own_identity() -> Option<(String, String)> {
    match (
        std::env::var(manifests::NAMESPACE_ENV),
        std::env::var(manifests::SERVICE_ACCOUNT_ENV),
    ) {
        (Ok(namespace), Ok(account)) if !namespace.is_empty() && !account.is_empty() => {
            Some((namespace, account))
        }
        _ => None,
    }
}

/// The pod the agent runs in (its Events' instance and its lease identity),
/// or a made-up name when run by hand.
fn pod_name() -> String {
    std::env::var("POD_NAME")
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| {
            format!(
                "{}-{}",
                manifests::NAME,
                kratix_shared::api::naming::random_suffix()
            )
        })
}

/// Logs go to stderr; `KRATIX_AGENT_LOG` (or `RUST_LOG`) sets the filter.
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("KRATIX_AGENT_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    use std::io::IsTerminal as _;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours only for a person at a terminal, not in pod logs.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

#[cfg(test)]
mod tests {
    /// The committed CRDs are what the code generates. Regenerate with
    /// `cargo run -p kratix-agent -- crds > agent/manifests/crds.yaml`.
    #[test]
    fn committed_crds_match_the_generated_ones() {
        let committed = include_str!("../manifests/crds.yaml");
        let generated = kratix_shared::install::crds::to_yaml().expect("CRDs encode");
        assert!(
            committed == generated,
            "agent/manifests/crds.yaml is stale: run `cargo run -p kratix-agent -- crds > agent/manifests/crds.yaml`"
        );
    }
}
