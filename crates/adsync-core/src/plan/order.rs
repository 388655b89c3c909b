//! Plan order (SPEC §5): the documented total order of the actions, the order of the user list,
//! and action ids that stay unique.

use std::collections::BTreeSet;

use crate::hash::FastMap;
use crate::model::{Container, GroupPath, NodeId, Plane, UserKey};

use super::{Action, ActionKind, UserEntry};

/// The documented total order: phase, then destination (container, path), then key. The id,
/// then the node id, break the remaining ties (two nodes of one plane that share an e-mail),
/// so the order never depends on the order of the input.
fn order_key(
    action: &Action,
) -> (
    ActionKind,
    Option<Container>,
    &str,
    &str,
    &str,
    Option<NodeId>,
) {
    let path = action.to().or(action.from()).map_or("", GroupPath::as_str);
    let key = action.email().map_or("", UserKey::as_str);
    (
        action.kind(),
        action.container(),
        path,
        key,
        action.id(),
        action.node_id(),
    )
}

/// Sorts `actions` into plan order; actions equal in every part of the order keep their order.
pub(super) fn sort_actions(actions: &mut [Action]) {
    actions.sort_by(|a, b| order_key(a).cmp(&order_key(b)));
}

/// Where an entry of the user list sorts: by key, then plane, then node id (none first), a
/// desired user before a leaving node with the same node.
pub(super) type EntryOrder<'a> = (&'a str, Plane, Option<NodeId>, bool);

/// `first` and `second`, each already in the order of their keys, merged into one sequence in
/// that order; of two items whose keys are equal, the one from `first` comes first.
pub(super) fn merge<K: Ord, T>(
    first: impl Iterator<Item = (K, T)>,
    second: impl Iterator<Item = (K, T)>,
) -> impl Iterator<Item = (K, T)> {
    let (mut first, mut second) = (first.peekable(), second.peekable());
    std::iter::from_fn(move || match (first.peek(), second.peek()) {
        (Some(a), Some(b)) if b.0 < a.0 => second.next(),
        (Some(_), _) => first.next(),
        (None, _) => second.next(),
    })
}

/// Two nodes of one plane sharing an e-mail (which Rescue refuses, but a snapshot may hold)
/// would give two actions one id; the executor and saved plans key results by id. Such ids get
/// the node id appended, in plan order, and so do the user entries that name them.
pub(super) fn make_ids_unique(actions: &mut [Action], users: &mut [UserEntry]) {
    let mut seen: FastMap<&str, u32> = FastMap::default();
    for action in actions.iter() {
        *seen.entry(action.id()).or_insert(0) += 1;
    }
    let repeated: BTreeSet<String> = seen
        .into_iter()
        .filter(|(_, count)| *count > 1)
        .map(|(id, _)| id.to_owned())
        .collect();
    if repeated.is_empty() {
        return;
    }
    for action in actions.iter_mut() {
        let Some(node) = action.node_id() else {
            continue;
        };
        if !repeated.contains(action.id()) {
            continue;
        }
        let unique = format!("{}#{node}", action.id());
        for user in users.iter_mut().filter(|u| u.node_id == Some(node)) {
            for id in &mut user.actions {
                if id == action.id() {
                    id.clone_from(&unique);
                }
            }
        }
        *action.id_mut() = unique;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;
    use crate::plan::{DisableUser, Location, MoveUser, Place, Precondition, UserRef};

    /// Moves sort on where they go, disables on where the node is.
    fn action(kind: ActionKind, key: &str, node: u64, path: &str) -> Action {
        let email = UserKey::new(key).expect("a key");
        let user = UserRef {
            role: Role::Technician,
            email,
            object_id: None,
        };
        let (id, node_id) = (format!("{}:technician:{key}", kind.as_str()), NodeId(node));
        let (container, path) = (Container::Technicians, GroupPath::parse(path));
        let (reason, precondition) = (String::new(), Precondition::default());
        if kind == ActionKind::MoveUser {
            let to = Place {
                container,
                path,
                node: None,
            };
            let from = GroupPath::root();
            Action::MoveUser(MoveUser {
                id,
                user,
                node_id,
                from_role: None,
                from,
                to,
                reason,
                precondition,
            })
        } else {
            let from = Some(Location { container, path });
            Action::DisableUser(DisableUser {
                id,
                user,
                node_id,
                from,
                release_mobile: false,
                reason,
                precondition,
            })
        }
    }

    #[test]
    fn actions_sort_by_phase_destination_key_id_and_node_ties_in_listing_order() {
        let shared = "alexander.anderson.smithers.0";
        let (moving, leaving) = (ActionKind::MoveUser, ActionKind::DisableUser);
        let mut actions = vec![
            action(moving, &format!("{shared}3@contoso.com"), 1, "Support"),
            action(moving, &format!("{shared}2@contoso.com"), 9, "Support"),
            action(moving, &format!("{shared}2@contoso.com"), 4, "Support"),
            action(moving, &format!("{shared}1@contoso.com"), 2, "Support"),
            action(moving, &format!("{shared}1@contoso.com"), 2, "Support"),
            action(moving, &format!("{shared}0@contoso.com"), 5, "Sales"),
            action(leaving, &format!("{shared}9@contoso.com"), 6, "Support"),
            action(leaving, "a@contoso.com", 7, "Support"),
        ];
        let listed = actions.clone();
        sort_actions(&mut actions);
        let order: Vec<usize> = actions
            .iter()
            .map(|sorted| listed.iter().position(|a| a == sorted).expect("listed"))
            .collect();
        assert_eq!(order, [5, 3, 3, 2, 1, 0, 7, 6]);
    }

    #[test]
    fn repeated_ids_get_their_node_in_actions_and_entries() {
        let key = "kim@contoso.com";
        let mut actions = vec![
            action(ActionKind::DisableUser, key, 7, "Support"),
            action(ActionKind::DisableUser, key, 8, "Support"),
            action(ActionKind::DisableUser, "lee@contoso.com", 9, "Support"),
        ];
        let entry = |node: u64, id: &str| UserEntry {
            email: UserKey::new(key).expect("a key"),
            plane: Plane::Technician,
            object_id: None,
            display_name: None,
            role: None,
            pairing: None,
            losing_pairings: Vec::new(),
            node_id: Some(NodeId(node)),
            current_role: None,
            current_group: None,
            current_status: None,
            actions: vec![id.to_owned()],
            note: None,
        };
        let mut users = vec![
            entry(7, "disable_user:technician:kim@contoso.com"),
            entry(8, "disable_user:technician:kim@contoso.com"),
        ];
        make_ids_unique(&mut actions, &mut users);
        let ids: Vec<&str> = actions.iter().map(Action::id).collect();
        assert_eq!(
            ids,
            [
                "disable_user:technician:kim@contoso.com#7",
                "disable_user:technician:kim@contoso.com#8",
                "disable_user:technician:lee@contoso.com"
            ]
        );
        assert_eq!(
            users[1].actions,
            ["disable_user:technician:kim@contoso.com#8"]
        );
    }
}
