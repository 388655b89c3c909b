//! `adsync explain <e-mail | object id>`: why the plan does what it does to one person.

use std::fmt::Write as _;

use crate::cli::{ExplainArgs, Global};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::output;
use crate::render;

pub(crate) async fn run(global: &Global, args: &ExplainArgs) -> Result<ExitStatus, Error> {
    let loaded = super::config(global)?;
    let target = crate::wiring::target(&loaded)?;
    let plan = super::plan::make_plan(global, args.json, &loaded, target.as_target()).await?;
    let wanted = args.user.trim().to_lowercase();
    let entries: Vec<_> = plan
        .users
        .iter()
        .filter(|u| {
            u.email.as_str() == wanted
                || u.object_id
                    .as_deref()
                    .is_some_and(|id| id.eq_ignore_ascii_case(&wanted))
        })
        .collect();
    if entries.is_empty() {
        return Err(Error::Setup(format!(
            "`{}` is not in scope: no paired group holds them and no managed Rescue node has that e-mail",
            args.user
        )));
    }
    let actions: Vec<_> = plan
        .actions
        .iter()
        .filter(|a| {
            entries
                .iter()
                .any(|e| e.actions.iter().any(|id| id == a.id()))
        })
        .collect();
    if args.json {
        output::stdout(&output::json(&serde_json::json!({
            "format_version": "1.0",
            "users": entries,
            "actions": actions,
            "blocked": plan.blocked,
        })))?;
        return Ok(ExitStatus::Success);
    }
    let mut out = String::new();
    for entry in &entries {
        let _ = writeln!(out, "{} ({} plane)", entry.email, entry.plane.as_str());
        if let Some(name) = &entry.display_name {
            let _ = writeln!(
                out,
                "  directory:  {name}{}",
                entry
                    .object_id
                    .as_deref()
                    .map(|id| format!(" ({id})"))
                    .unwrap_or_default()
            );
        }
        match (&entry.pairing, entry.role) {
            (Some(pairing), Some(role)) => {
                let _ = writeln!(
                    out,
                    "  wanted as:  {} by pairing `{pairing}`",
                    role.as_str()
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "  wanted as:  nothing (no paired group of this plane holds them)"
                );
            }
        }
        if !entry.losing_pairings.is_empty() {
            let _ = writeln!(
                out,
                "  also in:    {} (lower priority)",
                entry.losing_pairings.join(", ")
            );
        }
        match entry.node_id {
            Some(node) => {
                let _ = writeln!(
                    out,
                    "  in Rescue:  node {node}, {} in {}, {}",
                    entry.current_role.map_or("user", |r| r.as_str()),
                    entry
                        .current_group
                        .as_ref()
                        .map_or("?", |g| if g.is_root() {
                            "the container"
                        } else {
                            g.as_str()
                        }),
                    entry.current_status.map_or("?", |s| s.as_str()),
                );
            }
            None => {
                let _ = writeln!(out, "  in Rescue:  no node yet");
            }
        }
        if let Some(note) = &entry.note {
            let _ = writeln!(out, "  held back:  {note}");
        }
        let mine: Vec<_> = actions
            .iter()
            .filter(|a| entry.actions.iter().any(|id| id == a.id()))
            .collect();
        if mine.is_empty() {
            let _ = writeln!(out, "  plan:       nothing to do");
        } else {
            for action in mine {
                let _ = writeln!(out, "  plan:       {}", render::action_line(action));
                let _ = writeln!(out, "              because: {}", action.reason());
            }
        }
    }
    if let Some(blocked) = &plan.blocked {
        let _ = writeln!(
            out,
            "\nthe plan is blocked, so apply would refuse it: {}",
            blocked.reason
        );
    }
    output::stdout(&out)?;
    Ok(ExitStatus::Success)
}
