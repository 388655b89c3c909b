//! The real binary from an on-premises directory (a real slapd with AD-shaped entries, over
//! LDAPS with a test CA) to the Rescue emulator: plan, apply, plan again converges; a paired
//! group that comes back empty trips the empty-group guard instead of disabling its members;
//! a refused bind is a failed read with no plan; a server that never answers is cut off by the
//! read budget.

use adsync_core::model::{RescueSnapshot, Status};
use adsync_tests::ad_directory::{AdDirectory, AdGroup, AdUser, BASE_DN};
use adsync_tests::rescue_emulator::{self, RescueEmulator};
use adsync_tests::slapd::{SERVICE_DN, SERVICE_PASSWORD, Slapd};

use crate::emulated::DEFAULT_PASSWORD;
use crate::{Run, adsync, scratch};

const LDAP_PASSWORD_VAR: &str = "E2E_LDAP_PASSWORD";
const RESCUE_TOKEN_VAR: &str = "E2E_RESCUE_API_TOKEN";
const DEFAULT_PASSWORD_VAR: &str = "E2E_DEFAULT_PASSWORD";

const RESCUE: &str = "nodes:
  - { id: 1, parent: null, type: Root, name: Corp Support }
  - { id: 2, parent: 1, type: MasterAdministrators, name: Master Administrators }
  - { id: 3, parent: 1, type: Administrators, name: Administrators }
  - { id: 4, parent: 1, type: Technicians, name: Technicians }
  - { id: 10, parent: 4, type: TechnicianGroup, name: Helpdesk }
  - { id: 12, parent: 10, type: TechnicianGroup, name: L2 }
  - { id: 100, parent: 2, type: MasterAdministrator, name: Owner, email: owner@corp.example, status: Enabled, account_holder: true }
";

/// Four technicians (one disabled in AD, one a member through its primary group only as far
/// as AD goes, which slapd does not evaluate) and one administrator.
fn directory() -> AdDirectory {
    let users: Vec<AdUser> = [
        "ana.lima",
        "ben.okafor",
        "chen.wei",
        "dora.novak",
        "eli.admin",
    ]
    .iter()
    .zip(0..)
    .map(|(name, seed)| AdUser::new(name, seed))
    .collect();
    let mut directory = AdDirectory {
        groups: vec![
            AdGroup::new(
                "SG-Rescue-L2",
                1,
                users[..4].iter().map(|u| u.dn.clone()).collect(),
            ),
            AdGroup::new("SG-Rescue-Admins", 2, vec![users[4].dn.clone()]),
        ],
        users,
    };
    directory.users[3].uac = 514;
    directory
}

struct Setup {
    slapd: Slapd,
    rescue: RescueEmulator,
    dir: std::path::PathBuf,
    _runtime: tokio::runtime::Runtime,
}

