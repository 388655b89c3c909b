//! The fault matrix of `docs/reliability.md`, row by row: a fault injected into the Graph or
//! Rescue emulator, a whole sync through the real `GraphSource` and `RescueTarget` and core's
//! `desired`/`plan`/`execute`, the outcome the row promises (no plan, retried and fine, or an
//! action failed with a category), and the check that nothing was lost: no wrongful disable,
//! no duplicate (nor an empty node left by a create), no change to a node the fault-free plan
//! does not act on.
//!
//! Every row compares against the same world synced without faults (the goal), so "fine" means
//! the same plan and the same end state, whatever the retries cost. The load run at the end
//! syncs 100 pairings with 30 % of all requests throttled and prints the retry counts.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use adsync_core::adapter::{
    AdapterError, AdapterErrorKind, FailureCategory, Source, SourceRequest, Target,
};
use adsync_core::config::Config;
use adsync_core::desired::desired;
use adsync_core::error::PlanError;
use adsync_core::execute::{ApplyReport, NoObserver, Outcome, execute};
use adsync_core::model::{
    DirectoryGroup, DirectorySnapshot, DirectoryUser, NodeId, NodeType, RescueNode, RescueSnapshot,
    Status,
};
use adsync_core::plan::{ActionKind, CurrentState, Links, Plan, Policy, plan};
use adsync_core::scope::detail_request;
use adsync_graph::{GraphSettings, GraphSource};
use adsync_rescue::api::{code, method};
use adsync_rescue::{RescueSettings, RescueTarget};
use adsync_tests::graph_emulator::{Fault as GraphFault, GraphEmulator, RequestKind};
use adsync_tests::rescue_emulator::{Fault as RescueFault, RescueEmulator};
use adsync_tests::throttle::Throttle;

// ---- the world --------------------------------------------------------------------------------

fn demo_directory() -> DirectorySnapshot {
    serde_yaml::from_str(include_str!("../../fixtures/demo/directory.yaml")).expect("directory")
}

fn demo_rescue() -> RescueSnapshot {
    serde_yaml::from_str(include_str!("../../fixtures/demo/rescue.yaml")).expect("rescue")
}

fn demo_config() -> Config {
    let config: Config =
        serde_yaml::from_str(include_str!("../../fixtures/demo/adsync.yaml")).expect("config");
    config.validate().expect("the demo configuration is valid");
    config
}

/// Both emulators, seeded, and the configuration's rules.
struct World {
    graph: GraphEmulator,
    rescue: RescueEmulator,
    config: Config,
    before: RescueSnapshot,
}

impl World {
    async fn start(directory: DirectorySnapshot, rescue: &RescueSnapshot, config: Config) -> World {
        let graph = GraphEmulator::start(directory).await;
        let rescue = RescueEmulator::start(rescue).await;
        let before = rescue.snapshot();
        World {
            graph,
            rescue,
            config,
            before,
        }
    }

    async fn demo() -> World {
        World::start(demo_directory(), &demo_rescue(), demo_config()).await
    }

    fn graph_settings(&self) -> GraphSettings {
        self.graph.settings(4)
    }

    fn source(&self) -> GraphSource {
        GraphSource::new(self.graph_settings()).expect("graph settings")
    }

    fn source_with(&self, settings: GraphSettings) -> GraphSource {
        GraphSource::new(settings).expect("graph settings")
    }

    fn target(&self) -> RescueTarget {
        self.rescue.target(4)
    }

    fn target_with(&self, settings: RescueSettings) -> RescueTarget {
        RescueTarget::new(settings).expect("rescue settings")
    }

    fn request(&self) -> SourceRequest {
        SourceRequest::for_config(&self.config)
    }

    /// Reads both sides and plans, as `adsync plan` does (no links).
    async fn plan(&self, source: &dyn Source, target: &dyn Target) -> Result<Plan, NoPlan> {
        let directory = source
            .snapshot(&self.request())
            .await
            .map_err(NoPlan::Source)?;
        let desired = desired(&directory, &self.config).map_err(NoPlan::Plan)?;
        let links = Links::default();
        let details = detail_request(&self.config, &desired, &links);
        let rescue = target.snapshot(&details).await.map_err(NoPlan::Target)?;
        let current = CurrentState { rescue, links };
        plan(&desired, &current, &Policy::from_config(&self.config)).map_err(NoPlan::Plan)
    }

    /// Plans and applies, as `adsync apply --yes` does.
    async fn sync(&self, source: &dyn Source, target: &dyn Target) -> (Plan, ApplyReport) {
        let plan = self
            .plan(source, target)
            .await
            .unwrap_or_else(|error| panic!("a plan: {error:?}"));
        let report = execute(&plan, target, &BTreeMap::new(), &mut NoObserver).await;
        (plan, report)
    }

    /// After a sync with faults cleared: a fresh sync converges to `goal`, and a plan after it
    /// is empty.
    async fn assert_rerun_converges(&self, goal: &Goal) {
        let target = self.target();
        let (_, report) = self.sync(&self.source(), &target).await;
        assert!(
            report.is_complete(),
            "the re-run applies everything: {report:?}"
        );
        assert_eq!(fingerprint(&self.rescue.snapshot()), goal.fingerprint);
        let again = self.plan(&self.source(), &target).await.expect("a plan");
        assert!(
            again.is_empty(),
            "a plan after convergence is empty: {again:?}"
        );
    }
}

