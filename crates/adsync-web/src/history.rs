//! The activity history: runs and applied actions, newest first, a page at a time, searchable
//! by e-mail. The CLI reads the state directory's logs; this module pages and words them.

use serde::Deserialize;

use crate::app::App;
use crate::view::{HistoryEntry, HistoryPage, HistoryQuery};

/// Entries per page.
pub(crate) const PER_PAGE: usize = 50;
/// The deepest page served: a bound on the work one request can ask for.
const MAX_PAGE: usize = 10_000;

/// `?email=&page=`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    pub(crate) email: Option<String>,
    pub(crate) page: Option<usize>,
}

/// Links to the neighbouring pages.
#[derive(Debug, Default)]
pub(crate) struct Paging {
    pub(crate) newer: Option<String>,
    pub(crate) older: Option<String>,
}

/// One row of the history table.
pub(crate) struct Row {
    pub(crate) class: &'static str,
    pub(crate) time: String,
    pub(crate) what: String,
    pub(crate) user: String,
    pub(crate) outcome: String,
    pub(crate) details: String,
}

/// Reads one page through the CLI's [`crate::view::History`], off the async threads.
pub(crate) async fn load(
    app: &App,
    query: &PageQuery,
    runs_only: bool,
) -> (Result<HistoryPage, String>, Paging) {
    let page = query.page.unwrap_or(1).clamp(1, MAX_PAGE);
    let email = query
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned);
    let request = HistoryQuery {
        email: email.clone(),
        runs_only,
        offset: (page - 1) * PER_PAGE,
        limit: PER_PAGE,
    };
    let history = app.service.history.clone();
    let result = tokio::task::spawn_blocking(move || history.page(&request))
        .await
        .unwrap_or_else(|_| Err("reading the history failed".to_owned()));
    let base = if runs_only { "/api/runs" } else { "/history" };
    let link = |page: usize| {
        let mut pairs = Vec::new();
        if let Some(email) = &email {
            pairs.push(("email", email.clone()));
        }
        pairs.push(("page", page.to_string()));
        format!(
            "{base}?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    };
    let paging = Paging {
        newer: (page > 1).then(|| link(page - 1)),
        older: result
            .as_ref()
            .is_ok_and(|p| p.more && page < MAX_PAGE)
            .then(|| link(page + 1)),
    };
    (result, paging)
}

/// The page's rows.
pub(crate) fn rows(page: &HistoryPage) -> Vec<Row> {
    page.entries.iter().map(row).collect()
}

fn row(entry: &HistoryEntry) -> Row {
    match entry {
        HistoryEntry::Run(run) => {
            let counts: Vec<String> = run
                .counts
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| format!("{n} {k}"))
                .collect();
            let details = match &run.error {
                Some(error) => error.clone(),
                None if counts.is_empty() => "no changes".to_owned(),
                None => counts.join(", "),
            };
            Row {
                class: "run",
                time: crate::time::readable_time(&run.finished),
                what: format!("run {} ({})", run.run_id, run.command),
                user: String::new(),
                outcome: run.outcome.clone(),
                details,
            }
        }
        HistoryEntry::Action(action) => {
            let mut details = action
                .category
                .iter()
                .chain(&action.code)
                .chain(&action.message)
                .cloned()
                .collect::<Vec<_>>()
                .join(" · ");
            if details.is_empty() {
                details = change(&action.before, &action.after);
            }
            Row {
                class: "action",
                time: crate::time::readable_time(&action.time),
                what: action.kind.replace('_', " "),
                user: action.email.clone().unwrap_or_default(),
                outcome: action.outcome.clone(),
                details,
            }
        }
    }
}

/// `group: Contractors → Helpdesk/L2`, from the audit line's before and after.
fn change(before: &serde_json::Value, after: &serde_json::Value) -> String {
    let Some(after) = after.as_object() else {
        return String::new();
    };
    after
        .iter()
        .map(|(field, new)| {
            let show = |value: &serde_json::Value| match value {
                serde_json::Value::String(text) if text.is_empty() => "(the container)".to_owned(),
                serde_json::Value::String(text) => text.clone(),
                // A created user: its name says enough.
                serde_json::Value::Object(object) => object
                    .get("name")
                    .and_then(serde_json::Value::as_str)
                    .map_or_else(|| "…".to_owned(), |name| format!("\"{name}\"")),
                other => other.to_string(),
            };
            match before.get(field) {
                Some(old) => format!("{field}: {} → {}", show(old), show(new)),
                None => format!("{field}: {}", show(new)),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
