//! `adsync-bench sync --steady`: what incremental reads save (issue 22).
//!
//! One Graph source and the emulators for four runs, each as `adsync apply` makes it (the
//! directory through the saved delta state, Rescue's details through the detail cache, a plan),
//! 15 minutes apart: `full` (everything read, then the plan applied), `settle` (the run after
//! the apply, which re-reads the details of the nodes the apply changed), `steady` (nothing
//! changed since) and `churn` (after 1% churn on both sides: directory users renamed and
//! members leaving their group, Rescue users renamed by hand). The source keeps its
//! token between runs as `adsync run --every` does; a separate `adsync` process per run adds one
//! token request to each.
//!
//! Rescue's verification slice (the cached details due for re-reading, which scales with the
//! interval between runs) is counted apart from the other requests.

use std::sync::Arc;

use adsync_core::adapter::{NoProgress, Target};
use adsync_core::desired::desired;
use adsync_core::execute::{NoObserver, execute};
use adsync_core::plan::{CurrentState, Plan, Policy, plan};
use adsync_core::scope::detail_request;
use adsync_graph::{DeltaStart, DeltaState, FullReason, GraphSource};
use adsync_rescue::cache::{CacheStore, DetailCache, DetailReads, Verify};
use serde_json::{Value, json};

use super::{Options, SyncSetup, millis, source_request};

/// `numerator / denominator` to four places (the targets are 1% and 5%).
fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator <= 0.0 {
        return 0.0;
    }
    (numerator / denominator * 10_000.0).round() / 10_000.0
}

/// SPEC §12: the no-change run at most 1% of the full run's requests per side, churn 5%.
const STEADY_TARGET: f64 = 0.01;
const CHURN_TARGET: f64 = 0.05;
/// The verification window and the time between runs.
const WINDOW: u64 = 24 * 3600;
const INTERVAL: u64 = 15 * 60;
const START: u64 = 1_800_000_000;

/// What one run read and planned.
struct Run {
    plan: Plan,
    state: Option<DeltaState>,
    cache: DetailCache,
    reads: DetailReads,
    graph_requests: usize,
    rescue_requests: usize,
    wall_ms: f64,
}

impl Run {
    /// Rescue requests apart from the verification slice.
    fn rescue_needed(&self) -> usize {
        self.rescue_requests
            .saturating_sub(self.reads.verification as usize)
    }

    fn json(&self) -> Value {
        json!({
            "graph_requests": self.graph_requests,
            "rescue_requests": self.rescue_needed(),
            "rescue_verification_requests": self.reads.verification,
            "rescue_requests_with_verification": self.rescue_requests,
            "detail_reads": {
                "full": self.reads.full,
                "uncached": self.reads.uncached,
                "changed": self.reads.changed,
                "verification": self.reads.verification,
                "cached": self.reads.cached,
            },
            "wall_ms": self.wall_ms,
            "actions": self.plan.actions.len(),
        })
    }
}

pub(super) async fn scenario(options: &Options, setup: SyncSetup) -> Result<String, String> {
    let SyncSetup {
        pairings,
        members,
        latency_ms,
        graph_concurrency,
        rescue_concurrency,
        config,
        links,
        mut graph,
        rescue_emulator,
        ..
    } = setup;
    let source = GraphSource::new(graph.settings(graph_concurrency)).map_err(|e| e.to_string())?;
    let sides = Sides {
        source: &source,
        rescue: &rescue_emulator,
        config: &config,
        links: &links,
        concurrency: rescue_concurrency,
    };

    let full = sides
        .run(&graph, None, DetailCache::default(), START, true)
        .await?;
    let target = rescue_emulator.target(rescue_concurrency);
    let applied = execute(
        &full.plan,
        &target as &dyn Target,
        &Default::default(),
        &mut NoObserver,
    )
    .await;
    let mut cache = full.cache.clone();
    cache.forget(full.plan.actions.iter().filter_map(|a| a.node_id()));

    // The run after the apply re-reads the details of every node the apply changed (their
    // cached details are stale): the apply's cost, reported apart. Nothing changes after it.
    let settle = sides
        .run(&graph, full.state.clone(), cache, START + INTERVAL, false)
        .await?;
    let steady = sides
        .run(
            &graph,
            settle.state.clone(),
            settle.cache.clone(),
            START + 2 * INTERVAL,
            false,
        )
        .await?;
    let churned = churn(&mut graph, &rescue_emulator, &steady.plan);
    let churn = sides
        .run(
            &graph,
            steady.state.clone(),
            steady.cache.clone(),
            START + 3 * INTERVAL,
            false,
        )
        .await?;

    let side_ratio = |run: &Run, graph: bool| {
        if graph {
            ratio(run.graph_requests as f64, full.graph_requests as f64)
        } else {
            ratio(run.rescue_needed() as f64, full.rescue_needed() as f64)
        }
    };
    let steady_over_full = (side_ratio(&steady, true), side_ratio(&steady, false));
    let churn_over_full = (side_ratio(&churn, true), side_ratio(&churn, false));
    let meets = steady_over_full.0 <= STEADY_TARGET
        && steady_over_full.1 <= STEADY_TARGET
        && churn_over_full.0 <= CHURN_TARGET
        && churn_over_full.1 <= CHURN_TARGET;
    let line = json!({
        "scenario": "sync",
        "steady": true,
        "quick": options.quick,
        "pairings": pairings,
        "members": members,
        "latency_ms": latency_ms,
        "applied": applied.results.len(),
        "churn": churned,
        "runs": {
            "full": full.json(),
            "settle": settle.json(),
            "steady": steady.json(),
            "churn": churn.json(),
        },
        "graph": {
            "steady_over_full": steady_over_full.0,
            "churn_over_full": churn_over_full.0,
        },
        "rescue": {
            "steady_over_full": steady_over_full.1,
            "churn_over_full": churn_over_full.1,
        },
        "targets": {
            "steady_over_full_at_most": STEADY_TARGET,
            "churn_over_full_at_most": CHURN_TARGET,
            "met": (!options.quick).then_some(meets),
        },
    });
    Ok(line.to_string())
}

