//! Human renderings of core data. Wording lives here, not in core.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use adsync_core::config::SourceConfig;
use adsync_core::model::{Container, GroupPath, Role};
use adsync_core::plan::{Action, ActionKind, MappedValue, Plan, Summary, Warning, WarningKind};

use crate::style::{Paint, Tone};

/// The directory a source reads, as messages name it: `Entra ID` or `Active Directory` (a
/// snapshot file stands for Entra ID).
pub(crate) fn directory_name(source: &SourceConfig) -> &'static str {
    match source {
        SourceConfig::Ldap(_) => "Active Directory",
        SourceConfig::Graph(_) | SourceConfig::Snapshot(_) => "Entra ID",
    }
}

/// The directory's groups as messages name them, before `group`: `Entra` or `Active
/// Directory`.
pub(crate) fn group_kind(source: &SourceConfig) -> &'static str {
    match source {
        SourceConfig::Ldap(_) => "Active Directory",
        SourceConfig::Graph(_) | SourceConfig::Snapshot(_) => "Entra",
    }
}

/// How `plan` lists its actions.
#[derive(Clone, Debug, Default)]
pub(crate) struct Listing {
    /// The actions to list, by index into the plan's actions; `None`: all of them.
    pub(crate) shown: Option<Vec<usize>>,
    /// What the filter was, for the "showing" line (`--only disable`).
    pub(crate) filter: String,
    /// Counts per kind and group instead of one line per action.
    pub(crate) compact: bool,
    /// The terminal's width; `None` when stdout is not a terminal (lines are never wrapped).
    pub(crate) width: Option<usize>,
}

/// The plan as a diff-like listing, one line per action, then the summary line.
pub(crate) fn plan_human(plan: &Plan, paint: Paint, listing: &Listing) -> String {
    let shown: Vec<&Action> = match &listing.shown {
        Some(indices) => indices
            .iter()
            .filter_map(|&at| plan.actions.get(at))
            .collect(),
        None => plan.actions.iter().collect(),
    };
    let mut out = String::new();
    if listing.compact {
        out.push_str(&compact(plan, &shown, paint));
    } else {
        for action in &shown {
            out.push_str(&action_block(action, paint, listing.width));
        }
    }
    if !shown.is_empty() {
        out.push('\n');
    }
    if listing.shown.is_some() {
        let _ = writeln!(
            out,
            "showing {} of {} {} ({})",
            shown.len(),
            plan.actions.len(),
            if plan.actions.len() == 1 {
                "change"
            } else {
                "changes"
            },
            listing.filter
        );
    }
    out.push_str(&paint.paint(Tone::Strong, &summary_line(&plan.summary)));
    out.push('\n');
    if let Some(blocked) = &plan.blocked {
        let _ = writeln!(
            out,
            "\n{} {}",
            paint.paint(Tone::Remove, "blocked:"),
            blocked.reason
        );
    }
    out
}

/// `3 to create, 1 to move, 2 to update, 1 to disable, 40 unchanged`.
pub(crate) fn summary_line(summary: &Summary) -> String {
    let mut parts: Vec<String> = summary_counts(summary)
        .into_iter()
        .map(|(phrase, count)| format!("{count} {phrase}"))
        .collect();
    if parts.is_empty() {
        return format!("no changes, {} unchanged", summary.unchanged);
    }
    parts.push(format!("{} unchanged", summary.unchanged));
    parts.join(", ")
}

/// The plan's non-zero counts in phase order, each with its phrase for that count
/// (`1 add-on change`, `2 add-on changes`): the summary line and the service page say the same.
pub(crate) fn summary_counts(summary: &Summary) -> Vec<(&'static str, u64)> {
    ActionKind::ALL
        .into_iter()
        .map(|kind| (kind, count_of(summary, kind)))
        .filter(|(_, count)| *count > 0)
        .map(|(kind, count)| (count_phrase(kind, count), count))
        .collect()
}

/// The summary's count of `kind`.
pub(crate) fn count_of(summary: &Summary, kind: ActionKind) -> u64 {
    match kind {
        ActionKind::CreateGroup => summary.create_group,
        ActionKind::CreateUser => summary.create_user,
        ActionKind::MoveUser => summary.move_user,
        ActionKind::UpdateUser => summary.update_user,
        ActionKind::EnableUser => summary.enable_user,
        ActionKind::SetMobileLicense => summary.set_mobile_license,
        ActionKind::DisableUser => summary.disable_user,
    }
}

