//! HTTP to Entra ID and Graph: endpoints per cloud, the cached app-only token, bounded concurrency,
//! retries, and paging.

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use adsync_core::adapter::RequestObserver;
use adsync_core::config::Cloud;
use adsync_core::secret::Secret;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tokio::sync::{Mutex, Semaphore};
use url::Url;

use crate::GraphSettings;
use crate::error::Error;
use crate::retry::{RetryPolicy, parse_retry_after};
use crate::{decode, wire};

/// Pages followed for one listing before it is declared a loop.
const MAX_PAGES: u64 = 100_000;

/// A token is renewed this long before it expires (or at half its life, if that is shorter).
const RENEW_MARGIN: Duration = Duration::from_secs(300);

/// The endpoints of one national cloud, overrides applied.
#[derive(Clone, Debug)]
pub(crate) struct Endpoints {
    /// `{authority}/{tenant}/oauth2/v2.0/token`.
    pub(crate) token_url: Url,
    /// `{graph}/v1.0/`, with the trailing slash so relative joins stay under it.
    pub(crate) graph_base: Url,
    /// `{cloud graph}/.default`: always the cloud's real Graph, even behind a `graph_url` proxy.
    pub(crate) scope: String,
}

impl Endpoints {
    pub(crate) fn new(
        cloud: Cloud,
        tenant: &str,
        authority_url: Option<&str>,
        graph_url: Option<&str>,
    ) -> Result<Endpoints, Error> {
        let (authority, graph) = match cloud {
            Cloud::Global => (
                "https://login.microsoftonline.com",
                "https://graph.microsoft.com",
            ),
            Cloud::Usgov => (
                "https://login.microsoftonline.us",
                "https://graph.microsoft.us",
            ),
            Cloud::UsgovDod => (
                "https://login.microsoftonline.us",
                "https://dod-graph.microsoft.us",
            ),
            // Two hosts are documented for China; the newer identity docs name this one.
            Cloud::China => (
                "https://login.partner.microsoftonline.cn",
                "https://microsoftgraph.chinacloudapi.cn",
            ),
        };
        let scope = format!("{graph}/.default");

        let mut token_url = checked_url("authority url", authority_url.unwrap_or(authority))?;
        {
            let mut segments =
                token_url
                    .path_segments_mut()
                    .map_err(|()| Error::InvalidSetting {
                        setting: "authority_url",
                        reason: "the url cannot have a path".to_owned(),
                    })?;
            segments
                .pop_if_empty()
                .extend([tenant, "oauth2", "v2.0", "token"]);
        }

        let mut graph_base = checked_url("graph url", graph_url.unwrap_or(graph))?;
        let has_version = graph_base
            .path_segments()
            .and_then(|mut segments| segments.rfind(|s| !s.is_empty()))
            .is_some_and(|last| last == "v1.0" || last == "beta");
        {
            let mut segments =
                graph_base
                    .path_segments_mut()
                    .map_err(|()| Error::InvalidSetting {
                        setting: "graph_url",
                        reason: "the url cannot have a path".to_owned(),
                    })?;
            segments.pop_if_empty();
            if !has_version {
                segments.push("v1.0");
            }
            segments.push("");
        }
        Ok(Endpoints {
            token_url,
            graph_base,
            scope,
        })
    }
}

