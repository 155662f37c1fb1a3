//! The command line, as clap sees it. Handlers live in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "kubectl-kratix",
    bin_name = "kubectl kratix",
    version,
    about = "Scaffold, validate, render, inspect and debug Kratix Promise workflows",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Work with Promises on disk (offline).
    #[command(subcommand)]
    Promise(PromiseCommand),
    /// Print the version.
    Version,
}

#[derive(Subcommand, Debug)]
pub enum PromiseCommand {
    /// Check Promises as the Kratix admission webhook does, and more.
    ///
    /// Prints one line per problem: `FILE: field.path: what is wrong`. Exits 0
    /// when there are no errors, 1 when there are, 2 on a usage error.
    Validate(ValidateArgs),
    /// Print every object running a workflow creates, in apply order.
    Render(RenderArgs),
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Promise files, directories holding promise.yaml, or split-layout directories.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Args, Debug)]
pub struct RenderArgs {
    /// A Promise file, a directory holding promise.yaml, or a split-layout directory.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Which workflow: promise/configure, promise/delete, resource/configure or resource/delete.
    #[arg(long, value_name = "TYPE/ACTION")]
    pub workflow: kratix_shared::api::Workflow,
    /// The resource request a resource workflow runs for (default: a request
    /// named `example` in `default` whose spec holds the API's defaults).
    #[arg(long, value_name = "REQUEST.yaml")]
    pub resource: Option<PathBuf>,
    /// The `kratix` ConfigMap, as applied to the cluster.
    #[arg(long, value_name = "KRATIX_CONFIGMAP.yaml")]
    pub config: Option<PathBuf>,
    /// Image that runs the reader, work-writer and status-writer containers.
    #[arg(long, value_name = "IMAGE", env = "PIPELINE_ADAPTER_IMG")]
    pub pipeline_adapter_image: Option<String>,
    /// Pull secret for the pipeline adapter image.
    #[arg(long, value_name = "SECRET", env = "PIPELINE_ADAPTER_PULL_SECRET")]
    pub pipeline_adapter_pull_secret: Option<String>,
    /// Job name suffix, for reproducible output (default: random, as the agent's).
    #[arg(long, value_name = "S")]
    pub name_suffix: Option<String>,
    /// Which Promise, when the file holds several.
    #[arg(long, value_name = "NAME")]
    pub promise: Option<String>,
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Yaml, ignore_case = true)]
    pub output: OutputFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Yaml,
    Json,
}
