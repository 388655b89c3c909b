//! `adsync goto login` against the GoTo emulator: the binary prints the sign-in address on
//! stderr, takes exactly one redirect on loopback, and stores the refresh token in an
//! owner-only file; without the client secret it stops with a hint. No secret is printed.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use adsync_goto::{RefreshTokenStore, TokenFile};
use adsync_tests::goto_emulator::{CLIENT_ID, CLIENT_SECRET, GotoEmulator, Route};

use crate::{adsync, scratch};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Plays the browser: the consent screen's redirect, then the loopback listener.
fn browse(runtime: &tokio::runtime::Runtime, authorize: &str) -> u16 {
    runtime.block_on(async {
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client");
        let consent = browser.get(authorize).send().await.expect("consent");
        let location = consent.headers()["location"]
            .to_str()
            .expect("a location")
            .to_owned();
        browser
            .get(location)
            .send()
            .await
            .expect("the listener answers")
            .status()
            .as_u16()
    })
}

#[test]
fn login_prints_the_address_and_stores_the_refresh_token() {
    let runtime = runtime();
    let seed = serde_yaml::from_str(include_str!(
        "../../../../fixtures/goto/emulator-account.yaml"
    ))
    .expect("the fixture parses");
    let emulator = runtime.block_on(GotoEmulator::start(&seed));
    let dir = scratch("goto-login");
    let mut child = Command::new(env!("CARGO_BIN_EXE_adsync"))
        .args([
            "goto",
            "login",
            "--client-id",
            CLIENT_ID,
            "--port",
            "0",
            "--wait",
            "120",
            "--token-file",
            "state/goto-token.json",
            "--authorize-url",
            &emulator.authorize_url(),
            "--token-url",
            &emulator.token_url(),
        ])
        .current_dir(&dir)
        .env_clear()
        .env("NO_COLOR", "1")
        .env("ADSYNC_GOTO_CLIENT_SECRET", CLIENT_SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("adsync starts");
    let stderr = child.stderr.take().expect("stderr");
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut printed = Vec::new();
    let address = loop {
        let line = received
            .recv_timeout(Duration::from_secs(60))
            .expect("the sign-in address is printed");
        printed.push(line.clone());
        if let Some(address) = line.trim().strip_prefix("http") {
            break format!("http{address}");
        }
    };
    assert!(address.starts_with(&emulator.authorize_url()), "{address}");
    assert_eq!(browse(&runtime, &address), 200);
    let output = child.wait_with_output().expect("adsync ends");
    printed.extend(received.try_iter());
    let stderr = printed.join("\n");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(output.stdout.is_empty(), "stdout carries no data here");
    assert!(stderr.contains("signed in"), "{stderr}");
    assert!(!stderr.contains(CLIENT_SECRET), "{stderr}");
    let file = TokenFile::new(dir.join("state/goto-token.json"));
    let token = file.load().expect("the refresh token was stored");
    assert!(!stderr.contains(token.expose()), "{stderr}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert_eq!(emulator.count(Route::Token), 1, "one code exchange");
}

#[test]
fn login_without_the_client_secret_names_the_variable() {
    let dir = scratch("goto-login-no-secret");
    let run = adsync(
        &dir,
        &["goto", "login", "--client-id", "x", "--port", "0"],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("ADSYNC_GOTO_CLIENT_SECRET"),
        "{}",
        run.transcript()
    );
    assert!(run.stderr.contains("hint:"), "{}", run.transcript());
    assert!(!dir.join(".adsync/goto-token.json").exists());
}
