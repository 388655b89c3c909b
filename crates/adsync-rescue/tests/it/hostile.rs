//! Hostile input: arbitrary text and structured mutations of real Rescue answers, fed to every
//! parser of `adsync_rescue::wire` and, through a wiremock server, to a whole read. Nothing
//! panics; every answer is read or refused with a typed error that never quotes it; what is
//! read keeps the parsers' promises.
//!
//! Cases per property: 5,000 for the parsers and 150 through HTTP by default; `PROPTEST_CASES`
//! sets the parsers' count, and a twentieth of it goes through HTTP (the long run in
//! docs/reliability.md uses 100,000).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use adsync_core::adapter::DetailRequest;
use adsync_core::model::NodeType;
use adsync_rescue::wire::{
    Code, WireError, parse_account, parse_authcode, parse_created, parse_hierarchy,
    parse_hierarchy_records, parse_user, split_status,
};
use proptest::prelude::*;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::{hierarchy, jane, org, target, user_answer};

/// A value that must never be quoted back in an error: answers can carry secrets.
const MARKER: &str = "S3cr3t-MARKER-7c1f";

/// `PROPTEST_CASES` divided by `share`, or `default`.
fn cases(default: u32, share: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse::<u32>().ok())
        .map_or(default, |cases| (cases / share).max(1))
}

