//! `adsync validate [--online]`: the configuration is read, parsed and checked; `--online` also
//! signs in to both sides, resolves every pairing's group and finds every destination.

use adsync_core::adapter::DetailRequest;
use adsync_core::config::{
    DestinationRef, LdapSourceConfig, RescueAuthMode, SourceConfig, TargetConfig,
};
use adsync_core::model::{DirectorySnapshot, GroupPath, Role};
use adsync_core::tree::OrgTree;
use serde::Serialize;

use crate::cli::{Global, ValidateArgs};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::load::{self, Loaded};
use crate::output;

#[derive(Debug, Serialize)]
struct Check {
    check: String,
    ok: bool,
    detail: String,
}

pub(crate) async fn run(global: &Global, args: &ValidateArgs) -> Result<ExitStatus, Error> {
    let loaded = super::config(global)?;
    let mut checks = vec![Check {
        check: "configuration".into(),
        ok: true,
        detail: match loaded.config.pairings.len() {
            1 => "1 pairing".to_owned(),
            count => format!("{count} pairings"),
        },
    }];
    secrets(global, &loaded, args.online, &mut checks)?;
    if args.online {
        online_source(&loaded, &mut checks).await?;
        online_target(&loaded, &mut checks).await?;
    }
    let ok = checks.iter().all(|c| c.ok);
    if args.json {
        output::stdout(&output::json(&serde_json::json!({
            "format_version": "1.0",
            "config": loaded.path.display().to_string(),
            "config_digest": loaded.config.digest(),
            "valid": ok,
            "checks": checks,
        })))?;
    } else {
        let mut out = String::new();
        for check in &checks {
            out.push_str(&format!(
                "{} {}: {}\n",
                if check.ok { "ok  " } else { "FAIL" },
                check.check,
                check.detail
            ));
        }
        out.push_str(&format!(
            "{}: {}\n",
            loaded.path.display(),
            if ok { "valid" } else { "not valid" }
        ));
        output::stdout(&out)?;
    }
    Ok(if ok {
        ExitStatus::Success
    } else {
        ExitStatus::Error
    })
}

/// Every secret the configuration names must be readable. Offline, a missing one is a warning
/// (the command that needs it will fail); online it is the error. Values are never printed.
fn secrets(
    global: &Global,
    loaded: &Loaded,
    online: bool,
    checks: &mut Vec<Check>,
) -> Result<(), Error> {
    let config = &loaded.config;
    let mut references = Vec::new();
    match &config.source {
        SourceConfig::Graph(graph) => {
            references.push(("source.client_secret", &graph.client_secret))
        }
        SourceConfig::Ldap(ldap) => references.push(("source.password", &ldap.password)),
        SourceConfig::Snapshot(_) => {}
    }
    if let TargetConfig::Rescue(rescue) = &config.target {
        match rescue.auth.mode() {
            Some(RescueAuthMode::Token(token)) => references.push(("target.auth.api_token", token)),
            Some(RescueAuthMode::Password { password, .. }) => {
                references.push(("target.auth.password", password));
                output::note(
                    global.quiet,
                    "warning: password sign-in uses requestAuthCode, which replaces the account's previous authcode; prefer an API token",
                );
            }
            None => {}
        }
        if let Some(default_password) = &rescue.default_password {
            references.push(("target.default_password", default_password));
        }
    }
    for (key, reference) in references {
        match load::secret(loaded, reference, key) {
            Ok(_) => checks.push(Check {
                check: key.into(),
                ok: true,
                detail: reference.describe(),
            }),
            Err(error) if online => return Err(error),
            Err(error) => output::note(global.quiet, &format!("warning: {error}")),
        }
    }
    Ok(())
}