impl Setup {
    fn start(name: &str) -> Setup {
        let slapd = Slapd::start(&directory());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let seed: RescueSnapshot = serde_yaml::from_str(RESCUE).expect("a Rescue snapshot");
        let rescue = runtime.block_on(RescueEmulator::start(&seed));
        let dir = scratch(name);
        std::fs::write(dir.join("corp-ca.pem"), slapd.ca_pem()).expect("the CA file");
        let config = format!(
            "\
source:
  type: ldap
  url: {url}
  ca_file: corp-ca.pem
  bind_dn: {SERVICE_DN}
  password: {{ env: {LDAP_PASSWORD_VAR} }}
  base_dn: {BASE_DN}
  page_size: 5
  timeout_s: 20
target:
  type: rescue
  base_url: {rescue}
  auth:
    api_token: {{ env: {RESCUE_TOKEN_VAR} }}
  default_password: {{ env: {DEFAULT_PASSWORD_VAR} }}
  retry: {{ max_attempts: 3, initial_backoff_ms: 1, max_backoff_ms: 5, request_timeout_s: 5 }}
sync:
  protected: [owner@corp.example]
pairings:
  - entra_group: SG-Rescue-L2
    rescue_group: Helpdesk/L2
    role: technician
  - entra_group: cn=SG-Rescue-Admins,ou=Groups,{BASE_DN}
    rescue_group: \"\"
    role: administrator
",
            url = slapd.ldaps_url(),
            rescue = rescue.uri(),
        );
        std::fs::write(dir.join("adsync.yaml"), config).expect("the config");
        Setup {
            slapd,
            rescue,
            dir,
            _runtime: runtime,
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with_password(args, SERVICE_PASSWORD)
    }

    fn run_with_password(&self, args: &[&str], password: &str) -> Run {
        adsync(
            &self.dir,
            args,
            &[
                (LDAP_PASSWORD_VAR, password),
                (RESCUE_TOKEN_VAR, rescue_emulator::API_TOKEN),
                (DEFAULT_PASSWORD_VAR, DEFAULT_PASSWORD),
            ],
        )
    }

    /// `(email, parent, enabled)` of every technician and administrator.
    fn users(&self) -> Vec<(String, u64, bool)> {
        let mut users: Vec<(String, u64, bool)> = self
            .rescue
            .snapshot()
            .nodes
            .into_iter()
            .filter(|node| node.node_type.user_role().is_some() && !node.account_holder)
            .map(|node| {
                (
                    node.email.unwrap_or_default(),
                    node.parent.map_or(0, |p| p.0),
                    node.status == Some(Status::Enabled),
                )
            })
            .collect();
        users.sort();
        users
    }
}

#[test]
fn an_ldap_to_rescue_run_converges_and_an_emptied_group_is_guarded() {
    let setup = Setup::start("e2e-ldap-converges");

    let validate = setup.run(&["validate", "--online"]);
    assert_eq!(validate.code, 0, "{}", validate.transcript());
    assert!(
        validate.stdout.contains("Active Directory (LDAP)"),
        "{}",
        validate.stdout
    );
    assert!(
        validate.stdout.contains("cn=SG-Rescue-L2,ou=Groups"),
        "{}",
        validate.stdout
    );

    let search = setup.run(&["groups", "search", "rescue"]);
    assert_eq!(search.code, 0, "{}", search.transcript());
    assert!(
        search.stdout.contains("SG-Rescue-Admins") && search.stdout.contains("SG-Rescue-L2"),
        "{}",
        search.stdout
    );

    let members = setup.run(&["groups", "members", "SG-Rescue-L2"]);
    assert_eq!(members.code, 0, "{}", members.transcript());
    assert!(members.stdout.contains("4 members"), "{}", members.stdout);
    assert!(
        members
            .stdout
            .contains("dora.novak@corp.example  Dora Novak  (disabled)"),
        "{}",
        members.stdout
    );

    let plan = setup.run(&["plan", "--detailed-exitcode", "-q"]);
    assert_eq!(plan.code, 2, "changes pending: {}", plan.transcript());
    let apply = setup.run(&["apply", "--yes", "-q"]);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    let again = setup.run(&["plan", "--detailed-exitcode", "-q"]);
    assert_eq!(again.code, 0, "converged: {}", again.transcript());
    // explain speaks of the directory the user is in.
    let dora = setup.run(&["explain", "dora.novak@corp.example"]);
    assert_eq!(dora.code, 0, "{}", dora.transcript());
    assert!(
        dora.stdout.contains("disabled in Active Directory") && !dora.stdout.contains("Entra"),
        "{}",
        dora.stdout
    );
    let technicians: Vec<(String, u64, bool)> = ["ana.lima", "ben.okafor", "chen.wei"]
        .iter()
        .map(|name| (format!("{name}@corp.example"), 12, true))
        .collect();
    let mut expected = technicians.clone();
    expected.push(("eli.admin@corp.example".to_owned(), 3, true));
    expected.sort();
    assert_eq!(
        setup.users(),
        expected,
        "the disabled AD account was not created"
    );

    // A rename and move in AD with a new mail: the objectGUID link makes it an update of the
    // same node, not a create and a disable.
    let ana = format!("cn=ana.lima,ou=People,{BASE_DN}");
    let moved = format!("cn=ana.souza,ou=Service,{BASE_DN}");
    let l2 = format!("cn=SG-Rescue-L2,ou=Groups,{BASE_DN}");
    setup.slapd.modify(&format!(
        "dn: {ana}\nchangetype: modrdn\nnewrdn: cn=ana.souza\ndeleteoldrdn: 1\nnewsuperior: ou=Service,{BASE_DN}\n\n\
         dn: {moved}\nchangetype: modify\nreplace: mail\nmail: ana.souza@corp.example\n\n\
         dn: {l2}\nchangetype: modify\ndelete: member\nmember: {ana}\n-\nadd: member\nmember: {moved}\n\n"
    ));
    let renamed = setup.run(&["plan", "--json", "-q"]);
    assert_eq!(renamed.code, 0, "{}", renamed.transcript());
    let plan: serde_json::Value = serde_json::from_str(&renamed.stdout).expect("a JSON plan");
    let kinds: Vec<&str> = plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(|action| action["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["update_user"], "{}", renamed.stdout);
    let apply = setup.run(&["apply", "--yes", "-q"]);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    let mut expected: Vec<(String, u64, bool)> = expected
        .into_iter()
        .map(|(email, parent, enabled)| (email.replace("ana.lima@", "ana.souza@"), parent, enabled))
        .collect();
    expected.sort();
    assert_eq!(setup.users(), expected, "the same node, renamed");

    // The group comes back empty (every member removed): the guard blocks, nothing is disabled.
    let group = format!("cn=SG-Rescue-L2,ou=Groups,{BASE_DN}");
    setup.slapd.modify(&format!(
        "dn: {group}\nchangetype: modify\ndelete: member\n\n"
    ));
    let blocked = setup.run(&["apply", "--yes"]);
    assert_eq!(blocked.code, 3, "{}", blocked.transcript());
    assert!(
        blocked.stderr.contains(
            "pairing `SG-Rescue-L2` has no members while its Rescue group has 3 enabled users"
        ),
        "the empty-group guard: {}",
        blocked.transcript()
    );
    assert_eq!(setup.users(), expected, "nobody was disabled");
}

#[test]
fn a_refused_bind_is_a_failed_read_and_no_plan() {
    let setup = Setup::start("e2e-ldap-refused");
    let wrong = "Wrong-ldap-9Tx3-password";
    let run = setup.run_with_password(&["plan", "--json"], wrong);
    assert_eq!(run.code, 1, "{}", run.transcript());
    // No plan: stdout holds only the JSON error document every failing `--json` command prints.
    let document: serde_json::Value = serde_json::from_str(&run.stdout).expect("one document");
    assert!(document.get("actions").is_none(), "no plan: {}", run.stdout);
    assert_eq!(
        document["error"]["message"], "failed to read the directory",
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("failed to read the directory"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("rc 49 (invalidCredentials)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    assert!(!run.stderr.contains(wrong) && !run.stderr.contains(SERVICE_PASSWORD));

    // validate --online lists the refused bind in its checklist and still checks Rescue.
    let validate = setup.run_with_password(&["validate", "--online"], wrong);
    assert_eq!(validate.code, 1, "{}", validate.transcript());
    for line in [
        "FAIL Active Directory (LDAP): ",
        "FAIL pairings' Active Directory groups: not checked: no bind to the directory",
        "ok   LogMeIn Rescue: signed in to ",
        "ok   destination of `SG-Rescue-L2`: Helpdesk/L2 (node 12)",
        "adsync.yaml: not valid",
    ] {
        assert!(
            validate.stdout.contains(line),
            "{line}: {}",
            validate.stdout
        );
    }
    assert!(
        validate
            .stdout
            .contains("rc 49 (invalidCredentials)\n       hint: check source.bind_dn"),
        "{}",
        validate.stdout
    );
    let json = setup.run_with_password(&["validate", "--online", "--json"], wrong);
    assert_eq!(json.code, 1, "{}", json.transcript());
    let document: serde_json::Value = serde_json::from_str(&json.stdout).expect("one document");
    assert_eq!(document["valid"], false);
    assert_eq!(document["checks"][0]["check"], "configuration");
    assert!(
        document["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .any(|c| c["check"] == "Active Directory (LDAP)" && c["status"] == "fail"),
        "{}",
        json.stdout
    );
    for output in [
        &validate.stdout,
        &validate.stderr,
        &json.stdout,
        &json.stderr,
    ] {
        assert!(!output.contains(wrong) && !output.contains(SERVICE_PASSWORD));
    }
}

/// Cleartext LDAP to a host that is not loopback is refused before anything is sent, and the
/// message says what to use instead.
#[test]
fn cleartext_ldap_to_a_remote_host_is_refused_by_the_binary() {
    let setup = Setup::start("e2e-ldap-cleartext");
    let config = std::fs::read_to_string(setup.dir.join("adsync.yaml")).expect("the config");
    let remote = config.replace(&setup.slapd.ldaps_url(), "ldap://dc1.corp.example:389");
    std::fs::write(setup.dir.join("adsync.yaml"), remote).expect("the config");
    let run = setup.run(&["plan"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("clear text"), "{}", run.stderr);
    assert!(run.stderr.contains("starttls: true"), "{}", run.stderr);
}

/// A directory server that takes the connection and never answers is bounded by
/// `sync.read_budget_s`, not by the much longer `source.timeout_s` of each operation: `apply`
/// fails within the budget, names it, and writes nothing to Rescue.
#[test]
fn a_silent_ldap_server_fails_within_the_read_budget_and_nothing_is_written() {
    let setup = Setup::start("e2e-ldap-silent");
    // A bound socket the test never accepts from: the kernel completes the connection, and the
    // bind request then waits for an answer that never comes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = silent.local_addr().expect("its address").port();
    let config = std::fs::read_to_string(setup.dir.join("adsync.yaml")).expect("the config");
    let config = config
        .replace(
            &setup.slapd.ldaps_url(),
            &format!("ldap://127.0.0.1:{port}"),
        )
        .replace("sync:\n", "sync:\n  read_budget_s: 1\n");
    std::fs::write(setup.dir.join("adsync.yaml"), config).expect("the config");

    let started = std::time::Instant::now();
    let run = setup.run(&["apply", "--yes"]);
    let took = started.elapsed();
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        took < std::time::Duration::from_secs(15),
        "the 1 s budget ended the read, not the 20 s operation timeout: {took:?}"
    );
    assert!(
        run.stderr
            .contains("longer than its budget of 1s (sync.read_budget_s)"),
        "{}",
        run.transcript()
    );
    assert_eq!(setup.rescue.writes(), 0, "a failed read writes nothing");
    drop(silent);
}
