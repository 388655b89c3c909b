//! Properties of the planner over generated worlds (SPEC §5, §6; STYLE.md "Tests").
//!
//! One generator builds a whole world — a configuration, a directory snapshot, a Rescue tree and
//! links — from a small pool of people, so that keys collide: across planes, in different case,
//! twice in the directory, between strangers, protected users and the account holder. The
//! properties are checked against facts this file works out from the generated world itself
//! (which groups are managed, which keys are wanted where), not against the plan's own report.
//!
//! Cases per property: proptest's default of 256; the `PROPTEST_CASES` environment variable
//! overrides it (`PROPTEST_CASES=5000 cargo test -p adsync-core properties` for a long run).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use adsync_core::Cores;
use adsync_core::config::{
    Attribute, Budget, Config, DestinationRef, GroupRef, Limits, Mapping, Pairing, SafetyConfig,
    SnapshotSourceConfig, SnapshotTargetConfig, SourceConfig, SyncConfig, Synced, TargetConfig,
};
use adsync_core::desired::{desired, desired_on};
use adsync_core::memory::apply_action;
use adsync_core::model::{
    Container, DirectoryGroup, DirectorySnapshot, DirectoryUser, GroupPath, NodeId, NodeType,
    Plane, RescueNode, RescueSnapshot, Role, Status,
};
use adsync_core::plan::{
    ActionKind, CurrentState, Guard, Links, Plan, Policy, WarningKind, plan, plan_on,
};
use proptest::prelude::*;
use proptest::sample::Index;

// ---------------------------------------------------------------------------------------------
// Pools

const PEOPLE: [&str; 10] = [
    "ana.lima",
    "ben.okafor",
    "chen.wei",
    "dana.kim",
    "eli.cohen",
    "fay.ng",
    "gus.roth",
    "hana.sato",
    "ivan.popov",
    "jo.smith",
];
const STRANGERS: usize = 4;
const DISPLAY_NAMES: [&str; 6] = [
    "",
    "Ana Lima",
    "A. Lima",
    "  Ben Okafor ",
    "Chen Wei",
    "Support",
];
const GIVEN_NAMES: [&str; 4] = ["Ana", "Ben", "", " Chen "];
const JOB_TITLES: [&str; 4] = ["Support engineer", "Lead", "", "Tier 2"];
const NODE_NAMES: [&str; 5] = ["Ana Lima", "Ben Okafor", "Old Name", "", "Chen Wei"];
const NICKS: [&str; 3] = ["Ana", "", "Benny"];
const SSOIDS: [&str; 4] = ["", "ana.lima@contoso.com", "ANA.LIMA@contoso.com", "sso-17"];
const DESCRIPTIONS: [&str; 3] = ["Support engineer", "", "Lead"];
const TECH_GROUP_NAMES: [&str; 5] = ["Helpdesk", "L2", "Field", "Night", "l2"];
const ADMIN_GROUP_NAMES: [&str; 3] = ["Regional", "EMEA", "Ops"];
const TECH_PATHS: [&str; 7] = [
    "Helpdesk",
    "Helpdesk/L2",
    "Field",
    "Field/Night",
    "helpdesk/l2",
    "Escalation",
    "Escalation/Tier 3",
];
const ADMIN_PATHS: [&str; 5] = ["", "Regional", "EMEA", "Regional/EMEA", "Audit"];

const ROOT: u64 = 1;
const MASTER_ADMINISTRATORS: u64 = 2;
const ADMINISTRATORS: u64 = 3;
const TECHNICIANS: u64 = 4;
/// A node id no generated node has (a stale link).
const GONE: u64 = 9_999;

fn email(person: usize, alt: bool) -> String {
    if alt {
        format!("{}.alt@contoso.onmicrosoft.com", PEOPLE[person])
    } else {
        format!("{}@contoso.com", PEOPLE[person])
    }
}

/// The same address as a person would type it: as is, shouted, capitalised, or padded.
fn spelled(address: &str, case: u8) -> String {
    match case % 4 {
        0 => address.to_owned(),
        1 => address.to_uppercase(),
        2 => {
            let mut out = String::with_capacity(address.len());
            let mut upper = true;
            for c in address.chars() {
                out.extend(if upper {
                    c.to_uppercase().collect::<Vec<_>>()
                } else {
                    vec![c]
                });
                upper = c == '.' || c == '@';
            }
            out
        }
        _ => format!("  {address} "),
    }
}

/// How the test normalises an e-mail, written out here rather than borrowed from the crate.
fn fold(address: &str) -> Option<String> {
    let folded = address.trim().to_lowercase();
    (!folded.is_empty()).then_some(folded)
}

// ---------------------------------------------------------------------------------------------
// Specs: what the strategies draw. Indexes are resolved against what exists when the world is
// built, so every draw is valid whatever the sizes turned out to be.

#[derive(Clone, Debug)]
struct UserSpec {
    person: usize,
    mail: Option<u8>,
    upn_case: u8,
    upn_alt: bool,
    name: usize,
    given: Option<usize>,
    job: Option<usize>,
    enabled: bool,
}

#[derive(Clone, Debug)]
struct GroupSpec {
    members: Vec<Index>,
    ghost: bool,
    nested: Vec<Index>,
}

#[derive(Clone, Debug)]
enum DestSpec {
    Path(usize),
    Id(Index),
}

#[derive(Clone, Debug)]
struct PairingSpec {
    group: Index,
    by_id: bool,
    role: Role,
    tech: DestSpec,
    admin: DestSpec,
    mobile: bool,
    /// 0: neither flag, 1: upn, 2: email, 3: email explicitly off.
    ssoid: u8,
    attributes: u8,
    named: bool,
}

