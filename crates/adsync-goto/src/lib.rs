//! adsync-goto: a GoTo account (GoTo Admin "User Sync") as an adsync target.
//!
//! It reads a whole account through GoTo's public Admin API (`/admin/rest/v1`: `/me`, account
//! users, licences with `seats` and `userCount`, user groups, role sets; paged by `offset` and
//! `pageSize`) into a [`GotoSnapshot`], complete or not at all, and carries out single
//! [`Operation`]s: create a user (with `suppressEmail` configurable), replace its licences, set
//! its admin role, move it to a user group, and suspend it by removing every licence. The SCIM
//! API is not needed for any of that and is not called.
//!
//! [`planner::plan()`] turns what the directory wants of the account (core's
//! `adsync_core::goto::goto_desired`, the `goto.rules` read through the shared directory half) into
//! an ordered [`planner::GotoPlan`]: creates, licence changes, roles, user-group moves, and
//! suspensions of managed users no rule selects, with the blast-radius guard.
//! [`execute::execute()`] applies it: drift against a fresh read, then [`preflight()`], which
//! compares the operations with the licences' free seats (`seats − userCount`) in priority order,
//! so "out of licences" is reported per licence with the users affected and what fits is applied.
//!
//! It signs in as GoTo allows: the authorization-code flow with PKCE through a loopback redirect
//! ([`login`]), a refresh token kept in a file only its owner can read ([`TokenFile`]), access
//! tokens refreshed when they near their 60 minutes and a rotated refresh token stored atomically.
//! A revoked refresh token is an error telling the operator to run `adsync goto login` again.
//! Requests keep under GoTo's documented 10 requests per second per API with a client-side
//! limiter, and 429s and 5xx are retried with bounded backoff honouring `Retry-After`.
//!
//! What it deliberately does not do: **delete a GoTo user** (there is no delete operation, no
//! delete request, and a test scans every request the crate sends); write custom role sets; call
//! the SCIM API; read any file but the refresh-token file; log or print a secret.
//!
//! # What the public documentation does not confirm
//!
//! Each row is isolated behind one item of [`api`], which the emulator in `tests/` uses too, so
//! a correction is made in one place.
//!
//! | Detail | adsync's choice | Where |
//! | --- | --- | --- |
//! | Account key in `/me` | top-level `accountKey`, else the single `accounts[].key` | [`api::account_key_of_me`] |
//! | Paging of users, licences, groups, role sets | `offset` + `pageSize` (100), last page when `toIndex + 1 >= total`; a bare JSON list is the whole collection | [`api::is_last_page`], [`api::PAGE_SIZE`] |
//! | Which licences a user holds | licences' `userKeys` merged with the user's `licenseKeys` | [`api::licences_of_user`] |
//! | A user's user group | the user's `groupKey` | [`api::group_of_user`] |
//! | Admin roles | `SUPER_USER` = full; `MANAGE_USERS` + `managedGroupKeys` = manager of groups; anything else is read as "other" and never written | [`api::role_of_user`], [`api::role_body`] |
//! | Licences on a new user | top-level `licenseKeys` in "Add Users" | [`api::create_user_body`] |
//! | `allOrNothing` | a query parameter, sent as `true` | [`api::param::ALL_OR_NOTHING`] |
//! | Replacing a user's licences | `PUT /accounts/{a}/users/{u}` with the complete `licenseKeys` | [`api::licences_body`] |
//! | Moving a user to a user group | `PUT /accounts/{a}/users/{u}` with `groupKey` | [`api::group_body`] |
//! | Finding a user by e-mail (after a lost create answer) | `filter=email eq "…"`, spaces as `%20` | [`api::email_filter`] |
//! | Keys in request bodies | JSON numbers (strings when not decimal) | [`api::key_json`] |
//! | "Out of licences" | a 400/403/409/422 to a write that adds licences, whose body speaks of seats or licences | [`api::is_out_of_licences`] |
//! | A revoked refresh token | `invalid_grant`/`invalid_token`, or a 401 without an OAuth error | [`api::is_refresh_revoked`] |
//! | Refresh-token rotation | a `refresh_token` in the refresh answer replaces the stored one | [`api::token_answer`] |
//! | PKCE at GoTo's authorization server | sent always (S256) | [`api::PKCE`] |
//! | `Retry-After` on 429 | honoured when present (none is documented), else exponential backoff | [`RetryPolicy`] |
//! | Largest page size, OAuth scope | 100; the client's configured scopes (`identity:` is what public clients use) | [`api::PAGE_SIZE`], [`api::SCOPE`] |
//!
//! Choices made where the documentation is silent: a create whose answer is lost (timeout, 5xx)
//! is not sent again but resolved by looking the e-mail up; role and user group of a new user are
//! set by follow-up updates after "Add Users"; a new user must get at least one licence; a token
//! file readable by group or others is refused (as ssh refuses such a key); keys are kept as text,
//! since GoTo's keys exceed 64 bits.

