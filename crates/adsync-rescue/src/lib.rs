//! adsync-rescue: the LogMeIn Rescue [`Target`] of adsync.
//!
//! It reads the organization tree with one `getHierarchy_v2` call, then `getUser_v3` for the
//! users in scope when the plan needs fields the tree lacks (nick, SSO ID, add-ons), a bounded
//! number at a time; and it carries out plan actions with `createUser` + `setUser_v2`,
//! `createGroup` + `setGroup`, `moveNode`, and read-modify-write `setUser_v2` calls.
//!
//! Requests are form POSTs to `<base>/API/<method>.aspx`, signed with an API token or with an
//! authcode that `requestAuthCode` gives once per [`RescueTarget`] for an e-mail and password.
//! Retries (HTTP 429 and 5xx, timeouts, `ERROR`) follow a [`RetryPolicy`]; a write whose outcome
//! is unknown is checked by reading before it is sent again, so a retry never creates a second
//! user. Every spelling the public documentation leaves unconfirmed is in [`api`].
//!
//! What it deliberately does not do: delete anything except an empty node it made itself and
//! proves empty by reading it again (`rollback.rs`); touch links, channels or group permissions;
//! read the environment or files other than the orphans file the CLI names ([`load_orphans`],
//! [`save_orphans`]; the CLI resolves secrets and hands them in); log, print or quote a secret
//! (an unknown return code that may be one is not shown).
//!
//! Choices made where the documentation is silent:
//!
//! - `INVALIDPARAM_PARENT` is `not_found` (the planner only sends parents of the right kind, so a
//!   refusal means the group vanished); `INVALIDPARAM_MOBILEADDON` is `out_of_licenses` when the
//!   call turned the add-on on, `invalid_data` otherwise; `LIMITREACHED` is `transient` and never
//!   retried; `USER_DELETED_OR_DISABLED` and `INVALID_DELETE` are `permission`.
//! - In password mode the authcode is renewed at most once per [`RescueTarget`].
//! - An ambiguous `createUser`/`createGroup` is resolved by re-reading the tree and taking an
//!   empty node under the parent that no other create of this target has taken; only when there
//!   is none is the create sent again.
//! - A detail read fills every detail field (nick, SSO ID, both add-ons, account holder), not
//!   only the ones asked for; users outside the scope keep `None`.
//! - Actions whose node already holds the wanted values write nothing.

pub mod api;
mod client;
mod error;
mod ops;
mod orphan;
mod rollback;
mod text;
pub mod wire;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Mutex;

use adsync_core::adapter::{
    AdapterError, AdapterErrorKind, Applied, DetailRequest, NoProgress, ReadProgress, Target,
};
use adsync_core::config::{Region, RescueTargetConfig};
use adsync_core::model::{NodeId, RescueSnapshot};
use adsync_core::plan::Action;
use adsync_core::secret::Secret;
use async_trait::async_trait;

pub use client::RetryPolicy;
pub use error::{AuthMode, Error};
pub use orphan::{ORPHANS_FILE, Orphan, OrphanFileError, load_orphans, save_orphans};
pub use wire::{Account, Code};

/// How adsync signs in to Rescue.
#[derive(Clone, Debug)]
pub enum RescueCredentials {
    /// An API token (or an authcode), sent as `authcode` on every call.
    Token(Secret),
    /// E-mail and password, exchanged for an authcode with `requestAuthCode` on first use.
    /// Requesting an authcode replaces the account's previous one.
    Password {
        /// The account e-mail.
        email: String,
        /// The password.
        password: Secret,
    },
}

/// Everything a [`RescueTarget`] needs.
#[derive(Clone, Debug)]
pub struct RescueSettings {
    /// `https://...` (see [`base_url_for`]); plain `http://` only for loopback addresses. A
    /// trailing `/API` is accepted.
    pub base_url: String,
    /// How to sign in.
    pub auth: RescueCredentials,
    /// The password new users get (they change it at first login).
    pub default_password: Option<Secret>,
    /// Detail reads and actions at once (at least 1).
    pub concurrency: usize,
    /// Retries.
    pub retry: RetryPolicy,
}

impl RescueSettings {
    /// Settings from the `target` section of the configuration, with the secrets the CLI
    /// resolved and the default retry policy.
    pub fn from_config(
        config: &RescueTargetConfig,
        auth: RescueCredentials,
        default_password: Option<Secret>,
    ) -> RescueSettings {
        RescueSettings {
            base_url: config
                .base_url
                .clone()
                .unwrap_or_else(|| base_url_for(config.region).to_owned()),
            auth,
            default_password,
            concurrency: config.concurrency,
            retry: RetryPolicy::default(),
        }
    }
}

/// The base URL of a region.
pub fn base_url_for(region: Region) -> &'static str {
    match region {
        Region::Global => api::host::GLOBAL,
        Region::Eu => api::host::EU,
        Region::Enterprise => api::host::ENTERPRISE,
    }
}

