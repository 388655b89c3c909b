//! Per-pairing settings (SPEC §3): what a pairing resolves to, and the destination and
//! attribute settings that ride along with it to the target's planner.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::config::{Attribute, Config, DestinationRef, Pairing};
use crate::model::{Container, DirectoryGroup, GroupPath, Role};

/// A pairing as resolved against the directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResolvedPairing {
    /// Label.
    pub label: String,
    /// The Entra group's object id.
    pub group_id: String,
    /// The Entra group's display name.
    pub group_name: String,
    /// Users in the group (transitive when nested groups are on), enabled or not.
    pub member_count: u64,
    /// Role granted.
    pub role: Role,
    /// Destination.
    pub destination: Destination,
    /// Mobile add-on for members.
    pub mobile_license: bool,
    /// Where the SSO ID comes from.
    pub ssoid_from: Option<SsoidSource>,
    /// Synced attributes.
    pub attributes: BTreeSet<Attribute>,
}

/// A pairing's destination in Rescue.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Destination {
    /// A group (or the container itself, for an empty path) by path.
    Path(Container, GroupPath),
    /// A group by node id.
    Id(Container, crate::model::NodeId),
}

impl Destination {
    /// The container the destination lies in.
    pub fn container(&self) -> Container {
        match self {
            Destination::Path(container, _) | Destination::Id(container, _) => *container,
        }
    }
}

/// Where a pairing's SSO ID comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SsoidSource {
    /// userPrincipalName.
    Upn,
    /// The key e-mail.
    Email,
}

/// What `pairing` resolves to, its Entra group being `group` with `members` users.
pub(super) fn resolve(
    pairing: &Pairing,
    group: &DirectoryGroup,
    members: usize,
    config: &Config,
) -> ResolvedPairing {
    ResolvedPairing {
        label: pairing
            .name
            .clone()
            .unwrap_or_else(|| group.display_name.clone()),
        group_id: group.id.clone(),
        group_name: group.display_name.clone(),
        member_count: members as u64,
        role: pairing.role,
        destination: destination_of(pairing),
        mobile_license: pairing.mobile_license,
        ssoid_from: ssoid_source(pairing, config.sync.email_as_ssoid),
        attributes: pairing.attributes.clone(),
    }
}

/// Where pairing `pairing` puts its users: a master administrator pairing (or one without a
/// group) the container itself.
fn destination_of(pairing: &Pairing) -> Destination {
    let container = pairing.role.container();
    match (&pairing.rescue_group, pairing.role) {
        (_, Role::MasterAdministrator) | (None, _) => {
            Destination::Path(container, GroupPath::root())
        }
        (Some(DestinationRef::Path(path)), _) => Destination::Path(container, path.clone()),
        (Some(DestinationRef::Id { id }), _) => Destination::Id(container, *id),
    }
}

/// Where the SSO ID comes from: the pairing's own flags, else the global `email_as_ssoid`.
fn ssoid_source(pairing: &Pairing, global_email_as_ssoid: bool) -> Option<SsoidSource> {
    if pairing.upn_as_ssoid {
        Some(SsoidSource::Upn)
    } else if pairing.email_as_ssoid.unwrap_or(global_email_as_ssoid) {
        Some(SsoidSource::Email)
    } else {
        None
    }
}