async fn online_source(loaded: &Loaded, checks: &mut Vec<Check>) -> Result<(), Error> {
    match &loaded.config.source {
        SourceConfig::Graph(config) => {
            let graph = crate::wiring::graph(loaded, config)?;
            graph
                .check_token()
                .await
                .map_err(|e| Error::SourceRead(e.into()))?;
            checks.push(Check {
                check: "Microsoft Graph".into(),
                ok: true,
                detail: format!("signed in to tenant {}", config.tenant),
            });
            for pairing in &loaded.config.pairings {
                let group = graph
                    .resolve_group(&pairing.entra_group)
                    .await
                    .map_err(|e| Error::SourceRead(e.into()))?;
                checks.push(Check {
                    check: format!("pairing `{}`", pairing.label()),
                    ok: true,
                    detail: format!("Entra group {} ({})", group.display_name, group.id),
                });
            }
        }
        SourceConfig::Ldap(config) => online_ldap(loaded, config, checks).await?,
        SourceConfig::Snapshot(config) => {
            let directory: DirectorySnapshot = load::read_data(&loaded.resolve(&config.path))?;
            for pairing in &loaded.config.pairings {
                let (id, users) = adsync_core::desired::group_members(
                    &directory,
                    &pairing.entra_group,
                    config.nested_groups,
                )
                .map_err(|problem| Error::Setup(problem.to_string()))?;
                checks.push(Check {
                    check: format!("pairing `{}`", pairing.label()),
                    ok: true,
                    detail: format!("Entra group {id}, {} members", users.len()),
                });
            }
        }
    }
    Ok(())
}

/// Binds to the directory and finds every pairing's group.
async fn online_ldap(
    loaded: &Loaded,
    config: &LdapSourceConfig,
    checks: &mut Vec<Check>,
) -> Result<(), Error> {
    let ldap = crate::wiring::ldap(loaded, config)?;
    let in_chain = ldap
        .check_bind()
        .await
        .map_err(|e| Error::SourceRead(e.into()))?;
    checks.push(Check {
        check: "Active Directory (LDAP)".into(),
        ok: true,
        detail: format!(
            "bound to {} as {}; nested groups {}",
            config.url,
            config.bind_dn,
            if in_chain {
                "through the in-chain rule"
            } else {
                "by walking member"
            }
        ),
    });
    for pairing in &loaded.config.pairings {
        let group = ldap
            .resolve_group(&pairing.entra_group)
            .await
            .map_err(|e| Error::SourceRead(e.into()))?;
        checks.push(Check {
            check: format!("pairing `{}`", pairing.label()),
            ok: true,
            detail: format!("group {} ({}, {})", group.name, group.dn, group.id),
        });
    }
    Ok(())
}

async fn online_target(loaded: &Loaded, checks: &mut Vec<Check>) -> Result<(), Error> {
    let snapshot = match &loaded.config.target {
        TargetConfig::Rescue(config) => {
            let rescue = crate::wiring::rescue(loaded, config)?;
            let account = rescue
                .check_auth()
                .await
                .map_err(|e| Error::TargetRead(e.into()))?;
            checks.push(Check {
                check: "LogMeIn Rescue".into(),
                ok: true,
                detail: format!(
                    "signed in to {} (account {})",
                    account.organization, account.account_id
                ),
            });
            rescue
                .read_snapshot(&DetailRequest::default())
                .await
                .map_err(|e| Error::TargetRead(e.into()))?
        }
        TargetConfig::Snapshot(config) => load::read_data(&loaded.resolve(&config.path))?,
    };
    let tree = OrgTree::new(&snapshot);
    for pairing in &loaded.config.pairings {
        let container = pairing.role.container();
        let found = match (&pairing.rescue_group, pairing.role) {
            (_, Role::MasterAdministrator) | (None, _) => tree.container(container),
            (Some(DestinationRef::Path(path)), _) => tree.find_group(container, path),
            (Some(DestinationRef::Id { id }), _) => tree
                .group(*id)
                .filter(|l| l.container == container)
                .map(|_| *id),
        };
        let place = match &pairing.rescue_group {
            Some(DestinationRef::Path(path)) if !path.is_root() => path.as_str().to_owned(),
            Some(DestinationRef::Id { id }) => format!("node {id}"),
            _ => container.display_name().to_owned(),
        };
        let check = format!("destination of `{}`", pairing.label());
        match found {
            Some(node) => checks.push(Check {
                check,
                ok: true,
                detail: format!("{place} (node {node})"),
            }),
            None if loaded.config.sync.create_missing_groups
                && matches!(&pairing.rescue_group, Some(DestinationRef::Path(p)) if *p != GroupPath::root()) =>
            {
                checks.push(Check {
                    check,
                    ok: true,
                    detail: format!("{place} is missing and will be created"),
                });
            }
            None => checks.push(Check {
                check,
                ok: false,
                detail: format!("{place} does not exist in Rescue"),
            }),
        }
    }
    Ok(())
}
