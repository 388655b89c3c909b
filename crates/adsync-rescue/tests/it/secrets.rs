//! The API token, the password, the default password and the authcode never show in `Debug`,
//! in errors, or in a URL.

use adsync_core::adapter::{AdapterError, DetailRequest, Target};
use adsync_core::secret::Secret;
use adsync_rescue::{RescueCredentials, RescueSettings, RescueTarget};
use wiremock::MockServer;

use crate::support::*;

const SECRETS: [&str; 4] = [TOKEN, DEFAULT_PASSWORD, ADMIN_PASSWORD, Q3_AUTHCODE];

fn assert_clean(text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "a secret leaked into: {text}");
    }
}

#[tokio::test]
async fn debug_of_targets_and_settings_shows_no_secret() {
    let server = MockServer::start().await;
    assert_clean(&format!("{:?}", target(&server)));
    assert_clean(&format!("{:?}", password_target(&server)));
    assert_clean(&format!("{:?}", settings(&server)));
    let password_settings = RescueSettings {
        auth: RescueCredentials::Password {
            email: ADMIN_EMAIL.into(),
            password: Secret::new(ADMIN_PASSWORD),
        },
        ..settings(&server)
    };
    assert_clean(&format!("{password_settings:?}"));
    assert!(format!("{:?}", password_target(&server)).contains(ADMIN_EMAIL));
}

#[tokio::test]
async fn a_signed_in_target_shows_no_authcode_in_debug() {
    let server = MockServer::start().await;
    api("requestAuthCode")
        .respond_with(answer(format!("OK AUTHCODE: {Q3_AUTHCODE}")))
        .mount(&server)
        .await;
    api("getHierarchy_v2")
        .respond_with(answer(hierarchy(&org())))
        .mount(&server)
        .await;
    let target = password_target(&server);
    target
        .snapshot(&DetailRequest::default())
        .await
        .expect("read");
    assert_clean(&format!("{target:?}"));
}

#[tokio::test]
async fn errors_show_no_secret() {
    let mut errors: Vec<AdapterError> = Vec::new();

    // An authcode answer that cannot be read must not be quoted.
    let server = MockServer::start().await;
    api("requestAuthCode")
        .respond_with(answer(format!("OK\n\n{Q3_AUTHCODE}")))
        .mount(&server)
        .await;
    errors.push(
        password_target(&server)
            .snapshot(&DetailRequest::default())
            .await
            .expect_err("unreadable"),
    );

    // Refused credentials, a refused token, a refused password policy on create.
    for (method, code) in [
        ("requestAuthCode", "INVALID"),
        ("getHierarchy_v2", "INVALID_SECRETAUTHCODE"),
    ] {
        let server = MockServer::start().await;
        api(method).respond_with(answer(code)).mount(&server).await;
        errors.push(
            password_target(&server)
                .snapshot(&DetailRequest::default())
                .await
                .expect_err("refused"),
        );
        errors.push(
            target(&server)
                .snapshot(&DetailRequest::default())
                .await
                .expect_err("refused"),
        );
    }
    let server = MockServer::start().await;
    api("createUser")
        .respond_with(answer("OK 5"))
        .mount(&server)
        .await;
    api("setUser_v2")
        .respond_with(answer(
            "INVALIDPARAM_PASSWORD_HAS_TO_BE_AT_LEAST_8_CHARACTERS_LONG",
        ))
        .mount(&server)
        .await;
    api("deleteNode")
        .respond_with(answer("ERROR"))
        .mount(&server)
        .await;
    api("getHierarchy_v2")
        .respond_with(answer("garbage"))
        .mount(&server)
        .await;
    errors.push(
        target(&server)
            .apply(&create_kim(), None)
            .await
            .expect_err("refused"),
    );

    for error in &errors {
        assert_clean(&full_text(error));
        assert_clean(&format!("{:?}", error.hint));
    }
}

#[tokio::test]
async fn secrets_travel_in_the_form_body_never_in_the_url() {
    let server = MockServer::start().await;
    api("requestAuthCode")
        .respond_with(answer(format!("OK AUTHCODE: {Q3_AUTHCODE}")))
        .mount(&server)
        .await;
    api("getHierarchy_v2")
        .respond_with(answer(hierarchy(&org())))
        .mount(&server)
        .await;
    password_target(&server)
        .snapshot(&DetailRequest::default())
        .await
        .expect("read");
    for request in server.received_requests().await.unwrap_or_default() {
        assert_eq!(request.url.query(), None);
        assert_clean(request.url.as_str());
        for (name, value) in request.headers.iter() {
            assert_clean(&format!("{name}: {value:?}"));
        }
    }
}

