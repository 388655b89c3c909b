//! `adsync completions <shell>`.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::output;

pub(crate) fn run(args: &CompletionsArgs) -> Result<ExitStatus, Error> {
    let mut buffer = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "adsync", &mut buffer);
    output::stdout(&String::from_utf8_lossy(&buffer))?;
    Ok(ExitStatus::Success)
}
