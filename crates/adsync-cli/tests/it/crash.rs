//! Crash consistency: `adsync apply` killed with SIGKILL at seeded random points, from its
//! first read to its last write, then run again. For every seed: the dead run's lock is taken
//! over and released, `audit.jsonl` is valid JSON Lines, Rescue ends exactly where an
//! uninterrupted apply ends (same users, same groups, same fields; no duplicate, no empty
//! node), and a final plan is empty.
//!
//! `e2e_apply::an_apply_killed_at_any_point_converges_on_the_next_run` kills one action at a
//! time at three fixed points; here actions run four at a time and the kill lands anywhere,
//! mid-request included. Seeds: 10 by default; `ADSYNC_CRASH_SEEDS=200` for the long run in
//! docs/reliability.md, `ADSYNC_CRASH_SEED=N` to replay one.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use adsync_core::model::{NodeId, RescueNode, RescueSnapshot};

use crate::emulated::{Emulated, wait_for_exit};

/// Latency of every Rescue answer in the killed run: long enough for a kill to land between
/// any two requests, short enough for ten seeds to take seconds.
const LATENCY: Duration = Duration::from_millis(15);

/// SplitMix64: a seeded, dependency-free random sequence.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^ (x >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The Rescue organization as comparable across emulators: users by plane and e-mail (created
/// nodes get whatever id comes next), other nodes by id; the parent as a path of names.
fn fingerprint(snapshot: &RescueSnapshot) -> BTreeMap<String, String> {
    let by_id: BTreeMap<NodeId, &RescueNode> = snapshot.nodes.iter().map(|n| (n.id, n)).collect();
    let path = |mut id: Option<NodeId>| {
        let mut names = Vec::new();
        while let Some(node) = id.and_then(|id| by_id.get(&id)) {
            names.push(node.name.as_str());
            id = node.parent;
            if names.len() > 64 {
                break;
            }
        }
        names.reverse();
        names.join("/")
    };
    snapshot
        .nodes
        .iter()
        .map(|node| {
            let key = match (node.node_type.user_role(), node.email.as_deref()) {
                (Some(role), Some(email)) if !email.is_empty() => {
                    format!("{}:{}", role.plane().as_str(), email.to_lowercase())
                }
                _ => format!("node:{}", node.id),
            };
            let value = format!(
                "{} | {} | {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                path(node.parent),
                node.node_type.as_str(),
                node.name,
                node.nick,
                node.ssoid,
                node.description,
                node.status,
                node.mobile,
                node.rpat
            );
            (key, value)
        })
        .collect()
}

