//! Claims (SPEC §2, §9): which Rescue node each desired user of a plane gets.
//!
//! A user gets the node its recorded link names, else the node that carries its e-mail; of
//! several nodes with its e-mail, the one already in its destination, else the lowest id. A
//! node goes to one user only, decided in key order; a node that another user's link names
//! stays with that user; and when a user's link and its e-mail point at two different nodes,
//! neither is touched until someone resolves it.

use std::borrow::Cow;

use crate::desired::{DesiredUser, PlaneUsers};
use crate::hash::{FastMap, FastSet};
use crate::model::{NodeId, Plane, RescueNode, UserKey};
use crate::warning::{Warning, WarningKind};

/// A user node with its id and its e-mail as a key, worked out once: what the claims and the
/// plan's order compare, read without going back to the node.
#[derive(Clone, Debug)]
pub(crate) struct KeyedNode<'a> {
    pub(crate) node: &'a RescueNode,
    pub(crate) id: NodeId,
    pub(crate) key: Option<Cow<'a, str>>,
}

impl<'a> KeyedNode<'a> {
    pub(crate) fn new(node: &'a RescueNode) -> KeyedNode<'a> {
        KeyedNode {
            node,
            id: node.id,
            key: node_key(node),
        }
    }

    /// The node's e-mail as a key.
    pub(crate) fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }
}

/// What became of a desired user's claim on a node.
#[derive(Clone, Debug)]
pub(crate) enum Claim<'a> {
    /// No node: the user is created.
    None,
    /// This node.
    Matched(KeyedNode<'a>),
    /// The node is another directory user's.
    Taken,
    /// The recorded link and the e-mail point at two different nodes.
    LinkAndEmailDisagree,
}

impl<'a> Claim<'a> {
    /// The node the user got with its id and key, if it got one.
    pub(crate) fn keyed(&self) -> Option<&KeyedNode<'a>> {
        match self {
            Claim::Matched(keyed) => Some(keyed),
            _ => None,
        }
    }
}

/// The claims of one plane.
pub(crate) struct PlaneClaims<'a> {
    /// Per desired user, in key order.
    pub(crate) claims: Vec<Claim<'a>>,
    /// The nodes claimed (or held back because a link and an e-mail disagree about them).
    pub(crate) claimed: FastSet<NodeId>,
}

/// A node's e-mail as a key (`RescueNode::key` without the allocation).
pub(crate) fn node_key(node: &RescueNode) -> Option<Cow<'_, str>> {
    node.email.as_deref().and_then(UserKey::normalize)
}

/// The node a user's recorded link names (the first listed with the id), when it is a user node
/// of `plane`: a link to anything else names no node of the plane.
pub(crate) fn linked_in_plane(plane: Plane, node: Option<&RescueNode>) -> Option<KeyedNode<'_>> {
    node.filter(|node| {
        node.node_type
            .user_role()
            .is_some_and(|role| role.plane() == plane)
    })
    .map(KeyedNode::new)
}

/// Whether the claims need the nodes carrying `user`'s e-mail: when its link names no node of the
/// plane, or a node that carries another e-mail (`linked`, from [`linked_in_plane`]).
pub(crate) fn needs_email(user: DesiredUser<'_>, linked: Option<&KeyedNode<'_>>) -> bool {
    linked.is_none_or(|node| node.key() != Some(user.key()))
}

