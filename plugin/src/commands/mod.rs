//! The commands, by group as the CLI has them (`promise`, `workflows`), with
//! install/uninstall and shell completion; `run` dispatches.

mod completion;
mod install;
mod promise;
mod workflows;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command, PromiseCommand, UpdateCommand, WorkflowsCommand};

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Promise(PromiseCommand::Validate(args)) => promise::validate::run(&args),
        Command::Promise(PromiseCommand::Render(args)) => promise::render::run(&args),
        Command::Promise(PromiseCommand::Init(args)) => promise::init::run(&args),
        Command::Promise(PromiseCommand::AddContainer(args)) => promise::add_container::run(&args),
        Command::Promise(PromiseCommand::Run(args)) => promise::run::run(&args),
        Command::Promise(PromiseCommand::Build(args)) => promise::build::run(&args),
        Command::Promise(PromiseCommand::BuildImages(args)) => promise::build_images::run(&args),
        Command::Promise(PromiseCommand::Update(UpdateCommand::Api(args))) => promise::update::api(&args),
        Command::Promise(PromiseCommand::Update(UpdateCommand::Dependencies(args))) => {
            promise::update_dependencies::run(&args)
        }
        Command::Promise(PromiseCommand::Update(UpdateCommand::DestinationSelector(args))) => {
            promise::update::destination_selector(&args)
        }
        Command::Promise(PromiseCommand::Tree(args)) => {
            crate::cluster::runtime()?.block_on(promise::tree::run(&args))
        }
        Command::Workflows(WorkflowsCommand::Status(args)) => {
            crate::cluster::runtime()?.block_on(workflows::status::run(&args))
        }
        Command::Workflows(WorkflowsCommand::Trigger(args)) => {
            crate::cluster::runtime()?.block_on(workflows::trigger::run(&args))
        }
        Command::Workflows(WorkflowsCommand::Logs(args)) => {
            crate::cluster::runtime()?.block_on(workflows::logs::run(&args))
        }
        Command::Workflows(WorkflowsCommand::ServiceAccounts(args)) => {
            crate::cluster::runtime()?.block_on(workflows::service_accounts::run(&args))
        }
        Command::Install(args) => crate::cluster::runtime()?.block_on(install::install(&args)),
        Command::Uninstall(args) => crate::cluster::runtime()?.block_on(install::uninstall(&args)),
        Command::Completion { shell } => completion::script(shell),
        Command::Complete { words } => completion::complete(&words),
        Command::Version => {
            println!("kubectl-kratix {}", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::SUCCESS)
        }
    }
}
