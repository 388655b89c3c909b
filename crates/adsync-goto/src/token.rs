//! Access tokens: refreshed from the stored refresh token, cached until shortly before they
//! expire, renewed once when GoTo refuses one, and a rotated refresh token stored at once.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adsync_core::secret::Secret;
use reqwest::header;
use tokio::sync::Mutex;
use url::Url;

use crate::api;
use crate::error::Error;
use crate::http::{Http, Reply, Resend};
use crate::retry::RateLimiter;
use crate::token_store::RefreshTokenStore;
use crate::wire;

/// GoTo's access tokens last 60 minutes. `[DOC]`; used when an answer has no `expires_in`.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// A token is renewed this long before it expires (or at half its life, if that is shorter).
const RENEW_MARGIN: Duration = Duration::from_secs(300);

/// The OAuth client: its id and secret, sent as HTTP Basic to the token endpoint.
#[derive(Clone)]
pub struct OAuthClient {
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: Secret,
    /// The token endpoint ([`api::host::TOKEN`] unless overridden for tests).
    pub token_url: String,
}

impl fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("token_url", &self.token_url)
            .finish()
    }
}

/// A bearer token and the generation it belongs to (so a 401 renews it only once, however many
/// requests saw it fail).
#[derive(Clone)]
pub(crate) struct Bearer {
    pub(crate) value: Secret,
    pub(crate) generation: u64,
}

#[derive(Default)]
struct Cache {
    current: Option<(Bearer, Instant)>,
    generation: u64,
}

/// Tokens for one target.
pub(crate) struct Session {
    client: OAuthClient,
    token_url: Url,
    store: Arc<dyn RefreshTokenStore>,
    limiter: RateLimiter,
    cache: Mutex<Cache>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("client", &self.client)
            .field("store", &self.store.describe())
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn new(
        client: OAuthClient,
        store: Arc<dyn RefreshTokenStore>,
        rate_per_second: u32,
    ) -> Result<Session, Error> {
        let token_url = checked_client(&client)?;
        Ok(Session {
            client,
            token_url,
            store,
            limiter: RateLimiter::new(rate_per_second),
            cache: Mutex::new(Cache::default()),
        })
    }

    /// The cached token, or a fresh one. The lock is held while refreshing, so concurrent callers
    /// wait for one refresh (and one rotation) instead of racing with the same refresh token.
    pub(crate) async fn bearer(&self, http: &Http) -> Result<Bearer, Error> {
        let mut cache = self.cache.lock().await;
        if let Some((bearer, renew_at)) = &cache.current
            && Instant::now() < *renew_at
        {
            return Ok(bearer.clone());
        }
        let (value, lifetime) = self.refresh(http).await?;
        cache.generation += 1;
        let bearer = Bearer {
            value,
            generation: cache.generation,
        };
        let renew_at = Instant::now() + lifetime.saturating_sub(RENEW_MARGIN.min(lifetime / 2));
        cache.current = Some((bearer.clone(), renew_at));
        Ok(bearer)
    }

    /// Forgets the token of `generation` after GoTo refused it (a later one is kept).
    pub(crate) async fn forget(&self, generation: u64) {
        let mut cache = self.cache.lock().await;
        if cache
            .current
            .as_ref()
            .is_some_and(|(bearer, _)| bearer.generation == generation)
        {
            cache.current = None;
        }
    }

    async fn refresh(&self, http: &Http) -> Result<(Secret, Duration), Error> {
        let refresh = self.store.load()?;
        let reply = http
            .send(
                "POST /oauth/token (refresh)",
                &self.limiter,
                Resend::Safe,
                || {
                    token_request(http, &self.token_url, &self.client).form(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", refresh.expose()),
                    ])
                },
            )
            .await?;
        if !reply.status.is_success() {
            let (error, reason) = oauth_refusal(&reply);
            if api::is_refresh_revoked(reply.status.as_u16(), error.as_deref()) {
                return Err(Error::RefreshRevoked {
                    store: self.store.describe(),
                    reason,
                });
            }
            return Err(Error::TokenRefused {
                grant: "refresh_token",
                status: reply.status.as_u16(),
                reason,
            });
        }
        let answer = decode_answer(&reply, "POST /oauth/token (refresh)")?;
        if let Some(rotated) = answer.refresh_token.filter(|t| !t.trim().is_empty())
            && rotated != refresh.expose()
        {
            self.store.save(&Secret::new(rotated))?;
            tracing::debug!(store = %self.store.describe(), "stored the rotated refresh token");
        }
        Ok((
            Secret::new(answer.access_token),
            answer
                .expires_in
                .map_or(DEFAULT_LIFETIME, Duration::from_secs),
        ))
    }
}

