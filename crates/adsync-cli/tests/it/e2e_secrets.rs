//! Secrets never leave the process: with every secret in play (the Graph client secret, the
//! Rescue API token or account password, the default password of new users), no value appears
//! in stdout, stderr at any log level, the saved plan, the workbook or the state directory.

use std::io::Read;

use adsync_rescue::api::method;
use adsync_tests::rescue_emulator::Fault;

use crate::Run;
use crate::emulated::{Auth, DEFAULT_PASSWORD, Emulated, SECRETS};

/// Every file the runs wrote: its bytes, the workbook's unzipped (an xlsx is a zip archive, so
/// its raw bytes would hide a secret).
fn written_files(emulated: &Emulated) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for relative in [
        "plan.json",
        ".adsync/audit.jsonl",
        ".adsync/last-run.json",
        ".adsync/links.json",
    ] {
        let bytes = std::fs::read(emulated.dir.join(relative))
            .unwrap_or_else(|error| panic!("{relative} was written: {error}"));
        assert!(!bytes.is_empty(), "{relative} is empty");
        files.push((relative.to_owned(), bytes));
    }
    let workbook = std::fs::File::open(emulated.dir.join("report.xlsx")).expect("the workbook");
    let mut archive = zip::ZipArchive::new(workbook).expect("an xlsx is a zip archive");
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).expect("an entry");
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("inflated");
        files.push((format!("report.xlsx:{}", entry.name()), bytes));
    }
    files
}

fn assert_no_secret(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for secret in SECRETS {
        assert!(
            !text.contains(secret),
            "{what} holds a secret value:\n{text}"
        );
    }
}

fn assert_clean(label: &str, run: &Run) {
    assert_no_secret(&format!("{label}: stdout"), run.stdout.as_bytes());
    assert_no_secret(&format!("{label}: stderr"), run.stderr.as_bytes());
}

/// Every command that reads a secret, at `-vv` and at `RUST_LOG=trace`, with API-token sign-in.
#[test]
fn no_secret_in_any_output_or_file_with_an_api_token() {
    let emulated = Emulated::start("demo", "e2e-secrets-token");
    let mut runs = Vec::new();
    for args in [
        &["validate", "--online", "-vv"][..],
        &["plan", "-vv", "--out", "plan.json"],
        &["plan", "-vv", "--json"],
        &["dry-run", "-vv", "--out", "report.xlsx"],
        &[
            "dry-run",
            "-vv",
            "--plan",
            "plan.json",
            "--out",
            "report.xlsx",
        ],
        &["apply", "-vv", "plan.json"],
        &["apply", "-vv", "--yes", "--json"],
        &["status", "-vv"],
    ] {
        let run = emulated.run(args);
        assert!(run.code == 0, "{args:?}: {}", run.transcript());
        runs.push((format!("{args:?}"), run));
    }
    let mut env = emulated.env();
    env.push(("RUST_LOG", "trace"));
    let run = emulated.run_with(&["plan", "--json"], &env);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stderr.contains("TRACE"),
        "RUST_LOG=trace logs at trace level"
    );
    runs.push(("plan at RUST_LOG=trace".into(), run));

    // The runs did use the secrets: both sides were read and written, users were created
    // with the default password, and -vv logged the requests.
    assert!(emulated.rescue.count(method::CREATE_USER) >= 4);
    let created = emulated.users_with_email("victor.almeida@contoso.com");
    assert_eq!(
        emulated.rescue.password_of(created[0].id).as_deref(),
        Some(DEFAULT_PASSWORD)
    );
    assert!(
        runs.iter().any(|(_, run)| run.stderr.contains("DEBUG")),
        "-vv logs at debug level"
    );
    for (label, run) in &runs {
        assert_clean(label, run);
    }
    for (name, bytes) in written_files(&emulated) {
        assert_no_secret(&name, &bytes);
    }
}

