//! Synthetic Entra directories: deterministic from a seed, with nesting and large groups.

use std::collections::BTreeSet;

use adsync_core::model::{DirectoryGroup, DirectorySnapshot, DirectoryUser};

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryShape {
    /// Groups in all.
    pub groups: usize,
    /// Users in all; every one is a direct member of at least one group.
    pub users: usize,
    /// Chains of nesting this deep: a top group holds a group that holds a group ... `depth`
    /// levels below the top (0: no nesting).
    pub nesting_depth: usize,
    /// How many such chains (each uses `nesting_depth + 1` groups).
    pub chains: usize,
    /// Direct user counts of the first groups, for groups larger than one page (999).
    pub large_groups: Vec<usize>,
    /// The random seed: equal shapes give equal directories.
    pub seed: u64,
}

impl DirectoryShape {
    /// The acceptance shape of issue 3: 60 groups, nesting three deep, four groups over 999
    /// direct members (one of them inside a chain, so its ancestors are large transitively).
    pub fn acceptance() -> DirectoryShape {
        DirectoryShape {
            groups: 60,
            users: 6000,
            nesting_depth: 3,
            chains: 6,
            large_groups: vec![1000, 1998, 2500, 1200],
            seed: 3,
        }
    }
}

const GIVEN: &[&str] = &[
    "Jane", "John", "Ana", "José", "Zoë", "Mei", "Olu", "Søren", "Priya", "Liam", "Fatima", "Noah",
];
const FAMILY: &[&str] = &[
    "Doe",
    "Smith",
    "García",
    "Müller",
    "O'Brien",
    "Nguyen",
    "Okafor",
    "Ødegaard",
    "Patel",
    "Kowalski",
];
const DEPARTMENTS: &[&str] = &["Support", "Finance", "Sales", "IT", "R&D", "Field Ops"];
const TITLES: &[&str] = &["Support engineer", "Technician", "Team lead", "Analyst"];

/// A GUID-shaped id from the generator.
fn guid(rng: &mut fastrand::Rng) -> String {
    let hex = |rng: &mut fastrand::Rng, n: usize| -> String {
        (0..n)
            .map(|_| char::from_digit(rng.u32(0..16), 16).unwrap_or('0'))
            .collect()
    };
    format!(
        "{}-{}-{}-{}-{}",
        hex(rng, 8),
        hex(rng, 4),
        hex(rng, 4),
        hex(rng, 4),
        hex(rng, 12)
    )
}

/// Generates a directory of `shape`. Group `i`'s direct members are users and, along the
/// chains, the next group of the chain; one extra edge makes a diamond (a group nested in two
/// parents) when there are at least two chains.
pub fn directory(shape: &DirectoryShape) -> DirectorySnapshot {
    let mut rng = fastrand::Rng::with_seed(shape.seed);
    let users: Vec<DirectoryUser> = (0..shape.users)
        .map(|i| {
            let given = GIVEN[i % GIVEN.len()];
            let family = FAMILY[(i / GIVEN.len()) % FAMILY.len()];
            let upn = format!(
                "{}.{}{i}@contoso.com",
                given.to_lowercase(),
                family.to_lowercase().replace('\'', "")
            );
            DirectoryUser {
                id: guid(&mut rng),
                mail: (i % 17 != 5).then(|| upn.clone()),
                upn,
                display_name: format!("{given} {family}"),
                given_name: (i % 13 != 7).then(|| given.to_owned()),
                surname: Some(family.to_owned()),
                job_title: (i % 3 != 0).then(|| TITLES[i % TITLES.len()].to_owned()),
                department: (i % 4 != 0).then(|| DEPARTMENTS[i % DEPARTMENTS.len()].to_owned()),
                mobile_phone: (i % 5 == 0).then(|| format!("+1 555 01{:02}", i % 100)),
                employee_id: (i % 2 == 0).then(|| format!("E{i:06}")),
                account_enabled: i % 11 != 3,
                attributes: Default::default(),
            }
        })
        .collect();

    let mut groups: Vec<DirectoryGroup> = (0..shape.groups)
        .map(|i| DirectoryGroup {
            id: guid(&mut rng),
            display_name: match i % 7 {
                3 => format!("O'Brien's Team {i}"),
                5 => format!("Rescue {} L{}", DEPARTMENTS[i % DEPARTMENTS.len()], i % 4),
                _ => format!("SG-Rescue-{i:02}"),
            },
            members: Vec::new(),
            member_groups: Vec::new(),
        })
        .collect();

    // Direct users: the large groups first, then a few dozen each.
    let mut memberships: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); groups.len()];
    for (g, members) in memberships.iter_mut().enumerate() {
        let wanted = shape
            .large_groups
            .get(g)
            .copied()
            .unwrap_or_else(|| rng.usize(3..80))
            .min(shape.users);
        while members.len() < wanted {
            members.insert(rng.usize(0..shape.users.max(1)));
        }
    }
    // Everyone belongs somewhere.
    let placed: BTreeSet<usize> = memberships.iter().flatten().copied().collect();
    if !groups.is_empty() {
        for user in (0..shape.users).filter(|u| !placed.contains(u)) {
            let g = user % groups.len();
            memberships[g].insert(user);
        }
    }
    for (group, members) in groups.iter_mut().zip(&memberships) {
        let mut ids: Vec<String> = members.iter().map(|&u| users[u].id.clone()).collect();
        ids.sort();
        group.members = ids;
    }

    // Chains: the chain's groups are taken from the end so that the large groups (at the
    // start) stay top-level, except that the last chain's bottom is large group 3 when there
    // is one, making its ancestors large transitively.
    let per_chain = shape.nesting_depth + 1;
    let mut chains: Vec<Vec<usize>> = Vec::new();
    for c in 0..shape.chains {
        let start = groups.len().saturating_sub((c + 1) * per_chain);
        let chain: Vec<usize> = (start..start + per_chain)
            .filter(|&g| g < groups.len())
            .collect();
        if chain.len() == per_chain && start >= shape.large_groups.len() {
            chains.push(chain);
        }
    }
    if let (Some(last), Some(_)) = (chains.last_mut(), shape.large_groups.get(3))
        && let Some(bottom) = last.last_mut()
    {
        *bottom = 3;
    }
    let mut edges: BTreeSet<(usize, usize)> = BTreeSet::new();
    for chain in &chains {
        for pair in chain.windows(2) {
            edges.insert((pair[0], pair[1]));
        }
    }
    if chains.len() >= 2 {
        // A diamond: the second chain's top also holds the first chain's second group.
        edges.insert((chains[1][0], chains[0][1]));
    }
    for (parent, child) in edges {
        let child_id = groups[child].id.clone();
        groups[parent].member_groups.push(child_id);
    }
    for group in &mut groups {
        group.member_groups.sort();
    }

    DirectorySnapshot { users, groups }
}
