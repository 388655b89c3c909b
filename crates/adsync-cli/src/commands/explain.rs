//! `adsync explain <e-mail | object id>`: why the plan does what it does to one person.
//!
//! It answers from the plan's user entries first, then from what the plan was made from: a
//! directory user the plan could not place (no mail: no identity key) is shown with the paired
//! groups that hold them, and a Rescue user the plan leaves alone (outside the managed groups,
//! the account holder, protected) is shown with its node and why adsync does not manage it.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use adsync_core::config::{Attribute, Config, Pairing};
use adsync_core::model::{DirectorySnapshot, DirectoryUser, NodeId, RescueNode, Role};
use adsync_core::plan::{Action, CurrentState, Plan, UserEntry};
use adsync_core::tree::OrgTree;
use serde::Serialize;

use crate::cli::{ExplainArgs, Global};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::output;
use crate::render;
use crate::style::{Paint, Tone};

/// A directory user the query names, with the pairings whose groups hold them.
#[derive(Debug, Serialize)]
struct DirectoryMatch<'a> {
    id: &'a str,
    display_name: &'a str,
    mail: Option<&'a str>,
    upn: &'a str,
    account_enabled: bool,
    pairings: Vec<String>,
    /// Each pairing's `where:`, and which of its comparisons hold for the user.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    conditions: Vec<ConditionCheck>,
    /// The fields the first pairing holding the user maps, and what they came from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mapped: Vec<MappedField>,
    #[serde(skip)]
    user: &'a DirectoryUser,
}

/// A pairing's condition tried on one user.
#[derive(Debug, Serialize)]
struct ConditionCheck {
    pairing: String,
    condition: String,
    selected: bool,
    /// Each comparison, in the order written, with whether it holds.
    parts: Vec<(String, bool)>,
}

/// A mapped field: its template, where it was configured, the value, and the directory values.
#[derive(Debug, Serialize)]
struct MappedField {
    field: &'static str,
    key: String,
    template: String,
    value: String,
    from: Vec<(String, Option<String>)>,
}

/// A Rescue user the plan does not manage, and why.
#[derive(Debug, Serialize)]
struct Unmanaged<'a> {
    node: &'a RescueNode,
    group: String,
    why: String,
}

pub(crate) async fn run(global: &Global, args: &ExplainArgs) -> Result<ExitStatus, Error> {
    let loaded = super::config(global)?;
    if let Some(goto) = crate::goto::target_config(&loaded) {
        return crate::goto::explain(global, args, &loaded, goto).await;
    }
    let target = crate::incremental::planning_target(global, &loaded)?;
    let planned = super::plan::read_and_plan(
        global,
        args.json,
        &loaded,
        target.as_target(),
        true,
        &mut None,
    )
    .await?;
    let wanted = args.user.trim().to_lowercase();
    let plan = &planned.plan;
    let entries: Vec<UserEntry> = plan
        .users
        .iter()
        .filter(|u| {
            u.email.as_str() == wanted
                || u.object_id
                    .as_deref()
                    .is_some_and(|id| id.eq_ignore_ascii_case(&wanted))
        })
        .collect();
    let empty = DirectorySnapshot::default();
    let directory = planned.directory.as_ref().unwrap_or(&empty);
    let people = directory_matches(&loaded.config, directory, &wanted);
    let unmanaged = unmanaged(&loaded.config, &planned.current, &entries, &people, &wanted);
    if entries.is_empty() && people.is_empty() && unmanaged.is_empty() {
        return Err(Error::Usage {
            message: format!(
                "`{}` is neither in a paired {} group nor a user in Rescue",
                args.user,
                render::group_kind(&loaded.config.source)
            ),
            hint: "give an e-mail (or UPN, with use_upn_instead_of_email) or a directory object \
                   id; `adsync groups members <group>` lists a group's members"
                .to_owned(),
        });
    }
    let actions: Vec<&Action> = plan
        .actions
        .iter()
        .filter(|a| {
            entries
                .iter()
                .any(|e| e.actions.iter().any(|id| id == a.id()))
        })
        .collect();
    if args.json {
        output::stdout(&output::json(&serde_json::json!({
            "format_version": output::FORMAT_VERSION,
            "query": args.user,
            "users": entries,
            "actions": actions,
            "directory": people,
            "unmanaged": unmanaged,
            "blocked": plan.blocked,
        })))?;
        return Ok(ExitStatus::Success);
    }
    let paint = Paint::stdout(global);
    let mut out = String::new();
    let source = render::directory_name(&loaded.config.source);
    for entry in &entries {
        let mapped = winner_mapped(&loaded.config, plan, entry, &people);
        entry_block(&mut out, entry, source, &people, &actions, &mapped, paint);
    }
    for person in people.iter().filter(|p| !has_entry(&entries, p)) {
        unkeyed_block(&mut out, person, &loaded.config);
    }
    for node in &unmanaged {
        unmanaged_block(&mut out, node);
    }
    if let Some(blocked) = &plan.blocked {
        let _ = writeln!(
            out,
            "\nthe plan is blocked, so apply would refuse it: {}",
            blocked.reason
        );
    }
    output::stdout(&out)?;
    Ok(ExitStatus::Success)
}