/// Decides, in key order, which node each desired user of `plane` gets. `linked` holds, per
/// user, the node of the plane its recorded link names ([`linked_in_plane`]), `with_email`
/// gives the nodes of the plane carrying a user's e-mail (in id order, then listing order;
/// asked only where [`needs_email`] says so), `destination` the node of its winning pairing's
/// destination (when it exists).
pub(crate) fn claim_plane<'i, 'a: 'i>(
    plane: Plane,
    users: PlaneUsers<'_>,
    linked: Vec<Option<KeyedNode<'a>>>,
    with_email: impl Fn(DesiredUser<'_>) -> &'i [&'a RescueNode],
    destination: impl Fn(DesiredUser<'_>) -> Option<NodeId>,
    warnings: &mut Vec<Warning>,
) -> PlaneClaims<'a> {
    let links = linked;
    // A link outranks an e-mail: the last user (in key order) whose link names a node owns it.
    let mut link_owner: FastMap<NodeId, usize> = FastMap::default();
    link_owner.reserve(links.len());
    for (at, link) in links.iter().enumerate() {
        if let Some(node) = link {
            link_owner.insert(node.id, at);
        }
    }
    let mut claims = Vec::with_capacity(links.len());
    let mut claimed = FastSet::default();
    claimed.reserve(links.len());
    for (at, (user, link)) in users.iter().zip(links).enumerate() {
        let is_link = link.is_some();
        let chosen = match link {
            Some(keyed) => Some(keyed),
            None => choose(plane, user, with_email(user), destination(user), warnings)
                .map(KeyedNode::new),
        };
        let Some(keyed) = chosen else {
            claims.push(Claim::None);
            continue;
        };
        let linked_to_another = link_owner.get(&keyed.id).is_some_and(|&owner| {
            owner != at
                && users
                    .get_index(owner)
                    .is_some_and(|owner| owner.object_id() != user.object_id())
        });
        if linked_to_another || !claimed.insert(keyed.id) {
            warnings.push(taken(keyed.node, user));
            claims.push(Claim::Taken);
            continue;
        }
        let disagree_with = is_link
            .then(|| disagreeing(user, &keyed, &with_email))
            .flatten();
        let claim = if let Some(holders) = disagree_with {
            // The person's new e-mail is already another node's. Giving the linked node that
            // e-mail would be refused by Rescue, and which node is the person's is a guess, so
            // neither is touched (nor disabled as unclaimed) until someone resolves it.
            claimed.extend(holders.iter().map(|holder| holder.id));
            warnings.push(disagree(keyed.node, holders, user));
            Claim::LinkAndEmailDisagree
        } else {
            Claim::Matched(keyed)
        };
        claims.push(claim);
    }
    PlaneClaims { claims, claimed }
}

/// The node a user without a link has: the one with its e-mail; of several, the one already
/// in its destination, else the lowest id (with a warning).
fn choose<'a>(
    plane: Plane,
    user: DesiredUser<'_>,
    by_email: &[&'a RescueNode],
    destination: Option<NodeId>,
    warnings: &mut Vec<Warning>,
) -> Option<&'a RescueNode> {
    match by_email {
        [] => None,
        [one] => Some(*one),
        several => {
            let chosen = several
                .iter()
                .find(|node| destination.is_some() && node.parent == destination)
                .or_else(|| several.iter().min_by_key(|node| node.id))
                .copied();
            warnings.push(Warning {
                kind: WarningKind::DuplicateNode,
                message: format!(
                    "{} Rescue {} nodes share `{}` ({}); adsync manages node {} and leaves the others alone",
                    several.len(),
                    plane.as_str(),
                    user.key(),
                    ids(several),
                    chosen.map_or_else(String::new, |node| node.id.to_string())
                ),
                email: Some(user.user_key()),
            });
            chosen
        }
    }
}

/// The nodes holding a linked user's e-mail when its linked node carries another: the link and
/// the e-mail disagree.
fn disagreeing<'i, 'a>(
    user: DesiredUser<'_>,
    linked: &KeyedNode<'_>,
    with_email: impl Fn(DesiredUser<'_>) -> &'i [&'a RescueNode],
) -> Option<&'i [&'a RescueNode]> {
    if linked.key() == Some(user.key()) {
        return None;
    }
    Some(with_email(user)).filter(|holders| !holders.is_empty())
}

fn taken(node: &RescueNode, user: DesiredUser<'_>) -> Warning {
    Warning {
        kind: WarningKind::ClaimConflict,
        message: format!(
            "Rescue node {} is claimed by two directory users (a recorded link and an e-mail disagree); `{}` is left alone",
            node.id,
            user.key()
        ),
        email: Some(user.user_key()),
    }
}

fn disagree(linked: &RescueNode, holders: &[&RescueNode], user: DesiredUser<'_>) -> Warning {
    Warning {
        kind: WarningKind::ClaimConflict,
        message: format!(
            "`{}` is linked to Rescue node {} but node {} holds its e-mail (a recorded link and an e-mail disagree); both are left alone",
            user.key(),
            linked.id,
            ids(holders)
        ),
        email: Some(user.user_key()),
    }
}

fn ids(nodes: &[&RescueNode]) -> String {
    nodes
        .iter()
        .map(|node| node.id.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
