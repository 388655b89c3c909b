//! Reading the configuration and the files it names, and resolving secrets. The only module
//! that knows where things live on disk; `wiring` builds the source and target from what it
//! reads.

use std::path::{Path, PathBuf};

use adsync_core::adapter::SourceRequest;
use adsync_core::config::Config;
use adsync_core::plan::Links;
use adsync_core::secret::{Secret, SecretRef};
use serde::de::DeserializeOwned;

use crate::bounded::{self, ReadError};
use crate::error::Error;

/// The default configuration file name.
pub(crate) const DEFAULT_CONFIG: &str = "adsync.yaml";

/// A configuration and where it came from.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The file.
    pub(crate) path: PathBuf,
    /// The folder relative paths resolve against.
    pub(crate) base: PathBuf,
    /// The parsed, validated configuration.
    pub(crate) config: Config,
    /// Counts the adapters' requests (set by `run --listen` for the page's metrics).
    pub(crate) observer: Option<std::sync::Arc<dyn adsync_core::adapter::RequestObserver>>,
    /// `--full`: the next read reads everything (the first read takes it).
    pub(crate) full_read: std::sync::atomic::AtomicBool,
    /// The Rescue detail cache the target reads through (set when the target is built).
    pub(crate) details: DetailSlot,
    /// `adsync run`'s Graph source, kept between cycles (`None`: a new one per read).
    pub(crate) graph_keeper: Option<std::sync::Arc<GraphKeeper>>,
}

impl Loaded {
    /// `relative` resolved against the folder of the configuration file.
    pub(crate) fn resolve(&self, relative: &str) -> PathBuf {
        let path = Path::new(relative);
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.base.join(path)
        }
    }

    /// The state directory.
    pub(crate) fn state_dir(&self) -> PathBuf {
        self.resolve(&self.config.sync.state_dir)
    }

    /// The request the source gets: the pairings' groups and conditions, in order, once each, and
    /// the attributes the configuration reads.
    pub(crate) fn source_request(&self) -> SourceRequest {
        SourceRequest::for_config(&self.config)
    }
}

/// Reads, parses and validates the configuration.
pub(crate) fn load_config(path: &Path) -> Result<Loaded, Error> {
    let text = bounded::read_text(path, bounded::CONFIG_LIMIT).map_err(|error| match error {
        ReadError::Io(source) => Error::ConfigRead {
            path: path.to_owned(),
            source,
        },
        other => Error::ConfigSyntax {
            path: path.to_owned(),
            message: other.to_string(),
        },
    })?;
    let config = parse_config(&text, path)?;
    let base = path.parent().map(Path::to_owned).unwrap_or_default();
    let base = if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base
    };
    Ok(Loaded {
        path: path.to_owned(),
        base,
        config,
        observer: None,
        full_read: std::sync::atomic::AtomicBool::new(false),
        details: Default::default(),
        graph_keeper: None,
    })
}

/// Parses and validates configuration text; errors name the file, the key path and, where
/// the YAML parser gives them, the line and column.
pub(crate) fn parse_config(text: &str, path: &Path) -> Result<Config, Error> {
    bounded::check_yaml_depth(text).map_err(|message| Error::ConfigSyntax {
        path: path.to_owned(),
        message,
    })?;
    let config: Config = serde_yaml::from_str(text).map_err(|error| Error::ConfigSyntax {
        path: path.to_owned(),
        message: crate::yaml_error::explain(&error.to_string(), text),
    })?;
    config.validate().map_err(|problems| Error::ConfigInvalid {
        path: path.to_owned(),
        problems: problems.iter().map(ToString::to_string).collect(),
    })?;
    Ok(config)
}

