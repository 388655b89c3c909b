//! The operator's commands, end to end: the real binary against the Graph and Rescue
//! emulators seeded with the demo organization. Exit code, stdout and stderr are snapshotted.

use adsync_rescue::api::method;
use calamine::Reader;

use crate::emulated::{Auth, Emulated, filters};
use crate::{adsync, repo_root};

/// The demo planned offline, through the snapshot source and target.
fn offline_demo(args: &[&str]) -> crate::Run {
    let mut all = vec!["--config", "fixtures/demo/adsync.yaml"];
    all.extend_from_slice(args);
    adsync(&repo_root(), &all, &[])
}

/// Asserts that Rescue saw no write.
fn assert_no_writes(emulated: &Emulated) {
    let counts = emulated.rescue.counts();
    for write in [
        method::CREATE_USER,
        method::SET_USER,
        method::MOVE_NODE,
        method::CREATE_GROUP,
        method::SET_GROUP,
        method::DELETE_NODE,
    ] {
        assert!(
            !counts.contains_key(write),
            "{write} was called: {counts:?}"
        );
    }
}

#[test]
fn plan_reads_both_emulators_and_prints_the_demo_diff() {
    let emulated = Emulated::start("demo", "e2e-plan-human");
    let run = emulated.run(&["plan"]);
    {
        let _filters = filters().bind_to_scope();
        insta::assert_snapshot!(run.transcript());
    }
    // The emulators serve what the snapshot files hold, so the plan is the offline one.
    let offline = offline_demo(&["plan"]);
    assert_eq!(run.stdout, offline.stdout);
    assert_eq!(run.stderr, offline.stderr);
    assert_eq!(emulated.rescue.count(method::GET_HIERARCHY), 1);
    assert_no_writes(&emulated);
}

