//! The `adsync` binary with `target: { type: goto }` against the GoTo emulator (serving from
//! this process while the binary runs as a child): `plan` shows priority and the licence
//! shortage, `apply` reports "out of licences" with its users and exits 4, a changed rule set
//! converges (apply, then plan finds nothing), a saved plan from another configuration is
//! refused, `tree` shows the account by product and user group, and nothing is deleted.

use adsync_core::secret::Secret;
use adsync_goto::{RefreshTokenStore, TokenFile};
use adsync_tests::goto_emulator::{CLIENT_SECRET, GotoEmulator, Route};
use calamine::{Reader, Xlsx, open_workbook};

use adsync_core::model::DirectorySnapshot;
use adsync_tests::graph_emulator::{self, GraphEmulator, RequestKind};

use crate::emulated::GRAPH_SECRET_VAR;
use crate::{Run, adsync, copy_fixture};

pub(crate) struct Goto {
    runtime: tokio::runtime::Runtime,
    pub(crate) emulator: GotoEmulator,
    pub(crate) dir: std::path::PathBuf,
}

impl Goto {
    pub(crate) fn start(name: &str) -> Goto {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let seed = serde_yaml::from_str(include_str!(
            "../../../../fixtures/goto/emulator-account.yaml"
        ))
        .expect("the fixture parses");
        let emulator = runtime.block_on(GotoEmulator::start(&seed));
        let dir = copy_fixture("goto", name);
        let config = std::fs::read_to_string(dir.join("adsync.yaml")).expect("config");
        let config = config.replace(
            "  concurrency: 4\n",
            &format!(
                "  concurrency: 4\n  admin_url: {}\n  token_url: {}\n  client_id: {}\n",
                emulator.admin_url(),
                emulator.token_url(),
                adsync_tests::goto_emulator::CLIENT_ID,
            ),
        );
        let config = config.replace("  client_id: 0d3c5a1e-7f42-4b8e-9c1d-2a6b8e4f0c17\n", "");
        std::fs::write(dir.join("adsync.yaml"), config).expect("written");
        std::fs::create_dir_all(dir.join(".adsync")).expect("state dir");
        TokenFile::new(dir.join(".adsync/goto-token.json"))
            .save(&Secret::new(emulator.grant_refresh_token()))
            .expect("the token file is written");
        Goto {
            runtime,
            emulator,
            dir,
        }
    }

    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    /// [`Goto::run`] with more environment variables.
    pub(crate) fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let _guard = self.runtime.enter();
        let mut all = vec!["--config", "adsync.yaml"];
        all.extend_from_slice(args);
        let mut env = env.to_vec();
        env.push(("ADSYNC_GOTO_CLIENT_SECRET", CLIENT_SECRET));
        adsync(&self.dir, &all, &env)
    }

    fn json(&self, args: &[&str]) -> (i32, serde_json::Value) {
        let run = self.run(args);
        let value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|error| panic!("{error}: {}", run.transcript()));
        (run.code, value)
    }
}