/// The directory users the query names (by object id, mail or UPN), and their pairings.
fn directory_matches<'a>(
    config: &Config,
    directory: &'a DirectorySnapshot,
    wanted: &str,
) -> Vec<DirectoryMatch<'a>> {
    let matches = |user: &DirectoryUser| {
        user.id.eq_ignore_ascii_case(wanted)
            || user.upn.eq_ignore_ascii_case(wanted)
            || user
                .mail
                .as_deref()
                .is_some_and(|mail| mail.trim().eq_ignore_ascii_case(wanted))
    };
    directory
        .users
        .iter()
        .filter(|user| matches(user))
        .map(|user| DirectoryMatch {
            id: &user.id,
            display_name: &user.display_name,
            mail: user.mail.as_deref(),
            upn: &user.upn,
            account_enabled: user.account_enabled,
            pairings: pairings_holding(config, directory, user),
            conditions: conditions_tried(config, user),
            mapped: config
                .pairings
                .iter()
                .position(|pairing| holds(config, directory, pairing, user))
                .map_or_else(Vec::new, |index| mapped_fields(config, index, user)),
            user,
        })
        .collect()
}

/// The fields the entry's winning pairing maps for its directory user (the plan lists the
/// pairings in configuration order).
fn winner_mapped(
    config: &Config,
    plan: &Plan,
    entry: &UserEntry,
    people: &[DirectoryMatch<'_>],
) -> Vec<MappedField> {
    let person = people
        .iter()
        .find(|p| Some(p.id) == entry.object_id.as_deref());
    let winner = entry
        .pairing
        .as_deref()
        .and_then(|label| plan.pairings.iter().position(|p| p.name == label));
    match (person, winner) {
        (Some(person), Some(index)) => mapped_fields(config, index, person.user),
        _ => Vec::new(),
    }
}

/// Every pairing's `where:` tried on `user`.
fn conditions_tried(config: &Config, user: &DirectoryUser) -> Vec<ConditionCheck> {
    config
        .pairings
        .iter()
        .filter_map(|pairing| {
            let condition = pairing.condition.as_ref()?;
            Some(ConditionCheck {
                pairing: pairing.label(),
                condition: condition.as_str().to_owned(),
                selected: condition.condition().matches(user),
                parts: condition.condition().trace(user),
            })
        })
        .collect()
}

/// The fields pairing `index` maps (its own templates, else `sync.attributes`; an SSO ID flag
/// of the pairing outranks a global SSO ID template), rendered for `user` with the values they
/// read.
fn mapped_fields(config: &Config, index: usize, user: &DirectoryUser) -> Vec<MappedField> {
    let Some(pairing) = config.pairings.get(index) else {
        return Vec::new();
    };
    let own_ssoid_flag = pairing.upn_as_ssoid || pairing.email_as_ssoid == Some(true);
    Attribute::ALL
        .into_iter()
        .filter_map(|field| {
            let (template, key) = match pairing.attributes.templates.get(field) {
                Some(own) => (
                    own,
                    format!("pairings[{index}].attributes.{}", field.as_str()),
                ),
                None if field == Attribute::Ssoid && own_ssoid_flag => return None,
                None => (
                    config.sync.attributes.get(field)?,
                    format!("sync.attributes.{}", field.as_str()),
                ),
            };
            Some(MappedField {
                field: field.as_str(),
                key,
                template: template.to_string(),
                value: template.render(user),
                from: template.sources(user),
            })
        })
        .collect()
}

/// Whether `pairing` holds `user`: its group does (if it names one) and its condition holds (if
/// it has one).
fn holds(
    config: &Config,
    directory: &DirectorySnapshot,
    pairing: &Pairing,
    user: &DirectoryUser,
) -> bool {
    let in_group = pairing.entra_group.as_ref().is_none_or(|group| {
        adsync_core::desired::group_members(directory, group, config.source.nested_groups())
            .is_ok_and(|(_, users)| users.iter().any(|member| member.id == user.id))
    });
    in_group
        && pairing
            .condition
            .as_ref()
            .is_none_or(|condition| condition.condition().matches(user))
}

/// The labels of the pairings that hold `user` (through their group, transitively when nested
/// groups are on, and their condition), in priority order.
fn pairings_holding(
    config: &Config,
    directory: &DirectorySnapshot,
    user: &DirectoryUser,
) -> Vec<String> {
    config
        .pairings
        .iter()
        .filter(|pairing| holds(config, directory, pairing, user))
        .map(|pairing| match (&pairing.entra_group, &pairing.condition) {
            (Some(group), _) => format!("{} ({group})", pairing.label()),
            (None, Some(condition)) if pairing.name.is_some() => {
                format!("{} (where {})", pairing.label(), condition.as_str())
            }
            _ => pairing.label(),
        })
        .collect()
}

fn has_entry(entries: &[UserEntry], person: &DirectoryMatch<'_>) -> bool {
    entries
        .iter()
        .any(|e| e.object_id.as_deref() == Some(person.id))
}

/// Rescue users with the queried e-mail (or linked to the queried object id) that no plan entry
/// covers: adsync does not manage them, and says why.
fn unmanaged<'a>(
    config: &Config,
    current: &'a CurrentState,
    entries: &[UserEntry],
    people: &[DirectoryMatch<'_>],
    wanted: &str,
) -> Vec<Unmanaged<'a>> {
    let tree = OrgTree::new(&current.rescue);
    let covered: BTreeSet<NodeId> = entries.iter().filter_map(|e| e.node_id).collect();
    let mut emails: BTreeSet<String> = BTreeSet::from([wanted.to_owned()]);
    emails.extend(people.iter().filter_map(|p| p.mail.map(str::to_lowercase)));
    let protected: BTreeSet<String> = config
        .sync
        .protected
        .iter()
        .map(|e| e.to_lowercase())
        .collect();
    let managed: BTreeSet<NodeId> = config
        .pairings
        .iter()
        .filter_map(|pairing| super::tree::destination(&tree, pairing))
        .collect();
    current
        .rescue
        .nodes
        .iter()
        .filter(|node| node.node_type.user_role().is_some() && !covered.contains(&node.id))
        .filter(|node| {
            node.email
                .as_deref()
                .is_some_and(|email| emails.contains(&email.trim().to_lowercase()))
        })
        .map(|node| {
            let group = tree.parent_location(node).map_or_else(
                || "(outside the containers)".to_owned(),
                |location| render::place(Some(location.container), Some(&location.path)),
            );
            let email = node.email.as_deref().unwrap_or_default().to_lowercase();
            let why = if node.account_holder {
                "the account holder: adsync never changes it".to_owned()
            } else if protected.contains(&email) {
                "protected (sync.protected): adsync never changes it".to_owned()
            } else if node.parent.is_some_and(|parent| managed.contains(&parent)) {
                "in a paired destination, but no paired group of its plane holds the user and the node is already in the state the plan wants".to_owned()
            } else {
                format!(
                    "{group} is not a paired destination, and the node is not linked to a directory user: adsync leaves it alone"
                )
            };
            Unmanaged { node, group, why }
        })
        .collect()
}

