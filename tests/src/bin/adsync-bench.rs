//! adsync-bench: the measurements of SPEC §12, one JSON line per scenario on stdout.
//!
//! ```text
//! adsync-bench [plan|sync|apply|all] [--quick] [options]
//!   plan   --pairings 999 --members 999 [--people N] [--runs 1] [--rounds 41] [--mapped]
//!   plan-one --pairings N --members N [--people N] [--runs 1] [--digest] [--mapped]
//!   sync   --pairings 100 --members 999 [--people N] --latency-ms 20
//!          [--graph-concurrency 8] [--concurrency 4] [--steady]
//!   apply  --actions 2000 --latency-ms 20 --concurrency 4
//! ```
//!
//! Every figure printed is measured in this run; the targets are printed beside them, never in
//! place of them. `--quick` shrinks every scenario so the whole binary runs in seconds (CI checks
//! the output's shape, not its times). Options given with `all` apply to every scenario that
//! takes them. Everything listens on loopback only.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use adsync_core::adapter::{Source, SourceRequest, Target};
use adsync_core::config::{
    Config, GraphSourceConfig, RescueAuth, RescueTargetConfig, SourceConfig, TargetConfig,
};
use adsync_core::desired::desired;
use adsync_core::execute::{NoObserver, Outcome, execute};
use adsync_core::model::Plane;
use adsync_core::plan::{ActionKind, CurrentState, Policy, Summary, plan};
use adsync_core::scope::detail_request;
use adsync_core::secret::SecretRef;
use adsync_graph::GraphSource;
use adsync_rescue::RescueTarget;
use adsync_tests::graph_emulator::{self, GraphEmulator};
use adsync_tests::rescue_emulator::RescueEmulator;
use adsync_tests::synthetic::{self, DirectorySide, Organization, RescueSide, Shape};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[path = "bench/steady.rs"]
mod steady;

/// SPEC §12's targets, printed beside the measurements.
const PLAN_MS_TARGET: f64 = 1000.0;
const PEAK_RSS_MB_TARGET: f64 = 512.0;
const GROWTH_TARGET: f64 = 2.2;
const REQUESTS_RATIO_TARGET: f64 = 1.05;
const WALL_RATIO_TARGET: f64 = 1.5;

const USAGE: &str = "usage: adsync-bench [plan|sync|apply|all] [--quick] [--pairings N] [--members N] \
[--people N] [--runs N] [--rounds N] [--digest] [--steady] [--mapped] [--latency-ms N] [--concurrency N] [--graph-concurrency N] [--actions N]";

#[derive(Clone, Debug, Default)]
struct Options {
    quick: bool,
    pairings: Option<usize>,
    members: Option<usize>,
    people: Option<usize>,
    runs: Option<usize>,
    rounds: Option<usize>,
    latency_ms: Option<u64>,
    concurrency: Option<usize>,
    graph_concurrency: Option<usize>,
    actions: Option<usize>,
    /// `plan-one`: print the SHA-256 of the plan's JSON too.
    digest: bool,
    /// `sync --steady`: a full run, an apply, a no-change run and a 1% churn run.
    steady: bool,
    /// `plan`, `plan-one`: give the configuration templates (issue 24) for name, nick and
    /// description that yield the fixed fields' values, so the plan is the same and only the
    /// mapping's cost differs.
    mapped: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    Plan,
    /// One size of `plan`, in a process of its own (so its peak RSS is its own).
    PlanOne,
    Sync,
    Apply,
}