fn count_phrase(kind: ActionKind, count: u64) -> &'static str {
    match (kind, count) {
        (ActionKind::CreateGroup, 1) => "group to create",
        (ActionKind::CreateGroup, _) => "groups to create",
        (ActionKind::CreateUser, _) => "to create",
        (ActionKind::MoveUser, _) => "to move",
        (ActionKind::UpdateUser, _) => "to update",
        (ActionKind::EnableUser, _) => "to enable",
        (ActionKind::SetMobileLicense, 1) => "add-on change",
        (ActionKind::SetMobileLicense, _) => "add-on changes",
        (ActionKind::DisableUser, _) => "to disable",
    }
}

/// An action kind for people: `create user`, `mobile add-on`.
pub(crate) fn kind_label(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::CreateGroup => "create group",
        ActionKind::CreateUser => "create user",
        ActionKind::MoveUser => "move user",
        ActionKind::UpdateUser => "update user",
        ActionKind::EnableUser => "enable user",
        ActionKind::SetMobileLicense => "mobile add-on",
        ActionKind::DisableUser => "disable user",
    }
}

/// A role for people.
pub(crate) fn role_name(role: Option<Role>) -> &'static str {
    match role {
        Some(Role::Technician) => "technician",
        Some(Role::Administrator) => "administrator",
        Some(Role::MasterAdministrator) => "master administrator",
        None => "user",
    }
}

/// A destination for people: the path, or the container's name for the container itself.
pub(crate) fn place(container: Option<Container>, path: Option<&GroupPath>) -> String {
    match (path, container) {
        (Some(path), _) if !path.is_root() => path.as_str().to_owned(),
        (_, Some(container)) => container.display_name().to_owned(),
        (_, None) => "(unknown)".to_owned(),
    }
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\\\""))
}

fn tone(kind: ActionKind) -> Tone {
    match kind {
        ActionKind::CreateGroup | ActionKind::CreateUser | ActionKind::EnableUser => Tone::Add,
        ActionKind::MoveUser => Tone::Move,
        ActionKind::UpdateUser | ActionKind::SetMobileLicense => Tone::Change,
        ActionKind::DisableUser => Tone::Remove,
    }
}

/// One action, coloured by kind, with a newline; an update too wide for `width` lists its
/// changes on lines of their own.
fn action_block(action: &Action, paint: Paint, width: Option<usize>) -> String {
    let line = action_line(action);
    let too_wide = width.is_some_and(|width| line.chars().count() > width);
    if action.kind() == ActionKind::UpdateUser && too_wide {
        let email = action.email().map_or("", |e| e.as_str());
        let mut block = format!("~ update {} {email}:\n", role_name(action.role()));
        for change in change_phrases(action) {
            let _ = writeln!(block, "    {change}");
        }
        return paint.paint(tone(action.kind()), &block);
    }
    format!("{}\n", paint.paint(tone(action.kind()), &line))
}

fn change_phrases(action: &Action) -> Vec<String> {
    action
        .changes()
        .into_iter()
        .flatten()
        .map(|(attribute, change)| {
            format!(
                "{} {} -> {}{}",
                attribute.as_str(),
                quoted(&change.old),
                quoted(&change.new),
                change.mapped.as_ref().map(mapped_from).unwrap_or_default()
            )
        })
        .collect()
}

/// ` (from `{displayName} ({department})`: displayName "Jane Doe", department missing)`: where
/// a mapped value came from.
pub(crate) fn mapped_from(mapped: &MappedValue) -> String {
    let values: Vec<String> = mapped
        .values
        .iter()
        .map(|(name, value)| match value {
            Some(value) => format!("{name} {}", quoted(value)),
            None => format!("{name} missing"),
        })
        .collect();
    format!(" (from `{}`: {})", mapped.template, values.join(", "))
}

/// One action as a line, without colour.
pub(crate) fn action_line(action: &Action) -> String {
    let email = action.email().map_or("", |e| e.as_str());
    let role = role_name(action.role());
    match action.kind() {
        ActionKind::CreateGroup => format!(
            "+ create group {} under {}",
            quoted(action.to().map_or("", GroupPath::as_str)),
            action.container().map_or("", Container::display_name)
        ),
        ActionKind::CreateUser => {
            let name = action.new_user().map_or("", |u| u.name.as_str());
            format!(
                "+ create {role} {email} {} in {}{}",
                quoted(name),
                place(action.container(), action.to()),
                with_mobile(action)
            )
        }
        ActionKind::MoveUser => {
            let from_container = action
                .from_role()
                .map(Role::container)
                .or(action.container());
            let from = place(from_container, action.from());
            let to = place(action.container(), action.to());
            match action.from_role() {
                Some(from_role) => format!(
                    "> move {email} from {} ({from}) to {role} ({to})",
                    role_name(Some(from_role))
                ),
                None => format!("> move {role} {email} from {from} to {to}"),
            }
        }
        ActionKind::UpdateUser => {
            format!(
                "~ update {role} {email}: {}",
                change_phrases(action).join(", ")
            )
        }
        ActionKind::EnableUser => format!("+ enable {role} {email}"),
        ActionKind::SetMobileLicense => format!(
            "~ mobile add-on {} for {role} {email}",
            if action.mobile() == Some(true) {
                "on"
            } else {
                "off"
            }
        ),
        ActionKind::DisableUser => {
            let released = if action.mobile() == Some(false) {
                ", releasing the mobile add-on"
            } else {
                ""
            };
            format!(
                "- disable {role} {email} ({}){released}",
                plain_reason(action.reason())
            )
        }
    }
}

