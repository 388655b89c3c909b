//! The router in process (no socket): the Retry rules, the login's redirect, the pages' use of
//! what the CLI hands in, and the headers on every answer.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use adsync_core::adapter::FailureCategory;
use adsync_core::secret::Secret;
use adsync_web::view::{
    ActionCount, ActionFailure, Clock, History, HistoryPage, HistoryQuery, RunOutcome, RunReport,
    Stamp, Trigger,
};
use adsync_web::{RetryRequests, Running, Service, WebOptions, router};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

const NOW: u64 = 1_795_302_312;

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(NOW)
    }
}

struct NoHistory;

impl History for NoHistory {
    fn page(&self, _: &HistoryQuery) -> Result<HistoryPage, String> {
        Ok(HistoryPage::default())
    }
}

fn stamp(seconds_ago: u64) -> Stamp {
    Stamp {
        time: SystemTime::UNIX_EPOCH + Duration::from_secs(NOW - seconds_ago),
        text: format!("t-{seconds_ago}"),
    }
}

fn service() -> (Arc<Service>, RetryRequests) {
    Service::new(
        Duration::from_secs(900),
        Arc::new(FixedClock),
        Arc::new(NoHistory),
    )
}

fn report(outcome: RunOutcome, failures: Vec<ActionFailure>) -> RunReport {
    RunReport {
        run_id: "20261121-230512-7".into(),
        trigger: Trigger::Schedule,
        started: stamp(70),
        finished: stamp(60),
        outcome,
        read: None,
        apply_duration: None,
        plan: None,
        actions: vec![ActionCount {
            kind: "create_user".into(),
            outcome: "failed".into(),
            count: failures.len() as u64,
        }],
        failures,
        error: None,
    }
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn send(app: &axum::Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.expect("an answer");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn get(path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::HOST, "127.0.0.1:8787")
        .body(Body::empty())
        .expect("a request")
}

fn post_form(path: &str, body: String) -> Request<Body> {
    Request::post(path)
        .header(header::HOST, "127.0.0.1:8787")
        .header(header::ORIGIN, "http://127.0.0.1:8787")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("a request")
}

fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let at = page.find(marker).expect("a csrf field") + marker.len();
    page[at..].split('"').next().expect("a value").to_owned()
}

/// Retry never starts a second run: refused while one runs and while one is requested, and
/// each accepted request reaches the run loop once.
#[tokio::test]
async fn retry_is_never_two_at_once() {
    let (service, mut retries) = service();
    let app = router(service.clone(), &WebOptions::default()).expect("a router");
    let csrf = csrf_of(&send(&app, get("/")).await.body);
    let retry = || post_form("/retry", format!("csrf={csrf}"));

    service.run_started(Running {
        started: stamp(5),
        trigger: Trigger::Schedule,
    });
    let busy = send(&app, retry()).await;
    assert_eq!(busy.status, StatusCode::SEE_OTHER);
    assert_eq!(busy.headers[header::LOCATION], "/?retry=busy");
    let page = send(&app, get("/")).await.body;
    assert!(page.contains("running"), "the overview shows the run");
    assert!(
        page.contains("id=\"retry\" disabled"),
        "Retry is disabled while running"
    );

    service.run_finished(report(RunOutcome::Success, Vec::new()), stamp(0));
    let started = send(&app, retry()).await;
    assert_eq!(started.headers[header::LOCATION], "/?retry=started");
    let again = send(&app, retry()).await;
    assert_eq!(
        again.headers[header::LOCATION],
        "/?retry=busy",
        "already requested"
    );
    assert_eq!(retries.next().await, Some(()));
    assert!(
        tokio::time::timeout(Duration::from_millis(50), retries.next())
            .await
            .is_err(),
        "exactly one request reached the run loop"
    );
}

