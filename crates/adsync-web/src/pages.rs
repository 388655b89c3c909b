//! The HTML pages: server-rendered with askama (escaped by default), one inline style sheet
//! allowed by its hash, no script.

use std::time::SystemTime;

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use crate::access::Caller;
use crate::app::App;
use crate::banner::{Banner, BannerKind, banners};
use crate::history::{self, Row};
use crate::time::{duration, when};
use crate::view::{ActionFailure, ErrorKind, PlanView, RunReport};

/// The inline style sheet; its SHA-256 is in the Content-Security-Policy.
pub(crate) const STYLE: &str = include_str!("../templates/style.css");
/// Lines of a plan shown on the page; `adsync plan` prints the rest.
const PLAN_LINES: usize = 5000;
/// Refresh while a run is in progress, and otherwise.
const REFRESH_RUNNING: u32 = 3;
const REFRESH_IDLE: u32 = 60;

/// What every page's frame needs.
pub(crate) struct Layout {
    title: &'static str,
    nav: &'static str,
    style: &'static str,
    refresh: Option<u32>,
    csrf: Option<String>,
    logout: bool,
}

impl Layout {
    pub(crate) fn new(title: &'static str, nav: &'static str, caller: Option<&Caller>) -> Layout {
        Layout {
            title,
            nav,
            style: STYLE,
            refresh: None,
            csrf: caller.and_then(Caller::csrf).map(str::to_owned),
            logout: matches!(caller, Some(Caller::Session { .. })),
        }
    }
}

/// Renders `template` with `status`.
pub(crate) fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot render a page");
            (StatusCode::INTERNAL_SERVER_ERROR, "cannot render the page").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "notice.html")]
struct Notice {
    layout: Layout,
    heading: &'static str,
    text: String,
}

/// A short page saying `text`.
pub(crate) fn notice(
    status: StatusCode,
    heading: &'static str,
    text: impl Into<String>,
    caller: Option<&Caller>,
) -> Response {
    let template = Notice {
        layout: Layout::new(heading, "", caller),
        heading,
        text: text.into(),
    };
    page(status, &template)
}

struct RunningView {
    started: String,
    trigger: &'static str,
}

