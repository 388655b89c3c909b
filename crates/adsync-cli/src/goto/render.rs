//! The human wording of GoTo plans and apply reports: one line per operation, products and user
//! groups by name, then the licence shortages, what the account cannot give, and the guard.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use adsync_goto::execute::{GotoReport, Status};
use adsync_goto::planner::GotoPlan;
use adsync_goto::{AdminRole, GotoSnapshot, Key, Operation};

use crate::style::{Paint, Tone};

/// Names for an account's keys.
struct Names<'a>(&'a GotoSnapshot);

impl Names<'_> {
    /// The products of these licences, by code (a licence the account lacks by key).
    fn products(&self, licences: &BTreeSet<Key>) -> String {
        let mut codes: BTreeSet<String> = BTreeSet::new();
        for key in licences {
            match self.0.licences.iter().find(|l| &l.key == key) {
                Some(licence) => codes.extend(licence.products.iter().map(|p| p.as_str().into())),
                None => {
                    codes.insert(format!("licence {key}"));
                }
            }
        }
        if codes.is_empty() {
            return "no product".to_owned();
        }
        codes.into_iter().collect::<Vec<_>>().join(", ")
    }

    fn group(&self, key: Option<&Key>) -> String {
        let Some(key) = key else {
            return "no user group".to_owned();
        };
        self.0
            .groups
            .iter()
            .find(|g| &g.key == key)
            .map_or_else(|| format!("user group {key}"), |g| g.name.clone())
    }

    fn role(&self, role: &AdminRole) -> String {
        match role {
            AdminRole::None => "no admin role".to_owned(),
            AdminRole::Full => "full admin".to_owned(),
            AdminRole::ManagerOf { groups } => {
                let names: Vec<String> = groups.iter().map(|g| self.group(Some(g))).collect();
                format!("manager of {}", names.join(", "))
            }
            AdminRole::Other { roles } => {
                format!(
                    "custom role {}",
                    roles.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            }
        }
    }
}

/// One operation as a line (without its marker).
fn operation_line(operation: &Operation, names: &Names<'_>) -> (Tone, &'static str, String) {
    match operation {
        Operation::CreateUser {
            email,
            first_name,
            last_name,
            licences,
            role,
            group,
        } => {
            let mut text = format!(
                "add {email} ({first_name} {last_name}): {}; {}",
                names.products(licences),
                names.group(group.as_ref())
            );
            if *role != AdminRole::None {
                let _ = write!(text, "; {}", names.role(role));
            }
            (Tone::Add, "+", text)
        }
        Operation::SetLicences {
            email,
            before,
            after,
            ..
        } => (
            Tone::Change,
            "~",
            format!(
                "products of {email}: {} -> {}",
                names.products(before),
                names.products(after)
            ),
        ),
        Operation::SetRole {
            email,
            before,
            after,
            ..
        } => (
            Tone::Change,
            "~",
            format!(
                "role of {email}: {} -> {}",
                names.role(before),
                names.role(after)
            ),
        ),
        Operation::MoveToGroup {
            email, from, to, ..
        } => (
            Tone::Move,
            ">",
            format!(
                "move {email}: {} -> {}",
                names.group(from.as_ref()),
                names.group(Some(to))
            ),
        ),
        Operation::Suspend { email, before, .. } => (
            Tone::Remove,
            "-",
            format!(
                "suspend {email}: removes {} (the user is kept)",
                names.products(before)
            ),
        ),
    }
}

/// One operation as a sentence, products and user groups by name (the workbook's column).
pub(crate) fn operation_text(operation: &Operation, account: &GotoSnapshot) -> String {
    operation_line(operation, &Names(account)).2
}

/// A plan for the terminal.
pub(crate) fn plan(plan: &GotoPlan, account: &GotoSnapshot, paint: Paint) -> String {
    let names = Names(account);
    let mut out = String::new();
    let counts: Vec<String> = plan
        .counts()
        .iter()
        .map(|(kind, n)| format!("{n} {}", kind.replace('_', " ")))
        .collect();
    let heading = if plan.is_empty() {
        format!("GoTo account {}: no changes", plan.account_key)
    } else {
        format!(
            "GoTo account {}: {} changes ({})",
            plan.account_key,
            plan.operations.len(),
            counts.join(", ")
        )
    };
    let _ = writeln!(out, "{}", paint.paint(Tone::Strong, &heading));
    for planned in &plan.operations {
        let (tone, marker, text) = operation_line(&planned.operation, &names);
        let rule = planned
            .rule
            .as_ref()
            .map(|r| paint.paint(Tone::Dim, &format!("  [rule {r}]")))
            .unwrap_or_default();
        let _ = writeln!(out, "  {} {text}{rule}", paint.paint(tone, marker));
    }
    shortages(&mut out, plan, paint);
    if !plan.unresolved.is_empty() {
        let _ = writeln!(out, "\n{}", paint.paint(Tone::Warn, "Not in the account:"));
        for unresolved in &plan.unresolved {
            let _ = writeln!(
                out,
                "  {} (rule {}): {}",
                unresolved.email, unresolved.rule, unresolved.message
            );
        }
    }
    if let Some(blocked) = &plan.blocked {
        let _ = writeln!(
            out,
            "\n{} {}",
            paint.paint(Tone::Remove, "Blocked:"),
            blocked.message
        );
    }
    out
}

fn shortages(out: &mut String, plan: &GotoPlan, paint: Paint) {
    if plan.shortages.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}", paint.paint(Tone::Warn, "Out of licences:"));
    for (key, short) in &plan.shortages {
        let products: Vec<&str> = short.products.iter().map(|p| p.as_str()).collect();
        let _ = writeln!(
            out,
            "  licence {key} ({}): {} free, {} wanted; left out: {}",
            products.join(", "),
            short.free,
            short.wanted,
            short.users.join(", ")
        );
    }
}

/// An apply report for the terminal: totals, then the failures per category with their users.
pub(crate) fn report(report: &GotoReport, paint: Paint) -> String {
    let mut out = String::new();
    let counts = report.counts();
    let count = |name: &str| counts.get(name).copied().unwrap_or(0);
    let _ = writeln!(
        out,
        "{}",
        paint.paint(
            Tone::Strong,
            &format!(
                "applied {}, failed {}, skipped {}",
                count("applied"),
                count("failed"),
                count("skipped")
            )
        )
    );
    for (category, users) in report.failures() {
        let users: Vec<&str> = users.iter().map(String::as_str).collect();
        let _ = writeln!(
            out,
            "  {} {category}: {}",
            paint.paint(Tone::Remove, "failed"),
            users.join(", ")
        );
    }
    for result in &report.results {
        if result.status == Status::Applied {
            continue;
        }
        let _ = writeln!(
            out,
            "  #{} {} {}: {}",
            result.id,
            result.kind,
            result.email,
            result.message.as_deref().unwrap_or("")
        );
    }
    out
}
