//! The service's published state: the CLI's run loop tells it when runs start and end, the
//! adapters count their requests into it, and the pages read it. Retry requests travel back to
//! the run loop over a channel.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use adsync_core::adapter::RequestObserver;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::metrics::Metrics;
use crate::view::{Clock, History, RunOutcome, RunReport, Stamp, Trigger};

/// A run in progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Running {
    /// When it started.
    pub started: Stamp,
    /// What started it.
    pub trigger: Trigger,
}

/// What the pages show, as of now.
#[derive(Clone, Debug, Default)]
pub(crate) struct Board {
    pub(crate) running: Option<Running>,
    pub(crate) retry_requested: bool,
    pub(crate) next_run: Option<Stamp>,
    /// Shared, so that each request's copy of the board is cheap whatever the plan's size.
    pub(crate) last: Option<Arc<RunReport>>,
    pub(crate) last_success: Option<Stamp>,
}

/// The answer to a Retry request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryAnswer {
    /// The run loop will start a run now.
    Started,
    /// A run is in progress (or already requested): never two at once.
    Busy,
    /// The run loop is gone (the service is stopping).
    Stopping,
}

/// The shared state between the run loop and the web server.
pub struct Service {
    board: Mutex<Board>,
    metrics: Mutex<Metrics>,
    retry: mpsc::Sender<()>,
    pub(crate) interval: Duration,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) history: Arc<dyn History>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// Where Retry requests arrive; the run loop owns it.
#[derive(Debug)]
pub struct RetryRequests(mpsc::Receiver<()>);

impl RetryRequests {
    /// Waits for the next Retry request; `None` once the service is dropped.
    pub async fn next(&mut self) -> Option<()> {
        self.0.recv().await
    }
}

impl Service {
    /// A service running every `interval`, reading its history from `history` and the time from
    /// `clock`; the run loop listens on the returned [`RetryRequests`].
    pub fn new(
        interval: Duration,
        clock: Arc<dyn Clock>,
        history: Arc<dyn History>,
    ) -> (Arc<Service>, RetryRequests) {
        // One slot: a second request while one waits is the same request.
        let (sender, receiver) = mpsc::channel(1);
        let service = Service {
            board: Mutex::new(Board::default()),
            metrics: Mutex::new(Metrics::default()),
            retry: sender,
            interval,
            clock,
            history,
        };
        (Arc::new(service), RetryRequests(receiver))
    }

    /// The last run recorded before the service started (from `last-run.json`), shown until a
    /// run of this service ends.
    pub fn restore(&self, last_success: Option<Stamp>) {
        self.metrics()
            .set_last_success(last_success.as_ref().map(|s| s.time));
        self.board().last_success = last_success;
    }

    /// A run starts.
    pub fn run_started(&self, running: Running) {
        let mut board = self.board();
        board.running = Some(running);
        board.retry_requested = false;
        board.next_run = None;
    }

    /// A run ended; the next one starts at `next_run`.
    pub fn run_finished(&self, report: RunReport, next_run: Stamp) {
        self.metrics().run_finished(&report);
        let mut board = self.board();
        if report.outcome == RunOutcome::Success {
            board.last_success = Some(report.finished.clone());
        }
        board.running = None;
        board.next_run = Some(next_run);
        board.last = Some(Arc::new(report));
    }

    /// Asks the run loop for a run now.
    pub fn request_retry(&self) -> RetryAnswer {
        let mut board = self.board();
        if board.running.is_some() || board.retry_requested {
            return RetryAnswer::Busy;
        }
        match self.retry.try_send(()) {
            Ok(()) => {
                board.retry_requested = true;
                RetryAnswer::Started
            }
            Err(mpsc::error::TrySendError::Full(())) => RetryAnswer::Busy,
            Err(mpsc::error::TrySendError::Closed(())) => RetryAnswer::Stopping,
        }
    }

    pub(crate) fn snapshot(&self) -> Board {
        self.board().clone()
    }

    pub(crate) fn metrics_text(&self) -> String {
        let running = self.board().running.is_some();
        self.metrics().render(running)
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.clock.now()
    }

    fn board(&self) -> MutexGuard<'_, Board> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.board
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn metrics(&self) -> MutexGuard<'_, Metrics> {
        self.metrics
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

impl RequestObserver for Service {
    fn exchanged(&self, api: &'static str, status: Option<u16>) {
        let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
        self.metrics().request(api, status);
    }
}