/// Which conditions selected the user (and which comparison failed), and where each mapped
/// field's value came from.
fn attribute_lines(out: &mut String, person: &DirectoryMatch<'_>, mapped: &[MappedField]) {
    for check in &person.conditions {
        let verdict = if check.selected {
            "selected"
        } else {
            "not selected"
        };
        let parts: Vec<String> = check
            .parts
            .iter()
            .map(|(part, holds)| format!("{part}: {}", if *holds { "yes" } else { "no" }))
            .collect();
        let _ = writeln!(
            out,
            "  where:      {verdict} by `{}` ({}): {}",
            check.pairing,
            check.condition,
            parts.join("; ")
        );
    }
    for field in mapped {
        let from: Vec<String> = field
            .from
            .iter()
            .map(|(name, value)| match value {
                Some(value) => format!("{name} = \"{value}\""),
                None => format!("{name} missing"),
            })
            .collect();
        let _ = writeln!(
            out,
            "  mapped:     {} = \"{}\" from `{}` ({}; {})",
            field.field,
            field.value,
            field.template,
            field.key,
            from.join(", ")
        );
    }
}

/// One user entry of the plan; `source` names the directory (`Entra ID`).
fn entry_block(
    out: &mut String,
    entry: &UserEntry,
    source: &str,
    people: &[DirectoryMatch<'_>],
    actions: &[&Action],
    mapped: &[MappedField],
    paint: Paint,
) {
    let _ = writeln!(
        out,
        "{} ({} plane)",
        paint.paint(Tone::Strong, entry.email.as_str()),
        entry.plane.as_str()
    );
    let person = people
        .iter()
        .find(|p| Some(p.id) == entry.object_id.as_deref());
    if let Some(name) = &entry.display_name {
        let state = person.map_or(String::new(), |p| {
            if p.account_enabled {
                ", enabled".to_owned()
            } else {
                format!(", disabled in {source}")
            }
        });
        let _ = writeln!(
            out,
            "  directory:  {name}{}{state}",
            entry
                .object_id
                .as_deref()
                .map(|id| format!(" ({id})"))
                .unwrap_or_default()
        );
    }
    if let Some(person) = person.filter(|p| !p.pairings.is_empty()) {
        let _ = writeln!(out, "  paired in:  {}", person.pairings.join(", "));
    }
    if let Some(person) = person {
        attribute_lines(out, person, mapped);
    }
    let _ = writeln!(
        out,
        "  wanted as:  {}",
        wanted_as(entry, person, actions, source)
    );
    if !entry.losing_pairings.is_empty() {
        let _ = writeln!(
            out,
            "  also in:    {} (lower priority)",
            entry.losing_pairings.join(", ")
        );
    }
    let _ = writeln!(out, "  in Rescue:  {}", in_rescue(entry));
    if let Some(note) = &entry.note {
        let _ = writeln!(out, "  held back:  {note}");
    }
    let mine: Vec<_> = actions
        .iter()
        .filter(|a| entry.actions.iter().any(|id| id == a.id()))
        .collect();
    if mine.is_empty() {
        let _ = writeln!(out, "  plan:       nothing to do");
    }
    for action in mine {
        let _ = writeln!(out, "  plan:       {}", render::action_line(action));
        let _ = writeln!(out, "              because: {}", action.reason());
    }
}

/// What the directory wants of the user in this plane, and why.
fn wanted_as(
    entry: &UserEntry,
    person: Option<&DirectoryMatch<'_>>,
    actions: &[&Action],
    source: &str,
) -> String {
    if let (Some(pairing), Some(role)) = (&entry.pairing, entry.role) {
        return format!("{} by pairing `{pairing}`", role.as_str());
    }
    match person {
        Some(person) if !person.account_enabled => format!(
            "nothing: the account is disabled in {source}, so adsync disables its Rescue user"
        ),
        Some(person) if !person.pairings.is_empty() => format!(
            "nothing in the {} plane: its paired groups grant the other plane",
            entry.plane.as_str()
        ),
        _ => {
            let reason = actions
                .iter()
                .find(|a| entry.actions.iter().any(|id| id == a.id()))
                .map(|a| a.reason().to_owned());
            match reason {
                Some(reason) => format!("nothing: {reason}"),
                None => format!(
                    "nothing: no paired {} group holds them",
                    entry.plane.as_str()
                ),
            }
        }
    }
}

fn in_rescue(entry: &UserEntry) -> String {
    match entry.node_id {
        Some(node) => format!(
            "node {node}, {} in {}, {}",
            render::role_name(entry.current_role),
            render::place(
                entry.current_role.map(Role::container),
                entry.current_group.as_ref()
            ),
            entry.current_status.map_or("?", |s| s.as_str()),
        ),
        None => "no node yet".to_owned(),
    }
}

/// A directory user with no identity key: adsync cannot place them.
fn unkeyed_block(out: &mut String, person: &DirectoryMatch<'_>, config: &Config) {
    let source = render::directory_name(&config.source);
    let _ = writeln!(out, "{} ({})", person.display_name, person.id);
    let _ = writeln!(
        out,
        "  directory:  {}, {}, mail {}, UPN {}",
        person.display_name,
        if person.account_enabled {
            "enabled".to_owned()
        } else {
            format!("disabled in {source}")
        },
        person.mail.unwrap_or("(none)"),
        person.upn
    );
    if !person.pairings.is_empty() {
        let _ = writeln!(out, "  paired in:  {}", person.pairings.join(", "));
    }
    attribute_lines(out, person, &person.mapped);
    let key = if config.sync.use_upn_instead_of_email {
        "UPN"
    } else {
        "mail"
    };
    let _ = writeln!(
        out,
        "  wanted as:  nothing: adsync matches users on their {key}, and this user has none it can use, so they are skipped (see the plan's warnings)"
    );
    let _ = writeln!(out, "  in Rescue:  not matched");
    let _ = writeln!(
        out,
        "  next step:  give the user a mail address in {source}, or set sync.use_upn_instead_of_email: true"
    );
}

fn unmanaged_block(out: &mut String, unmanaged: &Unmanaged<'_>) {
    let node = unmanaged.node;
    let role = node.node_type.user_role();
    let _ = writeln!(
        out,
        "{} ({} plane)",
        node.email.as_deref().unwrap_or_default(),
        role.map_or("?", |r| r.plane().as_str())
    );
    let _ = writeln!(
        out,
        "  in Rescue:  node {}, {} \"{}\" in {}, {}{}",
        node.id,
        render::role_name(role),
        node.name,
        unmanaged.group,
        if node.is_enabled() {
            "Enabled"
        } else {
            "Disabled"
        },
        if node.account_holder {
            ", the account holder"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "  managed:    no: {}", unmanaged.why);
    let _ = writeln!(out, "  plan:       nothing to do");
}
