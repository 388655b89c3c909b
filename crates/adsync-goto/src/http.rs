//! Sending one request: the rate limiter, bounded retries of 429, 5xx and dropped connections,
//! and the checks every URL passes before a secret is sent to it.

use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use reqwest::StatusCode;
use reqwest::header;
use url::Url;

use crate::error::Error;
use crate::retry::{RateLimiter, RetryPolicy, parse_retry_after};

/// A complete response.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
}

/// Whether a request may be sent again after a failure that happened once it was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resend {
    /// Reads and idempotent writes (PUT of a complete value): retried.
    Safe,
    /// A create: a timeout or 5xx after sending is returned at once, for the caller to check.
    Once,
}

/// The HTTP client every request goes through.
#[derive(Debug)]
pub(crate) struct Http {
    client: reqwest::Client,
    retry: RetryPolicy,
}

impl Http {
    pub(crate) fn new(retry: RetryPolicy) -> Result<Http, Error> {
        if retry.max_attempts == 0 {
            return Err(Error::InvalidSetting {
                setting: "retry.max_attempts",
                reason: "it must be at least 1".to_owned(),
            });
        }
        let client = reqwest::Client::builder()
            .user_agent(concat!("adsync/", env!("CARGO_PKG_VERSION")))
            .timeout(retry.timeout)
            .connect_timeout(retry.timeout.min(Duration::from_secs(30)))
            // A redirect would carry the bearer token somewhere unchecked.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(Error::Client)?;
        Ok(Http { client, retry })
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends what `build` makes, waiting for a slot of `limiter` before each send, until a final
    /// reply or the retry budget runs out.
    pub(crate) async fn send(
        &self,
        request: &str,
        limiter: &RateLimiter,
        resend: Resend,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Reply, Error> {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            limiter.acquire().await;
            let (failure, retry_after) = match self.once(&build).await {
                Ok((reply, retry_after)) if is_retryable(reply.status) => {
                    (Failure::Status(reply.status), retry_after)
                }
                Ok((reply, _)) => return Ok(reply),
                Err(error) => (Failure::Transport(error), None),
            };
            // Throttling means the request was not processed; anything else after sending a
            // create may have created the user.
            let may_resend = resend == Resend::Safe
                || matches!(failure, Failure::Status(StatusCode::TOO_MANY_REQUESTS));
            let wait = if may_resend {
                self.retry.wait(attempt, started.elapsed(), retry_after)
            } else {
                None
            };
            match wait {
                Some(wait) => {
                    tracing::debug!(%request, attempt, ?wait, failure = %failure, "retrying");
                    tokio::time::sleep(wait).await;
                }
                None => return Err(failure.into_error(request, attempt)),
            }
        }
    }

    async fn once(
        &self,
        build: &impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<(Reply, Option<Duration>), reqwest::Error> {
        let response = build().send().await?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| parse_retry_after(value, SystemTime::now()));
        let body = response.bytes().await?;
        Ok((
            Reply {
                status,
                body: body.to_vec(),
            },
            retry_after,
        ))
    }
}

enum Failure {
    Status(StatusCode),
    Transport(reqwest::Error),
}

impl Failure {
    fn into_error(self, request: &str, attempts: u32) -> Error {
        let request = request.to_owned();
        match self {
            Failure::Status(StatusCode::TOO_MANY_REQUESTS) => {
                Error::Throttled { request, attempts }
            }
            Failure::Status(status) => Error::Unavailable {
                request,
                status: status.as_u16(),
                attempts,
            },
            Failure::Transport(source) => Error::Transport {
                request,
                attempts,
                source,
            },
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Status(status) => write!(f, "http {}", status.as_u16()),
            Failure::Transport(error) if error.is_timeout() => f.write_str("timed out"),
            Failure::Transport(error) if error.is_connect() => f.write_str("could not connect"),
            Failure::Transport(_) => f.write_str("transport error"),
        }
    }
}

fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// Parses `text` and refuses anything but https, or http to a loopback host.
pub(crate) fn checked_url(what: &'static str, text: &str) -> Result<Url, Error> {
    let url = Url::parse(text.trim()).map_err(|_| Error::InvalidUrl {
        what,
        url: text.to_owned(),
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

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Percent-encodes a query value the way GoTo wants it: spaces as `%20`, never `+`.
pub(crate) fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        for bad in ["http://api.getgo.com", "http://10.1.1.1", "ftp://127.0.0.1"] {
            assert!(matches!(
                checked_url("admin url", bad),
                Err(Error::InsecureUrl { .. })
            ));
        }
        for good in [
            "https://api.getgo.com/admin/rest/v1",
            "http://127.0.0.1:9",
            "http://[::1]:1",
        ] {
            assert!(checked_url("admin url", good).is_ok(), "{good}");
        }
        assert!(matches!(
            checked_url("admin url", "not a url"),
            Err(Error::InvalidUrl { .. })
        ));
    }

    #[test]
    fn filters_use_percent_twenty() {
        assert_eq!(
            encode_query_value("email eq \"a+b@c.d\""),
            "email%20eq%20%22a%2Bb%40c.d%22"
        );
    }
}
