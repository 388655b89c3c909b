//! `adsync run --every <interval>`: the service mode. Plans and applies at once, then every
//! interval, never overlapping; a failed cycle is logged and the next one still runs;
//! SIGINT/SIGTERM let the action in flight finish and exit 0.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;

use adsync_web::Running;
use adsync_web::view::Trigger;

use crate::cli::{Global, RunArgs};
use crate::commands::apply::Trace;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::output;
use crate::state::LastRun;
use crate::style::Paint;

pub(crate) async fn run(global: &Global, args: &RunArgs) -> Result<ExitStatus, Error> {
    let interval = parse_interval(&args.every, "--every")?;
    let stop = Arc::new(AtomicBool::new(false));
    let wake = Arc::new(Notify::new());
    listen_for_signals(Arc::clone(&stop), Arc::clone(&wake));
    // Bound before the service announces itself, so a bad --listen is the only thing said.
    let mut listening = crate::listen::start(args, interval, global.quiet).await?;
    if let Some(listening) = &listening {
        restore(global, listening);
    }
    output::note(
        global.quiet,
        &format!(
            "{} adsync run: a cycle every {}{}",
            crate::clock::now(),
            crate::clock::human_duration(interval),
            if args.dry_run {
                ", writing a dry-run workbook instead of applying"
            } else {
                ""
            }
        ),
    );

    let warned = std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut cycle = 0u64;
    let mut trigger = Trigger::Schedule;
    loop {
        cycle += 1;
        let started = std::time::Instant::now();
        let started_at = SystemTime::now();
        if let Some(listening) = &listening {
            listening.service.run_started(Running {
                started: crate::listen::stamp(started_at),
                trigger,
            });
        }
        output::note(
            global.quiet,
            &format!("{} cycle {cycle} started", crate::clock::now()),
        );
        let mut trace = Trace::default();
        let cycling = Cycling {
            stop: &stop,
            warned: &warned,
            listening: listening.as_ref(),
        };
        let result = one_cycle(global, args, &cycling, &mut trace).await;
        let elapsed = started.elapsed();
        let wait = interval.saturating_sub(elapsed);
        let next = (!stop.load(Ordering::SeqCst)).then(|| SystemTime::now() + wait);
        let record = trace.record.clone().unwrap_or_default();
        cycle_finished(global, cycle, &result, &record, elapsed, next);
        if let Some(listening) = &listening {
            let report = crate::listen::report(trace, &result, trigger, started_at);
            let next = crate::listen::stamp(SystemTime::now() + wait);
            listening.service.run_finished(report, next);
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
        trigger = Trigger::Schedule;
        let retry = async {
            match listening.as_mut() {
                Some(listening) => listening.retries.next().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = wake.notified() => {}
            Some(()) = retry => trigger = Trigger::Retry,
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
    }
    if let Some(listening) = listening {
        listening.shut_down().await;
    }
    output::note(global.quiet, &format!("{} stopped", crate::clock::now()));
    Ok(ExitStatus::Success)
}

/// What every cycle of one service shares.
struct Cycling<'a> {
    /// Set when the process is asked to stop.
    stop: &'a AtomicBool,
    /// The plan warnings already printed: each is printed once, not every cycle.
    warned: &'a std::sync::Mutex<std::collections::BTreeSet<String>>,
    /// The service page, with `--listen`.
    listening: Option<&'a crate::listen::Listening>,
}

/// The line that ends a cycle: when, how it went, its counts, how long it took and when the
/// next one starts. A failed cycle's error follows it; the next cycle still runs.
fn cycle_finished(
    global: &Global,
    cycle: u64,
    result: &Result<ExitStatus, Error>,
    record: &LastRun,
    elapsed: Duration,
    next: Option<SystemTime>,
) {
    let outcome = match result {
        Ok(_) if record.outcome.is_empty() => "success",
        Ok(_) => record.outcome.as_str(),
        Err(_) => "error",
    };
    let counts: Vec<String> = ["planned", "applied", "failed", "skipped", "drifted"]
        .iter()
        .filter_map(|key| {
            record
                .counts
                .get(*key)
                .map(|count| format!("{count} {key}"))
        })
        .collect();
    let next = next.map_or_else(
        || "stopping".to_owned(),
        |next| format!("next at {}", crate::clock::format_time(next)),
    );
    output::note(
        global.quiet && result.is_ok(),
        &format!(
            "{} cycle {cycle} finished: {outcome}{} in {:.1}s; {next}",
            crate::clock::now(),
            if counts.is_empty() {
                String::new()
            } else {
                format!(", {}", counts.join(", "))
            },
            elapsed.as_secs_f64(),
        ),
    );
    if let Err(error) = result {
        output::note(
            false,
            crate::error::render(error, Paint::stderr(global)).trim_end(),
        );
    }
}

/// Shows the last success recorded before this service started, and where the logs are.
fn restore(global: &Global, listening: &crate::listen::Listening) {
    let Ok(loaded) = super::config(global) else {
        return;
    };
    let state_dir = loaded.state_dir();
    let last_success = std::fs::read_to_string(state_dir.join("last-run.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<crate::state::LastRun>(&text).ok())
        .and_then(|record| record.last_success)
        .and_then(|text| crate::clock::parse_time(&text))
        .map(crate::listen::stamp);
    listening.service.restore(last_success);
    listening.logs.set_state_dir(state_dir);
}

/// One cycle; `trace` keeps what it read, planned and applied, and the record it wrote.
async fn one_cycle(
    global: &Global,
    args: &RunArgs,
    cycling: &Cycling<'_>,
    trace: &mut Trace,
) -> Result<ExitStatus, Error> {
    // The configuration is read each cycle, so an edit takes effect without a restart.
    let mut loaded = super::config(global)?;
    if let Some(listening) = cycling.listening {
        listening.logs.set_state_dir(loaded.state_dir());
        loaded.observer = Some(listening.service.clone());
    }
    if args.dry_run {
        return dry_run_cycle(global, args, &loaded, cycling.warned, trace).await;
    }
    let options = super::apply::Options {
        plan: None,
        yes: true,
        allow_destructive: false,
        allow_empty_groups: false,
        json: false,
        stop: Some(cycling.stop),
        command: "run",
        // Each cycle's whole plan only with -v: the cycle lines say what it came to.
        print_plan: global.verbose > 0,
        max_plan_age: None,
        warned: Some(cycling.warned),
    };
    super::apply::apply_traced(global, &loaded, &options, trace).await
}

/// A `run --dry-run` cycle: the workbook of the plan, nothing applied, recorded as a dry run
/// (it never counts as the last success); `trace` keeps the read, the plan and the record.
async fn dry_run_cycle(
    global: &Global,
    args: &RunArgs,
    loaded: &crate::load::Loaded,
    warned: &std::sync::Mutex<std::collections::BTreeSet<String>>,
    trace: &mut Trace,
) -> Result<ExitStatus, Error> {
    let now = SystemTime::now();
    let mut record = LastRun {
        run_id: format!("{}-{}", crate::clock::compact(now), std::process::id()),
        command: "run --dry-run".into(),
        started: crate::clock::format_time(now),
        dry_run: true,
        ..LastRun::default()
    };
    let result = async {
        let _lock =
            crate::state::Lock::acquire(&loaded.state_dir(), "run --dry-run", global.quiet)?;
        if let Some(goto) = crate::goto::target_config(loaded) {
            let name = format!("adsync-dry-run-{}.xlsx", crate::clock::compact(now));
            let cycle = (args.out_dir.join(name), &mut trace.goto);
            return crate::goto::dry_run_cycle(global, loaded, goto, cycle).await;
        }
        let target = crate::wiring::target(loaded)?;
        let planned = super::plan::read_and_plan(
            global,
            false,
            loaded,
            target.as_target(),
            false,
            &mut trace.read,
        )
        .await?;
        let plan = &*trace.plan.insert(planned.plan);
        super::plan::print_new_warnings(global, plan, warned);
        let path = args.out_dir.join(format!(
            "adsync-dry-run-{}.xlsx",
            crate::clock::compact(now)
        ));
        let context = crate::workbook::Context {
            generated: &crate::clock::format_time(now),
            config: &loaded.path.display().to_string(),
            rescue: Some(&planned.current.rescue),
            links: Some(&planned.current.links),
        };
        crate::workbook::write(plan, &context, &path)?;
        if global.verbose > 0 {
            output::stdout(&crate::render::plan_human(
                plan,
                Paint::stdout(global),
                &crate::render::Listing::default(),
            ))?;
        }
        output::note(global.quiet, &format!("wrote {}", path.display()));
        Ok::<_, Error>(plan.actions.len())
    }
    .await;
    record.finished = crate::clock::now();
    let result = match result {
        Ok(planned) => {
            record.outcome = "success".into();
            record.counts.insert("planned".into(), planned as u64);
            Ok(ExitStatus::Success)
        }
        Err(error) => {
            record.outcome = "error".into();
            record.error = Some(error.to_string());
            Err(error)
        }
    };
    trace.record = Some(record.clone());
    crate::state::write_last_run(&loaded.state_dir(), record)?;
    result
}

fn listen_for_signals(stop: Arc<AtomicBool>, wake: Arc<Notify>) {
    tokio::spawn(async move {
        wait_for_signal().await;
        stop.store(true, Ordering::SeqCst);
        wake.notify_one();
    });
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// `90s`, `15m`, `2h`, `1h30m`, `1d`: a number and a unit, repeated. A bare number is refused:
/// `--every 15` could mean seconds or minutes, and a wrong guess is a service that hammers both
/// APIs or one that hardly runs.
pub(crate) fn parse_interval(text: &str, flag: &str) -> Result<Duration, Error> {
    let trimmed = text.trim();
    if !trimmed.is_empty() && trimmed.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::Usage {
            message: format!("{flag} `{text}` has no unit"),
            hint: format!("write `{trimmed}s` for seconds or `{trimmed}m` for minutes"),
        });
    }
    let bad = || Error::Usage {
        message: format!("{flag} `{text}` is not an interval"),
        hint: "write a number and a unit (s, m, h, d), e.g. `30s`, `15m`, `1h30m`".to_owned(),
    };
    let mut total = 0u64;
    let mut number = String::new();
    for c in trimmed.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let value: u64 = number.parse().map_err(|_| bad())?;
        number.clear();
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        total = value
            .checked_mul(unit)
            .and_then(|seconds| total.checked_add(seconds))
            .ok_or_else(bad)?;
    }
    if !number.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        let parse = |text| parse_interval(text, "--every").ok();
        assert_eq!(parse("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse("2d"), Some(Duration::from_secs(172_800)));
        assert_eq!(parse("0s"), None);
        assert_eq!(parse("5 minutes"), None);
        assert_eq!(parse("99999999999999999999d"), None);
    }

    #[test]
    fn a_bare_number_is_refused_with_both_readings() {
        let error = parse_interval("15", "--every").expect_err("no unit");
        let text = crate::error::render(&error, crate::style::Paint::PLAIN);
        assert!(text.contains("--every `15` has no unit"), "{text}");
        assert!(text.contains("`15s`") && text.contains("`15m`"), "{text}");
    }
}
