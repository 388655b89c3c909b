//! The harness for running the real `adsync` binary against the Graph and Rescue emulators.
//!
//! Both emulators serve from loopback ports inside the test process (wiremock runs each server
//! on its own thread; the harness's multi-thread runtime drives their start-up), while the
//! binary runs as a child process. A fixture folder seeds them: the Graph emulator from its
//! `directory.yaml`, the Rescue emulator from its `rescue.yaml`, and the configuration keeps the
//! fixture's `sync` and `pairings` with `source`/`target` pointing at the emulators.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use adsync_core::model::{DirectorySnapshot, RescueNode, RescueSnapshot};
use adsync_tests::graph_emulator::{self, GraphEmulator};
use adsync_tests::rescue_emulator::{self, RescueEmulator};

use crate::{Run, adsync, repo_root, scratch};

/// The variable holding the Graph client secret.
pub(crate) const GRAPH_SECRET_VAR: &str = "E2E_GRAPH_CLIENT_SECRET";
/// The variable holding the Rescue API token.
pub(crate) const RESCUE_TOKEN_VAR: &str = "E2E_RESCUE_API_TOKEN";
/// The variable holding the Rescue account password (password sign-in).
pub(crate) const RESCUE_PASSWORD_VAR: &str = "E2E_RESCUE_PASSWORD";
/// The variable holding the default password for new users.
pub(crate) const DEFAULT_PASSWORD_VAR: &str = "E2E_DEFAULT_PASSWORD";
/// The default password new users get: a value no output has a reason to contain.
pub(crate) const DEFAULT_PASSWORD: &str = "Dflt-e2e-9Qz7-Wx4v-default-password";

/// Every secret value a run is given, for the tests that look for leaks.
pub(crate) const SECRETS: [&str; 4] = [
    graph_emulator::CLIENT_SECRET,
    rescue_emulator::API_TOKEN,
    rescue_emulator::ACCOUNT_PASSWORD,
    DEFAULT_PASSWORD,
];

/// How adsync signs in to Rescue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Auth {
    /// `auth: { api_token: ... }`.
    Token,
    /// `auth: { email: ..., password: ... }`, exchanged with `requestAuthCode`.
    Password,
}

/// Both emulators, seeded from one fixture, and a folder holding the configuration.
pub(crate) struct Emulated {
    pub(crate) graph: GraphEmulator,
    pub(crate) rescue: RescueEmulator,
    /// The folder the binary runs in; `adsync.yaml` is here, and the state directory below it.
    pub(crate) dir: PathBuf,
    /// The fixture configuration's `sync` and `pairings` (and `nested_groups`).
    rules: serde_yaml::Mapping,
    nested_groups: bool,
    // Declared last: dropped after the emulators it started.
    _runtime: tokio::runtime::Runtime,
}

impl Emulated {
    /// Seeds both emulators from `fixtures/<fixture>` (its `adsync.yaml` or `config.yaml`, and
    /// `links.yaml` when there is one, as the state directory's `links.json`), and writes
    /// `adsync.yaml` for API-token sign-in into a fresh folder `name`.
    pub(crate) fn start(fixture: &str, name: &str) -> Emulated {
        let from = repo_root().join("fixtures").join(fixture);
        let directory: DirectorySnapshot = read_yaml(&from.join("directory.yaml"));
        let rescue: RescueSnapshot = read_yaml(&from.join("rescue.yaml"));
        let config_path = ["adsync.yaml", "config.yaml"]
            .iter()
            .map(|file| from.join(file))
            .find(|path| path.exists())
            .unwrap_or_else(|| panic!("{fixture} holds a configuration"));
        let config: serde_yaml::Value = read_yaml(&config_path);
        let nested_groups = config["source"]["nested_groups"].as_bool().unwrap_or(true);
        let mut rules = serde_yaml::Mapping::new();
        for key in ["sync", "pairings"] {
            if let Some(value) = config.get(key) {
                rules.insert(key.into(), value.clone());
            }
        }

        let emulated = Emulated::seeded(name, directory, &rescue, rules, nested_groups);
        seed_links(fixture, &emulated.dir);
        emulated.write_config(Auth::Token);
        emulated
    }

    /// Starts both emulators on `directory` and `rescue` with a fresh, empty folder `name`;
    /// `rules` are the `sync` and `pairings` [`Self::config_text`] writes.
    pub(crate) fn seeded(
        name: &str,
        directory: DirectorySnapshot,
        rescue: &RescueSnapshot,
        rules: serde_yaml::Mapping,
        nested_groups: bool,
    ) -> Emulated {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let (graph, rescue) = runtime.block_on(async {
            (
                GraphEmulator::start(directory).await,
                RescueEmulator::start(rescue).await,
            )
        });
        Emulated {
            graph,
            rescue,
            dir: scratch(name),
            rules,
            nested_groups,
            _runtime: runtime,
        }
    }

