//! The rows sections 5 to 7 add to the bench's table.
use super::server::{Checkpoint, Usage};
use super::{BASELINE_RUNS, DEVICES, SyncRun, TARGET_INGEST_RATIO, TARGET_PEAK_RSS_MB};
use crate::bench::report::{Table, ms, verdict};
use crate::bench::timing::Latencies;
use std::time::Duration;

// ---------------------------------------------------------------- reporting

impl SyncRun {
    pub(super) fn report(&self, table: &mut Table) {
        let events: u64 = self.ingest.pushes.iter().map(|p| p.events).sum();
        let ingest = events as f64 / self.ingest.push_phase.as_secs_f64();
        self.report_ingest(table, events, ingest);
        self.report_baseline(table, events, ingest);
        self.report_convergence(table);
    }

    pub(super) fn report_ingest(&self, table: &mut Table, events: u64, ingest: f64) {
        let pushes = &self.ingest.pushes;
        table.section(&format!(
            "5. Sync server ingest: the {DEVICES} doors' push requests ({} offline sales each, built beforehand), sent at once by {DEVICES} clients, server process on 127.0.0.1, FULL",
            self.sales
        ));
        table.row(
            "events stored / push phase",
            &format!("{events} / {}", secs(self.ingest.push_phase)),
            "",
        );
        table.row("events/s", &format!("{ingest:.0}"), "");
        table.row(
            "push requests / server commits (group commit)",
            &format!("{} / {}", pushes.len(), self.commits),
            "",
        );
        let commands: u64 = pushes.iter().map(|p| p.commands).sum();
        let per_push = |n: u64| n as f64 / pushes.len() as f64;
        let latencies = Latencies::new(pushes.iter().map(|p| p.latency).collect());
        table.row(
            &format!(
                "push request ({:.0} commands, {:.0} events) p50 / p99",
                per_push(commands),
                per_push(events)
            ),
            &format!(
                "{} / {}",
                ms(latencies.percentile(50.0)),
                ms(latencies.percentile(99.0))
            ),
            "",
        );
        let [start, pushed, _] = &self.ingest.checkpoints;
        cpu_row(table, "", "clients", start, pushed);
        writer_row(table, "", start, pushed, self.ingest.push_phase);
        replay_row(table, start, pushed, events);
    }

    pub(super) fn report_baseline(&self, table: &mut Table, events: u64, ingest: f64) {
        table.section(&format!(
            "6. Raw SQLite baseline: the same {events} rows into the server's schema, 1 tx per push request ({} tx), WAL, FULL",
            self.ingest.pushes.len()
        ));
        let raw = events as f64 / self.baseline.median().as_secs_f64();
        table.row(
            &format!("events/s, median of {BASELINE_RUNS}"),
            &format!("{raw:.0}"),
            "",
        );
        let ratio = ingest / raw;
        table.row(
            "server ingest (5) / baseline (events/s)",
            &format!("{ratio:.2}"),
            &verdict(
                ratio >= TARGET_INGEST_RATIO,
                &format!(">= {TARGET_INGEST_RATIO}"),
            ),
        );
        // The same pushes made by the devices themselves (section 7), whose own work
        // shares the 2 cores with the server here.
        let synced: u64 = self.sync.pushes.iter().map(|p| p.events).sum();
        let synced = synced as f64 / self.sync.push_phase.as_secs_f64();
        table.row(
            "devices pushing themselves (7's push phase) / baseline",
            &format!("{:.2} ({synced:.0} events/s)", synced / raw),
            "",
        );
        // CPU time, unlike wall time, hardly depends on what else the machine runs: the
        // server's whole process over the push phase (HTTP and JSON included) against the
        // baseline's inserts and commits.
        let [start, pushed, _] = &self.ingest.checkpoints;
        let server_cpu = start
            .server
            .zip(pushed.server)
            .map(|(from, to)| to.cpu.saturating_sub(from.cpu));
        let per_event =
            |cpu: Duration| format!("{:.1} µs", cpu.as_secs_f64() * 1e6 / events as f64);
        table.row(
            &format!("CPU per event: server (5) / baseline (median of {BASELINE_RUNS})"),
            &format!(
                "{} / {}",
                server_cpu.map_or_else(|| "n/a".into(), per_event),
                self.baseline_cpu
                    .as_ref()
                    .map_or_else(|| "n/a".into(), |cpu| per_event(cpu.median())),
            ),
            "",
        );
    }

