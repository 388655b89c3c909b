//! What every handler shares.

use std::sync::Arc;

use axum::http::HeaderValue;

use crate::access::Access;
use crate::service::Service;

/// The router's state.
#[derive(Clone)]
pub(crate) struct App {
    pub(crate) service: Arc<Service>,
    pub(crate) access: Arc<Access>,
    pub(crate) read_only: bool,
    /// The Content-Security-Policy every answer carries.
    pub(crate) csp: HeaderValue,
}
