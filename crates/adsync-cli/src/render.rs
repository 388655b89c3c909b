//! Human renderings of core data. Wording lives here, not in core.

use std::fmt::Write as _;

use adsync_core::model::{Container, GroupPath, Role};
use adsync_core::plan::{Action, ActionKind, Plan, Summary};

/// The plan as a diff-like listing, one line per action, then the summary line.
pub(crate) fn plan_human(plan: &Plan) -> String {
    let mut out = String::new();
    for action in &plan.actions {
        out.push_str(&action_line(action));
        out.push('\n');
    }
    if !plan.actions.is_empty() {
        out.push('\n');
    }
    out.push_str(&summary_line(&plan.summary));
    out.push('\n');
    if let Some(blocked) = &plan.blocked {
        let _ = writeln!(out, "\nblocked: {}", blocked.reason);
    }
    out
}

/// `3 to create, 1 to move, 2 to update, 1 to disable, 40 unchanged`.
pub(crate) fn summary_line(summary: &Summary) -> String {
    let mut parts = Vec::new();
    let mut add = |count: u64, what: &str| {
        if count > 0 {
            parts.push(format!("{count} {what}"));
        }
    };
    add(
        summary.create_group,
        if summary.create_group == 1 {
            "group to create"
        } else {
            "groups to create"
        },
    );
    add(summary.create_user, "to create");
    add(summary.move_user, "to move");
    add(summary.update_user, "to update");
    add(summary.enable_user, "to enable");
    add(
        summary.set_mobile_license,
        if summary.set_mobile_license == 1 {
            "add-on change"
        } else {
            "add-on changes"
        },
    );
    add(summary.disable_user, "to disable");
    if parts.is_empty() {
        return format!("no changes, {} unchanged", summary.unchanged);
    }
    parts.push(format!("{} unchanged", summary.unchanged));
    parts.join(", ")
}

fn role_name(role: Option<Role>) -> &'static str {
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

/// One action as a line.
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
            let mobile = if action.mobile() == Some(true) {
                " with the mobile add-on"
            } else {
                ""
            };
            format!(
                "+ create {role} {email} {} in {}{mobile}",
                quoted(name),
                place(action.container(), action.to())
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
            let changes: Vec<String> = action
                .changes()
                .into_iter()
                .flatten()
                .map(|(attribute, change)| {
                    format!(
                        "{} {} -> {}",
                        attribute.as_str(),
                        quoted(&change.old),
                        quoted(&change.new)
                    )
                })
                .collect();
            format!("~ update {role} {email}: {}", changes.join(", "))
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
            format!("- disable {role} {email} ({}){released}", action.reason())
        }
    }
}

/// The end of an apply: counts per outcome, failures grouped by category with the users
/// affected, and how to retry.
pub(crate) fn apply_summary(report: &adsync_core::execute::ApplyReport) -> String {
    use adsync_core::execute::Outcome;

    let mut out = format!(
        "\napplied {}, failed {}, skipped {}, drifted {}\n",
        report.count(Outcome::Applied),
        report.count(Outcome::Failed),
        report.count(Outcome::Skipped),
        report.count(Outcome::Drifted)
    );
    for (category, results) in report.failures_by_category() {
        let _ = writeln!(
            out,
            "\nfailed: {} ({})",
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
        let _ = writeln!(out, "\n{}:", outcome.as_str());
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
