//! Issue 22's proof of equivalence: random sequences of directory changes (joins, leaves,
//! renames, nested-group edits, disables, deletions) and Rescue changes made by hand (moves,
//! renames, status, add-on, SSO ID) go through the emulators; after each step the plan made
//! from the incremental reads (Graph delta state, Rescue detail cache) must equal the plan made
//! from full reads, apart from the hand changes the Rescue tree cannot show whose node has not
//! been re-read since; and once a whole verification window has passed, the two plans are equal.

use std::collections::BTreeSet;
use std::sync::Arc;

use adsync_core::adapter::{NoProgress, Source, SourceRequest, Target};
use adsync_core::config::Config;
use adsync_core::desired::desired;
use adsync_core::model::{DirectorySnapshot, NodeId, NodeType, RescueSnapshot, Status};
use adsync_core::plan::{CurrentState, Links, Plan, Policy, plan};
use adsync_core::scope::detail_request;
use adsync_graph::{DeltaStart, DeltaState, FullReason, GraphSource};
use adsync_rescue::api::{method, param};
use adsync_rescue::cache::{CacheStore, DetailCache, Verify};
use adsync_tests::graph_emulator::GraphEmulator;
use adsync_tests::rescue_emulator::{API_TOKEN, RescueEmulator};
use adsync_tests::synthetic::{Organization, Shape, organization};
use proptest::prelude::*;

const WINDOW: u64 = 24 * 3600;
const STEP: u64 = 15 * 60;
const START: u64 = 1_800_000_000;

/// One change, its indices taken modulo what exists.
#[derive(Clone, Debug)]
enum Change {
    Join { group: usize, user: usize },
    Leave { group: usize, at: usize },
    Rename { user: usize },
    Disable { user: usize },
    Delete { user: usize },
    Nest { parent: usize, child: usize },
    Unnest { parent: usize },
    MoveNode { node: usize, to: usize },
    RenameNode { node: usize },
    StatusNode { node: usize },
    AddOnByHand { node: usize },
    SsoidByHand { node: usize },
}

fn change() -> impl Strategy<Value = Change> {
    let n = || 0usize..1000;
    prop_oneof![
        (n(), n()).prop_map(|(group, user)| Change::Join { group, user }),
        (n(), n()).prop_map(|(group, at)| Change::Leave { group, at }),
        n().prop_map(|user| Change::Rename { user }),
        n().prop_map(|user| Change::Disable { user }),
        n().prop_map(|user| Change::Delete { user }),
        (n(), n()).prop_map(|(parent, child)| Change::Nest { parent, child }),
        n().prop_map(|parent| Change::Unnest { parent }),
        (n(), n()).prop_map(|(node, to)| Change::MoveNode { node, to }),
        n().prop_map(|node| Change::RenameNode { node }),
        n().prop_map(|node| Change::StatusNode { node }),
        n().prop_map(|node| Change::AddOnByHand { node }),
        n().prop_map(|node| Change::SsoidByHand { node }),
    ]
}

struct World {
    config: Config,
    links: Links,
    request: SourceRequest,
    graph: GraphEmulator,
    rescue: RescueEmulator,
    source: GraphSource,
    state: Option<DeltaState>,
    cache: DetailCache,
    /// Nodes changed by hand in what the tree cannot show, and when.
    hidden: Vec<(NodeId, u64)>,
    /// When the details the last incremental plan used were read, per node in scope.
    read_at: std::collections::BTreeMap<NodeId, u64>,
    now: u64,
}

impl World {
    async fn start() -> World {
        let Organization {
            config,
            directory,
            rescue,
            links,
            ..
        } = organization(&Shape::new(4, 12));
        let graph = GraphEmulator::start(directory).await;
        let rescue = RescueEmulator::start(&rescue).await;
        let source = GraphSource::new(graph.settings(4)).expect("settings");
        let request = SourceRequest::for_config(&config);
        World {
            config,
            links,
            request,
            graph,
            rescue,
            source,
            state: None,
            cache: DetailCache::default(),
            hidden: Vec::new(),
            read_at: Default::default(),
            now: START,
        }
    }

    /// The plan from full reads of both sides.
    async fn full_plan(&self) -> Plan {
        let directory = self
            .source
            .snapshot(&self.request)
            .await
            .expect("full read");
        let target = self.rescue.target(4);
        self.plan(&directory, |details| async move {
            target.snapshot(&details).await.expect("rescue read")
        })
        .await
    }

    /// The plan from the incremental reads; the states they leave are kept, as the CLI keeps
    /// them.
    async fn incremental_plan(&mut self) -> Plan {
        let start = match self.state.take() {
            Some(state) => DeltaStart::Saved(Box::new(state)),
            None => DeltaStart::Full(FullReason::NoSavedState),
        };
        let read = self
            .source
            .read_delta(&self.request, start, &NoProgress)
            .await
            .expect("delta read");
        self.state = read.state;
        let store = Arc::new(CacheStore::new(
            std::mem::take(&mut self.cache),
            Verify {
                now: self.now,
                window: WINDOW,
                full: false,
            },
        ));
        let target = self.rescue.target(4).with_detail_cache(store.clone());
        let made = self
            .plan(&read.snapshot, |details| async move {
                target.snapshot(&details).await.expect("rescue read")
            })
            .await;
        let (mut cache, _) = store.take_result().expect("a cache");
        self.read_at = cache
            .nodes
            .iter()
            .map(|(node, cached)| (*node, cached.read_at))
            .collect();
        cache.forget(made.actions.iter().filter_map(|a| a.node_id()));
        self.cache = cache;
        made
    }

