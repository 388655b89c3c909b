//! The boundary to the outside: the `Source` and `Target` traits and the error every adapter
//! converts its own errors into.

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::condition::Condition;
use crate::config::{Config, GroupRef};
use crate::model::{DirectorySnapshot, NodeId, RescueSnapshot};
use crate::plan::Action;
pub use crate::scope::DetailRequest;

/// What the source is asked to read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceRequest {
    /// The Entra groups of the pairings, in pairing order (duplicates removed).
    pub groups: Vec<GroupRef>,
    /// Expand nested groups.
    pub nested_groups: bool,
    /// Attributes beyond the fixed ones ([`crate::attribute::FIXED`]) that templates and
    /// conditions read, by Graph name, sorted: every user read carries them.
    pub attributes: Vec<String>,
    /// The conditions of pairings that name no group, in pairing order (duplicates removed):
    /// every directory user satisfying one is read too.
    pub selections: Vec<Condition>,
}

impl SourceRequest {
    /// What `config`'s pairings need read.
    pub fn for_config(config: &Config) -> SourceRequest {
        let mut request = SourceRequest {
            nested_groups: config.source.nested_groups(),
            attributes: config.directory_attributes(),
            ..SourceRequest::default()
        };
        // GoTo rules select their users from the same snapshot, as pairings do.
        let rules = config.goto.iter().flat_map(|goto| goto.rules.iter());
        let selectors = config
            .pairings
            .iter()
            .map(|pairing| (&pairing.entra_group, &pairing.condition))
            .chain(rules.map(|rule| (&rule.entra_group, &rule.condition)));
        for selector in selectors {
            match selector {
                (Some(group), _) if !request.groups.contains(group) => {
                    request.groups.push(group.clone());
                }
                (None, Some(condition)) if !request.selections.contains(condition.condition()) => {
                    request.selections.push(condition.condition().clone());
                }
                _ => {}
            }
        }
        request
    }
}

/// A provider of the desired state: Microsoft Graph, a snapshot file, later LDAP.
#[async_trait]
pub trait Source: Send + Sync {
    /// Reads every requested group with its members, completely, or fails.
    ///
    /// A group that cannot be resolved (no match, several matches) is an error naming the
    /// candidates. A partial read is never returned.
    async fn snapshot(&self, request: &SourceRequest) -> Result<DirectorySnapshot, AdapterError>;

    /// [`Source::snapshot`], telling `progress` how far the read has come. Adapters whose reads
    /// take long override it; the default reads without reporting.
    async fn snapshot_reporting(
        &self,
        request: &SourceRequest,
        progress: &dyn ReadProgress,
    ) -> Result<DirectorySnapshot, AdapterError> {
        let _ = progress;
        self.snapshot(request).await
    }
}

/// Told how far a long read has come, for progress bars. Reports may come from several tasks at
/// once, in any order; each one carries the whole count so far.
pub trait ReadProgress: Send + Sync {
    /// The read has come as far as `step` says.
    fn report(&self, step: ReadStep);
}

/// How far a read has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadStep {
    /// Directory groups: `done` of `total` read completely, after `pages` pages listing `users`
    /// users (a user in several groups counts once per group).
    Groups {
        /// Groups read completely.
        done: u64,
        /// Groups to read.
        total: u64,
        /// Member pages read so far.
        pages: u64,
        /// Users listed so far.
        users: u64,
    },
    /// The organization tree has been read: `nodes` nodes.
    Hierarchy {
        /// Nodes in the tree.
        nodes: u64,
    },
    /// User details: `done` of `total` users read.
    Details {
        /// Users whose details have been read.
        done: u64,
        /// Users whose details are needed.
        total: u64,
    },
}

/// A [`ReadProgress`] that ignores every report.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl ReadProgress for NoProgress {
    fn report(&self, _step: ReadStep) {}
}

/// A writable Rescue organization: the Rescue API, a snapshot file, an in-memory tree.
#[async_trait]
pub trait Target: Send + Sync {
    /// Reads the whole tree, with the user details `details` asks for, completely, or fails.
    async fn snapshot(&self, details: &DetailRequest) -> Result<RescueSnapshot, AdapterError>;

    /// [`Target::snapshot`], telling `progress` how far the read has come. Adapters whose reads
    /// take long override it; the default reads without reporting.
    async fn snapshot_reporting(
        &self,
        details: &DetailRequest,
        progress: &dyn ReadProgress,
    ) -> Result<RescueSnapshot, AdapterError> {
        let _ = progress;
        self.snapshot(details).await
    }

    /// Carries out one action. `parent` is the resolved destination node for actions that place
    /// a node (create, move), filled in by the executor when the plan only knew a path.
    async fn apply(&self, action: &Action, parent: Option<NodeId>)
    -> Result<Applied, AdapterError>;

    /// Deletes a node this run created a moment ago and failed to fill (SPEC §5). Never used for
    /// anything else.
    async fn rollback_created(&self, node: NodeId) -> Result<(), AdapterError>;

    /// How many actions may run at once.
    fn concurrency(&self) -> usize {
        1
    }

    /// Called once when an apply's actions are done (or there were none): the target tidies
    /// what earlier runs left half made and keeps what the next run must know (Rescue: the empty
    /// nodes it created and could not fill). Never deletes anything but such leftovers. The
    /// default has nothing to tidy.
    async fn finish(&self) -> Result<(), AdapterError> {
        Ok(())
    }
}

