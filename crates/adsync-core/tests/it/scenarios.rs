//! One folder per behaviour under `fixtures/scenarios/`: `config.yaml`, `directory.yaml`,
//! `rescue.yaml`, optionally `links.yaml`. `check()` is the only code here that calls `plan()`;
//! its result (the plan, or the error) is an insta snapshot.

use std::path::{Path, PathBuf};

use adsync_core::config::Config;
use adsync_core::desired::desired;
use adsync_core::memory::apply_action;
use adsync_core::model::{DirectorySnapshot, RescueSnapshot};
use adsync_core::plan::{CurrentState, Links, Plan, Policy, plan, verify};

struct Scenario {
    config: Config,
    directory: DirectorySnapshot,
    current: CurrentState,
}

fn read<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn load(dir: &Path) -> Scenario {
    let links_path = dir.join("links.yaml");
    let links: Links = if links_path.exists() {
        read(&links_path)
    } else {
        Links::default()
    };
    Scenario {
        config: read(&dir.join("config.yaml")),
        directory: read(&dir.join("directory.yaml")),
        current: CurrentState {
            rescue: read::<RescueSnapshot>(&dir.join("rescue.yaml")),
            links,
        },
    }
}

/// Every scenario's folder under `fixtures/scenarios/`.
fn scenario_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/scenarios");
    std::fs::read_dir(&root)
        .expect("fixtures/scenarios exists")
        .map(|entry| entry.expect("a readable entry").path())
        .collect()
}

fn check(scenario: &Scenario) -> Result<Plan, String> {
    scenario
        .config
        .validate()
        .map_err(|problems| format!("{problems:?}"))?;
    let desired = desired(&scenario.directory, &scenario.config).map_err(|e| e.to_string())?;
    plan(
        &desired,
        &scenario.current,
        &Policy::from_config(&scenario.config),
    )
    .map_err(|e| e.to_string())
}

#[test]
fn scenarios() {
    let mut count = 0;
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures"),
        "scenarios/*/config.yaml",
        |path| {
            count += 1;
            let dir = path.parent().expect("a scenario config sits in a folder");
            let scenario = load(dir);
            match check(&scenario) {
                Ok(plan) => {
                    // A saved plan of every scenario passes the checks `apply plan.json` makes
                    // against the world it was made in, and keeps its guards.
                    let mut sealed = plan.clone();
                    sealed.seal(Some(b"scenario key"));
                    let text = serde_json::to_string(&sealed).expect("json");
                    let read: Plan = serde_json::from_str(&text).expect("reads back");
                    assert_eq!(
                        read.check_seal(Some(b"scenario key")),
                        Ok(()),
                        "{}",
                        path.display()
                    );
                    assert_eq!(
                        verify(
                            &read,
                            &scenario.config,
                            &scenario.current,
                            &Default::default()
                        ),
                        Ok(plan.blocked.clone()),
                        "{}",
                        path.display()
                    );
                    insta::assert_yaml_snapshot!(plan, { ".config_digest" => "[digest]" })
                }
                Err(error) => insta::assert_snapshot!(error),
            }
        }
    );
    assert!(count >= 28, "expected at least 28 scenarios, found {count}");
}

/// Every scenario that yields an unblocked plan converges: apply it to the in-memory tree, plan
/// again, and nothing is left to do.
#[test]
fn scenarios_converge_in_memory() {
    let mut converged = 0;
    for dir in scenario_dirs() {
        let scenario = load(&dir);
        let Ok(first) = check(&scenario) else {
            continue;
        };
        if first.blocked.is_some() {
            continue;
        }
        let mut rescue = scenario.current.rescue.clone();
        for action in &first.actions {
            apply_action(&mut rescue, action, None)
                .unwrap_or_else(|e| panic!("{}: {}: {e}", dir.display(), action.id()));
        }
        let again = Scenario {
            current: CurrentState {
                rescue,
                links: scenario.current.links.clone(),
            },
            ..scenario
        };
        let second = check(&again).expect("the second plan succeeds");
        assert!(
            second.actions.is_empty(),
            "{}: a second plan still has actions: {:#?}",
            dir.display(),
            second.actions
        );
        converged += 1;
    }
    assert!(converged >= 20, "only {converged} scenarios converged");
}

/// A plan's user list keeps the users who need nothing as compact rows and makes them whole
/// when read: written out and read back, every scenario's plan is the same plan, entry for
/// entry, and reading by index, forwards and backwards all give the same entries.
#[test]
fn plans_read_back_as_they_were_written() {
    let mut unchanged_users = 0;
    for dir in scenario_dirs() {
        let Ok(made) = check(&load(&dir)) else {
            continue;
        };
        let json = serde_json::to_string(&made).expect("a plan serializes");
        let read: Plan = serde_json::from_str(&json).expect("a plan reads back");
        assert_eq!(read, made, "{}", dir.display());
        assert_eq!(
            serde_json::to_string(&read).expect("a plan serializes"),
            json,
            "{}",
            dir.display()
        );
        let forwards: Vec<_> = made.users.iter().collect();
        let by_index: Vec<_> = (0..made.users.len())
            .map(|at| made.users.get(at).expect("an entry at every index"))
            .collect();
        let mut backwards: Vec<_> = made.users.iter().rev().collect();
        backwards.reverse();
        assert_eq!(forwards, by_index, "{}", dir.display());
        assert_eq!(forwards, backwards, "{}", dir.display());
        assert_eq!(made.users.get(made.users.len()), None);
        unchanged_users += forwards
            .iter()
            .filter(|user| user.role.is_some() && user.node_id.is_some() && user.actions.is_empty())
            .count();
    }
    assert!(
        unchanged_users >= 10,
        "the scenarios hold only {unchanged_users} matched users who need nothing"
    );
}

/// `DesiredState::held` is public: a caller may add keys after `desired()`. A desired user whose
/// key was added is left alone like any user whose key several directory users share, with or
/// without a node.
#[test]
fn a_key_added_to_held_after_desired_leaves_its_user_alone() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/scenarios");
    for (name, key) in [
        ("create-technician", "jane.doe@contoso.com"),
        ("reenable-disabled-user", "jane.doe@contoso.com"),
    ] {
        let scenario = load(&root.join(name));
        let mut wanted = desired(&scenario.directory, &scenario.config).expect("desired state");
        let policy = Policy::from_config(&scenario.config);
        let before = plan(&wanted, &scenario.current, &policy).expect("plan");
        assert!(
            before
                .actions
                .iter()
                .any(|action| action.email().is_some_and(|e| e.as_str() == key)),
            "{name}: the user has an action to begin with"
        );
        wanted
            .held
            .insert(adsync_core::model::UserKey::new(key).expect("a key"));
        let after = plan(&wanted, &scenario.current, &policy).expect("plan");
        assert!(
            after
                .actions
                .iter()
                .all(|action| action.email().is_none_or(|e| e.as_str() != key)),
            "{name}: no action for the held key"
        );
        let entry = after
            .users
            .iter()
            .find(|entry| entry.email.as_str() == key)
            .expect("the user is listed");
        assert_eq!(
            entry.note.as_deref(),
            Some("several directory users share this key"),
            "{name}"
        );
    }
}