fn fixture(name: &str) -> String {
    let file = format!(
        "{}/../../fixtures/rescue/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&file).unwrap_or_else(|error| panic!("{file}: {error}"))
}

/// Real answers of every shape: the wire layout, the documentation's collapsed layout, CRLF.
fn seeds() -> Vec<String> {
    let mut seeds = vec![
        hierarchy(&org()),
        user_answer(&jane()),
        "OK 4242".to_owned(),
        "OK\n\nAccountID:560961\nOrganization:Contoso\nAdminID:5\nTechID:0\nEmail:owner@contoso.com\n"
            .to_owned(),
    ];
    for name in [
        "q1-gethierarchy_v2.doc.txt",
        "q1-gethierarchy_v2.wire-inferred.txt",
        "q2-getuser_v3.doc.txt",
        "q3-requestauthcode.doc.txt",
        "q3-requestauthcode-short.doc.txt",
        "q4-getaccount.doc.txt",
    ] {
        seeds.push(fixture(name));
    }
    let crlf: Vec<String> = seeds.iter().map(|s| s.replace('\n', "\r\n")).collect();
    seeds.extend(crlf);
    seeds
}

fn assert_quiet(error: &WireError) {
    assert!(
        !error.to_string().contains(MARKER),
        "an error quotes the answer: {error}"
    );
}

/// Every parser on `body` (and on its data after the status): none may panic, errors never
/// quote the answer, and what parses keeps its promises.
fn parse_all(body: &str) {
    let code = Code::parse(body);
    assert!(code.as_str().chars().count() <= 80, "{code:?}");
    let data = match split_status(body) {
        Ok((code, data)) => {
            // A code is kept verbatim (cut to 80 characters) and reads back as itself.
            assert!(code.as_str().chars().count() <= 80, "{code:?}");
            assert_eq!(
                Code::parse(code.as_str()),
                code,
                "a code reads back as itself"
            );
            data
        }
        Err(error) => {
            assert_quiet(&error);
            body
        }
    };
    for text in [body, data] {
        match parse_hierarchy(text) {
            Ok(nodes) => {
                assert!(!nodes.is_empty());
                let ids: HashSet<_> = nodes.iter().map(|n| n.id).collect();
                assert_eq!(ids.len(), nodes.len(), "no id twice");
                for node in &nodes {
                    match node.parent {
                        Some(parent) => assert!(ids.contains(&parent), "{node:?}"),
                        None => assert!(node.node_type == NodeType::Root, "{node:?}"),
                    }
                }
            }
            Err(error) => assert_quiet(&error),
        }
        if let Err(error) = parse_hierarchy_records(text) {
            assert_quiet(&error);
        }
        match parse_user(text) {
            Ok(user) => assert!(user.node.0 > 0 || text.contains('0')),
            Err(error) => assert_quiet(&error),
        }
        if let Err(error) = parse_account(text) {
            assert_quiet(&error);
        }
        match parse_authcode(text) {
            Ok(authcode) => {
                assert!(!authcode.is_empty() && !authcode.contains(char::is_whitespace));
            }
            Err(error) => assert_quiet(&error),
        }
        if let Err(error) = parse_created(text) {
            assert_quiet(&error);
        }
    }
}

/// Every key the parsers know, in any case, or a short unknown one.
fn key() -> impl Strategy<Value = String> {
    const KEYS: [&str; 19] = [
        "NodeID",
        "ParentID",
        "Name",
        "Email",
        "Description",
        "Status",
        "Type",
        "Nick",
        "SSOID",
        "HasMobileAddon",
        "HasRPATAddon",
        "IsAccountHolder",
        "AUTHCODE",
        "AccountID",
        "Organization",
        "AdminID",
        "TechID",
        "",
        "x",
    ];
    (any::<prop::sample::Index>(), any::<u32>()).prop_map(|(index, case)| {
        index
            .get(&KEYS)
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if case >> (i % 32) & 1 == 1 {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    })
}

/// A line-level or byte-level change to an answer.
#[derive(Clone, Debug)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    JoinLines(usize),
    ReplaceValue(usize, String),
    RenameKey(usize, String),
    InsertLine(usize, String),
    Truncate(usize),
    InsertChar(usize, char),
}

fn hostile_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(MARKER.to_owned()),
        Just("99999999999999999999999999".to_owned()),
        Just("-1".to_owned()),
        Just("0".to_owned()),
        Just("18446744073709551615".to_owned()),
        Just("True".to_owned()),
        Just("maybe".to_owned()),
        Just("Technician".to_owned()),
        Just("TechnicianGroup".to_owned()),
        Just("Root".to_owned()),
        Just("a: b: c".to_owned()),
        Just(format!("{MARKER} NodeID:7 ParentID:1")),
        Just("\u{feff}\u{202e}\u{0}".to_owned()),
        // Directory text written raw into the text protocol: forged fields and whole nodes.
        Just("Jane\nNodeID:7\nParentID:1".to_owned()),
        Just("Jane\nEmail:eve@example.com".to_owned()),
        Just(
            "x\n\nNodeID:900\nParentID:2\nName:Eve\nEmail:eve@example.com\nDescription:\n\
             Status:Online\nType:MasterAdministrator"
                .to_owned()
        ),
        Just("x\r\nType:Root\u{85}\u{2028}\u{1b}[2J".to_owned()),
        "[^\n]{0,30}",
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        any::<usize>().prop_map(Mutation::JoinLines),
        (any::<usize>(), hostile_value()).prop_map(|(at, v)| Mutation::ReplaceValue(at, v)),
        (any::<usize>(), key()).prop_map(|(at, k)| Mutation::RenameKey(at, k)),
        (any::<usize>(), (key(), hostile_value()))
            .prop_map(|(at, (k, v))| Mutation::InsertLine(at, format!("{k}:{v}"))),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<char>()).prop_map(|(at, c)| Mutation::InsertChar(at, c)),
    ]
}