    /// The configuration text: `source` and `target` on the emulators, with retries that do
    /// not sleep and a short request timeout, then the fixture's rules.
    pub(crate) fn config_text(&self, auth: Auth) -> String {
        let auth = match auth {
            Auth::Token => format!("    api_token: {{ env: {RESCUE_TOKEN_VAR} }}\n"),
            Auth::Password => format!(
                "    email: {}\n    password: {{ env: {RESCUE_PASSWORD_VAR} }}\n",
                rescue_emulator::ACCOUNT_EMAIL
            ),
        };
        let rules = serde_yaml::to_string(&self.rules).expect("the rules serialize");
        format!(
            "\
source:
  type: graph
  tenant: {tenant}
  client_id: {client_id}
  client_secret: {{ env: {GRAPH_SECRET_VAR} }}
  authority_url: {graph}
  graph_url: {graph}
  nested_groups: {nested}
  retry: {{ max_attempts: 3, initial_backoff_ms: 1, max_backoff_ms: 5, request_timeout_s: 2 }}
target:
  type: rescue
  base_url: {rescue}
  auth:
{auth}  default_password: {{ env: {DEFAULT_PASSWORD_VAR} }}
  concurrency: 4
  retry: {{ max_attempts: 3, initial_backoff_ms: 1, max_backoff_ms: 5, request_timeout_s: 2 }}
{rules}",
            tenant = graph_emulator::TENANT,
            client_id = graph_emulator::CLIENT_ID,
            graph = self.graph.uri(),
            nested = self.nested_groups,
            rescue = self.rescue.uri(),
        )
    }

    /// Writes `adsync.yaml` for `auth`.
    pub(crate) fn write_config(&self, auth: Auth) {
        self.write_config_text(&self.config_text(auth));
    }

    /// Replaces `from` with `to` in `adsync.yaml` (which must hold it).
    pub(crate) fn edit_config(&self, from: &str, to: &str) {
        let text = self.read("adsync.yaml");
        assert!(text.contains(from), "adsync.yaml holds `{from}`:\n{text}");
        self.write_config_text(&text.replacen(from, to, 1));
    }

    /// Writes `text` as `adsync.yaml`.
    pub(crate) fn write_config_text(&self, text: &str) {
        std::fs::write(self.dir.join("adsync.yaml"), text).expect("config written");
    }

    /// The environment a run gets: every secret variable, with the values the emulators accept.
    pub(crate) fn env(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            (GRAPH_SECRET_VAR, graph_emulator::CLIENT_SECRET),
            (RESCUE_TOKEN_VAR, rescue_emulator::API_TOKEN),
            (RESCUE_PASSWORD_VAR, rescue_emulator::ACCOUNT_PASSWORD),
            (DEFAULT_PASSWORD_VAR, DEFAULT_PASSWORD),
        ]
    }

    /// Runs `adsync args` in the folder with [`Self::env`].
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        adsync(&self.dir, args, &self.env())
    }

    /// Runs `adsync args` in the folder with `env` instead.
    pub(crate) fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        adsync(&self.dir, args, env)
    }

    /// A child `adsync` process in the folder with [`Self::env`], output piped to files in
    /// the folder (`<label>.stdout`, `<label>.stderr`).
    pub(crate) fn spawn(&self, args: &[&str], label: &str) -> std::process::Child {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_adsync"));
        command
            .args(args)
            .current_dir(&self.dir)
            .env_clear()
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(self.dir.join(format!("{label}.stdout"))).expect("file"))
            .stderr(std::fs::File::create(self.dir.join(format!("{label}.stderr"))).expect("file"));
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        for (key, value) in self.env() {
            command.env(key, value);
        }
        command.spawn().expect("the adsync binary starts")
    }

    /// A file below the folder, or "" when it does not exist.
    pub(crate) fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.dir.join(relative)).unwrap_or_default()
    }

    /// The users in the Rescue emulator with `email` (any plane).
    pub(crate) fn users_with_email(&self, email: &str) -> Vec<RescueNode> {
        self.rescue
            .snapshot()
            .nodes
            .into_iter()
            .filter(|node| {
                node.node_type.user_role().is_some()
                    && node
                        .email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .collect()
    }

    /// Asserts that no plane of the Rescue emulator holds two users with one e-mail.
    pub(crate) fn assert_no_duplicate_users(&self) {
        let mut seen = std::collections::BTreeMap::new();
        for node in self.rescue.snapshot().nodes {
            let (Some(role), Some(email)) = (node.node_type.user_role(), node.email.as_deref())
            else {
                continue;
            };
            let key = (role.plane(), email.to_lowercase());
            if let Some(other) = seen.insert(key.clone(), node.id) {
                panic!(
                    "two users with {} in one plane: nodes {other} and {}",
                    key.1, node.id
                );
            }
        }
    }
}

/// Writes a fixture's `links.yaml`, when it has one, as `<dir>/.adsync/links.json`: the links a
/// scenario describes are what the state directory would hold.
pub(crate) fn seed_links(fixture: &str, dir: &Path) {
    let links = repo_root()
        .join("fixtures")
        .join(fixture)
        .join("links.yaml");
    if links.exists() {
        let links: serde_json::Value = read_yaml(&links);
        let state = dir.join(".adsync");
        std::fs::create_dir_all(&state).expect("state directory");
        std::fs::write(state.join("links.json"), links.to_string()).expect("links written");
    }
}

pub(crate) fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Insta settings that scrub what changes between runs: emulator ports, times, run ids, pids,
/// config digests (the configuration holds the ports).
pub(crate) fn filters() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    for (pattern, replacement) in [
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", "[TIME]"),
        (r"\b\d{8}-\d{6}-\d+\b", "[RUN_ID]"),
        (r"\b\d{8}-\d{6}\b", "[STAMP]"),
        (r"sha256:[0-9a-f]{64}", "sha256:[DIGEST]"),
        (r"\bpid \d+", "pid [PID]"),
        (r"emulator-authcode-\d+-\d+", "[AUTHCODE]"),
    ] {
        settings.add_filter(pattern, replacement);
    }
    settings
}

/// Waits until `done` holds, checking every 20 ms, for at most `limit`; false when it never did.
pub(crate) fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// Waits for `child` to exit, for at most `limit`; kills it and panics when it does not.
pub(crate) fn wait_for_exit(
    child: &mut std::process::Child,
    limit: Duration,
) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("adsync did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
