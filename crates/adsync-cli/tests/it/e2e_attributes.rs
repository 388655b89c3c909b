//! Issue 24's acceptance, end to end: the real binary plans through the Graph emulator a
//! configuration that takes the SSO ID from `onPremisesExtensionAttributes.extensionAttribute7`
//! and selects technicians by `department`; Graph is asked for exactly what the configuration
//! reads (`$select`) and for the selected users only (`$filter`), as an advanced query.

use adsync_tests::graph_emulator::RequestKind;
use serde_json::Value;

use crate::emulated::Emulated;

const FIXTURE: &str = "scenarios/mapped-fields-from-templates";

/// The query options of a served request, decoded.
fn options(request: &str) -> Vec<(String, String)> {
    let path = request.split_once(' ').map_or(request, |(_, path)| path);
    let url = reqwest::Url::parse(&format!("http://graph.invalid{path}")).expect("a request path");
    url.query_pairs()
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

fn option<'a>(options: &'a [(String, String)], key: &str) -> Option<&'a str> {
    options
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[test]
fn a_mapped_attribute_pairing_plans_through_the_graph_emulator() {
    let emulated = Emulated::start(FIXTURE, "e2e-attributes");
    let run = emulated.run(&["plan", "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let plan: Value = serde_json::from_str(&run.stdout).expect("one JSON document");

    // The users the condition selects, with the mapped values.
    let actions = plan["actions"].as_array().expect("actions");
    let action = |kind: &str, email: &str| {
        actions
            .iter()
            .find(|a| a["kind"] == kind && a["email"] == email)
            .unwrap_or_else(|| panic!("{kind} for {email} in {actions:#?}"))
    };
    let jane = action("update_user", "jane.doe@contoso.com");
    assert_eq!(jane["changes"]["ssoid"]["new"], "JD-0042", "{jane:#}");
    assert_eq!(
        jane["changes"]["name"]["new"], "Jane Doe (Service Desk)",
        "{jane:#}"
    );
    let omar = action("create_user", "omar.haddad@contoso.com");
    assert_eq!(omar["user"]["ssoid"], "E-1002", "{omar:#}");
    assert_eq!(
        omar["user"]["description"], "Team lead, Service Desk",
        "{omar:#}"
    );
    assert!(
        plan["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .any(|w| w["kind"] == "truncated" && w["email"] == "lena.berg@contoso.com"),
        "{:#}",
        plan["warnings"]
    );
    assert_eq!(
        plan["pairings"][0]["where"], "department eq 'Service Desk'",
        "{:#}",
        plan["pairings"]
    );

    // One user listing, filtered and selected as Graph documents it, as an advanced query.
    let listings: Vec<_> = emulated
        .graph
        .served()
        .into_iter()
        .filter(|served| served.kind == RequestKind::UserList)
        .collect();
    assert_eq!(listings.len(), 1, "{listings:#?}");
    let listing = &listings[0];
    assert_eq!(listing.status, 200);
    assert_eq!(listing.consistency.as_deref(), Some("eventual"));
    let options = options(&listing.request);
    assert_eq!(
        option(&options, "$filter"),
        Some("department eq 'Service Desk'")
    );
    assert_eq!(option(&options, "$count"), Some("true"));
    assert_eq!(
        option(&options, "$select"),
        Some(
            "id,userPrincipalName,mail,displayName,givenName,surname,jobTitle,department,\
             mobilePhone,employeeId,accountEnabled,onPremisesExtensionAttributes"
        )
    );
    // No group is read: the pairing names none.
    assert!(
        emulated
            .graph
            .served()
            .iter()
            .all(|served| !served.kind.is_member_page() && !served.kind.is_resolution()),
        "{:#?}",
        emulated.graph.served()
    );
}

#[test]
fn explain_shows_the_condition_and_where_each_mapped_value_came_from() {
    let emulated = Emulated::start(FIXTURE, "e2e-attributes-explain");
    let run = emulated.run(&["explain", "jane.doe@contoso.com"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    for line in [
        "where:      selected by `service-desk` (department eq 'Service Desk'): department eq \"Service Desk\": yes",
        "mapped:     ssoid = \"JD-0042\" from `{onPremisesExtensionAttributes.extensionAttribute7|employeeId:upper}` (pairings[0].attributes.ssoid; onPremisesExtensionAttributes.extensionAttribute7 = \"JD-0042\", employeeId = \"e-1001\")",
        "mapped:     name = \"Jane Doe (Service Desk)\" from `{displayName} ({department})` (sync.attributes.name; displayName = \"Jane Doe\", department = \"Service Desk\")",
    ] {
        assert!(run.stdout.contains(line), "{line}\n{}", run.transcript());
    }
}

/// A person in both planes is explained per plane, each with its winning pairing's templates.
#[test]
fn explain_shows_each_plane_s_own_mapping() {
    let dir = crate::copy_fixture(FIXTURE, "explain-mapped-planes");
    let config = std::fs::read_to_string(dir.join("config.yaml")).expect("config");
    let config = format!(
        "{config}  - name: admins\n    where: \"givenName eq 'Jane'\"\n    rescue_group: \"\"\n    \
         role: administrator\n    attributes: {{ name: '{{givenName:upper}}', email: null }}\n"
    );
    std::fs::write(dir.join("config.yaml"), config).expect("config written");
    let run = crate::adsync(
        &dir,
        &["explain", "jane.doe@contoso.com", "--config", "config.yaml"],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    let technician = run
        .stdout
        .find("(technician plane)")
        .expect("the technician entry");
    let administrator = run
        .stdout
        .find("(administrator plane)")
        .expect("the administrator entry");
    let (first, second) = if technician < administrator {
        (technician, administrator)
    } else {
        (administrator, technician)
    };
    let block = |at: usize| {
        let end = if at == first {
            second
        } else {
            run.stdout.len()
        };
        &run.stdout[at..end]
    };
    assert!(
        block(technician).contains("mapped:     name = \"Jane Doe (Service Desk)\""),
        "{}",
        run.stdout
    );
    assert!(
        block(administrator).contains("mapped:     name = \"JANE\" from `{givenName:upper}`"),
        "{}",
        run.stdout
    );
}
