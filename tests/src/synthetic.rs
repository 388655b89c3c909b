//! Synthetic organizations at any scale, for adsync-bench and for tests that need size: an Entra
//! directory, a configuration pairing its groups with Rescue destinations across the three
//! roles, and a Rescue tree of the same people with a realistic share of drift (moves, renames,
//! disabled users, add-on mismatches, changed e-mails, missing nodes, leavers), plus the links a
//! previous run would have recorded. Deterministic from a seed.
//!
//! People sit in several groups at once (about four each at the density of SPEC §12's largest
//! case, 999 groups of 999 over 250,000 people), so priority decides most placements.
//!
//! The two sides can be generated apart ([`directory`], [`rescue`]) with little memory beyond
//! what they return, so a benchmark can hold them the way `adsync plan` does: the directory
//! until `desired()` is done, the Rescue tree from then on.

use std::collections::{BTreeSet, HashMap};

use adsync_core::config::{
    Attribute, Config, DestinationRef, GroupRef, Limits, Pairing, SnapshotSourceConfig,
    SnapshotTargetConfig, SourceConfig, SyncConfig, Synced, TargetConfig,
};
use adsync_core::model::{
    DirectoryGroup, DirectorySnapshot, DirectoryUser, GroupPath, NodeId, NodeType, Plane,
    RescueNode, RescueSnapshot, Role, Status,
};
use adsync_core::plan::Links;
use serde::Serialize;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Pairings, one Entra group each, across the three roles.
    pub pairings: usize,
    /// Members of each Entra group (distinct people).
    pub members: usize,
    /// Distinct people the members are drawn from.
    pub people: usize,
    /// Drift, in tenths of a percent of the placements, for each kind of drift.
    pub drift_per_mille: u32,
    /// The random seed: equal shapes give equal organizations.
    pub seed: u64,
}

impl Shape {
    /// One percent of the placements for each kind of drift.
    pub const REALISTIC_DRIFT: u32 = 10;

    /// People per membership at SPEC §12's largest case: 250,000 people for 999 x 999.
    const PEOPLE_PER_MEMBERSHIP: f64 = 250_000.0 / (999.0 * 999.0);

    /// `pairings` groups of `members` each, over people at the density of SPEC §12 (a person
    /// sits in about four groups), with realistic drift.
    pub fn new(pairings: usize, members: usize) -> Shape {
        let memberships = (pairings * members) as f64;
        let people = (memberships * Shape::PEOPLE_PER_MEMBERSHIP).round() as usize;
        Shape {
            pairings,
            members,
            people: people.max(members).max(1),
            drift_per_mille: Shape::REALISTIC_DRIFT,
            seed: 12,
        }
    }
}

/// How much of each kind of drift the generated organization holds. Placements are the
/// (person, plane) pairs the directory wants.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// Placements the directory wants.
    pub placements: usize,
    /// Wanted, but no node yet (a create).
    pub missing: usize,
    /// A node in another group of the plane (a move).
    pub moved: usize,
    /// A node whose name differs (an update).
    pub renamed: usize,
    /// A disabled node (an enable).
    pub disabled: usize,
    /// A node whose mobile add-on differs from the pairing's (a licence change).
    pub mobile: usize,
    /// A linked node holding the person's previous e-mail (an update of the e-mail).
    pub email_changed: usize,
    /// Nodes of people the directory no longer holds, in managed groups (disables).
    pub leavers: usize,
    /// Nodes of people disabled in Entra (disables).
    pub disabled_in_entra: usize,
    /// Nodes in a group no pairing manages (left alone).
    pub unmanaged: usize,
    /// Directory users without mail (skipped with a warning).
    pub no_mail: usize,
    /// Directory users sharing a mail with another (skipped with a warning).
    pub duplicate_mail: usize,
}

/// The Entra side and the configuration.
#[derive(Clone, Debug)]
pub struct DirectorySide {
    /// The configuration (snapshot source and target; callers swap in other adapters).
    pub config: Config,
    /// The directory.
    pub directory: DirectorySnapshot,
}