#[derive(Clone, Debug)]
enum EmailSpec {
    Person { person: usize, case: u8, alt: bool },
    Stranger(usize),
    Missing,
}

#[derive(Clone, Debug)]
struct NodeSpec {
    email: EmailSpec,
    role: Role,
    parent: Index,
    name: usize,
    nick: Option<usize>,
    ssoid: Option<usize>,
    description: Option<usize>,
    status: Option<bool>,
    mobile: Option<bool>,
    rpat: Option<bool>,
}

#[derive(Clone, Debug)]
struct WorldSpec {
    users: Vec<UserSpec>,
    groups: Vec<GroupSpec>,
    pairings: Vec<PairingSpec>,
    full_group_sync: bool,
    use_upn: bool,
    email_as_ssoid: bool,
    nested_groups: bool,
    protected: Vec<(usize, u8)>,
    tech_groups: Vec<(usize, Index)>,
    admin_groups: Vec<(usize, Index)>,
    nodes: Vec<NodeSpec>,
    account_holder: Option<NodeSpec>,
    channels: Vec<Index>,
    links: Vec<(Index, Index, bool)>,
}

/// What the generator may produce beyond what a real Rescue organization holds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    /// Two sibling groups with the same name (in any case).
    duplicate_groups: bool,
    /// Two user nodes with the same e-mail in one plane.
    duplicate_nodes: bool,
    /// A wanted user's link to a node that carries the key of another user wanted in the same
    /// plane: the linked person's e-mail changed and the old address went to a new colleague.
    reused_emails: bool,
}

/// What Rescue allows: unique sibling names, one node per e-mail per plane.
pub(crate) const REAL: Shape = Shape {
    duplicate_groups: false,
    duplicate_nodes: false,
    reused_emails: true,
};

/// [`REAL`] without reused e-mails, the one history a single plan cannot settle: Rescue refuses
/// the colleague's node while the linked node still holds the address, and creates run before
/// updates (SPEC §5), so the colleague is created by the next plan.
const SETTLED: Shape = Shape {
    reused_emails: false,
    ..REAL
};

/// Anything a hand-written snapshot may hold.
pub(crate) const ANY: Shape = Shape {
    duplicate_groups: true,
    duplicate_nodes: true,
    reused_emails: true,
};

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![
        Just(Role::Technician),
        Just(Role::Administrator),
        Just(Role::MasterAdministrator),
    ]
}

fn email_spec() -> impl Strategy<Value = EmailSpec> {
    prop_oneof![
        6 => (0..PEOPLE.len(), any::<u8>(), prop::bool::weighted(0.15))
            .prop_map(|(person, case, alt)| EmailSpec::Person { person, case, alt }),
        2 => (0..STRANGERS).prop_map(EmailSpec::Stranger),
        1 => Just(EmailSpec::Missing),
    ]
}

fn user_spec() -> impl Strategy<Value = UserSpec> {
    (
        0..PEOPLE.len(),
        prop::option::weighted(0.85, any::<u8>()),
        any::<u8>(),
        prop::bool::weighted(0.2),
        0..DISPLAY_NAMES.len(),
        prop::option::of(0..GIVEN_NAMES.len()),
        prop::option::of(0..JOB_TITLES.len()),
        prop::bool::weighted(0.85),
    )
        .prop_map(
            |(person, mail, upn_case, upn_alt, name, given, job, enabled)| UserSpec {
                person,
                mail,
                upn_case,
                upn_alt,
                name,
                given,
                job,
                enabled,
            },
        )
}

fn group_spec() -> impl Strategy<Value = GroupSpec> {
    (
        prop::collection::vec(any::<Index>(), 0..10),
        prop::bool::weighted(0.1),
        prop::collection::vec(any::<Index>(), 0..3),
    )
        .prop_map(|(members, ghost, nested)| GroupSpec {
            members,
            ghost,
            nested,
        })
}

fn dest_spec(paths: usize) -> impl Strategy<Value = DestSpec> {
    prop_oneof![
        5 => (0..paths).prop_map(DestSpec::Path),
        1 => any::<Index>().prop_map(DestSpec::Id),
    ]
}

fn pairing_spec() -> impl Strategy<Value = PairingSpec> {
    (
        any::<Index>(),
        prop::bool::weighted(0.3),
        role(),
        dest_spec(TECH_PATHS.len()),
        dest_spec(ADMIN_PATHS.len()),
        any::<bool>(),
        0u8..4,
        any::<u8>(),
        any::<bool>(),
    )
        .prop_map(
            |(group, by_id, role, tech, admin, mobile, ssoid, attributes, named)| PairingSpec {
                group,
                by_id,
                role,
                tech,
                admin,
                mobile,
                ssoid,
                attributes,
                named,
            },
        )
}

fn node_spec() -> impl Strategy<Value = NodeSpec> {
    (
        email_spec(),
        role(),
        any::<Index>(),
        0..NODE_NAMES.len(),
        prop::option::of(0..NICKS.len()),
        prop::option::of(0..SSOIDS.len()),
        prop::option::of(0..DESCRIPTIONS.len()),
        prop::option::weighted(0.9, prop::bool::weighted(0.7)),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
    )
        .prop_map(
            |(email, role, parent, name, nick, ssoid, description, status, mobile, rpat)| {
                NodeSpec {
                    email,
                    role,
                    parent,
                    name,
                    nick,
                    ssoid,
                    description,
                    status,
                    mobile,
                    rpat,
                }
            },
        )
}

