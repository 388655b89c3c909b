//! `adsync validate [--online]`: the configuration is read, parsed and checked; `--online` also
//! signs in to both sides, resolves every pairing's group and finds every destination.
//!
//! Every check runs whatever the others gave (a refused Graph secret does not hide a refused
//! Rescue token), and the whole checklist is printed, or with `--json` one document, on success
//! and on failure alike.

use adsync_core::adapter::{AdapterError, DetailRequest};
use adsync_core::config::{
    DestinationRef, LdapSourceConfig, Pairing, RescueAuthMode, SourceConfig, TargetConfig,
};
use adsync_core::model::{DirectorySnapshot, GroupPath, RescueSnapshot};
use adsync_core::tree::OrgTree;
use serde::Serialize;

use crate::cli::{Global, ValidateArgs};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::load::{self, Loaded};
use crate::output;
use crate::style::{Paint, Tone};
use crate::suggest;

/// How a check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Verdict {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Serialize)]
struct Check {
    check: String,
    status: Verdict,
    /// `status` is not `fail` (kept from the first format).
    ok: bool,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
}

/// The checklist as it is filled in.
#[derive(Default)]
struct Checks(Vec<Check>);

impl Checks {
    fn add(&mut self, status: Verdict, check: impl Into<String>, detail: impl Into<String>) {
        self.0.push(Check {
            check: check.into(),
            status,
            ok: status != Verdict::Fail,
            detail: detail.into(),
            hint: None,
        });
    }

    fn ok(&mut self, check: impl Into<String>, detail: impl Into<String>) {
        self.add(Verdict::Ok, check, detail);
    }

    fn warn(&mut self, check: impl Into<String>, detail: impl Into<String>, hint: &str) {
        self.add(Verdict::Warn, check, detail);
        self.hint(hint);
    }

    fn fail(&mut self, check: impl Into<String>, detail: impl Into<String>, hint: Option<String>) {
        self.add(Verdict::Fail, check, detail);
        if let Some(hint) = hint {
            self.hint(&hint);
        }
    }

    /// A failed check from an adapter's error: its message (with its code, unless the message
    /// already says it) and hint.
    fn failed(&mut self, check: impl Into<String>, error: AdapterError) {
        let detail = match &error.code {
            Some(code) if !error.message.contains(code.as_str()) => {
                format!("{} (`{code}`)", error.message)
            }
            _ => error.message.clone(),
        };
        self.fail(check, detail, error.hint);
    }

    fn hint(&mut self, hint: &str) {
        if let Some(last) = self.0.last_mut() {
            last.hint = Some(hint.to_owned());
        }
    }

    fn valid(&self) -> bool {
        self.0.iter().all(|c| c.ok)
    }
}

pub(crate) async fn run(global: &Global, args: &ValidateArgs) -> Result<ExitStatus, Error> {
    let loaded = super::config(global)?;
    let mut checks = Checks::default();
    configuration(&loaded, &mut checks);
    secrets(global, &loaded, args.online, &mut checks);
    if args.online {
        online_source(&loaded, &mut checks).await;
        online_target(&loaded, &mut checks).await;
    }
    let valid = checks.valid();
    if args.json {
        output::stdout(&output::json(&serde_json::json!({
            "format_version": output::FORMAT_VERSION,
            "config": loaded.path.display().to_string(),
            "config_digest": loaded.config.digest(),
            "online": args.online,
            "valid": valid,
            "checks": checks.0,
        })))?;
    } else {
        output::stdout(&render(&loaded, &checks, Paint::stdout(global)))?;
    }
    Ok(if valid {
        ExitStatus::Success
    } else {
        ExitStatus::Error
    })
}