fn seeds() -> Vec<u64> {
    if let Some(one) = std::env::var("ADSYNC_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return vec![one];
    }
    let count = std::env::var("ADSYNC_CRASH_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_u64);
    (1..=count).collect()
}

/// What an uninterrupted apply of the demo leaves in Rescue, how many Rescue requests its
/// reads take, and how many the whole apply takes.
struct Goal {
    fingerprint: BTreeMap<String, String>,
    reads: u64,
    requests: u64,
    actions: BTreeSet<String>,
}

fn goal() -> Goal {
    let emulated = Emulated::start("demo", "crash-goal");
    let plan = emulated.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.transcript());
    let reads = emulated.rescue.total_requests() as u64;
    emulated.rescue.reset_counts();
    let run = emulated.run(&["apply", "--yes", "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("a report");
    let actions = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    Goal {
        fingerprint: fingerprint(&emulated.rescue.snapshot()),
        reads,
        requests: emulated.rescue.total_requests() as u64,
        actions,
    }
}

#[test]
fn apply_killed_at_seeded_random_points_converges() {
    let Goal {
        fingerprint: goal,
        reads,
        requests,
        actions,
    } = goal();
    assert_eq!(actions.len(), 13, "the demo plan");
    let mut outcomes = Vec::new();
    for seed in seeds() {
        let mut rng = Rng(seed);
        // Kill once the killed run has sent `after` requests, plus a fraction of one answer's
        // latency, so the kill lands mid-request as often as not: one seed in four anywhere
        // from the start, the others while it writes.
        let after = if rng.below(4) == 0 {
            rng.below(requests + 1)
        } else {
            reads + rng.below(requests - reads + 1)
        };
        let extra = Duration::from_micros(rng.below(LATENCY.as_micros() as u64));
        let name = format!("crash-{seed}");
        let emulated = Emulated::start("demo", &name);
        emulated.rescue.set_latency(LATENCY);
        let mut child = emulated.spawn(&["apply", "--yes", "-v"], "killed");
        let started = Instant::now();
        while (emulated.rescue.total_requests() as u64) < after
            && started.elapsed() < Duration::from_secs(20)
            && child.try_wait().expect("waitable").is_none()
        {
            std::thread::sleep(Duration::from_micros(500));
        }
        std::thread::sleep(extra);
        let sent = emulated.rescue.total_requests();
        let _ = child.kill();
        let status = wait_for_exit(&mut child, Duration::from_secs(10));
        let killed = status.code().is_none();
        let lines_before = emulated.read(".adsync/audit.jsonl").lines().count();
        let lock_left = emulated.dir.join(".adsync/lock").exists();
        if killed && sent > 0 {
            // The lock is taken before anything is read.
            assert!(lock_left, "seed {seed}: a SIGKILL leaves the lock");
        }

        emulated.rescue.set_latency(Duration::ZERO);
        let rerun = emulated.run(&["apply", "--yes"]);
        assert_eq!(rerun.code, 0, "seed {seed}: {}", rerun.transcript());
        if lock_left {
            assert!(
                rerun.stderr.contains("taking over the lock"),
                "seed {seed}: {}",
                rerun.transcript()
            );
        }
        assert!(
            !emulated.dir.join(".adsync/lock").exists(),
            "seed {seed}: the lock is released"
        );
        let last_run: serde_json::Value =
            serde_json::from_str(&emulated.read(".adsync/last-run.json")).expect("last-run");
        assert_eq!(last_run["outcome"], "success", "seed {seed}");

        let plan = emulated.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(plan.code, 0, "seed {seed}: {}", plan.transcript());
        assert!(plan.stdout.contains("no changes"), "seed {seed}");

        let now = fingerprint(&emulated.rescue.snapshot());
        let differ: Vec<String> = now
            .keys()
            .chain(goal.keys())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|key| now.get(*key) != goal.get(*key))
            .map(|key| format!("{key}: {:?} instead of {:?}", now.get(key), goal.get(key)))
            .collect();
        assert!(
            differ.is_empty(),
            "seed {seed}: Rescue is not where a clean apply ends:\n{}",
            differ.join("\n")
        );
        emulated.assert_no_duplicate_users();

        // The audit log: whole JSON lines, each with an outcome; every action of the plan
        // has an applied line, except those in flight at the kill (at most four at a time),
        // which Rescue holds (checked above) without a line.
        let audit = emulated.read(".adsync/audit.jsonl");
        assert!(audit.is_empty() || audit.ends_with('\n'), "seed {seed}");
        let mut applied = BTreeSet::new();
        for line in audit.lines() {
            let line: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("seed {seed}: {error}: {line}"));
            assert!(line["outcome"].is_string(), "seed {seed}: {line}");
            if line["outcome"] == "applied" {
                applied.insert(line["action"].as_str().unwrap_or_default().to_owned());
            }
        }
        let unlogged = actions.difference(&applied).count();
        assert!(
            unlogged <= 4,
            "seed {seed}: {unlogged} applied actions have no line"
        );
        outcomes.push(format!(
            "seed {seed}: killed after {sent} of {requests} requests, {lines_before} lines \
             logged before, {unlogged} unlogged{}",
            if killed { "" } else { " (it had finished)" }
        ));
    }
    println!("{}", outcomes.join("\n"));
}
