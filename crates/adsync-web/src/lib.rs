//! adsync-web: the service's own page for `adsync run --listen`.
//!
//! An overview of the last run with a banner per failure category and its details, Retry sync,
//! the pending plan, the activity history, `/healthz`, `/metrics` (Prometheus text) and JSON
//! for scripts. Server-rendered HTML (askama), one inline style sheet, no script.
//!
//! What it deliberately does not do: read files, the environment or the clock (the CLI hands it
//! [`view`] data, a [`view::History`] and a [`view::Clock`]), run a sync itself (Retry asks the
//! CLI's run loop over a channel, so a run never overlaps another), or override a safety guard.
//! It binds nothing either: the CLI binds the listener and decides which addresses need a token.

mod access;
mod api;
mod app;
pub mod banner;
mod error;
mod history;
mod metrics;
mod pages;
mod routes;
mod service;
mod time;
pub mod view;

use adsync_core::secret::Secret;
use std::future::Future;

pub use crate::access::MIN_TOKEN_LEN;
pub use crate::error::WebError;
pub use crate::routes::router;
pub use crate::service::{RetryAnswer, RetryRequests, Running, Service};

/// How the page is served.
#[derive(Debug, Default)]
pub struct WebOptions {
    /// The access token every request needs; `None` serves loopback callers without one.
    pub token: Option<Secret>,
    /// Hide Retry and refuse `POST /retry`.
    pub read_only: bool,
}

/// Serves `app` (from [`router`]) on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WebError> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(WebError::Serve)
}