/// Everything a run needs.
#[derive(Clone, Copy)]
struct Sides<'a> {
    source: &'a GraphSource,
    rescue: &'a adsync_tests::rescue_emulator::RescueEmulator,
    config: &'a adsync_core::config::Config,
    links: &'a adsync_core::plan::Links,
    concurrency: usize,
}

impl Sides<'_> {
    /// One run as `adsync plan` makes it, from `state` and `cache` at `now`.
    async fn run(
        &self,
        graph: &adsync_tests::graph_emulator::GraphEmulator,
        state: Option<DeltaState>,
        cache: DetailCache,
        now: u64,
        full: bool,
    ) -> Result<Run, String> {
        graph.reset_counts();
        self.rescue.reset_counts();
        let started = std::time::Instant::now();
        let start = match state {
            Some(state) if !full => DeltaStart::Saved(Box::new(state)),
            _ => DeltaStart::Full(FullReason::Requested),
        };
        let request = source_request(self.config);
        let read = self
            .source
            .read_delta(&request, start, &NoProgress)
            .await
            .map_err(|e| e.to_string())?;
        let wanted = desired(&read.snapshot, self.config).map_err(|e| e.to_string())?;
        let details = detail_request(self.config, &wanted, self.links);
        let store = Arc::new(CacheStore::new(
            cache,
            Verify {
                now,
                window: WINDOW,
                full,
            },
        ));
        let target = self
            .rescue
            .target(self.concurrency)
            .with_detail_cache(store.clone());
        let tree = target.snapshot(&details).await.map_err(|e| e.to_string())?;
        let (mut cache, reads) = store.take_result().ok_or("the read left no cache")?;
        let current = CurrentState {
            rescue: tree,
            links: self.links.clone(),
        };
        let made = plan(&wanted, &current, &Policy::from_config(self.config))
            .map_err(|e| e.to_string())?;
        let wall_ms = millis(started.elapsed());
        cache.forget(made.actions.iter().filter_map(|a| a.node_id()));
        Ok(Run {
            plan: made,
            state: read.state,
            cache,
            reads,
            graph_requests: graph.total_requests(),
            rescue_requests: self.rescue.total_requests(),
            wall_ms,
        })
    }
}

/// 1% churn on both sides: directory users renamed (half) and members leaving their group
/// (half), Rescue user nodes in scope renamed by hand. Returns what was changed.
fn churn(
    graph: &mut adsync_tests::graph_emulator::GraphEmulator,
    rescue: &adsync_tests::rescue_emulator::RescueEmulator,
    plan: &Plan,
) -> Value {
    let mut directory = graph.seed().clone();
    let users = directory.users.len();
    let changes = (users / 100).max(2);
    let step = users / changes;
    for k in 0..changes / 2 {
        directory.users[k * step]
            .display_name
            .push_str(" (renamed)");
    }
    let groups = directory.groups.len().max(1);
    let mut left = 0;
    for k in 0..changes - changes / 2 {
        let group = &mut directory.groups[k % groups];
        let at = k / groups;
        if at < group.members.len() {
            group.members.remove(at);
            left += 1;
        }
    }
    graph.replace(directory);

    let snapshot = rescue.snapshot();
    let in_scope: Vec<_> = plan.users.iter().filter_map(|user| user.node_id).collect();
    let nodes = (snapshot.nodes.len() / 100).max(1);
    let stride = (in_scope.len() / nodes).max(1);
    let mut renamed = 0;
    for node in in_scope.iter().step_by(stride).take(nodes) {
        let answer = rescue.edit_user_by_hand(*node, |found| found.name.push_str(" (by hand)"));
        if answer.starts_with("OK") {
            renamed += 1;
        }
    }
    // The hand edits went through the API: they are not the churn run's requests.
    rescue.reset_counts();
    json!({
        "directory_users_renamed": changes / 2,
        "directory_members_left": left,
        "rescue_users_renamed_by_hand": renamed,
    })
}
