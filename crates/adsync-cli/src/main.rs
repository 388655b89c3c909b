//! `adsync`: keeps a LogMeIn Rescue organization in line with Microsoft Entra ID groups.
//!
//! This binary is glue: it parses flags, reads files and secrets, builds the adapters, calls
//! adsync-core, renders results and decides the exit status. No sync rule lives here.

mod activity;
mod bounded;
mod cli;
mod clock;
mod commands;
mod error;
mod exit;
mod goto;
mod listen;
mod load;
mod output;
mod progress;
mod render;
mod saved;
mod sheet;
mod state;
mod style;
mod suggest;
mod wiring;
mod workbook;
mod workbook_tree;
mod yaml_error;

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
    let json = cli.command.json();
    let paint = style::Paint::stderr(&cli.global);
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
            // A script asked for JSON gets one document on failure too; people read stderr.
            if json {
                let _ = output::stdout(&output::json(&output::error_document(&error)));
            }
            output::note(false, error::render(&error, paint).trim_end());
            ExitStatus::Error.into()
        }
    }
}

fn init_logging(global: &cli::Global) {
    use tracing_subscriber::EnvFilter;

    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(log_filter(global.quiet, global.verbose)));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(output::RedactedStderr)
        .with_ansi(style::Paint::stderr(global).is_on())
        .with_target(global.verbose >= 3)
        .try_init();
}

/// What each `-v` shows: warnings by default; adsync's own progress (`info`) with `-v`;
/// adsync's requests (`debug`) with `-vv`; every crate's debug lines (connection pools and the
/// like) only with `-vvv`.
fn log_filter(quiet: bool, verbose: u8) -> &'static str {
    match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "warn,adsync=info,adsync_core=info,adsync_graph=info,adsync_rescue=info",
        (false, 2) => "warn,adsync=debug,adsync_core=debug,adsync_graph=debug,adsync_rescue=debug",
        (false, _) => "debug",
    }
}
