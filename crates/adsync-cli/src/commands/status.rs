//! `adsync status`: the last run, from `last-run.json`.

use crate::cli::{Global, JsonArgs};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::load;
use crate::output;
use crate::state::LastRun;

pub(crate) fn run(global: &Global, args: &JsonArgs) -> Result<ExitStatus, Error> {
    let loaded = super::config(global)?;
    let path = loaded.state_dir().join("last-run.json");
    if !path.exists() {
        return Err(Error::Setup(format!(
            "no run recorded yet: `{}` does not exist",
            path.display()
        )));
    }
    let last: LastRun = load::read_data(&path)?;
    if args.json {
        output::stdout(&output::json(&last))?;
        return Ok(ExitStatus::Success);
    }
    let mut text = format!(
        "last run:     {} ({}), {} to {}\noutcome:      {}\n",
        last.run_id, last.command, last.started, last.finished, last.outcome
    );
    if let Some(error) = &last.error {
        text.push_str(&format!("error:        {error}\n"));
    }
    if !last.counts.is_empty() {
        let counts: Vec<String> = last
            .counts
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        text.push_str(&format!("actions:      {}\n", counts.join(", ")));
    }
    text.push_str(&format!(
        "last success: {}\n",
        last.last_success.as_deref().unwrap_or("never")
    ));
    output::stdout(&text)?;
    Ok(ExitStatus::Success)
}