struct LastRunView {
    run_id: String,
    outcome: &'static str,
    trigger: &'static str,
    started: String,
    duration: String,
    read: String,
    plan_counts: Vec<(String, u64)>,
    apply_counts: Vec<(String, u64)>,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct Overview {
    layout: Layout,
    message: Option<&'static str>,
    running: Option<RunningView>,
    retry_requested: bool,
    next_run: String,
    last_success: String,
    interval: String,
    retry: Option<String>,
    last: Option<LastRunView>,
    banners: Vec<Banner>,
}

#[derive(Deserialize)]
pub(crate) struct OverviewQuery {
    retry: Option<String>,
}

pub(crate) async fn overview(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<OverviewQuery>,
) -> Response {
    let now = app.service.now();
    let board = app.service.snapshot();
    let busy = board.running.is_some() || board.retry_requested;
    let mut layout = Layout::new("Overview", "overview", Some(&caller));
    layout.refresh = Some(if busy { REFRESH_RUNNING } else { REFRESH_IDLE });
    let message = match query.retry.as_deref() {
        Some("started") => Some("Retry requested: a run starts now."),
        Some("busy") => Some("A run is already in progress; it was not started twice."),
        _ => None,
    };
    let template = Overview {
        layout,
        message,
        running: board.running.as_ref().map(|run| RunningView {
            started: when(now, &run.started),
            trigger: trigger_name(run.trigger),
        }),
        retry_requested: board.retry_requested,
        next_run: board
            .next_run
            .as_ref()
            .map_or_else(|| "after the run in progress".to_owned(), |s| when(now, s)),
        last_success: board
            .last_success
            .as_ref()
            .map_or_else(|| "never".to_owned(), |s| when(now, s)),
        interval: duration(app.service.interval),
        retry: (!app.read_only)
            .then(|| caller.csrf().map(str::to_owned))
            .flatten(),
        banners: board.last.as_deref().map(banners).unwrap_or_default(),
        last: board.last.as_deref().map(|run| last_run_view(now, run)),
    };
    page(StatusCode::OK, &template)
}

fn last_run_view(now: SystemTime, run: &RunReport) -> LastRunView {
    let read = run.read.as_ref().map_or_else(
        || "nothing (no plan)".to_owned(),
        |read| {
            format!(
                "{} directory users in {} groups, {} Rescue users, in {}",
                read.directory_users,
                read.directory_groups,
                read.rescue_users,
                duration(read.duration)
            )
        },
    );
    let apply_counts = ["applied", "failed", "skipped", "drifted"]
        .into_iter()
        .map(|outcome| (outcome.to_owned(), run.count(outcome)))
        .filter(|(_, count)| *count > 0)
        .collect();
    LastRunView {
        run_id: run.run_id.clone(),
        outcome: run.outcome.as_str(),
        trigger: trigger_name(run.trigger),
        started: when(now, &run.started),
        duration: duration(run.duration()),
        read,
        plan_counts: run
            .plan
            .as_ref()
            .map(|plan| plan.counts.clone())
            .unwrap_or_default(),
        apply_counts,
    }
}

#[derive(Template)]
#[template(path = "details.html")]
struct Details {
    layout: Layout,
    title: &'static str,
    severity: &'static str,
    cause: &'static str,
    remedy: &'static str,
    run_id: Option<String>,
    failures: Vec<ActionFailure>,
    lines: Vec<String>,
    text: Option<String>,
    empty: bool,
}

pub(crate) async fn details(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
) -> Response {
    let Some(kind) = BannerKind::from_slug(&slug) else {
        return notice(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such failure category.",
            Some(&caller),
        );
    };
    let board = app.service.snapshot();
    let mut template = Details {
        layout: Layout::new(kind.title(), "overview", Some(&caller)),
        title: kind.title(),
        severity: kind.severity(),
        cause: kind.cause(),
        remedy: kind.remedy(),
        run_id: board.last.as_deref().map(|run| run.run_id.clone()),
        failures: Vec::new(),
        lines: Vec::new(),
        text: None,
        empty: false,
    };
    if let Some(run) = &board.last {
        fill_details(&mut template, kind, run);
    }
    template.empty =
        template.failures.is_empty() && template.lines.is_empty() && template.text.is_none();
    page(StatusCode::OK, &template)
}

fn fill_details(template: &mut Details, kind: BannerKind, run: &RunReport) {
    match kind {
        BannerKind::Apply(category) => {
            template.failures = failures_of(run, category).cloned().collect();
        }
        BannerKind::Blocked => {
            if let Some(blocked) = run.plan.as_ref().and_then(|p| p.blocked.as_ref()) {
                template.lines = blocked.guards.clone();
            }
        }
        BannerKind::FailedRead | BannerKind::RunFailed => {
            let wanted = if kind == BannerKind::FailedRead {
                ErrorKind::FailedRead
            } else {
                ErrorKind::RunFailed
            };
            if let Some(error) = run.error.as_ref().filter(|e| e.kind == wanted) {
                let mut text = error.message.clone();
                if let Some(hint) = &error.hint {
                    text.push_str("\n\nhint: ");
                    text.push_str(hint);
                }
                template.text = Some(text);
            }
        }
    }
}

/// The failures of `run` in `category`.
pub(crate) fn failures_of(
    run: &RunReport,
    category: adsync_core::adapter::FailureCategory,
) -> impl Iterator<Item = &ActionFailure> {
    run.failures.iter().filter(move |f| f.category == category)
}

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    layout: Layout,
    plan: Option<PlanView>,
    run_id: String,
    when: String,
    text: String,
    cut: usize,
    failed: bool,
}

pub(crate) async fn plan(State(app): State<App>, Extension(caller): Extension<Caller>) -> Response {
    let now = app.service.now();
    let board = app.service.snapshot();
    let run = board.last.as_deref();
    let plan = run.and_then(|run| run.plan.clone());
    let (text, cut) = match &plan {
        Some(plan) => {
            let lines: Vec<&str> = plan.text.lines().collect();
            let shown = lines.len().min(PLAN_LINES);
            (lines[..shown].join("\n"), lines.len() - shown)
        }
        None => (String::new(), 0),
    };
    let template = PlanPage {
        layout: Layout::new("Pending changes", "plan", Some(&caller)),
        run_id: run.map(|r| r.run_id.clone()).unwrap_or_default(),
        when: run.map(|r| when(now, &r.finished)).unwrap_or_default(),
        failed: run.is_some_and(|r| r.error.is_some()),
        plan,
        text,
        cut,
    };
    page(StatusCode::OK, &template)
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPageView {
    layout: Layout,
    email: String,
    entries: Vec<Row>,
    error: Option<String>,
    newer: Option<String>,
    older: Option<String>,
}

pub(crate) async fn history(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<history::PageQuery>,
) -> Response {
    let (result, paging) = history::load(&app, &query, false).await;
    let (rows, error) = match result {
        Ok(page) => (history::rows(&page), None),
        Err(error) => (Vec::new(), Some(error)),
    };
    let template = HistoryPageView {
        layout: Layout::new("Activity history", "history", Some(&caller)),
        email: query.email.clone().unwrap_or_default(),
        newer: paging.newer,
        older: paging.older,
        entries: rows,
        error,
    };
    page(StatusCode::OK, &template)
}

#[derive(Template)]
#[template(path = "login.html")]
pub(crate) struct Login {
    pub(crate) layout: Layout,
    pub(crate) next: String,
    pub(crate) failed: bool,
}

fn trigger_name(trigger: crate::view::Trigger) -> &'static str {
    match trigger {
        crate::view::Trigger::Schedule => "schedule",
        crate::view::Trigger::Retry => "retry",
    }
}
