use super::*;

const Q1_DOC: &str = include_str!("../../../../fixtures/rescue/q1-gethierarchy_v2.doc.txt");
const Q1_WIRE: &str =
    include_str!("../../../../fixtures/rescue/q1-gethierarchy_v2.wire-inferred.txt");
const Q2_DOC: &str = include_str!("../../../../fixtures/rescue/q2-getuser_v3.doc.txt");
const Q3_DOC: &str = include_str!("../../../../fixtures/rescue/q3-requestauthcode.doc.txt");
const Q3_SHORT: &str = include_str!("../../../../fixtures/rescue/q3-requestauthcode-short.doc.txt");
const Q4_DOC: &str = include_str!("../../../../fixtures/rescue/q4-getaccount.doc.txt");

fn ok_data(body: &str) -> &str {
    let (code, data) = split_status(body).expect("a status");
    assert_eq!(code, Code::Ok);
    data
}

fn q1_node() -> RescueNode {
    let mut node = RescueNode::group(
        337_364,
        Some(337_363),
        NodeType::TechnicianGroup,
        "Technician Group1",
    );
    node.description = None;
    node
}

// rescue-api.md §10 Q1 (API_Rescue_getHierarchy_v2.html), the documented collapsed form.
#[test]
fn q1_documented_hierarchy_record() {
    let nodes = parse_hierarchy_records(ok_data(Q1_DOC)).expect("parses");
    assert_eq!(nodes, vec![q1_node()]);
}

// rescue-api.md §10 Q1, the inferred wire form of the same record.
#[test]
fn q1_wire_hierarchy_record() {
    let nodes = parse_hierarchy_records(ok_data(Q1_WIRE)).expect("parses");
    assert_eq!(nodes, vec![q1_node()]);
}

#[test]
fn q1_alone_is_not_a_complete_tree() {
    // Its parent 337363 is not in the answer: as a whole-tree read it is truncated.
    let err = parse_hierarchy(ok_data(Q1_DOC)).expect_err("truncated");
    assert!(err.0.contains("truncated"), "{err}");
}

// rescue-api.md §10 Q2 (API_Rescue_getUser_v3.html).
#[test]
fn q2_documented_user() {
    let user = parse_user(ok_data(Q2_DOC)).expect("parses");
    assert_eq!(
        user,
        UserDetails {
            node: NodeId(337_366),
            name: "John Doe".into(),
            nick: String::new(),
            email: "jdoe@company.com".into(),
            ssoid: String::new(),
            description: String::new(),
            node_type: NodeType::Technician,
            mobile: false,
            rpat: true,
            account_holder: true,
            status: Status::Enabled,
        }
    );
}

// rescue-api.md §10 Q3 (API_Rescue_requestAuthCode.html), long and short forms.
#[test]
fn q3_documented_authcode() {
    assert_eq!(
        parse_authcode(ok_data(Q3_DOC)).expect("parses"),
        "4ahx99bppkzxocbs590roo1l99o7au9rmwnea8q3areaiceaw1afq55jx89nl5zt63hxlo298qf80u0"
    );
    assert_eq!(
        parse_authcode(ok_data(Q3_SHORT)).expect("parses"),
        "4ahx...80u0"
    );
}

// rescue-api.md §10 Q4 (API_Rescue_getAccount.html).
#[test]
fn q4_documented_account() {
    let account = parse_account(ok_data(Q4_DOC)).expect("parses");
    assert_eq!(
        account,
        Account {
            account_id: 560_961,
            organization: "Company".into(),
            admin_id: 337_365,
            tech_id: 337_366,
            email: "jdoe@company.com".into(),
        }
    );
}

const TREE_LF: &str = "OK\n\nNodeID:1\nParentID:0\nName:Contoso\nEmail:\nDescription:\nStatus:Offline\nType:Root\n\n\
NodeID:4\nParentID:1\nName:Technicians\nEmail:\nDescription:\nStatus:Offline\nType:Technicians\n\n\
NodeID:10\nParentID:4\nName:Helpdesk: Tier 1\nEmail:\nDescription:Front line\nStatus:Offline\nType:TechnicianGroup\n\n\
NodeID:100\nParentID:10\nName:Jane Doe\nEmail:jane@contoso.com\nDescription:Note: a colon\nStatus:Busy\nType:Technician\n\n\
NodeID:101\nParentID:10\nName:Joe\nEmail:joe@contoso.com\nDescription:\nStatus:Disabled\nType:Technician\n\n";

