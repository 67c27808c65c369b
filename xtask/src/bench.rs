//! `cargo xtask bench`: how fast the box office is on this machine's disk.
//!
//! Eight sections, all on stores in one folder (so on one disk), printed as one table:
//! 1. door sales through [`App::sell`](conference_app::App::sell) on a store with
//!    `synchronous=FULL`;
//! 2. as many durable transactions on a bare SQLite file, each writing as many event rows
//!    as a sale does, to show what the disk allows;
//! 3. the cost of a command on a fresh order stream against one with ~1000 events;
//! 4. the startup of a store with a million events: in-process and as the CLI process;
//! 5. to 7. the sync server with 20 devices syncing offline sales at once: its ingest rate,
//!    a raw baseline for it, the time until every device has every event, and its peak
//!    memory (see [`sync_server`]);
//! 8. rebuilding every read model from the log next to reading and decoding the same events.
//!
//! Measurements compared with each other (1 with 2, the two stream lengths of 3) run
//! interleaved, taking turns at going first, so both see the same disk, caches and
//! background load.
mod local_workloads;
mod report;
mod setup;
mod sync_server;
mod timing;

use anyhow::{Context, Result};
use local_workloads::{door_sales, large_store, rebuild, stream_cost};
use report::Table;
use std::path::PathBuf;
use std::time::Duration;

/// A seat type holds at most this many seats.
const SEATS_PER_TYPE: u64 = 100_000;
/// Throughput of the app against the raw baseline, at least.
const TARGET_BASELINE_RATIO: f64 = 0.5;
/// A command on a ~1000-event stream against a fresh one, at most.
const TARGET_STREAM_RATIO: f64 = 1.1;
/// Opening the large store and showing the seats, at most.
const TARGET_STARTUP: Duration = Duration::from_millis(200);
/// Timed commands on each stream length.
const STREAM_SAMPLES: u64 = 200;
/// Events appended to the long stream before sampling it.
const LONG_STREAM_EVENTS: u64 = 1000;
/// Fresh opens of the large store.
const STARTUP_RUNS: usize = 5;
/// Sales between progress lines while building the large store.
const PROGRESS_EVERY: u64 = 10_000;
/// Rebuilding the read models against reading and decoding the same events, at least.
const TARGET_REBUILD_RATIO: f64 = 0.5;
/// Timed rebuilds (and as many raw reads), taking turns.
const REBUILD_RUNS: u64 = 3;
/// Events read per page by the raw read-and-decode baseline.
const RAW_PAGE: usize = 10_000;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Door sales to time (and transactions in the raw baseline).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    sales: u64,
    /// Events in the large store.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    big_events: u64,
    /// Skip the large store (it takes minutes to build).
    #[arg(long)]
    skip_big: bool,
    /// Offline door sales each of the 20 devices makes before they sync at once.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    sync_sales: u64,
    /// Skip the sync server sections (they build the server and take a minute or more).
    #[arg(long)]
    skip_sync: bool,
    /// Skip the sync server on PostgreSQL (section 9; it starts a throwaway cluster, or
    /// uses CONFERENCE_SYNC_TEST_POSTGRES).
    #[arg(long)]
    skip_postgres: bool,
    /// Events in the store whose read models section 8 rebuilds.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    rebuild_events: u64,
    /// Folder for the throwaway stores (default: the target folder).
    #[arg(long, value_name = "PATH")]
    dir: Option<PathBuf>,
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let parent = match &args.dir {
        Some(dir) => dir.clone(),
        None => target_dir()?,
    };
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("could not create {}", parent.display()))?;
    let dir = tempfile::Builder::new()
        .prefix("xtask-bench-")
        .tempdir_in(&parent)
        .with_context(|| format!("could not create a folder in {}", parent.display()))?;
    progress(format_args!("stores in {}", dir.path().display()));

    let mut table = Table::default();
    let door = door_sales(dir.path(), args.sales)?;
    door.report(&mut table);
    stream_cost(&dir.path().join("stream.db"))?.report(&mut table);
    if args.skip_big {
        table.section("4. Large store: skipped (--skip-big)");
    } else {
        let big = large_store(
            &dir.path().join("big.db"),
            args.big_events,
            door.events_per_sale,
        )?;
        big.report(&mut table);
    }
    let sqlite_server = if args.skip_sync {
        table.section("5-7. Sync server: skipped (--skip-sync)");
        None
    } else {
        sync_server::run(dir.path(), args.sync_sales, &mut table)?
    };
    rebuild(
        &dir.path().join("rebuild.db"),
        args.rebuild_events,
        door.events_per_sale,
    )?
    .report(&mut table);
    match (&sqlite_server, args.skip_postgres) {
        (_, true) => table.section("9. Sync server on PostgreSQL: skipped (--skip-postgres)"),
        (None, false) => table.section("9. Sync server on PostgreSQL: skipped with sections 5-7"),
        (Some(sqlite), false) => {
            sync_server::run_postgres(dir.path(), sqlite, args.sync_sales, &mut table)?;
        }
    }
    println!(
        "cargo xtask bench: stores in {} (one disk, removed afterwards)\n",
        dir.path().display()
    );
    print!("{table}");
    Ok(())
}

fn progress(message: std::fmt::Arguments<'_>) {
    eprintln!("bench: {message}");
}

/// The target folder this xtask was built into (it runs as `<target>/release/xtask`).
fn target_dir() -> Result<PathBuf> {
    Ok(release_dir()?
        .parent()
        .context("the xtask binary has no target folder")?
        .to_path_buf())
}

fn release_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("could not find the xtask binary")?;
    Ok(exe
        .parent()
        .context("the xtask binary has no folder")?
        .to_path_buf())
}

/// Builds `package` (a no-op when it is up to date) next to this xtask and returns its
/// binary `name`; a note for the table when it cannot.
fn release_binary(package: &str, name: &str) -> Result<PathBuf, String> {
    let status = crate::util::cargo()
        .args(["build", "--release", "--quiet", "-p", package])
        .status();
    let skipped = |why: String| format!("skipped: {why}");
    match status {
        Ok(status) if status.success() => {}
        Ok(status) => return Err(skipped(format!("the {package} build failed ({status})"))),
        Err(e) => return Err(skipped(format!("cargo did not run ({e})"))),
    }
    let binary = release_dir()
        .map_err(|e| skipped(e.to_string()))?
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(skipped(format!("no {name} at {}", binary.display())))
    }
}