/// The same with password sign-in, a session that ends mid-run (so the password is sent
/// again) and failures whose messages reach the audit log.
#[test]
fn no_secret_in_any_output_or_file_with_password_sign_in() {
    let emulated = Emulated::start("demo", "e2e-secrets-password");
    emulated.write_config(Auth::Password);
    let mut runs = Vec::new();
    for args in [
        &["validate", "--online", "-vv"][..],
        &["plan", "-vv", "--out", "plan.json"],
        &["dry-run", "-vv", "--out", "report.xlsx"],
    ] {
        let run = emulated.run(args);
        assert!(run.code == 0, "{args:?}: {}", run.transcript());
        runs.push((format!("{args:?}"), run));
    }
    emulated
        .rescue
        .inject(Some(method::SET_USER), Fault::NotLoggedIn, 1);
    emulated
        .rescue
        .inject(Some(method::MOVE_NODE), Fault::Error, 3);
    let mut env = emulated.env();
    env.push(("RUST_LOG", "trace"));
    let run = emulated.run_with(&["apply", "--yes", "--json"], &env);
    assert_eq!(run.code, 4, "{}", run.transcript());
    runs.push(("apply at RUST_LOG=trace".into(), run));
    assert!(
        emulated.rescue.authcodes_issued() >= 5,
        "every run signed in, the apply twice"
    );
    for (label, run) in &runs {
        assert_clean(label, run);
    }
    for (name, bytes) in written_files(&emulated) {
        assert_no_secret(&name, &bytes);
    }
}

/// The service page of `run --listen`: every page, Details view, JSON answer and the metrics,
/// after a run with password sign-in, a session that ends mid-run and failures whose messages
/// reach the page, hold no secret value, and neither the page's own access token.
#[test]
fn no_secret_in_any_page_json_answer_or_metric_of_the_service() {
    use crate::service::{Served, csrf_of};

    const PAGE_TOKEN: &str = "page-access-token-never-shown-42";
    let emulated = Emulated::start("demo", "e2e-secrets-service");
    emulated.write_config(Auth::Password);
    emulated
        .rescue
        .inject(Some(method::SET_USER), Fault::NotLoggedIn, 1);
    emulated
        .rescue
        .inject(Some(method::MOVE_NODE), Fault::Error, 3);
    std::fs::write(emulated.dir.join("page.token"), PAGE_TOKEN).expect("token file");
    let mut served = Served::start(
        emulated,
        &[
            "run",
            "-vv",
            "--listen",
            "127.0.0.1:0",
            "--listen-token-file",
            "page.token",
        ][1..],
    );
    served.bearer = Some(PAGE_TOKEN.to_owned());
    let status = served.wait_for_run_after(None);
    assert_eq!(status["last_run"]["outcome"], "incomplete", "{status:#}");
    // A Retry, so that the history and the metrics hold two runs.
    let overview = served.get("/");
    let csrf = csrf_of(&overview.body);
    assert!(csrf.is_none(), "a bearer caller gets no CSRF token");
    let retry = served.send(|c| {
        c.post(format!("{}/retry", served.base))
            .bearer_auth(PAGE_TOKEN)
            .header("accept", "application/json")
    });
    assert_eq!(retry.status, 202, "{}", retry.body);
    served.wait_for_run_after(status["last_run"]["finished"].as_str());

    let mut paths: Vec<String> = [
        "/",
        "/plan",
        "/history",
        "/history?email=contoso",
        "/healthz",
        "/metrics",
        "/api/status",
        "/api/runs",
        "/api/failures",
        "/login",
        "/no-such-page",
    ]
    .iter()
    .map(|p| (*p).to_owned())
    .collect();
    for category in [
        "existing_account",
        "out_of_licenses",
        "invalid_data",
        "permission",
        "not_found",
        "transient",
        "unknown",
        "blocked",
        "failed_read",
        "run_failed",
    ] {
        paths.push(format!("/failures/{category}"));
    }
    let mut seen = 0;
    for path in &paths {
        let answer = served.get(path);
        seen += answer.body.len();
        let everything = format!("{:?}\n{}", answer.headers, answer.body);
        assert_no_secret(&format!("GET {path}"), everything.as_bytes());
        assert!(
            !everything.contains(PAGE_TOKEN),
            "GET {path} shows the page token"
        );
    }
    assert!(seen > 20_000, "the pages had content: {seen} bytes");
    let emulated = served.stop();
    assert_no_secret("run.stderr at -vv", emulated.read("run.stderr").as_bytes());
    assert!(!emulated.read("run.stderr").contains(PAGE_TOKEN));
}
