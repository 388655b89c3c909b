//! The plans of synthetic organizations, held against digests recorded from an earlier planner:
//! a restructuring of `desired()` and `plan()` must leave every plan's JSON unchanged, byte for
//! byte, at sizes where the planner's large passes take the second core too.
//!
//! Each organization is planned in several variants (as generated; status-only sync; keys from
//! the UPN; many protected users; no links; shuffled inputs; nested groups; groups to create).
//! `plan_digests.txt` holds one line per variant: the SHA-256 of its plan JSON.
//!
//! A deliberate change of behaviour re-records them: `ADSYNC_RECORD_DIGESTS=1 cargo test -p
//! adsync-tests --test plan_digests` rewrites the file; `ADSYNC_DUMP_PLANS=<dir>` writes every
//! plan's JSON there too, so two planners' plans can be compared with `diff -r`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use adsync_core::config::{Config, DestinationRef, SourceConfig};
use adsync_core::desired::desired;
use adsync_core::model::{DirectorySnapshot, GroupPath};
use adsync_core::plan::{CurrentState, Links, Policy, plan};
use adsync_tests::synthetic::{self, Organization, Shape};
use sha2::{Digest, Sha256};

fn digests_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/plan_digests.txt")
}

fn planned(config: &Config, directory: &DirectorySnapshot, current: &CurrentState) -> String {
    let wanted = match desired(directory, config) {
        Ok(wanted) => wanted,
        Err(error) => return format!("error: {error}"),
    };
    match plan(&wanted, current, &Policy::from_config(config)) {
        Ok(plan) => serde_json::to_string(&plan).expect("a plan serializes"),
        Err(error) => format!("error: {error}"),
    }
}

/// A deterministic shuffle (splitmix64 Fisher–Yates).
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        items.swap(i, (z % (i as u64 + 1)) as usize);
    }
}

/// Every variant of `org`, named, as plan JSON.
fn variants(org: &Organization) -> Vec<(&'static str, String)> {
    let current = CurrentState {
        rescue: org.rescue.clone(),
        links: org.links.clone(),
    };
    let plan_with = |config: &Config| planned(config, &org.directory, &current);
    let mut out = vec![("generated", plan_with(&org.config))];

    let mut status_only = org.config.clone();
    status_only.sync.full_group_sync = false;
    out.push(("status-only", plan_with(&status_only)));

    let mut upn = org.config.clone();
    upn.sync.use_upn_instead_of_email = true;
    out.push(("upn-keys", plan_with(&upn)));

    let mut protected = org.config.clone();
    protected.sync.protected.extend(
        org.directory
            .users
            .iter()
            .step_by(37)
            .filter_map(|user| user.mail.clone()),
    );
    out.push(("protected", plan_with(&protected)));

    let unlinked = CurrentState {
        rescue: org.rescue.clone(),
        links: Links::default(),
    };
    out.push(("no-links", planned(&org.config, &org.directory, &unlinked)));

    let mut directory = org.directory.clone();
    shuffle(&mut directory.users, 1);
    shuffle(&mut directory.groups, 2);
    let mut shuffled = current.clone();
    shuffle(&mut shuffled.rescue.nodes, 3);
    out.push(("shuffled", planned(&org.config, &directory, &shuffled)));

    let mut nested = org.directory.clone();
    let ids: Vec<String> = nested.groups.iter().map(|group| group.id.clone()).collect();
    for (at, group) in nested.groups.iter_mut().enumerate().step_by(5) {
        group.member_groups.push(ids[(at + 1) % ids.len()].clone());
        group.member_groups.push(ids[(at + 7) % ids.len()].clone());
    }
    let mut roomy = org.config.clone();
    roomy.sync.limits.max_members_per_group = 100_000;
    out.push(("nested", planned(&roomy, &nested, &current)));
    let mut flat = roomy;
    if let SourceConfig::Snapshot(source) = &mut flat.source {
        source.nested_groups = false;
    }
    out.push(("nested-off", planned(&flat, &nested, &current)));

    let mut create = org.config.clone();
    create.sync.create_missing_groups = true;
    for (at, pairing) in create.pairings.iter_mut().enumerate().step_by(9) {
        if let Some(DestinationRef::Path(path)) = &pairing.rescue_group
            && !path.is_root()
        {
            let path = format!("New {}/Team {at}/{}", at % 2, path.as_str());
            pairing.rescue_group = Some(DestinationRef::Path(GroupPath::parse(&path)));
        }
    }
    out.push(("create-groups", plan_with(&create)));
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

fn record(dump: Option<&Path>) -> String {
    let mut shapes = Vec::new();
    for (seed, drift) in [(12, 10), (7, 100), (3, 300)] {
        let mut shape = Shape::new(40, 120);
        shape.seed = seed;
        shape.drift_per_mille = drift;
        shapes.push(shape);
    }
    let mut dense = Shape::new(60, 300);
    dense.people = 2_000;
    shapes.push(dense);
    let mut large = Shape::new(200, 500);
    large.drift_per_mille = 40;
    shapes.push(large);

    let mut lines = String::new();
    for shape in &shapes {
        let org = synthetic::organization(shape);
        let name = format!(
            "{}x{}-{}-s{}-d{}",
            shape.pairings, shape.members, shape.people, shape.seed, shape.drift_per_mille
        );
        for (variant, json) in variants(&org) {
            if let Some(dir) = dump {
                std::fs::write(dir.join(format!("{name}-{variant}.json")), &json)
                    .expect("the dump folder is writable");
            }
            let digest = hex(&Sha256::digest(json.as_bytes())[..12]);
            let _ = writeln!(lines, "{name} {variant} {digest}");
        }
    }
    lines
}

#[test]
fn plans_of_synthetic_organizations_match_the_recorded_digests() {
    let dump = std::env::var_os("ADSYNC_DUMP_PLANS").map(PathBuf::from);
    if let Some(dir) = &dump {
        std::fs::create_dir_all(dir).expect("the dump folder can be made");
    }
    let lines = record(dump.as_deref());
    if std::env::var_os("ADSYNC_RECORD_DIGESTS").is_some() {
        std::fs::write(digests_file(), &lines).expect("the digests file is writable");
        return;
    }
    let recorded = std::fs::read_to_string(digests_file()).expect("plan_digests.txt exists");
    let differing: Vec<(&str, &str)> = lines
        .lines()
        .zip(recorded.lines())
        .filter(|(now, then)| now != then)
        .collect();
    assert_eq!(lines.lines().count(), recorded.lines().count());
    assert!(
        differing.is_empty(),
        "plans differ from the recorded planner's (now, then): {differing:#?}"
    );
}
