//! The harness for `adsync run --listen` against the emulators: starts the real binary, finds
//! the port it serves on, and talks HTTP to it (reqwest on a runtime of the test's own).

use std::collections::BTreeMap;
use std::process::Child;
use std::time::Duration;

use adsync_rescue::api::{code, method};
use adsync_tests::rescue_emulator::Fault;

use crate::emulated::{Emulated, wait_for_exit, wait_until};

/// A running `adsync run --listen` and an HTTP client for it.
pub(crate) struct Served {
    pub(crate) emulated: Emulated,
    child: Killed,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    /// Sent as `Authorization: Bearer` by [`Self::get`] when set.
    pub(crate) bearer: Option<String>,
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

/// An answer: status, headers (lower-case names), body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) body: String,
}

impl Answer {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.body))
    }
}

impl Served {
    /// `adsync run --every 1h <extra>` in `emulated`'s folder, waiting until it serves.
    pub(crate) fn start(emulated: Emulated, extra: &[&str]) -> Served {
        let mut args = vec!["run", "--every", "1h"];
        args.extend_from_slice(extra);
        let child = emulated.spawn(&args, "run");
        let mut base = String::new();
        let serving = wait_until(Duration::from_secs(30), || {
            let stderr = emulated.read("run.stderr");
            match stderr
                .lines()
                .find_map(|l| l.strip_prefix("serving the service page on "))
            {
                Some(url) => {
                    base = url.trim_end_matches('/').to_owned();
                    true
                }
                None => false,
            }
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the HTTP client");
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        let served = Served {
            emulated,
            child: Killed(Some(child)),
            base,
            bearer: None,
            runtime,
            client,
        };
        assert!(
            serving,
            "the page is served: {}",
            served.emulated.read("run.stderr")
        );
        served
    }

    /// Sends `request` (built on this harness's client) and reads the whole answer.
    pub(crate) fn send(
        &self,
        build: impl FnOnce(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Answer {
        self.runtime.block_on(async {
            let response = build(&self.client).send().await.expect("an answer");
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        v.to_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            let body = response.text().await.expect("a body");
            Answer {
                status,
                headers,
                body,
            }
        })
    }

    pub(crate) fn get(&self, path: &str) -> Answer {
        let url = format!("{}{path}", self.base);
        self.send(|c| match &self.bearer {
            Some(token) => c.get(url).bearer_auth(token),
            None => c.get(url),
        })
    }

    /// Waits until `/api/status` satisfies `done`; returns the last status.
    pub(crate) fn wait_for_status(
        &self,
        what: &str,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let mut last = serde_json::Value::Null;
        let ok = wait_until(Duration::from_secs(60), || {
            last = self.get("/api/status").json();
            done(&last)
        });
        assert!(ok, "{what}: {last:#}\n{}", self.emulated.read("run.stderr"));
        last
    }

    /// Waits until a run that ended after `previous` (a `finished` time; run ids have whole
    /// seconds) has finished and no other is under way.
    pub(crate) fn wait_for_run_after(&self, previous: Option<&str>) -> serde_json::Value {
        self.wait_for_status("a run finished", |status| {
            status["running"].is_null()
                && !status["retry_requested"].as_bool().unwrap_or(true)
                && status["last_run"]["finished"]
                    .as_str()
                    .is_some_and(|finished| Some(finished) != previous)
        })
    }

    /// SIGTERM, and the exit status must be 0.
    pub(crate) fn stop(mut self) -> Emulated {
        if let Some(mut child) = self.child.0.take() {
            terminate(&child);
            let status = wait_for_exit(&mut child, Duration::from_secs(15));
            assert_eq!(
                status.code(),
                Some(0),
                "{}",
                self.emulated.read("run.stderr")
            );
        }
        let Served { emulated, .. } = self;
        emulated
    }
}

/// A child process killed when dropped (a failing test leaves no service behind).
struct Killed(Option<Child>);

impl Drop for Killed {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn terminate(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "SIGTERM was delivered");
}

/// The demo with two kinds of failure on its first run: the first user created finds its
/// e-mail taken (`existing_account`, from a one-time answer), and no mobile licence is free
/// (`out_of_licenses`, for every user the plan gives the add-on). One action at a time, so the
/// first create is always the same user.
pub(crate) fn demo_with_two_failures(name: &str) -> Emulated {
    let emulated = Emulated::start("demo", name);
    emulated.edit_config("  concurrency: 4\n", "  concurrency: 1\n");
    emulated.rescue.inject(
        Some(method::CREATE_USER),
        Fault::Body(code::INVALIDPARAM_EMAIL_ALREADY_IN_USE.into()),
        1,
    );
    let in_use = emulated.rescue.mobile_licences_in_use();
    emulated.rescue.set_mobile_licences(Some(in_use));
    emulated
}

/// Clears the faults of [`demo_with_two_failures`] (the one-time answer is used up already).
pub(crate) fn clear_faults(emulated: &Emulated) {
    emulated.rescue.set_mobile_licences(None);
}

/// The CSRF token of the overview's Retry form.
pub(crate) fn csrf_of(page: &str) -> Option<String> {
    let at = page.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(page[at..].split('"').next()?.to_owned())
}

/// Checks `text` line by line against the Prometheus text format (0.0.4): comments are
/// `# HELP name text` or `# TYPE name type` with a known type, each family's TYPE comes before
/// its samples and once; samples are `name{label="value",...} value` with valid names, escaped
/// label values and a float value; histogram buckets are cumulative and end with `+Inf` equal
/// to `_count`. Returns every sample as `name{labels}` -> value.
pub(crate) fn parse_prometheus(text: &str) -> BTreeMap<String, f64> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let at = || format!("line {}: `{line}`", number + 1);
        if let Some(comment) = line.strip_prefix("# ") {
            let mut parts = comment.splitn(3, ' ');
            let (keyword, name, rest) = (parts.next(), parts.next(), parts.next());
            let name = name.unwrap_or_else(|| panic!("{}", at()));
            assert!(valid_name(name), "{}", at());
            match keyword {
                Some("HELP") => assert!(rest.is_some(), "{}", at()),
                Some("TYPE") => {
                    let kind = rest.unwrap_or_default();
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                        "{}",
                        at()
                    );
                    assert!(
                        types.insert(name.to_owned(), kind.to_owned()).is_none(),
                        "TYPE twice: {}",
                        at()
                    );
                }
                _ => panic!("unknown comment {}", at()),
            }
            continue;
        }
        assert!(!line.trim().is_empty(), "blank {}", at());
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{}", at()));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            other => other.parse().unwrap_or_else(|_| panic!("value {}", at())),
        };
        let name = series.split('{').next().unwrap_or_default();
        assert!(valid_name(name), "name {}", at());
        if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
            check_labels(labels).unwrap_or_else(|why| panic!("{why}: {}", at()));
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|base| types.get(*base).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(
            types.contains_key(family),
            "sample before its TYPE: {}",
            at()
        );
        samples.insert(series.to_owned(), value);
    }
    for (family, kind) in &types {
        if kind == "histogram" {
            let mut last = 0.0;
            let inf = samples[&format!("{family}_bucket{{le=\"+Inf\"}}")];
            let count = samples[&format!("{family}_count")];
            assert_eq!(inf, count, "{family}: +Inf bucket = count");
            for line in text
                .lines()
                .filter(|l| l.starts_with(&format!("{family}_bucket{{")))
            {
                let value: f64 = line
                    .rsplit_once(' ')
                    .map_or(0.0, |(_, v)| v.parse().unwrap_or(0.0));
                assert!(value >= last, "{family}: buckets are cumulative");
                last = value;
            }
        }
    }
    samples
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `{a="x",b="y\"z"}`.
fn check_labels(text: &str) -> Result<(), String> {
    let inner = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or("labels not in braces")?;
    let mut rest = inner;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").ok_or("label without =\"")?;
        if !valid_name(name) || name.starts_with("__") {
            return Err(format!("label name `{name}`"));
        }
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\' | '"' | 'n')) => {}
                    _ => return Err("bad escape".into()),
                },
                Some((i, '"')) => break i,
                Some((_, '\n')) => return Err("raw newline".into()),
                Some(_) => {}
                None => return Err("unterminated value".into()),
            }
        };
        rest = &after[end + 1..];
        rest = match rest.strip_prefix(',') {
            Some(more) if !more.is_empty() => more,
            Some(_) => "",
            None if rest.is_empty() => rest,
            None => return Err("labels not separated by commas".into()),
        };
    }
    Ok(())
}