/// A Rescue organization reached through the Rescue API.
pub struct RescueTarget {
    client: client::Client,
    default_password: Option<Secret>,
    concurrency: usize,
    /// Nodes this target's creates own, so two creates never take the same empty node.
    claimed: Mutex<HashSet<NodeId>>,
    /// How many empty nodes the last read found under each parent, by kind (`true`: groups):
    /// what a create interrupted between `createUser`/`createGroup` and the `setUser`/`setGroup`
    /// that fills the node leaves behind. A create under such a parent adopts one.
    orphans: Mutex<HashMap<(NodeId, bool), usize>>,
    /// Every node id of the last tree read: a create answer naming one of them is a lie.
    known: Mutex<HashSet<NodeId>>,
    /// Empty nodes kept and creates left unchecked, for the next run (`rollback.rs`).
    ledger: Mutex<std::collections::BTreeSet<Orphan>>,
    /// Where the ledger is kept between runs, when the caller keeps it in a file.
    orphan_file: Option<std::path::PathBuf>,
}

impl fmt::Debug for RescueTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RescueTarget")
            .field("client", &self.client)
            .field("default_password", &self.default_password)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl RescueTarget {
    /// A target for `settings`. Fails on a base URL that is not https (or loopback http).
    pub fn new(settings: RescueSettings) -> Result<RescueTarget, Error> {
        Ok(RescueTarget {
            client: client::Client::new(
                &settings.base_url,
                &settings.auth,
                settings.retry,
                settings.default_password.iter().cloned().collect(),
            )?,
            default_password: settings.default_password,
            concurrency: settings.concurrency.max(1),
            claimed: Mutex::new(HashSet::new()),
            orphans: Mutex::new(HashMap::new()),
            known: Mutex::new(HashSet::new()),
            ledger: Mutex::new(std::collections::BTreeSet::new()),
            orphan_file: None,
        })
    }

    /// Keeps the ledger of empty nodes in `path` (the CLI's state directory): what an earlier
    /// run recorded there is given to this target now, and [`Target::finish`] tidies it and
    /// writes back what is left.
    pub fn with_orphan_file(
        self,
        path: std::path::PathBuf,
    ) -> Result<RescueTarget, OrphanFileError> {
        let mut target = self.with_orphans(load_orphans(&path)?);
        target.orphan_file = Some(path);
        Ok(target)
    }

    /// Tells `observer` about every HTTP exchange with Rescue.
    #[must_use]
    pub fn with_request_observer(
        mut self,
        observer: std::sync::Arc<dyn adsync_core::adapter::RequestObserver>,
    ) -> RescueTarget {
        self.client.observer = Some(observer);
        self
    }

    /// Signs in (in password mode) and reads the account with `getAccount`: the cheap check of
    /// `adsync validate --online`.
    pub async fn check_auth(&self) -> Result<Account, Error> {
        self.account().await
    }

    /// Reads the tree and the details `details` asks for; [`Target::snapshot`] with this
    /// crate's error.
    pub async fn read_snapshot(&self, details: &DetailRequest) -> Result<RescueSnapshot, Error> {
        self.read(details, &NoProgress).await
    }
}

#[async_trait]
impl Target for RescueTarget {
    async fn snapshot(&self, details: &DetailRequest) -> Result<RescueSnapshot, AdapterError> {
        Ok(self.read(details, &NoProgress).await?)
    }

    async fn snapshot_reporting(
        &self,
        details: &DetailRequest,
        progress: &dyn ReadProgress,
    ) -> Result<RescueSnapshot, AdapterError> {
        Ok(self.read(details, progress).await?)
    }

    async fn apply(
        &self,
        action: &Action,
        parent: Option<NodeId>,
    ) -> Result<Applied, AdapterError> {
        Ok(self.apply_action(action, parent).await?)
    }

    /// Removes the recorded empty nodes a fresh read proves empty, and keeps the rest of the
    /// ledger in the orphan file (without one, the caller keeps [`RescueTarget::orphans`]).
    async fn finish(&self) -> Result<(), AdapterError> {
        let Some(path) = &self.orphan_file else {
            return Ok(());
        };
        for node in self.clean_up_orphans().await {
            tracing::info!(%node, "deleted an empty node an earlier run created and could not fill");
        }
        save_orphans(path, &self.orphans())
            .map_err(|error| AdapterError::new(AdapterErrorKind::Unknown, error.to_string()))
    }

    async fn rollback_created(&self, node: NodeId) -> Result<(), AdapterError> {
        match self.remove_if_empty(node).await? {
            rollback::Found::Empty | rollback::Found::Gone => Ok(()),
            rollback::Found::Filled => Err(Error::NotEmpty { node }.into()),
        }
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }
}