#[derive(Debug)]
enum NoPlan {
    Source(AdapterError),
    Target(AdapterError),
    Plan(PlanError),
}

impl NoPlan {
    fn source(self) -> AdapterError {
        match self {
            NoPlan::Source(error) => error,
            other => panic!("expected a failed directory read, got {other:?}"),
        }
    }

    fn target(self) -> AdapterError {
        match self {
            NoPlan::Target(error) => error,
            other => panic!("expected a failed Rescue read, got {other:?}"),
        }
    }
}

/// The same world synced without faults: its plan, and what Rescue holds after it.
struct Goal {
    plan: Plan,
    fingerprint: BTreeMap<String, String>,
}

async fn goal(directory: DirectorySnapshot, rescue: &RescueSnapshot, config: Config) -> Goal {
    let world = World::start(directory, rescue, config).await;
    let target = world.target();
    let (plan, report) = world.sync(&world.source(), &target).await;
    assert!(
        report.is_complete(),
        "the fault-free sync applies everything"
    );
    let after = world.rescue.snapshot();
    assert_no_duplicate_or_empty_user(&after);
    Goal {
        plan,
        fingerprint: fingerprint(&after),
    }
}

async fn demo_goal() -> Goal {
    goal(demo_directory(), &demo_rescue(), demo_config()).await
}

// ---- what "nothing lost" means ----------------------------------------------------------------

/// A node's name across two emulators: users by plane and e-mail (created nodes get whatever
/// id comes next), other nodes by id.
fn key_of(node: &RescueNode) -> String {
    match (node.node_type.user_role(), node.email.as_deref()) {
        (Some(role), Some(email)) if !email.is_empty() => {
            format!("{}:{}", role.plane().as_str(), email.to_lowercase())
        }
        _ => format!("node:{}", node.id),
    }
}

/// Every node as comparable across two emulators, by [`key_of`]; the value holds the parent's
/// path by names and every field.
fn fingerprint(snapshot: &RescueSnapshot) -> BTreeMap<String, String> {
    let by_id: BTreeMap<NodeId, &RescueNode> = snapshot.nodes.iter().map(|n| (n.id, n)).collect();
    let path = |mut id: Option<NodeId>| {
        let mut names = Vec::new();
        while let Some(node) = id.and_then(|id| by_id.get(&id)) {
            names.push(node.name.clone());
            id = node.parent;
            if names.len() > 64 {
                break;
            }
        }
        names.reverse();
        names.join("/")
    };
    snapshot
        .nodes
        .iter()
        .map(|node| {
            let value = format!(
                "{} | {} | {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                path(node.parent),
                node.node_type.as_str(),
                node.name,
                node.nick,
                node.ssoid,
                node.description,
                node.status,
                node.mobile,
                node.rpat,
                node.account_holder
            );
            (key_of(node), value)
        })
        .collect()
}

/// No plane holds two users with one e-mail, and no user node is empty (a create that was
/// neither filled nor rolled back).
fn assert_no_duplicate_or_empty_user(snapshot: &RescueSnapshot) {
    let mut seen = BTreeMap::new();
    for node in &snapshot.nodes {
        let Some(role) = node.node_type.user_role() else {
            continue;
        };
        let email = node.email.as_deref().unwrap_or("").trim().to_lowercase();
        assert!(
            !(email.is_empty() && node.name.trim().is_empty()),
            "an empty user node is left behind: {node:?}"
        );
        if let Some(other) = seen.insert((role.plane(), email.clone()), node.id) {
            panic!(
                "two users with {email} in one plane: {other} and {}",
                node.id
            );
        }
    }
}

/// The nothing-lost checks of every row: no duplicate or empty user; every user disabled since
/// `before` is disabled in the goal too; every node the fault-free plan does not act on is
/// exactly as it was.
fn assert_nothing_lost(before: &RescueSnapshot, after: &RescueSnapshot, goal: &Goal) {
    assert_no_duplicate_or_empty_user(after);
    let before_by_id: BTreeMap<NodeId, &RescueNode> =
        before.nodes.iter().map(|n| (n.id, n)).collect();
    for node in &after.nodes {
        let Some(old) = before_by_id.get(&node.id) else {
            continue;
        };
        if old.status == Some(Status::Enabled) && node.status == Some(Status::Disabled) {
            let wanted = goal
                .fingerprint
                .get(&key_of(node))
                .map(String::as_str)
                .unwrap_or_default();
            assert!(
                wanted.contains("Some(Disabled)"),
                "node {} ({:?}) was disabled, but the goal keeps it enabled",
                node.id,
                node.email
            );
        }
    }
    let acted_on: BTreeSet<NodeId> = goal
        .plan
        .actions
        .iter()
        .filter_map(|action| action.node_id())
        .collect();
    let after_by_id: BTreeMap<NodeId, &RescueNode> =
        after.nodes.iter().map(|n| (n.id, n)).collect();
    for node in &before.nodes {
        if acted_on.contains(&node.id) {
            continue;
        }
        assert_eq!(
            after_by_id.get(&node.id).copied(),
            Some(node),
            "node {} is not in the plan, yet it changed",
            node.id
        );
    }
}

/// "Retried and fine": the plan is the fault-free plan, the apply completes, and Rescue ends
/// where the fault-free sync ended.
fn assert_fine(world: &World, plan: &Plan, report: &ApplyReport, goal: &Goal) {
    assert_eq!(
        serde_json::to_value(plan).expect("json"),
        serde_json::to_value(&goal.plan).expect("json"),
        "the plan under faults is the fault-free plan"
    );
    assert!(report.is_complete(), "every action applied: {report:?}");
    let after = world.rescue.snapshot();
    assert_nothing_lost(&world.before, &after, goal);
    assert_eq!(fingerprint(&after), goal.fingerprint);
}

