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

/// The source files directly under `src/<dir>`, with their text.
fn sources(dir: &str) -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(dir);
    let mut files: Vec<(String, String)> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|entry| entry.expect("a readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("a readable source file");
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            (format!("{dir}/{name}"), text)
        })
        .collect();
    files.sort();
    files
}

/// Rules above, speed below (issue 19, STYLE.md): the engine decides nothing, so it never names
/// the policy or a rule's setting; and the rules never reach for the engine, so what they decide
/// reads without it. `plan/mod.rs` and `desired/mod.rs` put the two together.
#[test]
fn the_engine_names_no_rule_and_the_rules_never_import_the_engine() {
    let engine = sources("engine");
    assert!(engine.len() >= 4, "the engine's files: {engine:?}");
    for (file, text) in &engine {
        for word in ["Policy", "full_group_sync", "mobile_license", "protected"] {
            assert!(
                !text.contains(word),
                "{file} names `{word}`: decisions belong to the rules"
            );
        }
    }
    let rules: Vec<(String, String)> = sources("plan")
        .into_iter()
        .chain(sources("desired"))
        .filter(|(file, _)| !file.ends_with("/mod.rs"))
        .collect();
    let names: Vec<&str> = rules.iter().map(|(file, _)| file.as_str()).collect();
    for expected in [
        "plan/claim.rs",
        "plan/rules.rs",
        "plan/guard.rs",
        "plan/order.rs",
        "plan/destination.rs",
        "desired/identity.rs",
        "desired/priority.rs",
        "desired/groups.rs",
        "desired/settings.rs",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} is among the rules: {names:?}"
        );
    }
    for (file, text) in &rules {
        assert!(
            !text.contains("engine::") && !text.contains("crate::engine"),
            "{file} imports the engine: rules take domain views, the engine stays below"
        );
    }
}