#[test]
fn plain_http_is_refused_except_on_loopback() {
    let settings = |base_url: &str| RescueSettings {
        base_url: base_url.to_owned(),
        auth: RescueCredentials::Token(Secret::new(TOKEN)),
        default_password: None,
        concurrency: 1,
        retry: fast_retry(),
    };
    let error = RescueTarget::new(settings("http://rescue.example.com")).expect_err("refused");
    let adapter = AdapterError::from(error);
    assert!(adapter.message.contains("https"), "{}", adapter.message);
    assert!(RescueTarget::new(settings("http://127.0.0.1:8080")).is_ok());
    assert!(RescueTarget::new(settings("https://secure.logmeinrescue.com")).is_ok());
}

#[test]
fn regions_have_their_base_urls() {
    use adsync_core::config::Region;
    assert_eq!(
        adsync_rescue::base_url_for(Region::Global),
        "https://secure.logmeinrescue.com"
    );
    for region in [Region::Global, Region::Eu, Region::Enterprise] {
        assert!(adsync_rescue::base_url_for(region).starts_with("https://"));
        assert!(
            RescueTarget::new(RescueSettings {
                base_url: adsync_rescue::base_url_for(region).to_owned(),
                auth: RescueCredentials::Token(Secret::new(TOKEN)),
                default_password: None,
                concurrency: 1,
                retry: fast_retry(),
            })
            .is_ok()
        );
    }
}

/// Collects every log line the test thread writes (see [`capture_logs`]).
#[derive(Clone, Default)]
struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

thread_local! {
    /// Where the log lines of this thread go, when a test captures them.
    static CAPTURE: std::cell::RefCell<Option<Logs>> = const { std::cell::RefCell::new(None) };
}

/// Writes a log line to the capture of the thread that logs it, if any.
struct Routed;

