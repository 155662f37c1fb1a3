//! One module per command; `run` dispatches.

mod completion;
mod install;
mod promise_add_container;
mod promise_init;
mod promise_render;
mod promise_validate;
mod workflows_logs;
mod workflows_service_accounts;
mod workflows_status;
mod workflows_trigger;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command, PromiseCommand, WorkflowsCommand};

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Promise(PromiseCommand::Validate(args)) => promise_validate::run(&args),
        Command::Promise(PromiseCommand::Render(args)) => promise_render::run(&args),
        Command::Promise(PromiseCommand::Init(args)) => promise_init::run(&args),
        Command::Promise(PromiseCommand::AddContainer(args)) => promise_add_container::run(&args),
        Command::Workflows(WorkflowsCommand::Status(args)) => {
            crate::cluster::runtime()?.block_on(workflows_status::run(&args))
        }
        Command::Workflows(WorkflowsCommand::Trigger(args)) => {
            crate::cluster::runtime()?.block_on(workflows_trigger::run(&args))
        }
        Command::Workflows(WorkflowsCommand::Logs(args)) => {
            crate::cluster::runtime()?.block_on(workflows_logs::run(&args))
        }
        Command::Workflows(WorkflowsCommand::ServiceAccounts(args)) => {
            crate::cluster::runtime()?.block_on(workflows_service_accounts::run(&args))
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
