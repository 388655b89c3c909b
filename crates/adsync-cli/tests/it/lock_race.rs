//! The run lock under races, with real processes: many `adsync apply` started at once against a
//! stale lock (left by a run that was killed), many times. Exactly one applies; every other one
//! exits 1 naming the holder, and Rescue sees each create once.

use std::time::Duration;

use crate::emulated::{Emulated, wait_for_exit};

/// Runs started at once per trial.
const RUNS: usize = 6;
/// Trials.
const TRIALS: usize = 4;

/// A lock left by a run that is gone (pids this large are not handed out on Linux).
const STALE: &str =
    r#"{"pid": 4194999, "started": "2026-11-21T09:00:00.000Z", "command": "apply"}"#;

#[test]
fn many_applies_started_at_once_against_a_stale_lock_let_exactly_one_apply() {
    for trial in 0..TRIALS {
        let emulated = Emulated::start("demo", &format!("lock-race-{trial}"));
        // Slow enough that the winner still holds the lock when the last run starts.
        emulated.rescue.set_latency(Duration::from_millis(15));
        std::fs::create_dir_all(emulated.dir.join(".adsync")).expect("state directory");
        std::fs::write(emulated.dir.join(".adsync/lock"), STALE).expect("stale lock");
        let mut children: Vec<_> = (0..RUNS)
            .map(|run| emulated.spawn(&["apply", "--yes"], &format!("run-{run}")))
            .collect();
        let codes: Vec<Option<i32>> = children
            .iter_mut()
            .map(|child| wait_for_exit(child, Duration::from_secs(120)).code())
            .collect();
        let applied = codes.iter().filter(|code| **code == Some(0)).count();
        assert_eq!(applied, 1, "trial {trial}: exit codes {codes:?}");
        for (run, code) in codes.iter().enumerate() {
            if *code != Some(0) {
                let stderr = emulated.read(&format!("run-{run}.stderr"));
                assert_eq!(*code, Some(1), "trial {trial}, run {run}: {stderr}");
                assert!(
                    stderr.contains("another adsync run holds the lock"),
                    "trial {trial}, run {run}: {stderr}"
                );
            }
        }
        emulated.assert_no_duplicate_users();
        assert!(
            !emulated.dir.join(".adsync/lock").exists(),
            "trial {trial}: the lock is released"
        );
        let plan = emulated.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(plan.code, 0, "trial {trial}: {}", plan.transcript());
    }
}