/// Resolves a secret reference; `key` names the configuration key for messages.
pub(crate) fn secret(loaded: &Loaded, reference: &SecretRef, key: &str) -> Result<Secret, Error> {
    match reference {
        SecretRef::Env(name) => match std::env::var(name) {
            Ok(value) if !value.is_empty() => Ok(Secret::new(value)),
            Ok(_) => Err(Error::Secret {
                key: key.to_owned(),
                what: format!("environment variable `{name}` is empty"),
                hint: format!("set {name} to the secret before running adsync"),
            }),
            Err(_) => Err(Error::Secret {
                key: key.to_owned(),
                what: format!("environment variable `{name}` is not set"),
                hint: format!("set {name} to the secret before running adsync"),
            }),
        },
        SecretRef::File(file) => {
            let path = loaded.resolve(file);
            match bounded::read_text(&path, bounded::SECRET_LIMIT) {
                Ok(value) if !value.trim().is_empty() => Ok(Secret::new(value)),
                Ok(_) => Err(Error::Secret {
                    key: key.to_owned(),
                    what: format!("file `{}` is empty", path.display()),
                    hint: format!("write the secret to {}", path.display()),
                }),
                Err(error) => Err(Error::Secret {
                    key: key.to_owned(),
                    what: format!("file `{}`: {error}", path.display()),
                    hint: format!(
                        "write the secret to {} (readable by adsync only)",
                        path.display()
                    ),
                }),
            }
        }
    }
}

/// Reads a YAML or JSON data file, of at most [`bounded::DATA_LIMIT`] bytes and, for YAML,
/// [`bounded::MAX_YAML_DEPTH`] levels of flow nesting.
pub(crate) fn read_data<T: DeserializeOwned>(path: &Path) -> Result<T, Error> {
    let text = bounded::read_text(path, bounded::DATA_LIMIT).map_err(|error| Error::DataFile {
        path: path.to_owned(),
        message: error.to_string(),
    })?;
    parse_data(path, &text).map_err(|message| Error::DataFile {
        path: path.to_owned(),
        message,
    })
}

/// Parses data file text as JSON (`.json`) or YAML.
fn parse_data<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, String> {
    let is_json = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
    if is_json {
        serde_json::from_str(text).map_err(|error| error.to_string())
    } else {
        bounded::check_yaml_depth(text)?;
        serde_yaml::from_str(text).map_err(|error| error.to_string())
    }
}

/// Links from the state directory; none when the file does not exist. A corrupt file is an
/// error naming it; a run that holds the lock sets it aside first (`state::set_aside_corrupt`).
pub(crate) fn read_links(loaded: &Loaded) -> Result<Links, Error> {
    let path = loaded.state_dir().join(LINKS);
    match read_state::<Links>(&path) {
        Ok(links) => Ok(links.unwrap_or_default()),
        Err(problem) => Err(Error::StateFile {
            path,
            problem,
            set_aside: None,
        }),
    }
}

/// The links file in the state directory.
pub(crate) const LINKS: &str = "links.json";

/// A JSON state file: `None` when it does not exist, the problem when it cannot be used.
pub(crate) fn read_state<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, String> {
    match bounded::read_text(path, bounded::DATA_LIMIT) {
        Ok(text) => parse_data(path, &text).map(Some),
        Err(ReadError::Io(error)) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error.to_string()),
    }
}

/// A Graph source kept between the cycles of `adsync run`, so one token serves the cycles of
/// its lifetime. A changed `source` section, client secret or `sync.read_budget_s` builds a new
/// one; so does a cycle that failed ([`GraphKeeper::forget`]).
#[derive(Debug, Default)]
pub(crate) struct GraphKeeper {
    kept: std::sync::Mutex<Option<Kept>>,
}

/// What a kept source was built from, and the source.
pub(crate) type Kept = (
    adsync_core::config::GraphSourceConfig,
    adsync_core::secret::Secret,
    u64,
    std::sync::Arc<adsync_graph::GraphSource>,
);

impl GraphKeeper {
    /// Drops the kept source: the next cycle signs in again.
    pub(crate) fn forget(&self) {
        *self.lock() = None;
    }