/// "No plan": the read failed with `kind`, and Rescue received no write at all.
fn assert_no_plan(world: &World, error: &AdapterError, kind: AdapterErrorKind) {
    assert_eq!(error.kind, kind, "{error}");
    assert_eq!(world.rescue.writes(), 0, "no plan, no write");
    assert_eq!(world.rescue.snapshot(), world.before);
}

/// "An action failed with a category": exactly the actions of `emails` failed, with `category`;
/// every other action applied; those users are as before, everyone else is as in the goal.
fn assert_failed_only(
    world: &World,
    report: &ApplyReport,
    goal: &Goal,
    emails: &[&str],
    category: FailureCategory,
) {
    let failed: BTreeSet<String> = report
        .results
        .iter()
        .filter(|r| r.outcome != Outcome::Applied)
        .map(|r| {
            assert_eq!(r.outcome, Outcome::Failed, "{r:?}");
            assert_eq!(r.category, Some(category), "{r:?}");
            r.email
                .as_ref()
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default()
        })
        .collect();
    let expected: BTreeSet<String> = emails.iter().map(|e| (*e).to_owned()).collect();
    assert_eq!(failed, expected, "{report:?}");
    let after = world.rescue.snapshot();
    assert_nothing_lost(&world.before, &after, goal);
    let before_fp = fingerprint(&world.before);
    let after_fp = fingerprint(&after);
    for (key, value) in &goal.fingerprint {
        let email_failed = emails.iter().any(|e| key.ends_with(&format!(":{e}")));
        if email_failed {
            assert_eq!(after_fp.get(key), before_fp.get(key), "{key} is as before");
        } else {
            assert_eq!(after_fp.get(key), Some(value), "{key} is as in the goal");
        }
    }
}

// ---- Microsoft Graph --------------------------------------------------------------------------

/// Graph 429 storm, within the retry budget: retried, and the plan is the fault-free plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_429_storm_is_retried_and_fine() {
    let goal = demo_goal().await;
    let world = World::demo().await;
    let throttle = GraphFault::Throttle {
        retry_after: Some("0.01".into()),
    };
    world
        .graph
        .inject(Some(RequestKind::GroupByName), throttle.clone(), 4);
    world.graph.inject(
        Some(RequestKind::TransitiveMemberUsers),
        throttle.clone(),
        4,
    );
    world.graph.inject(
        Some(RequestKind::MemberGroups),
        GraphFault::Throttle { retry_after: None },
        4,
    );
    let target = world.target();
    let (plan, report) = world.sync(&world.source(), &target).await;
    assert_fine(&world, &plan, &report, &goal);
    let throttled = world
        .graph
        .served()
        .iter()
        .filter(|s| s.status == 429)
        .count();
    assert_eq!(throttled, 12, "every 429 was answered, then retried");
}

/// Graph 429 storm that outlasts the retry budget: no plan, Rescue never written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_429_storm_beyond_the_budget_means_no_plan() {
    let world = World::demo().await;
    world.graph.inject(
        Some(RequestKind::TransitiveMemberUsers),
        GraphFault::Throttle {
            retry_after: Some("0".into()),
        },
        usize::MAX,
    );
    let error = world
        .plan(&world.source(), &world.target())
        .await
        .expect_err("no plan")
        .source();
    assert_no_plan(&world, &error, AdapterErrorKind::Throttled);
    assert_eq!(world.rescue.total_requests(), 0, "Rescue is not even read");
}

/// Graph 503 and 504: retried, and fine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_503_and_504_are_retried_and_fine() {
    let goal = demo_goal().await;
    let world = World::demo().await;
    world
        .graph
        .inject(Some(RequestKind::GroupByName), GraphFault::Unavailable, 3);
    world.graph.inject(
        Some(RequestKind::TransitiveMemberUsers),
        GraphFault::GatewayTimeout,
        3,
    );
    world
        .graph
        .inject(Some(RequestKind::Token), GraphFault::Unavailable, 2);
    let target = world.target();
    let (plan, report) = world.sync(&world.source(), &target).await;
    assert_fine(&world, &plan, &report, &goal);
}

/// Graph 503/504 that never stop: no plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_503_and_504_that_persist_mean_no_plan() {
    for fault in [GraphFault::Unavailable, GraphFault::GatewayTimeout] {
        let world = World::demo().await;
        world
            .graph
            .inject(Some(RequestKind::MemberGroups), fault.clone(), usize::MAX);
        let error = world
            .plan(&world.source(), &world.target())
            .await
            .expect_err("no plan")
            .source();
        assert_no_plan(&world, &error, AdapterErrorKind::Transport);
    }
}

/// A Graph source whose requests time out after 700 ms (a slow fault holds 2 s).
fn impatient(world: &World) -> GraphSource {
    let mut settings = world.graph_settings();
    settings.retry.timeout = Duration::from_millis(700);
    world.source_with(settings)
}

