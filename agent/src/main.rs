//! `kratix-agent`: the in-cluster side of kubectl-kratix.
//!
//! Today it prints the CRDs of the Kratix kinds and runs the Kratix containers
//! of pipeline pods (`reader`, `work-creator`, `update-status`).

mod pipeline_pod;

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
    let cli = Cli::parse();
    if let Command::Crds = cli.command {
        print!("{}", kratix_shared::crds::to_yaml()?);
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match cli.command {
            Command::Crds => Ok(()),
            Command::Reader { input_directory } => pipeline_pod::reader::run(&input_directory).await,
            Command::WorkCreator(args) => pipeline_pod::work_creator::run(&args).await,
            Command::UpdateStatus { metadata_directory } => {
                pipeline_pod::update_status::run(&metadata_directory).await
            }
        }
    })
}

/// Logs go to stderr; `KRATIX_AGENT_LOG` (or `RUST_LOG`) sets the filter.
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("KRATIX_AGENT_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
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
        let generated = kratix_shared::crds::to_yaml().expect("CRDs encode");
        assert!(
            committed == generated,
            "agent/manifests/crds.yaml is stale: run `cargo run -p kratix-agent -- crds > agent/manifests/crds.yaml`"
        );
    }
}
