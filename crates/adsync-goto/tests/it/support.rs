//! What every test uses: a target pointed at a wiremock server with a working token endpoint.

use std::sync::Arc;
use std::time::Duration;

use adsync_core::secret::Secret;
use adsync_goto::{
    GotoSettings, GotoTarget, Key, MemoryTokenStore, OAuthClient, RefreshTokenStore, RetryPolicy,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(crate) const CLIENT_SECRET: &str = "client-secret-7d1f-very-secret";
pub(crate) const REFRESH: &str = "refresh-token-4c9a-very-secret";
pub(crate) const ACCESS: &str = "access-token-88b2-very-secret";
pub(crate) const ACCOUNT: &str = "8830995";

pub(crate) fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        timeout: Duration::from_secs(2),
        ..RetryPolicy::immediate(3)
    }
}

pub(crate) fn settings(server: &MockServer, store: Arc<dyn RefreshTokenStore>) -> GotoSettings {
    GotoSettings {
        admin_url: format!("{}/admin/rest/v1", server.uri()),
        client: OAuthClient {
            client_id: "client-id".to_owned(),
            client_secret: Secret::new(CLIENT_SECRET),
            token_url: format!("{}/oauth/token", server.uri()),
        },
        store,
        account_key: Key::new(ACCOUNT),
        suppress_email: true,
        rate_per_second: 1000,
        concurrency: 4,
        retry: fast_retry(),
    }
}

/// A target with an in-memory refresh token, and the store.
pub(crate) fn target(server: &MockServer) -> (GotoTarget, Arc<MemoryTokenStore>) {
    let store = Arc::new(MemoryTokenStore::new(Secret::new(REFRESH)));
    let target =
        GotoTarget::new(settings(server, Arc::clone(&store) as _)).expect("valid settings");
    (target, store)
}

/// A token endpoint that grants [`ACCESS`] for an hour.
pub(crate) async fn token_endpoint(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": ACCESS,
            "expires_in": 3600,
        })))
        .mount(server)
        .await;
}

pub(crate) fn admin(rest: &str) -> String {
    format!("/admin/rest/v1/accounts/{ACCOUNT}{rest}")
}

/// An empty collection page.
pub(crate) fn empty_page() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "results": [], "fromIndex": 0, "total": 0
    }))
}

/// Mounts empty licences, groups and role sets, so a whole read only needs users.
pub(crate) async fn empty_collections(server: &MockServer) {
    for rest in ["/licenses", "/groups", "/rolesets"] {
        Mock::given(method("GET"))
            .and(path(admin(rest)))
            .respond_with(empty_page())
            .mount(server)
            .await;
    }
}

/// `n` users starting at `from`, as the Admin API lays them out.
pub(crate) fn users(from: usize, n: usize) -> Vec<serde_json::Value> {
    (from..from + n)
        .map(|i| {
            serde_json::json!({
                "key": 1000 + i,
                "email": format!("User{i}@Contoso.com"),
                "firstName": "User",
                "lastName": format!("{i}"),
            })
        })
        .collect()
}
