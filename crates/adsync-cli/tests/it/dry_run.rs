//! `adsync dry-run`: the workbook, read back with an xlsx reader.

use std::io::Read;

use calamine::{Data, Reader, Xlsx, open_workbook};

use crate::{adsync, copy_fixture};

fn rows(workbook: &mut Xlsx<std::io::BufReader<std::fs::File>>, sheet: &str) -> Vec<Vec<String>> {
    let range = workbook.worksheet_range(sheet).expect("the sheet exists");
    range
        .rows()
        .map(|row| row.iter().map(ToString::to_string).collect())
        .collect()
}

fn cells(workbook: &mut Xlsx<std::io::BufReader<std::fs::File>>, sheet: &str) -> Vec<Vec<Data>> {
    let range = workbook.worksheet_range(sheet).expect("the sheet exists");
    range.rows().map(<[Data]>::to_vec).collect()
}

fn sheet_xml(path: &std::path::Path, index: usize) -> String {
    let file = std::fs::File::open(path).expect("open");
    let mut archive = zip::ZipArchive::new(file).expect("xlsx is a zip");
    let mut xml = String::new();
    archive
        .by_name(&format!("xl/worksheets/sheet{index}.xml"))
        .expect("sheet xml")
        .read_to_string(&mut xml)
        .expect("utf-8");
    xml
}

