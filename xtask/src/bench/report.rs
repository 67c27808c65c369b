//! The bench's table: section headings followed by aligned rows of measurement, result
//! and target, and the rows each local measurement adds to it.
use super::local_workloads::{DoorSales, LargeStore, Rebuild, StreamCost};
use super::timing::Latencies;
use super::{
    REBUILD_RUNS, STARTUP_RUNS, TARGET_BASELINE_RATIO, TARGET_REBUILD_RATIO, TARGET_STARTUP,
    TARGET_STREAM_RATIO,
};
use std::time::Duration;

impl DoorSales {
    pub(super) fn report(&self, table: &mut Table) {
        table.section(&format!(
            "1. Door sales: {} x App::sell (registrant, cash), synchronous=FULL",
            self.app.len()
        ));
        throughput_rows(table, &self.app);
        table.row(
            "events per sale",
            &format!("{:.1}", self.events_per_sale),
            "",
        );
        table.section(&format!(
            "2. Raw SQLite baseline: 1 tx = {} event rows + 1 command row, WAL, synchronous=FULL",
            self.raw_events_per_sale
        ));
        throughput_rows(table, &self.raw);
        let ratio = self.app.per_second() / self.raw.per_second();
        table.row(
            "app / baseline (sales/s)",
            &format!("{ratio:.2}"),
            &verdict(
                ratio >= TARGET_BASELINE_RATIO,
                &format!(">= {TARGET_BASELINE_RATIO}"),
            ),
        );
    }
}

fn throughput_rows(table: &mut Table, latencies: &Latencies) {
    table.row("sales/s", &format!("{:.0}", latencies.per_second()), "");
    table.row(
        "latency p50 / p99",
        &format!(
            "{} / {}",
            ms(latencies.percentile(50.0)),
            ms(latencies.percentile(99.0))
        ),
        "",
    );
}

impl StreamCost {
    pub(super) fn report(&self, table: &mut Table) {
        table.section("3. assign_registrant (one event) against the order's stream length, FULL");
        for sample in [&self.short, &self.long] {
            table.row(
                &format!(
                    "median, {} from {} events ({} calls)",
                    sample.order,
                    sample.prior_events,
                    sample.latencies.len()
                ),
                &ms(sample.latencies.median()),
                "",
            );
        }
        let ratio = self.long.latencies.median().as_secs_f64()
            / self.short.latencies.median().as_secs_f64();
        table.row(
            "long / fresh",
            &format!("{ratio:.2}"),
            &verdict(
                ratio <= TARGET_STREAM_RATIO,
                &format!("<= {TARGET_STREAM_RATIO}"),
            ),
        );
    }
}

impl LargeStore {
    pub(super) fn report(&self, table: &mut Table) {
        table.section(&format!(
            "4. Large store: {} events (built with synchronous=OFF in {:.0} s)",
            self.events,
            self.build.as_secs_f64()
        ));
        let target = format!("< {} ms", TARGET_STARTUP.as_millis());
        startup_row(
            table,
            &format!("App::open + seats, best / median of {STARTUP_RUNS}"),
            &self.in_process,
            &target,
        );
        let label = format!("`conference seats` process, best / median of {STARTUP_RUNS}");
        match &self.cli {
            Ok(latencies) => startup_row(table, &label, latencies, &target),
            Err(note) => table.row(&label, note, ""),
        }
    }
}

fn startup_row(table: &mut Table, label: &str, latencies: &Latencies, target: &str) {
    table.row(
        label,
        &format!("{} / {}", ms(latencies.best()), ms(latencies.median())),
        &verdict(latencies.median() < TARGET_STARTUP, target),
    );
}

impl Rebuild {
    pub(super) fn report(&self, table: &mut Table) {
        let rate = |l: &Latencies| self.events as f64 / l.median().as_secs_f64();
        table.section(&format!(
            "8. Rebuild every read model from the log: {} events, median of {REBUILD_RUNS}",
            self.events
        ));
        table.row(
            "rebuild (Store::rebuild_read_models), events/s",
            &format!("{:.0}", rate(&self.rebuild)),
            "",
        );
        table.row(
            "raw read + decode of the same rows, events/s",
            &format!("{:.0}", rate(&self.raw)),
            "",
        );
        let ratio = rate(&self.rebuild) / rate(&self.raw);
        table.row(
            "rebuild / raw",
            &format!("{ratio:.2}"),
            &verdict(
                ratio >= TARGET_REBUILD_RATIO,
                &format!(">= {TARGET_REBUILD_RATIO}"),
            ),
        );
    }
}

pub(super) fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

pub(super) fn verdict(met: bool, target: &str) -> String {
    format!("{target} {}", if met { "(met)" } else { "(MISSED)" })
}

// ---------------------------------------------------------------- the table

/// Section headings, each followed by aligned rows of measurement, result and target.
#[derive(Default)]
pub(super) struct Table {
    lines: Vec<Line>,
}

enum Line {
    Section(String),
    Row([String; 3]),
}

const HEADER: [&str; 3] = ["Measurement", "Result", "Target"];
const INDENT: &str = "  ";

impl Table {
    pub(super) fn section(&mut self, title: &str) {
        self.lines.push(Line::Section(title.into()));
    }

    pub(super) fn row(&mut self, measurement: &str, result: &str, target: &str) {
        self.lines.push(Line::Row([
            measurement.into(),
            result.into(),
            target.into(),
        ]));
    }

    fn widths(&self) -> [usize; 3] {
        let mut widths = HEADER.map(str::len);
        widths[0] = widths[0].saturating_sub(INDENT.len());
        for line in &self.lines {
            if let Line::Row(cells) = line {
                for (width, cell) in widths.iter_mut().zip(cells) {
                    *width = (*width).max(cell.chars().count());
                }
            }
        }
        widths
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [w0, w1, w2] = self.widths();
        let name = w0 + INDENT.len();
        let [h0, h1, h2] = HEADER;
        writeln!(f, "{h0:<name$}  {h1:>w1$}  {h2}")?;
        writeln!(f, "{}", "-".repeat(name + w1 + w2 + 4))?;
        for line in &self.lines {
            match line {
                Line::Section(title) => writeln!(f, "{title}")?,
                Line::Row([measurement, result, target]) => {
                    let row = format!("{INDENT}{measurement:<w0$}  {result:>w1$}  {target}");
                    writeln!(f, "{}", row.trim_end())?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_line_up() {
        let mut table = Table::default();
        table.section("1. Section");
        table.row("short", "1", "");
        table.row("a longer one", "123.45 ms", "< 200 ms (met)");
        let expected = "\
Measurement        Result  Target
-----------------------------------------
1. Section
  short                 1
  a longer one  123.45 ms  < 200 ms (met)
";
        assert_eq!(table.to_string(), expected);
    }
}