/// Parses `text` and refuses anything but https, or http to a loopback host.
fn checked_url(what: &'static str, text: &str) -> Result<Url, Error> {
    let url = Url::parse(text.trim()).map_err(|source| Error::InvalidUrl {
        what,
        url: text.to_owned(),
        source,
    })?;
    let secure = match url.scheme() {
        "https" => true,
        "http" => is_loopback(&url),
        _ => false,
    };
    if !secure || url.host().is_none() {
        return Err(Error::InsecureUrl {
            what,
            url: text.to_owned(),
        });
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A complete response, read while the concurrency permit was held.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
}

/// A bearer token and the generation it belongs to (so a 401 renews the token only once, however
/// many requests saw it fail).
#[derive(Clone)]
struct Bearer {
    value: Secret,
    generation: u64,
}

struct Cached {
    bearer: Bearer,
    renew_at: Instant,
}

#[derive(Default)]
struct TokenCache {
    current: Option<Cached>,
    generation: u64,
}

/// The HTTP client adsync-graph reads through.
pub(crate) struct Client {
    http: reqwest::Client,
    endpoints: Endpoints,
    tenant: String,
    client_id: String,
    client_secret: Secret,
    retry: RetryPolicy,
    token: Mutex<TokenCache>,
    permits: Semaphore,
    /// Told about every exchange (the service page's request metrics).
    pub(crate) observer: Option<Arc<dyn RequestObserver>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The client secret and the access token are deliberately left out.
        f.debug_struct("Client")
            .field("token_url", &self.endpoints.token_url.as_str())
            .field("graph_base", &self.endpoints.graph_base.as_str())
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .field("retry", &self.retry)
            .field("concurrency", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

/// What one request asks for.
pub(crate) struct Get<'a> {
    pub(crate) url: &'a Url,
    /// Send `ConsistencyLevel: eventual` (advanced queries).
    pub(crate) eventual: bool,
}

impl Client {
    pub(crate) fn new(settings: GraphSettings) -> Result<Client, Error> {
        let tenant = settings.tenant.trim().to_owned();
        if tenant.is_empty()
            || !tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(Error::InvalidSetting {
                setting: "tenant",
                reason: "expected a tenant id or a verified domain such as contoso.onmicrosoft.com"
                    .to_owned(),
            });
        }
        if ["common", "consumers", "organizations"]
            .iter()
            .any(|word| tenant.eq_ignore_ascii_case(word))
        {
            return Err(Error::InvalidSetting {
                setting: "tenant",
                reason: format!(
                    "`{tenant}` is not a tenant; client credentials need the tenant id or domain"
                ),
            });
        }
        let client_id = settings.client_id.trim().to_owned();
        if client_id.is_empty() {
            return Err(Error::InvalidSetting {
                setting: "client_id",
                reason: "it is empty".to_owned(),
            });
        }
        if settings.concurrency == 0 {
            return Err(Error::InvalidSetting {
                setting: "concurrency",
                reason: "it must be at least 1".to_owned(),
            });
        }
        if settings.retry.max_attempts == 0 {
            return Err(Error::InvalidSetting {
                setting: "retry.max_attempts",
                reason: "it must be at least 1".to_owned(),
            });
        }
        let endpoints = Endpoints::new(
            settings.cloud,
            &tenant,
            settings.authority_url.as_deref(),
            settings.graph_url.as_deref(),
        )?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("adsync/", env!("CARGO_PKG_VERSION")))
            .timeout(settings.retry.timeout)
            .connect_timeout(settings.retry.timeout.min(Duration::from_secs(30)))
            // A redirect would carry the bearer token somewhere unchecked.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(Error::Client)?;
        Ok(Client {
            http,
            endpoints,
            tenant,
            client_id,
            client_secret: settings.client_secret,
            retry: settings.retry,
            token: Mutex::new(TokenCache::default()),
            permits: Semaphore::new(settings.concurrency),
            observer: None,
        })
    }

    pub(crate) fn graph_base(&self) -> &Url {
        &self.endpoints.graph_base
    }

    /// Gets a token now (from the cache if it is still fresh).
    pub(crate) async fn check_token(&self) -> Result<(), Error> {
        self.bearer().await.map(|_| ())
    }

    /// The cached token, or a new one. The lock is held while fetching, so concurrent callers
    /// wait for one token request instead of each sending their own.
    async fn bearer(&self) -> Result<Bearer, Error> {
        let mut cache = self.token.lock().await;
        if let Some(cached) = &cache.current
            && Instant::now() < cached.renew_at
        {
            return Ok(cached.bearer.clone());
        }
        let (value, lifetime) = self.fetch_token().await?;
        cache.generation += 1;
        let margin = RENEW_MARGIN.min(lifetime / 2);
        let bearer = Bearer {
            value,
            generation: cache.generation,
        };
        cache.current = Some(Cached {
            bearer: bearer.clone(),
            renew_at: Instant::now() + lifetime.saturating_sub(margin),
        });
        Ok(bearer)
    }

    /// Forgets the token of `generation` after Graph refused it (a later one is kept).
    async fn forget(&self, generation: u64) {
        let mut cache = self.token.lock().await;
        if cache
            .current
            .as_ref()
            .is_some_and(|cached| cached.bearer.generation == generation)
        {
            cache.current = None;
        }
    }

    async fn fetch_token(&self) -> Result<(Secret, Duration), Error> {
        let request = format!("POST {}", self.endpoints.token_url);
        let reply = self
            .send(&request, || {
                self.http
                    .post(self.endpoints.token_url.clone())
                    .header(header::ACCEPT, "application/json")
                    .form(&[
                        ("client_id", self.client_id.as_str()),
                        ("scope", self.endpoints.scope.as_str()),
                        ("client_secret", self.client_secret.expose()),
                        ("grant_type", "client_credentials"),
                    ])
            })
            .await
            .map_err(|source| Error::TokenRequest {
                source: Box::new(source),
            })?;
        let malformed = |source| Error::Malformed {
            request: request.clone(),
            status: reply.status.as_u16(),
            source,
        };
        if reply.status.is_success() {
            let granted = decode::token(&reply.body).map_err(malformed)?;
            tracing::debug!(tenant = %self.tenant, "got an app-only token");
            return Ok((granted.access_token, granted.lifetime));
        }
        let refused = decode::token_refused(&reply.body).map_err(malformed)?;
        Err(Error::Token {
            reason: refused.reason,
            error: refused.error,
            codes: refused.codes,
            description: refused.description,
            tenant: self.tenant.clone(),
        })
    }

    /// GETs `get.url` with the bearer token, renewing the token once on a 401, and decodes a
    /// successful JSON body. Other statuses become [`Error::Refused`].
    pub(crate) async fn get_json<T: DeserializeOwned>(&self, get: &Get<'_>) -> Result<T, Error> {
        let reply = self.get(get).await?;
        let request = describe(&Method::GET, get.url);
        if reply.status.is_success() {
            return serde_json::from_slice(&reply.body).map_err(|source| Error::Malformed {
                request,
                status: reply.status.as_u16(),
                source,
            });
        }
        Err(refused(request, &reply))
    }

    /// GETs `get.url` and returns whatever final reply came back (after retries and renewal).
    pub(crate) async fn get(&self, get: &Get<'_>) -> Result<Reply, Error> {
        let request = describe(&Method::GET, get.url);
        let mut renewed = false;
        loop {
            let bearer = self.bearer().await?;
            let reply = self
                .send(&request, || {
                    let mut headers = HeaderMap::new();
                    headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
                    if get.eventual {
                        headers.insert("ConsistencyLevel", HeaderValue::from_static("eventual"));
                    }
                    let builder = self.http.get(get.url.clone()).headers(headers);
                    match HeaderValue::try_from(format!("Bearer {}", bearer.value.expose())) {
                        Ok(mut value) => {
                            value.set_sensitive(true);
                            builder.header(header::AUTHORIZATION, value)
                        }
                        // A token with bytes a header cannot hold: sent without it, the 401
                        // that follows renews it.
                        Err(_) => builder,
                    }
                })
                .await?;
            if reply.status == StatusCode::UNAUTHORIZED && !renewed {
                tracing::debug!(%request, "graph refused the token; renewing it once");
                renewed = true;
                self.forget(bearer.generation).await;
                continue;
            }
            return Ok(reply);
        }
    }

    /// Sends the request `build` makes until it gets a final reply or the retry budget runs
    /// out. 429, 500, 502, 503, 504 and transport failures are retried.
    async fn send(
        &self,
        request: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Reply, Error> {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = {
                // A closed semaphore is impossible (it is never closed); treat it as no limit.
                let _permit = self.permits.acquire().await.ok();
                let sent = Instant::now();
                let response = build().send().await;
                // adsync's own request line (`-vv`): the method and path, never the query,
                // headers or body.
                let ms = u64::try_from(sent.elapsed().as_millis()).unwrap_or(u64::MAX);
                match &response {
                    Ok(response) => {
                        tracing::debug!(status = response.status().as_u16(), ms, "{request}");
                    }
                    Err(error) => {
                        tracing::debug!(failure = %TransportCause(error), ms, "{request}");
                    }
                }
                if let Some(observer) = &self.observer {
                    let status = response.as_ref().ok().map(|r| r.status().as_u16());
                    observer.exchanged("graph", status);
                }
                match response {
                    Ok(response) => {
                        let status = response.status();
                        let retry_after = response
                            .headers()
                            .get(header::RETRY_AFTER)
                            .and_then(|value| value.to_str().ok())
                            .and_then(|value| parse_retry_after(value, SystemTime::now()));
                        match response.bytes().await {
                            Ok(body) => Ok((
                                Reply {
                                    status,
                                    body: body.to_vec(),
                                },
                                retry_after,
                            )),
                            Err(error) => Err(error),
                        }
                    }
                    Err(error) => Err(error),
                }
            };
            let (failure, retry_after) = match outcome {
                Ok((reply, retry_after)) if is_retryable(reply.status) => {
                    (Failure::Status(reply.status), retry_after)
                }
                Ok((reply, _)) => return Ok(reply),
                Err(error) => (Failure::Transport(error), None),
            };
            match self.retry.wait(attempt, started.elapsed(), retry_after) {
                Some(wait) => {
                    tracing::debug!(%request, attempt, ?wait, failure = %failure, "retrying");
                    tokio::time::sleep(wait).await;
                }
                None => {
                    let request = request.to_owned();
                    return Err(match failure {
                        Failure::Status(StatusCode::TOO_MANY_REQUESTS) => Error::Throttled {
                            request,
                            attempts: attempt,
                        },
                        Failure::Status(status) => Error::Unavailable {
                            request,
                            status: status.as_u16(),
                            attempts: attempt,
                        },
                        Failure::Transport(source) => Error::Transport {
                            request,
                            attempts: attempt,
                            source,
                        },
                    });
                }
            }
        }
    }

    /// Every page of a collection, from `first`, following each `@odata.nextLink` exactly as
    /// given (with the same headers). Calls `each` with every page's items.
    ///
    /// Every listing is bounded: a nextLink seen before in the same listing (a loop of any
    /// length), more pages than the first page's `@odata.count` allows, and a listing that ends
    /// with fewer items than that count announced are failed reads, never a shorter success.
    pub(crate) async fn pages<T: DeserializeOwned>(
        &self,
        first: Url,
        eventual: bool,
        mut each: impl FnMut(&str, Vec<T>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut url = first;
        let mut seen = HashSet::new();
        let mut paging = Paging::default();
        loop {
            seen.insert(url.clone());
            let page = paging.pages + 1;
            let request = describe(&Method::GET, &url);
            let body: wire::Page<T> = self
                .get_json(&Get {
                    url: &url,
                    eventual,
                })
                .await?;
            let label = if page == 1 {
                request.clone()
            } else {
                format!("{request} (page {page})")
            };
            paging.page(&label, page == 1, body.count, body.value.len())?;
            each(&label, body.value)?;
            let Some(next) = body.next_link else {
                return paging.finished(&label);
            };
            url = self.next_link(&label, &url, &next)?;
            if seen.contains(&url) {
                return Err(Error::BadNextLink {
                    request: label,
                    reason: "it leads back to a page this listing already read (a paging loop)"
                        .to_owned(),
                });
            }
        }
    }

    /// Checks a nextLink before the bearer token is sent to it.
    fn next_link(&self, request: &str, current: &Url, next: &str) -> Result<Url, Error> {
        let bad = |reason: String| Error::BadNextLink {
            request: request.to_owned(),
            reason,
        };
        let url =
            Url::parse(next).map_err(|error| bad(format!("`{next}` is not a url: {error}")))?;
        let base = &self.endpoints.graph_base;
        if url.origin() != base.origin() {
            return Err(bad(format!(
                "`{next}` leaves {}",
                base.origin().ascii_serialization()
            )));
        }
        if url == *current {
            return Err(bad("it points back at the same page".to_owned()));
        }
        Ok(url)
    }
}

/// What a listing has read so far, against what its first page announced.
#[derive(Default)]
struct Paging {
    pages: u64,
    items: u64,
    /// `@odata.count` of the first page.
    announced: Option<u64>,
}

impl Paging {
    /// Counts one page; fails when the listing has more pages than its count allows (every page
    /// but the last carries an item, and one empty page is tolerated) or than [`MAX_PAGES`].
    fn page(
        &mut self,
        label: &str,
        first: bool,
        count: Option<u64>,
        items: usize,
    ) -> Result<(), Error> {
        self.pages += 1;
        self.items += items as u64;
        if first {
            self.announced = count;
        }
        let allowed = self
            .announced
            .map_or(MAX_PAGES, |count| count.saturating_add(2).min(MAX_PAGES));
        if self.pages > allowed {
            let reason = match self.announced {
                Some(count) if allowed < MAX_PAGES => format!(
                    "page {} of a listing of {count} items (its @odata.count): the pages never end",
                    self.pages
                ),
                _ => format!("more than {MAX_PAGES} pages"),
            };
            return Err(Error::BadNextLink {
                request: label.to_owned(),
                reason,
            });
        }
        Ok(())
    }

    /// The listing ended: fails when it holds fewer items than its first page announced.
    fn finished(&self, label: &str) -> Result<(), Error> {
        match self.announced {
            Some(count) if self.items < count => Err(Error::IncompleteListing {
                request: label.to_owned(),
                read: self.items,
                announced: count,
            }),
            _ => Ok(()),
        }
    }
}

enum Failure {
    Status(StatusCode),
    Transport(reqwest::Error),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Status(status) => write!(f, "http {}", status.as_u16()),
            Failure::Transport(error) => write!(f, "{}", TransportCause(error)),
        }
    }
}

