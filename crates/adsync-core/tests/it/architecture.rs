//! Architecture invariants checked mechanically.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

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

/// adsync-core stays free of any async runtime or HTTP stack: its normal (non-dev) dependency
/// closure may not contain tokio, reqwest or hyper. The closure is taken for this platform
/// (`--filter-platform`), so the check runs offline with a cargo cache that holds only this
/// platform's crates; core's dependencies name no platform-specific crate.
#[test]
fn core_has_no_runtime_or_http_dependencies() {
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

    let packages: BTreeMap<String, String> = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap_or("").to_owned(),
                p["name"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let nodes = metadata["resolve"]["nodes"]
        .as_array()
        .expect("resolve nodes");
    let by_id: BTreeMap<&str, &serde_json::Value> = nodes
        .iter()
        .map(|n| (n["id"].as_str().unwrap_or(""), n))
        .collect();
    let core = packages
        .iter()
        .find(|(_, name)| name.as_str() == "adsync-core")
        .map(|(id, _)| id.clone())
        .expect("adsync-core is a package");

    let mut seen = BTreeSet::new();
    let mut stack = vec![core];
    while let Some(id) = stack.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        let Some(node) = by_id.get(id.as_str()) else {
            continue;
        };
        for dep in node["deps"].as_array().into_iter().flatten() {
            let normal = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|kind| kind["kind"].is_null());
            if normal {
                stack.push(dep["pkg"].as_str().unwrap_or("").to_owned());
            }
        }
    }
    let names: BTreeSet<&str> = seen
        .iter()
        .filter_map(|id| packages.get(id))
        .map(String::as_str)
        .collect();
    for forbidden in [
        "tokio",
        "reqwest",
        "hyper",
        "clap",
        "serde_yaml",
        "rust_xlsxwriter",
    ] {
        assert!(
            !names.contains(forbidden),
            "adsync-core depends on {forbidden}: {names:?}"
        );
    }
    assert!(
        names.contains("serde"),
        "the closure walk found serde: {names:?}"
    );
}
