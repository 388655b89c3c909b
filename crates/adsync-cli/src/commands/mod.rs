//! One module per subcommand: parse flags, load config, call the library, render.

mod apply;
mod dry_run;
mod plan;
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
        Command::Validate(args) => validate::run(&cli.global, args),
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
