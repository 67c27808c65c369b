//! Sections 5 to 7 of `cargo xtask bench`: the sync server with 20 devices at once.
//!
//! The `conference-sync` release binary runs as a child process on 127.0.0.1, so its CPU
//! time and peak memory are its own, with its SQLite file next to the devices' stores. An
//! organizer creates a conference; each of 20 doors takes an allotment while online, then
//! sells offline (these stores are built with `synchronous=OFF`, then reopened with
//! `FULL`). Then:
//! 5. ingest: the server's own rate. Each door's push requests are built from its store
//!    exactly as its sync would send them (`PUSH_BATCH` commands each), before the clock
//!    starts; then 20 clients, one per door with its own connection and one request in
//!    flight, send them all at once to a second server process on a copy of the server's
//!    file. The events stored over the wall time until the last answer is the ingest. On
//!    this 2-core machine the devices would otherwise share the cores with the server
//!    (their own store work costs about as much CPU as the server's), which real doors on
//!    their own laptops do not; that run is section 7, and its push phase is shown too;
//! 6. the raw baseline: the very rows the server stored in 5, written again into a bare
//!    SQLite file with the server's schema, one transaction per push request of the same
//!    size (WAL, `synchronous=FULL`), right after 5 with that server stopped;
//! 7. convergence: every door syncs once, all starting together, each on its own thread
//!    with its own `App` and `HttpTransport` against the first server: the time until
//!    every device holds every event of the server's log, all confirmed, and the server's
//!    peak RSS (`VmHWM`). A device's first pull waits until every device has pushed, so
//!    the push phase is timed on its own.
//!
//! The module is split by step: `server` (the server process and what it reports),
//! `setup` (the organizer and the doors with their offline sales), `workloads` (sections
//! 5 to 7 and the raw baseline), `postgres` (section 9) and `report` (their rows).
mod postgres;
mod report;
mod server;
mod setup;
mod workloads;

pub(super) use postgres::run_postgres;

use super::timing::Latencies;
use super::{Table, progress, release_binary};
use anyhow::Result;
use postgres::Ingest;
use server::ServerProcess;
use setup::{copy_database, organizer, prepare_doors, push_requests};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;
use workloads::{SyncAll, baseline, check_converged, push_at_once, stored_rows, sync_all};

/// Devices that sync at once.
const DEVICES: usize = 20;
const SLUG: &str = "sync";
/// The server's ingest against the raw baseline, at least.
const TARGET_INGEST_RATIO: f64 = 0.5;
/// The server's peak resident memory, below (in MB of 10^6 bytes).
const TARGET_PEAK_RSS_MB: f64 = 150.0;
/// Runs of the raw baseline (the median counts).
const BASELINE_RUNS: usize = 3;
/// How often long phases print where they are.
const TICK: Duration = Duration::from_secs(5);
/// The server's own schema: the baseline writes the same `events` table, indexes and all.
const SERVER_SCHEMA: &str = include_str!("../../../migrations/server/0001_initial.sql");
const EVENT_COLUMNS: &str = "stream_key, stream_version, conference_id, event_type, schema_version, payload, command_id, device_id, recorded_at";

/// What section 9 compares PostgreSQL with: the SQLite server of section 7 (the devices' own
/// sync).
pub(super) struct SqliteServer {
    binary: PathBuf,
    ingest: Ingest,
}

/// Builds and starts the server, runs the sync, and adds sections 5 to 7 to `table`.
pub(super) fn run(dir: &Path, sales: u64, table: &mut Table) -> Result<Option<SqliteServer>> {
    progress(format_args!("5-7/9 sync server: building conference-sync"));
    let binary = match release_binary("conference-sync-server", "conference-sync") {
        Ok(binary) => binary,
        Err(note) => {
            table.section(&format!("5-7. Sync server: {note}"));
            return Ok(None);
        }
    };
    let sqlite = measure(dir, &binary, sales)?;
    sqlite.report(table);
    Ok(Some(SqliteServer {
        binary,
        ingest: Ingest::of(&sqlite.sync),
    }))
}

/// Everything sections 5 to 7 print.
struct SyncRun {
    sales: u64,
    /// Section 5: the doors' push requests sent by plain clients.
    ingest: SyncAll,
    /// Transactions the ingest server committed.
    commits: i64,
    baseline: Latencies,
    /// The CPU time of each baseline run (this process), when there is `/proc`.
    baseline_cpu: Option<Latencies>,
    /// Section 7: the devices syncing themselves.
    sync: SyncAll,
    head: i64,
}

fn measure(dir: &Path, binary: &Path, sales: u64) -> Result<SyncRun> {
    let database = dir.join("server.db");
    let servers = [ServerProcess::start(
        binary,
        database.as_os_str(),
        &dir.join("server.log"),
    )?];
    let plan = organizer(dir, &servers[0], DEVICES as u64 * sales)?;
    let doors = prepare_doors(dir, &servers, &plan, sales)?;

    let copy = dir.join("ingest.db");
    copy_database(&database, &copy)?;
    let requests = push_requests(&doors)?;
    let ingest_server = ServerProcess::start(binary, copy.as_os_str(), &dir.join("ingest.log"))?;
    let before = ingest_server.metrics()?;
    let ingest = push_at_once(&ingest_server, &doors, requests)?;
    let after = ingest_server.metrics()?;
    drop(ingest_server);
    let rows = stored_rows(&copy, before.head)?;
    let (baseline, baseline_cpu) = baseline(dir, &rows, &ingest.pushes)?;
    drop(rows);

    let sync = sync_all(&servers, &doors)?;
    let head = servers[0].metrics()?.head;
    check_converged(&doors, head)?;
    Ok(SyncRun {
        sales,
        ingest,
        commits: after.commits - before.commits,
        baseline,
        baseline_cpu,
        sync,
        head,
    })
}

// ---------------------------------------------------------------- progress

/// Runs `work`, printing `status()` to stderr every few seconds until it returns.
fn with_ticker<T>(status: impl Fn() -> String + Send, work: impl FnOnce() -> T) -> T {
    std::thread::scope(|s| {
        let (done, finished) = mpsc::channel::<()>();
        s.spawn(move || {
            while finished.recv_timeout(TICK) == Err(mpsc::RecvTimeoutError::Timeout) {
                progress(format_args!("{}", status()));
            }
        });
        let out = work();
        drop(done);
        out
    })
}
