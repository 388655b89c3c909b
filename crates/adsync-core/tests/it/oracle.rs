//! The plans of a fixed set of generated worlds, held against digests recorded from an earlier
//! planner: a restructuring of `desired()` and `plan()` must leave every plan's JSON unchanged,
//! byte for byte.
//!
//! The worlds come from the property tests' generator, driven by a fixed seed, each planned in
//! several variants (as generated, shuffled, without `create_missing_groups`, with the other
//! sync mode and tight safety budgets, with a low member limit, with a key held after
//! `desired()`). `plan_digests.txt` holds one line per world: the SHA-256 of its variants' plan
//! JSON (or error), in order.
//!
//! A deliberate change of behaviour re-records them: `ADSYNC_RECORD_DIGESTS=1 cargo test -p
//! adsync-core --test it oracle` rewrites the file. `ADSYNC_DUMP_PLANS=<dir>` writes every
//! variant's JSON there too, so two planners' plans can be compared with `diff -r`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use adsync_core::config::{Budget, SafetyConfig};
use adsync_core::desired::desired;
use adsync_core::model::UserKey;
use adsync_core::plan::{Policy, plan};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use sha2::{Digest, Sha256};

use crate::properties::{ANY, REAL, World, check, shuffled, world};

/// Worlds per generator shape.
const WORLDS: usize = 1200;

fn digests_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/plan_digests.txt")
}

/// The plan of `world` as JSON, or its error.
fn planned(world: &World) -> String {
    match check(world) {
        Ok(plan) => serde_json::to_string(&plan).expect("a plan serializes"),
        Err(error) => format!("error: {error}"),
    }
}

/// The plan of `world` after `key` is added to the desired state's held keys.
fn planned_holding(world: &World, key: &str) -> String {
    let Ok(mut wanted) = desired(&world.directory, &world.config) else {
        return "no desired state".to_owned();
    };
    wanted.held.extend(UserKey::new(key));
    match plan(&wanted, &world.current, &Policy::from_config(&world.config)) {
        Ok(plan) => serde_json::to_string(&plan).expect("a plan serializes"),
        Err(error) => format!("error: {error}"),
    }
}

/// Every variant of `world` (the `n`th generated), as plan JSON.
fn variants(world: &World, n: usize) -> Vec<String> {
    let mut out = vec![planned(world), planned(&shuffled(world, n as u64))];
    let mut strict = world.clone();
    strict.config.sync.create_missing_groups = false;
    out.push(planned(&strict));
    let mut other_mode = world.clone();
    other_mode.config.sync.full_group_sync = !other_mode.config.sync.full_group_sync;
    other_mode.config.sync.safety = SafetyConfig {
        max_disables: Budget::Count(1),
        max_moves: Budget::Percent(10),
    };
    out.push(planned(&other_mode));
    let mut limited = world.clone();
    limited.config.sync.limits.max_members_per_group = 3;
    out.push(planned(&limited));
    let person = ["ana.lima", "ben.okafor", "chen.wei"][n % 3];
    out.push(planned_holding(world, &format!("{person}@contoso.com")));
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

/// One line per world of every shape: `<shape> <n> <digest of its variants>`.
fn record(dump: Option<&Path>) -> String {
    let mut lines = String::new();
    for (name, shape) in [("any", ANY), ("real", REAL)] {
        let mut runner = TestRunner::new_with_rng(
            Config::default(),
            TestRng::deterministic_rng(RngAlgorithm::ChaCha),
        );
        let strategy = world(shape);
        for n in 0..WORLDS {
            let world = strategy
                .new_tree(&mut runner)
                .expect("the generator draws a world")
                .current();
            let mut hasher = Sha256::new();
            for (variant, json) in variants(&world, n).iter().enumerate() {
                hasher.update(json.as_bytes());
                hasher.update(b"\n");
                if let Some(dir) = dump {
                    std::fs::write(dir.join(format!("{name}-{n:04}-{variant}.json")), json)
                        .expect("the dump folder is writable");
                }
            }
            let _ = writeln!(lines, "{name} {n} {}", hex(&hasher.finalize()[..12]));
        }
    }
    lines
}

#[test]
fn plans_of_generated_worlds_match_the_recorded_digests() {
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
    let differing: Vec<&str> = lines
        .lines()
        .zip(recorded.lines())
        .filter(|(now, then)| now != then)
        .map(|(now, _)| now)
        .collect();
    assert_eq!(
        lines.lines().count(),
        recorded.lines().count(),
        "the number of worlds changed"
    );
    assert!(
        differing.is_empty(),
        "{} worlds plan differently from the recorded planner; the first: {:?} (set ADSYNC_DUMP_PLANS to compare)",
        differing.len(),
        &differing[..differing.len().min(10)]
    );
}
