//! What a run leaves for the next one to clean up (see `rollback.rs`).

use adsync_core::model::NodeId;
use serde::{Deserialize, Serialize};

/// An empty node adsync made and could neither fill nor delete, or a create whose outcome it
/// could not check. Serializable, for the CLI's state directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Orphan {
    /// The parent the create was sent under.
    pub parent: NodeId,
    /// The node; `None` for a create whose outcome could not be checked (its id is unknown).
    pub node: Option<NodeId>,
    /// Whether it is a group (`createGroup`) rather than a user (`createUser`).
    pub group: bool,
}
