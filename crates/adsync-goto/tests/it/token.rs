//! Access tokens refreshed, renewed once on a 401, rotated refresh tokens stored atomically in
//! an owner-only file, revoked tokens reported with the way out, and no secret in any text.

use std::sync::Arc;

use adsync_core::adapter::AdapterError;
use adsync_core::secret::Secret;
use adsync_goto::{Error, GotoTarget, RefreshTokenStore, TokenFile};
use base64::Engine;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{
    ACCESS, CLIENT_SECRET, REFRESH, admin, empty_collections, empty_page, settings, target,
    token_endpoint,
};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "adsync-goto-{name}-{}-{:x}",
        std::process::id(),
        fastrand_seed()
    ));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

fn fastrand_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

#[tokio::test]
async fn the_refresh_uses_basic_auth_and_a_401_renews_the_token_once() {
    let server = MockServer::start().await;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("client-id:{CLIENT_SECRET}"));
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("authorization", format!("Basic {basic}").as_str()))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains(
            format!("refresh_token={REFRESH}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": ACCESS, "expires_in": 3600
        })))
        .expect(2)
        .mount(&server)
        .await;
    empty_collections(&server).await;
    Mock::given(method("GET"))
        .and(path(admin("/users")))
        .respond_with(ResponseTemplate::new(401))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(admin("/users")))
        .and(header("authorization", format!("Bearer {ACCESS}").as_str()))
        .respond_with(empty_page())
        .mount(&server)
        .await;
    let (target, store) = target(&server);
    target.read_snapshot().await.expect("read after renewal");
    assert_eq!(store.saves(), 0, "no rotation was offered");
}

#[tokio::test]
async fn a_rotated_refresh_token_replaces_the_file_atomically_and_privately() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": ACCESS, "refresh_token": "rotated-refresh-token-2", "expires_in": 3600
        })))
        .mount(&server)
        .await;
    empty_collections(&server).await;
    Mock::given(method("GET"))
        .and(path(admin("/users")))
        .respond_with(empty_page())
        .mount(&server)
        .await;
    let dir = temp_dir("rotation");
    let file = TokenFile::new(dir.join("goto-token.json"));
    file.save(&Secret::new(REFRESH)).expect("saved");
    let target =
        GotoTarget::new(settings(&server, Arc::new(file.clone()))).expect("valid settings");
    target.read_snapshot().await.expect("read");
    assert_eq!(
        file.load().expect("loads").expose(),
        "rotated-refresh-token-2"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers, ["goto-token.json"], "no temporary file is left");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_revoked_refresh_token_says_to_log_in_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": "invalid_grant", "error_description": "Invalid refresh token"
        })))
        .mount(&server)
        .await;
    let (target, _) = target(&server);
    let error = target.read_snapshot().await.expect_err("revoked");
    assert!(matches!(error, Error::RefreshRevoked { .. }), "{error:?}");
    let adapted = AdapterError::from(error);
    assert!(
        adapted
            .hint
            .as_deref()
            .unwrap_or_default()
            .contains("adsync goto login")
    );
    assert!(!adapted.to_string().contains(REFRESH));
}

#[tokio::test]
async fn a_wrong_client_secret_is_not_a_revoked_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": "invalid_client", "error_description": "Bad client credentials"
        })))
        .mount(&server)
        .await;
    let (target, _) = target(&server);
    let error = target.read_snapshot().await.expect_err("refused");
    assert!(
        matches!(error, Error::TokenRefused { status: 401, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("invalid_client"));
}

#[tokio::test]
async fn a_token_file_readable_by_others_or_missing_is_refused() {
    let dir = temp_dir("perms");
    let file = TokenFile::new(dir.join("token.json"));
    let missing = file.load().expect_err("missing");
    assert!(missing.to_string().contains("does not exist"), "{missing}");
    file.save(&Secret::new(REFRESH)).expect("saved");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
        let open = file.load().expect_err("too open");
        assert!(open.to_string().contains("0644"), "{open}");
    }
    std::fs::write(file.path(), b"{\"format\":1,\"refresh_token\":\"x\"").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let broken = file.load().expect_err("not json");
    assert!(
        broken.to_string().contains("not a goto token file"),
        "{broken}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn no_secret_reaches_debug_or_error_text() {
    let server = MockServer::start().await;
    token_endpoint(&server).await;
    Mock::given(method("GET"))
        .and(path(admin("/users")))
        .respond_with(ResponseTemplate::new(403))
        .mount(&server)
        .await;
    empty_collections(&server).await;
    let store = Arc::new(adsync_goto::MemoryTokenStore::new(Secret::new(REFRESH)));
    let settings = settings(&server, store);
    let target = GotoTarget::new(settings.clone()).expect("valid");
    let error = target.read_snapshot().await.expect_err("forbidden");
    let texts = [
        format!("{settings:?}"),
        format!("{target:?}"),
        format!("{error:?}"),
        error.to_string(),
        format!("{:?}", AdapterError::from(error)),
    ];
    for text in texts {
        for secret in [CLIENT_SECRET, REFRESH, ACCESS] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
}
