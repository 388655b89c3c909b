//! Destinations (SPEC §3, §5 "Groups"): where each pairing puts its users, the groups the plan
//! must create first, and the managed groups of each plane.

use std::collections::BTreeMap;

use crate::desired::{DesiredState, Destination, ResolvedPairing};
use crate::error::{PlanError, Problem};
use crate::hash::FastSet;
use crate::model::{Container, GroupPath, NodeId, NodeType};
use crate::tree::OrgTree;

use super::{Action, CreateGroup, Place, Policy, Precondition};

/// The three containers every Rescue organization has; a tree without one is not planned
/// against.
pub(super) fn check_containers(tree: &OrgTree<'_>) -> Result<(), PlanError> {
    let problems: Vec<Problem> = [
        Container::MasterAdministrators,
        Container::Administrators,
        Container::Technicians,
    ]
    .into_iter()
    .filter(|&container| tree.container(container).is_none())
    .map(Problem::ContainerMissing)
    .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(PlanError { problems })
    }
}

/// Each pairing's destination, in pairing order, and the `create_group` actions for the groups
/// that do not exist yet (with `create_missing_groups`; else each missing one is a problem).
pub(super) fn destinations(
    tree: &OrgTree<'_>,
    desired: &DesiredState,
    policy: &Policy,
) -> Result<(Vec<Place>, Vec<Action>), PlanError> {
    let mut problems = Vec::new();
    let mut places = Vec::with_capacity(desired.pairings.len());
    let mut to_create: BTreeMap<(Container, GroupPath), Option<NodeId>> = BTreeMap::new();
    for pairing in &desired.pairings {
        match destination(tree, pairing, policy.create_missing_groups, &mut to_create) {
            Ok(place) => places.push(place),
            Err(problem) => problems.push(problem),
        }
    }
    if !problems.is_empty() {
        return Err(PlanError { problems });
    }
    let creates = to_create
        .into_iter()
        .map(|((container, path), parent)| {
            let reason = needed_by(desired, &places, container, &path);
            Action::CreateGroup(CreateGroup {
                id: format!("create_group:{}:{}", container_id(container), path.as_str()),
                container,
                path,
                parent,
                reason,
                precondition: Precondition {
                    absent: true,
                    ..Precondition::default()
                },
            })
        })
        .collect();
    Ok((places, creates))
}

/// Where `pairing` puts its users: its group (or container) in the tree, reported with Rescue's
/// own spelling; or, when the group is missing and may be created, its path, with every missing
/// group on the way added to `to_create` (top down; the first existing ancestor is the parent).
fn destination(
    tree: &OrgTree<'_>,
    pairing: &ResolvedPairing,
    create_missing_groups: bool,
    to_create: &mut BTreeMap<(Container, GroupPath), Option<NodeId>>,
) -> Result<Place, Problem> {
    let (container, path) = match &pairing.destination {
        Destination::Id(container, id) => return destination_by_id(tree, pairing, *container, *id),
        Destination::Path(container, path) => (*container, path),
    };
    if let Some(node) = tree.find_group(container, path) {
        let path = tree
            .group(node)
            .map_or_else(|| path.clone(), |l| l.path.clone());
        return Ok(Place {
            container,
            path,
            node: Some(node),
        });
    }
    if !create_missing_groups {
        return Err(Problem::DestinationMissing {
            pairing: pairing.label.clone(),
            container,
            path: path.clone(),
        });
    }
    let mut missing = vec![path.clone()];
    let mut parent = path.parent();
    let mut parent_node = None;
    while let Some(candidate) = parent {
        if let Some(node) = tree.find_group(container, &candidate) {
            parent_node = Some(node);
            break;
        }
        parent = candidate.parent();
        missing.push(candidate);
    }
    for (index, missing_path) in missing.iter().rev().enumerate() {
        let known_parent = if index == 0 { parent_node } else { None };
        // Group names compare ignoring case: the first spelling is kept.
        let planned = to_create
            .keys()
            .any(|(c, p)| *c == container && p.folded() == missing_path.folded());
        if !planned {
            to_create.insert((container, missing_path.clone()), known_parent);
        }
    }
    Ok(Place {
        container,
        path: path.clone(),
        node: None,
    })
}

/// A destination named by node id: it must be a group of the pairing's kind in its container.
fn destination_by_id(
    tree: &OrgTree<'_>,
    pairing: &ResolvedPairing,
    container: Container,
    id: NodeId,
) -> Result<Place, Problem> {
    let expected = match container {
        Container::Technicians => NodeType::TechnicianGroup,
        _ => NodeType::AdministratorGroup,
    };
    let node = tree.get(id).filter(|node| node.node_type == expected);
    match (node, tree.group(id)) {
        (Some(_), Some(location)) if location.container == container => Ok(Place {
            container,
            path: location.path.clone(),
            node: Some(id),
        }),
        _ => Err(Problem::DestinationInvalid {
            pairing: pairing.label.clone(),
            node: id,
            expected: format!("a {} under {}", expected.as_str(), container.display_name()),
        }),
    }
}

/// Why a group is created: the pairings whose destination is it or lies below it.
fn needed_by(
    desired: &DesiredState,
    places: &[Place],
    container: Container,
    path: &GroupPath,
) -> String {
    let below = format!("{}/", path.as_str());
    let pairings: Vec<String> = desired
        .pairings
        .iter()
        .zip(places)
        .filter(|(_, place)| {
            place.container == container
                && (place.path == *path || place.path.as_str().starts_with(&below))
        })
        .map(|(pairing, _)| format!("`{}`", pairing.label))
        .collect();
    format!("needed by pairing {}", pairings.join(", "))
}

/// SPEC §5: the managed groups of each plane (`Plane as usize`) are the existing destinations
/// of its pairings.
pub(super) fn managed_groups(desired: &DesiredState, places: &[Place]) -> [FastSet<NodeId>; 2] {
    let mut managed: [FastSet<NodeId>; 2] = Default::default();
    for (pairing, place) in desired.pairings.iter().zip(places) {
        if let Some(node) = place.node {
            managed[pairing.role.plane() as usize].insert(node);
        }
    }
    managed
}

/// How a container is spelled in a `create_group` id.
pub(super) fn container_id(container: Container) -> &'static str {
    match container {
        Container::MasterAdministrators => "master_administrators",
        Container::Administrators => "administrators",
        Container::Technicians => "technicians",
    }
}