/// Graph timeouts: retried, and fine; timeouts that persist: no plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_timeouts_are_retried_and_fine_or_no_plan() {
    let goal = demo_goal().await;
    let world = World::demo().await;
    let slow = GraphFault::Slow(Duration::from_secs(2));
    world
        .graph
        .inject(Some(RequestKind::TransitiveMemberUsers), slow.clone(), 2);
    world
        .graph
        .inject(Some(RequestKind::Token), slow.clone(), 1);
    let target = world.target();
    let (plan, report) = world.sync(&impatient(&world), &target).await;
    assert_fine(&world, &plan, &report, &goal);

    let world = World::demo().await;
    world
        .graph
        .inject(Some(RequestKind::GroupByName), slow, usize::MAX);
    let error = world
        .plan(&impatient(&world), &world.target())
        .await
        .expect_err("no plan")
        .source();
    assert_no_plan(&world, &error, AdapterErrorKind::Transport);
}

/// Malformed or truncated JSON from Graph: never guessed at, no plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_malformed_json_means_no_plan() {
    for (kind, fault) in [
        (RequestKind::TransitiveMemberUsers, GraphFault::Malformed),
        (RequestKind::TransitiveMemberUsers, GraphFault::Truncated),
        (RequestKind::GroupByName, GraphFault::Truncated),
        (RequestKind::MemberGroups, GraphFault::Malformed),
        (RequestKind::Token, GraphFault::Malformed),
    ] {
        let world = World::demo().await;
        world.graph.inject(Some(kind), fault.clone(), 1);
        let error = world
            .plan(&world.source(), &world.target())
            .await
            .expect_err("no plan")
            .source();
        assert_no_plan(&world, &error, AdapterErrorKind::Protocol);
    }
}

/// Members with limited information (no User.Read.All): a permission error, no plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_members_with_limited_information_mean_no_plan() {
    let world = World::demo().await;
    world.graph.set_users_readable(false);
    let error = world
        .plan(&world.source(), &world.target())
        .await
        .expect_err("no plan")
        .source();
    assert_no_plan(&world, &error, AdapterErrorKind::Permission);
    assert!(error.hint.unwrap_or_default().contains("User.Read.All"));
}

/// A world whose one pairing reads two pages of members: SG-Rescue-L1 with 1,000 more users
/// (Graph's pages hold 999), none of them in Rescue yet.
fn paging_world() -> (DirectorySnapshot, Config) {
    let mut directory = demo_directory();
    let mut extra = Vec::new();
    for i in 0..1000 {
        let id = format!("0000bulk-0000-4000-8000-{i:012}");
        directory.users.push(DirectoryUser {
            id: id.clone(),
            upn: format!("bulk{i:04}@contoso.com"),
            mail: Some(format!("bulk{i:04}@contoso.com")),
            display_name: format!("Bulk User {i:04}"),
            given_name: Some("Bulk".into()),
            surname: Some(format!("{i:04}")),
            job_title: None,
            department: None,
            mobile_phone: None,
            employee_id: None,
            account_enabled: true,
            attributes: Default::default(),
        });
        extra.push(id);
    }
    let l1: &mut DirectoryGroup = directory
        .groups
        .iter_mut()
        .find(|g| g.display_name == "SG-Rescue-L1")
        .expect("SG-Rescue-L1");
    l1.members.extend(extra);
    let mut config = demo_config();
    config
        .pairings
        .retain(|p| p.name.as_deref() == Some("helpdesk-l1"));
    config.sync.limits.max_members_per_group = 2000;
    config.validate().expect("valid");
    (directory, config)
}

/// The plan of the paging world without faults (only planned: it would create 1,000 users).
async fn paging_goal() -> Plan {
    let (directory, config) = paging_world();
    let world = World::start(directory, &demo_rescue(), config).await;
    let plan = world
        .plan(&world.source(), &world.target())
        .await
        .expect("a plan");
    assert!(plan.summary.create_user >= 1000, "{:?}", plan.summary);
    plan
}

async fn paging() -> World {
    let (directory, config) = paging_world();
    World::start(directory, &demo_rescue(), config).await
}

/// Whether the request that met the fault was a nextLink page.
fn next_page_failed(world: &World, status: u16) -> bool {
    world
        .graph
        .served()
        .iter()
        .any(|s| s.request.contains("skiptoken") && s.status == status)
}

/// A nextLink that fails (503 for good, a malformed or truncated page, a 403): no plan. A nextLink
/// that fails a few times: retried, and the plan is the fault-free plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_a_failing_next_link_means_no_plan_or_is_retried() {
    let goal = paging_goal().await;
    let users = Some(RequestKind::TransitiveMemberUsers);
    for (fault, times, status, kind) in [
        (
            GraphFault::Unavailable,
            usize::MAX,
            503,
            AdapterErrorKind::Transport,
        ),
        (GraphFault::Malformed, 1, 200, AdapterErrorKind::Protocol),
        (GraphFault::Truncated, 1, 200, AdapterErrorKind::Protocol),
        (GraphFault::Forbidden, 1, 403, AdapterErrorKind::Permission),
    ] {
        let world = paging().await;
        world.graph.inject_after(users, 1, fault.clone(), times);
        let error = world
            .plan(&world.source(), &world.target())
            .await
            .expect_err("no plan")
            .source();
        assert!(next_page_failed(&world, status), "{fault:?} hit page 2");
        assert_no_plan(&world, &error, kind);
    }

    let world = paging().await;
    world
        .graph
        .inject_after(users, 1, GraphFault::Unavailable, 3);
    let plan = world
        .plan(&world.source(), &world.target())
        .await
        .expect("a plan");
    assert!(next_page_failed(&world, 503));
    assert_eq!(plan, goal);
}

