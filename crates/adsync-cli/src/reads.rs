//! What a run's directory read was, as the run record and `adsync status` keep it: a leaf
//! type shared by `state`, `render` and `incremental`.

/// What a directory read was: for the run record and `adsync status`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct DirectoryRead {
    /// When it ended (RFC 3339).
    pub(crate) at: String,
    /// `full`, `incremental`, or `ordinary` (Graph refused delta queries).
    pub(crate) kind: String,
    /// Why it was full, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    /// What an incremental read found: `groups`, `members`, `users`, `new_groups`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub(crate) changes: std::collections::BTreeMap<String, u64>,
}
