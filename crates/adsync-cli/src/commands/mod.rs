//! One module per subcommand: parse flags, load config, call the library, render.

pub(crate) mod apply;
mod completions;
mod dry_run;
mod explain;
mod goto;
mod groups;
mod init;
mod plan;
pub(crate) mod run;
mod status;
mod tree;
mod validate;

use std::path::PathBuf;

use crate::cli::{Cli, Command, Global};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::load::{self, Loaded};

/// Runs the chosen command.
pub(crate) async fn run(cli: Cli) -> Result<ExitStatus, Error> {
    match &cli.command {
        Command::Plan(args) => plan::run(&cli.global, args).await,
        Command::Apply(args) => apply::run(&cli.global, args).await,
        Command::DryRun(args) => dry_run::run(&cli.global, args).await,
        Command::Validate(args) => validate::run(&cli.global, args).await,
        Command::Run(args) => run::run(&cli.global, args).await,
        Command::Groups(args) => groups::run(&cli.global, args).await,
        Command::Tree(args) => tree::run(&cli.global, args).await,
        Command::Explain(args) => explain::run(&cli.global, args).await,
        Command::Status(args) => status::run(&cli.global, args),
        Command::Init(args) => init::run(&cli.global, args),
        Command::Completions(args) => completions::run(args),
        Command::Goto(args) => goto::run(&cli.global, args).await,
    }
}

/// Loads the configuration named by `--config`, `ADSYNC_CONFIG` or the default.
pub(crate) fn config(global: &Global) -> Result<Loaded, Error> {
    let path = global
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(load::DEFAULT_CONFIG));
    load::load_config(&path)
}
