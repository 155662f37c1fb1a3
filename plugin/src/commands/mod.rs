//! One module per command; `run` dispatches.

mod promise_render;
mod promise_validate;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command, PromiseCommand};

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Promise(PromiseCommand::Validate(args)) => promise_validate::run(&args),
        Command::Promise(PromiseCommand::Render(args)) => promise_render::run(&args),
        Command::Version => {
            println!("kubectl-kratix {}", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::SUCCESS)
        }
    }
}