struct TransportCause<'a>(&'a reqwest::Error);

impl fmt::Display for TransportCause<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_timeout() {
            f.write_str("timed out")
        } else if self.0.is_connect() {
            f.write_str("could not connect")
        } else {
            f.write_str("transport error")
        }
    }
}

fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// `GET /v1.0/groups/{id}/members/microsoft.graph.user`: the method and path, without the query
/// (which a nextLink fills with an opaque skip token).
pub(crate) fn describe(method: &Method, url: &Url) -> String {
    format!("{method} {}", url.path())
}

/// The error for a non-success reply, from Graph's error body when it has one.
pub(crate) fn refused(request: String, reply: &Reply) -> Error {
    match decode::error_body(&reply.body) {
        Some((code, message)) => Error::Refused {
            request,
            status: reply.status.as_u16(),
            code,
            message,
        },
        None => Error::Refused {
            request,
            status: reply.status.as_u16(),
            code: String::new(),
            message: reply
                .status
                .canonical_reason()
                .unwrap_or("no error body")
                .to_lowercase(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clouds_have_their_own_endpoints_and_scope() {
        let global = Endpoints::new(Cloud::Global, "contoso.onmicrosoft.com", None, None).unwrap();
        assert_eq!(
            global.token_url.as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(
            global.graph_base.as_str(),
            "https://graph.microsoft.com/v1.0/"
        );
        assert_eq!(global.scope, "https://graph.microsoft.com/.default");

        let dod = Endpoints::new(Cloud::UsgovDod, "t", None, None).unwrap();
        assert_eq!(
            dod.token_url.as_str(),
            "https://login.microsoftonline.us/t/oauth2/v2.0/token"
        );
        assert_eq!(dod.scope, "https://dod-graph.microsoft.us/.default");

        let usgov = Endpoints::new(Cloud::Usgov, "t", None, None).unwrap();
        assert_eq!(
            usgov.graph_base.as_str(),
            "https://graph.microsoft.us/v1.0/"
        );

        let china = Endpoints::new(Cloud::China, "t", None, None).unwrap();
        assert_eq!(
            china.token_url.as_str(),
            "https://login.partner.microsoftonline.cn/t/oauth2/v2.0/token"
        );
        assert_eq!(
            china.scope,
            "https://microsoftgraph.chinacloudapi.cn/.default"
        );
    }

    #[test]
    fn overrides_keep_the_scope_and_add_the_version() {
        let proxied = Endpoints::new(
            Cloud::Usgov,
            "t",
            Some("http://127.0.0.1:8080/login/"),
            Some("http://[::1]:9000"),
        )
        .unwrap();
        assert_eq!(
            proxied.token_url.as_str(),
            "http://127.0.0.1:8080/login/t/oauth2/v2.0/token"
        );
        assert_eq!(proxied.graph_base.as_str(), "http://[::1]:9000/v1.0/");
        assert_eq!(proxied.scope, "https://graph.microsoft.us/.default");

        let versioned = Endpoints::new(
            Cloud::Global,
            "t",
            None,
            Some("https://proxy.example/graph/v1.0/"),
        )
        .unwrap();
        assert_eq!(
            versioned.graph_base.as_str(),
            "https://proxy.example/graph/v1.0/"
        );
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for url in [
            "http://graph.example.com",
            "http://10.0.0.1",
            "ftp://127.0.0.1",
            "http://127.0.0.1.nip.io",
        ] {
            let error = Endpoints::new(Cloud::Global, "t", None, Some(url)).unwrap_err();
            assert!(
                matches!(error, Error::InsecureUrl { .. }),
                "{url}: {error:?}"
            );
        }
        for url in ["http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1"] {
            assert!(Endpoints::new(Cloud::Global, "t", Some(url), Some(url)).is_ok());
        }
        assert!(matches!(
            Endpoints::new(Cloud::Global, "t", Some("not a url"), None),
            Err(Error::InvalidUrl { .. })
        ));
    }
}
