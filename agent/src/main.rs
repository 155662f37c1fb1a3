//! `kratix-agent`: the in-cluster side of kubectl-kratix.
//!
//! Subcommands are added as the agent grows; today it prints the CRDs of the
//! Kratix kinds.

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
}

fn main() -> Result<()> {
    init_tracing();
    match Cli::parse().command {
        Command::Crds => print!("{}", kratix_shared::crds::to_yaml()?),
    }
    Ok(())
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