fn expected_tree() -> Vec<RescueNode> {
    let mut group = RescueNode::group(10, Some(4), NodeType::TechnicianGroup, "Helpdesk: Tier 1");
    group.description = Some("Front line".into());
    let user = |id: u64, name: &str, email: &str, description: &str, status: Status| {
        let mut node = RescueNode::group(id, Some(10), NodeType::Technician, name);
        node.email = Some(email.into());
        node.description = Some(description.into());
        node.status = Some(status);
        node
    };
    vec![
        RescueNode::group(1, None, NodeType::Root, "Contoso"),
        RescueNode::group(4, Some(1), NodeType::Technicians, "Technicians"),
        group,
        user(
            100,
            "Jane Doe",
            "jane@contoso.com",
            "Note: a colon",
            Status::Enabled,
        ),
        user(101, "Joe", "joe@contoso.com", "", Status::Disabled),
    ]
}

#[test]
fn hierarchy_with_lf_and_values_containing_colons() {
    assert_eq!(
        parse_hierarchy(ok_data(TREE_LF)).expect("parses"),
        expected_tree()
    );
}

#[test]
fn hierarchy_with_crlf() {
    let crlf = TREE_LF.replace('\n', "\r\n");
    assert_eq!(
        parse_hierarchy(ok_data(&crlf)).expect("parses"),
        expected_tree()
    );
}

#[test]
fn hierarchy_ignores_unknown_keys_and_reads_keys_and_types_in_any_case() {
    let odd = TREE_LF
        .replace(
            "Type:TechnicianGroup",
            "TYPE:techniciangroup\nGroupColor:blue",
        )
        .replace(
            "Type:Technician\n",
            "type:TECHNICIAN\nLastLogin:2024-01-01 10:00:00\n",
        )
        .replace("Type:Root", "type:root")
        .replace("NodeID:", "nodeId:")
        .replace("Status:", "status:");
    assert_eq!(
        parse_hierarchy(ok_data(&odd)).expect("parses"),
        expected_tree()
    );
}

#[test]
fn hierarchy_without_blank_lines_between_records_or_at_the_end() {
    let tight = TREE_LF.replace("\n\n", "\n").trim_end().to_owned();
    let tight = tight.replacen("OK\n", "OK\n\n", 1);
    assert_eq!(
        parse_hierarchy(ok_data(&tight)).expect("parses"),
        expected_tree()
    );
}

#[test]
fn hierarchy_in_the_documented_one_line_form() {
    let one_line = "OK NodeID:1 ParentID:0 Name:Contoso Email: Description: Status:Offline Type:Root \
NodeID:4 ParentID:1 Name:Technicians Email: Description: Status:Offline Type:Technicians \
NodeID:10 ParentID:4 Name:Helpdesk: Tier 1 Email: Description:Front line Status:Offline Type:TechnicianGroup \
NodeID:100 ParentID:10 Name:Jane Doe Email:jane@contoso.com Description:Note: a colon Status:Busy Type:Technician \
NodeID:101 ParentID:10 Name:Joe Email:joe@contoso.com Description: Status:Disabled Type:Technician ";
    assert_eq!(
        parse_hierarchy(ok_data(one_line)).expect("parses"),
        expected_tree()
    );
}

#[test]
fn a_truncated_hierarchy_is_an_error() {
    // Cut in the middle of the last record: it lacks its Status and Type.
    let cut = TREE_LF
        .find("Status:Disabled")
        .map(|at| &TREE_LF[..at])
        .expect("marker");
    let err = parse_hierarchy(ok_data(cut)).expect_err("truncated");
    assert!(err.0.contains("truncated"), "{err}");

    // Whole records missing: a user whose group is not in the answer.
    let without_group = TREE_LF.replace(
        "NodeID:10\nParentID:4\nName:Helpdesk: Tier 1\nEmail:\nDescription:Front line\nStatus:Offline\nType:TechnicianGroup\n\n",
        "",
    );
    let err = parse_hierarchy(ok_data(&without_group)).expect_err("truncated");
    assert!(err.0.contains("truncated"), "{err}");

    // Nothing at all after OK.
    assert!(parse_hierarchy(ok_data("OK\n\n")).is_err());
}

