//! Undoing a create that could not be finished, and the empty nodes that outlive a run.
//!
//! adsync deletes one kind of node only: one it made itself and proves empty by reading it
//! again (no name, no e-mail). A node that holds either is a user (the write that fills it may
//! have been applied with its answer lost), and a node that cannot be read again is not proven
//! empty: both are kept and reported. Nodes kept that way, nodes whose deletion failed, and
//! creates whose outcome could not be checked are recorded as [`Orphan`]s; the CLI keeps the
//! list between runs (see [`RescueTarget::orphans`]) and the next run adopts them for its
//! creates or removes them with [`RescueTarget::clean_up_orphans`].

use std::collections::{BTreeMap, BTreeSet};

use adsync_core::model::NodeId;

use crate::RescueTarget;
use crate::api::{method, param};
use crate::client::{Client, Params};
use crate::error::Error;
use crate::ops::{Deleted, empty_kind, lock, read_tree, unit};
use crate::orphan::Orphan;
use crate::wire::{self, Code};

/// What a fresh read found of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// Not in the organization.
    Gone,
    /// No name and no e-mail.
    Empty,
    /// A name or an e-mail: somebody's node now.
    Filled,
}

/// `node` read alone (`getHierarchy_v2` with `isnode`).
async fn read_node(client: &Client, node: NodeId) -> Result<Found, Error> {
    let params = Params::new()
        .with(param::IS_NODE, "true")
        .with(param::NODE, node.to_string());
    let read = client
        .call(
            method::GET_HIERARCHY,
            &params,
            &wire::parse_hierarchy_records,
            None,
        )
        .await;
    let records = match read {
        Err(Error::Code {
            code: Code::InvalidParamNode,
            ..
        }) => return Ok(Found::Gone),
        other => other?,
    };
    Ok(match records.iter().find(|record| record.id == node) {
        None => Found::Gone,
        Some(record)
            if record.name.trim().is_empty()
                && record.email.as_deref().unwrap_or("").trim().is_empty() =>
        {
            Found::Empty
        }
        Some(_) => Found::Filled,
    })
}

const FILLED: &str = "it holds a name or an e-mail (the write that fills it may have been applied)";
const UNREAD: &str = "it could not be read again to prove it empty";

impl RescueTarget {
    async fn delete(&self, node: NodeId) -> Result<(), Error> {
        let params = Params::new().with(param::DELETE_NODE, node.to_string());
        self.client
            .call(method::DELETE_NODE, &params, &unit, Some(&Deleted { node }))
            .await
    }

    /// Deletes `node` when a fresh read proves it empty; what the read found.
    pub(crate) async fn remove_if_empty(&self, node: NodeId) -> Result<Found, Error> {
        let found = read_node(&self.client, node).await?;
        if found == Found::Empty {
            self.delete(node).await?;
        }
        Ok(found)
    }

    /// After a failed fill of `node` (made under `parent`): deletes it when a fresh read
    /// proves it empty, else keeps it (recorded when it may be empty); gives back the failure.
    pub(crate) async fn roll_back(
        &self,
        node: NodeId,
        parent: NodeId,
        group: bool,
        error: Error,
    ) -> Error {
        let orphan = Orphan {
            parent,
            node: Some(node),
            group,
        };
        let kept = |why, error| Error::Kept {
            node,
            why,
            source: Box::new(error),
        };
        let found = match read_node(&self.client, node).await {
            Ok(found) => found,
            Err(read) => {
                tracing::warn!(%node, error = %read, "kept a new node after a failed create: {UNREAD}");
                self.record(orphan);
                return kept(UNREAD, error);
            }
        };
        match found {
            Found::Gone => error,
            Found::Filled => {
                tracing::warn!(%node, "kept a new node after a failed create: {FILLED}");
                kept(FILLED, error)
            }
            Found::Empty => match self.delete(node).await {
                Ok(()) => error,
                Err(rollback) => {
                    tracing::warn!(%node, error = %rollback, "could not delete an empty node after a failed create");
                    self.record(orphan);
                    Error::Orphaned {
                        node,
                        source: Box::new(error),
                        rollback: Box::new(rollback),
                    }
                }
            },
        }
    }

    /// Records an orphan for the CLI to keep.
    pub(crate) fn record(&self, orphan: Orphan) {
        lock(&self.ledger).insert(orphan);
    }

    /// Gives the target the orphans an earlier run recorded (from the CLI's state directory):
    /// creates adopt them first, and [`RescueTarget::clean_up_orphans`] removes the rest.
    #[must_use]
    pub fn with_orphans(self, orphans: impl IntoIterator<Item = Orphan>) -> RescueTarget {
        lock(&self.ledger).extend(orphans);
        self
    }

    /// The orphans to keep for the next run: those given and not yet resolved, and those this
    /// run recorded. The CLI writes them to its state directory after every apply.
    pub fn orphans(&self) -> Vec<Orphan> {
        lock(&self.ledger).iter().copied().collect()
    }

    /// Removes the recorded orphans a fresh read proves empty and no create of this run took;
    /// forgets those gone or filled; keeps those that cannot be read or deleted. A create whose
    /// outcome was unknown accounts for one empty node of its kind under its parent. Gives the
    /// nodes deleted. Call after the run's actions (it writes).
    pub async fn clean_up_orphans(&self) -> Vec<NodeId> {
        let recorded = std::mem::take(&mut *lock(&self.ledger));
        let claimed = lock(&self.claimed).clone();
        let mut deleted = Vec::new();
        let mut unknown: BTreeMap<(NodeId, bool), usize> = BTreeMap::new();
        for orphan in recorded {
            let Some(node) = orphan.node else {
                *unknown.entry((orphan.parent, orphan.group)).or_default() += 1;
                continue;
            };
            if claimed.contains(&node) {
                continue;
            }
            self.resolve(orphan, node, &mut deleted).await;
        }
        if unknown.is_empty() {
            return deleted;
        }
        let tree = match read_tree(&self.client).await {
            Ok(tree) => tree,
            Err(error) => {
                tracing::warn!(%error, "could not read the tree to find empty nodes of unchecked creates");
                for ((parent, group), count) in unknown {
                    for _ in 0..count {
                        self.record(Orphan {
                            parent,
                            node: None,
                            group,
                        });
                    }
                }
                return deleted;
            }
        };
        for ((parent, group), count) in unknown {
            let empty: BTreeSet<NodeId> = tree
                .iter()
                .filter(|node| node.parent == Some(parent) && empty_kind(node) == Some(group))
                .map(|node| node.id)
                .filter(|id| !claimed.contains(id))
                .collect();
            for node in empty.into_iter().rev().take(count) {
                let orphan = Orphan {
                    parent,
                    node: Some(node),
                    group,
                };
                self.resolve(orphan, node, &mut deleted).await;
            }
        }
        deleted
    }

    /// Deletes `node` when proven empty, or keeps `orphan` recorded when that fails.
    async fn resolve(&self, orphan: Orphan, node: NodeId, deleted: &mut Vec<NodeId>) {
        match self.remove_if_empty(node).await {
            Ok(Found::Empty) => deleted.push(node),
            Ok(Found::Gone | Found::Filled) => {}
            Err(error) => {
                tracing::warn!(%node, %error, "kept an orphaned node for the next run");
                self.record(orphan);
            }
        }
    }
}
