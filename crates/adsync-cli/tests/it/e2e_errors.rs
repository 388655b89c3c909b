//! Every error an operator meets when setting adsync up, end to end against the emulators: one
//! snapshot each of exit code, stdout (empty) and stderr (the error, its causes and its hint).

use adsync_tests::graph_emulator::{Fault as GraphFault, RequestKind};

use crate::Run;
use crate::emulated::{
    DEFAULT_PASSWORD_VAR, Emulated, GRAPH_SECRET_VAR, RESCUE_TOKEN_VAR, SECRETS, filters,
};

/// Asserts the run failed with exit 1, nothing on stdout and no secret anywhere, and
/// snapshots it.
fn assert_error(name: &str, run: &Run) {
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert_eq!(run.stdout, "", "errors never go to stdout");
    for secret in SECRETS {
        assert!(
            !run.stderr.contains(secret),
            "a secret is printed: {}",
            run.stderr
        );
    }
    let _filters = filters().bind_to_scope();
    insta::assert_snapshot!(name, run.transcript());
}

/// Asserts `validate --online` failed with exit 1, its checklist on stdout, no secret anywhere,
/// and snapshots it.
fn assert_failed_check(name: &str, run: &Run) {
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stdout.contains("FAIL "), "{}", run.transcript());
    for secret in SECRETS {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "a secret is printed: {}",
            run.transcript()
        );
    }
    let _filters = filters().bind_to_scope();
    insta::assert_snapshot!(name, run.transcript());
}

/// The environment without `variable`.
fn env_without(emulated: &Emulated, variable: &str) -> Vec<(&'static str, &'static str)> {
    emulated
        .env()
        .into_iter()
        .filter(|(key, _)| *key != variable)
        .collect()
}

/// The environment with `variable` set to `value`.
fn env_with(
    emulated: &Emulated,
    variable: &'static str,
    value: &'static str,
) -> Vec<(&'static str, &'static str)> {
    let mut env = env_without(emulated, variable);
    env.push((variable, value));
    env
}

#[test]
fn missing_secret_variable_is_named_with_a_hint() {
    let emulated = Emulated::start("demo", "e2e-err-secret");
    let run = emulated.run_with(&["plan"], &env_without(&emulated, GRAPH_SECRET_VAR));
    assert_error("missing_graph_secret", &run);
    assert_eq!(
        emulated.graph.total_requests(),
        0,
        "nothing is sent without it"
    );

    // The default password is needed by apply (it creates users), and by plan too: the
    // target is built once, with everything it may need.
    let run = emulated.run_with(
        &["apply", "--yes"],
        &env_without(&emulated, DEFAULT_PASSWORD_VAR),
    );
    assert_error("missing_default_password", &run);
    assert!(
        emulated.read(".adsync/audit.jsonl").is_empty(),
        "nothing was attempted"
    );
}

#[test]
fn yaml_syntax_error_names_line_and_column() {
    let emulated = Emulated::start("demo", "e2e-err-syntax");
    let config = emulated.config_text(crate::emulated::Auth::Token);
    let broken = config.replacen(
        "  tenant: contoso.onmicrosoft.com\n",
        "  tenant: \"contoso.onmicrosoft.com\n",
        1,
    );
    assert_ne!(broken, config);
    emulated.write_config_text(&broken);
    let run = emulated.run(&["plan"]);
    assert_error("yaml_syntax_error", &run);
    assert!(run.stderr.contains("line "), "{}", run.stderr);
}

#[test]
fn unknown_key_is_named_with_its_path() {
    let emulated = Emulated::start("demo", "e2e-err-unknown-key");
    let config = emulated.config_text(crate::emulated::Auth::Token);
    let broken = config.replacen("  concurrency: 4\n", "  concurency: 4\n", 1);
    assert_ne!(broken, config);
    emulated.write_config_text(&broken);
    let run = emulated.run(&["plan"]);
    assert_error("unknown_key", &run);
    assert!(run.stderr.contains("concurency"), "{}", run.stderr);
}

#[test]
fn unknown_tenant() {
    let emulated = Emulated::start("demo", "e2e-err-tenant");
    let config = emulated.config_text(crate::emulated::Auth::Token);
    emulated.write_config_text(&config.replacen(
        "tenant: contoso.onmicrosoft.com",
        "tenant: fabrikam.onmicrosoft.com",
        1,
    ));
    let run = emulated.run(&["plan"]);
    assert_error("unknown_tenant", &run);
    assert_eq!(
        emulated.rescue.total_requests(),
        0,
        "no plan, no Rescue read"
    );
}