impl std::io::Write for Routed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|capture| match &mut *capture.borrow_mut() {
            Some(logs) => logs.write(buf),
            None => Ok(buf.len()),
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures, from now on, every log line at every level that this thread writes.
///
/// A process-wide subscriber routes the lines by thread, rather than a subscriber set as this
/// thread's default: `tracing` caches whether a log statement is wanted when another test's
/// thread first reaches it, and a thread-scoped subscriber could then miss lines at random.
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

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_at_every_level_show_no_secret() {
    let logs = capture_logs();

    // Signing in, a renewal, retries, an ambiguous create checked by a read, and a failed
    // create rolled back: every path that logs.
    let server = MockServer::start().await;
    api("requestAuthCode")
        .respond_with(answer(format!("OK AUTHCODE: {Q3_AUTHCODE}")))
        .mount(&server)
        .await;
    api("getHierarchy_v2")
        .respond_with(answer("NOTLOGGEDIN"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    api("getHierarchy_v2")
        .respond_with(wiremock::ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    api("getHierarchy_v2")
        .respond_with(answer(hierarchy(&org())))
        .mount(&server)
        .await;
    api("createUser")
        .respond_with(answer("ERROR"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    api("createUser")
        .respond_with(answer("OK 555"))
        .mount(&server)
        .await;
    api("setUser_v2")
        .respond_with(answer("INVALIDPARAM_EMAIL_ALREADY_IN_USE"))
        .mount(&server)
        .await;
    api("deleteNode")
        .respond_with(answer("INVALID_DELETE"))
        .mount(&server)
        .await;

    let target = password_target(&server);
    target
        .snapshot(&DetailRequest::default())
        .await
        .expect("read");
    let error = target
        .apply(&create_kim(), None)
        .await
        .expect_err("refused");
    assert_clean(&full_text(&error));

    let text = String::from_utf8_lossy(
        &logs
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
    .into_owned();
    assert!(
        text.contains("signing in again"),
        "the renewal was logged: {text}"
    );
    assert!(text.contains("retrying"), "the retries were logged: {text}");
    assert_clean(&text);
}

/// Answers with the request's own form, as a misconfigured proxy might.
struct Reflect;

impl wiremock::Respond for Reflect {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        wiremock::ResponseTemplate::new(200).set_body_bytes(request.body.clone())
    }
}

fn assert_never_quoted(error: &AdapterError, secrets: &[&str]) {
    let text = format!("{} {:?}", full_text(error), error.code);
    for secret in secrets {
        assert!(!text.contains(secret), "`{secret}` leaked into: {text}");
    }
    assert!(!text.is_empty());
}

/// A tree holding node 555, the empty user a `createUser` under L2 made.
fn org_with_empty_555() -> String {
    let mut nodes = org();
    nodes.push(user_rec(555, 11, "Technician", "", ""));
    hierarchy(&nodes)
}

/// A create under L2 whose `setUser_v2` answers `set_user` (and is rolled back).
async fn mount_failing_create(server: &MockServer, set_user: impl Into<String>) {
    mount_answer(server, "getHierarchy_v2", org_with_empty_555()).await;
    mount_answer(server, "createUser", "OK 555").await;
    mount_answer(server, "setUser_v2", set_user).await;
    mount_answer(server, "deleteNode", "OK").await;
}

#[tokio::test]
async fn a_bare_authcode_answered_by_request_auth_code_is_not_quoted() {
    let server = MockServer::start().await;
    mount_answer(&server, "requestAuthCode", Q3_AUTHCODE).await;
    let error = password_target(&server)
        .snapshot(&DetailRequest::default())
        .await
        .expect_err("no authcode marker");
    assert_never_quoted(&error, &[Q3_AUTHCODE, &Q3_AUTHCODE[..40]]);
}

#[tokio::test]
async fn a_proxy_reflecting_the_form_gets_no_secret_quoted() {
    let server = MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(Reflect)
        .mount(&server)
        .await;
    // Signing in: the form holds the e-mail and the password.
    let error = password_target(&server)
        .snapshot(&DetailRequest::default())
        .await
        .expect_err("not an answer");
    assert_never_quoted(&error, &[ADMIN_PASSWORD, "hunter2"]);
    // A signed call: the form holds the API token.
    let error = target(&server)
        .snapshot(&DetailRequest::default())
        .await
        .expect_err("not an answer");
    assert_never_quoted(&error, &[TOKEN, "5f1e9c2a"]);
}

#[tokio::test]
async fn set_user_answering_the_default_password_is_not_quoted() {
    let server = MockServer::start().await;
    mount_failing_create(&server, format!("{DEFAULT_PASSWORD} and more")).await;
    let error = target(&server)
        .apply(&create_kim(), None)
        .await
        .expect_err("refused");
    assert_never_quoted(&error, &[DEFAULT_PASSWORD]);
}

/// Secrets that look like Rescue codes (capitals, digits, underscores) pass the shape test; the
/// client still knows them and does not quote them.
#[tokio::test]
async fn code_shaped_secrets_sent_back_are_not_quoted() {
    const SHAPED_TOKEN: &str = "TOKEN_4F1E9C2A77";
    const SHAPED_PASSWORD: &str = "ZEBRA_7734_PASS";
    const SHAPED_AUTHCODE: &str = "AUTHCODE9X7Y6Z55";
    let server = MockServer::start().await;
    mount_answer(&server, "getHierarchy_v2", format!("{SHAPED_TOKEN}\n")).await;
    let shaped = |server: &MockServer, auth: RescueCredentials| {
        RescueTarget::new(RescueSettings {
            auth,
            default_password: Some(Secret::new(SHAPED_PASSWORD)),
            ..settings(server)
        })
        .expect("a target")
    };
    let token = RescueCredentials::Token(Secret::new(SHAPED_TOKEN));
    let error = shaped(&server, token.clone())
        .snapshot(&DetailRequest::default())
        .await
        .expect_err("not OK");
    assert_never_quoted(&error, &[SHAPED_TOKEN]);

    let server = MockServer::start().await;
    mount_failing_create(&server, SHAPED_PASSWORD).await;
    let error = shaped(&server, token)
        .apply(&create_kim(), None)
        .await
        .expect_err("refused");
    assert_never_quoted(&error, &[SHAPED_PASSWORD]);

    // An authcode issued during the run, sent back by a later call.
    let server = MockServer::start().await;
    mount_answer(
        &server,
        "requestAuthCode",
        format!("OK AUTHCODE: {SHAPED_AUTHCODE}"),
    )
    .await;
    mount_answer(&server, "getHierarchy_v2", SHAPED_AUTHCODE).await;
    let password = RescueCredentials::Password {
        email: ADMIN_EMAIL.to_owned(),
        password: Secret::new(ADMIN_PASSWORD),
    };
    let error = shaped(&server, password)
        .snapshot(&DetailRequest::default())
        .await
        .expect_err("not OK");
    assert_never_quoted(&error, &[SHAPED_AUTHCODE]);
}
