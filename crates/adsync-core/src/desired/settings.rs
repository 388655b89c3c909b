//! Per-pairing settings (SPEC §3): what a pairing resolves to, and the destination and
//! attribute settings that ride along with it to the target's planner.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::config::{Attribute, Config, DestinationRef, Pairing, Where};
use crate::model::{Container, DirectoryGroup, GroupPath, Role};
use crate::template::Template;

/// A pairing as resolved against the directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResolvedPairing {
    /// Label.
    pub label: String,
    /// The Entra group's object id (empty when a condition alone selects the members).
    pub group_id: String,
    /// The Entra group's display name (empty when a condition alone selects the members).
    pub group_name: String,
    /// The condition members satisfy, as written (`where:`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
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
    /// The templates of mapped fields (the pairing's own, else `sync.attributes`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub templates: BTreeMap<Attribute, FieldTemplate>,
}

/// A mapped field's template and the configuration key it was given at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldTemplate {
    /// The template.
    pub template: Template,
    /// Where it was configured (`pairings[1].attributes.name`, `sync.attributes.ssoid`).
    pub key: String,
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
    /// A template (`sync.attributes.ssoid` or the pairing's own).
    Template,
}

/// What pairing `index` resolves to, its Entra group (if it names one) being `group`, with
/// `members` users.
pub(super) fn resolve(
    (index, pairing): (usize, &Pairing),
    group: Option<&DirectoryGroup>,
    members: usize,
    config: &Config,
) -> ResolvedPairing {
    let mut templates = templates_of(index, pairing, config);
    let ssoid_from = ssoid_source(pairing, config);
    if ssoid_from != Some(SsoidSource::Template) {
        templates.remove(&Attribute::Ssoid);
    }
    ResolvedPairing {
        label: match (&pairing.name, group) {
            (Some(name), _) => name.clone(),
            (None, Some(group)) => group.display_name.clone(),
            (None, None) => pairing.label(),
        },
        group_id: group.map(|g| g.id.clone()).unwrap_or_default(),
        group_name: group.map(|g| g.display_name.clone()).unwrap_or_default(),
        condition: pairing
            .condition
            .as_ref()
            .map(|c| Where::as_str(c).to_owned()),
        member_count: members as u64,
        role: pairing.role,
        destination: destination_of(pairing),
        mobile_license: pairing.mobile_license,
        ssoid_from,
        attributes: pairing.attributes.fields.clone(),
        templates,
    }
}

/// Each field's template: the pairing's own, else the global one (`sync.attributes`).
fn templates_of(
    index: usize,
    pairing: &Pairing,
    config: &Config,
) -> BTreeMap<Attribute, FieldTemplate> {
    let mut templates = BTreeMap::new();
    for field in Attribute::ALL {
        let own = pairing.attributes.templates.get(field).map(|t| {
            (
                t,
                format!("pairings[{index}].attributes.{}", field.as_str()),
            )
        });
        let global = || {
            config
                .sync
                .attributes
                .get(field)
                .map(|t| (t, format!("sync.attributes.{}", field.as_str())))
        };
        if let Some((template, key)) = own.or_else(global) {
            templates.insert(
                field,
                FieldTemplate {
                    template: template.clone(),
                    key,
                },
            );
        }
    }
    templates
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

/// Where the SSO ID comes from: the pairing's own template or flags, else the global template,
/// else the global `email_as_ssoid`.
fn ssoid_source(pairing: &Pairing, config: &Config) -> Option<SsoidSource> {
    if pairing.attributes.templates.ssoid.is_some() {
        Some(SsoidSource::Template)
    } else if pairing.upn_as_ssoid {
        Some(SsoidSource::Upn)
    } else if pairing.email_as_ssoid == Some(true) {
        Some(SsoidSource::Email)
    } else if config.sync.attributes.ssoid.is_some() {
        Some(SsoidSource::Template)
    } else if pairing.email_as_ssoid.unwrap_or(config.sync.email_as_ssoid) {
        Some(SsoidSource::Email)
    } else {
        None
    }
}