/// The token expires between two pages of one listing: renewed once, and the plan is the
/// fault-free plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_token_expiry_mid_read_is_renewed_and_fine() {
    let goal = paging_goal().await;
    let world = paging().await;
    world.graph.inject_after(
        Some(RequestKind::TransitiveMemberUsers),
        1,
        GraphFault::ExpiredToken,
        1,
    );
    let plan = world
        .plan(&world.source(), &world.target())
        .await
        .expect("a plan");
    assert!(
        next_page_failed(&world, 401),
        "the token expired before page 2"
    );
    assert_eq!(world.graph.count(RequestKind::Token), 2, "renewed once");
    assert_eq!(plan, goal);

    // And through a whole sync of the demo.
    let goal = demo_goal().await;
    let world = World::demo().await;
    world
        .graph
        .inject(Some(RequestKind::MemberGroups), GraphFault::ExpiredToken, 1);
    let target = world.target();
    let (plan, report) = world.sync(&world.source(), &target).await;
    assert_fine(&world, &plan, &report, &goal);
}

// ---- LogMeIn Rescue ---------------------------------------------------------------------------

/// `ERROR` before a write (nothing applied): sent again, applied once, fine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescue_error_before_a_write_is_retried_and_fine() {
    let goal = demo_goal().await;
    let world = World::demo().await;
    for m in [method::CREATE_USER, method::SET_USER, method::MOVE_NODE] {
        world.rescue.inject(Some(m), RescueFault::Error, 2);
    }
    let target = world.target();
    let (plan, report) = world.sync(&world.source(), &target).await;
    assert_fine(&world, &plan, &report, &goal);
    assert_eq!(world.rescue.count(method::CREATE_USER), 4 + 2);
}

/// `ERROR` after a write was applied (and a timeout after one): the write is checked by a read
/// and never sent twice; no duplicate, fine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescue_error_after_a_write_is_verified_and_fine() {
    let goal = demo_goal().await;
    let world = World::demo().await;
    for m in [method::CREATE_USER, method::SET_USER, method::MOVE_NODE] {
        world
            .rescue
            .inject(Some(m), RescueFault::ErrorAfterApply, 2);
    }
    world.rescue.inject(
        Some(method::CREATE_USER),
        RescueFault::TimeoutAfterApply(Duration::from_secs(2)),
        1,
    );
    let mut settings = world.rescue.settings(4);
    settings.retry.request_timeout = Duration::from_millis(700);
    let target = world.target_with(settings);
    let (plan, report) = world.sync(&world.source(), &target).await;
    assert_fine(&world, &plan, &report, &goal);
    assert_eq!(
        world.rescue.count(method::CREATE_USER),
        4,
        "no create was sent twice"
    );
}

/// `NOTLOGGEDIN` mid-run with password sign-in: one new sign-in, and fine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescue_notloggedin_mid_run_signs_in_again_and_is_fine() {
    let goal = demo_goal().await;
    let world = World::demo().await;
    world
        .rescue
        .inject(Some(method::SET_USER), RescueFault::NotLoggedIn, 1);
    let target = world.target_with(world.rescue.password_settings(4));
    let (plan, report) = world.sync(&world.source(), &target).await;
    assert_fine(&world, &plan, &report, &goal);
    assert_eq!(world.rescue.authcodes_issued(), 2, "signed in once more");
}

/// `NOTLOGGEDIN` with an API token (nothing to renew): that action fails as `permission`, the
/// others apply, and a re-run converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescue_notloggedin_with_a_token_fails_one_action_as_permission() {
    let goal = demo_goal().await;
    let world = World::demo().await;
    world
        .rescue
        .inject(Some(method::MOVE_NODE), RescueFault::NotLoggedIn, 1);
    let target = world.target();
    let (_, report) = world.sync(&world.source(), &target).await;
    assert_failed_only(
        &world,
        &report,
        &goal,
        &["hana.sato@contoso.com"],
        FailureCategory::Permission,
    );
    world.assert_rerun_converges(&goal).await;
}

/// `INVALID_SECRETAUTHCODE`: on the read with an API token, no plan (with the token hint); on a
/// write, that action fails as `permission`; with password sign-in, one new sign-in and fine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescue_invalid_secretauthcode() {
    let refused = RescueFault::Body(code::INVALID_SECRET_AUTHCODE.to_owned());

    let world = World::demo().await;
    world
        .rescue
        .inject(Some(method::GET_HIERARCHY), refused.clone(), 1);
    let error = world
        .plan(&world.source(), &world.target())
        .await
        .expect_err("no plan")
        .target();
    assert_no_plan(&world, &error, AdapterErrorKind::Auth);
    assert!(error.hint.unwrap_or_default().contains("API token"));

    let goal = demo_goal().await;
    let world = World::demo().await;
    world
        .rescue
        .inject(Some(method::MOVE_NODE), refused.clone(), 1);
    let target = world.target();
    let (_, report) = world.sync(&world.source(), &target).await;
    assert_failed_only(
        &world,
        &report,
        &goal,
        &["hana.sato@contoso.com"],
        FailureCategory::Permission,
    );
    world.assert_rerun_converges(&goal).await;

    let world = World::demo().await;
    world.rescue.inject(Some(method::CREATE_USER), refused, 1);
    let target = world.target_with(world.rescue.password_settings(4));
    let (plan, report) = world.sync(&world.source(), &target).await;
    assert_fine(&world, &plan, &report, &goal);
    assert_eq!(world.rescue.authcodes_issued(), 2);
}

