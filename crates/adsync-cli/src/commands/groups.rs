//! `adsync groups search <term>` and `adsync groups members <group>`: the directory side
//! (Entra ID or Active Directory), for setting up pairings.

use std::fmt::Write as _;

use adsync_core::config::{GroupRef, SourceConfig};
use adsync_core::model::{DirectorySnapshot, DirectoryUser};

use crate::cli::{Global, GroupsArgs, GroupsCommand};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::load::{self, Loaded};
use crate::output;

struct Found {
    id: String,
    name: String,
}

pub(crate) async fn run(global: &Global, args: &GroupsArgs) -> Result<ExitStatus, Error> {
    let loaded = super::config(global)?;
    match &args.command {
        GroupsCommand::Search { term } => {
            let found = search(&loaded, term).await?;
            if args.json {
                let groups: Vec<_> = found
                    .iter()
                    .map(|g| serde_json::json!({ "id": g.id, "display_name": g.name }))
                    .collect();
                output::stdout(&output::json(
                    &serde_json::json!({ "format_version": "1.0", "groups": groups }),
                ))?;
            } else if found.is_empty() {
                let kind = crate::render::group_kind(&loaded.config.source);
                output::note(global.quiet, &format!("no {kind} group matches `{term}`"));
            } else {
                let mut out = String::new();
                for group in &found {
                    let _ = writeln!(out, "{}  {}", group.id, group.name);
                }
                output::stdout(&out)?;
            }
        }
        GroupsCommand::Members { group } => {
            let (found, users) = members(&loaded, group).await?;
            if args.json {
                output::stdout(&output::json(&serde_json::json!({
                    "format_version": "1.0",
                    "group": { "id": found.id, "display_name": found.name },
                    "member_count": users.len(),
                    "members": users,
                })))?;
            } else {
                let mut out = format!("{} ({}): {} members\n", found.name, found.id, users.len());
                for user in &users {
                    let _ = writeln!(
                        out,
                        "  {}  {}{}",
                        user.mail.as_deref().unwrap_or(&user.upn),
                        user.display_name,
                        if user.account_enabled {
                            ""
                        } else {
                            "  (disabled)"
                        }
                    );
                }
                output::stdout(&out)?;
            }
        }
    }
    Ok(ExitStatus::Success)
}

/// A group argument: an object id when it looks like one, else a display name.
fn group_ref(text: &str) -> GroupRef {
    let is_guid = text.len() == 36 && text.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    if is_guid {
        GroupRef::Id {
            id: text.to_owned(),
        }
    } else {
        GroupRef::Name(text.to_owned())
    }
}

async fn search(loaded: &Loaded, term: &str) -> Result<Vec<Found>, Error> {
    match &loaded.config.source {
        SourceConfig::Graph(config) => {
            let graph = crate::wiring::graph(loaded, config)?;
            let groups = graph
                .search_groups(term)
                .await
                .map_err(|e| Error::SourceRead(e.into()))?;
            Ok(groups
                .into_iter()
                .map(|g| Found {
                    id: g.id,
                    name: g.display_name,
                })
                .collect())
        }
        SourceConfig::Ldap(config) => {
            let ldap = crate::wiring::ldap(loaded, config)?;
            let groups = ldap
                .search_groups(term)
                .await
                .map_err(|e| Error::SourceRead(e.into()))?;
            Ok(groups
                .into_iter()
                .map(|g| Found {
                    id: g.id,
                    name: g.name,
                })
                .collect())
        }
        SourceConfig::Snapshot(config) => {
            let directory: DirectorySnapshot = load::read_data(&loaded.resolve(&config.path))?;
            let term = term.to_lowercase();
            let mut found: Vec<Found> = directory
                .groups
                .into_iter()
                .filter(|g| {
                    let name = g.display_name.to_lowercase();
                    name.starts_with(&term)
                        || term.split_whitespace().all(|token| name.contains(token))
                })
                .map(|g| Found {
                    id: g.id,
                    name: g.display_name,
                })
                .collect();
            found.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
            Ok(found)
        }
    }
}

async fn members(loaded: &Loaded, group: &str) -> Result<(Found, Vec<DirectoryUser>), Error> {
    let reference = group_ref(group);
    match &loaded.config.source {
        SourceConfig::Graph(config) => {
            let graph = crate::wiring::graph(loaded, config)?;
            let read = graph
                .group_members(&reference, config.nested_groups)
                .await
                .map_err(|e| Error::SourceRead(e.into()))?;
            Ok((
                Found {
                    id: read.group.id,
                    name: read.group.display_name,
                },
                read.users,
            ))
        }
        SourceConfig::Ldap(config) => {
            let ldap = crate::wiring::ldap(loaded, config)?;
            let read = ldap
                .group_members(&reference, config.nested_groups)
                .await
                .map_err(|e| Error::SourceRead(e.into()))?;
            Ok((
                Found {
                    id: read.group.id,
                    name: read.group.name,
                },
                read.users,
            ))
        }
        SourceConfig::Snapshot(config) => {
            let directory: DirectorySnapshot = load::read_data(&loaded.resolve(&config.path))?;
            let (id, users) =
                adsync_core::desired::group_members(&directory, &reference, config.nested_groups)
                    .map_err(|problem| Error::Setup(problem.to_string()))?;
            let name = directory
                .groups
                .iter()
                .find(|g| g.id == id)
                .map(|g| g.display_name.clone())
                .unwrap_or_default();
            Ok((Found { id, name }, users.into_iter().cloned().collect()))
        }
    }
}