    async fn plan<F, R>(&self, directory: &DirectorySnapshot, read: F) -> Plan
    where
        F: FnOnce(adsync_core::adapter::DetailRequest) -> R,
        R: std::future::Future<Output = RescueSnapshot>,
    {
        let wanted = desired(directory, &self.config).expect("desired");
        let details = detail_request(&self.config, &wanted, &self.links);
        let rescue = read(details).await;
        let current = CurrentState {
            rescue,
            links: self.links.clone(),
        };
        plan(&wanted, &current, &Policy::from_config(&self.config)).expect("plan")
    }

    /// Nodes in scope with a hand change that the details the last plan used predate. (Nodes
    /// out of scope have no details read and no say in the plan.)
    fn unseen(&self) -> BTreeSet<NodeId> {
        self.hidden
            .iter()
            .filter(|(node, at)| self.read_at.get(node).is_some_and(|read| read < at))
            .map(|(node, _)| *node)
            .collect()
    }

    fn apply(&mut self, change: &Change) {
        match change {
            Change::MoveNode { .. }
            | Change::RenameNode { .. }
            | Change::StatusNode { .. }
            | Change::AddOnByHand { .. }
            | Change::SsoidByHand { .. } => self.change_rescue(change),
            _ => self.change_directory(change),
        }
    }

    fn change_directory(&mut self, change: &Change) {
        let mut directory = self.graph.seed().clone();
        let users = directory.users.len().max(1);
        let groups = directory.groups.len().max(1);
        match *change {
            Change::Join { group, user } => {
                let id = directory.users[user % users].id.clone();
                directory.groups[group % groups].members.push(id);
            }
            Change::Leave { group, at } => {
                let members = &mut directory.groups[group % groups].members;
                if !members.is_empty() {
                    let at = at % members.len();
                    members.remove(at);
                }
            }
            Change::Rename { user } => directory.users[user % users]
                .display_name
                .push_str(" Renamed"),
            Change::Disable { user } => {
                let user = &mut directory.users[user % users];
                user.account_enabled = !user.account_enabled;
            }
            Change::Delete { user } => {
                directory.users.remove(user % users);
            }
            Change::Nest { parent, child } => {
                let child = directory.groups[child % groups].id.clone();
                directory.groups[parent % groups].member_groups.push(child);
            }
            Change::Unnest { parent } => directory.groups[parent % groups].member_groups.clear(),
            _ => return,
        }
        self.graph.replace(directory);
    }

    fn change_rescue(&mut self, change: &Change) {
        let snapshot = self.rescue.snapshot();
        let users: Vec<NodeId> = snapshot
            .nodes
            .iter()
            .filter(|n| n.node_type.user_role().is_some() && !n.account_holder)
            .map(|n| n.id)
            .collect();
        let groups: Vec<NodeId> = snapshot
            .nodes
            .iter()
            .filter(|n| n.node_type == NodeType::TechnicianGroup)
            .map(|n| n.id)
            .collect();
        if users.is_empty() {
            return;
        }
        let pick = |i: usize| users[i % users.len()];
        let answer = match *change {
            Change::MoveNode { node, to } if !groups.is_empty() => {
                let (node, to) = (
                    pick(node).0.to_string(),
                    groups[to % groups.len()].0.to_string(),
                );
                self.rescue.call(
                    method::MOVE_NODE,
                    &[
                        (param::AUTHCODE, API_TOKEN),
                        (param::MOVE_NODE, &node),
                        (param::MOVE_TARGET, &to),
                    ],
                )
            }
            Change::RenameNode { node } => self
                .rescue
                .edit_user_by_hand(pick(node), |n| n.name.push_str(" Edited")),
            Change::StatusNode { node } => self.rescue.edit_user_by_hand(pick(node), |n| {
                n.status = Some(match n.status {
                    Some(Status::Disabled) => Status::Enabled,
                    _ => Status::Disabled,
                });
            }),
            Change::AddOnByHand { node } => {
                self.hidden.push((pick(node), self.now));
                self.rescue
                    .edit_user_by_hand(pick(node), |n| n.mobile = Some(n.mobile != Some(true)))
            }
            Change::SsoidByHand { node } => {
                self.hidden.push((pick(node), self.now));
                self.rescue.edit_user_by_hand(pick(node), |n| {
                    n.ssoid = Some(format!("hand-{}", n.id.0));
                })
            }
            _ => return,
        };
        // Rescue may refuse a change (a move into a group of the other plane): nothing changed.
        let _ = answer;
    }
}

/// A plan's actions as JSON, without those on `unseen` nodes.
fn visible(plan: &Plan, unseen: &BTreeSet<NodeId>) -> Vec<serde_json::Value> {
    plan.actions
        .iter()
        .filter(|action| action.node_id().is_none_or(|node| !unseen.contains(&node)))
        .map(|action| serde_json::to_value(action).expect("json"))
        .collect()
}

async fn check(changes: Vec<Change>) -> Result<(), TestCaseError> {
    let mut world = World::start().await;
    let first = world.incremental_plan().await;
    prop_assert_eq!(&first, &world.full_plan().await);
    for (step, change) in changes.iter().enumerate() {
        world.now += STEP;
        world.apply(change);
        let incremental = world.incremental_plan().await;
        let full = world.full_plan().await;
        let unseen = world.unseen();
        prop_assert_eq!(
            visible(&incremental, &unseen),
            visible(&full, &unseen),
            "step {} ({:?}), unseen hand changes on {:?}",
            step,
            change,
            unseen
        );
    }
    // A whole window later every cached detail has been read again: equal plans.
    world.now += WINDOW;
    let incremental = world.incremental_plan().await;
    prop_assert_eq!(&incremental, &world.full_plan().await);
    prop_assert!(world.unseen().is_empty());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn incremental_plans_equal_full_read_plans(
        changes in proptest::collection::vec(change(), 1..8)
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(check(changes))?;
    }
}
