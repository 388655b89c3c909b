//! `adsync plan`: read both sides, compute the plan, print it.

use std::collections::BTreeSet;
use std::io::IsTerminal;

use adsync_core::config::SourceConfig;
use adsync_core::desired::desired;
use adsync_core::model::{DirectorySnapshot, NodeType, RescueSnapshot};
use adsync_core::plan::{Action, ActionKind, CurrentState, Origin, Plan, Policy, plan};
use adsync_core::scope::detail_request;
use adsync_web::view::ReadFacts;

use crate::cli::{Global, PlanArgs};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::load::{self, Loaded};
use crate::output;
use crate::progress::ReadBar;
use crate::render::{self, Listing};
use crate::style::Paint;
use crate::suggest;

pub(crate) async fn run(global: &Global, args: &PlanArgs) -> Result<ExitStatus, Error> {
    let loaded = super::config(global)?;
    if let Some(goto) = crate::goto::target_config(&loaded) {
        return crate::goto::plan_command(global, args, &loaded, goto).await;
    }
    let target = crate::wiring::target(&loaded)?;
    let plan = make_plan(global, args.json, &loaded, target.as_target()).await?;
    let listing = listing(&plan, args)?;
    if let Some(out) = &args.out {
        // Sealed: `apply` refuses the file if anything in it changes after this.
        let sealed = crate::saved::sealed(&loaded, &plan)?;
        output::write_atomic(out, output::json(&sealed).as_bytes())?;
    }
    print_warnings(global, &plan);
    if args.json {
        output::stdout(&output::json(&plan))?;
    } else {
        output::stdout(&render::plan_human(&plan, Paint::stdout(global), &listing))?;
    }
    if plan.blocked.is_some() {
        output::warning(
            global,
            "this plan is blocked by a safety guard; `adsync apply` would refuse it",
        );
    }
    if let Some(out) = &args.out {
        let shown = out.display();
        output::note(
            global.quiet,
            &format!("Saved the plan to {shown}; apply it with `adsync apply {shown}`"),
        );
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

/// The plan's warnings, on stderr.
pub(crate) fn print_warnings(global: &Global, plan: &Plan) {
    for warning in &plan.warnings {
        output::warning(global, &render::warning_text(warning));
    }
}

/// The plan's warnings not yet in `warned`, on stderr; the service prints each warning once
/// rather than every cycle.
pub(crate) fn print_new_warnings(
    global: &Global,
    plan: &Plan,
    warned: &std::sync::Mutex<BTreeSet<String>>,
) {
    let mut warned = warned
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for warning in &plan.warnings {
        let text = render::warning_text(warning);
        if warned.insert(text.clone()) {
            output::warning(global, &text);
        }
    }
}

/// A plan and what it was made from, for commands that explain it.
pub(crate) struct Planned {
    pub(crate) plan: Plan,
    /// The directory as read (kept only when asked for).
    pub(crate) directory: Option<DirectorySnapshot>,
    /// Rescue as read, and the links.
    pub(crate) current: CurrentState,
}

/// Reads the directory, then Rescue, and plans. Any failed read means no plan.
pub(crate) async fn make_plan(
    global: &Global,
    json: bool,
    loaded: &Loaded,
    target: &dyn adsync_core::adapter::Target,
) -> Result<Plan, Error> {
    Ok(
        read_and_plan(global, json, loaded, target, false, &mut None)
            .await?
            .plan,
    )
}

/// The failed read of a directory that took longer than `budget`.
fn over_budget(budget: std::time::Duration) -> adsync_core::adapter::AdapterError {
    adsync_core::adapter::AdapterError::new(
        adsync_core::adapter::AdapterErrorKind::Transport,
        format!(
            "reading the directory took longer than its budget of {}s (sync.read_budget_s); \
             nothing is decided on a partial read",
            budget.as_secs()
        ),
    )
}

/// [`make_plan`], keeping what was read; the directory only when `keep_directory` (a large one
/// is dropped as soon as the desired state is made from it). `read` is told what both reads
/// found and how long they took once both have finished, even when planning then fails.
pub(crate) async fn read_and_plan(
    global: &Global,
    json: bool,
    loaded: &Loaded,
    target: &dyn adsync_core::adapter::Target,
    keep_directory: bool,
    read: &mut Option<ReadFacts>,
) -> Result<Planned, Error> {
    let started = std::time::Instant::now();
    let source = crate::wiring::source(loaded)?;
    let request = loaded.source_request();
    let groups = crate::render::group_kind(&loaded.config.source);
    let bar = ReadBar::directory(global, json, groups, request.groups.len());
    // Every source's read is bounded by `sync.read_budget_s` (Graph also bounds its own, with
    // the same budget, so its error names the request it was on).
    let budget = std::time::Duration::from_secs(loaded.config.sync.read_budget_s);
    let directory = tokio::time::timeout(budget, source.snapshot_reporting(&request, &bar))
        .await
        .unwrap_or_else(|_| Err(over_budget(budget)))
        .map_err(Error::SourceRead);
    bar.finish();
    let directory = directory?;
    tracing::info!(
        groups = directory.groups.len(),
        users = directory.users.len(),
        "read the directory"
    );
    let directory_read = (directory.users.len() as u64, directory.groups.len() as u64);
    let desired = desired(&directory, &loaded.config).map_err(Error::Plan)?;
    let directory = keep_directory.then_some(directory);
    let links = load::read_links(loaded)?;
    let details = detail_request(&loaded.config, &desired, &links);
    let bar = ReadBar::start(global, json, "reading the Rescue organization");
    let rescue = target
        .snapshot_reporting(&details, &bar)
        .await
        .map_err(Error::TargetRead);
    bar.finish();
    let current = CurrentState {
        rescue: rescue?,
        links,
    };
    tracing::info!(nodes = current.rescue.nodes.len(), "read Rescue");
    *read = Some(read_facts(directory_read, &current.rescue, started));
    let mut plan =
        plan(&desired, &current, &Policy::from_config(&loaded.config)).map_err(Error::Plan)?;
    plan.origin = Some(origin(loaded, &current.rescue));
    tracing::info!(
        actions = plan.actions.len(),
        unchanged = plan.summary.unchanged,
        "planned"
    );
    Ok(Planned {
        plan,
        directory,
        current,
    })
}

/// What both reads found, for the service page: the directory's users and groups, Rescue's
/// user nodes, and the time since `started`.
fn read_facts(
    (directory_users, directory_groups): (u64, u64),
    rescue: &RescueSnapshot,
    started: std::time::Instant,
) -> ReadFacts {
    ReadFacts {
        directory_users,
        directory_groups,
        rescue_users: rescue
            .nodes
            .iter()
            .filter(|node| node.node_type.user_role().is_some())
            .count() as u64,
        duration: started.elapsed(),
    }
}

/// When the plan was made, and against what.
fn origin(loaded: &Loaded, rescue: &RescueSnapshot) -> Origin {
    Origin {
        made_at: Some(crate::clock::now()),
        tenant: match &loaded.config.source {
            SourceConfig::Graph(graph) => Some(graph.tenant.clone()),
            SourceConfig::Ldap(_) | SourceConfig::Snapshot(_) => None,
        },
        directory: match &loaded.config.source {
            SourceConfig::Ldap(ldap) => Some(format!("{} at {}", ldap.base_dn, ldap.url)),
            SourceConfig::Graph(_) | SourceConfig::Snapshot(_) => None,
        },
        organization: organization(rescue),
    }
}

/// The organization's name: its root node's.
pub(crate) fn organization(rescue: &RescueSnapshot) -> Option<String> {
    rescue
        .nodes
        .iter()
        .find(|node| node.node_type == NodeType::Root)
        .map(|node| node.name.clone())
}

/// How the listing is filtered and laid out, from the flags; unknown kinds and pairings are
/// errors with a suggestion.
fn listing(plan: &Plan, args: &PlanArgs) -> Result<Listing, Error> {
    let width = std::io::stdout()
        .is_terminal()
        .then(|| console::Term::stdout().size_checked())
        .flatten()
        .map(|(_, columns)| usize::from(columns));
    let mut listing = Listing {
        compact: args.compact,
        width,
        ..Listing::default()
    };
    let kinds = kinds(&args.only)?;
    let pairing = args
        .pairing
        .as_deref()
        .map(|name| pairing_actions(plan, name))
        .transpose()?;
    let user = args.user.as_deref().map(|user| user.trim().to_lowercase());
    if kinds.is_none() && pairing.is_none() && user.is_none() {
        return Ok(listing);
    }
    let shown = plan
        .actions
        .iter()
        .enumerate()
        .filter(|(_, action)| kinds.as_ref().is_none_or(|k| k.contains(&action.kind())))
        .filter(|(_, action)| pairing.as_ref().is_none_or(|ids| ids.contains(action.id())))
        .filter(|(_, action)| user.as_deref().is_none_or(|user| is_user(action, user)))
        .map(|(at, _)| at)
        .collect();
    let mut filter = Vec::new();
    if !args.only.is_empty() {
        filter.push(format!("--only {}", args.only.join(",")));
    }
    if let Some(pairing) = &args.pairing {
        filter.push(format!("--pairing {pairing}"));
    }
    if let Some(user) = &args.user {
        filter.push(format!("--user {user}"));
    }
    listing.shown = Some(shown);
    listing.filter = filter.join(" ");
    Ok(listing)
}

const KIND_NAMES: [&str; 8] = [
    "create", "group", "move", "update", "enable", "addon", "mobile", "disable",
];

/// `--only` names to kinds; `None` when not given.
fn kinds(names: &[String]) -> Result<Option<BTreeSet<ActionKind>>, Error> {
    if names.is_empty() {
        return Ok(None);
    }
    let mut kinds = BTreeSet::new();
    for name in names {
        let name = name.trim().to_lowercase();
        let wire = ActionKind::ALL.into_iter().find(|k| k.as_str() == name);
        match (name.as_str(), wire) {
            (_, Some(kind)) => {
                kinds.insert(kind);
            }
            ("create", _) => kinds.extend([ActionKind::CreateGroup, ActionKind::CreateUser]),
            ("group" | "groups", _) => {
                kinds.insert(ActionKind::CreateGroup);
            }
            ("move", _) => {
                kinds.insert(ActionKind::MoveUser);
            }
            ("update", _) => {
                kinds.insert(ActionKind::UpdateUser);
            }
            ("enable", _) => {
                kinds.insert(ActionKind::EnableUser);
            }
            ("addon" | "add-on" | "mobile", _) => {
                kinds.insert(ActionKind::SetMobileLicense);
            }
            ("disable", _) => {
                kinds.insert(ActionKind::DisableUser);
            }
            _ => {
                return Err(Error::Usage {
                    message: format!(
                        "`{name}` is not a kind of change{}",
                        suggest::did_you_mean(&name, KIND_NAMES)
                    ),
                    hint: format!("--only takes {}", KIND_NAMES.join(", ")),
                });
            }
        }
    }
    Ok(Some(kinds))
}

/// The ids of the actions a pairing causes: its users' actions, and the disables, add-on
/// releases and group creations in its destination.
fn pairing_actions(plan: &Plan, name: &str) -> Result<BTreeSet<String>, Error> {
    let found = plan
        .pairings
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name) || p.entra_group.eq_ignore_ascii_case(name));
    let Some(pairing) = found else {
        let names: Vec<&str> = plan.pairings.iter().map(|p| p.name.as_str()).collect();
        return Err(Error::Usage {
            message: format!(
                "no pairing is named `{name}`{}",
                suggest::did_you_mean(name, names.iter().copied())
            ),
            hint: format!("the pairings are {}", names.join(", ")),
        });
    };
    let mut ids: BTreeSet<String> = plan
        .users
        .iter()
        .filter(|user| user.pairing.as_deref() == Some(pairing.name.as_str()))
        .flat_map(|user| user.actions)
        .collect();
    for action in &plan.actions {
        let in_destination = action.container() == Some(pairing.container)
            && match action.kind() {
                ActionKind::CreateGroup => action.to().is_some_and(|to| {
                    pairing.destination == *to
                        || pairing
                            .destination
                            .as_str()
                            .starts_with(&format!("{}/", to.as_str()))
                }),
                ActionKind::DisableUser | ActionKind::SetMobileLicense => {
                    action.from() == Some(&pairing.destination)
                }
                _ => false,
            };
        if in_destination {
            ids.insert(action.id().to_owned());
        }
    }
    Ok(ids)
}

fn is_user(action: &Action, user: &str) -> bool {
    action.email().is_some_and(|e| e.as_str() == user)
        || action
            .object_id()
            .is_some_and(|id| id.eq_ignore_ascii_case(user))
}
