//! Section 9: the same devices and sales on PostgreSQL, with one and then two server
//! instances on one database, next to the SQLite server of section 7.
use super::report::secs;
use super::server::ServerProcess;
use super::setup::{organizer, prepare_doors};
use super::workloads::{SyncAll, check_converged, sync_all};
use super::{DEVICES, SqliteServer};
use crate::bench::progress;
use crate::bench::report::Table;
use anyhow::{Context, Result, ensure};
use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

// ---------------------------------------------------------------- 9. on PostgreSQL

/// How many server instances section 9 runs on one PostgreSQL database, in turn.
pub(super) const POSTGRES_INSTANCES: [usize; 2] = [1, 2];

/// The ingest of one run: events pushed over the push phase, and what it cost the server
/// processes.
pub(super) struct Ingest {
    pub(super) events: u64,
    pub(super) push_phase: Duration,
    pub(super) converged: Duration,
    pub(super) server_cpu: Option<Duration>,
}

impl Ingest {
    pub(super) fn of(sync: &SyncAll) -> Self {
        let [start, pushed, _] = &sync.checkpoints;
        Self {
            events: sync.pushes.iter().map(|p| p.events).sum(),
            push_phase: sync.push_phase,
            converged: sync.converged,
            server_cpu: start
                .server
                .zip(pushed.server)
                .map(|(from, to)| to.cpu.saturating_sub(from.cpu)),
        }
    }

    pub(super) fn per_second(&self) -> f64 {
        self.events as f64 / self.push_phase.as_secs_f64()
    }

    pub(super) fn cpu_per_event(&self) -> String {
        self.server_cpu.map_or_else(
            || "n/a".into(),
            |cpu| format!("{:.1} µs", cpu.as_secs_f64() * 1e6 / self.events as f64),
        )
    }
}

/// Section 9: the same 20 devices and sales on PostgreSQL, with 1 and then 2 server
/// instances on one database (doors split between them), next to the SQLite server.
pub(in crate::bench) fn run_postgres(
    dir: &Path,
    sqlite: &SqliteServer,
    sales: u64,
    table: &mut Table,
) -> Result<()> {
    progress(format_args!("9/9 PostgreSQL: starting a database"));
    let database = crate::postgres::test_database()?;
    progress(format_args!("9/9 PostgreSQL: {}", database.describe()));
    let mut runs = Vec::new();
    for instances in POSTGRES_INSTANCES {
        let name = format!("conference_bench_{instances}_{}", std::process::id());
        psql(database.url(), &format!("DROP DATABASE IF EXISTS {name}"))?;
        psql(database.url(), &format!("CREATE DATABASE {name}"))?;
        let url = with_database_name(database.url(), &name);
        let run_dir = dir.join(format!("postgres-{instances}"));
        std::fs::create_dir_all(&run_dir)?;
        let measured = measure_on_postgres(&run_dir, &sqlite.binary, &url, instances, sales);
        psql(
            database.url(),
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )?;
        runs.push((instances, measured?));
    }
    table.section(&format!(
        "9. Sync server on PostgreSQL ({}): {DEVICES} devices push {sales} offline sales each at once (their own sync, as in section 7), next to the SQLite server of section 7",
        database.describe()
    ));
    let row = |table: &mut Table, label: &str, ingest: &Ingest| {
        table.row(
            &format!("{label}: events/s (push phase), server CPU per event"),
            &format!(
                "{:.0} ({}), {}",
                ingest.per_second(),
                secs(ingest.push_phase),
                ingest.cpu_per_event()
            ),
            "",
        );
    };
    row(table, "SQLite, 1 instance", &sqlite.ingest);
    for (instances, ingest) in &runs {
        row(
            table,
            &format!(
                "PostgreSQL, {instances} instance{}",
                if *instances == 1 { "" } else { "s" }
            ),
            ingest,
        );
    }
    let converged: Vec<String> = std::iter::once(&sqlite.ingest)
        .chain(runs.iter().map(|(_, ingest)| ingest))
        .map(|ingest| secs(ingest.converged))
        .collect();
    table.row(
        "all devices converged after: SQLite / PostgreSQL 1 / 2 instances",
        &converged.join(" / "),
        "",
    );
    Ok(())
}

pub(super) fn measure_on_postgres(
    dir: &Path,
    binary: &Path,
    url: &str,
    instances: usize,
    sales: u64,
) -> Result<Ingest> {
    progress(format_args!(
        "9/9 PostgreSQL: {instances} server instance(s) on one database"
    ));
    let servers = (0..instances)
        .map(|n| {
            ServerProcess::start(
                binary,
                OsStr::new(url),
                &dir.join(format!("server-{n}.log")),
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let plan = organizer(dir, &servers[0], DEVICES as u64 * sales)?;
    let doors = prepare_doors(dir, &servers, &plan, sales)?;
    let sync = sync_all(&servers, &doors)?;
    // The head as the first instance heard it from every writer.
    let head = servers[0].metrics()?.head;
    check_converged(&doors, head)?;
    Ok(Ingest::of(&sync))
}

/// Runs one statement with `psql` (it comes with Debian's PostgreSQL).
pub(super) fn psql(url: &str, sql: &str) -> Result<()> {
    let output = Command::new("psql")
        .args([
            "--no-psqlrc",
            "--quiet",
            "-v",
            "ON_ERROR_STOP=1",
            url,
            "-c",
            sql,
        ])
        .output()
        .context("could not run psql")?;
    ensure!(
        output.status.success(),
        "psql `{sql}` failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}

/// `url` naming database `name` instead of its own.
pub(super) fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = base[scheme_end..]
        .find('/')
        .map_or(base, |slash| &base[..scheme_end + slash]);
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}
