//! Counters and the head gauge, rendered in the Prometheus text format at `/metrics`.
//! Counts from the writer are added only once their transaction committed.
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// What one job did inside the writer's transaction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Stats {
    pub pushes: u64,
    pub commands_applied: u64,
    pub commands_rebased: u64,
    pub commands_rejected: u64,
    pub commands_known: u64,
    pub events_stored: u64,
    pub reconciliation_items: u64,
    pub allotments: u64,
    /// Time spent replaying pushed commands (DESIGN.md §7), in ns.
    pub replay_ns: u64,
    /// Commands whose replay ahead of the writer the writer took.
    pub replays_ahead: u64,
    /// Commands the writer replayed itself.
    pub replays_writer: u64,
}

#[derive(Debug, Default)]
pub struct Metrics {
    pushes: AtomicU64,
    commands_applied: AtomicU64,
    commands_rebased: AtomicU64,
    commands_rejected: AtomicU64,
    commands_known: AtomicU64,
    events_stored: AtomicU64,
    reconciliation_items: AtomicU64,
    allotments: AtomicU64,
    pulls: AtomicU64,
    batches: AtomicU64,
    batched_jobs: AtomicU64,
    /// Time the writer spent in transactions (running jobs and committing, and the WAL
    /// checkpoints it runs itself after a commit), in ns.
    writer_busy_ns: AtomicU64,
    /// Time spent replaying pushed commands, ahead of the writer and on it, in ns.
    replay_ns: AtomicU64,
    replays_ahead: AtomicU64,
    replays_writer: AtomicU64,
    /// Connections closed on arrival: the server had as many open as it takes.
    connections_refused: AtomicU64,
    /// Connections dropped because the client took nothing of a write for the write timeout.
    write_timeouts: AtomicU64,
    /// Responses by status class: 1xx … 5xx.
    responses: [AtomicU64; 5],
    head: AtomicI64,
}

impl Metrics {
    pub(crate) fn add(&self, stats: &Stats) {
        let add = |counter: &AtomicU64, n: u64| {
            if n > 0 {
                counter.fetch_add(n, Ordering::Relaxed);
            }
        };
        add(&self.pushes, stats.pushes);
        add(&self.commands_applied, stats.commands_applied);
        add(&self.commands_rebased, stats.commands_rebased);
        add(&self.commands_rejected, stats.commands_rejected);
        add(&self.commands_known, stats.commands_known);
        add(&self.events_stored, stats.events_stored);
        add(&self.reconciliation_items, stats.reconciliation_items);
        add(&self.allotments, stats.allotments);
        add(&self.replay_ns, stats.replay_ns);
        add(&self.replays_ahead, stats.replays_ahead);
        add(&self.replays_writer, stats.replays_writer);
    }

    pub(crate) fn pulled(&self) {
        self.pulls.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn committed_batch(&self, jobs: usize) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.batched_jobs.fetch_add(jobs as u64, Ordering::Relaxed);
    }