fn emails(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|e| e.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn plan_shows_priority_and_apply_reports_out_of_licences_with_the_users() {
    let goto = Goto::start("goto-e2e-licences");
    let plan = goto.run(&["plan"]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    assert!(
        plan.stdout
            .contains("+ add otto@contoso.com (Otto Lilienthal): G2M, OPENVOICE; Support"),
        "{}",
        plan.transcript()
    );
    assert!(
        plan.stdout
            .contains("left out: nina@contoso.com, pia@contoso.com"),
        "otto's rule comes first and takes the last G2M seat: {}",
        plan.transcript()
    );
    assert!(
        plan.stderr
            .contains("it-breakglass@contoso.com is protected"),
        "{}",
        plan.transcript()
    );
    let dry = goto.run(&["dry-run", "--out", "review.xlsx", "--detailed-exitcode"]);
    assert_eq!(dry.code, 2, "{}", dry.transcript());
    let mut workbook: Xlsx<_> =
        open_workbook(goto.dir.join("review.xlsx")).expect("a readable workbook");
    assert_eq!(
        workbook.sheet_names(),
        [
            "Summary",
            "Changes",
            "Out of licences",
            "Not in account",
            "Warnings"
        ]
    );
    let short = workbook
        .worksheet_range("Out of licences")
        .expect("the sheet");
    let users: Vec<String> = short.rows().skip(1).map(|row| row[5].to_string()).collect();
    assert_eq!(users, ["nina@contoso.com", "pia@contoso.com"]);
    assert_eq!(
        goto.emulator.count(Route::CreateUsers),
        0,
        "a dry run changes nothing"
    );
    let (code, report) = goto.json(&["apply", "--yes", "--json"]);
    assert_eq!(code, 4, "an apply with failures is incomplete: {report:#}");
    assert_eq!(
        emails(&report["failures"]["out_of_licenses"]),
        ["nina@contoso.com", "pia@contoso.com"]
    );
    assert_eq!(report["target"], "goto");
    let account = goto.emulator.snapshot();
    let ada = account.user_by_email("ada@contoso.com").expect("ada");
    assert_eq!(
        account
            .products_of(ada)
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>(),
        ["G2M", "G2W", "OPENVOICE"]
    );
    assert!(account.user_by_email("otto@contoso.com").is_some());
    assert!(account.user_by_email("nina@contoso.com").is_none());
    let audit = std::fs::read_to_string(goto.dir.join(".adsync/audit.jsonl")).expect("audit");
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"out_of_licenses\"") && l.contains("nina@")),
        "{audit}"
    );
    let last: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(goto.dir.join(".adsync/last-run.json")).expect("last run"),
    )
    .expect("json");
    assert_eq!(last["outcome"], "incomplete");
    assert_eq!(goto.emulator.count(Route::DeleteUser), 0);
    let again = goto.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        again.code,
        2,
        "nina and pia are still wanted: {}",
        again.transcript()
    );
}