#[test]
fn workbook_has_every_sheet_header_and_one_row_per_action() {
    let dir = copy_fixture("demo", "dry-run");
    // Zoé left every paired group and the directory no longer returns her; a link recorded by
    // an earlier apply still knows her object id.
    std::fs::create_dir_all(dir.join(".adsync")).expect("state dir");
    std::fs::write(
        dir.join(".adsync/links.json"),
        r#"{"technician": {"0b6f6c3e-1d2a-4c55-9a51-3c1f0d3b7e99": 309}}"#,
    )
    .expect("links");
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
        vec![
            "Summary", "Changes", "Tree", "Users", "Warnings", "Pairings"
        ]
    );

    let changes = rows(&mut workbook, "Changes");
    assert_eq!(
        changes[0],
        [
            "change",
            "role",
            "name",
            "e-mail",
            "object id",
            "node id",
            "from",
            "to",
            "details",
            "reason"
        ]
    );
    assert_eq!(changes.len() - 1, actions.len(), "one row per action");
    for (row, action) in changes[1..].iter().zip(actions) {
        assert_eq!(row[3], action["email"].as_str().unwrap_or(""));
        // Reasons read as prose: the backticks of the plan's `pairing` are gone.
        let reason = action["reason"].as_str().expect("reason");
        assert_eq!(row[9], reason.replace('`', ""));
        assert!(!row[9].contains('`'), "{}", row[9]);
    }
    // Kinds and roles are words, not wire names.
    let kinds: std::collections::BTreeSet<&str> =
        changes[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "create user",
            "disable user",
            "enable user",
            "mobile add-on",
            "move user",
            "update user"
        ]
        .into()
    );
    assert!(
        changes[1..]
            .iter()
            .all(|r| !r[0].contains('_') && !r[1].contains('_')),
        "{changes:?}"
    );
    let moved = changes
        .iter()
        .find(|r| r[0] == "move user")
        .expect("the demo moves Hana");
    assert_eq!(
        (moved[6].as_str(), moved[7].as_str()),
        ("Contractors", "Helpdesk/L2")
    );
    let renamed = changes
        .iter()
        .find(|r| r[0] == "update user" && r[3].starts_with("fatima"))
        .expect("rename");
    assert_eq!(renamed[8], "name: Fatima Z. -> Fatima Zahra");
    let bruno = changes
        .iter()
        .find(|r| r[0] == "create user" && r[3].starts_with("bruno"))
        .expect("Bruno is created");
    assert_eq!(bruno[8], "with the mobile add-on");
    // A leaver the directory no longer returns: the name from Rescue, the object id from the
    // link an earlier apply recorded.
    let zoe = changes
        .iter()
        .find(|r| r[0] == "disable user" && r[3].starts_with("zoe"))
        .expect("Zoé is disabled");
    assert_eq!(zoe[2], "Zoé Fontaine");
    assert_eq!(zoe[4], "0b6f6c3e-1d2a-4c55-9a51-3c1f0d3b7e99");
    let xavier = changes
        .iter()
        .find(|r| r[0] == "disable user" && r[3].starts_with("xavier"))
        .expect("Xavier is disabled");
    assert_eq!(xavier[2], "Xavier Dubois");

    // Numbers are numbers: node ids and counts sort and sum in a spreadsheet.
    let typed = cells(&mut workbook, "Changes");
    let renamed = typed
        .iter()
        .find(|r| r[3] == Data::String("fatima.zahra@contoso.com".into()))
        .expect("rename");
    assert_eq!(renamed[5], Data::Float(202.0));
    let summary = cells(&mut workbook, "Summary");
    let value = |item: &str| {
        summary
            .iter()
            .find(|r| r[0] == Data::String(item.into()))
            .map(|r| r[1].clone())
            .expect(item)
    };
    assert_eq!(value("create user: changes"), Data::Float(4.0));
    assert_eq!(value("disable user: changes"), Data::Float(4.0));
    assert_eq!(value("unchanged users"), Data::Float(13.0));
    assert_eq!(value("warnings"), Data::Float(2.0));
    assert!(matches!(value("safety verdict"), Data::String(v) if v.starts_with("ok")));
    assert_eq!(
        value("Rescue organization"),
        Data::String("Contoso Support".into())
    );
    let pairings = cells(&mut workbook, "Pairings");
    assert_eq!(pairings.len(), 5, "a header and four pairings");
    let l2 = pairings
        .iter()
        .find(|r| r[0] == Data::String("helpdesk-l2".into()))
        .expect("helpdesk-l2");
    assert_eq!(l2[3], Data::Float(7.0), "members, as a number");
    assert_eq!(
        l2[5],
        Data::Float(12.0),
        "the destination node, as a number"
    );
    assert_eq!(l2[8], Data::String("user principal name".into()));
    let l1 = pairings
        .iter()
        .find(|r| r[0] == Data::String("helpdesk-l1".into()))
        .expect("helpdesk-l1");
    assert_eq!(
        l1[8],
        Data::String("not set by adsync".into()),
        "never blank"
    );

    let warnings = rows(&mut workbook, "Warnings");
    assert_eq!(warnings[0], ["warning", "e-mail", "message"]);
    assert_eq!(
        warnings.len() - 1,
        plan["warnings"].as_array().expect("warnings").len()
    );
    assert!(
        warnings
            .iter()
            .any(|r| r[0] == "no e-mail" && r[2].contains("Wen Li"))
    );
    assert!(
        warnings
            .iter()
            .any(|r| r[0] == "protected" && r[2].contains("wants it disabled")),
        "{warnings:?}"
    );

    let users = rows(&mut workbook, "Users");
    let dana = users
        .iter()
        .find(|r| r[0] == "dana.kowalski@contoso.com")
        .expect("Dana");
    assert_eq!(
        (dana[5].as_str(), dana[6].as_str()),
        ("helpdesk-l2", "helpdesk-l1")
    );

    // Frozen header rows everywhere; autofilters on the lists, not on the Summary page; every
    // sheet prints landscape, one page wide, with its header row on every page.
    for index in 1..=6 {
        let xml = sheet_xml(&dir.join("report.xlsx"), index);
        assert!(
            xml.contains(r#"ySplit="1""#) && xml.contains(r#"state="frozen""#),
            "sheet {index}: {xml}"
        );
        assert_eq!(xml.contains("<autoFilter"), index != 1, "sheet {index}");
        assert!(xml.contains(r#"orientation="landscape""#), "sheet {index}");
        assert!(xml.contains(r#"fitToHeight="0""#), "sheet {index}: {xml}");
        assert!(
            xml.contains(r#"<pageSetUpPr fitToPage="1"/>"#),
            "sheet {index}"
        );
    }
    let file = std::fs::File::open(dir.join("report.xlsx")).expect("open");
    let mut archive = zip::ZipArchive::new(file).expect("zip");
    let mut book = String::new();
    archive
        .by_name("xl/workbook.xml")
        .expect("workbook xml")
        .read_to_string(&mut book)
        .expect("utf-8");
    assert!(
        book.contains("_xlnm.Print_Titles"),
        "header rows repeat on each printed page: {book}"
    );
}

/// The Tree sheet: the hierarchy as it is, with what the plan brings in and changes marked.
#[test]
fn the_tree_sheet_previews_the_hierarchy_after_the_plan() {
    let dir = copy_fixture("demo", "dry-run-tree");
    let run = adsync(
        &dir,
        &["dry-run", "--config", "adsync.yaml", "--out", "tree.xlsx"],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    let mut workbook: Xlsx<_> = open_workbook(dir.join("tree.xlsx")).expect("readable");
    let tree = rows(&mut workbook, "Tree");
    assert_eq!(
        tree[0],
        [
            "tree",
            "type",
            "node id",
            "e-mail",
            "now",
            "after the plan",
            "change"
        ]
    );
    let row = |name: &str| {
        tree.iter()
            .filter(|r| r[0].trim() == name)
            .cloned()
            .collect::<Vec<_>>()
    };
    let position = |name: &str| tree.iter().position(|r| r[0].trim() == name).expect(name);
    // Bruno is created in Helpdesk/L2, below the group's existing users.
    let bruno = row("Bruno Costa");
    let created = bruno
        .iter()
        .find(|r| r[6] == "create user")
        .expect("Bruno's new technician node");
    assert_eq!(
        created[0], "                Bruno Costa",
        "four levels down: organization, Technicians, Helpdesk, L2"
    );
    assert_eq!(
        (created[4].as_str(), created[5].as_str()),
        ("(new)", "Enabled, mobile add-on")
    );
    assert!(position("L2") < tree.iter().position(|r| r == created).expect("row"));
    // Hana is listed where she is now, and where she will be.
    let hana = row("Hana Sato");
    assert_eq!(hana.len(), 2, "{hana:?}");
    assert!(
        hana.iter()
            .any(|r| r[5].ends_with("; moved to Helpdesk/L2")),
        "{hana:?}"
    );
    assert!(
        hana.iter()
            .any(|r| r[4] == "in Contractors" && r[5] == "moved here")
    );
    // Ivan is disabled and loses the add-on; an unchanged user has no change.
    let ivan = &row("Ivan Petrov")[0];
    assert_eq!(
        (ivan[4].as_str(), ivan[5].as_str(), ivan[6].as_str()),
        ("Enabled, mobile add-on", "Disabled", "disable user")
    );
    let dana = &row("Dana Kowalski")[0];
    assert_eq!((dana[5].as_str(), dana[6].as_str()), ("", ""));
    // Changed rows carry their change's fill colour; unchanged rows none.
    let xml = sheet_xml(&dir.join("tree.xlsx"), 3);
    assert!(xml.contains(r#" s=""#), "styled cells: {xml}");
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
    // The Tree sheet shows Rescue as it is now: empty.
    assert_eq!(rows(&mut workbook, "Tree").len(), 1, "a header only");
}

/// Issue 24: a changed value a template made names the template and the directory values it
/// read, in the plan's words and in the workbook's Changes sheet.
#[test]
fn a_mapped_change_shows_its_template_and_values() {
    let dir = copy_fixture("scenarios/mapped-fields-from-templates", "dry-run-mapped");
    let plan = adsync(&dir, &["plan", "--config", "config.yaml"], &[]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    let from = "ssoid \"old-sso\" -> \"JD-0042\" (from `{onPremisesExtensionAttributes.extensionAttribute7|employeeId:upper}`: employeeId \"e-1001\", onPremisesExtensionAttributes.extensionAttribute7 \"JD-0042\")";
    assert!(plan.stdout.contains(from), "{}", plan.transcript());
    let run = adsync(
        &dir,
        &["dry-run", "--config", "config.yaml", "--out", "report.xlsx"],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    let mut workbook: Xlsx<_> = open_workbook(dir.join("report.xlsx")).expect("an xlsx");
    let changes = rows(&mut workbook, "Changes");
    let jane = changes
        .iter()
        .find(|row| row.iter().any(|cell| cell == "jane.doe@contoso.com"))
        .expect("jane's update");
    assert!(
        jane.iter().any(|cell| cell.contains(
            "name: Jane Doe -> Jane Doe (Service Desk) (from `{displayName} ({department})`: department \"Service Desk\", displayName \"Jane Doe\")"
        )),
        "{jane:?}"
    );
}