/// `LIMITREACHED`: at sign-in, no plan; on a write, that action fails as `transient` (not
/// retried: Rescue asks for minutes), the others apply, and a re-run converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescue_limitreached() {
    let limit = RescueFault::Body(code::LIMIT_REACHED.to_owned());

    let world = World::demo().await;
    world
        .rescue
        .inject(Some(method::REQUEST_AUTH_CODE), limit.clone(), 1);
    let target = world.target_with(world.rescue.password_settings(4));
    let error = world
        .plan(&world.source(), &target)
        .await
        .expect_err("no plan")
        .target();
    assert_no_plan(&world, &error, AdapterErrorKind::Throttled);
    assert_eq!(error.code.as_deref(), Some(code::LIMIT_REACHED));

    let goal = demo_goal().await;
    let world = World::demo().await;
    world.rescue.inject(Some(method::MOVE_NODE), limit, 1);
    let target = world.target();
    let (_, report) = world.sync(&world.source(), &target).await;
    assert_failed_only(
        &world,
        &report,
        &goal,
        &["hana.sato@contoso.com"],
        FailureCategory::Transient,
    );
    assert_eq!(world.rescue.count(method::MOVE_NODE), 1, "not retried");
    world.assert_rerun_converges(&goal).await;
}

/// An unknown code: on a create's `setUser`, the action fails as `unknown` with the code kept
/// verbatim and the empty node rolled back; on the hierarchy read, no plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescue_unknown_code() {
    let unknown = RescueFault::Body("SOMETHING_NEW_2031".to_owned());
    let goal = demo_goal().await;
    let world = World::demo().await;
    // The first setUser is the first create's (creates run before every other phase but
    // groups); with one action at a time, that is victor.almeida's.
    world
        .rescue
        .inject(Some(method::SET_USER), unknown.clone(), 1);
    let target = world.rescue.target(1);
    let (_, report) = world.sync(&world.source(), &target).await;
    assert_failed_only(
        &world,
        &report,
        &goal,
        &["victor.almeida@contoso.com"],
        FailureCategory::Unknown,
    );
    let failed = report
        .results
        .iter()
        .find(|r| r.outcome == Outcome::Failed)
        .expect("one failure");
    assert_eq!(failed.code.as_deref(), Some("SOMETHING_NEW_2031"));
    assert_eq!(world.rescue.count(method::DELETE_NODE), 1, "rolled back");
    world.assert_rerun_converges(&goal).await;

    let world = World::demo().await;
    world.rescue.inject(Some(method::GET_HIERARCHY), unknown, 1);
    let error = world
        .plan(&world.source(), &world.target())
        .await
        .expect_err("no plan")
        .target();
    assert_no_plan(&world, &error, AdapterErrorKind::Unknown);
    assert_eq!(error.code.as_deref(), Some("SOMETHING_NEW_2031"));
}

/// The hierarchy answer cut short, at every point: no plan whenever the cut breaks a record,
/// leaves a node without its parent or loses a container. A cut exactly between two records
/// (or inside the last `Type` value) reads as a smaller, well-formed tree that no parser can
/// tell from a complete one; the plan then holds no disable and no move beyond the complete
/// plan's, so nothing is lost: the nodes it did not see are left alone, and a create for a user
/// whose node it did not see is refused by Rescue as `existing_account`.
///
/// Every cut is planned from the parsed tree (as `RescueTarget` builds its snapshot: the tree,
/// then the details of the users in scope); every 50th cut, and the one applied, also go
/// through the target and the emulator, which must agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescue_truncated_hierarchy_means_no_plan_or_nothing_lost() {
    let goal = demo_goal().await;
    let world = World::demo().await;
    let full = world.rescue.call(
        method::GET_HIERARCHY,
        &[("authcode", adsync_tests::rescue_emulator::API_TOKEN)],
    );
    let directory = world
        .source()
        .snapshot(&world.request())
        .await
        .expect("directory");
    let wanted = desired(&directory, &world.config).expect("desired");
    let details = detail_request(&world.config, &wanted, &Links::default());
    let complete = world.target().snapshot(&details).await.expect("a read");
    let policy = Policy::from_config(&world.config);
    let plan_of_cut = |cut: usize| -> Option<Plan> {
        let (_, data) = adsync_rescue::wire::split_status(&full[..cut]).ok()?;
        let nodes = adsync_rescue::wire::parse_hierarchy(data).ok()?;
        let mut rescue = RescueSnapshot { nodes };
        let in_scope: BTreeSet<NodeId> = details.scope.users_in(&rescue).into_iter().collect();
        for node in &mut rescue.nodes {
            if in_scope.contains(&node.id)
                && let Some(read) = complete.nodes.iter().find(|n| n.id == node.id)
            {
                node.nick.clone_from(&read.nick);
                node.ssoid.clone_from(&read.ssoid);
                node.mobile = read.mobile;
                node.rpat = read.rpat;
                node.account_holder = read.account_holder;
            }
        }
        let current = CurrentState {
            rescue,
            links: Links::default(),
        };
        plan(&wanted, &current, &policy).ok()
    };
    let destructive = |plan: &Plan| -> BTreeSet<(ActionKind, Option<NodeId>)> {
        plan.actions
            .iter()
            .filter(|a| matches!(a.kind(), ActionKind::DisableUser | ActionKind::MoveUser))
            .map(|a| (a.kind(), a.node_id()))
            .collect()
    };
    let allowed = destructive(&goal.plan);
    let target = world.target();
    let source = world.source();
    let (mut no_plan, mut planned) = (0, 0);
    let mut hides_a_user = None;
    for cut in (0..full.len()).filter(|&at| full.is_char_boundary(at)) {
        let pure = plan_of_cut(cut);
        match &pure {
            None => no_plan += 1,
            Some(plan) => {
                planned += 1;
                assert!(
                    destructive(plan).is_subset(&allowed),
                    "cut at {cut}: {plan:?}"
                );
                if plan.summary.create_user > goal.plan.summary.create_user {
                    hides_a_user.get_or_insert(cut);
                }
            }
        }
        if cut % 50 == 0 {
            world.rescue.inject(
                Some(method::GET_HIERARCHY),
                RescueFault::Body(full[..cut].to_owned()),
                1,
            );
            let real = world.plan(&source, &target).await;
            if let Err(NoPlan::Plan(error)) = &real {
                assert!(!error.problems.is_empty());
            }
            // An empty answer is a broken exchange, not an answer: the target reads again.
            let expected = if full[..cut].trim().is_empty() {
                Some(goal.plan.clone())
            } else {
                pure
            };
            assert!(real.ok() == expected, "the target agrees at cut {cut}");
        }
    }
    assert_eq!(world.rescue.writes(), 0);
    assert!(
        no_plan > planned,
        "{no_plan} cuts gave no plan, {planned} a plan"
    );

    // Apply the plan of a tree that hides a user: that user's create is refused as
    // existing_account, nothing is duplicated, nothing else changes.
    let cut = hides_a_user.expect("some cut hides a user at a record boundary");
    world.rescue.inject(
        Some(method::GET_HIERARCHY),
        RescueFault::Body(full[..cut].to_owned()),
        1,
    );
    let plan = world.plan(&source, &target).await.expect("a plan");
    let report = execute(&plan, &target, &BTreeMap::new(), &mut NoObserver).await;
    let refused = report
        .results
        .iter()
        .filter(|r| r.outcome == Outcome::Failed)
        .inspect(|r| assert_eq!(r.category, Some(FailureCategory::ExistingAccount), "{r:?}"))
        .count();
    assert!(refused >= 1, "{report:?}");
    assert_nothing_lost(&world.before, &world.rescue.snapshot(), &goal);
    world.assert_rerun_converges(&goal).await;
}

