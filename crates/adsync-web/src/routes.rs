//! The router: every route, the access rules in front of them, and the headers on every answer.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::access::{self, Access, Caller};
use crate::app::App;
use crate::error::WebError;
use crate::pages::{self, Layout, Login};
use crate::service::{RetryAnswer, Service};
use crate::{WebOptions, api};

/// Form bodies are a token or a CSRF field; nothing larger is read.
const BODY_LIMIT: usize = 8 * 1024;

/// The whole application.
pub fn router(service: Arc<Service>, options: &WebOptions) -> Result<Router, WebError> {
    let style_hash =
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(pages::STYLE.as_bytes()));
    let csp = format!(
        "default-src 'none'; style-src 'sha256-{style_hash}'; img-src 'self'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    let app = App {
        service,
        access: Arc::new(Access::new(options.token.as_ref())?),
        read_only: options.read_only,
        csp: HeaderValue::from_str(&csp).map_err(|e| WebError::Render(e.to_string()))?,
    };
    let protected = Router::new()
        .route("/", get(pages::overview))
        .route("/failures/{category}", get(pages::details))
        .route("/plan", get(pages::plan))
        .route("/history", get(pages::history))
        .route("/retry", post(retry))
        .route("/logout", post(logout))
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(api::metrics))
        .route("/api/status", get(api::status))
        .route("/api/runs", get(api::runs))
        .route("/api/failures", get(api::failures))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), require_access));
    Ok(Router::new()
        .route("/login", get(login_form).post(login))
        .merge(protected)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(app.clone(), check_host))
        .layer(middleware::from_fn_with_state(app.clone(), headers))
        .with_state(app))
}

/// Security headers on every answer, errors included.
async fn headers(State(app): State<App>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, app.csp.clone());
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        // Not `no-referrer`: browsers then send `Origin: null` on the page's own POSTs.
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Without a token the service is for this machine only: a `Host` that is not loopback is a
/// page elsewhere that rebound its name to 127.0.0.1.
async fn check_host(State(app): State<App>, request: Request, next: Next) -> Response {
    if !app.access.requires_token() && !access::loopback_host(request.headers()) {
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "this service answers to loopback addresses only\n",
        )
            .into_response();
    }
    next.run(request).await
}

/// Every route but the login needs the token (when one is configured).
async fn require_access(State(app): State<App>, mut request: Request, next: Next) -> Response {
    let now = app.service.now();
    let Some(caller) = app.access.identify(request.headers(), now) else {
        return unauthorized(&request);
    };
    request.extensions_mut().insert(caller);
    next.run(request).await
}

fn unauthorized(request: &Request) -> Response {
    let path = request.uri().path();
    let wants_html = request.method() == Method::GET
        && !path.starts_with("/api/")
        && path != "/healthz"
        && path != "/metrics";
    let mut response = if wants_html {
        let next = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let template = Login {
            layout: Layout::new("Sign in", "", None),
            next,
            failed: false,
        };
        pages::page(StatusCode::UNAUTHORIZED, &template)
    } else {
        (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({ "error": "this service needs its access token" })),
        )
            .into_response()
    };
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"adsync\""),
    );
    response
}

async fn not_found(caller: Option<Extension<Caller>>) -> Response {
    pages::notice(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such page.",
        caller.as_ref().map(|c| &c.0),
    )
}

async fn login_form(State(app): State<App>) -> Response {
    if !app.access.requires_token() {
        return Redirect::to("/").into_response();
    }
    let template = Login {
        layout: Layout::new("Sign in", "", None),
        next: "/".into(),
        failed: false,
    };
    pages::page(StatusCode::OK, &template)
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
    #[serde(default)]
    next: String,
}

async fn login(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if !access::same_origin(&headers) {
        return cross_site();
    }
    let next = safe_next(&form.next);
    let session = match app.access.login(&form.token, app.service.now()) {
        Ok(session) => session,
        Err(error) => {
            tracing::error!(%error, "cannot start a session");
            return (StatusCode::INTERNAL_SERVER_ERROR, "cannot start a session").into_response();
        }
    };
    match session {
        Some(id) => {
            let mut response = Redirect::to(&next).into_response();
            set_cookie(&mut response, &Access::cookie(&id));
            response
        }
        None if !app.access.requires_token() => Redirect::to(&next).into_response(),
        None => {
            tracing::warn!("a sign-in with a wrong token was refused");
            let template = Login {
                layout: Layout::new("Sign in", "", None),
                next,
                failed: true,
            };
            pages::page(StatusCode::UNAUTHORIZED, &template)
        }
    }
}

/// Only a path on this site: never `//elsewhere` or `https://elsewhere`.
fn safe_next(next: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next.to_owned()
    } else {
        "/".to_owned()
    }
}

fn set_cookie(response: &mut Response, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: Option<String>,
}

/// The `csrf` field of a form body. An empty body (a script's `POST` with the bearer header)
/// has none; a body that is not a form is refused.
fn csrf_field(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<String>, (StatusCode, &'static str)> {
    if body.is_empty() {
        return Ok(None);
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send a form (application/x-www-form-urlencoded) or no body\n",
        ));
    }
    serde_urlencoded::from_bytes::<CsrfForm>(body)
        .map(|form| form.csrf)
        .map_err(|_| (StatusCode::BAD_REQUEST, "the form cannot be read\n"))
}

async fn logout(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let csrf = match csrf_field(&headers, &body) {
        Ok(csrf) => csrf,
        Err(refusal) => return refusal.into_response(),
    };
    if !access::same_origin(&headers) || !caller.csrf_matches(csrf.as_deref()) {
        return cross_site();
    }
    if let Caller::Session { id, .. } = &caller {
        app.access.logout(id);
    }
    let mut response = Redirect::to("/").into_response();
    set_cookie(&mut response, &Access::cookie(""));
    response
}

async fn retry(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if app.read_only {
        return (
            StatusCode::FORBIDDEN,
            "this service is read-only (--listen-read-only): Retry is off\n",
        )
            .into_response();
    }
    let csrf = match csrf_field(&headers, &body) {
        Ok(csrf) => csrf,
        Err(refusal) => return refusal.into_response(),
    };
    if !access::same_origin(&headers) || !caller.csrf_matches(csrf.as_deref()) {
        return cross_site();
    }
    let answer = app.service.request_retry();
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let (status, word) = match answer {
        RetryAnswer::Started => (StatusCode::ACCEPTED, "started"),
        RetryAnswer::Busy => (StatusCode::CONFLICT, "busy"),
        RetryAnswer::Stopping => (StatusCode::SERVICE_UNAVAILABLE, "stopping"),
    };
    if wants_json {
        return (status, Json(serde_json::json!({ "retry": word }))).into_response();
    }
    Redirect::to(&format!("/?retry={word}")).into_response()
}

fn cross_site() -> Response {
    (
        StatusCode::FORBIDDEN,
        "refused: this request did not come from the service's own page\n",
    )
        .into_response()
}