fn parse(args: &[String]) -> Result<(Vec<Scenario>, Options), String> {
    let mut scenarios = Vec::new();
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<usize, String> {
            let value = args
                .next()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))?;
            value
                .parse::<usize>()
                .map_err(|_| format!("{name}: `{value}` is not a count\n{USAGE}"))
        };
        match arg.as_str() {
            "plan" => scenarios.push(Scenario::Plan),
            "plan-one" => scenarios.push(Scenario::PlanOne),
            "sync" => scenarios.push(Scenario::Sync),
            "apply" => scenarios.push(Scenario::Apply),
            "all" => scenarios.extend([Scenario::Plan, Scenario::Sync, Scenario::Apply]),
            "--quick" => options.quick = true,
            "--digest" => options.digest = true,
            "--steady" => options.steady = true,
            "--mapped" => options.mapped = true,
            "--pairings" => options.pairings = Some(number(arg)?),
            "--members" => options.members = Some(number(arg)?),
            "--people" => options.people = Some(number(arg)?),
            "--runs" => options.runs = Some(number(arg)?.max(1)),
            "--rounds" => options.rounds = Some(number(arg)?.max(1)),
            "--latency-ms" => options.latency_ms = Some(number(arg)? as u64),
            "--concurrency" => options.concurrency = Some(number(arg)?.max(1)),
            "--graph-concurrency" => options.graph_concurrency = Some(number(arg)?.max(1)),
            "--actions" => options.actions = Some(number(arg)?),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    if scenarios.is_empty() {
        scenarios.extend([Scenario::Plan, Scenario::Sync, Scenario::Apply]);
    }
    Ok((scenarios, options))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (scenarios, options) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("adsync-bench: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    for scenario in scenarios {
        let line = match scenario {
            Scenario::Plan => plan_scenario(&options),
            Scenario::PlanOne => plan_one(&options),
            Scenario::Sync => runtime.block_on(sync_scenario(&options)),
            Scenario::Apply => runtime.block_on(apply_scenario(&options)),
        };
        match line {
            Ok(line) => println!("{line}"),
            Err(message) => {
                eprintln!("adsync-bench: {scenario:?}: {message}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

// ---------------------------------------------------------------------------------------------
// Measuring

fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator > 0.0 {
        round2(numerator / denominator)
    } else {
        0.0
    }
}

/// A field of `/proc/self/status` in MiB (`VmHWM`, `VmRSS`); `None` off Linux.
fn status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    let kib: f64 = line
        .trim_start_matches(field)
        .trim_start_matches(':')
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(round2(kib / 1024.0))
}

/// What `/proc/self/stat` counts for the whole process, every thread included (Linux only).
#[derive(Clone, Copy, Debug)]
struct ProcessCounters {
    /// Minor page faults: mostly first writes to fresh memory, which the kernel must zero.
    minor_faults: u64,
    /// CPU time in user and system mode, in clock ticks (1/100 s on Linux).
    user_ticks: u64,
    system_ticks: u64,
}

impl ProcessCounters {
    fn now() -> Option<ProcessCounters> {
        ProcessCounters::parse(&std::fs::read_to_string("/proc/self/stat").ok()?)
    }

    /// The counters in a `/proc/<pid>/stat` line.
    fn parse(stat: &str) -> Option<ProcessCounters> {
        // The command name, in parentheses, may hold spaces: the fields start after it.
        let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
        let field = |at: usize| fields.get(at)?.parse::<u64>().ok();
        Some(ProcessCounters {
            minor_faults: field(7)?,
            user_ticks: field(11)?,
            system_ticks: field(12)?,
        })
    }

    /// What the process spent from `start` to `end`.
    fn between(start: Option<Self>, end: Option<Self>) -> Option<StepCost> {
        let (start, end) = (start?, end?);
        let ticks = |to: u64, from: u64| to.saturating_sub(from) as f64 * 10.0;
        let system_cpu_ms = ticks(end.system_ticks, start.system_ticks);
        Some(StepCost {
            minor_faults: end.minor_faults.saturating_sub(start.minor_faults) as f64,
            cpu_ms: ticks(end.user_ticks, start.user_ticks) + system_cpu_ms,
            system_cpu_ms,
        })
    }
}

/// What one timed step cost the whole process, both cores included.
#[derive(Clone, Copy, Debug, PartialEq)]
struct StepCost {
    minor_faults: f64,
    /// User and system CPU time.
    cpu_ms: f64,
    system_cpu_ms: f64,
}

impl StepCost {
    /// The median of one figure over several runs.
    fn median(costs: &[StepCost], figure: impl Fn(&StepCost) -> f64) -> f64 {
        median(costs.iter().map(figure).collect())
    }
}

/// Time this thread has spent on a CPU (Linux: `/proc/thread-self/schedstat`). Beside the wall
/// time it shows how much of a measurement was waiting for a core on a busy machine.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

fn cpu_millis(start: Option<Duration>, end: Option<Duration>) -> Option<f64> {
    Some(millis(end?.checked_sub(start?)?))
}

/// The geometric mean of ratios, to two decimals; 0 for none, or when one is not a positive
/// number (a size that measured nothing).
fn geometric_mean(ratios: &[f64]) -> f64 {
    if ratios.is_empty() || !ratios.iter().all(|&r| r.is_finite() && r > 0.0) {
        return 0.0;
    }
    let mean_log = ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64;
    round2(mean_log.exp())
}

/// The growth the rounds' ratios show: their median (see `plan_scenario`).
fn growth(ratios: &[f64]) -> f64 {
    round2(median(ratios.to_vec()))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => round2((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

fn summary_json(summary: &Summary) -> Value {
    serde_json::to_value(summary).unwrap_or(Value::Null)
}

/// `GroupByName` -> `group_by_name`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// plan

/// Templates that yield what the fixed fields give (`--mapped`).
fn map_fields(config: &mut Config) -> Result<(), String> {
    let template = |text: &str| adsync_core::template::parse(text).map_err(|e| e.to_string());
    config.sync.attributes.name = Some(template("{displayName|mail}")?);
    config.sync.attributes.nick = Some(template("{givenName:trim}")?);
    config.sync.attributes.description = Some(template("{jobTitle:trim}")?);
    Ok(())
}

fn plan_size(shape: &Shape, runs: usize, digest: bool, mapped: bool) -> Result<Value, String> {
    let mut desired_times = Vec::with_capacity(runs);
    let mut plan_times = Vec::with_capacity(runs);
    let mut desired_cpu = Vec::with_capacity(runs);
    let mut plan_cpu = Vec::with_capacity(runs);
    let mut settle_times = Vec::with_capacity(runs);
    let mut desired_costs = Vec::with_capacity(runs);
    let mut plan_costs = Vec::with_capacity(runs);
    let mut rss = Value::Null;
    let mut figures = Value::Null;
    for run in 0..runs {
        // What `adsync plan` holds, step by step: the directory until desired() is done (the
        // CLI drops it then), the Rescue tree and the links from then on.
        let DirectorySide {
            mut config,
            directory,
        } = synthetic::directory(shape);
        if mapped {
            map_fields(&mut config)?;
        }
        let users = directory.users.len();
        let memberships: usize = directory.groups.iter().map(|g| g.members.len()).sum();
        let rss_directory = status_mib("VmRSS");
        let settled_directory = settle();
        let counters = ProcessCounters::now();
        let (started, cpu) = (Instant::now(), thread_cpu());
        let wanted = desired(&directory, &config).map_err(|e| e.to_string())?;
        desired_times.push(millis(started.elapsed()));
        desired_cpu.extend(cpu_millis(cpu, thread_cpu()));
        desired_costs.extend(ProcessCounters::between(counters, ProcessCounters::now()));
        let rss_desired = status_mib("VmRSS");
        drop(directory);
        let RescueSide {
            rescue,
            links,
            drift,
        } = synthetic::rescue(shape);
        let nodes = rescue.nodes.len();
        let current = CurrentState { rescue, links };
        let policy = Policy::from_config(&config);
        let rss_rescue = status_mib("VmRSS");
        settle_times.push(round2(settled_directory + settle()));
        let counters = ProcessCounters::now();
        let (started, cpu) = (Instant::now(), thread_cpu());
        let made = plan(&wanted, &current, &policy).map_err(|e| e.to_string())?;
        plan_times.push(millis(started.elapsed()));
        plan_cpu.extend(cpu_millis(cpu, thread_cpu()));
        plan_costs.extend(ProcessCounters::between(counters, ProcessCounters::now()));
        if run == 0 {
            rss = json!({
                "directory": rss_directory,
                "desired": rss_desired,
                "rescue": rss_rescue,
                "plan": status_mib("VmRSS"),
            });
        }
        figures = json!({
            "users": users,
            "memberships": memberships,
            "rescue_nodes": nodes,
            "desired_users": wanted.plane(Plane::Technician).len() + wanted.plane(Plane::Administrator).len(),
            "plan_users": made.users.len(),
            "actions": made.actions.len(),
            "summary": summary_json(&made.summary),
            "warnings": made.warnings.len(),
            "blocked": made.blocked.is_some(),
            "drift": drift,
        });
        if digest {
            figures["plan_sha256"] = json!(plan_digest(&made)?);
        }
    }
    let peak_rss_mb = status_mib("VmHWM");
    let desired_ms = median(desired_times.clone());
    let plan_ms = median(plan_times.clone());
    let mut json = json!({
        "pairings": shape.pairings,
        "members": shape.members,
        "people": shape.people,
        "desired_ms": desired_ms,
        "plan_ms": plan_ms,
        "total_ms": round2(desired_ms + plan_ms),
        "desired_cpu_ms": median(desired_cpu.clone()),
        "plan_cpu_ms": median(plan_cpu.clone()),
        "runs": runs,
        "desired_ms_runs": desired_times,
        "plan_ms_runs": plan_times,
        "desired_cpu_ms_runs": desired_cpu,
        "plan_cpu_ms_runs": plan_cpu,
        // Both cores: the CPU time of every thread, in 10 ms ticks, and the minor page faults
        // (fresh pages, 4 KiB each).
        "desired_process_cpu_ms": StepCost::median(&desired_costs, |cost| cost.cpu_ms),
        "desired_system_cpu_ms": StepCost::median(&desired_costs, |cost| cost.system_cpu_ms),
        "desired_minor_faults": StepCost::median(&desired_costs, |cost| cost.minor_faults),
        "plan_process_cpu_ms": StepCost::median(&plan_costs, |cost| cost.cpu_ms),
        "plan_system_cpu_ms": StepCost::median(&plan_costs, |cost| cost.system_cpu_ms),
        "plan_minor_faults": StepCost::median(&plan_costs, |cost| cost.minor_faults),
        "settle_ms": median(settle_times.clone()),
        "settle_ms_runs": settle_times,
        "peak_rss_mb": peak_rss_mb,
        "rss_mb_after": rss,
    });
    if let (Value::Object(json), Value::Object(figures)) = (&mut json, figures) {
        json.extend(figures);
    }
    Ok(json)
}

/// Lets the allocator finish the bookkeeping that freeing the previous step's data left it,
/// so that the next timed step pays for its own work only; returns the milliseconds it took.
///
/// glibc's `free` files small chunks away cheaply and sorts them out later, at most 10,000 per
/// later allocation: after the directory (millions of small strings) is dropped, the first
/// tens of thousands of allocations of whatever runs next pay for it, 50 to 90 ms here. In
/// `adsync plan` that is the Rescue read, which allocates far more than that; in this
/// benchmark it would be `plan()`, so the time is reported apart as `settle_ms`.
///
/// The same goes for the arena of the planner's second thread, which gets back what the
/// previous run allocated there when that run's results are dropped: a second thread settles it
/// (each `par::join` thread reuses the arena the last one left).
fn settle() -> f64 {
    let started = Instant::now();
    settle_this_thread();
    std::thread::scope(|scope| {
        scope.spawn(settle_this_thread);
    });
    millis(started.elapsed())
}

fn settle_this_thread() {
    let mut quiet = 0;
    for _ in 0..100_000 {
        let one = Instant::now();
        drop(std::hint::black_box(Vec::<u8>::with_capacity(64 << 10)));
        quiet = if one.elapsed() < Duration::from_micros(20) {
            quiet + 1
        } else {
            0
        };
        if quiet == 16 {
            break;
        }
    }
}

/// `plan-one`: one size, in this process.
fn plan_one(options: &Options) -> Result<String, String> {
    let pairings = options.pairings.ok_or("plan-one needs --pairings")?;
    let members = options.members.ok_or("plan-one needs --members")?;
    let mut shape = Shape::new(pairings, members);
    if let Some(people) = options.people {
        shape.people = people;
    }
    let runs = options.runs.unwrap_or(1);
    Ok(plan_size(&shape, runs, options.digest, options.mapped)?.to_string())
}

/// The SHA-256 of `plan`'s JSON, hashed as it is written: two planners that make the same plan
/// print the same digest.
fn plan_digest(plan: &adsync_core::plan::Plan) -> Result<String, String> {
    struct Hashing(Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut hashing = Hashing(Sha256::new());
    serde_json::to_writer(&mut hashing, plan)
        .map_err(|e| format!("the plan does not serialize: {e}"))?;
    Ok(hashing
        .0
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

/// One size's figures over its rounds: those of the round whose total is the median, with every
/// round's total beside them and the highest peak RSS of any round.
fn median_round(mut rounds: Vec<Value>, total: impl Fn(&Value) -> f64) -> Value {
    rounds.sort_by(|a, b| total(a).total_cmp(&total(b)));
    let totals: Vec<f64> = rounds.iter().map(&total).collect();
    let peak = rounds
        .iter()
        .filter_map(|round| round["peak_rss_mb"].as_f64())
        .fold(f64::NAN, f64::max);
    let mut median = rounds.swap_remove(rounds.len() / 2);
    median["rounds"] = json!(totals.len());
    median["total_ms_rounds"] = json!(totals);
    if !peak.is_nan() {
        median["peak_rss_mb"] = json!(peak);
    }
    median
}

/// Runs one size of `plan` in a child process, so that the peak RSS it reports is its own and
/// not what an earlier size left in the allocator.
fn plan_size_apart(shape: &Shape, runs: usize, mapped: bool) -> Result<Value, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let output = std::process::Command::new(exe)
        .args(mapped.then(|| "--mapped".to_owned()))
        .args([
            "plan-one".to_owned(),
            "--pairings".to_owned(),
            shape.pairings.to_string(),
            "--members".to_owned(),
            shape.members.to_string(),
            "--people".to_owned(),
            shape.people.to_string(),
            "--runs".to_owned(),
            runs.to_string(),
        ])
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run plan-one: {e}"))?;
    if !output.status.success() {
        return Err(format!("plan-one failed ({})", output.status));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.trim()).map_err(|e| format!("plan-one printed no JSON: {e}"))
}

fn plan_scenario(options: &Options) -> Result<String, String> {
    let (pairings, members, runs, rounds) = if options.quick {
        (40, 100, 1, 1)
    } else {
        (999, 999, 1, 41)
    };
    let pairings = options.pairings.unwrap_or(pairings).max(4);
    let members = options.members.unwrap_or(members).max(1);
    let runs = options.runs.unwrap_or(runs);
    let rounds = options.rounds.unwrap_or(rounds);
    let full = {
        let mut shape = Shape::new(pairings, members);
        if let Some(people) = options.people {
            shape.people = people.max(members);
        }
        shape
    };
    // A quarter and a half of the input: fewer pairings over proportionally fewer people, each
    // group as large.
    let scaled = |parts: usize| {
        let mut shape = Shape::new(pairings.div_ceil(parts), members);
        shape.people = (full.people / parts).max(members);
        shape
    };
    let shapes = [scaled(4), scaled(2), full.clone()];
    // The sizes take turns, round after round, so that a spell in which the machine runs slower
    // (a shared host's speed drifts by a fifth within minutes) falls on all three alike rather
    // than on whichever size ran then.
    let mut measured: [Vec<Value>; 3] = Default::default();
    for _ in 0..rounds {
        for (shape, rounds_of_size) in shapes.iter().zip(&mut measured) {
            rounds_of_size.push(plan_size_apart(shape, runs, options.mapped)?);
        }
    }
    let total = |size: &Value| size["total_ms"].as_f64().unwrap_or(0.0);
    // Growth is measured within a round, between sizes that ran one after the other: a slow
    // spell then slows both sides of a ratio rather than whichever size's median it lands in.
    // The figure is the rounds' median ratio, as the time is the median round's: on the shared
    // build machine some spells slow only the largest process (by up to x2, rounds on end),
    // and a mean of the ratios would count them as the planner's growth. The geometric mean is
    // printed beside it.
    let growth_rounds = |from: usize, to: usize| -> Vec<f64> {
        measured[from]
            .iter()
            .zip(&measured[to])
            .map(|(smaller, larger)| total(larger) / total(smaller))
            .collect()
    };
    let (quarter_to_half, half_to_full) = (growth_rounds(0, 1), growth_rounds(1, 2));
    let growth_quarter_to_half = growth(&quarter_to_half);
    let growth_half_to_full = growth(&half_to_full);
    let sizes: Vec<Value> = measured
        .into_iter()
        .map(|of_size| median_round(of_size, total))
        .collect();
    let largest = &sizes[2];
    let meets = total(largest) < PLAN_MS_TARGET
        && largest["peak_rss_mb"]
            .as_f64()
            .is_some_and(|peak| peak < PEAK_RSS_MB_TARGET)
        && growth_quarter_to_half <= GROWTH_TARGET
        && growth_half_to_full <= GROWTH_TARGET;
    let mut line = json!({
        "scenario": "plan",
        "quick": options.quick,
        "mapped": options.mapped,
        "cores": std::thread::available_parallelism().map_or(0, usize::from),
    });
    if let (Value::Object(line), Value::Object(figures)) = (&mut line, largest.clone()) {
        line.extend(figures);
    }
    line["growth"] = json!({
        "quarter_to_half": growth_quarter_to_half,
        "half_to_full": growth_half_to_full,
        "quarter_to_half_geometric_mean": geometric_mean(&quarter_to_half),
        "half_to_full_geometric_mean": geometric_mean(&half_to_full),
        "quarter_to_half_rounds": quarter_to_half.into_iter().map(round2).collect::<Vec<_>>(),
        "half_to_full_rounds": half_to_full.into_iter().map(round2).collect::<Vec<_>>(),
    });
    line["sizes"] = Value::Array(sizes);
    line["targets"] = json!({
        "total_ms_below": PLAN_MS_TARGET,
        "peak_rss_mb_below": PEAK_RSS_MB_TARGET,
        "growth_at_most": GROWTH_TARGET,
        // `--quick` sizes say nothing about the targets.
        "met": (!options.quick).then_some(meets),
    });
    Ok(line.to_string())
}

// ---------------------------------------------------------------------------------------------
// sync

/// The organization, the emulators seeded with it (with latency) and the configuration
/// pointing at them: what `sync` and `sync --steady` share.
struct SyncSetup {
    pairings: usize,
    members: usize,
    latency_ms: u64,
    graph_concurrency: usize,
    rescue_concurrency: usize,
    shape: Shape,
    config: Config,
    links: adsync_core::plan::Links,
    drift: synthetic::Drift,
    directory_users: usize,
    rescue_nodes: usize,
    graph: GraphEmulator,
    rescue_emulator: RescueEmulator,
}

async fn sync_setup(options: &Options) -> SyncSetup {
    let (pairings, members, latency_ms) = if options.quick {
        (6, 50, 2)
    } else {
        (100, 999, 20)
    };
    let pairings = options.pairings.unwrap_or(pairings).max(3);
    let members = options.members.unwrap_or(members).max(1);
    let latency_ms = options.latency_ms.unwrap_or(latency_ms);
    let graph_concurrency = options.graph_concurrency.unwrap_or(8);
    let rescue_concurrency = options.concurrency.unwrap_or(4);
    let latency = Duration::from_millis(latency_ms);

    let mut shape = Shape::new(pairings, members);
    if let Some(people) = options.people {
        shape.people = people.max(members);
    }
    let Organization {
        mut config,
        directory,
        rescue,
        links,
        drift,
    } = synthetic::organization(&shape);
    let directory_users = directory.users.len();
    let rescue_nodes = rescue.nodes.len();

    let graph = GraphEmulator::start(directory).await;
    let rescue_emulator = RescueEmulator::start(&rescue).await;
    drop(rescue);
    graph.set_latency(latency);
    rescue_emulator.set_latency(latency);
    config.source = SourceConfig::Graph(GraphSourceConfig {
        tenant: graph_emulator::TENANT.to_owned(),
        client_id: graph_emulator::CLIENT_ID.to_owned(),
        client_secret: SecretRef::Env("ADSYNC_GRAPH_CLIENT_SECRET".to_owned()),
        cloud: Default::default(),
        authority_url: Some(graph.uri()),
        graph_url: Some(graph.uri()),
        nested_groups: true,
        concurrency: graph_concurrency,
        retry: Default::default(),
    });
    config.target = TargetConfig::Rescue(RescueTargetConfig {
        region: Default::default(),
        base_url: Some(rescue_emulator.uri()),
        auth: RescueAuth {
            api_token: Some(SecretRef::Env("ADSYNC_RESCUE_API_TOKEN".to_owned())),
            email: None,
            password: None,
        },
        default_password: None,
        concurrency: rescue_concurrency,
        retry: Default::default(),
    });
    SyncSetup {
        pairings,
        members,
        latency_ms,
        graph_concurrency,
        rescue_concurrency,
        shape,
        config,
        links,
        drift,
        directory_users,
        rescue_nodes,
        graph,
        rescue_emulator,
    }
}

async fn sync_scenario(options: &Options) -> Result<String, String> {
    if options.steady {
        return steady::scenario(options, sync_setup(options).await).await;
    }
    let SyncSetup {
        pairings,
        members,
        latency_ms,
        graph_concurrency,
        rescue_concurrency,
        shape,
        config,
        links,
        drift,
        directory_users,
        rescue_nodes,
        graph,
        rescue_emulator,
    } = sync_setup(options).await;
    let source = GraphSource::new(graph.settings(graph_concurrency)).map_err(|e| e.to_string())?;
    let target = RescueTarget::new(rescue_emulator.settings(rescue_concurrency))
        .map_err(|e| e.to_string())?;
    let request = source_request(&config);
    graph.reset_counts();
    rescue_emulator.reset_counts();

    // What `adsync plan` does: the directory, desired(), the tree and details, plan().
    let started = Instant::now();
    let read = source.snapshot(&request).await.map_err(|e| e.to_string())?;
    let graph_done = Instant::now();
    let wanted = desired(&read, &config).map_err(|e| e.to_string())?;
    let details = detail_request(&config, &wanted, &links);
    let desired_done = Instant::now();
    let tree = target.snapshot(&details).await.map_err(|e| e.to_string())?;
    let rescue_done = Instant::now();
    let current = CurrentState {
        rescue: tree,
        links,
    };
    let made = plan(&wanted, &current, &Policy::from_config(&config)).map_err(|e| e.to_string())?;
    let finished = Instant::now();

    let graph_counts: BTreeMap<String, usize> = graph
        .counts()
        .into_iter()
        .map(|(kind, count)| (snake(&format!("{kind:?}")), count))
        .collect();
    let graph_requests: usize = graph_counts.values().sum();
    let graph_bound = graph.lower_bound(&request);
    let rescue_counts = rescue_emulator.counts();
    let rescue_requests: usize = rescue_counts.values().sum();
    let rescue_bound = rescue_emulator.read_lower_bound(&details);

    let latency_f = latency_ms as f64;
    let graph_bound_ms = graph_bound.total() as f64 * latency_f / graph_concurrency as f64;
    let rescue_bound_ms = rescue_bound as f64 * latency_f / rescue_concurrency as f64;
    let bound_ms = round2(graph_bound_ms + rescue_bound_ms);
    let wall_ms = millis(finished - started);
    let graph_ratio = ratio(graph_requests as f64, graph_bound.total() as f64);
    let rescue_ratio = ratio(rescue_requests as f64, rescue_bound as f64);
    let wall_ratio = ratio(wall_ms, bound_ms);
    let meets = graph_ratio <= REQUESTS_RATIO_TARGET
        && rescue_ratio <= REQUESTS_RATIO_TARGET
        && wall_ratio <= WALL_RATIO_TARGET;

    let line = json!({
        "scenario": "sync",
        "quick": options.quick,
        "pairings": pairings,
        "members": members,
        "people": shape.people,
        "latency_ms": latency_ms,
        "graph_concurrency": graph_concurrency,
        "rescue_concurrency": rescue_concurrency,
        "directory_users": directory_users,
        "users_read": read.users.len(),
        "rescue_nodes": rescue_nodes,
        "in_scope_users": rescue_bound.saturating_sub(1),
        "graph": {
            "requests": graph_counts,
            "total": graph_requests,
            "lower_bound": graph_bound.total(),
            "lower_bound_parts": {
                "token": graph_bound.token,
                "resolutions": graph_bound.resolutions,
                "member_pages": graph_bound.member_pages,
                "nested_group_pages": graph_bound.nested_group_pages,
            },
            "ratio": graph_ratio,
            "read_ms": millis(graph_done - started),
            "bound_ms": round2(graph_bound_ms),
            "wall_ratio": ratio(millis(graph_done - started), graph_bound_ms),
        },
        "rescue": {
            "requests": rescue_counts,
            "total": rescue_requests,
            "lower_bound": rescue_bound,
            "ratio": rescue_ratio,
            "read_ms": millis(rescue_done - desired_done),
            "bound_ms": round2(rescue_bound_ms),
            "wall_ratio": ratio(millis(rescue_done - desired_done), rescue_bound_ms),
        },
        "desired_ms": millis(desired_done - graph_done),
        "plan_ms": millis(finished - rescue_done),
        "wall_ms": wall_ms,
        "bound_ms": bound_ms,
        "wall_ratio": wall_ratio,
        "actions": made.actions.len(),
        "summary": summary_json(&made.summary),
        "drift": drift,
        "targets": {
            "requests_ratio_at_most": REQUESTS_RATIO_TARGET,
            "wall_ratio_at_most": WALL_RATIO_TARGET,
            "met": (!options.quick).then_some(meets),
        },
    });
    Ok(line.to_string())
}

/// The pairings' groups, in order, once each: what the CLI asks a source for.
fn source_request(config: &Config) -> SourceRequest {
    SourceRequest::for_config(config)
}

// ---------------------------------------------------------------------------------------------
// apply

/// The requests an action needs at the least (adsync-rescue's documented costs): a create is
/// `createUser` + `setUser_v2` (`createGroup` + `setGroup`), a move one `moveNode`, every other
/// change a read of the node and one `setUser_v2` (setUser replaces every field).
fn requests_needed(kind: ActionKind) -> usize {
    match kind {
        ActionKind::MoveUser => 1,
        ActionKind::CreateGroup
        | ActionKind::CreateUser
        | ActionKind::UpdateUser
        | ActionKind::EnableUser
        | ActionKind::SetMobileLicense
        | ActionKind::DisableUser => 2,
    }
}

async fn apply_scenario(options: &Options) -> Result<String, String> {
    let (actions, latency_ms) = if options.quick { (60, 2) } else { (2000, 20) };
    let wanted_actions = options.actions.unwrap_or(actions).max(1);
    let latency_ms = options.latency_ms.unwrap_or(latency_ms);
    let concurrency = options.concurrency.unwrap_or(4);

    // An organization with heavy drift (10% of placements per kind), grown until its plan holds
    // enough actions; then an even sample of them, in plan order, so every kind is represented.
    let mut pairings = 6;
    let (org, full) = loop {
        let mut shape = Shape::new(pairings, 100);
        shape.drift_per_mille = 100;
        let org = synthetic::organization(&shape);
        let current = CurrentState {
            rescue: org.rescue.clone(),
            links: org.links.clone(),
        };
        let wanted = desired(&org.directory, &org.config).map_err(|e| e.to_string())?;
        let made = plan(&wanted, &current, &Policy::from_config(&org.config))
            .map_err(|e| e.to_string())?;
        if made.actions.len() >= wanted_actions || pairings >= 4096 {
            break (org, made);
        }
        pairings *= 2;
    };
    let available = full.actions.len();
    let take = wanted_actions.min(available);
    let mut sample = full.clone();
    sample.actions = (0..take)
        .map(|k| full.actions[k * available / take].clone())
        .collect();
    sample.summary = Summary::count(&sample.actions, 0);
    let needed: usize = sample
        .actions
        .iter()
        .map(|action| requests_needed(action.kind()))
        .sum();

    let emulator = RescueEmulator::start(&org.rescue).await;
    emulator.set_latency(Duration::from_millis(latency_ms));
    let target = emulator.target(concurrency);
    emulator.reset_counts();
    let started = Instant::now();
    let report = execute(
        &sample,
        &target as &dyn Target,
        &BTreeMap::new(),
        &mut NoObserver,
    )
    .await;
    let wall = started.elapsed();

    let counts = emulator.counts();
    let requests: usize = counts.values().sum();
    let wall_ms = millis(wall);
    let bound_ms = round2(needed as f64 * latency_ms as f64 / concurrency as f64);
    let failures: BTreeMap<&str, usize> = report
        .failures_by_category()
        .into_iter()
        .map(|(category, results)| (category.as_str(), results.len()))
        .collect();
    let line = json!({
        "scenario": "apply",
        "quick": options.quick,
        "actions": take,
        "latency_ms": latency_ms,
        "concurrency": concurrency,
        "rescue_nodes": org.rescue.nodes.len(),
        "summary": summary_json(&sample.summary),
        "requests": counts,
        "requests_total": requests,
        "requests_needed": needed,
        "requests_ratio": ratio(requests as f64, needed as f64),
        "wall_ms": wall_ms,
        "bound_ms": bound_ms,
        "wall_ratio": ratio(wall_ms, bound_ms),
        "throughput_per_s": round2(take as f64 / wall.as_secs_f64().max(1e-9)),
        "bound_throughput_per_s": ratio(take as f64 * 1000.0, bound_ms),
        "outcomes": {
            "applied": report.count(Outcome::Applied),
            "failed": report.count(Outcome::Failed),
            "skipped": report.count(Outcome::Skipped),
            "drifted": report.count(Outcome::Drifted),
        },
        "failures": failures,
    });
    Ok(line.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_counters_are_read_after_a_command_name_with_spaces_and_parentheses() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
        // utime stime ...
        let stat = "4242 (adsync (bench) 2) R 1 4242 4242 0 -1 4194304 51482 0 3 0 122 9 0 0 20";
        let counters = ProcessCounters::parse(stat).expect("a valid line");
        assert_eq!(counters.minor_faults, 51482);
        assert_eq!(counters.user_ticks, 122);
        assert_eq!(counters.system_ticks, 9);
        let later = ProcessCounters {
            minor_faults: 61482,
            user_ticks: 150,
            system_ticks: 11,
        };
        assert_eq!(
            ProcessCounters::between(Some(counters), Some(later)),
            Some(StepCost {
                minor_faults: 10000.0,
                cpu_ms: 300.0,
                system_cpu_ms: 20.0,
            })
        );
        assert!(ProcessCounters::parse("4242 (cut short) R 1").is_none());
        assert!(ProcessCounters::between(None, Some(later)).is_none());
    }

    #[test]
    fn growth_is_the_rounds_median_ratio_whatever_a_spell_on_one_size_does() {
        // Three rounds of a spell that slowed only the larger size do not move it.
        let ratios = [2.1, 2.12, 3.9, 2.14, 2.11, 4.2, 3.6, 2.13, 2.15];
        assert_eq!(growth(&ratios), 2.14);
        assert!(geometric_mean(&ratios) > 2.5);
        assert_eq!(growth(&[2.104, 2.2]), 2.15);
        assert_eq!(growth(&[]), 0.0);
    }

    #[test]
    fn growth_averages_the_rounds_ratios_geometrically() {
        // Twice and half the usual ratio cancel out (an arithmetic mean would give 2.5).
        assert_eq!(geometric_mean(&[4.0, 1.0]), 2.0);
        assert_eq!(geometric_mean(&[2.0, 2.0, 2.0]), 2.0);
        assert_eq!(geometric_mean(&[1.9, 2.3]), 2.09);
        // A size that measured nothing gives no growth rather than a made-up one.
        assert_eq!(geometric_mean(&[]), 0.0);
        assert_eq!(geometric_mean(&[2.0, f64::INFINITY]), 0.0);
        assert_eq!(geometric_mean(&[2.0, 0.0]), 0.0);
    }
}
