//! No log line at any level carries a secret: the client secret, a refresh token (old or
//! rotated) or an access token, through a refresh, a rotation, a 401 renewal, 429 retries and a
//! create whose answer is lost.

use std::sync::{Arc, Mutex, PoisonError};

use adsync_goto::{AdminRole, Key, Operation};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{
    ACCESS, CLIENT_SECRET, REFRESH, admin, empty_collections, empty_page, target,
};

const ROTATED: &str = "rotated-refresh-9e1d-very-secret";

#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

thread_local! {
    static CAPTURE: std::cell::RefCell<Option<Logs>> = const { std::cell::RefCell::new(None) };
}

/// Writes a line to the capture of the thread that logs it. A process-wide subscriber routes by
/// thread: `tracing` caches interest per call site, so a thread-scoped one could miss lines.
struct Routed;

impl std::io::Write for Routed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|capture| match &*capture.borrow() {
            Some(logs) => {
                logs.0
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend_from_slice(buf);
                Ok(buf.len())
            }
            None => Ok(buf.len()),
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Logs {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(|| Routed)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
    });
    let logs = Logs::default();
    CAPTURE.with(|capture| *capture.borrow_mut() = Some(logs.clone()));
    logs
}

#[tokio::test]
async fn logs_at_every_level_show_no_secret() {
    let logs = capture_logs();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": ACCESS, "refresh_token": ROTATED, "expires_in": 3600
        })))
        .mount(&server)
        .await;
    empty_collections(&server).await;
    for (status, priority) in [(401, 1), (429, 2)] {
        Mock::given(method("GET"))
            .and(path(admin("/users")))
            .respond_with(ResponseTemplate::new(status))
            .up_to_n_times(1)
            .with_priority(priority)
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(admin("/users")))
        .respond_with(empty_page())
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(admin("/users")))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let (target, store) = target(&server);
    target.read_snapshot().await.expect("read");
    let create = Operation::CreateUser {
        email: "kim@contoso.com".to_owned(),
        first_name: "Kim".to_owned(),
        last_name: "Lee".to_owned(),
        licences: [Key::new("5").unwrap()].into(),
        role: AdminRole::None,
        group: None,
    };
    let error = target
        .apply_operation(&create)
        .await
        .expect_err("ambiguous");
    assert_eq!(store.current().unwrap().expose(), ROTATED);

    let text = String::from_utf8_lossy(&logs.0.lock().unwrap_or_else(PoisonError::into_inner))
        .into_owned();
    assert!(
        text.contains("renewing it once"),
        "the renewal was logged: {text}"
    );
    assert!(text.contains("retrying"), "the retry was logged: {text}");
    assert!(
        text.contains("looking the user up"),
        "the lookup was logged: {text}"
    );
    for secret in [CLIENT_SECRET, REFRESH, ROTATED, ACCESS] {
        assert!(!text.contains(secret), "{secret} in the logs:\n{text}");
        assert!(!format!("{error:?}").contains(secret));
    }
}