/// The Rescue side.
#[derive(Clone, Debug)]
pub struct RescueSide {
    /// The organization tree, every user detail filled in (as after detail reads).
    pub rescue: RescueSnapshot,
    /// The links a previous run recorded.
    pub links: Links,
    /// What drift the organization holds.
    pub drift: Drift,
}

/// Both sides.
#[derive(Clone, Debug)]
pub struct Organization {
    /// The configuration.
    pub config: Config,
    /// The Entra side.
    pub directory: DirectorySnapshot,
    /// The Rescue side, every user detail filled in.
    pub rescue: RescueSnapshot,
    /// The links a previous run recorded.
    pub links: Links,
    /// What drift the organization holds.
    pub drift: Drift,
}

/// Generates both sides of `shape`.
pub fn organization(shape: &Shape) -> Organization {
    let DirectorySide { config, directory } = directory(shape);
    let RescueSide {
        rescue,
        links,
        drift,
    } = rescue(shape);
    Organization {
        config,
        directory,
        rescue,
        links,
        drift,
    }
}

/// The protected e-mail of every generated configuration: the account holder's.
pub const ACCOUNT_HOLDER: &str = "owner@contoso.com";

const GIVEN: &[(&str, &str)] = &[
    ("Jane", "jane"),
    ("John", "john"),
    ("Ana", "ana"),
    ("José", "jose"),
    ("Zoë", "zoe"),
    ("Mei", "mei"),
    ("Olu", "olu"),
    ("Søren", "soren"),
    ("Priya", "priya"),
    ("Liam", "liam"),
    ("Fatima", "fatima"),
    ("Noah", "noah"),
];
const FAMILY: &[(&str, &str)] = &[
    ("Doe", "doe"),
    ("Smith", "smith"),
    ("García", "garcia"),
    ("Müller", "muller"),
    ("O'Brien", "obrien"),
    ("Nguyen", "nguyen"),
    ("Okafor", "okafor"),
    ("Ødegaard", "odegaard"),
    ("Patel", "patel"),
    ("Kowalski", "kowalski"),
];
const TITLES: &[&str] = &["Support engineer", "Technician", "Team lead", "Analyst"];
const DEPARTMENTS: &[&str] = &["Support", "Finance", "Sales", "IT", "R&D", "Field Ops"];

/// No pairing (yet).
const NONE: usize = usize::MAX;

/// The random streams: each side replays the ones it needs, so they can be generated apart.
fn user_ids(shape: &Shape) -> fastrand::Rng {
    fastrand::Rng::with_seed(shape.seed ^ 0x5eed_0001)
}

fn group_draws(shape: &Shape) -> fastrand::Rng {
    fastrand::Rng::with_seed(shape.seed ^ 0x5eed_0002)
}

fn tree_rolls(shape: &Shape) -> fastrand::Rng {
    fastrand::Rng::with_seed(shape.seed ^ 0x5eed_0003)
}

/// A GUID-shaped object id.
fn guid(rng: &mut fastrand::Rng) -> String {
    let v = rng.u128(..);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        (v >> 96) as u32,
        (v >> 80) as u16,
        (v >> 64) as u16,
        (v >> 48) as u16,
        v & 0xffff_ffff_ffff
    )
}

/// The role of pairing `i`: about 5% master administrators, 20% administrators, the rest
/// technicians, interleaved so that every prefix of the list holds all three.
fn role_of(i: usize) -> Role {
    if i.is_multiple_of(20) {
        Role::MasterAdministrator
    } else if i % 5 == 2 {
        Role::Administrator
    } else {
        Role::Technician
    }
}

fn group_name(i: usize) -> String {
    format!("SG-Rescue-{i:04}")
}

/// Person `n`: everything but the object id follows from `n`.
struct Person {
    upn: String,
    mail: Option<String>,
    display_name: String,
    given: Option<&'static str>,
    family: &'static str,
    job_title: Option<&'static str>,
    department: Option<&'static str>,
    enabled: bool,
}

fn upn_of(n: usize) -> String {
    let (_, given) = GIVEN[n % GIVEN.len()];
    let (_, family) = FAMILY[(n / GIVEN.len()) % FAMILY.len()];
    format!("{given}.{family}.{n}@contoso.com")
}