#[test]
fn a_plan_that_fits_converges_and_a_stale_saved_plan_is_refused() {
    let goto = Goto::start("goto-e2e-converge");
    let config = goto.dir.join("adsync.yaml");
    fitting(&goto);
    let fits = std::fs::read_to_string(&config).expect("config");
    let saved = goto.run(&["plan", "--out", "plan.json"]);
    assert_eq!(saved.code, 0, "{}", saved.transcript());
    let (code, report) = goto.json(&["apply", "plan.json", "--json"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["counts"]["applied"], report["planned"]);
    let converged = goto.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(converged.code, 0, "{}", converged.transcript());
    assert!(
        converged.stdout.contains("no changes"),
        "{}",
        converged.transcript()
    );
    let mut welcomed = goto.emulator.welcome_emails();
    welcomed.sort();
    assert_eq!(
        welcomed,
        ["nina@contoso.com", "otto@contoso.com", "pia@contoso.com"],
        "GoTo's welcome e-mail goes out unless suppress_email is set"
    );
    // A plan saved, then the rules changed: the saved plan is refused.
    let saved = goto.run(&["plan", "--out", "old.json"]);
    assert_eq!(saved.code, 0, "{}", saved.transcript());
    std::fs::write(
        &config,
        fits.replace("user_group: Sales", "user_group: Support"),
    )
    .expect("written");
    let stale = goto.run(&["apply", "old.json"]);
    assert_eq!(stale.code, 1, "{}", stale.transcript());
    assert!(
        stale.stderr.contains("different configuration"),
        "{}",
        stale.transcript()
    );
    let tree = goto.run(&["tree"]);
    assert_eq!(tree.code, 0, "{}", tree.transcript());
    assert!(tree.stdout.contains("By product") && tree.stdout.contains("By user group"));
    assert!(
        tree.stdout
            .contains("nina@contoso.com (Nina Newcomer) [managed]"),
        "{}",
        tree.transcript()
    );
    let voice = goto.run(&["tree", "openvoice"]);
    assert_eq!(voice.code, 0, "{}", voice.transcript());
    assert!(
        voice.stdout.contains("  OPENVOICE") && !voice.stdout.contains("  G2W"),
        "{}",
        voice.transcript()
    );
    let (code, tree) = goto.json(&["tree", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(
        emails(&tree["products"]["G2W"]),
        ["ada@contoso.com"],
        "{tree:#}"
    );
    let unknown = goto.run(&["tree", "Nowhere"]);
    assert_eq!(unknown.code, 1, "{}", unknown.transcript());
    assert!(
        unknown
            .stderr
            .contains("user groups: Support, Sales, Tier 2"),
        "{}",
        unknown.transcript()
    );
    let status = goto.run(&["status"]);
    assert_eq!(status.code, 0, "{}", status.transcript());
    assert_eq!(goto.emulator.count(Route::DeleteUser), 0);
}

#[test]
fn a_suspension_beyond_the_budget_is_refused_until_allowed() {
    let goto = Goto::start("goto-e2e-guard");
    std::fs::write(
        goto.dir.join(".adsync/goto-managed.json"),
        r#"["grace@contoso.com"]"#,
    )
    .expect("managed");
    let config = goto.dir.join("adsync.yaml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        text.replace("max_disables: \"10%\"", "max_disables: 0"),
    )
    .expect("written");
    let refused = goto.run(&["apply", "--yes"]);
    assert_eq!(refused.code, 3, "{}", refused.transcript());
    assert!(
        refused.stderr.contains("--allow-destructive"),
        "{}",
        refused.transcript()
    );
    let grace = goto.emulator.snapshot();
    assert!(
        !grace
            .user_by_email("grace@contoso.com")
            .expect("grace")
            .is_suspended()
    );
    let allowed = goto.run(&["apply", "--yes", "--allow-destructive"]);
    assert_eq!(
        allowed.code,
        4,
        "nina and pia are out of licences: {}",
        allowed.transcript()
    );
    let account = goto.emulator.snapshot();
    let grace = account
        .user_by_email("grace@contoso.com")
        .expect("grace is kept");
    assert!(grace.is_suspended(), "suspended by removing every product");
    assert_eq!(goto.emulator.count(Route::DeleteUser), 0);
}

/// The fixture with the last rule's product changed so that every operation fits the seats.
fn fitting(goto: &Goto) {
    let config = goto.dir.join("adsync.yaml");
    let text = std::fs::read_to_string(&config).expect("config");
    let fits = text.replacen(
        "products: [G2M]\n      user_group: Sales",
        "products: [OPENVOICE]\n      user_group: Sales",
        1,
    );
    assert_ne!(fits, text);
    std::fs::write(&config, fits).expect("written");
}

#[test]
fn existing_accounts_429s_and_rotated_tokens_through_the_binary() {
    let goto = Goto::start("goto-e2e-existing");
    fitting(&goto);
    let config = goto.dir.join("adsync.yaml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        text.replace("suppress_email: false", "suppress_email: true"),
    )
    .expect("written");
    goto.emulator.set_foreign_emails(&["otto@contoso.com"]);
    goto.emulator.set_rotation(true);
    goto.emulator.inject(
        Some(Route::ListUsers),
        adsync_tests::goto_emulator::Fault::throttled(Some("0")),
        2,
    );
    let token_file = goto.dir.join(".adsync/goto-token.json");
    let before = std::fs::read_to_string(&token_file).expect("token file");
    let (code, report) = goto.json(&["apply", "--yes", "--json"]);
    assert_eq!(code, 4, "{report:#}");
    assert_eq!(
        emails(&report["failures"]["existing_account"]),
        ["otto@contoso.com"]
    );
    assert_eq!(report["failures"].as_object().map(|f| f.len()), Some(1));
    let after = std::fs::read_to_string(&token_file).expect("token file");
    assert_ne!(before, after, "the rotated refresh token was stored");
    assert!(
        goto.emulator.count(Route::ListUsers) >= 3,
        "the 429s were waited out"
    );
    assert!(
        goto.emulator.welcome_emails().is_empty(),
        "suppress_email: true sends no welcome e-mail: {:?}",
        goto.emulator.welcome_emails()
    );
    let explained = goto.run(&["explain", "otto@contoso.com"]);
    assert_eq!(explained.code, 0, "{}", explained.transcript());
    assert!(
        explained.stdout.contains("rules: support, everyone")
            && explained
                .stdout
                .contains("selected by the rules and not in the account"),
        "{}",
        explained.transcript()
    );
    let (code, grace) = goto.json(&["explain", "grace@contoso.com", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(grace["managed"], false);
    assert!(
        grace["why"]
            .as_str()
            .unwrap_or_default()
            .contains("left alone"),
        "{grace:#}"
    );
    assert!(
        !format!("{report}{}{grace}", explained.stdout).contains(CLIENT_SECRET),
        "no secret in any output"
    );
}

#[test]
fn an_apply_killed_mid_way_converges_on_the_next_run() {
    let goto = Goto::start("goto-e2e-killed");
    fitting(&goto);
    goto.emulator
        .set_latency(std::time::Duration::from_millis(400));
    let mut child = {
        let _guard = goto.runtime.enter();
        std::process::Command::new(env!("CARGO_BIN_EXE_adsync"))
            .args(["--config", "adsync.yaml", "apply", "--yes", "-q"])
            .current_dir(&goto.dir)
            .env_clear()
            .env("NO_COLOR", "1")
            .env("ADSYNC_GOTO_CLIENT_SECRET", CLIENT_SECRET)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("adsync starts")
    };
    let started = std::time::Instant::now();
    while goto.emulator.count(Route::CreateUsers) + goto.emulator.count(Route::UpdateUser) == 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the apply never wrote"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().expect("killed");
    let _ = child.wait();
    goto.emulator.set_latency(std::time::Duration::ZERO);
    let rerun = goto.run(&["apply", "--yes"]);
    assert_eq!(rerun.code, 0, "{}", rerun.transcript());
    assert!(
        rerun.stderr.contains("taking over"),
        "the dead run's lock is taken over: {}",
        rerun.transcript()
    );
    let converged = goto.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(converged.code, 0, "{}", converged.transcript());
    let account = goto.emulator.snapshot();
    for email in ["nina@contoso.com", "otto@contoso.com", "pia@contoso.com"] {
        let count = account.users.iter().filter(|u| u.email == email).count();
        assert_eq!(count, 1, "{email} is in the account once");
    }
    assert_eq!(goto.emulator.count(Route::DeleteUser), 0);
}

/// `adsync run --listen` with a GoTo target: the first cycle's failures reach the page's
/// `/api/failures` with the same categories and users as Rescue's (one banner per category).
#[test]
fn the_service_page_shows_goto_failures_by_category_with_users() {
    let goto = Goto::start("goto-e2e-service");
    goto.emulator.set_foreign_emails(&["otto@contoso.com"]);
    let stderr_path = goto.dir.join("run.stderr");
    let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
    let child = {
        let _guard = goto.runtime.enter();
        std::process::Command::new(env!("CARGO_BIN_EXE_adsync"))
            .args([
                "--config",
                "adsync.yaml",
                "run",
                "--every",
                "1h",
                "--listen",
                "127.0.0.1:0",
            ])
            .current_dir(&goto.dir)
            .env_clear()
            .env("NO_COLOR", "1")
            .env("ADSYNC_GOTO_CLIENT_SECRET", CLIENT_SECRET)
            .stdout(std::process::Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("adsync starts")
    };
    let mut child = KillOnDrop(child);
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("a client");
    let get = |base: &str, path: &str| -> serde_json::Value {
        goto.runtime.block_on(async {
            let answer = client
                .get(format!("{base}{path}"))
                .send()
                .await
                .expect("an answer");
            answer.json().await.expect("json")
        })
    };
    let started = std::time::Instant::now();
    let (base, failures) = loop {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "no finished cycle: {}",
            std::fs::read_to_string(&stderr_path).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
        let text = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        let Some(base) = text
            .lines()
            .find_map(|l| l.strip_prefix("serving the service page on "))
        else {
            continue;
        };
        let base = base.trim_end_matches('/').to_owned();
        let status = get(&base, "/api/status");
        if status["last_run"]["finished"].is_string() {
            break (base.clone(), get(&base, "/api/failures"));
        }
    };
    let users = |category: &str| -> Vec<String> {
        let mut users: Vec<String> = failures["failures"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["category"] == category)
            .filter_map(|f| f["email"].as_str().map(str::to_owned))
            .collect();
        users.sort();
        users
    };
    assert_eq!(
        users("existing_account"),
        ["otto@contoso.com"],
        "{failures:#}"
    );
    assert_eq!(
        users("out_of_licenses"),
        ["nina@contoso.com", "pia@contoso.com"],
        "{failures:#}"
    );
    let banners: Vec<&str> = failures["banners"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["category"].as_str())
        .collect();
    assert_eq!(banners, ["existing_account", "out_of_licenses"]);
    let status = get(&base, "/api/status");
    assert_eq!(status["last_run"]["outcome"], "incomplete", "{status:#}");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status();
    let _ = child.0.wait();
}

/// A child process killed when dropped, so a failing test leaves no service behind.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The GoTo fixture read through the Graph emulator, with Otto and Grace in department
/// Support, and the `support` rule selecting by `where:` instead of its group.
fn where_rule_through_graph(name: &str) -> (Goto, GraphEmulator) {
    let goto = Goto::start(name);
    let mut directory: DirectorySnapshot =
        serde_yaml::from_str(include_str!("../../../../fixtures/goto/directory.yaml"))
            .expect("the fixture parses");
    for user in &mut directory.users {
        if ["u-otto", "u-grace"].contains(&user.id.as_str()) {
            user.department = Some("Support".to_owned());
        }
    }
    let graph = goto.runtime.block_on(GraphEmulator::start(directory));
    let config = goto.dir.join("adsync.yaml");
    let text = std::fs::read_to_string(&config).expect("config");
    let source = format!(
        "source:\n  type: graph\n  tenant: {}\n  client_id: {}\n  client_secret: {{ env: {} }}\n  \
         authority_url: {uri}\n  graph_url: {uri}\n  retry: {{ max_attempts: 2, \
         initial_backoff_ms: 1, max_backoff_ms: 5, request_timeout_s: 2 }}\n",
        graph_emulator::TENANT,
        graph_emulator::CLIENT_ID,
        GRAPH_SECRET_VAR,
        uri = graph.uri(),
    );
    let edited = text
        .replace(
            "source:\n  type: snapshot                 # or graph / ldap, as for Rescue\n  \
             path: directory.yaml\n",
            &source,
        )
        .replace(
            "      entra_group: SG-GoTo-Support\n",
            "      where: department eq 'Support'\n",
        );
    assert!(
        edited.contains("type: graph") && edited.contains("where: department"),
        "{edited}"
    );
    std::fs::write(&config, edited).expect("written");
    (goto, graph)
}

fn run_with_graph(goto: &Goto, args: &[&str]) -> Run {
    goto.run_with(args, &[(GRAPH_SECRET_VAR, graph_emulator::CLIENT_SECRET)])
}

#[test]
fn a_where_rule_selects_users_through_the_graph_and_goto_emulators() {
    let (goto, graph) = where_rule_through_graph("goto-e2e-where");
    let run = run_with_graph(&goto, &["plan"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout
            .contains("+ add otto@contoso.com (Otto Lilienthal): G2M, OPENVOICE; Support"),
        "Otto is selected by his department: {}",
        run.transcript()
    );
    // The rule's users were read with one filtered `/users` listing, the condition's attribute
    // selected; the other rules' groups as before, and the support group not at all.
    let listings: Vec<_> = graph
        .served()
        .into_iter()
        .filter(|served| served.kind == RequestKind::UserList)
        .collect();
    assert_eq!(listings.len(), 1, "{listings:#?}");
    assert!(
        listings[0]
            .request
            .contains("department%20eq%20%27Support%27")
            || listings[0].request.contains("department+eq+%27Support%27"),
        "{listings:#?}"
    );
    assert!(
        graph
            .served()
            .iter()
            .all(|served| !served.request.contains("g-support")),
        "{:#?}",
        graph.served()
    );
    // Ada (in the support group, but not in department Support) is not the rule's: nothing
    // gives her OPENVOICE.
    assert!(
        !run.stdout
            .lines()
            .any(|line| line.contains("ada@contoso.com") && line.contains("OPENVOICE")),
        "{}",
        run.transcript()
    );
}

#[test]
fn a_bad_condition_in_a_goto_rule_is_a_configuration_error_naming_file_key_and_column() {
    let (goto, graph) = where_rule_through_graph("goto-e2e-where-bad");
    let config = goto.dir.join("adsync.yaml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        text.replace("where: department eq", "where: departmnt eq"),
    )
    .expect("written");
    for command in [&["validate"][..], &["plan"][..]] {
        let run = run_with_graph(&goto, command);
        assert_eq!(run.code, 1, "{}", run.transcript());
        for expected in [
            "`adsync.yaml`",
            "goto.rules[1]",
            "where: condition `departmnt eq 'Support'`, column 1: unknown attribute `departmnt`",
            "did you mean `department`",
            "line ",
        ] {
            assert!(
                run.stderr.contains(expected),
                "{expected}: {}",
                run.transcript()
            );
        }
    }
    assert!(graph.served().is_empty(), "nothing was read");
    assert_eq!(goto.emulator.count(Route::ListUsers), 0, "nothing was read");
}

#[test]
fn a_revoked_refresh_token_says_to_sign_in_again_and_changes_nothing() {
    let goto = Goto::start("goto-e2e-revoked");
    goto.emulator.revoke_refresh_tokens();
    let run = goto.run(&["apply", "--yes"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("adsync goto login"),
        "the error says what to run: {}",
        run.transcript()
    );
    assert_eq!(goto.emulator.count(Route::CreateUsers), 0);
    assert_eq!(goto.emulator.count(Route::UpdateUser), 0);
    let last: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(goto.dir.join(".adsync/last-run.json")).expect("last run"),
    )
    .expect("json");
    assert_eq!(last["outcome"], "error");
    assert!(
        !goto.dir.join(".adsync/goto-managed.json").exists(),
        "a failed read records nothing as managed"
    );
}

#[test]
fn validate_online_signs_in_reads_the_account_and_finds_every_rule_group() {
    let goto = Goto::start("goto-e2e-validate");
    let run = goto.run(&["validate", "--online"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    for expected in [
        "configuration: 3 goto rules",
        "signed in to account 8830995",
        "3 users",
        "goto rule support",
        "goto rule webinar hosts",
    ] {
        assert!(
            run.stdout.contains(expected),
            "{expected}: {}",
            run.transcript()
        );
    }
    let config = goto.dir.join("adsync.yaml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, text.replace("SG-GoTo-Webinar", "SG-GoTo-Webinars")).expect("written");
    let run = goto.run(&["validate", "--online"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stdout.contains("goto rule webinar hosts"),
        "{}",
        run.transcript()
    );
}
