//! `adsync dry-run`: the workbook, read back with an xlsx reader.

use std::io::Read;

use calamine::{Reader, Xlsx, open_workbook};

use crate::{adsync, copy_fixture};

fn rows(workbook: &mut Xlsx<std::io::BufReader<std::fs::File>>, sheet: &str) -> Vec<Vec<String>> {
    let range = workbook.worksheet_range(sheet).expect("the sheet exists");
    range
        .rows()
        .map(|row| row.iter().map(ToString::to_string).collect())
        .collect()
}

#[test]
fn workbook_has_every_sheet_header_and_one_row_per_action() {
    let dir = copy_fixture("demo", "dry-run");
    let run = adsync(
        &dir,
        &[
            "dry-run",
            "--config",
            "adsync.yaml",
            "--out",
            "report.xlsx",
            "--detailed-exitcode",
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(
        run.stderr.contains("wrote report.xlsx"),
        "{}",
        run.transcript()
    );

    let plan_run = adsync(
        &dir,
        &["plan", "--config", "adsync.yaml", "--json", "-q"],
        &[],
    );
    let plan: serde_json::Value = serde_json::from_str(&plan_run.stdout).expect("plan json");
    let actions = plan["actions"].as_array().expect("actions");

    let mut workbook: Xlsx<_> =
        open_workbook(dir.join("report.xlsx")).expect("a readable workbook");
    assert_eq!(
        workbook.sheet_names(),
        vec!["Summary", "Changes", "Users", "Warnings", "Pairings"]
    );

    let changes = rows(&mut workbook, "Changes");
    assert_eq!(
        changes[0],
        [
            "kind",
            "role",
            "name",
            "e-mail",
            "object id",
            "node id",
            "from",
            "to",
            "changes",
            "reason"
        ]
    );
    assert_eq!(changes.len() - 1, actions.len(), "one row per action");
    for (row, action) in changes[1..].iter().zip(actions) {
        assert_eq!(row[0], action["kind"].as_str().expect("kind"));
        assert_eq!(row[3], action["email"].as_str().unwrap_or(""));
        assert_eq!(row[9], action["reason"].as_str().expect("reason"));
    }
    let moved = changes
        .iter()
        .find(|r| r[0] == "move_user")
        .expect("the demo moves Hana");
    assert_eq!(
        (moved[6].as_str(), moved[7].as_str()),
        ("Contractors", "Helpdesk/L2")
    );
    let renamed = changes
        .iter()
        .find(|r| r[0] == "update_user" && r[3].starts_with("fatima"))
        .expect("rename");
    assert_eq!(renamed[8], "name: Fatima Z. -> Fatima Zahra");
    assert_eq!(renamed[5], "202");

    let warnings = rows(&mut workbook, "Warnings");
    assert_eq!(warnings[0], ["kind", "e-mail", "message"]);
    assert_eq!(
        warnings.len() - 1,
        plan["warnings"].as_array().expect("warnings").len()
    );
    assert!(
        warnings
            .iter()
            .any(|r| r[0] == "missing_key" && r[2].contains("Wen Li"))
    );

    let summary = rows(&mut workbook, "Summary");
    let value = |item: &str| {
        summary
            .iter()
            .find(|r| r[0] == item)
            .map(|r| r[1].clone())
            .expect(item)
    };
    assert_eq!(value("create_user"), "4");
    assert_eq!(value("disable_user"), "4");
    assert!(value("safety verdict").starts_with("ok"));

    let users = rows(&mut workbook, "Users");
    let dana = users
        .iter()
        .find(|r| r[0] == "dana.kowalski@contoso.com")
        .expect("Dana");
    assert_eq!(
        (dana[5].as_str(), dana[6].as_str()),
        ("helpdesk-l2", "helpdesk-l1")
    );
    let pairings = rows(&mut workbook, "Pairings");
    assert_eq!(pairings.len(), 5, "a header and four pairings");

    // Frozen header row and an autofilter on every sheet, straight from the sheet XML.
    let file = std::fs::File::open(dir.join("report.xlsx")).expect("open");
    let mut archive = zip::ZipArchive::new(file).expect("xlsx is a zip");
    for index in 1..=5 {
        let mut xml = String::new();
        archive
            .by_name(&format!("xl/worksheets/sheet{index}.xml"))
            .expect("sheet xml")
            .read_to_string(&mut xml)
            .expect("utf-8");
        assert!(
            xml.contains(r#"ySplit="1""#) && xml.contains(r#"state="frozen""#),
            "sheet {index}: {xml}"
        );
        assert!(
            xml.contains("<autoFilter"),
            "sheet {index} has an autofilter"
        );
    }
}

#[test]
fn a_saved_plan_renders_the_same_object_apply_runs() {
    let dir = copy_fixture("demo", "dry-run-saved");
    let run = adsync(
        &dir,
        &[
            "plan",
            "--config",
            "adsync.yaml",
            "--out",
            "plan.json",
            "-q",
        ],
        &[],
    );
    assert_eq!(run.code, 0);
    // The snapshot changes after the plan was saved; the report still shows the saved plan.
    std::fs::write(dir.join("rescue.yaml"), "nodes: []\n").expect("written");
    let run = adsync(
        &dir,
        &[
            "dry-run",
            "--config",
            "adsync.yaml",
            "--plan",
            "plan.json",
            "--out",
            "saved.xlsx",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    let mut workbook: Xlsx<_> = open_workbook(dir.join("saved.xlsx")).expect("readable");
    assert_eq!(
        rows(&mut workbook, "Changes").len(),
        14,
        "a header and the saved plan's 13 actions"
    );
}