/// The login sends the browser back to a path on this site only, and the cookie it sets is
/// HttpOnly and SameSite=Strict; logging out ends the session.
#[tokio::test]
async fn login_redirects_stay_on_the_site_and_logout_ends_the_session() {
    let (service, _retries) = service();
    let options = WebOptions {
        token: Some(Secret::new("sixteen-characters-at-least")),
        read_only: false,
    };
    let app = router(service, &options).expect("a router");
    for (next, expected) in [
        ("%2Fhistory%3Fpage%3D2", "/history?page=2"),
        ("https%3A%2F%2Fevil.example%2F", "/"),
        ("%2F%2Fevil.example", "/"),
        ("%2F%5Cevil.example", "/"),
    ] {
        let body = format!("token=sixteen-characters-at-least&next={next}");
        let answer = send(&app, post_form("/login", body)).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{next}");
        assert_eq!(answer.headers[header::LOCATION], expected, "{next}");
    }
    let login = send(
        &app,
        post_form("/login", "token=sixteen-characters-at-least".into()),
    )
    .await;
    let cookie = login.headers[header::SET_COOKIE].to_str().expect("text");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let session = cookie.split(';').next().expect("name=value").to_owned();
    let with_cookie = |request: Request<Body>| {
        let (mut parts, body) = request.into_parts();
        parts
            .headers
            .insert(header::COOKIE, session.parse().expect("a header"));
        Request::from_parts(parts, body)
    };
    let page = send(&app, with_cookie(get("/"))).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = csrf_of(&page.body);
    let cross = send(&app, with_cookie(post_form("/logout", "csrf=wrong".into()))).await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    let out = send(
        &app,
        with_cookie(post_form("/logout", format!("csrf={csrf}"))),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        out.headers[header::SET_COOKIE]
            .to_str()
            .expect("text")
            .contains("Max-Age=0")
    );
    assert_eq!(
        send(&app, with_cookie(get("/"))).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// Each failure category is a banner whose Details list exactly its users, HTML-escaped; every
/// answer carries the security headers; unknown categories are 404.
#[tokio::test]
async fn banners_and_details_follow_the_report_and_escape_it() {
    let (service, _retries) = service();
    let failure = |category, email: &str, message: &str| ActionFailure {
        category,
        email: Some(email.into()),
        action_id: format!("create_user:{email}"),
        kind: "create_user".into(),
        action: format!("+ create technician {email}"),
        code: Some("SOME_CODE".into()),
        message: message.into(),
    };
    service.run_finished(
        report(
            RunOutcome::Incomplete,
            vec![
                failure(
                    FailureCategory::InvalidData,
                    "a@example.com",
                    "<script>x</script>",
                ),
                failure(FailureCategory::Permission, "b@example.com", "rights"),
                failure(FailureCategory::InvalidData, "c@example.com", "bad name"),
            ],
        ),
        stamp(0),
    );
    let app = router(service, &WebOptions::default()).expect("a router");
    let overview = send(&app, get("/")).await;
    assert!(overview.body.contains("id=\"banner-invalid_data\""));
    assert!(overview.body.contains("Invalid data (2)"));
    assert!(overview.body.contains("id=\"banner-permission\""));
    assert!(!overview.body.contains("id=\"banner-existing_account\""));
    let details = send(&app, get("/failures/invalid_data")).await;
    assert!(details.body.contains("a@example.com") && details.body.contains("c@example.com"));
    assert!(!details.body.contains("b@example.com"));
    assert!(!details.body.contains("<script>x"), "escaped");
    assert!(details.body.contains("&#60;script&#62;") || details.body.contains("&lt;script&gt;"));
    let missing = send(&app, get("/failures/everything")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let health = send(&app, get("/healthz")).await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
    for answer in [overview, details, missing, health] {
        let csp = answer.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("text");
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
        assert_eq!(answer.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }
}

/// /healthz is 200 only while the last run succeeded within two intervals.
#[tokio::test]
async fn health_needs_a_recent_success() {
    let (service, _retries) = service();
    let app = router(service.clone(), &WebOptions::default()).expect("a router");
    assert_eq!(
        send(&app, get("/healthz")).await.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "no run yet"
    );
    let mut recent = report(RunOutcome::Success, Vec::new());
    recent.finished = stamp(1799);
    service.run_finished(recent, stamp(0));
    assert_eq!(send(&app, get("/healthz")).await.status, StatusCode::OK);
    let mut stale = report(RunOutcome::Success, Vec::new());
    stale.finished = stamp(1801);
    service.run_finished(stale, stamp(0));
    let answer = send(&app, get("/healthz")).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        answer.body.contains("older than two intervals"),
        "{}",
        answer.body
    );
}

/// The strict star: the page's crate knows adsync-core only, never the adapters or the CLI.
#[test]
fn the_web_crate_depends_on_core_only() {
    let manifest = include_str!("../Cargo.toml");
    let dependencies = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .expect("a [dependencies] table");
    assert!(dependencies.contains("adsync-core"));
    for other in [
        "adsync-graph",
        "adsync-rescue",
        "adsync-cli",
        "adsync-tests",
    ] {
        assert!(
            !dependencies.contains(other),
            "adsync-web depends on {other}"
        );
    }
}

/// A plan a guard blocked: a `blocked` banner, and the pending changes show the reason and
/// the flag to use at a shell, with no control on the page that would override the guard.
#[tokio::test]
async fn a_blocked_plan_is_shown_with_its_reason_and_never_overridden() {
    use adsync_web::view::{BlockedPlan, PlanView};

    let (service, _retries) = service();
    let mut run = report(RunOutcome::Refused, Vec::new());
    run.actions.clear();
    run.plan = Some(PlanView {
        counts: vec![("to disable".into(), 40), ("unchanged".into(), 2)],
        summary: "40 to disable, 2 unchanged".into(),
        text: "- disable technician a@example.com (no longer in any paired technician group)\n"
            .into(),
        blocked: Some(BlockedPlan {
            reason: "40 disables exceed the budget of 5".into(),
            guards: vec![
                "40 disables exceed sync.safety.max_disables (10% of 42, at least 5)".into(),
            ],
            flags: vec!["--allow-destructive".into()],
        }),
    });
    service.run_finished(run, stamp(0));
    let app = router(service, &WebOptions::default()).expect("a router");
    let overview = send(&app, get("/")).await.body;
    assert!(overview.contains("id=\"banner-blocked\""));
    let plan = send(&app, get("/plan")).await.body;
    assert!(
        plan.contains("40 disables exceed sync.safety.max_disables"),
        "{plan}"
    );
    assert!(plan.contains("adsync apply --allow-destructive"), "{plan}");
    assert!(plan.contains("- disable technician a@example.com"));
    assert!(
        !plan.contains("<button"),
        "the plan page has no button at all"
    );
    let details = send(&app, get("/failures/blocked")).await.body;
    assert!(details.contains("10% of 42"), "{details}");
}

struct TwoPages;

impl History for TwoPages {
    fn page(&self, query: &HistoryQuery) -> Result<HistoryPage, String> {
        use adsync_web::view::{ActionLine, HistoryEntry};
        let entry = HistoryEntry::Action(ActionLine {
            time: "2026-11-21T23:05:12.345Z".into(),
            run_id: "r1".into(),
            action: "a".into(),
            kind: "create_user".into(),
            email: query.email.clone(),
            outcome: "applied".into(),
            ..ActionLine::default()
        });
        Ok(HistoryPage {
            entries: vec![entry],
            more: query.offset == 0,
        })
    }
}

/// The history's paging links keep the search, encoded, and stop at the last page.
#[tokio::test]
async fn history_pages_keep_the_search() {
    let (service, _retries) = Service::new(
        Duration::from_secs(900),
        Arc::new(FixedClock),
        Arc::new(TwoPages),
    );
    let app = router(service, &WebOptions::default()).expect("a router");
    let first = send(&app, get("/history?email=a%26b%40example.com"))
        .await
        .body;
    assert!(first.contains("2026-11-21 23:05:12 UTC"), "{first}");
    assert!(
        first.contains("a&#38;b@example.com") || first.contains("a&amp;b@example.com"),
        "the search is shown, escaped"
    );
    assert!(
        first.contains("href=\"/history?email=a%26b%40example.com&#38;page=2\"")
            || first.contains("href=\"/history?email=a%26b%40example.com&amp;page=2\""),
        "{first}"
    );
    assert!(!first.contains("id=\"newer\""));
    let second = send(&app, get("/history?email=a%26b%40example.com&page=2"))
        .await
        .body;
    assert!(second.contains("id=\"newer\"") && !second.contains("id=\"older\""));
    let runs = send(&app, get("/api/runs?page=1")).await;
    assert_eq!(runs.status, StatusCode::OK);
    assert!(
        runs.body.contains("\"older\":\"/api/runs?page=2\""),
        "{}",
        runs.body
    );
    let bad = send(&app, get("/history?page=0x10")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}