#[test]
fn wrong_client_secret() {
    let emulated = Emulated::start("demo", "e2e-err-client-secret");
    let wrong = "wrong-client-secret-3Fz9";
    let run = emulated.run_with(
        &["validate", "--online"],
        &env_with(&emulated, GRAPH_SECRET_VAR, wrong),
    );
    assert!(!run.transcript().contains(wrong), "{}", run.transcript());
    assert_failed_check("wrong_client_secret", &run);
    // A refused Graph secret does not stop the checks: Rescue is still signed in to and every
    // destination still looked up.
    assert!(
        run.stdout
            .contains("FAIL Microsoft Graph: Entra ID refused the client secret"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("ok   LogMeIn Rescue: signed in"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("ok   destination of `helpdesk-l1`"),
        "{}",
        run.stdout
    );
    // With --json, the same checklist is one JSON document, on failure too.
    let run = emulated.run_with(
        &["validate", "--online", "--json"],
        &env_with(&emulated, GRAPH_SECRET_VAR, wrong),
    );
    assert_eq!(run.code, 1, "{}", run.transcript());
    let document: serde_json::Value =
        serde_json::from_str(&run.stdout).expect("one JSON document on failure");
    assert_eq!(document["format_version"], "1.0");
    assert_eq!(document["valid"], false);
    let failed: Vec<&str> = document["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|check| check["status"] == "fail")
        .filter_map(|check| check["check"].as_str())
        .collect();
    assert_eq!(failed, ["Microsoft Graph", "pairings' Entra groups"]);
}

#[test]
fn missing_admin_consent_names_the_permissions() {
    // One pairing: with several, the group whose read fails first is named, in any order.
    let emulated = Emulated::start("scenarios/create-technician", "e2e-err-consent");
    // Graph refuses the app every group read, as it does before admin consent is granted.
    emulated
        .graph
        .inject(Some(RequestKind::GroupsDelta), GraphFault::Forbidden, 100);
    let run = emulated.run(&["plan"]);
    assert_error("missing_admin_consent", &run);
    assert!(
        run.stderr.contains("GroupMember.Read.All"),
        "{}",
        run.stderr
    );
    assert_eq!(
        emulated.rescue.total_requests(),
        0,
        "no plan, no Rescue read"
    );
}

#[test]
fn users_without_user_read_all_are_a_permission_error() {
    let emulated = Emulated::start("scenarios/create-technician", "e2e-err-limited");
    // Without User.Read.All, Graph lists members with their id and type only.
    emulated.graph.set_users_readable(false);
    let run = emulated.run(&["plan"]);
    assert_error("limited_information", &run);
    assert!(run.stderr.contains("User.Read.All"), "{}", run.stderr);
}

#[test]
fn ambiguous_entra_group_name_lists_the_candidates() {
    let emulated = Emulated::start(
        "scenarios/entra-group-ambiguous-is-error",
        "e2e-err-ambiguous",
    );
    let run = emulated.run(&["plan"]);
    assert_error("ambiguous_group", &run);
    let run = emulated.run(&["validate", "--online"]);
    assert_failed_check("ambiguous_group_validate", &run);
}

#[test]
fn missing_entra_group_suggests_close_names() {
    let emulated = Emulated::start("scenarios/entra-group-missing-is-error", "e2e-err-missing");
    let run = emulated.run(&["plan"]);
    assert_error("missing_group", &run);
}

#[test]
fn rescue_token_rejected() {
    let emulated = Emulated::start("demo", "e2e-err-token");
    let wrong = "wrong-rescue-token-8Kq2";
    let env = env_with(&emulated, RESCUE_TOKEN_VAR, wrong);
    let run = emulated.run_with(&["plan"], &env);
    assert!(!run.stderr.contains(wrong), "{}", run.stderr);
    assert_error("rescue_token_rejected", &run);
    let run = emulated.run_with(&["validate", "--online"], &env);
    assert!(!run.transcript().contains(wrong), "{}", run.transcript());
    assert_failed_check("rescue_token_rejected_validate", &run);
    assert!(
        run.stdout.contains("ok   Entra group of `helpdesk-l1`"),
        "Graph is checked whatever Rescue says: {}",
        run.stdout
    );
}

#[test]
fn rescue_password_rejected() {
    let emulated = Emulated::start("demo", "e2e-err-password");
    emulated.write_config(crate::emulated::Auth::Password);
    let wrong = "wrong-account-password-5Tn1";
    let run = emulated.run_with(
        &["plan"],
        &env_with(&emulated, crate::emulated::RESCUE_PASSWORD_VAR, wrong),
    );
    assert!(!run.stderr.contains(wrong), "{}", run.stderr);
    assert_error("rescue_password_rejected", &run);
    assert_eq!(
        emulated
            .rescue
            .count(adsync_rescue::api::method::REQUEST_AUTH_CODE),
        1,
        "a refused sign-in is not retried"
    );
}

#[test]
fn destination_group_not_found() {
    let emulated = Emulated::start(
        "scenarios/missing-rescue-group-is-error",
        "e2e-err-destination",
    );
    let run = emulated.run(&["plan"]);
    assert_error("destination_not_found", &run);
    // validate --online reports it as a failed check, on stdout, and exits 1.
    let run = emulated.run(&["validate", "--online"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    let _filters = filters().bind_to_scope();
    insta::assert_snapshot!("destination_not_found_validate", run.transcript());
}

#[test]
fn graph_throttling_beyond_the_retries() {
    let emulated = Emulated::start("scenarios/create-technician", "e2e-err-throttled");
    let throttle = GraphFault::Throttle {
        retry_after: Some("0".into()),
    };
    // A short burst is waited out.
    emulated
        .graph
        .inject(Some(RequestKind::GroupsDelta), throttle.clone(), 2);
    let run = emulated.run(&["plan", "--detailed-exitcode", "-q"]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    // One that outlasts the three attempts of a request is an error with a hint.
    emulated
        .graph
        .inject(Some(RequestKind::GroupsDelta), throttle, 3);
    let run = emulated.run(&["plan"]);
    assert_error("graph_throttled", &run);
}
