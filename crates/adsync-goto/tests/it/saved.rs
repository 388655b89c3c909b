//! Issues 25 and 26 for GoTo plans: over random plans (random directories and managed sets
//! against the fixture account), the unedited sealed plan checks and its recomputed guard is the
//! planner's; every single-operation edit is refused, by the digest when not resealed and by
//! the invariants when the digest was recomputed.

use std::collections::BTreeSet;

use adsync_core::config::Config;
use adsync_core::goto::goto_desired;
use adsync_core::model::DirectorySnapshot;
use adsync_core::plan::{SealError, Sealed};
use adsync_goto::planner::{GotoPlan, PlanInput, Planned, Sides, plan, verify};
use adsync_goto::{AdminRole, GotoSnapshot, Key, Operation};
use proptest::prelude::*;
use serde_json::json;

fn account() -> GotoSnapshot {
    serde_yaml::from_str(include_str!(
        "../../../../fixtures/goto/emulator-account.yaml"
    ))
    .expect("the fixture parses")
}

fn key(text: &str) -> Key {
    Key::new(text).expect("a key")
}

fn keys(texts: &[&str]) -> BTreeSet<Key> {
    texts.iter().map(|t| key(t)).collect()
}

/// ada and grace, plus `extra` newcomers; each person in the groups `memberships` picks.
fn directory(extra: usize, memberships: &[u8]) -> DirectorySnapshot {
    let mut people = vec![
        ("u-ada".to_owned(), "ada@contoso.com".to_owned()),
        ("u-grace".to_owned(), "grace@contoso.com".to_owned()),
    ];
    people.extend((0..extra).map(|n| (format!("u-{n}"), format!("new{n}@contoso.com"))));
    let mut groups = [vec![], vec![], vec![]];
    for (index, (id, _)) in people.iter().enumerate() {
        let bits = memberships.get(index).copied().unwrap_or(0);
        for (group, members) in groups.iter_mut().enumerate() {
            if bits & (1 << group) != 0 {
                members.push(id.clone());
            }
        }
    }
    let users: Vec<_> = people
        .iter()
        .map(|(id, email)| json!({"id": id, "upn": email, "mail": email, "display_name": id}))
        .collect();
    serde_json::from_value(json!({
        "users": users,
        "groups": [
            {"id": "g-web", "display_name": "Webinars", "members": groups[0]},
            {"id": "g-meet", "display_name": "Meetings", "members": groups[1]},
            {"id": "g-voice", "display_name": "Voice", "members": groups[2]},
        ],
    }))
    .expect("a directory")
}

fn config() -> Config {
    let config: Config = serde_json::from_value(json!({
        "source": {"type": "snapshot", "path": "directory.yaml"},
        "target": {"type": "goto", "client_id": "c", "client_secret": {"env": "S"}},
        "sync": {"protected": ["it-breakglass@contoso.com"]},
        "goto": {"rules": [
            {"name": "webinar hosts", "entra_group": "Webinars", "products": ["G2W"],
             "admin_role": "full"},
            {"name": "meetings", "entra_group": "Meetings", "products": ["G2M"],
             "admin_role": "none", "user_group": "Support"},
            {"name": "voice", "entra_group": "Voice", "products": ["openvoice"]},
        ]},
    }))
    .expect("a configuration");
    config.validate().expect("valid");
    config
}

/// One edit of a saved plan, each of which must be refused.
fn edit(plan: &mut GotoPlan, which: u8) -> bool {
    let linus = |operation: Operation| Planned {
        id: 1000,
        rule: None,
        operation,
    };
    let (user, email) = (key("1003"), "linus@contoso.com".to_owned());
    let added = match which {
        0 => linus(Operation::Suspend {
            user,
            email,
            before: keys(&["5001"]),
        }),
        1 => linus(Operation::SetLicences {
            user,
            email,
            before: BTreeSet::new(),
            after: keys(&["9999"]),
        }),
        2 => linus(Operation::MoveToGroup {
            user,
            email,
            from: None,
            to: key("33"),
        }),
        3 => linus(Operation::SetRole {
            user,
            email,
            before: AdminRole::None,
            after: AdminRole::ManagerOf {
                groups: keys(&["32"]),
            },
        }),
        4 | 5 => linus(Operation::CreateUser {
            email: if which == 4 {
                "mallory@contoso.com".into()
            } else {
                "it-breakglass@contoso.com".into()
            },
            first_name: "M".into(),
            last_name: "E".into(),
            licences: keys(&["5001"]),
            role: AdminRole::None,
            group: None,
        }),
        6 => linus(Operation::SetRole {
            // ada's key under linus's e-mail.
            user: key("1001"),
            email,
            before: AdminRole::Full,
            after: AdminRole::Full,
        }),
        _ => {
            plan.managed.insert(email);
            return true;
        }
    };
    plan.operations.push(added);
    true
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_edited_goto_plan_is_refused(
        extra in 0_usize..4,
        memberships in proptest::collection::vec(0_u8..8, 6),
        grace_managed in any::<bool>(),
        which in 0_u8..8,
        reseal in any::<bool>(),
    ) {
        let config = config();
        let account = account();
        let wanted = goto_desired(&directory(extra, &memberships), &config).expect("desired");
        let managed: BTreeSet<String> = grace_managed
            .then(|| "grace@contoso.com".to_owned())
            .into_iter()
            .collect();
        let sides = Sides { wanted: &wanted, account: &account, managed: &managed, config: &config };
        let mut saved = plan(&wanted, &account, &config, &PlanInput { managed: &managed });
        saved.seal(None);
        // The unedited plan checks, and its guard is recomputed as the planner's.
        prop_assert_eq!(saved.check_seal(None), Ok(()));
        prop_assert_eq!(verify(&saved, &sides), Ok(saved.blocked.clone()));
        let mut edited = saved.clone();
        prop_assert!(edit(&mut edited, which));
        if reseal {
            edited.seal(None);
            prop_assert_eq!(edited.check_seal(None), Ok(()));
            let refused = verify(&edited, &sides);
            prop_assert!(refused.is_err(), "edit {} accepted", which);
        } else {
            prop_assert_eq!(edited.check_seal(None), Err(SealError::DigestMismatch));
        }
    }
}
