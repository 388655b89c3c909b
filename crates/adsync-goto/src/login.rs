//! `adsync goto login`: the authorization-code flow with PKCE through a loopback redirect.
//!
//! [`start_login`] binds `127.0.0.1:<port>` and makes the URL the operator opens in a browser;
//! [`PendingLogin::finish`] waits for exactly one redirect to [`CALLBACK_PATH`], checks its
//! `state`, exchanges the code (HTTP Basic client id and secret, plus the PKCE verifier) and
//! stores the refresh token. Other paths (a browser's `/favicon.ico`) get 404 and are not the
//! redirect; once the redirect came, the listener closes.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use adsync_core::secret::Secret;
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use url::Url;

use crate::error::Error;
use crate::http::{Http, checked_url};
use crate::pkce::{Pkce, random_token};
use crate::retry::RetryPolicy;
use crate::token::{OAuthClient, exchange_code};
use crate::token_store::RefreshTokenStore;

/// The path of the redirect URI on the loopback listener.
pub const CALLBACK_PATH: &str = "/goto/callback";

/// The port the listener takes by default. GoTo OAuth clients list their redirect URIs exactly,
/// so the operator registers `http://127.0.0.1:8765/goto/callback` once; `0` takes any free port
/// for servers that accept any loopback port (RFC 8252 §7.3).
pub const DEFAULT_PORT: u16 = 8765;

/// How long a sign-in waits for the browser by default.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(300);

/// What a sign-in needs.
#[derive(Clone, Debug)]
pub struct LoginSettings {
    /// The OAuth client (id, secret, token endpoint).
    pub client: OAuthClient,
    /// The authorization endpoint ([`crate::api::host::AUTHORIZE`] unless overridden).
    pub authorize_url: String,
    /// The loopback port (0: any free port).
    pub port: u16,
    /// How long to wait for the redirect.
    pub wait: Duration,
    /// Retries of the code exchange's transport (the exchange itself is sent once).
    pub retry: RetryPolicy,
}

/// A sign-in waiting for its redirect.
#[derive(Debug)]
pub struct PendingLogin {
    settings: LoginSettings,
    listener: TcpListener,
    pkce: Pkce,
    state: Secret,
    redirect_uri: String,
    url: String,
}

/// Binds the loopback listener and builds the authorization URL.
pub async fn start_login(settings: LoginSettings) -> Result<PendingLogin, Error> {
    let authorize = checked_url("authorize url", &settings.authorize_url)?;
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, settings.port)))
        .await
        .map_err(Error::Listener)?;
    let port = listener.local_addr().map_err(Error::Listener)?.port();
    let redirect_uri = format!("http://127.0.0.1:{port}{CALLBACK_PATH}");
    let pkce = Pkce::generate()?;
    let state = Secret::new(random_token()?);
    let url = authorization_url(
        &authorize,
        &settings.client.client_id,
        &redirect_uri,
        &pkce,
        &state,
    );
    Ok(PendingLogin {
        settings,
        listener,
        pkce,
        state,
        redirect_uri,
        url,
    })
}

fn authorization_url(
    authorize: &Url,
    client_id: &str,
    redirect_uri: &str,
    pkce: &Pkce,
    state: &Secret,
) -> String {
    let mut url = authorize.clone();
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("client_id", client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state.expose());
        if crate::api::PKCE {
            query
                .append_pair("code_challenge", &pkce.challenge)
                .append_pair("code_challenge_method", "S256");
        }
    }
    url.to_string()
}

impl PendingLogin {
    /// The URL to open in a browser.
    pub fn authorize_url(&self) -> &str {
        &self.url
    }

    /// The redirect URI the OAuth client must list.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits for the redirect, checks it, exchanges the code and stores the refresh token.
    pub async fn finish(self, store: &dyn RefreshTokenStore) -> Result<(), Error> {
        let wait = self.settings.wait;
        let query = tokio::time::timeout(wait, accept_one_redirect(&self.listener))
            .await
            .map_err(|_| Error::LoginTimedOut {
                seconds: wait.as_secs(),
            })??;
        drop(self.listener);
        let code = check_redirect(&query, &self.state)?;
        let http = Http::new(self.settings.retry.clone())?;
        exchange_code(
            &http,
            &self.settings.client,
            &code,
            &self.redirect_uri,
            &self.pkce.verifier,
            store,
        )
        .await
    }
}

/// The code of a redirect whose state matches, or why not.
fn check_redirect(query: &HashMap<String, String>, state: &Secret) -> Result<Secret, Error> {
    if query.get("state").map(String::as_str) != Some(state.expose()) {
        return Err(Error::StateMismatch);
    }
    if let Some(error) = query.get("error") {
        return Err(Error::AuthorizationDenied {
            error: error.clone(),
            description: query.get("error_description").cloned(),
        });
    }
    match query.get("code").filter(|code| !code.is_empty()) {
        Some(code) => Ok(Secret::new(code.clone())),
        None => Err(Error::NoCode),
    }
}

type Slot = Arc<Mutex<Option<oneshot::Sender<HashMap<String, String>>>>>;

/// Serves connections until one request reaches [`CALLBACK_PATH`]; returns its query.
async fn accept_one_redirect(listener: &TcpListener) -> Result<HashMap<String, String>, Error> {
    let (sender, mut received) = oneshot::channel();
    let slot: Slot = Arc::new(Mutex::new(Some(sender)));
    loop {
        tokio::select! {
            query = &mut received => {
                // The sender lives in `slot` until a redirect takes it, so it cannot be dropped
                // unsent while this loop runs.
                return query.map_err(|_| Error::NoCode);
            }
            accepted = listener.accept() => {
                let (stream, _) = accepted.map_err(Error::Listener)?;
                let slot = Arc::clone(&slot);
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(request, Arc::clone(&slot)));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(false)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

async fn answer(
    request: Request<hyper::body::Incoming>,
    slot: Slot,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.uri().path() != CALLBACK_PATH {
        return Ok(page(StatusCode::NOT_FOUND, "Not found."));
    }
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let sender = slot
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    let Some(sender) = sender else {
        return Ok(page(
            StatusCode::GONE,
            "This sign-in has already received its redirect.",
        ));
    };
    let failed = query.contains_key("error") || !query.contains_key("code");
    let _ = sender.send(query);
    Ok(if failed {
        page(
            StatusCode::OK,
            "The sign-in did not succeed. The terminal running adsync says why.",
        )
    } else {
        page(
            StatusCode::OK,
            "adsync received the sign-in. You can close this tab; the terminal shows the result.",
        )
    })
}

fn page(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let body =
        format!("<!doctype html><meta charset=\"utf-8\"><title>adsync</title><p>{text}</p>\n");
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = "text/html; charset=utf-8".parse() {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_are_checked_before_the_code_is_used() {
        let state = Secret::new("expected-state");
        let query = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert!(matches!(
            check_redirect(&query(&[("code", "c"), ("state", "other")]), &state),
            Err(Error::StateMismatch)
        ));
        assert!(matches!(
            check_redirect(&query(&[("code", "c")]), &state),
            Err(Error::StateMismatch)
        ));
        assert!(matches!(
            check_redirect(
                &query(&[("error", "access_denied"), ("state", "expected-state")]),
                &state
            ),
            Err(Error::AuthorizationDenied { .. })
        ));
        assert!(matches!(
            check_redirect(&query(&[("state", "expected-state")]), &state),
            Err(Error::NoCode)
        ));
        let code = check_redirect(
            &query(&[("code", "c1"), ("state", "expected-state")]),
            &state,
        )
        .unwrap();
        assert_eq!(code.expose(), "c1");
    }
}
