//! `run --listen`: binds the service page, reads its token, and turns each cycle's plan and
//! apply report into what the page shows. The page itself is adsync-web.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use adsync_core::execute::Outcome;
use adsync_core::plan::{Plan, Summary};
use adsync_core::secret::Secret;
use adsync_web::view::{
    ActionCount, ActionFailure, BlockedPlan, Clock, ErrorKind, PlanView, RunError, RunOutcome,
    RunReport, Stamp, Trigger,
};
use adsync_web::{RetryRequests, Service, WebOptions};

use crate::activity::StateLogs;
use crate::cli::RunArgs;
use crate::commands::apply::Trace;
use crate::error::Error;

/// The page, serving in the background.
pub(crate) struct Listening {
    pub(crate) service: Arc<Service>,
    pub(crate) retries: RetryRequests,
    pub(crate) logs: Arc<StateLogs>,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
}

struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A moment, with its text.
pub(crate) fn stamp(time: SystemTime) -> Stamp {
    Stamp {
        time,
        text: crate::clock::format_time(time),
    }
}

/// Binds `--listen` and starts serving; `None` without `--listen`.
pub(crate) async fn start(
    args: &RunArgs,
    interval: Duration,
    quiet: bool,
) -> Result<Option<Listening>, Error> {
    let Some(listen) = &args.listen else {
        return Ok(None);
    };
    let address = parse_address(listen)?;
    let token = match &args.listen_token_file {
        Some(path) => Some(read_token(path)?),
        None if address.ip().is_loopback() => None,
        None => {
            return Err(Error::Setup(format!(
                "--listen {listen} is not a loopback address, so the page needs a token: pass \
                 --listen-token-file FILE (a file holding at least {} characters)",
                adsync_web::MIN_TOKEN_LEN
            )));
        }
    };
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|error| Error::Setup(format!("cannot listen on {address}: {error}")))?;
    let bound = listener
        .local_addr()
        .map_err(|error| Error::Setup(format!("cannot listen on {address}: {error}")))?;
    let logs = Arc::new(StateLogs::default());
    let (service, retries) = Service::new(interval, Arc::new(SystemClock), logs.clone());
    let options = WebOptions {
        token,
        read_only: args.listen_read_only,
    };
    // Built here so that a bad token is reported before the first cycle.
    let router = adsync_web::router(service.clone(), &options)
        .map_err(|error| Error::Setup(format!("cannot serve the page: {error}")))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(error) = adsync_web::serve(listener, router, shutdown).await {
            tracing::error!(%error, "the service page stopped");
        }
    });
    crate::output::note(
        quiet,
        &format!("serving the service page on http://{bound}/"),
    );
    Ok(Some(Listening {
        service,
        retries,
        logs,
        stop,
        server,
    }))
}

impl Listening {
    /// Stops serving: open connections get a moment to finish, then are dropped.
    pub(crate) async fn shut_down(self) {
        let _ = self.stop.send(());
        let mut server = self.server;
        if tokio::time::timeout(Duration::from_secs(2), &mut server)
            .await
            .is_err()
        {
            server.abort();
        }
    }
}

/// `127.0.0.1:8787`, `[::1]:8787`, `localhost:8787`, `0.0.0.0:8787`, or `8787` (loopback).
fn parse_address(text: &str) -> Result<SocketAddr, Error> {
    let text = text.trim();
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if let Ok(address) = text.parse::<SocketAddr>() {
        return Ok(address);
    }
    if let Some(port) = text
        .strip_prefix("localhost:")
        .and_then(|port| port.parse::<u16>().ok())
    {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    Err(Error::Setup(format!(
        "--listen `{text}` is not an address: write an IP address and a port \
         (`127.0.0.1:8787`, `[::1]:8787`, `0.0.0.0:8787`), `localhost:8787` or a port alone"
    )))
}

fn read_token(path: &Path) -> Result<Secret, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::DataFile {
        path: path.to_owned(),
        message: format!("cannot read the listen token file: {source}"),
    })?;
    let token = Secret::new(text.trim());
    if token.expose().chars().count() < adsync_web::MIN_TOKEN_LEN {
        return Err(Error::DataFile {
            path: path.to_owned(),
            message: format!(
                "the listen token must be at least {} characters long",
                adsync_web::MIN_TOKEN_LEN
            ),
        });
    }
    Ok(token)
}

/// What one cycle did, as the page shows it.
pub(crate) fn report(
    trace: Trace,
    result: &Result<crate::exit::ExitStatus, Error>,
    trigger: Trigger,
    started: SystemTime,
) -> RunReport {
    let finished = SystemTime::now();
    let outcome = match result {
        Ok(crate::exit::ExitStatus::Success) => RunOutcome::Success,
        Ok(crate::exit::ExitStatus::Refused) => RunOutcome::Refused,
        Ok(_) => RunOutcome::Incomplete,
        Err(_) => RunOutcome::Error,
    };
    let run_id = trace.record.as_ref().map_or_else(
        || format!("{}-{}", crate::clock::compact(started), std::process::id()),
        |record| record.run_id.clone(),
    );
    let mut report = RunReport {
        run_id,
        trigger,
        started: stamp(started),
        finished: stamp(finished),
        outcome,
        read: trace.read,
        apply_duration: trace.report.as_ref().map(|(_, time)| *time),
        plan: trace.plan.as_ref().map(plan_view),
        actions: Vec::new(),
        failures: Vec::new(),
        error: result.as_ref().err().map(run_error),
    };
    if let (Some(plan), Some((applied, _))) = (&trace.plan, &trace.report) {
        report.actions = action_counts(plan, applied);
        report.failures = failures(plan, applied);
    }
    if let Some(goto) = trace.goto {
        report.plan = Some(goto.plan);
        report.actions = goto.actions;
        report.failures = goto.failures;
        report.apply_duration = goto.apply_duration;
    }
    report
}