    /// The writer spent `took` on one transaction, from its start to the end of its commit.
    pub(crate) fn writer_busy(&self, took: Duration) {
        let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.writer_busy_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// Time spent replaying a request's commands ahead of the writer.
    pub(crate) fn replayed(&self, took: Duration) {
        let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.replay_ns.fetch_add(ns, Ordering::Relaxed);
    }

    pub(crate) fn responded(&self, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.responses[class].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn set_head(&self, head: i64) {
        self.head.store(head, Ordering::Relaxed);
    }

    /// A connection was closed on arrival (too many open).
    pub(crate) fn connection_refused(&self) {
        self.connections_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection was dropped: its client took nothing for the write timeout.
    pub(crate) fn write_timed_out(&self) {
        self.write_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of every metric.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut counter = |name: &str, help: &str, samples: &[(&str, u64)]| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        counter(
            "conference_sync_pushes_total",
            "Push requests the server took.",
            &[("", get(&self.pushes))],
        );
        counter(
            "conference_sync_commands_total",
            "Pushed commands by what the server did with them.",
            &[
                ("{status=\"applied\"}", get(&self.commands_applied)),
                ("{status=\"rebased\"}", get(&self.commands_rebased)),
                ("{status=\"rejected\"}", get(&self.commands_rejected)),
                ("{status=\"known\"}", get(&self.commands_known)),
            ],
        );
        counter(
            "conference_sync_events_stored_total",
            "Events appended to the global log.",
            &[("", get(&self.events_stored))],
        );
        counter(
            "conference_sync_reconciliation_items_total",
            "Items added to the back office's reconciliation queue.",
            &[("", get(&self.reconciliation_items))],
        );
        counter(
            "conference_sync_allotments_total",
            "Allotment requests granted (retries not counted).",
            &[("", get(&self.allotments))],
        );
        counter(
            "conference_sync_replays_total",
            "Pushed commands replayed, by where: ahead of the writer (on the request's thread) or by the writer itself (after an earlier command of the request was not applied, or for devices that do not say what they read).",
            &[
                ("{where=\"ahead\"}", get(&self.replays_ahead)),
                ("{where=\"writer\"}", get(&self.replays_writer)),
            ],
        );
        counter(
            "conference_sync_pulls_total",
            "Pull requests answered.",
            &[("", get(&self.pulls))],
        );
        counter(
            "conference_sync_connections_refused_total",
            "Connections closed on arrival because the server had --max-connections open.",
            &[("", get(&self.connections_refused))],
        );
        counter(
            "conference_sync_write_timeouts_total",
            "Connections dropped because the client took nothing the server wrote for --write-timeout (a stalled reader).",
            &[("", get(&self.write_timeouts))],
        );
        counter(
            "conference_sync_write_batches_total",
            "Transactions the writer committed (each holds one or more requests).",
            &[("", get(&self.batches))],
        );
        counter(
            "conference_sync_write_batch_jobs_total",
            "Requests committed by the writer, over all its transactions.",
            &[("", get(&self.batched_jobs))],
        );
        let classes: Vec<(String, u64)> = self
            .responses
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("{{class=\"{}xx\"}}", i + 1), get(c)))
            .collect();
        let classes: Vec<(&str, u64)> = classes.iter().map(|(l, v)| (l.as_str(), *v)).collect();
        counter(
            "conference_sync_http_responses_total",
            "HTTP responses by status class.",
            &classes,
        );
        for (name, help, ns) in [
            (
                "conference_sync_writer_busy_seconds_total",
                "Time the single writer spent in transactions (jobs, commits and its own WAL checkpoints); near 1 s per second means writes queue.",
                &self.writer_busy_ns,
            ),
            (
                "conference_sync_replay_seconds_total",
                "Time spent replaying pushed commands with the domain code to check their events: ahead of the writer on the request's own thread, and on the writer for what it must replay itself.",
                &self.replay_ns,
            ),
        ] {
            let seconds = Duration::from_nanos(get(ns)).as_secs_f64();
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {seconds:.6}");
        }
        let _ = writeln!(
            out,
            "# HELP conference_sync_head_position The newest position in the global log."
        );
        let _ = writeln!(out, "# TYPE conference_sync_head_position gauge");
        let _ = writeln!(
            out,
            "conference_sync_head_position {}",
            self.head.load(Ordering::Relaxed)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_the_head_gauge() {
        let metrics = Metrics::default();
        metrics.add(&Stats {
            pushes: 2,
            commands_applied: 3,
            events_stored: 7,
            replay_ns: 2_000_000,
            ..Stats::default()
        });
        metrics.responded(200);
        metrics.responded(404);
        metrics.set_head(7);
        metrics.writer_busy(Duration::from_millis(1500));
        metrics.writer_busy(Duration::from_micros(250));
        let text = metrics.render();
        assert!(text.contains("conference_sync_pushes_total 2"), "{text}");
        assert!(text.contains("conference_sync_commands_total{status=\"applied\"} 3"));
        assert!(text.contains("conference_sync_events_stored_total 7"));
        assert!(text.contains("conference_sync_http_responses_total{class=\"2xx\"} 1"));
        assert!(text.contains("conference_sync_http_responses_total{class=\"4xx\"} 1"));
        assert!(text.contains("# TYPE conference_sync_head_position gauge"));
        assert!(text.contains("conference_sync_head_position 7"));
        assert!(text.contains("conference_sync_writer_busy_seconds_total 1.500250"));
        assert!(
            text.contains("conference_sync_replay_seconds_total 0.002000"),
            "{text}"
        );
    }
}
