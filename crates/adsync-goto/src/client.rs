//! The Admin API over HTTP: bearer tokens, the rate limit, bounded concurrency, statuses turned
//! into errors, and complete paged reads.

use std::fmt;

use reqwest::header::{self, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use url::Url;

use crate::api;
use crate::error::Error;
use crate::http::{Http, Reply, Resend, checked_url};
use crate::retry::RateLimiter;
use crate::token::Session;
use crate::wire;

/// Pages read from one collection before the read is declared endless.
const MAX_PAGES: u64 = 100_000;

/// The client a [`crate::GotoTarget`] talks through.
pub(crate) struct Client {
    http: Http,
    session: Session,
    admin: Url,
    limiter: RateLimiter,
    permits: Semaphore,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("admin", &self.admin.as_str())
            .field("session", &self.session)
            .field("concurrency", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

/// One request to the Admin API.
pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    /// The path below the Admin API base, with its query.
    pub(crate) path: &'a str,
    /// A JSON body.
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) resend: Resend,
}

impl Call<'_> {
    /// `PUT /accounts/1/users/2`: method and path, without the query.
    pub(crate) fn describe(&self) -> String {
        let path = self.path.split('?').next().unwrap_or_default();
        format!("{} {path}", self.method)
    }
}

impl Client {
    pub(crate) fn new(
        admin_url: &str,
        session: Session,
        http: Http,
        rate_per_second: u32,
        concurrency: usize,
    ) -> Result<Client, Error> {
        let admin = checked_url("admin url", admin_url)?;
        if concurrency == 0 {
            return Err(Error::InvalidSetting {
                setting: "concurrency",
                reason: "it must be at least 1".to_owned(),
            });
        }
        Ok(Client {
            http,
            session,
            admin,
            limiter: RateLimiter::new(rate_per_second),
            permits: Semaphore::new(concurrency),
        })
    }

    fn url(&self, path: &str) -> Result<Url, Error> {
        let base = self.admin.as_str().trim_end_matches('/');
        checked_url("admin url", &format!("{base}{path}"))
    }

    /// Sends `call` with the bearer token, renewing the token once on a 401.
    pub(crate) async fn call(&self, call: &Call<'_>) -> Result<Reply, Error> {
        let url = self.url(call.path)?;
        let request = call.describe();
        // A closed semaphore is impossible (it is never closed); treat it as no limit.
        let _permit = self.permits.acquire().await.ok();
        let mut renewed = false;
        loop {
            let bearer = self.session.bearer(&self.http).await?;
            let reply = self
                .http
                .send(&request, &self.limiter, call.resend, || {
                    let mut builder = self
                        .http
                        .client()
                        .request(call.method.clone(), url.clone())
                        .header(header::ACCEPT, "application/json");
                    if let Some(body) = &call.body {
                        builder = builder
                            .header(header::CONTENT_TYPE, "application/json")
                            .body(body.clone());
                    }
                    match HeaderValue::try_from(format!("Bearer {}", bearer.value.expose())) {
                        Ok(mut value) => {
                            value.set_sensitive(true);
                            builder.header(header::AUTHORIZATION, value)
                        }
                        // A token a header cannot hold: sent without it, the 401 renews it.
                        Err(_) => builder,
                    }
                })
                .await?;
            if reply.status == StatusCode::UNAUTHORIZED && !renewed {
                tracing::debug!(%request, "goto refused the access token; renewing it once");
                renewed = true;
                self.session.forget(bearer.generation).await;
                continue;
            }
            return Ok(reply);
        }
    }

    /// GETs `path` and decodes a successful JSON answer.
    pub(crate) async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        let call = Call {
            method: Method::GET,
            path,
            body: None,
            resend: Resend::Safe,
        };
        let reply = self.call(&call).await?;
        if !reply.status.is_success() {
            return Err(refused(call.describe(), &reply));
        }
        decode(&call.describe(), &reply)
    }

    /// Every item of a collection, page by page, or an error: a page that fails, does not
    /// parse, starts elsewhere than asked, or a total that changes or is not reached fails the
    /// whole read.
    pub(crate) async fn all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, Error> {
        let mut items = Vec::new();
        let mut total = None;
        for _ in 0..MAX_PAGES {
            let offset = items.len() as u64;
            let paged = format!(
                "{path}?{}={offset}&{}={}",
                api::param::OFFSET,
                api::param::PAGE_SIZE,
                api::PAGE_SIZE
            );
            let request = format!("GET {path}");
            let page = match self.get_json::<Listing<T>>(&paged).await? {
                Listing::All(all) => return Ok(all),
                Listing::Page(page) => page,
            };
            let incomplete = |reason: String| Error::Incomplete {
                request: request.clone(),
                reason,
            };
            if let Some(from) = page.from_index
                && from != offset
                && !page.results.is_empty()
            {
                return Err(incomplete(format!(
                    "the page asked for at offset {offset} starts at {from}"
                )));
            }
            if let (Some(before), Some(now)) = (total, page.total)
                && before != now
            {
                return Err(incomplete(format!(
                    "the total changed from {before} to {now} during the read"
                )));
            }
            total = page.total.or(total);
            let len = page.results.len();
            items.extend(page.results);
            if api::is_last_page(offset, len, page.to_index, page.total) {
                if let Some(total) = total
                    && items.len() as u64 != total
                {
                    return Err(incomplete(format!(
                        "{} items were read but the total is {total}",
                        items.len()
                    )));
                }
                return Ok(items);
            }
        }
        Err(Error::Incomplete {
            request: format!("GET {path}"),
            reason: format!("more than {MAX_PAGES} pages"),
        })
    }
}

/// A collection answer: a page object, or (`[UNCONFIRMED]` for some collections) a bare list.
enum Listing<T> {
    Page(wire::Page<T>),
    All(Vec<T>),
}

impl<'de, T: DeserializeOwned> serde::Deserialize<'de> for Listing<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(deserializer)?;
        let text = raw.get();
        if text.trim_start().starts_with('[') {
            serde_json::from_str(text)
                .map(Listing::All)
                .map_err(serde::de::Error::custom)
        } else {
            serde_json::from_str(text)
                .map(Listing::Page)
                .map_err(serde::de::Error::custom)
        }
    }
}

/// Decodes a successful JSON answer.
pub(crate) fn decode<T: DeserializeOwned>(request: &str, reply: &Reply) -> Result<T, Error> {
    serde_json::from_slice(&reply.body).map_err(|error| Error::Malformed {
        request: request.to_owned(),
        status: reply.status.as_u16(),
        reason: error.to_string(),
    })
}

/// The error for a refused request.
pub(crate) fn refused(request: String, reply: &Reply) -> Error {
    let body: wire::ApiError = serde_json::from_slice(&reply.body).unwrap_or_default();
    let message = body
        .message
        .clone()
        .filter(|m| !m.trim().is_empty())
        .map(|m| {
            m.lines()
                .next()
                .unwrap_or_default()
                .chars()
                .take(300)
                .collect()
        })
        .unwrap_or_else(|| {
            reply
                .status
                .canonical_reason()
                .unwrap_or("no error body")
                .to_lowercase()
        });
    match reply.status.as_u16() {
        status @ (401 | 403) => Error::Auth {
            request,
            status,
            message,
        },
        404 => Error::NotFound { request },
        status => Error::Refused {
            request,
            status,
            code: body.error_code,
            message,
        },
    }
}