fn render(loaded: &Loaded, checks: &Checks, paint: Paint) -> String {
    let mut out = String::new();
    for check in &checks.0 {
        let mark = match check.status {
            Verdict::Ok => paint.paint(Tone::Add, "ok  "),
            Verdict::Warn => paint.paint(Tone::Warn, "warn"),
            Verdict::Fail => paint.paint(Tone::Remove, "FAIL"),
        };
        out.push_str(&format!("{mark} {}: {}\n", check.check, check.detail));
        if let Some(hint) = &check.hint {
            out.push_str(&format!(
                "       {} {hint}\n",
                paint.paint(Tone::Hint, "hint:")
            ));
        }
    }
    let verdict = if checks.valid() {
        paint.paint(Tone::Add, "valid")
    } else {
        paint.paint(Tone::Remove, "not valid")
    };
    out.push_str(&format!("{}: {verdict}\n", loaded.path.display()));
    out
}

/// What the file says, beyond what loading it already checked: placeholders left in, and a
/// configuration that would do nothing.
fn configuration(loaded: &Loaded, checks: &mut Checks) {
    let config = &loaded.config;
    let kind = crate::render::group_kind(&config.source);
    let goto_rules = config.goto.as_ref().map_or(0, |goto| goto.rules.len());
    match config.pairings.len() {
        // A goto target has rules instead (loading refused one without any).
        0 if goto_rules > 0 => checks.ok("configuration", format!("{goto_rules} goto rules")),
        0 => checks.warn(
            "configuration",
            "no pairings: adsync would read both sides and change nothing",
            &format!(
                "add a pairing under `pairings:` (an {kind} group, a Rescue destination and a role)"
            ),
        ),
        1 => checks.ok("configuration", "1 pairing"),
        count => checks.ok("configuration", format!("{count} pairings")),
    }
    if let SourceConfig::Graph(graph) = &config.source {
        let placeholder = graph.client_id.chars().all(|c| c == '0' || c == '-');
        if placeholder {
            checks.warn(
                "source.client_id",
                format!("`{}` is the starter file's placeholder", graph.client_id),
                "set it to the app registration's Application (client) ID, from the Entra \
                 admin center",
            );
        }
    }
}

/// Every secret the configuration names must be readable. Offline, a missing one is a warning
/// (the command that needs it will fail); online it fails the check. Values are never printed.
fn secrets(global: &Global, loaded: &Loaded, online: bool, checks: &mut Checks) {
    let config = &loaded.config;
    let mut references = Vec::new();
    match &config.source {
        SourceConfig::Graph(graph) => {
            references.push(("source.client_secret", &graph.client_secret))
        }
        SourceConfig::Ldap(ldap) => references.push(("source.password", &ldap.password)),
        SourceConfig::Snapshot(_) => {}
    }
    if let TargetConfig::Goto(goto) = &config.target {
        references.push(("target.client_secret", &goto.client_secret));
    }
    if let TargetConfig::Rescue(rescue) = &config.target {
        match rescue.auth.mode() {
            Some(RescueAuthMode::Token(token)) => references.push(("target.auth.api_token", token)),
            Some(RescueAuthMode::Password { password, .. }) => {
                references.push(("target.auth.password", password));
                output::warning(
                    global,
                    "password sign-in uses requestAuthCode, which replaces the account's previous authcode; prefer an API token",
                );
            }
            None => {}
        }
        if let Some(default_password) = &rescue.default_password {
            references.push(("target.default_password", default_password));
        }
    }
    if let Some(key) = &config.sync.plan_signing_key {
        references.push(("sync.plan_signing_key", key));
    }
    for (key, reference) in references {
        match load::secret(loaded, reference, key) {
            Ok(_) => checks.ok(key, reference.describe()),
            Err(error) => {
                let hint = error.hint();
                let status = if online { Verdict::Fail } else { Verdict::Warn };
                checks.add(status, key, error.to_string());
                if let Some(hint) = hint {
                    checks.hint(&hint);
                }
            }
        }
    }
}

