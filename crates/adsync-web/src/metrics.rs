//! The service's metrics and their Prometheus text exposition (format 0.0.4): `# HELP` and
//! `# TYPE` once per family, then its samples; label values escaped (`\\`, `\"`, `\n`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::view::{RunOutcome, RunReport};

/// Upper bounds (seconds) of the duration histograms: a small tenant reads in a second, a
/// large one in many minutes.
const BUCKETS: [f64; 11] = [
    0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0,
];

/// A histogram of durations.
#[derive(Clone, Debug, Default)]
struct Histogram {
    /// Observations at or below each of [`BUCKETS`].
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, duration: Duration) {
        let seconds = duration.as_secs_f64();
        for (bucket, bound) in self.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

/// Counters and gauges since the service started.
#[derive(Clone, Debug, Default)]
pub(crate) struct Metrics {
    runs: BTreeMap<&'static str, u64>,
    actions: BTreeMap<(String, String), u64>,
    requests: BTreeMap<(&'static str, String), u64>,
    read: Histogram,
    apply: Histogram,
    last_success: Option<SystemTime>,
    last_run: Option<SystemTime>,
    last_failures: BTreeMap<&'static str, u64>,
}

impl Metrics {
    /// Counts a finished run.
    pub(crate) fn run_finished(&mut self, run: &RunReport) {
        *self.runs.entry(run.outcome.as_str()).or_default() += 1;
        for count in &run.actions {
            *self
                .actions
                .entry((count.kind.clone(), count.outcome.clone()))
                .or_default() += count.count;
        }
        if let Some(read) = &run.read {
            self.read.observe(read.duration);
        }
        if let Some(apply) = run.apply_duration {
            self.apply.observe(apply);
        }
        self.last_run = Some(run.finished.time);
        if run.outcome == RunOutcome::Success {
            self.last_success = Some(run.finished.time);
        }
        self.last_failures = crate::banner::banners(run)
            .into_iter()
            .map(|banner| (banner.slug, banner.count as u64))
            .collect();
    }

    /// Counts one HTTP exchange with a remote API (`status` is the HTTP status, or `error` when
    /// no answer came).
    pub(crate) fn request(&mut self, api: &'static str, status: String) {
        *self.requests.entry((api, status)).or_default() += 1;
    }

    /// Seeds the last success from the state directory when the service starts.
    pub(crate) fn set_last_success(&mut self, time: Option<SystemTime>) {
        if self.last_success.is_none() {
            self.last_success = time;
        }
    }

    /// The exposition text.
    pub(crate) fn render(&self, running: bool) -> String {
        let mut out = String::new();
        family(
            &mut out,
            "adsync_runs_total",
            "counter",
            "Runs since the service started, by outcome.",
        );
        for outcome in RunOutcome::ALL {
            let value = self.runs.get(outcome.as_str()).copied().unwrap_or(0);
            sample(
                &mut out,
                "adsync_runs_total",
                &[("outcome", outcome.as_str())],
                value as f64,
            );
        }
        family(
            &mut out,
            "adsync_actions_total",
            "counter",
            "Actions attempted since the service started, by kind and outcome.",
        );
        for ((kind, outcome), value) in &self.actions {
            sample(
                &mut out,
                "adsync_actions_total",
                &[("kind", kind), ("outcome", outcome)],
                *value as f64,
            );
        }
        family(
            &mut out,
            "adsync_requests_total",
            "counter",
            "HTTP requests to Microsoft Graph and LogMeIn Rescue, by API and HTTP status (error: no answer).",
        );
        for ((api, status), value) in &self.requests {
            sample(
                &mut out,
                "adsync_requests_total",
                &[("api", api), ("status", status)],
                *value as f64,
            );
        }
        histogram(
            &mut out,
            "adsync_read_duration_seconds",
            "Time a run spent reading the directory and Rescue.",
            &self.read,
        );
        histogram(
            &mut out,
            "adsync_apply_duration_seconds",
            "Time a run spent applying its plan.",
            &self.apply,
        );
        self.render_gauges(&mut out, running);
        out
    }

    fn render_gauges(&self, out: &mut String, running: bool) {
        let gauges = [
            (
                "adsync_last_success_timestamp_seconds",
                "When a run last succeeded (Unix time; 0: never).",
                self.last_success,
            ),
            (
                "adsync_last_run_timestamp_seconds",
                "When the last run ended (Unix time; 0: none yet).",
                self.last_run,
            ),
        ];
        for (name, help, time) in gauges {
            family(out, name, "gauge", help);
            sample(out, name, &[], time.map_or(0.0, unix_seconds));
        }
        family(
            out,
            "adsync_run_in_progress",
            "gauge",
            "1 while a run is in progress.",
        );
        sample(
            out,
            "adsync_run_in_progress",
            &[],
            if running { 1.0 } else { 0.0 },
        );
        family(
            out,
            "adsync_last_run_failures",
            "gauge",
            "Failures of the last run, by banner (failure category, blocked, failed_read, run_failed).",
        );
        for (banner, value) in &self.last_failures {
            sample(
                out,
                "adsync_last_run_failures",
                &[("banner", banner)],
                *value as f64,
            );
        }
    }
}

fn unix_seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (label, value)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{label}=\"{}\"", escape_label(value));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {}", number(value));
}

fn histogram(out: &mut String, name: &str, help: &str, histogram: &Histogram) {
    family(out, name, "histogram", help);
    let bucket = format!("{name}_bucket");
    for (bound, count) in BUCKETS.iter().zip(histogram.buckets) {
        sample(out, &bucket, &[("le", &number(*bound))], count as f64);
    }
    sample(out, &bucket, &[("le", "+Inf")], histogram.count as f64);
    sample(out, &format!("{name}_sum"), &[], histogram.sum);
    sample(out, &format!("{name}_count"), &[], histogram.count as f64);
}

/// A sample value: integers without a fraction, the rest as Rust prints them (both are Go
/// `ParseFloat` syntax, which the format uses).
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn escape_help(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_and_numbers_are_plain() {
        let mut out = String::new();
        sample(&mut out, "m", &[("l", "a\"b\\c\nd")], 3.0);
        assert_eq!(out, "m{l=\"a\\\"b\\\\c\\nd\"} 3\n");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(1_700_000_000.5), "1700000000.5");
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut h = Histogram::default();
        h.observe(Duration::from_millis(700));
        h.observe(Duration::from_secs(45));
        h.observe(Duration::from_secs(4000));
        assert_eq!(h.buckets[0], 0);
        assert_eq!(h.buckets[1], 1);
        assert_eq!(h.buckets[6], 2);
        assert_eq!(h.buckets[10], 2);
        assert_eq!(h.count, 3);
    }
}
