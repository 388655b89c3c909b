//! Every invalid configuration gives one clear error naming the file, the key and what was
//! expected, and exits 1.

use crate::{adsync, scratch};

const GOOD: &str = "\
source:
  type: snapshot
  path: directory.yaml
target:
  type: snapshot
  path: rescue.yaml
pairings:
  - entra_group: SG-Rescue-L2
    rescue_group: Helpdesk/L2
    role: technician
";

fn check(name: &str, config: &str, env: &[(&str, &str)]) -> String {
    check_with(name, config, env, &["validate"])
}

fn check_with(name: &str, config: &str, env: &[(&str, &str)], args: &[&str]) -> String {
    let dir = scratch(&format!("config-{name}"));
    std::fs::write(dir.join("adsync.yaml"), config).expect("config written");
    std::fs::write(dir.join("directory.yaml"), "users: []\ngroups: []\n")
        .expect("directory written");
    let run = adsync(&dir, args, env);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert_eq!(run.stdout, "", "errors never go to stdout");
    run.stderr
}

#[test]
fn the_good_config_is_valid() {
    let dir = scratch("config-good");
    std::fs::write(dir.join("adsync.yaml"), GOOD).expect("config written");
    let run = adsync(&dir, &["validate"], &[]);
    assert_eq!(run.code, 0, "{}", run.transcript());
}

#[test]
fn unknown_key() {
    let config = GOOD.replace(
        "    role: technician",
        "    role: technician\n    mobile_licence: true",
    );
    insta::assert_snapshot!(check("unknown-key", &config, &[]));
}

#[test]
fn yaml_syntax_error_names_line_and_column() {
    let config = GOOD.replace("  path: rescue.yaml", "  path: \"rescue.yaml");
    insta::assert_snapshot!(check("syntax", &config, &[]));
}

#[test]
fn master_administrator_with_a_path() {
    let config = GOOD.replace("    role: technician", "    role: master_administrator");
    insta::assert_snapshot!(check("master-path", &config, &[]));
}

#[test]
fn invalid_protected_email() {
    let config = format!("{GOOD}sync:\n  protected: [not-an-email]\n");
    insta::assert_snapshot!(check("protected", &config, &[]));
}

#[test]
fn budget_that_is_neither_count_nor_percentage() {
    let config = format!("{GOOD}sync:\n  safety: {{ max_disables: lots }}\n");
    insta::assert_snapshot!(check("budget", &config, &[]));
}

#[test]
fn duplicate_pairing() {
    let config = format!(
        "{GOOD}  - entra_group: SG-Rescue-L2\n    rescue_group: helpdesk/l2/\n    role: technician\n"
    );
    insta::assert_snapshot!(check("duplicate", &config, &[]));
}

#[test]
fn too_many_pairings() {
    let config = format!(
        "{GOOD}  - entra_group: SG-Other\n    rescue_group: Helpdesk\n    role: technician\nsync:\n  limits: {{ max_pairings: 1 }}\n"
    );
    insta::assert_snapshot!(check("max-pairings", &config, &[]));
}

#[test]
fn wrong_role() {
    let config = GOOD.replace("role: technician", "role: tech");
    insta::assert_snapshot!(check("role", &config, &[]));
}

const RESCUE: &str = "\
source:
  type: snapshot
  path: directory.yaml
target:
  type: rescue
  auth:
    api_token: { env: ADSYNC_TEST_TOKEN }
pairings: []
";

#[test]
fn literal_secret_is_refused_without_echoing_it() {
    let config = RESCUE.replace("{ env: ADSYNC_TEST_TOKEN }", "s3cr3t-t0ken-value");
    let stderr = check("literal-secret", &config, &[]);
    assert!(!stderr.contains("s3cr3t-t0ken-value"), "{stderr}");
    insta::assert_snapshot!(stderr);
}

#[test]
fn missing_secret_variable_is_named_when_the_command_needs_it() {
    insta::assert_snapshot!(check_with("missing-secret", RESCUE, &[], &["plan"]));
    // validate's checklist is its data: it names the secret that cannot be read, on stdout.
    let dir = scratch("config-missing-secret-online");
    std::fs::write(dir.join("adsync.yaml"), RESCUE).expect("config written");
    std::fs::write(dir.join("directory.yaml"), "users: []\ngroups: []\n").expect("directory");
    let run = adsync(&dir, &["validate", "--online"], &[]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn offline_validate_warns_about_a_missing_secret() {
    let dir = scratch("config-secret-warning");
    std::fs::write(dir.join("adsync.yaml"), RESCUE).expect("config written");
    let run = adsync(&dir, &["validate"], &[]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains("warn target.auth.api_token: the secret `target.auth.api_token` cannot be read: environment variable `ADSYNC_TEST_TOKEN` is not set"), "{}", run.transcript());
}

#[test]
fn init_writes_a_starter_that_validates() {
    let dir = scratch("config-init");
    let run = adsync(&dir, &["init"], &[]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let env = [
        ("ADSYNC_GRAPH_CLIENT_SECRET", "x"),
        ("ADSYNC_RESCUE_API_TOKEN", "y"),
        ("ADSYNC_DEFAULT_PASSWORD", "z"),
    ];
    let run = adsync(&dir, &["validate"], &env);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(run.stderr, "", "no warnings: {}", run.transcript());
    let again = adsync(&dir, &["init"], &[]);
    assert_eq!(again.code, 1, "init never overwrites without --force");
}

#[test]
fn missing_config_file() {
    let dir = scratch("config-missing");
    let run = adsync(&dir, &["plan"], &[]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.stderr);
}

/// Issue 24: a bad condition or template names the file, the key, the line and the column in
/// the condition or template.
#[test]
fn bad_condition_and_template_name_file_key_line_and_column() {
    let config = GOOD.replace(
        "    role: technician",
        "    role: technician\n    where: 'department eq \"Service Desk\" and acountEnabled eq true'",
    );
    let error = check("bad-where", &config, &[]);
    for words in [
        "`adsync.yaml`",
        "pairings[0]: where: condition",
        "column 34: unknown attribute `acountEnabled`; did you mean `accountEnabled`?",
        "line 8",
    ] {
        assert!(error.contains(words), "{words}: {error}");
    }
    let config = format!("{GOOD}sync:\n  attributes:\n    ssoid: '{{employeeId:shout}}'\n");
    let error = check("bad-template", &config, &[]);
    for words in [
        "`adsync.yaml`",
        "sync.attributes: ssoid: template `{employeeId:shout}`",
        "column 13: unknown transform `shout`",
        "line 13",
    ] {
        assert!(error.contains(words), "{words}: {error}");
    }
}
