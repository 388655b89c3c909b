//! `adsync`: keeps a LogMeIn Rescue organization in line with Microsoft Entra ID groups.
//!
//! This binary is glue: it parses flags, reads files and secrets, builds the adapters, calls
//! adsync-core, renders results and decides the exit status. No sync rule lives here.

mod activity;
mod cli;
mod clock;
mod commands;
mod error;
mod exit;
mod listen;
mod load;
mod output;
mod progress;
mod render;
mod state;
mod wiring;
mod workbook;

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use crate::cli::Cli;
use crate::error::Error;
use crate::exit::ExitStatus;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            // clap's own code for usage errors is 2, which means "changes pending" here.
            return match error.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitStatus::Success,
                _ => ExitStatus::Error,
            }
            .into();
        }
    };
    init_logging(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            output::note(
                false,
                &format!("error: cannot start the async runtime: {error}"),
            );
            return ExitStatus::Error.into();
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(status) => status.into(),
        Err(Error::BrokenPipe) => ExitStatus::Success.into(),
        Err(error) => {
            output::note(false, error::render(&error).trim_end());
            ExitStatus::Error.into()
        }
    }
}

fn init_logging(global: &cli::Global) {
    use tracing_subscriber::EnvFilter;

    let default = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = match global.color {
        cli::Color::Always => true,
        cli::Color::Never => false,
        cli::Color::Auto => {
            std::env::var_os("NO_COLOR").is_none()
                && std::io::IsTerminal::is_terminal(&std::io::stderr())
        }
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}