fn apply(text: &str, mutation: &Mutation) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let n = lines.len().max(1);
    match mutation {
        Mutation::DeleteLine(at) => {
            if !lines.is_empty() {
                lines.remove(at % n);
            }
        }
        Mutation::DuplicateLine(at) => {
            if let Some(line) = lines.get(at % n).cloned() {
                lines.insert(at % n, line);
            }
        }
        Mutation::SwapLines(a, b) => {
            if !lines.is_empty() {
                lines.swap(a % n, b % n);
            }
        }
        Mutation::JoinLines(at) => {
            let at = at % n;
            if at + 1 < lines.len() {
                let next = lines.remove(at + 1);
                lines[at] = format!("{} {next}", lines[at]);
            }
        }
        Mutation::ReplaceValue(at, value) => {
            if let Some(line) = lines.get_mut(at % n)
                && let Some((key, _)) = line.split_once(':')
            {
                *line = format!("{key}:{value}");
            }
        }
        Mutation::RenameKey(at, key) => {
            if let Some(line) = lines.get_mut(at % n)
                && let Some((_, value)) = line.split_once(':')
            {
                *line = format!("{key}:{value}");
            }
        }
        Mutation::InsertLine(at, line) => lines.insert(at % (lines.len() + 1), line.clone()),
        Mutation::Truncate(at) => {
            let joined = lines.join("\n");
            let mut cut = at % (joined.len() + 1);
            while !joined.is_char_boundary(cut) {
                cut -= 1;
            }
            return joined[..cut].to_owned();
        }
        Mutation::InsertChar(at, c) => {
            let mut joined = lines.join("\n");
            let mut at = at % (joined.len() + 1);
            while !joined.is_char_boundary(at) {
                at -= 1;
            }
            joined.insert(at, *c);
            return joined;
        }
    }
    lines.join("\n")
}

fn mutated() -> impl Strategy<Value = String> {
    (
        any::<prop::sample::Index>(),
        prop::collection::vec(mutation(), 1..6),
    )
        .prop_map(|(seed, mutations)| {
            let seeds = seeds();
            let mut text = seed.get(&seeds).clone();
            for mutation in &mutations {
                text = apply(&text, mutation);
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(5_000, 1), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        // The client reads answers as text the way reqwest decodes them: lossily.
        parse_all(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn arbitrary_text_never_panics(text in "(?s).{0,400}") {
        parse_all(&text);
    }

    #[test]
    fn arbitrary_key_value_lines_never_panic(
        lines in prop::collection::vec((key(), "[^\n]{0,20}"), 0..40)
    ) {
        let body: String = std::iter::once("OK\n".to_owned())
            .chain(lines.iter().map(|(k, v)| format!("{k}:{v}\n")))
            .collect();
        parse_all(&body);
    }

    #[test]
    fn mutated_answers_parse_or_fail_typed(text in mutated()) {
        parse_all(&text);
    }
}

/// Answers whatever body the test put in last.
struct Current(Arc<Mutex<String>>);

impl Respond for Current {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let body = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        ResponseTemplate::new(200).set_body_string(body)
    }
}

/// The same through HTTP and the client: a read of a mutated hierarchy is the tree the parser
/// reads, or a typed error; it never panics.
#[test]
fn a_read_of_a_mutated_hierarchy_is_the_parsed_tree_or_an_error() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let body = Arc::new(Mutex::new(String::new()));
    let server = runtime.block_on(async {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(Current(Arc::clone(&body)))
            .mount(&server)
            .await;
        server
    });
    let target = target(&server);
    let config = ProptestConfig {
        cases: cases(150, 20),
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&mutated(), |text| {
        *body
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = text.clone();
        let read = runtime.block_on(target.read_snapshot(&DetailRequest::default()));
        let parsed = split_status(&text)
            .ok()
            .filter(|(code, _)| *code == Code::Ok)
            .and_then(|(_, data)| parse_hierarchy(data).ok());
        match (read, parsed) {
            (Ok(snapshot), Some(nodes)) => prop_assert_eq!(snapshot.nodes, nodes),
            (Ok(snapshot), None) => prop_assert!(false, "read {snapshot:?} from {text:?}"),
            (Err(error), parsed) => {
                // An empty answer is retried, then fails; anything else that parses is read.
                prop_assert!(
                    parsed.is_none() || text.trim().is_empty(),
                    "{error}: {text:?}"
                );
            }
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