/// Nodes of types adsync does not manage (links, channels, pseudo groups, a type Rescue may add
/// later), in managed groups and outside: read, planned around, never touched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescue_unexpected_node_types_are_never_touched() {
    let goal = demo_goal().await;
    let mut rescue = demo_rescue();
    let tree = adsync_core::tree::OrgTree::new(&rescue);
    let l2 = tree
        .find_group(
            adsync_core::model::Container::Technicians,
            &adsync_core::model::GroupPath::parse("Helpdesk/L2"),
        )
        .expect("Helpdesk/L2");
    let technicians = tree
        .container(adsync_core::model::Container::Technicians)
        .expect("Technicians");
    let root = rescue
        .nodes
        .iter()
        .find(|n| n.node_type == NodeType::Root)
        .expect("a root")
        .id;
    let mut odd = Vec::new();
    for (id, parent, kind, name) in [
        (9001, l2, NodeType::AdministratorLink, "Admin link"),
        (9002, l2, NodeType::Channel, "Channel 1"),
        (9003, technicians, NodeType::PseudoGroup, "Unassigned"),
        (9004, root, NodeType::Other("KioskGroup".into()), "Kiosks"),
        (9005, l2, NodeType::Other("SupportBot".into()), "Bot"),
    ] {
        let mut node = RescueNode::group(id, Some(parent.0), kind, name);
        node.description = None;
        odd.push(node.clone());
        rescue.nodes.push(node);
    }
    let world = World::start(demo_directory(), &rescue, demo_config()).await;
    let target = world.target();
    let (plan, report) = world.sync(&world.source(), &target).await;
    assert_eq!(
        serde_json::to_value(&plan.actions).expect("json"),
        serde_json::to_value(&goal.plan.actions).expect("json"),
        "the odd nodes change nothing in the plan"
    );
    assert!(report.is_complete());
    let after = world.rescue.snapshot();
    assert_nothing_lost(&world.before, &after, &goal);
    for node in &odd {
        let now = after
            .nodes
            .iter()
            .find(|n| n.id == node.id)
            .expect("still there");
        assert_eq!(now.node_type, node.node_type);
        assert_eq!(now.parent, node.parent);
        assert_eq!(now.name, node.name);
    }
}

// ---- load -------------------------------------------------------------------------------------