/// The result of a successful action.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The node the action created, when it created one.
    pub created: Option<NodeId>,
}

/// Why an adapter call failed, in terms the CLI can give hints for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdapterErrorKind {
    /// Credentials were refused (wrong secret, unknown tenant, token rejected).
    Auth,
    /// Credentials work but lack a right (missing consent or permission).
    Permission,
    /// Still throttled after retries.
    Throttled,
    /// The object does not exist.
    NotFound,
    /// The object clashes with another (e-mail already in use, ambiguous name).
    Conflict,
    /// A licence or seat was refused.
    Quota,
    /// The network or the server failed (after retries).
    Transport,
    /// The response could not be understood.
    Protocol,
    /// The service refused a value.
    Rejected,
    /// Anything else; the raw code is kept.
    Unknown,
    /// The action was not started because the run is stopping (reported as skipped).
    Cancelled,
}

/// Told about every HTTP exchange an adapter has with its service, for the service page's
/// metrics. `api` names the service (`graph`, `rescue`); `status` is the HTTP status, or `None`
/// when no answer came (connection refused, timeout).
pub trait RequestObserver: Send + Sync + fmt::Debug {
    /// One exchange ended.
    fn exchanged(&self, api: &'static str, status: Option<u16>);
}

/// The failure categories of an action (SPEC §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureCategory {
    /// The e-mail is already used by another node or account.
    ExistingAccount,
    /// An add-on or seat was refused.
    OutOfLicenses,
    /// Rescue refused a field.
    InvalidData,
    /// The credentials lack rights.
    Permission,
    /// The node vanished.
    NotFound,
    /// Still failing after retries.
    Transient,
    /// Any other code (kept raw).
    Unknown,
}

impl FailureCategory {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCategory::ExistingAccount => "existing_account",
            FailureCategory::OutOfLicenses => "out_of_licenses",
            FailureCategory::InvalidData => "invalid_data",
            FailureCategory::Permission => "permission",
            FailureCategory::NotFound => "not_found",
            FailureCategory::Transient => "transient",
            FailureCategory::Unknown => "unknown",
        }
    }
}

/// The error every adapter returns across the trait boundary.
#[derive(Debug)]
pub struct AdapterError {
    /// What kind of failure.
    pub kind: AdapterErrorKind,
    /// A lowercase phrase saying what failed (the request, the group, the node).
    pub message: String,
    /// The service's own code, verbatim (`INVALIDPARAM_EMAIL`, `AADSTS7000215`).
    pub code: Option<String>,
    /// The obvious next step, when there is one.
    pub hint: Option<String>,
    /// The underlying error.
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl AdapterError {
    /// An error of `kind` with `message`.
    pub fn new(kind: AdapterErrorKind, message: impl Into<String>) -> AdapterError {
        AdapterError {
            kind,
            message: message.into(),
            code: None,
            hint: None,
            source: None,
        }
    }

    /// Adds the service's code.
    #[must_use]
    pub fn with_code(mut self, code: impl Into<String>) -> AdapterError {
        self.code = Some(code.into());
        self
    }

    /// Adds a hint.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> AdapterError {
        self.hint = Some(hint.into());
        self
    }

    /// Adds the underlying error.
    #[must_use]
    pub fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> AdapterError {
        self.source = Some(Box::new(source));
        self
    }

    /// The action failure category this error means.
    pub fn category(&self) -> FailureCategory {
        match self.kind {
            AdapterErrorKind::Conflict => FailureCategory::ExistingAccount,
            AdapterErrorKind::Quota => FailureCategory::OutOfLicenses,
            AdapterErrorKind::Rejected => FailureCategory::InvalidData,
            AdapterErrorKind::Auth | AdapterErrorKind::Permission => FailureCategory::Permission,
            AdapterErrorKind::NotFound => FailureCategory::NotFound,
            AdapterErrorKind::Throttled | AdapterErrorKind::Transport => FailureCategory::Transient,
            AdapterErrorKind::Protocol
            | AdapterErrorKind::Unknown
            | AdapterErrorKind::Cancelled => FailureCategory::Unknown,
        }
    }
}

impl fmt::Display for AdapterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        // Some adapters' messages already quote the service's code (Graph's "refused with http
        // 403 (Authorization_RequestDenied)"); saying it twice helps nobody.
        if let Some(code) = &self.code
            && !self.message.contains(code.as_str())
        {
            write!(f, " (`{code}`)")?;
        }
        Ok(())
    }
}

impl std::error::Error for AdapterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_adds_the_code_once() {
        let error = AdapterError::new(AdapterErrorKind::Conflict, "`createUser` failed")
            .with_code("INVALIDPARAM_EMAIL");
        assert_eq!(
            error.to_string(),
            "`createUser` failed (`INVALIDPARAM_EMAIL`)"
        );
        let error = AdapterError::new(
            AdapterErrorKind::Permission,
            "GET /v1.0/groups was refused with http 403 (Authorization_RequestDenied): no",
        )
        .with_code("Authorization_RequestDenied");
        assert_eq!(
            error.to_string(),
            "GET /v1.0/groups was refused with http 403 (Authorization_RequestDenied): no"
        );
    }
}
