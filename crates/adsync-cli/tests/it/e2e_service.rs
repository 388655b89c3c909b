//! `adsync run --listen` end to end over plain HTTP, as `curl` sees it: the real binary against
//! the emulators, with failures injected through the Rescue emulator.

use std::io::{Read, Write};
use std::time::Duration;

use adsync_rescue::api::method;
use adsync_tests::rescue_emulator::Fault;

use crate::emulated::{Emulated, wait_for_exit};
use crate::service::{Served, clear_faults, csrf_of, demo_with_two_failures, parse_prometheus};

const TOKEN: &str = "service-page-token-0123456789";

fn emails_in(failures: &serde_json::Value, category: &str) -> Vec<String> {
    let mut emails: Vec<String> = failures["failures"]
        .as_array()
        .expect("a failures list")
        .iter()
        .filter(|f| f["category"] == category)
        .map(|f| f["email"].as_str().unwrap_or_default().to_owned())
        .collect();
    emails.sort();
    emails
}

/// A run with failures of two categories makes /healthz 503 and lists the users in
/// /api/failures; Retry after clearing the faults runs again, /healthz turns 200, and /metrics
/// (a valid Prometheus text all along) counts both runs.
#[test]
fn healthz_is_503_after_failures_and_200_after_retry_and_metrics_parse() {
    let served = Served::start(
        demo_with_two_failures("e2e-service"),
        &["--listen", "127.0.0.1:0"],
    );
    let first = served.wait_for_run_after(None);
    assert_eq!(first["last_run"]["outcome"], "incomplete", "{first:#}");

    let health = served.get("/healthz");
    assert_eq!(health.status, 503, "{}", health.body);
    let health = health.json();
    assert_eq!(health["status"], "failing");
    assert!(
        health["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("incomplete"),
        "{health}"
    );

    let failures = served.get("/api/failures").json();
    assert_eq!(
        emails_in(&failures, "existing_account"),
        ["victor.almeida@contoso.com"]
    );
    let licences = emails_in(&failures, "out_of_licenses");
    for email in ["bruno.costa@contoso.com", "gabriel.nunez@contoso.com"] {
        assert!(licences.iter().any(|e| e == email), "{licences:?}");
    }
    let taken = failures["failures"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["category"] == "existing_account")
        .expect("the existing account");
    assert_eq!(taken["code"], "INVALIDPARAM_EMAIL_ALREADY_IN_USE");
    assert_eq!(taken["kind"], "create_user");
    let banners: Vec<&str> = failures["banners"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["category"].as_str())
        .collect();
    assert_eq!(banners, ["existing_account", "out_of_licenses"]);

    let metrics = served.get("/metrics");
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.headers["content-type"].starts_with("text/plain; version=0.0.4"),
        "{:?}",
        metrics.headers
    );
    let samples = parse_prometheus(&metrics.body);
    assert_eq!(samples["adsync_runs_total{outcome=\"incomplete\"}"], 1.0);
    assert_eq!(samples["adsync_runs_total{outcome=\"success\"}"], 0.0);
    assert!(samples["adsync_actions_total{kind=\"create_user\",outcome=\"failed\"}"] >= 2.0);
    assert!(samples["adsync_requests_total{api=\"rescue\",status=\"200\"}"] >= 10.0);
    assert!(samples["adsync_requests_total{api=\"graph\",status=\"200\"}"] >= 5.0);
    assert_eq!(samples["adsync_read_duration_seconds_count"], 1.0);
    assert_eq!(samples["adsync_last_success_timestamp_seconds"], 0.0);
    assert_eq!(
        samples["adsync_last_run_failures{banner=\"existing_account\"}"],
        1.0
    );

    clear_faults(&served.emulated);
    let overview = served.get("/");
    let csrf = csrf_of(&overview.body).expect("the Retry form carries a CSRF token");
    let retry = served.send(|c| {
        c.post(format!("{}/retry", served.base))
            .header("origin", &served.base)
            .form(&[("csrf", csrf.as_str())])
    });
    assert_eq!(retry.status, 303, "{}", retry.body);
    assert_eq!(retry.headers["location"], "/?retry=started");

    let second = served.wait_for_run_after(first["last_run"]["finished"].as_str());
    assert_eq!(second["last_run"]["outcome"], "success", "{second:#}");
    assert_eq!(second["last_run"]["trigger"], "retry");
    let health = served.get("/healthz");
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(health.json()["status"], "ok");
    assert_eq!(
        served.get("/api/failures").json()["failures"],
        serde_json::json!([])
    );
    let samples = parse_prometheus(&served.get("/metrics").body);
    assert_eq!(samples["adsync_runs_total{outcome=\"success\"}"], 1.0);
    assert!(samples["adsync_last_success_timestamp_seconds"] > 1.7e9);

    let runs = served.get("/api/runs").json();
    let outcomes: Vec<&str> = runs["runs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["success", "incomplete"], "{runs:#}");
    let emulated = served.stop();
    emulated.assert_no_duplicate_users();
    let plan = emulated.run(&["plan", "--detailed-exitcode", "-q"]);
    assert_eq!(plan.code, 0, "converged: {}", plan.transcript());
}

/// A read that fails is a `failed_read` banner whose details name the read, and no plan.
#[test]
fn a_failed_read_is_a_banner_with_the_error_and_no_plan() {
    let emulated = Emulated::start("demo", "e2e-service-read");
    emulated.rescue.inject(
        Some(method::GET_HIERARCHY),
        Fault::Http {
            status: 503,
            retry_after: None,
        },
        3,
    );
    let served = Served::start(emulated, &["--listen", "127.0.0.1:0"]);
    let status = served.wait_for_run_after(None);
    assert_eq!(status["last_run"]["outcome"], "error");
    assert_eq!(served.get("/healthz").status, 503);
    let failures = served.get("/api/failures").json();
    assert_eq!(failures["banners"][0]["category"], "failed_read");
    assert_eq!(failures["error"]["kind"], "failed_read");
    let details = served.get("/failures/failed_read");
    assert_eq!(details.status, 200);
    assert!(
        details
            .body
            .contains("failed to read the LogMeIn Rescue organization"),
        "{}",
        details.body
    );
    let plan = served.get("/plan");
    assert!(plan.body.contains("No plan yet"), "{}", plan.body);
    served.stop();
}

fn token_file(emulated: &Emulated, text: &str) -> String {
    std::fs::write(emulated.dir.join("page.token"), text).expect("token file");
    "page.token".to_owned()
}

/// A listener on every address needs the token file; with it, every route but the login
/// answers 401 without the token, the bearer header and the login's cookie let callers in, and
/// a cross-site POST to Retry is refused.
#[test]
fn a_non_loopback_listener_needs_the_token_on_every_route_but_the_login() {
    let emulated = Emulated::start("demo", "e2e-service-token");
    let refused = emulated.run(&["run", "--every", "1h", "--listen", "0.0.0.0:0"]);
    assert_eq!(refused.code, 1, "{}", refused.transcript());
    assert!(
        refused.stderr.contains("pass --listen-token-file FILE"),
        "{}",
        refused.stderr
    );
    let file = token_file(&emulated, "short\n");
    let short = emulated.run(&[
        "run",
        "--every",
        "1h",
        "--listen",
        "0.0.0.0:0",
        "--listen-token-file",
        &file,
    ]);
    assert_eq!(short.code, 1, "{}", short.transcript());
    assert!(
        short.stderr.contains("at least 16 characters"),
        "{}",
        short.stderr
    );
    assert!(
        !short.stderr.contains("short\n"),
        "the token is never echoed"
    );

    let file = token_file(&emulated, &format!("{TOKEN}\n"));
    let mut served = Served::start(
        emulated,
        &["--listen", "0.0.0.0:0", "--listen-token-file", &file],
    );
    // Bound on every address; this test talks to it over loopback only.
    served.base = served.base.replace("0.0.0.0", "127.0.0.1");
    let base = served.base.clone();
    for path in [
        "/",
        "/plan",
        "/history",
        "/history?email=jane",
        "/failures/existing_account",
        "/healthz",
        "/metrics",
        "/api/status",
        "/api/runs",
        "/api/failures",
        "/no-such-page",
    ] {
        let answer = served.get(path);
        assert_eq!(answer.status, 401, "GET {path}: {}", answer.body);
        assert!(!answer.body.contains("adsync_runs_total"), "{path}");
        let bearer = served.send(|c| c.get(format!("{base}{path}")).bearer_auth(TOKEN));
        let expected = if path == "/no-such-page" { 404 } else { 200 };
        assert!(
            bearer.status == expected || (path == "/healthz" && bearer.status == 503),
            "GET {path} with the token: {} {}",
            bearer.status,
            bearer.body
        );
        let wrong = served.send(|c| c.get(format!("{base}{path}")).bearer_auth("x".repeat(29)));
        assert_eq!(wrong.status, 401, "GET {path} with a wrong token");
    }
    for path in ["/retry", "/logout"] {
        let answer = served.send(|c| c.post(format!("{base}{path}")).form(&[("csrf", "x")]));
        assert_eq!(answer.status, 401, "POST {path}");
    }
    assert_eq!(served.get("/login").status, 200);

    let wrong = served.send(|c| {
        c.post(format!("{base}/login"))
            .form(&[("token", "not-the-token-at-all"), ("next", "/")])
    });
    assert_eq!(wrong.status, 401);
    assert!(!wrong.headers.contains_key("set-cookie"));
    let login = served.send(|c| {
        c.post(format!("{base}/login"))
            .header("origin", &base)
            .form(&[("token", TOKEN), ("next", "/plan")])
    });
    assert_eq!(login.status, 303, "{}", login.body);
    assert_eq!(login.headers["location"], "/plan");
    let cookie = &login.headers["set-cookie"];
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains(TOKEN),
        "the cookie is a session, not the token"
    );
    let session = cookie.split(';').next().expect("name=value").to_owned();
    let overview = served.send(|c| c.get(format!("{base}/")).header("cookie", &session));
    assert_eq!(overview.status, 200);
    assert!(!overview.body.contains(TOKEN));
    let csrf = csrf_of(&overview.body).expect("a CSRF token");

    served.bearer = Some(TOKEN.to_owned());
    let before = served.wait_for_status("the first run ended", |s| {
        s["running"].is_null() && !s["last_run"].is_null()
    });
    let cross_site = served.send(|c| {
        c.post(format!("{base}/retry"))
            .header("cookie", &session)
            .header("origin", "http://evil.example")
            .form(&[("csrf", csrf.as_str())])
    });
    assert_eq!(cross_site.status, 403, "{}", cross_site.body);
    let fetch_site = served.send(|c| {
        c.post(format!("{base}/retry"))
            .header("cookie", &session)
            .header("sec-fetch-site", "cross-site")
            .form(&[("csrf", csrf.as_str())])
    });
    assert_eq!(fetch_site.status, 403);
    let without_csrf = served.send(|c| {
        c.post(format!("{base}/retry"))
            .header("cookie", &session)
            .header("origin", &base)
            .form(&[("csrf", "forged")])
    });
    assert_eq!(without_csrf.status, 403);
    let after = served.get("/api/status").json();
    assert_eq!(after["last_run"]["run_id"], before["last_run"]["run_id"]);
    assert_eq!(
        after["retry_requested"], false,
        "no refused POST asked for a run"
    );

    let same_site = served.send(|c| {
        c.post(format!("{base}/retry"))
            .header("cookie", &session)
            .header("origin", &base)
            .form(&[("csrf", csrf.as_str())])
    });
    assert_eq!(same_site.status, 303);
    served.wait_for_status("the retry ran", |s| {
        s["last_run"]["trigger"] == "retry" && s["running"].is_null()
    });
    // Scripts: the bearer header and no CSRF token.
    let scripted = served.send(|c| {
        c.post(format!("{base}/retry"))
            .bearer_auth(TOKEN)
            .header("accept", "application/json")
    });
    assert!(
        scripted.status == 202 || scripted.status == 409,
        "{} {}",
        scripted.status,
        scripted.body
    );
    served.stop();
}

/// `--listen-read-only` shows no Retry button and refuses `POST /retry`.
#[test]
fn read_only_hides_retry_and_refuses_it() {
    let served = Served::start(
        Emulated::start("demo", "e2e-service-read-only"),
        &["--listen", "127.0.0.1:0", "--listen-read-only"],
    );
    let status = served.wait_for_run_after(None);
    let overview = served.get("/");
    assert_eq!(overview.status, 200);
    assert!(
        !overview.body.contains("Retry sync</button>"),
        "{}",
        overview.body
    );
    assert!(!overview.body.contains("action=\"/retry\""));
    let csrf = status["csrf_token"]
        .as_str()
        .expect("a csrf token")
        .to_owned();
    let retry = served.send(|c| {
        c.post(format!("{}/retry", served.base))
            .header("origin", &served.base)
            .form(&[("csrf", csrf.as_str())])
    });
    assert_eq!(retry.status, 403, "{}", retry.body);
    let after = served.get("/api/status").json();
    assert_eq!(after["last_run"]["run_id"], status["last_run"]["run_id"]);
    assert_eq!(after["retry_requested"], false);
    served.stop();
}

/// Raw bytes over TCP, for requests no HTTP client would send.
fn raw(base: &str, request: &[u8]) -> String {
    let address = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connected");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// Malformed requests get 4xx answers and the service keeps serving; a `Host` that is not
/// loopback (a rebound DNS name) is refused on a listener without a token.
#[test]
fn malformed_requests_get_4xx_and_never_stop_the_service() {
    let mut served = Served::start(
        Emulated::start("demo", "e2e-service-malformed"),
        &["--listen", "127.0.0.1:0"],
    );
    served.wait_for_run_after(None);
    let base = served.base.clone();
    let status_line = |text: &str| text.lines().next().unwrap_or_default().to_owned();
    for (request, expected) in [
        (&b"GARBAGE\r\n\r\n"[..], "HTTP/1.1 400"),
        (b"GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n", "HTTP/1.1 421"),
        (b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", "HTTP/1.1 421"),
        (b"GET /history?page=minus-one HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", "HTTP/1.1 400"),
        (b"GET /history?sort=evil HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", "HTTP/1.1 400"),
        (b"POST /retry HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", "HTTP/1.1 415"),
        (b"GET /failures/%ZZ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", "HTTP/1.1 404"),
        (b"DELETE / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", "HTTP/1.1 405"),
    ] {
        let answer = raw(&base, request);
        assert!(
            status_line(&answer).starts_with(expected),
            "{}: {answer}",
            String::from_utf8_lossy(request)
        );
    }
    let big = format!(
        "POST /retry HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\nConnection: close\r\n\r\ncsrf={}",
        "a".repeat(99_995)
    );
    assert!(status_line(&raw(&base, big.as_bytes())).starts_with("HTTP/1.1 413"));
    let unknown = served.get("/failures/delete_everything");
    assert_eq!(unknown.status, 404);
    for path in ["/", "/healthz", "/failures/existing_account"] {
        let answer = served.get(path);
        assert!(
            answer.status == 200,
            "{path} still served: {}",
            answer.status
        );
        for header in ["content-security-policy", "x-content-type-options"] {
            assert!(answer.headers.contains_key(header), "{path}: {header}");
        }
        assert!(answer.headers["content-security-policy"].contains("frame-ancestors 'none'"));
        assert_eq!(answer.headers["x-content-type-options"], "nosniff");
    }
    served.base = base;
    let emulated = served.stop();
    drop(emulated);
}

/// A `--listen` that is not an address, and one already taken, end the command with exit 1.
#[test]
fn a_bad_or_taken_listen_address_is_an_error() {
    let emulated = Emulated::start("demo", "e2e-service-address");
    let bad = emulated.run(&["run", "--every", "1h", "--listen", "somewhere:80"]);
    assert_eq!(bad.code, 1, "{}", bad.transcript());
    assert!(bad.stderr.contains("is not an address"), "{}", bad.stderr);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = taken.local_addr().expect("address").port().to_string();
    let mut child = emulated.spawn(&["run", "--every", "1h", "--listen", &port], "run");
    let status = wait_for_exit(&mut child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(1));
    assert!(
        emulated
            .read("run.stderr")
            .contains("cannot listen on 127.0.0.1:"),
        "{}",
        emulated.read("run.stderr")
    );
    let flags = emulated.run(&["run", "--every", "1h", "--listen-read-only"]);
    assert_eq!(flags.code, 1, "--listen-read-only needs --listen");
}