    /// The kept source and what it was built from (`crate::wiring::kept_graph` uses it).
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Option<Kept>> {
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The Rescue detail cache's store slot in [`Loaded`] (`crate::incremental` fills it).
pub(crate) type DetailSlot = std::sync::Mutex<
    Option<(
        std::sync::Arc<adsync_rescue::cache::CacheStore>,
        Option<String>,
    )>,
>;

/// Hostile configuration text: arbitrary text, structured mutations of real configurations and
/// literal secrets of every type. `parse_config` never panics, fails with a configuration error
/// naming the file, and never quotes a secret.
///
/// Cases per property: 3,000 by default; `PROPTEST_CASES` overrides it (the long run in
/// docs/reliability.md uses 100,000).
#[cfg(test)]
mod hostile {
    use std::path::Path;

    use proptest::prelude::*;
    use serde_yaml::Value;

    use super::parse_config;
    use crate::error::Error;

    fn config() -> ProptestConfig {
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|cases| cases.parse().ok())
            .unwrap_or(3_000);
        ProptestConfig {
            cases,
            ..ProptestConfig::default()
        }
    }

    /// Every setting in use: both source and target types, both sign-in modes, every pairing
    /// shape.
    const FULL: &str = r#"source:
  type: graph
  tenant: contoso.onmicrosoft.com
  client_id: 6731de76-14a6-49ae-97bc-6eba6914391e
  client_secret: { env: ADSYNC_GRAPH_CLIENT_SECRET }
  cloud: usgov
  authority_url: https://login.example.com
  graph_url: https://graph.example.com
  nested_groups: true
  concurrency: 8
  retry: { max_attempts: 6, initial_backoff_ms: 500, max_backoff_ms: 30000, max_elapsed_s: 180, request_timeout_s: 60 }
target:
  type: rescue
  region: eu
  auth:
    email: admin@contoso.com
    password: { file: /run/secrets/rescue }
  default_password: { env: ADSYNC_DEFAULT_PASSWORD }
  concurrency: 4
sync:
  full_group_sync: true
  use_upn_instead_of_email: false
  email_as_ssoid: false
  create_missing_groups: true
  protected: [owner@contoso.com]
  limits: { max_pairings: 999, max_members_per_group: 999 }
  safety: { max_disables: "10%", max_moves: 25 }
  state_dir: .adsync
pairings:
  - name: helpdesk-l2
    entra_group: SG-Rescue-L2
    rescue_group: Helpdesk/L2
    role: technician
    mobile_license: true
    attributes: [name, email, ssoid, nick, description]
    upn_as_ssoid: true
  - entra_group: { id: 0b6f6c3e-1d2a-4c55-9a51-3c1f0d3b7e11 }
    rescue_group: { id: 42 }
    role: technician
    email_as_ssoid: true
  - entra_group: SG-Rescue-Admins
    rescue_group: ""
    role: administrator
  - entra_group: SG-Rescue-Masters
    role: master_administrator
"#;

    const SNAPSHOT: &str = "source:\n  type: snapshot\n  path: directory.yaml\n  nested_groups: false\ntarget:\n  type: snapshot\n  path: rescue.yaml\n  concurrency: 2\npairings: []\n";

    fn seeds() -> Vec<String> {
        vec![
            FULL.to_owned(),
            FULL.replace(
                "    email: admin@contoso.com\n    password: { file: /run/secrets/rescue }\n",
                "    api_token: { env: ADSYNC_RESCUE_API_TOKEN }\n",
            ),
            SNAPSHOT.to_owned(),
            include_str!("../../../fixtures/demo/adsync.yaml").to_owned(),
        ]
    }

    /// Parses `text`: no panic, and any failure is a configuration error naming the file.
    fn check(text: &str) -> Result<(), TestCaseError> {
        match parse_config(text, Path::new("hostile.yaml")) {
            Ok(config) => {
                // What parses is valid, and its digest and Debug can be made.
                prop_assert!(config.validate().is_ok());
                let _ = (config.digest(), format!("{config:?}"));
            }
            Err(error @ (Error::ConfigSyntax { .. } | Error::ConfigInvalid { .. })) => {
                prop_assert!(error.to_string().contains("hostile.yaml"), "{error}");
            }
            Err(other) => prop_assert!(false, "not a configuration error: {other:?}"),
        }
        Ok(())
    }

    fn scalar() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("~".to_owned()),
            Just("0".to_owned()),
            Just("-1".to_owned()),
            Just("18446744073709551616".to_owned()),
            Just("1e400".to_owned()),
            Just("\"999999999999999999999%\"".to_owned()),
            Just("\"-5%\"".to_owned()),
            Just("\"%\"".to_owned()),
            Just("\"101%\"".to_owned()),
            Just("[".to_owned()),
            Just("{".to_owned()),
            Just("&a x".to_owned()),
            Just("*a".to_owned()),
            Just("!!binary AAAA".to_owned()),
            Just("!custom x".to_owned()),
            Just("{ env: }".to_owned()),
            Just("{ id: -1 }".to_owned()),
            Just("\"\\u0000\"".to_owned()),
            Just("\"\u{202e}\u{feff}\"".to_owned()),
            Just("technician".to_owned()),
            Just("/".to_owned()),
            Just("\"//\"".to_owned()),
            "[^\n]{0,24}",
        ]
    }

    #[derive(Clone, Debug)]
    enum Mutation {
        DeleteLine(usize),
        DuplicateLine(usize),
        SwapLines(usize, usize),
        Indent(usize, usize),
        Dedent(usize),
        ReplaceValue(usize, String),
        RenameKey(usize, String),
        Truncate(usize),
        InsertChar(usize, char),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            any::<usize>().prop_map(Mutation::DeleteLine),
            any::<usize>().prop_map(Mutation::DuplicateLine),
            (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
            (any::<usize>(), 1..6_usize).prop_map(|(at, by)| Mutation::Indent(at, by)),
            any::<usize>().prop_map(Mutation::Dedent),
            (any::<usize>(), scalar()).prop_map(|(at, v)| Mutation::ReplaceValue(at, v)),
            (any::<usize>(), "[a-z_]{0,12}").prop_map(|(at, k)| Mutation::RenameKey(at, k)),
            any::<usize>().prop_map(Mutation::Truncate),
            (any::<usize>(), any::<char>()).prop_map(|(at, c)| Mutation::InsertChar(at, c)),
        ]
    }

    fn apply(text: &str, mutation: &Mutation) -> String {
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let n = lines.len().max(1);
        match mutation {
            Mutation::DeleteLine(at) if !lines.is_empty() => {
                lines.remove(at % n);
            }
            Mutation::DuplicateLine(at) => {
                if let Some(line) = lines.get(at % n).cloned() {
                    lines.insert(at % n, line);
                }
            }
            Mutation::SwapLines(a, b) if !lines.is_empty() => lines.swap(a % n, b % n),
            Mutation::Indent(at, by) => {
                if let Some(line) = lines.get_mut(at % n) {
                    line.insert_str(0, &" ".repeat(*by));
                }
            }
            Mutation::Dedent(at) => {
                if let Some(line) = lines.get_mut(at % n) {
                    *line = line.trim_start().to_owned();
                }
            }
            Mutation::ReplaceValue(at, value) => {
                if let Some(line) = lines.get_mut(at % n)
                    && let Some((key, _)) = line.split_once(':')
                {
                    *line = format!("{key}: {value}");
                }
            }
            Mutation::RenameKey(at, key) => {
                if let Some(line) = lines.get_mut(at % n)
                    && let Some((old, value)) = line.split_once(':')
                {
                    let indent: String = old.chars().take_while(|c| *c == ' ').collect();
                    let dash = if old.trim_start().starts_with("- ") {
                        "- "
                    } else {
                        ""
                    };
                    *line = format!("{indent}{dash}{key}:{value}");
                }
            }
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
            _ => {}
        }
        lines.join("\n")
    }

    /// A YAML value of any shape.
    fn any_yaml() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| Value::Number(n.into())),
            any::<u64>().prop_map(|n| Value::Number(n.into())),
            any::<f64>().prop_map(|f| Value::Number(f.into())),
            "[^\n]{0,16}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Sequence),
                prop::collection::vec(("[a-z_]{1,10}", inner), 0..4).prop_map(|pairs| {
                    Value::Mapping(
                        pairs
                            .into_iter()
                            .map(|(k, v)| (Value::String(k), v))
                            .collect(),
                    )
                }),
            ]
        })
    }

    /// Replaces the `at`-th node of `value` (depth first) with `new`.
    fn replace_node(value: &mut Value, at: &mut usize, new: &Value) -> bool {
        if *at == 0 {
            *value = new.clone();
            return true;
        }
        *at -= 1;
        match value {
            Value::Mapping(map) => map
                .iter_mut()
                .any(|(_, child)| replace_node(child, at, new)),
            Value::Sequence(items) => items.iter_mut().any(|child| replace_node(child, at, new)),
            _ => false,
        }
    }

    /// Every path to a secret reference in `FULL`.
    const SECRET_KEYS: [(&str, &str); 4] = [
        (
            "  client_secret: { env: ADSYNC_GRAPH_CLIENT_SECRET }",
            "  client_secret: ",
        ),
        (
            "    password: { file: /run/secrets/rescue }",
            "    password: ",
        ),
        (
            "  default_password: { env: ADSYNC_DEFAULT_PASSWORD }",
            "  default_password: ",
        ),
        (
            "    email: admin@contoso.com\n    password: { file: /run/secrets/rescue }",
            "    api_token: ",
        ),
    ];

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn arbitrary_text_is_a_configuration_error(text in "(?s).{0,300}") {
            check(&text)?;
        }

        #[test]
        fn arbitrary_bytes_are_a_configuration_error(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            check(&String::from_utf8_lossy(&bytes))?;
        }

        #[test]
        fn mutated_configurations_parse_or_fail_typed(
            seed in any::<prop::sample::Index>(),
            mutations in prop::collection::vec(mutation(), 1..5),
        ) {
            let seeds = seeds();
            let mut text = seed.get(&seeds).clone();
            for mutation in &mutations {
                text = apply(&text, mutation);
            }
            check(&text)?;
        }

        #[test]
        fn any_value_anywhere_parses_or_fails_typed(
            seed in any::<prop::sample::Index>(),
            at in 0..80_usize,
            new in any_yaml(),
        ) {
            let seeds = seeds();
            let mut tree: Value = serde_yaml::from_str(seed.get::<String>(&seeds)).expect("a seed parses");
            let mut at = at;
            replace_node(&mut tree, &mut at, &new);
            let text = serde_yaml::to_string(&tree).expect("serializes");
            check(&text)?;
        }

        /// A literal of any scalar type where a secret reference belongs is refused with the
        /// remedy, and never quoted.
        #[test]
        fn a_literal_secret_is_refused_and_never_quoted(
            which in 0..SECRET_KEYS.len(),
            literal in prop_oneof![
                "[A-Za-z0-9~._-]{8,32}".prop_map(|s| format!("Zq{s}")),
                (10_000_000_u64..u64::MAX).prop_map(|n| n.to_string()),
                (1_000_000_i64..i64::MAX).prop_map(|n| format!("-{n}")),
                (100_000.0_f64..1e12).prop_map(|f| format!("{f:.3}")),
                "[A-Za-z0-9]{8,24}".prop_map(|s| format!("\"Zq{s}\"")),
                "[A-Za-z0-9]{8,24}".prop_map(|s| format!("'Zq{s}'")),
            ],
        ) {
            let (reference, key) = SECRET_KEYS[which];
            let text = FULL.replacen(reference, &format!("{key}{literal}"), 1);
            prop_assert_ne!(&text, FULL);
            let error = parse_config(&text, Path::new("hostile.yaml"))
                .expect_err("a literal secret is refused");
            let message = crate::error::render(&error, crate::style::Paint::PLAIN);
            prop_assert!(
                message.contains("a literal secret is not allowed")
                    && message.contains("{ env: VARIABLE }"),
                "{message}"
            );
            let bare = literal.trim_matches(|c| c == '"' || c == '\'');
            prop_assert!(!message.contains(bare), "the secret is quoted: {message}");
        }
    }

    /// Aliases that expand exponentially (a "billion laughs") are refused quickly, not expanded.
    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        text.push_str("source: *a11\n");
        let started = std::time::Instant::now();
        let result = parse_config(&text, Path::new("bomb.yaml"));
        assert!(
            matches!(result, Err(Error::ConfigSyntax { .. })),
            "{result:?}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