/// The page's counts: the summary line's phrases (`1 add-on change`), then `unchanged`.
fn plan_counts(summary: &Summary) -> Vec<(String, u64)> {
    crate::render::summary_counts(summary)
        .into_iter()
        .chain([("unchanged", summary.unchanged)])
        .map(|(label, count)| (label.to_owned(), count))
        .collect()
}

fn plan_view(plan: &Plan) -> PlanView {
    let summary = &plan.summary;
    let counts = plan_counts(summary);
    PlanView {
        counts,
        summary: crate::render::summary_line(summary),
        text: crate::render::plan_human(
            plan,
            crate::style::Paint::PLAIN,
            &crate::render::Listing::default(),
        ),
        blocked: plan.blocked.as_ref().map(|blocked| BlockedPlan {
            reason: blocked.reason.clone(),
            guards: blocked.guards.iter().map(|g| g.describe()).collect(),
            flags: {
                let mut flags: Vec<String> = blocked
                    .guards
                    .iter()
                    .map(|g| {
                        if g.is_budget() {
                            "--allow-destructive"
                        } else {
                            "--allow-empty-groups"
                        }
                        .to_owned()
                    })
                    .collect();
                flags.dedup();
                flags
            },
        }),
    }
}

fn action_counts(plan: &Plan, report: &adsync_core::execute::ApplyReport) -> Vec<ActionCount> {
    let mut counts = std::collections::BTreeMap::<(String, &str), u64>::new();
    for (action, result) in plan.actions.iter().zip(&report.results) {
        *counts
            .entry((action.kind().as_str().to_owned(), result.outcome.as_str()))
            .or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((kind, outcome), count)| ActionCount {
            kind,
            outcome: outcome.to_owned(),
            count,
        })
        .collect()
}

fn failures(plan: &Plan, report: &adsync_core::execute::ApplyReport) -> Vec<ActionFailure> {
    plan.actions
        .iter()
        .zip(&report.results)
        .filter(|(_, result)| result.outcome == Outcome::Failed)
        .map(|(action, result)| ActionFailure {
            category: result
                .category
                .unwrap_or(adsync_core::adapter::FailureCategory::Unknown),
            email: result.email.as_ref().map(|e| e.as_str().to_owned()),
            action_id: result.id.clone(),
            kind: action.kind().as_str().to_owned(),
            action: crate::render::action_line(action),
            code: result.code.clone(),
            message: crate::output::redact(result.message.as_deref().unwrap_or_default())
                .into_owned(),
        })
        .collect()
}

fn run_error(error: &Error) -> RunError {
    let kind = match error {
        Error::SourceRead(_) | Error::TargetRead(_) => ErrorKind::FailedRead,
        _ => ErrorKind::RunFailed,
    };
    let rendered = crate::error::render(error, crate::style::Paint::PLAIN);
    let rendered = crate::output::redact(&rendered);
    let message = match rendered.split_once("\nhint: ") {
        Some((message, _)) => message,
        None => &rendered,
    };
    RunError {
        kind,
        message: message
            .trim_end()
            .strip_prefix("error: ")
            .unwrap_or(message.trim_end())
            .to_owned(),
        hint: error
            .hint()
            .map(|hint| crate::output::redact(&hint).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let parsed = |text: &str| parse_address(text).ok().map(|a| a.to_string());
        assert_eq!(parsed("8787").as_deref(), Some("127.0.0.1:8787"));
        assert_eq!(parsed("localhost:9").as_deref(), Some("127.0.0.1:9"));
        assert_eq!(parsed("[::1]:80").as_deref(), Some("[::1]:80"));
        assert_eq!(parsed("0.0.0.0:8787").as_deref(), Some("0.0.0.0:8787"));
        for bad in [
            "",
            "host.example:80",
            "127.0.0.1",
            "127.0.0.1:99999",
            "localhost",
        ] {
            assert!(parse_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_service_page_counts_say_what_the_summary_line_says() {
        let summary = Summary {
            create_group: 1,
            set_mobile_license: 1,
            disable_user: 2,
            unchanged: 40,
            ..Default::default()
        };
        let labels: Vec<(String, u64)> = plan_counts(&summary);
        let expected = [
            ("group to create", 1),
            ("add-on change", 1),
            ("to disable", 2),
            ("unchanged", 40),
        ];
        assert_eq!(
            labels,
            expected.map(|(label, count)| (label.to_owned(), count))
        );
        assert_eq!(
            crate::render::summary_line(&summary),
            "1 group to create, 1 add-on change, 2 to disable, 40 unchanged"
        );
    }
}