/// ` with the mobile add-on` for a create that grants it.
pub(crate) fn with_mobile(action: &Action) -> &'static str {
    if action.kind() == ActionKind::CreateUser && action.mobile() == Some(true) {
        " with the mobile add-on"
    } else {
        ""
    }
}

/// A reason from the plan for places without code formatting (workbooks): no backticks.
pub(crate) fn plain_reason(reason: &str) -> String {
    reason.replace('`', "")
}

/// Counts per kind and group: what a plan of thousands of lines comes to.
fn compact(plan: &Plan, shown: &[&Action], paint: Paint) -> String {
    let groups = current_groups(plan);
    let mut counts: BTreeMap<ActionKind, BTreeMap<String, u64>> = BTreeMap::new();
    for action in shown {
        let at = match action.kind() {
            ActionKind::MoveUser => format!(
                "{} -> {}",
                place(
                    action
                        .from_role()
                        .map(Role::container)
                        .or(action.container()),
                    action.from()
                ),
                place(action.container(), action.to())
            ),
            ActionKind::CreateGroup | ActionKind::CreateUser => {
                place(action.container(), action.to())
            }
            _ => match (action.from(), groups.get(action.id())) {
                (Some(from), _) => place(action.container(), Some(from)),
                (None, Some(place)) => place.clone(),
                (None, None) => place(action.role().map(Role::container), None),
            },
        };
        *counts
            .entry(action.kind())
            .or_default()
            .entry(at)
            .or_default() += 1;
    }
    let mut out = String::new();
    for (kind, places) in counts {
        let total: u64 = places.values().sum();
        let detail: Vec<String> = places
            .iter()
            .map(|(place, count)| format!("{place} ({count})"))
            .collect();
        let line = format!("{:<14} {total:>6}  {}", kind_label(kind), detail.join(", "));
        let _ = writeln!(out, "{}", paint.paint(tone(kind), &line));
    }
    out
}

/// Each action's user's current group, for actions that do not carry one.
fn current_groups(plan: &Plan) -> BTreeMap<String, String> {
    let mut groups = BTreeMap::new();
    for user in &plan.users {
        if user.actions.is_empty() {
            continue;
        }
        let group = place(
            user.current_role.map(Role::container),
            user.current_group.as_ref(),
        );
        for id in &user.actions {
            groups.insert(id.clone(), group.clone());
        }
    }
    groups
}

/// A warning as a sentence. The planner names what the directory wanted of a held-back user
/// by action kind; people read what would happen to them.
pub(crate) fn warning_text(warning: &Warning) -> String {
    if !matches!(
        warning.kind,
        WarningKind::Protected | WarningKind::AccountHolder
    ) {
        return warning.message.clone();
    }
    let Some((who, wanted)) = warning.message.split_once("; the directory wants ") else {
        return warning.message.clone();
    };
    let Some((kinds, rest)) = wanted.split_once(" but adsync leaves") else {
        return warning.message.clone();
    };
    let phrases: Vec<String> = kinds
        .split(", ")
        .map(|name| {
            ActionKind::ALL
                .into_iter()
                .find(|kind| kind.as_str() == name)
                .map_or_else(|| name.to_owned(), |kind| wanted_phrase(kind).to_owned())
        })
        .collect();
    format!(
        "{who}; the directory wants it {}, but adsync leaves{rest}",
        phrases.join(" and ")
    )
}

fn wanted_phrase(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::CreateGroup => "its group created",
        ActionKind::CreateUser => "created",
        ActionKind::MoveUser => "moved",
        ActionKind::UpdateUser => "updated",
        ActionKind::EnableUser => "enabled",
        ActionKind::SetMobileLicense => "given another mobile add-on setting",
        ActionKind::DisableUser => "disabled",
    }
}

/// `warning: ...` for stderr.
pub(crate) fn warning_line(paint: Paint, text: &str) -> String {
    format!("{} {text}", paint.paint(Tone::Warn, "warning:"))
}