fn world_spec() -> impl Strategy<Value = WorldSpec> {
    let directory = (
        prop::collection::vec(user_spec(), 0..=30),
        prop::collection::vec(group_spec(), 1..=5),
        prop::collection::vec(pairing_spec(), 1..=6),
    );
    let settings = (
        prop::bool::weighted(0.75),
        prop::bool::weighted(0.2),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec((0..PEOPLE.len(), any::<u8>()), 0..3),
    );
    let rescue = (
        prop::collection::vec((0..TECH_GROUP_NAMES.len(), any::<Index>()), 0..6),
        prop::collection::vec((0..ADMIN_GROUP_NAMES.len(), any::<Index>()), 0..4),
        prop::collection::vec(node_spec(), 0..=25),
        prop::option::weighted(0.5, node_spec()),
        prop::collection::vec(any::<Index>(), 0..2),
        prop::collection::vec((any::<Index>(), any::<Index>(), any::<bool>()), 0..6),
    );
    (directory, settings, rescue).prop_map(
        |(
            (users, groups, pairings),
            (full_group_sync, use_upn, email_as_ssoid, nested_groups, protected),
            (tech_groups, admin_groups, nodes, account_holder, channels, links),
        )| WorldSpec {
            users,
            groups,
            pairings,
            full_group_sync,
            use_upn,
            email_as_ssoid,
            nested_groups,
            protected,
            tech_groups,
            admin_groups,
            nodes,
            account_holder,
            channels,
            links,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// The world

#[derive(Clone)]
pub(crate) struct World {
    pub(crate) config: Config,
    pub(crate) directory: DirectorySnapshot,
    pub(crate) current: CurrentState,
}

/// A failing case prints as the files of a scenario folder, ready to become a regression.
impl fmt::Debug for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn yaml<T: serde::Serialize>(value: &T) -> String {
            serde_yaml::to_string(value).unwrap_or_else(|e| format!("<{e}>"))
        }
        write!(
            f,
            "\n# config.yaml\n{}\n# directory.yaml\n{}\n# rescue.yaml\n{}\n# links.yaml\n{}",
            yaml(&self.config),
            yaml(&self.directory),
            yaml(&self.current.rescue),
            yaml(&self.current.links),
        )
    }
}

fn node_email(spec: &EmailSpec) -> Option<String> {
    match spec {
        EmailSpec::Person { person, case, alt } => Some(spelled(&email(*person, *alt), *case)),
        EmailSpec::Stranger(index) => Some(format!("x{index}@partner.example")),
        EmailSpec::Missing => None,
    }
}

/// Adds groups below `container`, each under the container or an earlier group of the same kind.
fn grow_groups(
    nodes: &mut Vec<RescueNode>,
    next: &mut u64,
    container: u64,
    node_type: &NodeType,
    names: &[&str],
    specs: &[(usize, Index)],
    shape: Shape,
) -> Vec<u64> {
    let mut groups = Vec::new();
    for (name, parent) in specs {
        let mut parents = vec![container];
        parents.extend(&groups);
        let parent = *parent.get(&parents);
        let name = names[*name];
        let taken = nodes.iter().any(|node| {
            node.parent == Some(NodeId(parent)) && node.name.eq_ignore_ascii_case(name)
        });
        if taken && !shape.duplicate_groups {
            continue;
        }
        nodes.push(RescueNode::group(
            *next,
            Some(parent),
            node_type.clone(),
            name,
        ));
        groups.push(*next);
        *next += 1;
    }
    groups
}

fn build(spec: &WorldSpec, shape: Shape, safety: SafetyConfig) -> World {
    // Directory.
    let users: Vec<DirectoryUser> = spec
        .users
        .iter()
        .enumerate()
        .map(|(index, user)| DirectoryUser {
            id: format!("u{index:02}"),
            upn: spelled(&email(user.person, user.upn_alt), user.upn_case)
                .trim()
                .to_owned(),
            mail: user
                .mail
                .map(|case| spelled(&email(user.person, false), case)),
            display_name: DISPLAY_NAMES[user.name].to_owned(),
            given_name: user.given.map(|i| GIVEN_NAMES[i].to_owned()),
            surname: None,
            job_title: user.job.map(|i| JOB_TITLES[i].to_owned()),
            department: None,
            mobile_phone: None,
            employee_id: None,
            account_enabled: user.enabled,
            attributes: Default::default(),
        })
        .collect();
    let group_ids: Vec<String> = (0..spec.groups.len()).map(|i| format!("g{i}")).collect();
    let groups: Vec<DirectoryGroup> = spec
        .groups
        .iter()
        .enumerate()
        .map(|(index, group)| {
            let mut members: Vec<String> = if users.is_empty() {
                Vec::new()
            } else {
                group
                    .members
                    .iter()
                    .map(|m| users[m.index(users.len())].id.clone())
                    .collect()
            };
            if group.ghost {
                members.push("ghost".to_owned());
            }
            DirectoryGroup {
                id: group_ids[index].clone(),
                display_name: format!("SG-Rescue-{index}"),
                members,
                member_groups: group
                    .nested
                    .iter()
                    .map(|g| group_ids[g.index(group_ids.len())].clone())
                    .collect(),
            }
        })
        .collect();

    // Rescue.
    let mut nodes = vec![
        RescueNode::group(ROOT, None, NodeType::Root, "Contoso"),
        RescueNode::group(
            MASTER_ADMINISTRATORS,
            Some(ROOT),
            NodeType::MasterAdministrators,
            "Master Administrators",
        ),
        RescueNode::group(
            ADMINISTRATORS,
            Some(ROOT),
            NodeType::Administrators,
            "Administrators",
        ),
        RescueNode::group(
            TECHNICIANS,
            Some(ROOT),
            NodeType::Technicians,
            "Technicians",
        ),
    ];
    let mut next = 10;
    let tech_groups = grow_groups(
        &mut nodes,
        &mut next,
        TECHNICIANS,
        &NodeType::TechnicianGroup,
        &TECH_GROUP_NAMES,
        &spec.tech_groups,
        shape,
    );
    let admin_groups = grow_groups(
        &mut nodes,
        &mut next,
        ADMINISTRATORS,
        &NodeType::AdministratorGroup,
        &ADMIN_GROUP_NAMES,
        &spec.admin_groups,
        shape,
    );
    let mut admin_parents = vec![ADMINISTRATORS];
    admin_parents.extend(&admin_groups);

    let mut next = 100;
    let mut user_node = |spec: &NodeSpec, parent: u64, nodes: &mut Vec<RescueNode>| {
        let email = node_email(&spec.email);
        if !shape.duplicate_nodes
            && let Some(key) = email.as_deref().and_then(fold)
        {
            let plane = spec.role.plane();
            let clash = nodes.iter().any(|node| {
                node.node_type
                    .user_role()
                    .is_some_and(|r| r.plane() == plane)
                    && node.email.as_deref().and_then(fold).as_ref() == Some(&key)
            });
            if clash {
                return;
            }
        }
        nodes.push(RescueNode {
            id: NodeId(next),
            parent: Some(NodeId(parent)),
            node_type: NodeType::for_role(spec.role),
            name: NODE_NAMES[spec.name].to_owned(),
            email,
            nick: spec.nick.map(|i| NICKS[i].to_owned()),
            ssoid: spec.ssoid.map(|i| SSOIDS[i].to_owned()),
            description: spec.description.map(|i| DESCRIPTIONS[i].to_owned()),
            status: spec.status.map(|enabled| {
                if enabled {
                    Status::Enabled
                } else {
                    Status::Disabled
                }
            }),
            mobile: spec.mobile,
            rpat: spec.rpat,
            account_holder: false,
        });
        next += 1;
    };
    if let Some(holder) = &spec.account_holder {
        let holder = NodeSpec {
            role: Role::MasterAdministrator,
            ..holder.clone()
        };
        user_node(&holder, MASTER_ADMINISTRATORS, &mut nodes);
        if let Some(node) = nodes.last_mut()
            && node.node_type == NodeType::MasterAdministrator
        {
            node.account_holder = true;
        }
    }
    for node in &spec.nodes {
        let parent = match node.role {
            Role::Technician if tech_groups.is_empty() => continue,
            Role::Technician => *node.parent.get(&tech_groups),
            Role::Administrator => *node.parent.get(&admin_parents),
            Role::MasterAdministrator => MASTER_ADMINISTRATORS,
        };
        user_node(node, parent, &mut nodes);
    }
    if !tech_groups.is_empty() {
        for (index, parent) in spec.channels.iter().enumerate() {
            nodes.push(RescueNode::group(
                500 + index as u64,
                Some(*parent.get(&tech_groups)),
                NodeType::Channel,
                "Channel",
            ));
        }
    }

    // Links, some stale.
    let mut links = Links::default();
    let mut user_nodes: Vec<u64> = nodes
        .iter()
        .filter(|node| node.node_type.user_role().is_some())
        .map(|node| node.id.0)
        .collect();
    user_nodes.push(GONE);
    if !users.is_empty() {
        for (user, node, technician) in &spec.links {
            let plane = if *technician {
                Plane::Technician
            } else {
                Plane::Administrator
            };
            links.plane_mut(plane).insert(
                users[user.index(users.len())].id.clone(),
                NodeId(*node.get(&user_nodes)),
            );
        }
    }

    // Configuration.
    let pairings = spec
        .pairings
        .iter()
        .map(|pairing| {
            let group = pairing.group.index(groups.len());
            let entra_group = if pairing.by_id {
                GroupRef::Id {
                    id: groups[group].id.clone(),
                }
            } else {
                GroupRef::Name(groups[group].display_name.clone())
            };
            let destination = |dest: &DestSpec, paths: &[&str], ids: &[u64]| match dest {
                DestSpec::Id(index) if !ids.is_empty() => DestinationRef::Id {
                    id: NodeId(*index.get(ids)),
                },
                DestSpec::Id(_) => DestinationRef::Path(GroupPath::parse(paths[0])),
                DestSpec::Path(path) => DestinationRef::Path(GroupPath::parse(paths[*path])),
            };
            let rescue_group = match pairing.role {
                Role::Technician => Some(destination(&pairing.tech, &TECH_PATHS, &tech_groups)),
                Role::Administrator => {
                    Some(destination(&pairing.admin, &ADMIN_PATHS, &admin_groups))
                }
                Role::MasterAdministrator => None,
            };
            let all = [
                Attribute::Name,
                Attribute::Nick,
                Attribute::Email,
                Attribute::Ssoid,
                Attribute::Description,
            ];
            Pairing {
                name: pairing
                    .named
                    .then(|| format!("pairing-{}", pairing.group.index(100))),
                entra_group: Some(entra_group),
                condition: None,
                rescue_group,
                role: pairing.role,
                mobile_license: pairing.mobile,
                upn_as_ssoid: pairing.ssoid == 1,
                email_as_ssoid: match pairing.ssoid {
                    2 => Some(true),
                    3 => Some(false),
                    _ => None,
                },
                attributes: Synced {
                    fields: all
                        .into_iter()
                        .enumerate()
                        .filter(|(bit, _)| pairing.attributes & (1 << bit) != 0)
                        .map(|(_, attribute)| attribute)
                        .collect(),
                    templates: Mapping::default(),
                },
            }
        })
        .fold(Vec::<Pairing>::new(), |mut kept, pairing| {
            // The configuration refuses the same group to the same destination twice.
            let same = |p: &Pairing| {
                p.entra_group == pairing.entra_group
                    && p.role == pairing.role
                    && (p.role == Role::MasterAdministrator
                        || p.rescue_group == pairing.rescue_group)
            };
            if !kept.iter().any(same) {
                kept.push(pairing);
            }
            kept
        });
    let config = Config {
        source: SourceConfig::Snapshot(SnapshotSourceConfig {
            path: "directory.yaml".to_owned(),
            nested_groups: spec.nested_groups,
        }),
        target: TargetConfig::Snapshot(SnapshotTargetConfig {
            path: "rescue.yaml".to_owned(),
            concurrency: 1,
        }),
        sync: SyncConfig {
            full_group_sync: spec.full_group_sync,
            use_upn_instead_of_email: spec.use_upn,
            email_as_ssoid: spec.email_as_ssoid,
            create_missing_groups: true,
            read_budget_s: 1800,
            protected: spec
                .protected
                .iter()
                .map(|(person, case)| spelled(&email(*person, false), *case))
                .collect(),
            limits: Limits::default(),
            safety,
            state_dir: ".adsync".to_owned(),
            attributes: Mapping::default(),
            plan_signing_key: None,
            ..SyncConfig::default()
        },
        pairings,
        goto: None,
    };

    let mut world = World {
        config,
        directory: DirectorySnapshot { users, groups },
        current: CurrentState {
            rescue: RescueSnapshot { nodes },
            links,
        },
    };
    if !shape.reused_emails {
        forget_reused_emails(&mut world);
    }
    world
}

/// Drops the links of wanted users to a node that carries the key of another user wanted in the
/// same plane.
fn forget_reused_emails(world: &mut World) {
    let facts = Facts::of(world);
    let keys: BTreeMap<&str, Option<String>> = world
        .directory
        .users
        .iter()
        .map(|user| (user.id.as_str(), facts.key_of(user)))
        .collect();
    let node_keys: BTreeMap<NodeId, (Plane, Option<String>)> = world
        .current
        .rescue
        .nodes
        .iter()
        .filter_map(|node| {
            let plane = node.node_type.user_role()?.plane();
            Some((node.id, (plane, node.email.as_deref().and_then(fold))))
        })
        .collect();
    for plane in Plane::ALL {
        let wanted = &facts.wanted[plane_index(plane)];
        world.current.links.plane_mut(plane).retain(|user, node| {
            let user_key = keys.get(user.as_str()).cloned().flatten();
            let reused = match node_keys.get(node) {
                Some((node_plane, Some(node_key))) => {
                    *node_plane == plane
                        && user_key.as_ref().is_some_and(|k| wanted.contains(k))
                        && wanted.contains(node_key)
                        && user_key.as_ref() != Some(node_key)
                }
                _ => false,
            };
            !reused
        });
    }
}

const GENEROUS: SafetyConfig = SafetyConfig {
    max_disables: Budget::Count(10_000),
    max_moves: Budget::Count(10_000),
};

pub(crate) fn world(shape: Shape) -> impl Strategy<Value = World> {
    world_spec().prop_map(move |spec| build(&spec, shape, GENEROUS))
}

fn budget() -> impl Strategy<Value = Budget> {
    prop_oneof![
        (0u64..5).prop_map(Budget::Count),
        (0u32..=40).prop_map(Budget::Percent),
    ]
}

// ---------------------------------------------------------------------------------------------
// Running the planner

/// The only code here that calls `plan()`.
pub(crate) fn check(world: &World) -> Result<Plan, String> {
    world
        .config
        .validate()
        .map_err(|problems| format!("{problems:?}"))?;
    let desired = desired(&world.directory, &world.config).map_err(|e| e.to_string())?;
    plan(
        &desired,
        &world.current,
        &Policy::from_config(&world.config),
    )
    .map_err(|e| e.to_string())
}

/// A plan, or the case is discarded (proptest fails the run if too many are).
fn planned(world: &World) -> Result<Plan, TestCaseError> {
    check(world).map_err(|error| TestCaseError::reject(format!("no plan: {error}")))
}

fn applied(world: &World, plan: &Plan) -> Result<RescueSnapshot, TestCaseError> {
    let mut rescue = world.current.rescue.clone();
    for action in &plan.actions {
        apply_action(&mut rescue, action, None).map_err(|error| {
            TestCaseError::fail(format!(
                "{} does not apply: {error}\n{action:#?}",
                action.id()
            ))
        })?;
    }
    Ok(rescue)
}

// ---------------------------------------------------------------------------------------------
// Facts about a world, worked out independently of the planner

/// A directory user's identity key, folded.
fn key_of(user: &DirectoryUser, use_upn: bool) -> Option<String> {
    if use_upn {
        fold(&user.upn)
    } else {
        user.mail.as_deref().and_then(fold)
    }
}

struct Facts {
    /// `sync.use_upn_instead_of_email`.
    use_upn: bool,
    /// Group nodes that are the destination of a pairing, per plane.
    managed: [BTreeSet<NodeId>; 2],
    /// Nodes linked in the state directory, per plane.
    linked: [BTreeSet<NodeId>; 2],
    /// Keys the directory wants in each plane.
    wanted: [BTreeSet<String>; 2],
    /// Keys several directory users share.
    duplicates: BTreeSet<String>,
    /// Protected keys.
    protected: BTreeSet<String>,
    /// Pairings whose Entra group resolves to no user at all, with their destinations.
    empty: Vec<(Plane, BTreeSet<NodeId>)>,
}

fn plane_index(plane: Plane) -> usize {
    match plane {
        Plane::Technician => 0,
        Plane::Administrator => 1,
    }
}

/// Every group node's container and path (folded for case), walking parents.
fn locations(rescue: &RescueSnapshot) -> BTreeMap<NodeId, (Container, String)> {
    let by_id: BTreeMap<NodeId, &RescueNode> = rescue.nodes.iter().map(|n| (n.id, n)).collect();
    let mut out = BTreeMap::new();
    for node in &rescue.nodes {
        let mut names = Vec::new();
        let mut at = node;
        let container = loop {
            match &at.node_type {
                NodeType::Technicians => break Some(Container::Technicians),
                NodeType::Administrators => break Some(Container::Administrators),
                NodeType::MasterAdministrators => break Some(Container::MasterAdministrators),
                NodeType::TechnicianGroup | NodeType::AdministratorGroup => {
                    names.push(at.name.to_lowercase());
                    match at.parent.and_then(|p| by_id.get(&p)) {
                        Some(parent) => at = parent,
                        None => break None,
                    }
                }
                _ => break None,
            }
        };
        if let Some(container) = container {
            names.reverse();
            out.insert(node.id, (container, names.join("/")));
        }
    }
    out
}

impl Facts {
    fn of(world: &World) -> Facts {
        let config = &world.config;
        let directory = &world.directory;
        let rescue = &world.current.rescue;
        let locations = locations(rescue);

        let use_upn = config.sync.use_upn_instead_of_email;
        let key_of = |user: &DirectoryUser| key_of(user, use_upn);
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for user in &directory.users {
            if let Some(key) = key_of(user) {
                *counts.entry(key).or_default() += 1;
            }
        }
        let duplicates: BTreeSet<String> = counts
            .iter()
            .filter(|(_, count)| **count > 1)
            .map(|(key, _)| key.clone())
            .collect();

        let mut facts = Facts {
            use_upn,
            managed: [BTreeSet::new(), BTreeSet::new()],
            linked: [
                world.current.links.technician.values().copied().collect(),
                world
                    .current
                    .links
                    .administrator
                    .values()
                    .copied()
                    .collect(),
            ],
            wanted: [BTreeSet::new(), BTreeSet::new()],
            duplicates,
            protected: config
                .sync
                .protected
                .iter()
                .filter_map(|e| fold(e))
                .collect(),
            empty: Vec::new(),
        };
        for pairing in &config.pairings {
            let plane = plane_index(pairing.role.plane());
            let container = match pairing.role {
                Role::Technician => Container::Technicians,
                Role::Administrator => Container::Administrators,
                Role::MasterAdministrator => Container::MasterAdministrators,
            };
            let destinations: BTreeSet<NodeId> = match (&pairing.rescue_group, pairing.role) {
                (Some(DestinationRef::Id { id }), Role::Technician | Role::Administrator) => {
                    BTreeSet::from([*id])
                }
                (Some(DestinationRef::Path(path)), Role::Technician | Role::Administrator) => {
                    let wanted = (container, path.as_str().to_lowercase());
                    locations
                        .iter()
                        .filter(|(_, location)| **location == wanted)
                        .map(|(id, _)| *id)
                        .collect()
                }
                _ => BTreeSet::from([NodeId(MASTER_ADMINISTRATORS)]),
            };
            facts.managed[plane].extend(&destinations);

            let start = directory
                .groups
                .iter()
                .position(|group| match &pairing.entra_group {
                    Some(GroupRef::Id { id }) => group.id == *id,
                    Some(GroupRef::Name(name)) => group.display_name == *name,
                    None => false,
                });
            let mut members: BTreeSet<&str> = BTreeSet::new();
            let mut seen: BTreeSet<usize> = BTreeSet::new();
            let mut stack: Vec<usize> = start.into_iter().collect();
            while let Some(group) = stack.pop() {
                if !seen.insert(group) {
                    continue;
                }
                let group = &directory.groups[group];
                members.extend(group.members.iter().map(String::as_str));
                if config.source.nested_groups() {
                    stack.extend(group.member_groups.iter().filter_map(|nested| {
                        directory.groups.iter().position(|g| g.id == *nested)
                    }));
                }
            }
            let members: Vec<&DirectoryUser> = directory
                .users
                .iter()
                .filter(|user| members.contains(user.id.as_str()))
                .collect();
            if members.is_empty() {
                facts.empty.push((pairing.role.plane(), destinations));
            }
            for user in members {
                if let Some(key) = key_of(user)
                    && user.account_enabled
                    && !facts.duplicates.contains(&key)
                {
                    facts.wanted[plane].insert(key);
                }
            }
        }
        facts
    }

    fn key_of(&self, user: &DirectoryUser) -> Option<String> {
        key_of(user, self.use_upn)
    }

    fn is_managed(&self, node: &RescueNode) -> bool {
        let Some(role) = node.node_type.user_role() else {
            return false;
        };
        let plane = plane_index(role.plane());
        node.parent
            .is_some_and(|p| self.managed[plane].contains(&p))
            || self.linked[plane].contains(&node.id)
    }

    fn is_protected(&self, node: &RescueNode) -> bool {
        node.email
            .as_deref()
            .and_then(fold)
            .is_some_and(|key| self.protected.contains(&key))
    }
}

/// Whether an action kind removes a node. Exhaustive on purpose: a new kind must answer.
fn deletes(kind: ActionKind) -> bool {
    match kind {
        ActionKind::CreateGroup
        | ActionKind::CreateUser
        | ActionKind::MoveUser
        | ActionKind::UpdateUser
        | ActionKind::EnableUser
        | ActionKind::SetMobileLicense
        | ActionKind::DisableUser => false,
    }
}

/// Deterministic Fisher–Yates driven by splitmix64, so a failing seed replays.
fn shuffle<T>(items: &mut [T], seed: &mut u64) {
    for i in (1..items.len()).rev() {
        *seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let j = (z % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

pub(crate) fn shuffled(world: &World, mut seed: u64) -> World {
    let mut world = world.clone();
    let seed = &mut seed;
    shuffle(&mut world.directory.users, seed);
    shuffle(&mut world.directory.groups, seed);
    for group in &mut world.directory.groups {
        shuffle(&mut group.members, seed);
        shuffle(&mut group.member_groups, seed);
    }
    shuffle(&mut world.current.rescue.nodes, seed);
    world
}

fn as_json(result: &Result<Plan, String>) -> Result<String, String> {
    match result {
        Ok(plan) => serde_json::to_string(plan).map_err(|e| e.to_string()),
        Err(error) => Err(error.clone()),
    }
}

/// The first lines where two plans (pretty-printed) part, for a readable failure.
fn difference(first: &Result<String, String>, second: &Result<String, String>) -> String {
    let pretty = |result: &Result<String, String>| match result {
        Ok(json) => serde_json::from_str::<serde_json::Value>(json)
            .and_then(|value| serde_json::to_string_pretty(&value))
            .unwrap_or_else(|e| e.to_string()),
        Err(error) => format!("error: {error}"),
    };
    let (first, second) = (pretty(first), pretty(second));
    let (first, second): (Vec<&str>, Vec<&str>) =
        (first.lines().collect(), second.lines().collect());
    let at = first
        .iter()
        .zip(&second)
        .position(|(a, b)| a != b)
        .unwrap_or(first.len().min(second.len()));
    let from = at.saturating_sub(8);
    format!(
        "in order:\n{}\nshuffled:\n{}",
        first[from..(at + 8).min(first.len())].join("\n"),
        second[from..(at + 8).min(second.len())].join("\n")
    )
}

// ---------------------------------------------------------------------------------------------
// Properties

proptest! {
    /// Applying the plan to the in-memory target and planning again yields no action.
    #[test]
    fn applying_the_plan_converges(world in world(SETTLED)) {
        let first = planned(&world)?;
        let rescue = applied(&world, &first)?;
        let again = World {
            current: CurrentState { rescue, links: world.current.links.clone() },
            ..world
        };
        let second = check(&again).map_err(TestCaseError::fail)?;
        prop_assert!(
            second.actions.is_empty(),
            "a second plan still has actions:\n{:#?}\nfirst plan:\n{:#?}",
            second.actions,
            first.actions
        );
    }

    /// With reused e-mails too, a second plan settles everything, and all it does is finish what
    /// the first plan held back, with a warning, because an address was still in use: create
    /// those users, or bring the node a held-back user is linked to up to date (the first plan
    /// left it alone entirely; SPEC §2: a changed e-mail is an update of the linked node).
    #[test]
    fn reused_emails_settle_in_a_second_plan(world in world(REAL)) {
        let first = planned(&world)?;
        let rescue = applied(&world, &first)?;
        let world = World {
            current: CurrentState { rescue, links: world.current.links.clone() },
            ..world
        };
        let second = check(&world).map_err(TestCaseError::fail)?;
        for action in &second.actions {
            let warned = first.warnings.iter().any(|warning| {
                warning.kind == WarningKind::ClaimConflict && warning.email.as_ref() == action.email()
            });
            let linked = action.object_id().and_then(|object_id| {
                action.role().and_then(|role| {
                    world.current.links.plane(role.plane()).get(object_id).copied()
                })
            });
            let held_back_change = match action.kind() {
                ActionKind::CreateUser => true,
                ActionKind::UpdateUser
                | ActionKind::MoveUser
                | ActionKind::EnableUser
                | ActionKind::SetMobileLicense => linked.is_some() && linked == action.node_id(),
                _ => false,
            };
            prop_assert!(
                held_back_change && warned,
                "the second plan does more than finish what the first held back: {:#?}",
                second.actions
            );
        }
        let rescue = applied(&world, &second)?;
        let world = World {
            current: CurrentState { rescue, links: world.current.links.clone() },
            ..world
        };
        let third = check(&world).map_err(TestCaseError::fail)?;
        prop_assert!(third.actions.is_empty(), "a third plan still has actions:\n{:#?}", third.actions);
    }

    /// Shuffled inputs give a byte-identical plan, or the same error.
    #[test]
    fn shuffled_inputs_give_the_same_plan(world in world(ANY), seed in any::<u64>()) {
        let first = as_json(&check(&world));
        let second = as_json(&check(&shuffled(&world, seed)));
        prop_assert!(first == second, "the plans differ:\n{}", difference(&first, &second));
    }

    /// No action deletes: every node is still there after the plan is applied, and the nodes
    /// no action names are exactly as they were.
    #[test]
    fn no_action_deletes(world in world(REAL)) {
        let plan = planned(&world)?;
        for action in &plan.actions {
            prop_assert!(!deletes(action.kind()), "{} deletes", action.id());
        }
        let after = applied(&world, &plan)?;
        let named: BTreeSet<NodeId> = plan.actions.iter().filter_map(|a| a.node_id()).collect();
        let after: BTreeMap<NodeId, &RescueNode> = after.nodes.iter().map(|n| (n.id, n)).collect();
        for node in &world.current.rescue.nodes {
            let Some(now) = after.get(&node.id) else {
                return Err(TestCaseError::fail(format!("node {} was deleted", node.id)));
            };
            if !named.contains(&node.id) {
                prop_assert_eq!(*now, node, "node {} changed though no action names it", node.id);
            }
        }
        let creates = plan
            .actions
            .iter()
            .filter(|a| matches!(a.kind(), ActionKind::CreateGroup | ActionKind::CreateUser))
            .count();
        prop_assert_eq!(after.len(), world.current.rescue.nodes.len() + creates);
    }

    /// No action touches a node outside the managed groups that is neither linked nor wanted by
    /// its e-mail, nor a protected user, the account holder, or a node whose e-mail several
    /// directory users share.
    #[test]
    fn actions_stay_in_scope(world in world(REAL)) {
        let plan = planned(&world)?;
        let facts = Facts::of(&world);
        let desired = desired(&world.directory, &world.config).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for plane in Plane::ALL {
            let keys: BTreeSet<String> =
                desired.plane(plane).keys().map(str::to_owned).collect();
            prop_assert_eq!(&keys, &facts.wanted[plane_index(plane)], "wanted keys of {:?}", plane);
        }
        let nodes: BTreeMap<NodeId, &RescueNode> =
            world.current.rescue.nodes.iter().map(|n| (n.id, n)).collect();
        for action in &plan.actions {
            let email = action.email().map(|k| k.as_str().to_owned());
            if let Some(email) = &email {
                prop_assert!(!facts.duplicates.contains(email), "{} acts on a duplicate key", action.id());
            }
            let Some(id) = action.node_id() else { continue };
            let Some(node) = nodes.get(&id) else {
                return Err(TestCaseError::fail(format!("{} names node {id}, which does not exist", action.id())));
            };
            let Some(role) = node.node_type.user_role() else {
                return Err(TestCaseError::fail(format!("{} names node {id}, which is no user", action.id())));
            };
            let plane = role.plane();
            prop_assert_eq!(action.role().map(Role::plane), Some(plane), "{} changes plane", action.id());
            prop_assert!(!node.account_holder, "{} touches the account holder", action.id());
            prop_assert!(!facts.is_protected(node), "{} touches a protected node", action.id());
            prop_assert!(
                !email.as_ref().is_some_and(|e| facts.protected.contains(e)),
                "{} touches the node of a protected e-mail", action.id()
            );
            let node_key = node.email.as_deref().and_then(fold);
            prop_assert!(
                !node_key.as_ref().is_some_and(|k| facts.duplicates.contains(k)),
                "{} touches node {id}, whose e-mail several directory users share", action.id()
            );
            if !facts.is_managed(node) {
                // Outside the managed groups and not linked: only the move back of a wanted user
                // found by its own e-mail (SPEC §5, "node in another group G'").
                prop_assert_ne!(action.kind(), ActionKind::DisableUser, "{} disables an unmanaged node", action.id());
                prop_assert!(
                    node_key.is_some() && node_key == email
                        && facts.wanted[plane_index(plane)].contains(email.as_deref().unwrap_or("")),
                    "{} touches unmanaged node {id}, which no wanted user claims by e-mail", action.id()
                );
            }
        }
    }

    /// The second core changes nothing: with every pass of `desired()` and `plan()` split across
    /// two threads however small it is, the plan (or the error) is that of one thread, byte for
    /// byte.
    #[test]
    fn plans_are_the_same_on_one_core_or_two(world in world(ANY)) {
        let on = |cores: Cores| -> Result<String, String> {
            world.config.validate().map_err(|problems| format!("{problems:?}"))?;
            let wanted = desired_on(&world.directory, &world.config, cores)
                .map_err(|e| e.to_string())?;
            let policy = Policy::from_config(&world.config);
            let made = plan_on(&wanted, &world.current, &policy, cores).map_err(|e| e.to_string())?;
            serde_json::to_string(&made).map_err(|e| e.to_string())
        };
        let (one, two) = (on(Cores::one()), on(Cores::always_two()));
        prop_assert!(one == two, "the plans differ:\n{}", difference(&one, &two));
    }

    /// A plan is blocked on disables exactly when it holds more than `max_disables` allows of the
    /// enabled managed users.
    #[test]
    fn disable_budget_blocks_exactly_when_exceeded(spec in world_spec(), max_disables in budget()) {
        let safety = SafetyConfig { max_disables, max_moves: Budget::Count(10_000) };
        let world = build(&spec, REAL, safety);
        let plan = planned(&world)?;
        let facts = Facts::of(&world);
        let base = world
            .current
            .rescue
            .nodes
            .iter()
            .filter(|node| {
                facts.is_managed(node)
                    && node.is_enabled()
                    && !node.account_holder
                    && !facts.is_protected(node)
            })
            .count() as u64;
        let allowed = max_disables.allowance(base);
        let disables = plan.actions.iter().filter(|a| a.kind() == ActionKind::DisableUser).count() as u64;
        let guards = plan.blocked.as_ref().map(|b| b.guards.clone()).unwrap_or_default();
        let disable_guard = guards.iter().find(|g| matches!(g, Guard::MaxDisables { .. }));
        if disables > allowed {
            let expected = Guard::MaxDisables {
                planned: disables,
                allowed,
                budget: max_disables.to_string(),
                base,
            };
            prop_assert_eq!(disable_guard, Some(&expected));
        } else {
            prop_assert!(disable_guard.is_none(), "blocked with {disables} disables of {allowed} allowed (base {base})");
        }
        // Nothing else blocks but the empty-group guard, which needs an empty Entra group whose
        // existing destination holds enabled users of its plane.
        let empty_group = facts.empty.iter().any(|(plane, destinations)| {
            world.current.rescue.nodes.iter().any(|node| {
                node.node_type.user_role().is_some_and(|r| r.plane() == *plane)
                    && node.is_enabled()
                    && node.parent.is_some_and(|p| destinations.contains(&p))
            })
        });
        prop_assert_eq!(plan.blocked.is_some(), disables > allowed || empty_group);
    }
}
