//! `adsync status`: the last run, from `last-run.json`.

use crate::cli::{Global, JsonArgs};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::load;
use crate::output;
use crate::state::LastRun;
use crate::style::{Paint, Tone};

pub(crate) fn run(global: &Global, args: &JsonArgs) -> Result<ExitStatus, Error> {
    let loaded = super::config(global)?;
    let path = loaded.state_dir().join("last-run.json");
    if !path.exists() {
        let error = Error::Usage {
            message: format!("no run recorded yet: `{}` does not exist", path.display()),
            hint: "`adsync apply` or `adsync run` records each run there".to_owned(),
        };
        // Monitors read the JSON: "never ran" is a document of its own, not silence.
        if args.json {
            output::stdout(&output::json(&serde_json::json!({
                "format_version": output::FORMAT_VERSION,
                "recorded": false,
                "outcome": null,
                "last_success": null,
                "last_run": path.display().to_string(),
            })))?;
            output::note(
                false,
                crate::error::render(&error, Paint::stderr(global)).trim_end(),
            );
            return Ok(ExitStatus::Error);
        }
        return Err(error);
    }
    let last: LastRun = load::read_data(&path)?;
    let reads = crate::incremental::reads(&loaded.state_dir());
    let details = crate::incremental::detail_reads(&loaded.state_dir());
    if args.json {
        let mut document = serde_json::json!({
            "format_version": output::FORMAT_VERSION,
            "recorded": true,
        });
        if let (Some(document), serde_json::Value::Object(record)) =
            (document.as_object_mut(), serde_json::json!(last))
        {
            document.extend(record);
            document
                .entry("last_success")
                .or_insert(serde_json::Value::Null);
            if let Some((full_read_at, last_reads)) = &details {
                document.insert(
                    "detail_reads".to_owned(),
                    serde_json::json!({
                        "last_full_read": full_read_at,
                        "last_reads": last_reads,
                    }),
                );
            }
            if let Some((full_read_at, last_read)) = &reads {
                document.insert(
                    "directory_reads".to_owned(),
                    serde_json::json!({
                        "last_full_read": full_read_at,
                        "last_read": last_read,
                    }),
                );
            }
        }
        output::stdout(&output::json(&document))?;
        return Ok(ExitStatus::Success);
    }
    let paint = Paint::stdout(global);
    let tone = match last.outcome.as_str() {
        "success" => Tone::Add,
        "incomplete" | "refused" => Tone::Warn,
        _ => Tone::Remove,
    };
    let mut text = format!(
        "last run:     {} ({}{}), {} to {}\noutcome:      {}\n",
        last.run_id,
        last.command,
        if last.dry_run {
            ", changed nothing"
        } else {
            ""
        },
        last.started,
        last.finished,
        paint.paint(tone, &last.outcome)
    );
    if let Some(error) = &last.error {
        text.push_str(&format!("error:        {error}\n"));
    }
    if !last.counts.is_empty() {
        // Planned first, then what became of it.
        let order = ["planned", "applied", "failed", "skipped", "drifted"];
        let rank = |key: &str| order.iter().position(|k| *k == key).unwrap_or(order.len());
        let mut counts: Vec<(&String, &u64)> = last.counts.iter().collect();
        counts.sort_by_key(|(key, _)| rank(key));
        let counts: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
        text.push_str(&format!("actions:      {}\n", counts.join(", ")));
    }
    text.push_str(&format!(
        "last success: {}\n",
        last.last_success.as_deref().unwrap_or("never")
    ));
    if let Some((full_read_at, last_read)) = &reads {
        text.push_str(&crate::render::directory_reads(full_read_at, last_read));
    }
    if let Some((full_read_at, last_reads)) = &details {
        text.push_str(&crate::render::detail_reads(full_read_at, last_reads));
    }
    output::stdout(&text)?;
    Ok(ExitStatus::Success)
}