/// 100 pairings, each a technician group with a handful of members: some already in Rescue
/// (some to rename, some disabled), most to create, plus leavers to disable.
fn load_world(pairings: usize, members: usize) -> (DirectorySnapshot, RescueSnapshot, Config) {
    let mut directory = DirectorySnapshot::default();
    let mut nodes = vec![
        RescueNode::group(1, None, NodeType::Root, "Contoso"),
        RescueNode::group(
            2,
            Some(1),
            NodeType::MasterAdministrators,
            "Master Administrators",
        ),
        RescueNode::group(3, Some(1), NodeType::Administrators, "Administrators"),
        RescueNode::group(4, Some(1), NodeType::Technicians, "Technicians"),
        RescueNode::group(5, Some(4), NodeType::TechnicianGroup, "Load"),
    ];
    let mut pairing_yaml = String::new();
    let mut next_node = 100;
    for g in 0..pairings {
        let group_node = 10_000 + g as u64;
        nodes.push(RescueNode::group(
            group_node,
            Some(5),
            NodeType::TechnicianGroup,
            &format!("G{g:03}"),
        ));
        let mut group = DirectoryGroup {
            id: format!("00000000-0000-4000-8000-{g:012}"),
            display_name: format!("SG-Load-{g:03}"),
            members: Vec::new(),
            member_groups: Vec::new(),
        };
        for m in 0..members {
            let email = format!("u{g:03}-{m:02}@contoso.com");
            let id = format!("{g:08}-{m:04}-4000-8000-000000000000");
            directory.users.push(DirectoryUser {
                id: id.clone(),
                upn: email.clone(),
                mail: Some(email.clone()),
                display_name: format!("User {g:03}-{m:02}"),
                given_name: None,
                surname: None,
                job_title: None,
                department: None,
                mobile_phone: None,
                employee_id: None,
                account_enabled: true,
                attributes: Default::default(),
            });
            group.members.push(id);
            // A third already exist: one in three of those with an old name, one in five
            // disabled.
            if m % 3 == 0 {
                next_node += 1;
                let mut node = RescueNode::group(
                    next_node,
                    Some(group_node),
                    NodeType::Technician,
                    &if m % 2 == 0 {
                        format!("Old {g:03}-{m:02}")
                    } else {
                        format!("User {g:03}-{m:02}")
                    },
                );
                node.email = Some(email);
                node.status = Some(if m % 5 == 0 {
                    Status::Disabled
                } else {
                    Status::Enabled
                });
                node.description = Some(String::new());
                nodes.push(node);
            }
        }
        // One leaver per group.
        next_node += 1;
        let mut leaver = RescueNode::group(
            next_node,
            Some(group_node),
            NodeType::Technician,
            &format!("Leaver {g:03}"),
        );
        leaver.email = Some(format!("leaver{g:03}@contoso.com"));
        leaver.status = Some(Status::Enabled);
        leaver.description = Some(String::new());
        nodes.push(leaver);
        directory.groups.push(group);
        pairing_yaml.push_str(&format!(
            "  - entra_group: SG-Load-{g:03}\n    rescue_group: Load/G{g:03}\n    role: technician\n{}",
            if g % 4 == 0 {
                "    mobile_license: true\n"
            } else {
                ""
            }
        ));
    }
    let config: Config = serde_yaml::from_str(&format!(
        "source: {{ type: snapshot, path: d.yaml }}\n\
         target: {{ type: snapshot, path: r.yaml }}\n\
         sync:\n  safety: {{ max_disables: 1000, max_moves: 1000 }}\n\
         pairings:\n{pairing_yaml}"
    ))
    .expect("config");
    config.validate().expect("valid");
    (directory, RescueSnapshot { nodes }, config)
}

/// 100 pairings against emulators that throttle 30 % of all requests: the sync completes, a
/// second plan is empty, and the retries are counted and printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_100_pairings_with_30_percent_throttled_converges() {
    let (directory, rescue, config) = load_world(100, 6);
    let world = World::start(directory, &rescue, config).await;
    world.graph.set_throttle(Some(Throttle::new(30, 0x5eed)));
    world.rescue.set_throttle(Some(Throttle::new(30, 0x5eed)));
    // 30 % throttled: 12 attempts leave a request failing for good with odds of 0.3^12.
    let mut graph = world.graph_settings();
    graph.retry.max_attempts = 12;
    let mut rescue = world.rescue.settings(4);
    rescue.retry.max_attempts = 12;
    let source = world.source_with(graph);
    let target = world.target_with(rescue);

    let started = Instant::now();
    let (plan, report) = world.sync(&source, &target).await;
    let elapsed = started.elapsed();
    let graph_requests = world.graph.total_requests();
    let graph_throttled = world.graph.throttled();
    let rescue_requests = world.rescue.total_requests();
    let rescue_throttled = world.rescue.throttled();
    let graph_bound = world.graph.lower_bound(&world.request()).total();
    assert!(report.is_complete(), "{:?}", report.failures_by_category());
    assert_eq!(plan.summary.create_user, 100 * 4);
    assert_eq!(plan.summary.disable_user, 100);
    let after = world.rescue.snapshot();
    assert_no_duplicate_or_empty_user(&after);
    world.graph.set_throttle(None);
    world.rescue.set_throttle(None);
    let again = world.plan(&source, &target).await.expect("a plan");
    assert!(again.is_empty(), "{:?}", again.summary);

    // Without throttling the sync would have cost the lower bound on the Graph side, and on
    // the Rescue side exactly what it cost minus the 429s (each throttled request is sent
    // again, nothing else is repeated).
    assert_eq!(graph_requests - graph_throttled, graph_bound);
    println!(
        "load: 100 pairings, {} actions in {elapsed:?}; graph: {graph_requests} requests, \
         {graph_throttled} answered 429 and retried (lower bound {graph_bound}); rescue: \
         {rescue_requests} requests, {rescue_throttled} answered 429 and retried",
        plan.actions.len()
    );
    // Both sides really were throttled at about the rate asked for.
    for (requests, throttled) in [
        (graph_requests, graph_throttled),
        (rescue_requests, rescue_throttled),
    ] {
        let share = throttled as f64 / requests as f64;
        assert!((0.2..0.4).contains(&share), "{throttled} of {requests}");
    }
}
