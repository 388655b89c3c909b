//! For scripts and monitors: `/healthz`, `/metrics` and the JSON endpoints. Every JSON answer
//! carries `format_version`; fields are only added within a major version.

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{Value, json};

use crate::access::Caller;
use crate::app::App;
use crate::banner::banners;
use crate::history;
use crate::service::Board;
use crate::view::RunOutcome;

const FORMAT_VERSION: &str = "1.0";

/// Whether the service is healthy: the last run succeeded, within two intervals.
pub(crate) fn health(app: &App, board: &Board) -> (bool, String) {
    let now = app.service.now();
    let limit = app.service.interval * 2;
    let Some(last) = &board.last else {
        return match &board.last_success {
            Some(success)
                if now
                    .duration_since(success.time)
                    .is_ok_and(|ago| ago <= limit) =>
            {
                (true, format!("the last run succeeded at {}", success.text))
            }
            _ => (false, "no run has finished yet".to_owned()),
        };
    };
    if last.outcome != RunOutcome::Success {
        return (
            false,
            format!(
                "the last run ({}) ended as {} at {}",
                last.run_id,
                last.outcome.as_str(),
                last.finished.text
            ),
        );
    }
    let age = now.duration_since(last.finished.time).unwrap_or_default();
    if age > limit {
        return (
            false,
            format!(
                "the last success, at {}, is older than two intervals",
                last.finished.text
            ),
        );
    }
    (
        true,
        format!("the last run succeeded at {}", last.finished.text),
    )
}

pub(crate) async fn healthz(State(app): State<App>) -> Response {
    let board = app.service.snapshot();
    let (healthy, reason) = health(&app, &board);
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "format_version": FORMAT_VERSION,
        "status": if healthy { "ok" } else { "failing" },
        "reason": reason,
        "last_run": board.last.as_deref().map(|run| json!({
            "run_id": run.run_id,
            "outcome": run.outcome,
            "finished": run.finished,
        })),
        "last_success": board.last_success,
        "running": board.running.is_some(),
    });
    (status, Json(body)).into_response()
}

pub(crate) async fn metrics(State(app): State<App>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.service.metrics_text(),
    )
        .into_response()
}

pub(crate) async fn status(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
) -> Response {
    let board = app.service.snapshot();
    let (healthy, reason) = health(&app, &board);
    let last = board.last.as_deref().map(|run| {
        let mut value = serde_json::to_value(run).unwrap_or(Value::Null);
        // The plan text is on /plan; scripts read counts here.
        if let Some(plan) = value.get_mut("plan").and_then(Value::as_object_mut) {
            plan.remove("text");
        }
        if let Some(run) = value.as_object_mut() {
            run.insert("duration".into(), json!(run_duration(&board)));
            run.insert("banners".into(), json!(banners_json(&board)));
        }
        value
    });
    Json(json!({
        "format_version": FORMAT_VERSION,
        "healthy": healthy,
        "reason": reason,
        "interval_seconds": app.service.interval.as_secs_f64(),
        "running": board.running,
        "retry_requested": board.retry_requested,
        "next_run": board.next_run,
        "last_success": board.last_success,
        "last_run": last,
        "read_only": app.read_only,
        // What a browser-less caller without a bearer token posts to /retry as `csrf`.
        "csrf_token": caller.csrf(),
    }))
    .into_response()
}

fn run_duration(board: &Board) -> Option<f64> {
    board
        .last
        .as_deref()
        .map(|run| run.duration().as_secs_f64())
}

fn banners_json(board: &Board) -> Vec<Value> {
    board
        .last
        .as_deref()
        .map(banners)
        .unwrap_or_default()
        .into_iter()
        .map(|b| json!({ "category": b.slug, "title": b.title, "count": b.count, "cause": b.cause, "remedy": b.remedy }))
        .collect()
}

pub(crate) async fn failures(State(app): State<App>) -> Response {
    let board = app.service.snapshot();
    let Some(run) = &board.last else {
        return Json(json!({
            "format_version": FORMAT_VERSION,
            "run_id": null,
            "banners": [],
            "failures": [],
            "blocked": null,
            "error": null,
        }))
        .into_response();
    };
    Json(json!({
        "format_version": FORMAT_VERSION,
        "run_id": run.run_id,
        "outcome": run.outcome,
        "banners": banners_json(&board),
        "failures": run.failures,
        "blocked": run.plan.as_ref().and_then(|p| p.blocked.as_ref()),
        "error": run.error,
    }))
    .into_response()
}

pub(crate) async fn runs(
    State(app): State<App>,
    Query(query): Query<history::PageQuery>,
) -> Response {
    let (result, paging) = history::load(&app, &query, true).await;
    match result {
        Ok(page) => Json(json!({
            "format_version": FORMAT_VERSION,
            "runs": page.entries,
            "more": page.more,
            "older": paging.older,
            "newer": paging.newer,
        }))
        .into_response(),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "format_version": FORMAT_VERSION, "error": error })),
        )
            .into_response(),
    }
}