#[test]
fn malformed_hierarchies_are_errors_not_panics() {
    for data in [
        "NodeID:x\nParentID:1\nName:a\nType:Root\n",
        "NodeID:1\nParentID:0\nName:a\nType:Root\n\nNodeID:1\nParentID:0\nName:b\nType:Root\n",
        "NodeID:2\nParentID:zz\nName:a\nType:Technicians\n",
        "NodeID:99999999999999999999999\nParentID:0\nName:a\nType:Root\n",
        ":::\n\n::\nNodeID:\n",
        "NodeID:1 ParentID:0 Name:ü Type:Root NodeID:",
    ] {
        assert!(parse_hierarchy(data).is_err(), "{data:?}");
    }
}

#[test]
fn user_in_the_wire_layout_with_crlf() {
    let body = "OK\r\n\r\nNODEID: 5\r\nNAME: Jane: the Second\r\nNICK: JJ\r\nEMAIL: jane@contoso.com\r\n\
SSOID: jane@sso\r\nDESCRIPTION: \r\nTYPE: MasterAdministrator\r\nHASMOBILEADDON: true\r\n\
HASRPATADDON: FALSE\r\nISACCOUNTHOLDER: False\r\nSTATUS: Disabled\r\nLASTSEEN: never\r\n";
    let user = parse_user(ok_data(body)).expect("parses");
    assert_eq!(user.node, NodeId(5));
    assert_eq!(user.name, "Jane: the Second");
    assert_eq!(user.nick, "JJ");
    assert_eq!(user.ssoid, "jane@sso");
    assert_eq!(user.node_type, NodeType::MasterAdministrator);
    assert!(user.mobile && !user.rpat && !user.account_holder);
    assert_eq!(user.status, Status::Disabled);
}

#[test]
fn user_missing_a_field_or_with_a_bad_flag_is_an_error() {
    let complete = "OK\n\nNODEID: 5\nNAME: a\nNICK: \nEMAIL: a@b.c\nSSOID: \nDESCRIPTION: \n\
TYPE: Technician\nHASMOBILEADDON: False\nHASRPATADDON: False\nISACCOUNTHOLDER: False\nSTATUS: Online\n";
    assert!(parse_user(ok_data(complete)).is_ok());
    let without_rpat = complete.replace("HASRPATADDON: False\n", "");
    assert!(parse_user(ok_data(&without_rpat)).is_err());
    let bad_flag = complete.replace("HASMOBILEADDON: False", "HASMOBILEADDON: maybe");
    assert!(parse_user(ok_data(&bad_flag)).is_err());
    assert!(parse_user("").is_err());
}

#[test]
fn status_codes_in_any_case_and_unknown_codes_verbatim() {
    assert_eq!(split_status("ok").expect("code").0, Code::Ok);
    assert_eq!(
        split_status("\u{feff}  invalidparam_email_already_in_use\r\n")
            .expect("code")
            .0,
        Code::InvalidParamEmailAlreadyInUse
    );
    assert_eq!(
        split_status("SOMETHING_NEW extra").expect("code").0,
        Code::Other("SOMETHING_NEW".into())
    );
    assert_eq!(
        split_status("INVALIDPARAM_PASSWORD_HAS_TO_BE_AT_LEAST_8_CHARACTERS_LONG")
            .expect("code")
            .0,
        Code::InvalidParamPassword(
            "INVALIDPARAM_PASSWORD_HAS_TO_BE_AT_LEAST_8_CHARACTERS_LONG".into()
        )
    );
    assert!(split_status("  \r\n").is_err());
    let long = "X".repeat(500);
    assert_eq!(Code::parse(&long).as_str().len(), MAX_CODE_LEN);
}

#[test]
fn every_known_code_round_trips() {
    for spelling in [
        code::OK,
        code::ERROR,
        code::NOT_LOGGED_IN,
        code::INVALID_SECRET_AUTHCODE,
        code::USER_DELETED_OR_DISABLED,
        code::INVALID,
        code::LIMIT_REACHED,
        code::POLL_RATE_EXCEEDED,
        code::INVALIDPARAM_NODE,
        code::INVALIDPARAM_PARENT,
        code::INVALIDPARAM_TARGETNODE,
        code::INVALID_MOVE,
        code::INVALID_DELETE,
        code::INVALIDPARAM_NAME,
        code::INVALIDPARAM_STATUS,
        code::INVALIDPARAM_MOBILEADDON,
        code::INVALIDPARAM_RPATADDON,
        code::INVALIDPARAM_EMAIL,
        code::INVALIDPARAM_EMAIL_ALREADY_IN_USE,
        code::INVALIDPARAM_MISSING_CURRENT_PASSWORD,
        code::INVALIDPARAM_COMPANY,
        code::INVALID_EMAIL_AND_NODE_BOTH_SPECIFIED,
    ] {
        let parsed = Code::parse(spelling);
        assert!(!matches!(parsed, Code::Other(_)), "{spelling}");
        assert_eq!(parsed.as_str(), spelling);
    }
}