    pub(super) fn report_convergence(&self, table: &mut Table) {
        table.section(&format!(
            "7. Convergence: that sync until all {DEVICES} devices hold all {} events (pulls begin once all pushed)",
            self.head
        ));
        let pull_phase = self.sync.converged - self.sync.push_phase;
        table.row(
            "all devices converged after",
            &secs(self.sync.converged),
            "",
        );
        table.row(
            "push phase / pull phase",
            &format!("{} / {}", secs(self.sync.push_phase), secs(pull_phase)),
            "",
        );
        let [start, pushed, end] = &self.sync.checkpoints;
        cpu_row(table, "push phase: ", "devices", start, pushed);
        writer_row(table, "push phase: ", start, pushed, self.sync.push_phase);
        let pulled = DEVICES as f64 * self.head as f64;
        table.row(
            "events pulled per second, all devices",
            &format!("{:.0}", pulled / pull_phase.as_secs_f64()),
            "",
        );
        cpu_row(table, "pull phase: ", "devices", pushed, end);
        let peak = |checkpoint: &Checkpoint| checkpoint.server.map(|u| u.peak_rss as f64 / 1e6);
        let target = format!("< {TARGET_PEAK_RSS_MB:.0} MB");
        let met = |mb: f64| verdict(mb < TARGET_PEAK_RSS_MB, &target);
        for (label, checkpoint) in [
            ("server peak RSS (VmHWM) after the push phase", pushed),
            ("server peak RSS (VmHWM) overall", end),
        ] {
            match peak(checkpoint) {
                Some(mb) => table.row(label, &format!("{mb:.0} MB"), &met(mb)),
                None => table.row(label, "n/a (no /proc)", &target),
            }
        }
    }
}

/// The CPU time the server and this process (the devices, or the clients) used between
/// two checkpoints.
pub(super) fn cpu_row(
    table: &mut Table,
    phase: &str,
    this: &str,
    from: &Checkpoint,
    to: &Checkpoint,
) {
    let used = |from: Option<Usage>, to: Option<Usage>| match (from, to) {
        (Some(from), Some(to)) => secs(to.cpu.saturating_sub(from.cpu)),
        _ => "n/a".into(),
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    table.row(
        &format!("{phase}CPU time of server / {this} ({cores} cores)"),
        &format!(
            "{} / {}",
            used(from.server, to.server),
            used(from.devices, to.devices)
        ),
        "",
    );
}

/// How much of `phase` the server's single writer spent in transactions.
pub(super) fn writer_row(
    table: &mut Table,
    label: &str,
    from: &Checkpoint,
    to: &Checkpoint,
    phase: Duration,
) {
    if let (Some(from), Some(to)) = (from.writer_busy, to.writer_busy) {
        let busy = to.saturating_sub(from);
        table.row(
            &format!("{label}writer busy (transactions and commits)"),
            &format!(
                "{} ({:.0} %)",
                secs(busy),
                100.0 * busy.as_secs_f64() / phase.as_secs_f64()
            ),
            "",
        );
    }
}

/// The writer's time replaying pushed commands (the server checking that each command
/// produces the events pushed), per event stored, next to its whole busy time per event.
pub(super) fn replay_row(table: &mut Table, from: &Checkpoint, to: &Checkpoint, events: u64) {
    let (Some(replay), Some(busy)) = (
        to.replay
            .zip(from.replay)
            .map(|(to, from)| to.saturating_sub(from)),
        to.writer_busy
            .zip(from.writer_busy)
            .map(|(to, from)| to.saturating_sub(from)),
    ) else {
        return;
    };
    let per_event = |d: Duration| d.as_secs_f64() * 1e6 / events.max(1) as f64;
    table.row(
        "replay of pushed commands / writer busy, per event",
        &format!(
            "{:.1} µs / {:.1} µs ({:.0} %)",
            per_event(replay),
            per_event(busy),
            100.0 * replay.as_secs_f64() / busy.as_secs_f64().max(1e-9)
        ),
        "",
    );
}

pub(super) fn secs(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}