pub mod api;
mod client;
mod error;
pub mod execute;
mod http;
pub mod login;
pub mod model;
pub mod pkce;
pub mod planner;
pub mod preflight;
mod read;
mod retry;
mod token;
mod token_store;
pub mod wire;
mod write;

use std::fmt;
use std::sync::Arc;

use adsync_core::adapter::AdapterError;
use adsync_core::secret::Secret;
use tokio::sync::OnceCell;

pub use error::{Error, LOGIN_HINT};
pub use model::{
    AdminRole, GotoSnapshot, GotoUser, Key, Licence, Operation, Outcome, Product, RoleSet,
    UserGroup,
};
pub use preflight::{Preflight, Shortage, preflight};
pub use retry::RetryPolicy;
pub use token::OAuthClient;
pub use token_store::{MemoryTokenStore, RefreshTokenStore, TokenFile};

/// Everything a [`GotoTarget`] needs.
#[derive(Clone)]
pub struct GotoSettings {
    /// The Admin API base ([`api::host::ADMIN`]; plain http only for loopback hosts).
    pub admin_url: String,
    /// The OAuth client and token endpoint.
    pub client: OAuthClient,
    /// Where the refresh token is kept.
    pub store: Arc<dyn RefreshTokenStore>,
    /// The account to work on; read from `/me` when `None`.
    pub account_key: Option<Key>,
    /// Send no welcome e-mail to created users (`suppressEmail`).
    pub suppress_email: bool,
    /// Requests per second to each API (at most [`api::DOCUMENTED_RATE_PER_SECOND`] is sensible).
    pub rate_per_second: u32,
    /// Requests in flight at once (at least 1).
    pub concurrency: usize,
    /// Retries.
    pub retry: RetryPolicy,
}

impl fmt::Debug for GotoSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GotoSettings")
            .field("admin_url", &self.admin_url)
            .field("client", &self.client)
            .field("store", &self.store.describe())
            .field("account_key", &self.account_key)
            .field("suppress_email", &self.suppress_email)
            .field("rate_per_second", &self.rate_per_second)
            .field("concurrency", &self.concurrency)
            .field("retry", &self.retry)
            .finish()
    }
}

impl GotoSettings {
    /// Settings for the public GoTo endpoints with the default rate, concurrency and retries.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: Secret,
        store: Arc<dyn RefreshTokenStore>,
    ) -> GotoSettings {
        GotoSettings {
            admin_url: api::host::ADMIN.to_owned(),
            client: OAuthClient {
                client_id: client_id.into(),
                client_secret,
                token_url: api::host::TOKEN.to_owned(),
            },
            store,
            account_key: None,
            suppress_email: false,
            rate_per_second: api::DEFAULT_RATE_PER_SECOND,
            concurrency: 4,
            retry: RetryPolicy::default(),
        }
    }
}

/// A GoTo account reached through the Admin API.
#[derive(Debug)]
pub struct GotoTarget {
    client: client::Client,
    account: OnceCell<Key>,
    configured_account: Option<Key>,
    suppress_email: bool,
}

impl GotoTarget {
    /// A target for `settings`. Fails on an unusable URL or setting; signs in on first use.
    pub fn new(settings: GotoSettings) -> Result<GotoTarget, Error> {
        let session = token::Session::new(
            settings.client.clone(),
            Arc::clone(&settings.store),
            settings.rate_per_second,
        )?;
        let http = http::Http::new(settings.retry.clone())?;
        Ok(GotoTarget {
            client: client::Client::new(
                &settings.admin_url,
                session,
                http,
                settings.rate_per_second,
                settings.concurrency,
            )?,
            account: OnceCell::new(),
            configured_account: settings.account_key,
            suppress_email: settings.suppress_email,
        })
    }

    /// The account key: configured, or read once from `/me`.
    pub async fn account_key(&self) -> Result<Key, Error> {
        if let Some(key) = &self.configured_account {
            return Ok(key.clone());
        }
        self.account
            .get_or_try_init(|| async {
                let me: wire::Me = self.client.get_json(&api::path::me()).await?;
                api::account_key_of_me(&me).map_err(|reason| Error::Account { reason })
            })
            .await
            .cloned()
    }

    /// Signs in and reads `/me`: the cheap check of `adsync validate --online`.
    pub async fn check_auth(&self) -> Result<Key, Error> {
        let me: wire::Me = self.client.get_json(&api::path::me()).await?;
        match &self.configured_account {
            Some(key) => Ok(key.clone()),
            None => api::account_key_of_me(&me).map_err(|reason| Error::Account { reason }),
        }
    }

    /// [`GotoTarget::read_snapshot`] with core's error.
    pub async fn snapshot(&self) -> Result<GotoSnapshot, AdapterError> {
        Ok(self.read_snapshot().await?)
    }

    /// [`GotoTarget::apply_operation`] with core's error.
    pub async fn apply(&self, operation: &Operation) -> Result<Outcome, AdapterError> {
        Ok(self.apply_operation(operation).await?)
    }
}