#[test]
fn plan_json_is_the_offline_plan_with_this_configuration_s_digest() {
    let emulated = Emulated::start("demo", "e2e-plan-json");
    let run = emulated.run(&["plan", "--json", "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    {
        let _filters = filters().bind_to_scope();
        insta::assert_snapshot!(run.transcript());
    }
    let mut plan: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    let offline = offline_demo(&["plan", "--json"]);
    let mut offline: serde_json::Value = serde_json::from_str(&offline.stdout).expect("json");
    // The one expected difference: a directory snapshot file holds every user, Graph is asked
    // for the paired groups' members only, so a leaver's object id is known offline alone.
    for plan in [&mut plan, &mut offline] {
        for action in plan["actions"].as_array_mut().expect("actions") {
            if action["kind"] == "disable_user"
                && action["reason"] != "account disabled in Entra ID"
            {
                action.as_object_mut().expect("object").remove("object_id");
            }
        }
    }
    for key in [
        "format_version",
        "summary",
        "blocked",
        "warnings",
        "actions",
    ] {
        assert_eq!(
            plan[key], offline[key],
            "`{key}` differs from the offline plan"
        );
    }
    assert_ne!(
        plan["config_digest"], offline["config_digest"],
        "another source and target make another configuration"
    );
}

#[test]
fn apply_writes_the_plan_into_rescue_and_a_second_plan_is_empty() {
    let emulated = Emulated::start("demo", "e2e-apply");
    let run = emulated.run(&["apply", "--yes"]);
    {
        let _filters = filters().bind_to_scope();
        insta::assert_snapshot!(run.transcript());
    }
    assert_eq!(run.code, 0);
    emulated.assert_no_duplicate_users();

    let bruno = emulated.users_with_email("bruno.costa@contoso.com");
    assert_eq!(bruno.len(), 2, "one node in each plane: {bruno:?}");
    let technician = bruno
        .iter()
        .find(|n| {
            n.node_type
                .user_role()
                .is_some_and(|r| r.as_str() == "technician")
        })
        .expect("bruno is a technician too");
    assert_eq!(technician.mobile, Some(true));
    assert_eq!(
        technician.ssoid.as_deref(),
        Some("bruno.costa@contoso.com"),
        "upn_as_ssoid"
    );
    assert_eq!(
        emulated.rescue.password_of(technician.id).as_deref(),
        Some(crate::emulated::DEFAULT_PASSWORD),
        "new users get the configured default password"
    );
    let ivan = emulated.users_with_email("ivan.petrov@contoso.com");
    assert_eq!(ivan[0].status.map(|s| s.as_str()), Some("Disabled"));
    assert_eq!(ivan[0].mobile, Some(false), "the add-on is released");

    let audit = emulated.read(".adsync/audit.jsonl");
    assert_eq!(audit.lines().count(), 13, "one line per action:\n{audit}");
    for line in audit.lines() {
        let line: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        assert_eq!(line["outcome"], "applied", "{line}");
        if line["email"] == "bruno.costa@contoso.com" {
            assert_eq!(line["kind"], "create_user");
            assert_eq!(line["node_id"], technician.id.0, "the new node: {line}");
        }
    }
    // Created nodes are linked to their directory objects, so a later e-mail change is an
    // update of the same node.
    let links: serde_json::Value =
        serde_json::from_str(&emulated.read(".adsync/links.json")).expect("links.json");
    assert_eq!(
        links["technician"]["3f1c2a7e-5b9d-4c1e-8a2f-000000000002"],
        technician.id.0
    );
    assert_eq!(
        links["administrator"]["3f1c2a7e-5b9d-4c1e-8a2f-000000000002"],
        110
    );
    let victor = emulated.users_with_email("victor.almeida@contoso.com");
    assert_eq!(
        links["administrator"]["3f1c2a7e-5b9d-4c1e-8a2f-000000000016"],
        victor[0].id.0
    );

    let again = emulated.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert!(
        again.stdout.contains("no changes, 22 unchanged"),
        "{}",
        again.transcript()
    );

    let status = emulated.run(&["status"]);
    let _filters = filters().bind_to_scope();
    insta::assert_snapshot!("status_after_apply", status.transcript());
    let json = emulated.run(&["status", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(json["outcome"], "success");
    assert_eq!(json["counts"]["applied"], 13);
    assert_eq!(json["last_success"], json["finished"]);
}

#[test]
fn status_before_any_run_says_so() {
    let emulated = Emulated::start("demo", "e2e-status-none");
    let run = emulated.run(&["status"]);
    assert_eq!(run.code, 1);
    let _filters = filters().bind_to_scope();
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn dry_run_writes_the_workbook_of_the_plan() {
    let emulated = Emulated::start("demo", "e2e-dry-run");
    let run = emulated.run(&["dry-run", "--out", "report.xlsx", "--detailed-exitcode"]);
    {
        let _filters = filters().bind_to_scope();
        insta::assert_snapshot!(run.transcript());
    }
    assert_eq!(run.code, 2);
    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook(emulated.dir.join("report.xlsx")).expect("an xlsx workbook");
    assert_eq!(
        workbook.sheet_names(),
        [
            "Summary", "Changes", "Tree", "Users", "Warnings", "Pairings"
        ]
    );
    let changes = workbook.worksheet_range("Changes").expect("Changes");
    assert_eq!(
        changes.height(),
        1 + 13,
        "a header row and one row per action"
    );
    let warnings = workbook.worksheet_range("Warnings").expect("Warnings");
    assert_eq!(warnings.height(), 1 + 2);
    assert_no_writes(&emulated);
}

#[test]
fn validate_online_signs_in_to_both_sides_and_finds_every_pairing() {
    let emulated = Emulated::start("demo", "e2e-validate");
    let run = emulated.run(&["validate", "--online"]);
    {
        let _filters = filters().bind_to_scope();
        insta::assert_snapshot!(run.transcript());
    }
    assert_eq!(run.code, 0);

    emulated.write_config(Auth::Password);
    let run = emulated.run(&["validate", "--online", "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let _filters = filters().bind_to_scope();
    insta::assert_snapshot!("validate_online_password_json", run.transcript());
    assert_eq!(emulated.rescue.authcodes_issued(), 1);
}

#[test]
fn groups_search_and_members() {
    let emulated = Emulated::start("demo", "e2e-groups");
    let _filters = filters().bind_to_scope();
    let run = emulated.run(&["groups", "search", "SG-Rescue"]);
    assert_eq!(run.code, 0);
    insta::assert_snapshot!("groups_search", run.transcript());

    let run = emulated.run(&["groups", "search", "field"]);
    assert_eq!(run.code, 0);
    insta::assert_snapshot!("groups_search_by_word", run.transcript());

    let run = emulated.run(&["groups", "search", "nothing-like-this"]);
    assert_eq!(run.code, 0);
    insta::assert_snapshot!("groups_search_without_match", run.transcript());

    // Nested groups are on in the demo: SG-Field-Technicians' members count for SG-Rescue-L1.
    let run = emulated.run(&["groups", "members", "SG-Rescue-L1"]);
    assert_eq!(run.code, 0);
    insta::assert_snapshot!("groups_members", run.transcript());

    let run = emulated.run(&[
        "groups",
        "members",
        "9a0e4c11-0000-4000-9000-000000000002",
        "--json",
    ]);
    assert_eq!(run.code, 0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(json["group"]["display_name"], "SG-Rescue-Admins");
    assert_eq!(json["member_count"], 4);
}

#[test]
fn tree_prints_the_organization_as_rescue_holds_it() {
    let emulated = Emulated::start("demo", "e2e-tree");
    let run = emulated.run(&["tree"]);
    assert_eq!(run.code, 0);
    let _filters = filters().bind_to_scope();
    insta::assert_snapshot!(run.transcript());
    let json = emulated.run(&["tree", "--json"]);
    let tree: adsync_core::model::RescueSnapshot =
        serde_json::from_str(&json.stdout).expect("a Rescue snapshot");
    assert_eq!(tree.nodes.len(), emulated.rescue.snapshot().nodes.len());
}

#[test]
fn explain_says_why_for_one_user() {
    let emulated = Emulated::start("demo", "e2e-explain");
    let _filters = filters().bind_to_scope();
    // In both planes: an administrator by SG-Rescue-Admins, a technician by SG-Rescue-L2.
    let run = emulated.run(&["explain", "bruno.costa@contoso.com"]);
    assert_eq!(run.code, 0);
    insta::assert_snapshot!("explain_both_planes", run.transcript());
    // By object id; in SG-Rescue-L2 and SG-Rescue-L1, the first pairing wins.
    let run = emulated.run(&["explain", "3f1c2a7e-5b9d-4c1e-8a2f-000000000004"]);
    assert_eq!(run.code, 0);
    insta::assert_snapshot!("explain_losing_pairing", run.transcript());
    let run = emulated.run(&["explain", "hana.sato@contoso.com"]);
    assert_eq!(run.code, 0);
    insta::assert_snapshot!("explain_move", run.transcript());
    let run = emulated.run(&["explain", "nobody@contoso.com"]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("explain_out_of_scope", run.transcript());
}

/// The starter configuration, given the tenant's ids and endpoints as an operator would fill
/// them in, passes `validate --online` and plans against an organization that has its groups.
#[test]
fn init_output_validates_online_once_filled_in() {
    let directory: adsync_core::model::DirectorySnapshot = serde_yaml::from_str(
        "\
users:
  - { id: u1, upn: ana@contoso.com, mail: ana@contoso.com, display_name: Ana, account_enabled: true }
  - { id: u2, upn: ben@contoso.com, mail: ben@contoso.com, display_name: Ben, account_enabled: true }
groups:
  - { id: g1, display_name: SG-Rescue-Helpdesk, members: [u1] }
  - { id: g2, display_name: SG-Rescue-Admins, members: [u2] }
",
    )
    .expect("directory");
    let rescue: adsync_core::model::RescueSnapshot = serde_yaml::from_str(
        "\
nodes:
  - { id: 1, parent: null, type: Root, name: Contoso }
  - { id: 2, parent: 1, type: MasterAdministrators, name: Master Administrators }
  - { id: 3, parent: 1, type: Administrators, name: Administrators }
  - { id: 4, parent: 1, type: Technicians, name: Technicians }
  - { id: 10, parent: 4, type: TechnicianGroup, name: Helpdesk }
",
    )
    .expect("rescue");
    let emulated = Emulated::seeded("e2e-init", directory, &rescue, Default::default(), true);
    let run = emulated.run(&["init"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    emulated.edit_config(
        "client_id: 00000000-0000-0000-0000-000000000000",
        &format!("client_id: {}", adsync_tests::graph_emulator::CLIENT_ID),
    );
    emulated.edit_config(
        "  nested_groups: true",
        &format!(
            "  authority_url: {0}\n  graph_url: {0}\n  nested_groups: true",
            emulated.graph.uri()
        ),
    );
    emulated.edit_config(
        "  region: global",
        &format!("  base_url: {}", emulated.rescue.uri()),
    );
    let env = [
        (
            "ADSYNC_GRAPH_CLIENT_SECRET",
            adsync_tests::graph_emulator::CLIENT_SECRET,
        ),
        (
            "ADSYNC_RESCUE_API_TOKEN",
            adsync_tests::rescue_emulator::API_TOKEN,
        ),
        ("ADSYNC_DEFAULT_PASSWORD", crate::emulated::DEFAULT_PASSWORD),
    ];
    let run = emulated.run_with(&["validate", "--online"], &env);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.ends_with("adsync.yaml: valid\n"),
        "{}",
        run.stdout
    );
    let run = emulated.run_with(&["plan"], &env);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.starts_with(
            "+ create administrator ben@contoso.com \"Ben\" in Administrators\n\
             + create technician ana@contoso.com \"Ana\" in Helpdesk\n"
        ),
        "{}",
        run.stdout
    );
}
