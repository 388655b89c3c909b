//! Answers that echo a secret (issue 26): a token endpoint answering double-encoded JSON, a
//! proxy reflecting the request form into its error, Graph quoting the bearer token in a
//! refusal. Whatever the answer quotes, no secret in play (the client secret in any encoding,
//! a token issued during the run) reaches stdout, stderr at `-vv`, `--json` output or a file.

use adsync_tests::graph_emulator::{self, Fault, RequestKind};

use crate::emulated::Emulated;

/// A token the double-encoded answer carries; never parsed, so only the decoder keeps it out.
const DOUBLE_ENCODED_TOKEN: &str = "eyJhbGciOi.double-encoded-token-value";

/// The client secret as a form body carries it (the emulator's secret has no special
/// characters, so its form-encoding is itself; the case still proves the reflected form).
fn reflected_form() -> String {
    format!(
        "client_id=x&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&client_secret={}&grant_type=client_credentials",
        graph_emulator::CLIENT_SECRET
    )
}

fn secrets_in(text: &str) -> Vec<String> {
    [
        graph_emulator::CLIENT_SECRET,
        DOUBLE_ENCODED_TOKEN,
        "emulator-token-",
    ]
    .iter()
    .filter(|secret| text.contains(**secret))
    .map(|secret| (*secret).to_owned())
    .collect()
}

fn assert_clean(emulated: &Emulated, label: &str, expect_redacted: bool) {
    for args in [
        &["plan", "-vv"][..],
        &["plan", "--json"],
        &["apply", "--yes"],
    ] {
        let run = emulated.run(args);
        assert_eq!(run.code, 1, "{label} {args:?}: {}", run.transcript());
        let found = secrets_in(&format!("{}{}", run.stdout, run.stderr));
        assert!(
            found.is_empty(),
            "{label} {args:?}: {found:?}\n{}",
            run.transcript()
        );
        if expect_redacted && args[0] == "plan" && args[1] == "-vv" {
            assert!(
                run.stderr.contains("[REDACTED]"),
                "{label}: the echo was masked, not lost: {}",
                run.transcript()
            );
        }
    }
    for file in [
        ".adsync/audit.jsonl",
        ".adsync/last-run.json",
        ".adsync/runs.jsonl",
    ] {
        let found = secrets_in(&emulated.read(file));
        assert!(found.is_empty(), "{label} {file}: {found:?}");
    }
}

#[test]
fn a_double_encoded_token_answer_is_not_quoted() {
    let emulated = Emulated::start("demo", "echo-double-encoded");
    let body = serde_json::to_string(&format!(
        r#"{{"token_type":"Bearer","expires_in":3599,"access_token":"{DOUBLE_ENCODED_TOKEN}"}}"#
    ))
    .expect("a JSON string");
    emulated.graph.inject(
        Some(RequestKind::Token),
        Fault::Answer { status: 200, body },
        usize::MAX,
    );
    assert_clean(&emulated, "double-encoded", false);
}

#[test]
fn a_proxy_reflecting_the_token_form_is_masked() {
    let emulated = Emulated::start("demo", "echo-reflected-form");
    let body = serde_json::json!({
        "error": "invalid_request",
        "error_description": format!("the proxy refused: {}", reflected_form()),
        "error_codes": [900144],
    })
    .to_string();
    emulated.graph.inject(
        Some(RequestKind::Token),
        Fault::Answer { status: 400, body },
        usize::MAX,
    );
    assert_clean(&emulated, "reflected form", true);
}

#[test]
fn graph_quoting_the_bearer_token_issued_during_the_run_is_masked() {
    let emulated = Emulated::start("demo", "echo-bearer");
    // The token endpoint works; every member page is refused with a message quoting the
    // token the request carried (the emulator issues `emulator-token-N`).
    let body = serde_json::json!({
        "error": {
            "code": "Authorization_RequestDenied",
            "message": "Bearer {bearer} is not allowed to read members.",
        }
    })
    .to_string();
    emulated.graph.inject(
        Some(RequestKind::TransitiveMemberUsers),
        Fault::Answer { status: 403, body },
        usize::MAX,
    );
    assert_clean(&emulated, "bearer echo", true);
}

/// `setUser_v2` answering with the default password as its first token (issue 26): the apply
/// reports the failed action, and neither its output nor `audit.jsonl` holds the password.
#[test]
fn a_write_answer_quoting_the_default_password_is_masked_in_output_and_audit() {
    use crate::emulated::DEFAULT_PASSWORD;
    let emulated = Emulated::start("demo", "echo-default-password");
    emulated.rescue.inject(
        Some(adsync_rescue::api::method::SET_USER),
        adsync_tests::rescue_emulator::Fault::Body(format!("{DEFAULT_PASSWORD}\n")),
        usize::MAX,
    );
    let run = emulated.run(&["apply", "--yes", "-vv"]);
    assert_ne!(run.code, 0, "{}", run.transcript());
    let audit = emulated.read(".adsync/audit.jsonl");
    assert!(!audit.is_empty(), "the failed actions are audited");
    for (what, text) in [
        ("stdout", run.stdout.as_str()),
        ("stderr", run.stderr.as_str()),
        ("audit.jsonl", audit.as_str()),
        ("last-run.json", &emulated.read(".adsync/last-run.json")),
    ] {
        assert!(!text.contains(DEFAULT_PASSWORD), "{what}:\n{text}");
    }
}