/// Person `n` has no mail.
fn without_mail(n: usize) -> bool {
    n % 500 == 17
}

/// Person `n` has the mailbox of person `n - 1`: both are skipped, never guessed.
fn shares_mail_with_previous(n: usize) -> bool {
    n % 4000 == 1
}

fn person(n: usize) -> Person {
    let (given, given_slug) = GIVEN[n % GIVEN.len()];
    let (family, family_slug) = FAMILY[(n / GIVEN.len()) % FAMILY.len()];
    let upn = upn_of(n);
    let mail = if without_mail(n) {
        None
    } else if shares_mail_with_previous(n) {
        Some(upn_of(n - 1))
    } else if n % 10 == 3 {
        // Mail in another case than Rescue holds it: not a change.
        Some(format!(
            "{}.{}.{n}@Contoso.com",
            capitalize(given_slug),
            capitalize(family_slug)
        ))
    } else {
        Some(upn.clone())
    };
    Person {
        upn,
        mail,
        display_name: format!("{given} {family}"),
        given: (n % 50 != 7).then_some(given),
        family,
        job_title: (!n.is_multiple_of(3)).then(|| TITLES[n % TITLES.len()]),
        department: (!n.is_multiple_of(4)).then(|| DEPARTMENTS[n % DEPARTMENTS.len()]),
        enabled: n % 100 != 42,
    }
}

/// The key of person `n` when it is usable: present and shared with nobody.
fn usable_key(n: usize, person: &Person, people: usize) -> Option<String> {
    let shared = shares_mail_with_previous(n)
        || (n + 1 < people && shares_mail_with_previous(n + 1) && !without_mail(n));
    if shared {
        return None;
    }
    person.mail.as_deref().map(str::to_lowercase)
}

/// Draws every group's members, calling `each(i, members, group_id)` in pairing order with the
/// members sorted by index.
fn draw_groups(shape: &Shape, mut each: impl FnMut(usize, &[usize], String)) {
    let mut rng = group_draws(shape);
    let people = shape.people.max(1);
    let members = shape.members.min(people);
    let mut stamp: Vec<usize> = vec![NONE; people];
    let mut picked: Vec<usize> = Vec::with_capacity(members);
    for i in 0..shape.pairings {
        picked.clear();
        while picked.len() < members {
            let n = rng.usize(0..people);
            if stamp[n] != i {
                stamp[n] = i;
                picked.push(n);
            }
        }
        picked.sort_unstable();
        let id = guid(&mut rng);
        each(i, &picked, id);
    }
}

/// The group nodes of the tree, and each pairing's destination node.
struct Layout {
    nodes: Vec<RescueNode>,
    masters: NodeId,
    contractors: NodeId,
    destinations: Vec<NodeId>,
}

fn layout(pairings: usize) -> Layout {
    let mut nodes: Vec<RescueNode> = Vec::new();
    let add = |nodes: &mut Vec<RescueNode>, parent: Option<NodeId>, kind, name: &str| {
        let id = nodes.len() as u64 + 1;
        nodes.push(RescueNode::group(id, parent.map(|p| p.0), kind, name));
        NodeId(id)
    };
    let root = add(&mut nodes, None, NodeType::Root, "Contoso");
    let masters = add(
        &mut nodes,
        Some(root),
        NodeType::MasterAdministrators,
        "Master Administrators",
    );
    let admins = add(
        &mut nodes,
        Some(root),
        NodeType::Administrators,
        "Administrators",
    );
    let techs = add(&mut nodes, Some(root), NodeType::Technicians, "Technicians");
    let contractors = add(
        &mut nodes,
        Some(techs),
        NodeType::TechnicianGroup,
        "Contractors",
    );
    let mut regions: HashMap<String, NodeId> = HashMap::new();
    let mut destinations = Vec::with_capacity(pairings);
    for i in 0..pairings {
        let node = match role_of(i) {
            Role::MasterAdministrator => masters,
            Role::Administrator if i % 25 == 7 => admins,
            Role::Administrator => {
                let region = format!("Admin Region {}", i / 50);
                let parent = match regions.get(&region) {
                    Some(&node) => node,
                    None => {
                        let node = add(
                            &mut nodes,
                            Some(admins),
                            NodeType::AdministratorGroup,
                            &region,
                        );
                        regions.insert(region, node);
                        node
                    }
                };
                add(
                    &mut nodes,
                    Some(parent),
                    NodeType::AdministratorGroup,
                    &format!("Admin Team {i:04}"),
                )
            }
            Role::Technician => {
                let region = format!("Region {}", i / 50);
                let parent = match regions.get(&region) {
                    Some(&node) => node,
                    None => {
                        let node = add(&mut nodes, Some(techs), NodeType::TechnicianGroup, &region);
                        regions.insert(region, node);
                        node
                    }
                };
                add(
                    &mut nodes,
                    Some(parent),
                    NodeType::TechnicianGroup,
                    &format!("Team {i:04}"),
                )
            }
        };
        destinations.push(node);
    }
    Layout {
        nodes,
        masters,
        contractors,
        destinations,
    }
}

