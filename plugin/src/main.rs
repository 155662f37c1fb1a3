//! `kubectl kratix`: scaffold, validate, render, inspect and debug Kratix Promise workflows.

mod cli;
mod cluster;
mod commands;
mod display;
mod preferences;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    init_tracing();
    // With both rustls providers compiled in (a workspace build unifies the
    // agent's aws-lc-rs with kube's ring), rustls cannot pick: choose ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}

/// Logs go to stderr; `KUBECTL_KRATIX_LOG` (or `RUST_LOG`) sets the filter.
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("KUBECTL_KRATIX_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