#[test]
fn created_ids_after_a_space_or_a_blank_line() {
    for data in [" 4242", "\n\n4242\n", " NodeID:4242", "\r\n\r\n4242"] {
        assert_eq!(parse_created(data).expect("id"), NodeId(4242), "{data:?}");
    }
    assert!(parse_created("").is_err());
    assert!(parse_created(" 999999999999999999999999").is_err());
}

#[test]
fn authcode_errors_never_quote_the_answer() {
    let err = parse_authcode(" SOMETHINGSECRET").expect_err("no marker");
    assert!(!err.0.contains("SOMETHINGSECRET"));
    assert!(parse_authcode(" AUTHCODE:").is_err());
    assert!(parse_authcode(" AUTHCODE").is_err());
}

#[test]
fn created_ids_are_the_whole_answer_or_an_error() {
    for data in [
        "\n\nabc", " 12 34", " abc123", " 4242 OK", " NodeID:", " 0", " Name:5",
    ] {
        assert!(parse_created(data).is_err(), "{data:?}");
    }
}

/// What a name with a line break written raw into Rescue looks like on the next read: the
/// rest of the name forges fields or whole nodes. Each is a failed read, never a tree.
#[test]
fn records_that_break_the_format_are_errors() {
    let base = TREE_LF;
    assert!(parse_hierarchy(ok_data(base)).is_ok(), "the base parses");
    for (injected, what) in [
        // A field repeated inside a record.
        ("Name:Jane Doe\nEmail:evil@example.com", "twice"),
        // A value cut by a line break: the second half is not a field.
        ("Name:Jane\nDoe", "not a `Key:Value` field"),
        // A whole forged node right after the name.
        (
            "Name:Jane\nNodeID:900\nParentID:2\nName:Eve\nEmail:eve@example.com\nDescription:\nStatus:Online\nType:MasterAdministrator",
            "twice",
        ),
        // A record that starts with another key than NodeID.
        ("Name:Jane Doe\n\nEmail:x@example.com", "does not start"),
    ] {
        let hostile = base.replace("Name:Jane Doe", injected);
        let err = parse_hierarchy(ok_data(&hostile)).expect_err(injected);
        assert!(err.0.contains(what), "{injected:?}: {err}");
    }
    // The same in the documentation's collapsed layout.
    let collapsed =
        "NodeID:1 ParentID:0 Name:Contoso Email: Description: Status:Offline Type:Root Name:Evil";
    assert!(parse_hierarchy(collapsed).is_err());
}

#[test]
fn unknown_codes_that_do_not_look_like_codes_are_not_kept() {
    for raw in [
        "4ahx99bppkzxocbs590roo1l99o7au9rmwnea8q3",
        "email=owner%40contoso.com&pwd=hunter2",
        "Welcome-2-Rescue!",
        "<html>",
        "lowercase_code",
    ] {
        let code = Code::parse(raw);
        assert_eq!(code, Code::Other(UNSHOWN_CODE.into()), "{raw}");
        assert_eq!(Code::parse(code.as_str()), code, "reads back as itself");
    }
    assert_eq!(
        Code::parse("invalidparam_password_s3cr3t!"),
        Code::InvalidParamPassword("INVALIDPARAM_PASSWORD".into())
    );
    let known = ["ZEBRA_7734_PASS"];
    assert_eq!(
        Code::parse("ZEBRA_7734_PASS").screened(known),
        Code::Other(UNSHOWN_CODE.into())
    );
    assert_eq!(
        Code::parse("SOMETHING_NEW").screened(known),
        Code::Other("SOMETHING_NEW".into())
    );
    assert_eq!(Code::Error.screened(["ERROR"]), Code::Error);
}

#[test]
fn a_broken_record_is_named_by_its_node_id() {
    let split = TREE_LF.replace("Name:Jane Doe", "Name:Jane\nDoe");
    let err = parse_hierarchy(ok_data(&split)).expect_err("broken");
    assert!(err.0.contains("record 4 (`NodeID` 100)"), "{err}");
    assert!(!err.0.contains("Doe"), "the value is not quoted: {err}");
}
