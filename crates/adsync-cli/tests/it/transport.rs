//! Transport (SPEC §6): TLS is rustls, with no OpenSSL or native-tls anywhere in what the binary
//! links, and plain `http://` is refused for anything but loopback, before any request is sent.
//!
//! The adapters check the rule for every URL form in their own tests:
//! `adsync-graph` `client::tests::plain_http_only_to_loopback` and
//! `tests/it/security.rs::plain_http_is_refused_unless_loopback`; `adsync-rescue`
//! `client::tests::base_urls_are_normalised_and_plain_http_is_loopback_only`. This file checks
//! the dependency closure and the rule end to end through the binary's configuration.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use crate::{adsync, scratch};

/// The platform the tests run on, as `rustc -vV` names it.
fn host_triple() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = Command::new(rustc)
        .arg("-vV")
        .output()
        .expect("rustc -vV runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_owned()
}

/// The names of every package in adsync-cli's normal and build dependency closure on this
/// platform (what the `adsync` binary is built from; dev-dependencies excluded). Filtered to the
/// host so that a cargo cache holding only this platform's crates can answer offline; the other
/// platforms are covered by [`lockfile_has_no_openssl_for_any_platform`].
fn binary_closure() -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let host = host_triple();
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", &host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("metadata is JSON");
    let names: BTreeMap<&str, &str> = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap_or_default(),
                p["name"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    let nodes: BTreeMap<&str, &serde_json::Value> = metadata["resolve"]["nodes"]
        .as_array()
        .expect("resolve nodes")
        .iter()
        .map(|n| (n["id"].as_str().unwrap_or_default(), n))
        .collect();
    let cli = names
        .iter()
        .find(|(_, name)| **name == "adsync-cli")
        .map(|(id, _)| *id)
        .expect("adsync-cli is a package");
    let mut seen = BTreeSet::new();
    let mut stack = vec![cli];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        for dep in nodes
            .get(id)
            .and_then(|node| node["deps"].as_array())
            .into_iter()
            .flatten()
        {
            let linked = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|kind| kind["kind"].as_str() != Some("dev"));
            if linked {
                stack.push(dep["pkg"].as_str().unwrap_or_default());
            }
        }
    }
    seen.iter()
        .filter_map(|id| names.get(id))
        .map(|name| (*name).to_owned())
        .collect()
}

/// TLS stacks the binary must never link.
const FORBIDDEN_TLS: [&str; 5] = [
    "native-tls",
    "openssl",
    "openssl-sys",
    "tokio-native-tls",
    "hyper-tls",
];

#[test]
fn tls_is_rustls_and_never_openssl_or_native_tls() {
    let closure = binary_closure();
    for wanted in ["rustls", "reqwest", "tokio"] {
        assert!(closure.contains(wanted), "{wanted} is linked: {closure:?}");
    }
    for forbidden in FORBIDDEN_TLS {
        assert!(
            !closure.contains(forbidden),
            "{forbidden} is in the binary's dependencies"
        );
    }
}

/// Every platform's packages are in `Cargo.lock` (on Windows and macOS, rustls reads the system's
/// root certificates through `schannel` and `security-framework`; TLS itself stays rustls), so no
/// OpenSSL or native-tls package may appear there at all, whichever crate would pull it in.
#[test]
fn lockfile_has_no_openssl_for_any_platform() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock"))
        .expect("Cargo.lock is readable");
    let packages: BTreeSet<&str> = lock
        .lines()
        .filter_map(|line| line.strip_prefix("name = \""))
        .filter_map(|rest| rest.strip_suffix('"'))
        .collect();
    assert!(packages.contains("rustls"), "the lock file lists rustls");
    for forbidden in FORBIDDEN_TLS {
        assert!(
            !packages.contains(forbidden),
            "{forbidden} is in Cargo.lock"
        );
    }
}

/// A configuration whose endpoints are plain http to hosts that are not loopback is refused
/// with exit 1 naming the URL, before anything is sent.
#[test]
fn plain_http_to_a_remote_host_is_refused_by_the_binary() {
    let dir = scratch("transport-http");
    std::fs::write(dir.join("directory.yaml"), "users: []\ngroups: []\n").expect("snapshot");
    std::fs::write(
        dir.join("rescue.yaml"),
        "nodes:\n  - { id: 1, parent: null, type: Root, name: C }\n",
    )
    .expect("snapshot");
    let env = [("G", "graph-secret-value"), ("R", "rescue-token-value")];
    let graph = |authority: &str, graph: &str| {
        format!(
            "source:\n  type: graph\n  tenant: contoso.onmicrosoft.com\n  client_id: x\n  \
             client_secret: {{ env: G }}\n  authority_url: {authority}\n  graph_url: {graph}\n\
             target:\n  type: snapshot\n  path: rescue.yaml\npairings: []\n"
        )
    };
    let rescue = |base: &str| {
        format!(
            "source:\n  type: snapshot\n  path: directory.yaml\ntarget:\n  type: rescue\n  \
             base_url: {base}\n  auth:\n    api_token: {{ env: R }}\npairings: []\n"
        )
    };
    for (config, url) in [
        (
            graph("http://login.example.com", "https://graph.example.com"),
            "http://login.example.com",
        ),
        (
            graph("https://login.example.com", "http://10.1.2.3:8080"),
            "http://10.1.2.3:8080",
        ),
        (
            graph("https://login.example.com", "http://127.0.0.1.nip.io"),
            "http://127.0.0.1.nip.io",
        ),
        (
            rescue("http://secure.logmeinrescue.com"),
            "http://secure.logmeinrescue.com",
        ),
        (
            rescue("http://[2001:db8::1]/API"),
            "http://[2001:db8::1]/API",
        ),
    ] {
        std::fs::write(dir.join("adsync.yaml"), &config).expect("config");
        let run = adsync(&dir, &["plan"], &env);
        assert_eq!(run.code, 1, "{config}\n{}", run.transcript());
        assert!(
            run.stderr.contains(url) && run.stderr.contains("https"),
            "{}",
            run.transcript()
        );
    }
}