fn checked_client(client: &OAuthClient) -> Result<Url, Error> {
    if client.client_id.trim().is_empty() {
        return Err(Error::InvalidSetting {
            setting: "client_id",
            reason: "it is empty".to_owned(),
        });
    }
    crate::http::checked_url("token url", &client.token_url)
}

fn token_request(http: &Http, url: &Url, client: &OAuthClient) -> reqwest::RequestBuilder {
    http.client()
        .post(url.clone())
        .basic_auth(&client.client_id, Some(client.client_secret.expose()))
        .header(header::ACCEPT, "application/json")
}

fn decode_answer(reply: &Reply, request: &str) -> Result<wire::TokenAnswer, Error> {
    let answer = api::token_answer(&reply.body).map_err(|error| Error::Malformed {
        request: request.to_owned(),
        status: reply.status.as_u16(),
        // Only the position: serde's message could quote a token.
        reason: format!(
            "invalid token answer at line {} column {}",
            error.line(),
            error.column()
        ),
    })?;
    if answer.access_token.trim().is_empty() {
        return Err(Error::Malformed {
            request: request.to_owned(),
            status: reply.status.as_u16(),
            reason: "the access token is empty".to_owned(),
        });
    }
    Ok(answer)
}

/// The OAuth `error` of a refusal and a reason text for messages.
fn oauth_refusal(reply: &Reply) -> (Option<String>, String) {
    match serde_json::from_slice::<wire::OAuthError>(&reply.body) {
        Ok(refusal) => {
            let reason = match &refusal.error_description {
                Some(description) => format!("{}: {}", refusal.error, first_line(description)),
                None => refusal.error.clone(),
            };
            (Some(refusal.error), reason)
        }
        Err(_) => (None, format!("http {}", reply.status.as_u16())),
    }
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}

/// Exchanges an authorization code (and its PKCE verifier) for tokens, and stores the refresh
/// token. The code exchange is never resent: a code works once.
pub(crate) async fn exchange_code(
    http: &Http,
    client: &OAuthClient,
    code: &Secret,
    redirect_uri: &str,
    verifier: &Secret,
    store: &dyn RefreshTokenStore,
) -> Result<(), Error> {
    let url = checked_client(client)?;
    let limiter = RateLimiter::new(api::DEFAULT_RATE_PER_SECOND);
    let request = "POST /oauth/token (authorization code)";
    let reply = http
        .send(request, &limiter, Resend::Once, || {
            let mut form = vec![
                ("grant_type", "authorization_code"),
                ("code", code.expose()),
                ("redirect_uri", redirect_uri),
                ("client_id", client.client_id.as_str()),
            ];
            if api::PKCE {
                form.push(("code_verifier", verifier.expose()));
            }
            token_request(http, &url, client).form(&form)
        })
        .await?;
    if !reply.status.is_success() {
        let (_, reason) = oauth_refusal(&reply);
        return Err(Error::TokenRefused {
            grant: "authorization_code",
            status: reply.status.as_u16(),
            reason,
        });
    }
    let answer = decode_answer(&reply, request)?;
    let Some(refresh) = answer.refresh_token.filter(|t| !t.trim().is_empty()) else {
        return Err(Error::Malformed {
            request: request.to_owned(),
            status: reply.status.as_u16(),
            reason: "the answer has no refresh_token (is the oauth client allowed refresh tokens?)"
                .to_owned(),
        });
    };
    store.save(&Secret::new(refresh))
}
