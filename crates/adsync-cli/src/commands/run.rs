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

pub(crate) async fn run(global: &Global, args: &RunArgs) -> Result<ExitStatus, Error> {
    let interval = parse_interval(&args.every)?;
    let stop = Arc::new(AtomicBool::new(false));
    let wake = Arc::new(Notify::new());
    listen_for_signals(Arc::clone(&stop), Arc::clone(&wake));
    let mut listening = crate::listen::start(args, interval, global.quiet).await?;
    if let Some(listening) = &listening {
        restore(global, listening);
    }

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
        tracing::info!(cycle, "cycle starting");
        let mut trace = Trace::default();
        let result = one_cycle(global, args, &stop, listening.as_ref(), &mut trace).await;
        match &result {
            Ok(status) => tracing::info!(cycle, ?status, "cycle finished"),
            Err(error) => {
                // A failed cycle is reported and retried at the next one.
                output::note(global.quiet, crate::error::render(error).trim_end());
                tracing::warn!(cycle, "cycle failed; retrying at the next interval");
            }
        }
        let wait = interval.saturating_sub(started.elapsed());
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
    output::note(global.quiet, "stopped");
    Ok(ExitStatus::Success)
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

async fn one_cycle(
    global: &Global,
    args: &RunArgs,
    stop: &AtomicBool,
    listening: Option<&crate::listen::Listening>,
    trace: &mut Trace,
) -> Result<ExitStatus, Error> {
    // The configuration is read each cycle, so an edit takes effect without a restart.
    let mut loaded = super::config(global)?;
    if let Some(listening) = listening {
        listening.logs.set_state_dir(loaded.state_dir());
        loaded.observer = Some(listening.service.clone());
    }
    if args.dry_run {
        return dry_run_cycle(global, args, &loaded, trace).await;
    }
    let options = super::apply::Options {
        plan: None,
        yes: true,
        allow_destructive: false,
        allow_empty_groups: false,
        json: false,
        stop: Some(stop),
        command: "run",
    };
    super::apply::apply_traced(global, &loaded, &options, trace).await
}

/// One `--dry-run` cycle: the plan as a workbook, nothing applied.
async fn dry_run_cycle(
    global: &Global,
    args: &RunArgs,
    loaded: &crate::load::Loaded,
    trace: &mut Trace,
) -> Result<ExitStatus, Error> {
    let _lock = crate::state::Lock::acquire(&loaded.state_dir(), "run --dry-run", global.quiet)?;
    let target = crate::wiring::target(loaded)?;
    let plan =
        super::plan::make_plan_read(global, false, loaded, target.as_target(), &mut trace.read)
            .await?;
    let now = SystemTime::now();
    let path = args.out_dir.join(format!(
        "adsync-dry-run-{}.xlsx",
        crate::clock::compact(now)
    ));
    let context = crate::workbook::Context {
        generated: &crate::clock::format_time(now),
        config: &loaded.path.display().to_string(),
    };
    crate::workbook::write(&plan, &context, &path)?;
    let mut record = crate::state::LastRun {
        run_id: format!("{}-{}", crate::clock::compact(now), std::process::id()),
        command: "run --dry-run".into(),
        started: crate::clock::format_time(now),
        finished: crate::clock::now(),
        outcome: "success".into(),
        ..crate::state::LastRun::default()
    };
    record
        .counts
        .insert("planned".into(), plan.actions.len() as u64);
    trace.record = Some(record.clone());
    trace.plan = Some(plan);
    crate::state::write_last_run(&loaded.state_dir(), record)?;
    output::note(global.quiet, &format!("wrote {}", path.display()));
    Ok(ExitStatus::Success)
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

/// `90s`, `15m`, `2h`, `1h30m`, or plain seconds.
pub(crate) fn parse_interval(text: &str) -> Result<Duration, Error> {
    let bad = || {
        Error::Setup(format!(
            "`{text}` is not an interval; write e.g. `30s`, `15m`, `1h30m`"
        ))
    };
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return if seconds == 0 {
            Err(bad())
        } else {
            Ok(Duration::from_secs(seconds))
        };
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let value: u64 = number.parse().map_err(|_| bad())?;
        number.clear();
        total += value
            * match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                _ => return Err(bad()),
            };
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
        assert_eq!(parse_interval("15m").ok(), Some(Duration::from_secs(900)));
        assert_eq!(
            parse_interval("1h30m").ok(),
            Some(Duration::from_secs(5400))
        );
        assert_eq!(parse_interval("1s").ok(), Some(Duration::from_secs(1)));
        assert_eq!(parse_interval("45").ok(), Some(Duration::from_secs(45)));
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("5 minutes").is_err());
        assert!(parse_interval("10").is_ok());
    }
}
