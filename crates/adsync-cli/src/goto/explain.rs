//! `adsync explain <e-mail | object id>` for a GoTo account: which rules select the person and
//! what they ask for, the GoTo user as it is, and what the plan does to it and why.

use std::fmt::Write as _;

use adsync_core::goto::{GotoDesired, GotoTargetConfig, GotoWant};
use adsync_goto::model::normalize_email;
use adsync_goto::planner::{GotoPlan, Planned, Unresolved};
use adsync_goto::{GotoSnapshot, GotoUser};
use serde::Serialize;

use super::render;
use crate::cli::{ExplainArgs, Global};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::load::Loaded;
use crate::output;
use crate::style::{Paint, Tone};

/// Everything known about one person.
#[derive(Debug, Serialize)]
struct Explained<'a> {
    format_version: &'static str,
    target: &'static str,
    query: String,
    /// What the rules ask for, when some rule selects the person.
    wanted: Option<&'a GotoWant>,
    /// The names of the matching rules, in priority order.
    rules: Vec<&'a str>,
    /// The GoTo user, when the account has one.
    user: Option<&'a GotoUser>,
    managed: bool,
    protected: bool,
    operations: Vec<&'a Planned>,
    unresolved: Vec<&'a Unresolved>,
    /// Licences the person is left out of for want of seats.
    out_of_licences: Vec<String>,
    why: String,
}

/// `adsync explain` with a GoTo target.
pub(crate) async fn explain(
    global: &Global,
    args: &ExplainArgs,
    loaded: &Loaded,
    config: &GotoTargetConfig,
) -> Result<ExitStatus, Error> {
    let target = super::target(loaded, config)?;
    let (plan, account, wanted) = super::read_all(loaded, &target).await?;
    let managed = super::read_managed(loaded)?;
    let query = args.user.trim().to_owned();
    let email = normalize_email(&query);
    let want = wanted
        .users
        .iter()
        .find(|w| w.email.as_str() == email || w.object_id.eq_ignore_ascii_case(&query));
    let email = want.map_or(email, |w| w.email.as_str().to_owned());
    let protected = loaded
        .config
        .sync
        .protected
        .iter()
        .any(|p| normalize_email(p) == email);
    let mut explained = Explained {
        format_version: output::FORMAT_VERSION,
        target: "goto",
        query,
        wanted: want,
        rules: want.map_or_else(Vec::new, |w| rule_names(&wanted, w)),
        user: account.users.iter().find(|u| u.email == email),
        managed: managed.contains(&email) || plan.managed.contains(&email),
        protected,
        operations: plan
            .operations
            .iter()
            .filter(|p| p.operation.email() == email)
            .collect(),
        unresolved: plan
            .unresolved
            .iter()
            .filter(|u| u.email == email)
            .collect(),
        out_of_licences: shortages(&plan, &email),
        why: String::new(),
    };
    explained.why = why(&explained);
    if explained.wanted.is_none() && explained.user.is_none() {
        return Err(Error::Usage {
            message: format!(
                "no rule selects `{}` and the goto account has no such user",
                explained.query
            ),
            hint: "give an e-mail or a directory object id; `adsync tree` lists the account"
                .to_owned(),
        });
    }
    if args.json {
        output::stdout(&output::json(&explained))?;
    } else {
        output::stdout(&human(&explained, &account, Paint::stdout(global)))?;
    }
    Ok(ExitStatus::Success)
}

fn rule_names<'a>(wanted: &'a GotoDesired, want: &GotoWant) -> Vec<&'a str> {
    want.rules
        .iter()
        .filter_map(|&i| wanted.rules.get(i).map(String::as_str))
        .collect()
}

fn shortages(plan: &GotoPlan, email: &str) -> Vec<String> {
    plan.shortages
        .iter()
        .filter(|(_, short)| short.users.iter().any(|u| u == email))
        .map(|(key, short)| {
            let products: Vec<&str> = short.products.iter().map(|p| p.as_str()).collect();
            format!(
                "licence {key} ({}): {} free, {} wanted",
                products.join(", "),
                short.free,
                short.wanted
            )
        })
        .collect()
}

/// The one-sentence reason for what the plan does.
fn why(explained: &Explained<'_>) -> String {
    let changes = !explained.operations.is_empty();
    match (explained.wanted, explained.user) {
        _ if explained.protected => {
            "the e-mail is protected (sync.protected): adsync leaves the user as it is".to_owned()
        }
        (Some(_), None) if changes => "selected by the rules and not in the account: added".into(),
        (Some(_), None) => "selected by the rules, but nothing of it can be given".into(),
        (Some(_), Some(_)) if changes => "selected by the rules; the account differs".into(),
        (Some(_), Some(_)) => "selected by the rules and already as they ask".into(),
        (None, Some(_)) if changes => {
            "no rule selects the user any more and adsync manages it: suspended by removing \
             every product (never deleted)"
                .into()
        }
        (None, Some(_)) if explained.managed => {
            "no rule selects the user; adsync manages it and it holds no product".into()
        }
        (None, Some(_)) => {
            "no rule selects the user and adsync never managed it: left alone".into()
        }
        (None, None) => String::new(),
    }
}

fn human(explained: &Explained<'_>, account: &GotoSnapshot, paint: Paint) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", paint.paint(Tone::Strong, &explained.query));
    let _ = writeln!(out, "  {}", explained.why);
    if let Some(want) = explained.wanted {
        let products: Vec<&str> = want.products.iter().map(String::as_str).collect();
        let _ = writeln!(out, "  rules: {}", explained.rules.join(", "));
        let _ = writeln!(out, "  products wanted: {}", products.join(", "));
        if let Some((role, rule)) = &want.admin_role {
            let role = serde_json::to_string(role).unwrap_or_default();
            let _ = writeln!(
                out,
                "  admin role: {role} (rule {})",
                rule_name(explained, *rule)
            );
        }
        if let Some((group, rule)) = &want.user_group {
            let _ = writeln!(
                out,
                "  user group: {group} (rule {})",
                rule_name(explained, *rule)
            );
        }
    }
    if let Some(user) = explained.user {
        let products: Vec<String> = account
            .products_of(user)
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect();
        let _ = writeln!(
            out,
            "  goto user {}: {}{}",
            user.key,
            if products.is_empty() {
                "no product (suspended)".to_owned()
            } else {
                products.join(", ")
            },
            if explained.managed {
                "; managed by adsync"
            } else {
                ""
            }
        );
    }
    for planned in &explained.operations {
        let text = render::operation_text(&planned.operation, account);
        let _ = writeln!(
            out,
            "  {} #{} {text}",
            paint.paint(Tone::Change, "plan"),
            planned.id
        );
    }
    for line in &explained.out_of_licences {
        let _ = writeln!(
            out,
            "  {} {line}",
            paint.paint(Tone::Warn, "out of licences:")
        );
    }
    for unresolved in &explained.unresolved {
        let _ = writeln!(
            out,
            "  {} {} (rule {})",
            paint.paint(Tone::Warn, "not in the account:"),
            unresolved.message,
            unresolved.rule
        );
    }
    out
}

/// The name of the rule at `index` of the matching ones' full list.
fn rule_name(explained: &Explained<'_>, index: usize) -> String {
    let position = explained
        .wanted
        .and_then(|w| w.rules.iter().position(|&r| r == index));
    position
        .and_then(|p| explained.rules.get(p))
        .map_or_else(|| index.to_string(), |name| (*name).to_owned())
}