/// Pairing `i`'s settings; `group_id` names its Entra group for pairings that use ids.
fn pairing(i: usize, group_id: &str, destination: NodeId) -> Pairing {
    let role = role_of(i);
    let rescue_group = match role {
        Role::MasterAdministrator => None,
        Role::Administrator if i % 25 == 7 => Some(DestinationRef::Path(GroupPath::root())),
        Role::Administrator => Some(DestinationRef::Path(GroupPath::parse(&format!(
            "Admin Region {}/Admin Team {i:04}",
            i / 50
        )))),
        Role::Technician if i % 10 == 9 => Some(DestinationRef::Id { id: destination }),
        Role::Technician => Some(DestinationRef::Path(GroupPath::parse(&format!(
            "Region {}/Team {i:04}",
            i / 50
        )))),
    };
    let (attributes, upn_as_ssoid, email_as_ssoid) = match i % 7 {
        1 => (
            BTreeSet::from([
                Attribute::Name,
                Attribute::Email,
                Attribute::Nick,
                Attribute::Ssoid,
                Attribute::Description,
            ]),
            true,
            None,
        ),
        4 => (
            BTreeSet::from([Attribute::Name, Attribute::Email, Attribute::Ssoid]),
            false,
            Some(true),
        ),
        _ => (
            BTreeSet::from([Attribute::Name, Attribute::Email]),
            false,
            None,
        ),
    };
    Pairing {
        name: (i % 3 == 1).then(|| format!("pairing-{i:04}")),
        entra_group: Some(if i % 4 == 3 {
            GroupRef::Id {
                id: group_id.to_owned(),
            }
        } else {
            GroupRef::Name(group_name(i))
        }),
        condition: None,
        rescue_group,
        role,
        mobile_license: i.is_multiple_of(3),
        upn_as_ssoid,
        email_as_ssoid,
        attributes: Synced {
            fields: attributes,
            templates: Default::default(),
        },
    }
}

/// The Entra side of `shape`, and the configuration that pairs its groups.
pub fn directory(shape: &Shape) -> DirectorySide {
    let people = shape.people.max(1);
    let mut ids = user_ids(shape);
    let users: Vec<DirectoryUser> = (0..people)
        .map(|n| {
            let person = person(n);
            DirectoryUser {
                id: guid(&mut ids),
                upn: person.upn,
                mail: person.mail,
                display_name: person.display_name,
                given_name: person.given.map(str::to_owned),
                surname: Some(person.family.to_owned()),
                job_title: person.job_title.map(str::to_owned),
                department: person.department.map(str::to_owned),
                mobile_phone: None,
                employee_id: None,
                account_enabled: person.enabled,
                attributes: Default::default(),
            }
        })
        .collect();
    let mut groups: Vec<DirectoryGroup> = Vec::with_capacity(shape.pairings);
    draw_groups(shape, |i, members, id| {
        let mut member_ids: Vec<String> = members.iter().map(|&n| users[n].id.clone()).collect();
        member_ids.sort_unstable();
        groups.push(DirectoryGroup {
            id,
            display_name: group_name(i),
            members: member_ids,
            member_groups: Vec::new(),
        });
    });
    let destinations = layout(shape.pairings).destinations;
    let pairings = (0..shape.pairings)
        .map(|i| pairing(i, &groups[i].id, destinations[i]))
        .collect();
    let config = Config {
        source: SourceConfig::Snapshot(SnapshotSourceConfig {
            path: "directory.yaml".to_owned(),
            nested_groups: true,
        }),
        target: TargetConfig::Snapshot(SnapshotTargetConfig {
            path: "rescue.yaml".to_owned(),
            concurrency: 4,
        }),
        sync: SyncConfig {
            protected: vec![ACCOUNT_HOLDER.to_owned()],
            limits: Limits {
                max_pairings: shape.pairings.max(999),
                max_members_per_group: shape.members.max(999),
            },
            ..SyncConfig::default()
        },
        pairings,
        goto: None,
    };
    DirectorySide {
        config,
        directory: DirectorySnapshot { users, groups },
    }
}