/// The end of an apply: counts per outcome, failures grouped by category with the users
/// affected, and how to retry.
pub(crate) fn apply_summary(report: &adsync_core::execute::ApplyReport, paint: Paint) -> String {
    use adsync_core::execute::Outcome;

    let mut out = format!(
        "\n{}\n",
        paint.paint(
            Tone::Strong,
            &format!(
                "applied {}, failed {}, skipped {}, drifted {}",
                report.count(Outcome::Applied),
                report.count(Outcome::Failed),
                report.count(Outcome::Skipped),
                report.count(Outcome::Drifted)
            )
        )
    );
    for (category, results) in report.failures_by_category() {
        let _ = writeln!(
            out,
            "\n{} {} ({})",
            paint.paint(Tone::Remove, "failed:"),
            category_title(category),
            results.len()
        );
        for result in results {
            let who = result
                .email
                .as_ref()
                .map_or_else(|| result.id.clone(), |e| e.as_str().to_owned());
            let code = result
                .code
                .as_deref()
                .map(|c| format!(" [{c}]"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {who}: {}{code}",
                result.message.as_deref().unwrap_or("")
            );
        }
    }
    for outcome in [Outcome::Skipped, Outcome::Drifted] {
        let listed: Vec<_> = report
            .results
            .iter()
            .filter(|r| r.outcome == outcome)
            .collect();
        if listed.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "\n{}",
            paint.paint(Tone::Warn, &format!("{}:", outcome.as_str()))
        );
        for result in listed {
            let _ = writeln!(
                out,
                "  {}: {}",
                result.id,
                result.message.as_deref().unwrap_or("")
            );
        }
    }
    if !report.is_complete() {
        out.push_str(
            "\nrun `adsync apply` again to retry: apply is idempotent, so a re-run converges\n",
        );
    }
    out
}

fn category_title(category: adsync_core::adapter::FailureCategory) -> &'static str {
    use adsync_core::adapter::FailureCategory;
    match category {
        FailureCategory::ExistingAccount => {
            "existing accounts (the e-mail is used by another node or account)"
        }
        FailureCategory::OutOfLicenses => "out of licences (an add-on or seat was refused)",
        FailureCategory::InvalidData => "invalid data (Rescue refused a field)",
        FailureCategory::Permission => "permission (the credentials lack rights)",
        FailureCategory::NotFound => "not found (the node vanished)",
        FailureCategory::Transient => "transient (still failing after retries)",
        FailureCategory::Unknown => "unknown",
    }
}

/// Why a directory read was full.
pub(crate) fn full_read_reason(reason: &adsync_graph::FullReason) -> String {
    use adsync_graph::FullReason;
    match reason {
        FullReason::Requested => "--full was given".to_owned(),
        FullReason::Scheduled => {
            "sync.full_read_every has passed since the last full read".to_owned()
        }
        FullReason::NoSavedState => "no saved directory state".to_owned(),
        FullReason::Unreadable => "the saved directory state could not be read".to_owned(),
        FullReason::OtherFormat => "the saved directory state has another format".to_owned(),
        FullReason::ScopeChanged => {
            "the tenant, the pairings' groups or nesting changed since the last read".to_owned()
        }
        FullReason::TokenRejected { status, code } if code.is_empty() => {
            format!("Graph no longer accepts the saved delta link (http {status})")
        }
        FullReason::TokenRejected { status, code } => {
            format!("Graph no longer accepts the saved delta link (http {status}, {code})")
        }
        FullReason::GroupRemoved { id } => format!("the tracked group {id} was deleted"),
        FullReason::GroupRenamed { id } => {
            format!("the group {id}, paired by name, was renamed")
        }
    }
}

/// `adsync status`'s lines on directory reads: the last full read, and what the last read was.
pub(crate) fn directory_reads(full_read_at: &str, last: &crate::reads::DirectoryRead) -> String {
    let what = match (last.kind.as_str(), &last.reason) {
        ("incremental", _) => {
            let count = |key: &str| last.changes.get(key).copied().unwrap_or(0);
            format!(
                "incremental: {} group changes ({} memberships), {} users changed, {} groups newly nested",
                count("groups"),
                count("members"),
                count("users"),
                count("new_groups")
            )
        }
        (kind, Some(reason)) => format!("{kind} ({reason})"),
        (kind, None) => kind.to_owned(),
    };
    format!(
        "full read:    {full_read_at}\nlast read:    {} at {}\n",
        what, last.at
    )
}

/// `adsync status`'s line on Rescue detail reads.
pub(crate) fn detail_reads(
    full_read_at: &str,
    reads: &adsync_rescue::cache::DetailReads,
) -> String {
    format!(
        "details:      all read at {full_read_at}; last run read {} ({} full read, {} not cached, {} changed, {} verification) and took {} from the cache\n",
        reads.needed() + reads.verification,
        reads.full,
        reads.uncached,
        reads.changed,
        reads.verification,
        reads.cached
    )
}