async fn online_source(loaded: &Loaded, checks: &mut Checks) {
    match &loaded.config.source {
        SourceConfig::Graph(config) => {
            let graph = match crate::wiring::graph(loaded, config) {
                Ok(graph) => graph,
                // The secret's own check already says why.
                Err(_) => {
                    checks.fail(
                        "Microsoft Graph",
                        "not signed in: the client secret cannot be read",
                        None,
                    );
                    return;
                }
            };
            if let Err(error) = graph.check_token().await {
                checks.failed("Microsoft Graph", error.into());
                checks.fail(
                    "pairings' Entra groups",
                    "not checked: no sign-in to Microsoft Graph",
                    None,
                );
                return;
            }
            checks.ok(
                "Microsoft Graph",
                format!("signed in to tenant {}", config.tenant),
            );
            for (label, group) in paired_groups(&loaded.config) {
                let check = format!("Entra group of `{label}`");
                match graph.resolve_group(group).await {
                    Ok(group) => checks.ok(check, format!("{} ({})", group.display_name, group.id)),
                    Err(error) => checks.failed(check, error.into()),
                }
            }
        }
        SourceConfig::Ldap(config) => online_ldap(loaded, config, checks).await,
        SourceConfig::Snapshot(config) => {
            let directory: DirectorySnapshot = match load::read_data(&loaded.resolve(&config.path))
            {
                Ok(directory) => directory,
                Err(error) => {
                    checks.fail("directory snapshot", error.to_string(), None);
                    return;
                }
            };
            for (label, group) in paired_groups(&loaded.config) {
                let check = format!("Entra group of `{label}`");
                match adsync_core::desired::group_members(&directory, group, config.nested_groups) {
                    Ok((id, users)) => checks.ok(check, format!("{id}, {} members", users.len())),
                    Err(problem) => checks.fail(check, problem.to_string(), None),
                }
            }
        }
    }
}

/// Every group the configuration pairs, with what to call it: the pairings' labels, and the
/// goto rules' as `goto rule NAME`.
fn paired_groups(
    config: &adsync_core::config::Config,
) -> Vec<(String, &adsync_core::config::GroupRef)> {
    let pairings = config
        .pairings
        .iter()
        .filter_map(|pairing| Some((pairing.label(), pairing.entra_group.as_ref()?)));
    let rules = config
        .goto
        .iter()
        .flat_map(|goto| goto.rules.iter())
        .filter_map(|rule| {
            let group = rule.entra_group.as_ref()?;
            Some((format!("goto rule {}", rule.name), group))
        });
    pairings.chain(rules).collect()
}

/// Binds to the directory and finds every pairing's group.
async fn online_ldap(loaded: &Loaded, config: &LdapSourceConfig, checks: &mut Checks) {
    const CHECK: &str = "Active Directory (LDAP)";
    let ldap = match crate::wiring::ldap(loaded, config) {
        Ok(ldap) => ldap,
        // An unreadable password also has its own check; a CA file or URL only this one.
        Err(error) => {
            let hint = error.hint();
            checks.fail(CHECK, format!("not bound: {error}"), hint);
            return;
        }
    };
    let in_chain = match ldap.check_bind().await {
        Ok(in_chain) => in_chain,
        Err(error) => {
            checks.failed(CHECK, error.into());
            checks.fail(
                "pairings' Active Directory groups",
                "not checked: no bind to the directory",
                None,
            );
            return;
        }
    };
    checks.ok(
        CHECK,
        format!(
            "bound to {} as {}; nested groups {}",
            config.url,
            config.bind_dn,
            if in_chain {
                "through the in-chain rule"
            } else {
                "by walking member"
            }
        ),
    );
    for (label, group) in paired_groups(&loaded.config) {
        let check = format!("Active Directory group of `{label}`");
        match ldap.resolve_group(group).await {
            Ok(group) => checks.ok(
                check,
                format!("{} ({}, {})", group.name, group.dn, group.id),
            ),
            Err(error) => checks.failed(check, error.into()),
        }
    }
}