/// A user node.
struct NewNode {
    parent: NodeId,
    role: Role,
    name: String,
    email: String,
    nick: String,
    ssoid: String,
    description: String,
    enabled: bool,
    mobile: bool,
}

fn push_user(nodes: &mut Vec<RescueNode>, node: NewNode) -> NodeId {
    let id = NodeId(nodes.len() as u64 + 1);
    nodes.push(RescueNode {
        id,
        parent: Some(node.parent),
        node_type: NodeType::for_role(node.role),
        name: node.name,
        email: Some(node.email),
        nick: Some(node.nick),
        ssoid: Some(node.ssoid),
        description: Some(node.description),
        status: Some(if node.enabled {
            Status::Enabled
        } else {
            Status::Disabled
        }),
        mobile: Some(node.mobile),
        rpat: Some(false),
        account_holder: false,
    });
    id
}

/// The Rescue side of `shape`: the people the directory of the same shape places, with drift,
/// leavers and contractors, and the links a previous run recorded.
pub fn rescue(shape: &Shape) -> RescueSide {
    let people = shape.people.max(1);
    let mut drift = Drift::default();

    // Each person's winning pairing per plane, by priority (the first pairing that holds them).
    let mut first: Vec<[usize; 2]> = vec![[NONE; 2]; people];
    draw_groups(shape, |i, members, _| {
        let plane = role_of(i).plane() as usize;
        for &n in members {
            if first[n][plane] == NONE {
                first[n][plane] = i;
            }
        }
    });
    let Layout {
        mut nodes,
        masters,
        contractors,
        destinations,
    } = layout(shape.pairings);
    let pairings: Vec<Pairing> = (0..shape.pairings)
        .map(|i| pairing(i, "", destinations[i]))
        .collect();
    let by_plane: [Vec<usize>; 2] = [
        (0..shape.pairings)
            .filter(|&i| role_of(i).plane() == Plane::Technician)
            .collect(),
        (0..shape.pairings)
            .filter(|&i| role_of(i).plane() == Plane::Administrator)
            .collect(),
    ];
    let owner = push_user(
        &mut nodes,
        NewNode {
            parent: masters,
            role: Role::MasterAdministrator,
            name: "Account Owner".to_owned(),
            email: ACCOUNT_HOLDER.to_owned(),
            nick: "Owner".to_owned(),
            ssoid: String::new(),
            description: String::new(),
            enabled: true,
            mobile: false,
        },
    );
    if let Some(node) = nodes.iter_mut().find(|node| node.id == owner) {
        node.account_holder = true;
    }

    let mut ids = user_ids(shape);
    let mut rng = tree_rolls(shape);
    let mut links = Links::default();
    let d = shape.drift_per_mille as usize;
    for (n, winners) in first.iter().enumerate() {
        let object_id = guid(&mut ids);
        let person = person(n);
        if without_mail(n) {
            drift.no_mail += 1;
        }
        if shares_mail_with_previous(n) && n > 0 {
            drift.duplicate_mail += 1;
        }
        let Some(key) = usable_key(n, &person, people) else {
            continue;
        };
        for plane in Plane::ALL {
            let p = plane as usize;
            let winner = winners[p];
            if winner == NONE {
                continue;
            }
            let settings = &pairings[winner];
            let ssoid = if settings.upn_as_ssoid {
                person.upn.clone()
            } else if settings.email_as_ssoid == Some(true) {
                key.clone()
            } else {
                String::new()
            };
            let mut node = NewNode {
                parent: destinations[winner],
                role: settings.role,
                name: person.display_name.clone(),
                email: key.clone(),
                nick: person.given.unwrap_or("").to_owned(),
                ssoid,
                description: person.job_title.unwrap_or("").to_owned(),
                enabled: true,
                mobile: settings.mobile_license,
            };
            if !person.enabled {
                // Disabled in Entra, still enabled in Rescue: a disable.
                drift.disabled_in_entra += 1;
                let id = push_user(&mut nodes, node);
                links.plane_mut(plane).insert(object_id.clone(), id);
                continue;
            }
            drift.placements += 1;
            let roll = rng.usize(0..1000);
            let kind = roll.checked_div(d).unwrap_or(usize::MAX);
            match kind {
                0 => {
                    drift.missing += 1;
                    continue;
                }
                1 => {
                    let other = by_plane[p][rng.usize(0..by_plane[p].len())];
                    if destinations[other] != node.parent {
                        drift.moved += 1;
                        node.parent = destinations[other];
                        node.role = pairings[other].role;
                    }
                }
                2 => {
                    drift.renamed += 1;
                    node.name.push_str(" (old)");
                }
                3 => {
                    drift.disabled += 1;
                    node.enabled = false;
                }
                4 => {
                    drift.mobile += 1;
                    node.mobile = !node.mobile;
                }
                5 => {
                    drift.email_changed += 1;
                    node.email = format!("previous.{key}");
                }
                _ => {}
            }
            let id = push_user(&mut nodes, node);
            // A previous run linked almost everyone (always those whose e-mail changed since);
            // a few nodes were made by hand.
            if roll % 20 != 19 || kind == 5 {
                links.plane_mut(plane).insert(object_id.clone(), id);
            }
        }
    }
    // Leavers: people the directory no longer holds, still enabled in managed groups.
    if shape.pairings > 0 {
        for k in 0..(people * d / 500).max(1) {
            let i = rng.usize(0..shape.pairings);
            drift.leavers += 1;
            let id = push_user(
                &mut nodes,
                NewNode {
                    parent: destinations[i],
                    role: role_of(i),
                    name: format!("Former Employee {k}"),
                    email: format!("former.{k}@contoso.com"),
                    nick: String::new(),
                    ssoid: String::new(),
                    description: String::new(),
                    enabled: true,
                    mobile: k % 3 == 0,
                },
            );
            if k % 2 == 0 {
                links
                    .plane_mut(role_of(i).plane())
                    .insert(guid(&mut rng), id);
            }
        }
    }
    // Contractors, in a group no pairing manages.
    for k in 0..(people / 100).max(1) {
        drift.unmanaged += 1;
        push_user(
            &mut nodes,
            NewNode {
                parent: contractors,
                role: Role::Technician,
                name: format!("Contractor {k}"),
                email: format!("contractor.{k}@partner.example"),
                nick: String::new(),
                ssoid: String::new(),
                description: String::new(),
                enabled: true,
                mobile: false,
            },
        );
    }
    RescueSide {
        rescue: RescueSnapshot { nodes },
        links: as_read(&links),
        drift,
    }
}

/// The links as the CLI holds them: read from `links.json`, which is written in key order, so
/// their strings lie in memory in that order (not in the order this generator met the people).
fn as_read(links: &Links) -> Links {
    let copy = |plane: &std::collections::BTreeMap<String, NodeId>| {
        plane
            .iter()
            .map(|(object_id, node)| (object_id.clone(), *node))
            .collect()
    };
    Links {
        technician: copy(&links.technician),
        administrator: copy(&links.administrator),
    }
}

fn capitalize(slug: &str) -> String {
    let mut chars = slug.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}