async fn online_target(loaded: &Loaded, checks: &mut Checks) {
    let snapshot: RescueSnapshot = match &loaded.config.target {
        TargetConfig::Rescue(config) => {
            let rescue = match crate::wiring::rescue(loaded, config) {
                Ok(rescue) => rescue,
                Err(_) => {
                    checks.fail(
                        "LogMeIn Rescue",
                        "not signed in: a secret cannot be read",
                        None,
                    );
                    return;
                }
            };
            match rescue.check_auth().await {
                Ok(account) => checks.ok(
                    "LogMeIn Rescue",
                    format!(
                        "signed in to {} (account {})",
                        account.organization, account.account_id
                    ),
                ),
                Err(error) => {
                    checks.failed("LogMeIn Rescue", error.into());
                    return;
                }
            }
            match rescue.read_snapshot(&DetailRequest::default()).await {
                Ok(snapshot) => snapshot,
                Err(error) => {
                    checks.failed("Rescue organization tree", error.into());
                    return;
                }
            }
        }
        TargetConfig::Goto(config) => return online_goto(loaded, config, checks).await,
        TargetConfig::Snapshot(config) => match load::read_data(&loaded.resolve(&config.path)) {
            Ok(snapshot) => snapshot,
            Err(error) => {
                checks.fail("Rescue snapshot", error.to_string(), None);
                return;
            }
        },
    };
    let tree = OrgTree::new(&snapshot);
    for pairing in &loaded.config.pairings {
        destination(loaded, &tree, pairing, checks);
    }
}

/// A GoTo account: signed in, and the whole account read.
async fn online_goto(
    loaded: &Loaded,
    config: &adsync_core::goto::GotoTargetConfig,
    checks: &mut Checks,
) {
    let Ok(target) = crate::goto::target(loaded, config) else {
        checks.fail("GoTo", "not signed in: a secret cannot be read", None);
        return;
    };
    match target.check_auth().await {
        Ok(account) => checks.ok("GoTo", format!("signed in to account {account}")),
        Err(error) => {
            checks.failed("GoTo", error.into());
            return;
        }
    }
    match target.snapshot().await {
        Ok(account) => checks.ok(
            "GoTo account",
            format!(
                "{} users, {} licences, {} user groups",
                account.users.len(),
                account.licences.len(),
                account.groups.len()
            ),
        ),
        Err(error) => checks.failed("GoTo account", error),
    }
}

/// One pairing's Rescue destination: found, to be created, or missing with the closest paths.
fn destination(loaded: &Loaded, tree: &OrgTree<'_>, pairing: &Pairing, checks: &mut Checks) {
    let container = pairing.role.container();
    let place = match &pairing.rescue_group {
        Some(DestinationRef::Path(path)) if !path.is_root() => path.as_str().to_owned(),
        Some(DestinationRef::Id { id }) => format!("node {id}"),
        _ => container.display_name().to_owned(),
    };
    let check = format!("destination of `{}`", pairing.label());
    if let Some(node) = super::tree::destination(tree, pairing) {
        checks.ok(check, format!("{place} (node {node})"));
        return;
    }
    let creatable = loaded.config.sync.create_missing_groups
        && matches!(&pairing.rescue_group, Some(DestinationRef::Path(p)) if *p != GroupPath::root());
    if creatable {
        checks.ok(check, format!("{place} is missing and will be created"));
        return;
    }
    let paths: Vec<String> = tree
        .groups()
        .filter(|(_, location)| location.container == container && !location.path.is_root())
        .map(|(_, location)| location.path.as_str().to_owned())
        .collect();
    let mut detail = format!(
        "{place} does not exist in Rescue under {}",
        container.display_name()
    );
    detail.push_str(&suggest::did_you_mean(
        &place,
        paths.iter().map(String::as_str),
    ));
    checks.fail(
        check,
        detail,
        Some(
            "`adsync tree` shows the groups; or set sync.create_missing_groups: true to have \
             adsync create it"
                .to_owned(),
        ),
    );
}
