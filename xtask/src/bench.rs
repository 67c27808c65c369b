//! `cargo xtask bench`: how fast the box office is on this machine's disk.
//!
//! Eight sections, all on stores in one folder (so on one disk), printed as one table:
//! 1. door sales through [`App::sell`] on a store with `synchronous=FULL`;
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
mod sync_server;

use anyhow::{Context, Result, bail, ensure};
use conference_app::conference_store::{Durability, Store, format_time};
use conference_app::{App, Ctx, NewConference, PaymentInput, SaleInput};
use rusqlite::{Connection, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use uuid::Uuid;

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

// ---------------------------------------------------------------- 1 and 2. door sales

/// Door sales through the app, and the raw baseline timed in turn with them.
struct DoorSales {
    events_per_sale: f64,
    app: Latencies,
    raw_events_per_sale: u64,
    raw: Latencies,
}

fn door_sales(dir: &Path, sales: u64) -> Result<DoorSales> {
    progress(format_args!(
        "1-2/9 door sales: {sales} sales through App::sell, each followed or preceded by a raw transaction"
    ));
    let mut app = initialized(App::open(dir.join("door.db"))?)?;
    let seats = SeatPlan::create(&mut app, "door", sales + 1, "100")?;
    // An untimed first sale warms the caches and says how many events a sale writes.
    let before = app.store().event_count()?;
    sell(&mut app, &seats, sales)?;
    let raw_events_per_sale = app.store().event_count()? - before;
    let mut raw = RawStore::create(&dir.join("raw.db"), raw_events_per_sale)?;
    raw.sale()?;

    let before = app.store().event_count()?;
    let [app_latencies, raw_latencies] = take_turns(sales, |turn, i| match turn {
        0 => sell(&mut app, &seats, i),
        _ => raw.sale(),
    })?;
    let written = app.store().event_count()? - before;
    Ok(DoorSales {
        events_per_sale: written as f64 / sales as f64,
        app: app_latencies,
        raw_events_per_sale,
        raw: raw_latencies,
    })
}

fn sell(app: &mut App, seats: &SeatPlan, i: u64) -> Result<()> {
    app.sell(&now(), &door_sale(seats, i))?;
    Ok(())
}

/// One seat, a registrant and cash: the common sale at the door.
fn door_sale(seats: &SeatPlan, sale: u64) -> SaleInput {
    SaleInput {
        slug: seats.slug.clone(),
        seats: vec![format!("{}=1", seats.seat_type_for(sale))],
        registrant: Some((
            "Ada".into(),
            "Lovelace".into(),
            format!("ada.{sale}@example.com"),
        )),
        payment: Some(PaymentInput {
            method: "cash".into(),
            ..PaymentInput::default()
        }),
        ..SaleInput::default()
    }
}

impl DoorSales {
    fn report(&self, table: &mut Table) {
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

// ---------------------------------------------------------------- the raw baseline

const RAW_SCHEMA: &str = "
CREATE TABLE events (
    position        INTEGER PRIMARY KEY,
    stream_id       TEXT NOT NULL,
    stream_kind     TEXT NOT NULL,
    stream_version  INTEGER NOT NULL,
    event_type      TEXT NOT NULL,
    schema_version  INTEGER NOT NULL,
    payload         TEXT NOT NULL,
    command_id      BLOB NOT NULL,
    device_id       BLOB NOT NULL,
    recorded_at     TEXT NOT NULL,
    UNIQUE (stream_id, stream_version)
);
CREATE TABLE command_log (
    command_id    BLOB PRIMARY KEY,
    command_type  TEXT NOT NULL,
    succeeded     INTEGER NOT NULL,
    outcome       TEXT NOT NULL,
    recorded_at   TEXT NOT NULL
) WITHOUT ROWID;
";

const INSERT_EVENT: &str = "INSERT INTO events (stream_id, stream_kind, stream_version, event_type, schema_version, payload, command_id, device_id, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

const INSERT_COMMAND: &str = "INSERT INTO command_log (command_id, command_type, succeeded, outcome, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5)";

/// A bare event log: what a sale costs the disk without any domain logic or read model.
struct RawStore {
    conn: Connection,
    device: Uuid,
    events_per_sale: u64,
}

impl RawStore {
    fn create(path: &Path, events_per_sale: u64) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(RAW_SCHEMA)?;
        Ok(Self {
            conn,
            device: Uuid::now_v7(),
            events_per_sale,
        })
    }

    /// One durable transaction shaped like a sale: its events on a new stream, one outcome.
    fn sale(&mut self) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let command = Uuid::now_v7();
        let order = Uuid::now_v7();
        let stream = format!("order/{order}");
        let recorded_at = format_time(chrono::Utc::now());
        {
            let mut insert = tx.prepare_cached(INSERT_EVENT)?;
            for version in 1..=self.events_per_sale {
                let payload = event_payload(order, &recorded_at);
                insert.execute(params![
                    stream,
                    "order",
                    version,
                    "OrderPlaced",
                    1,
                    payload,
                    command,
                    self.device,
                    recorded_at
                ])?;
            }
            let outcome = serde_json::json!({ "kind": "order", "order_id": order }).to_string();
            tx.prepare_cached(INSERT_COMMAND)?.execute(params![
                command,
                "sell",
                true,
                outcome,
                recorded_at
            ])?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// A ~300-byte JSON event payload, like an order placed.
fn event_payload(order: Uuid, now: &str) -> String {
    serde_json::json!({
        "order_id": order,
        "conference_id": Uuid::now_v7(),
        "seats": [{ "seat_type": Uuid::now_v7(), "quantity": 1 }],
        "access_code": "K7M2PX",
        "reservation_auto_expiration": now,
        "promo_codes": [],
        "holder": "pool",
        "allow_override": false,
    })
    .to_string()
}

// ---------------------------------------------------------------- 3. stream length

struct StreamCost {
    short: Sample,
    long: Sample,
}

/// Latencies of a command on one kind of order, and its stream length before the first.
struct Sample {
    order: &'static str,
    prior_events: u64,
    latencies: Latencies,
}

fn stream_cost(path: &Path) -> Result<StreamCost> {
    progress(format_args!(
        "3/9 stream length: assign_registrant on fresh orders and on one of {LONG_STREAM_EVENTS} events"
    ));
    let mut app = initialized(App::open(path)?)?;
    let seats = SeatPlan::create(&mut app, "stream", STREAM_SAMPLES + 1, "100")?;
    let long = place_order(&mut app, &seats, STREAM_SAMPLES)?;
    for i in 0..LONG_STREAM_EVENTS {
        assign_registrant(&mut app, &long, i)?;
    }
    let fresh = (0..STREAM_SAMPLES)
        .map(|i| place_order(&mut app, &seats, i))
        .collect::<Result<Vec<_>>>()?;
    let short_prior = order_stream_version(&app, &fresh[0])?;
    let long_prior = order_stream_version(&app, &long)?;
    let [short, long] = take_turns(STREAM_SAMPLES, |turn, i| match turn {
        0 => assign_registrant(&mut app, &fresh[i as usize], i),
        _ => assign_registrant(&mut app, &long, LONG_STREAM_EVENTS + i),
    })?;
    Ok(StreamCost {
        short: Sample {
            order: "fresh orders",
            prior_events: short_prior,
            latencies: short,
        },
        long: Sample {
            order: "one long order",
            prior_events: long_prior,
            latencies: long,
        },
    })
}

fn place_order(app: &mut App, seats: &SeatPlan, i: u64) -> Result<String> {
    let spec = format!("{}=1", seats.seat_type_for(i));
    let order = app.place_order(&now(), &seats.slug, &[spec], &[])?;
    Ok(order.id.to_string())
}

/// Alternates between two people, so every call changes the order and appends one event.
fn assign_registrant(app: &mut App, order: &str, i: u64) -> Result<()> {
    let (first, last, email) = if i % 2 == 0 {
        ("Ada", "Lovelace", "ada@example.com")
    } else {
        ("Grace", "Hopper", "grace@example.com")
    };
    app.assign_registrant(&now(), order, first, last, email)?;
    Ok(())
}

fn order_stream_version(app: &App, order: &str) -> Result<u64> {
    let id = conference_domain::OrderId::parse(order)?;
    Ok(app
        .store()
        .stream_version(conference_domain::stream::StreamId::order(id))?)
}

impl StreamCost {
    fn report(&self, table: &mut Table) {
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

// ---------------------------------------------------------------- 4. large store

const BIG_SLUG: &str = "big";

struct LargeStore {
    events: u64,
    build: Duration,
    in_process: Latencies,
    cli: Result<Latencies, String>,
}

fn large_store(path: &Path, events: u64, events_per_sale: f64) -> Result<LargeStore> {
    progress(format_args!("4/9 large store: building {events} events"));
    let (events, build) = timed_value(|| build_large_store(path, events, events_per_sale))?;
    progress(format_args!(
        "4/9 large store: {events} events in {:.0} s; timing startup",
        build.as_secs_f64()
    ));
    let in_process = Latencies::repeat(STARTUP_RUNS, || {
        let app = App::open(path)?;
        app.seats(BIG_SLUG)?;
        Ok(())
    })?;
    let cli = match cli_binary() {
        Ok(binary) => Ok(Latencies::repeat(STARTUP_RUNS, || {
            run_cli_seats(&binary, path)
        })?),
        Err(note) => Err(note),
    };
    Ok(LargeStore {
        events,
        build,
        in_process,
        cli,
    })
}

/// Fills a store with door sales until it holds `events` events; returns how many it holds.
fn build_large_store(path: &Path, events: u64, events_per_sale: f64) -> Result<u64> {
    let store = Store::open_with(path, Durability::Unsafe)?;
    let mut app = initialized(App::from_store(store))?;
    let sales = (events as f64 / events_per_sale).ceil() as u64;
    let seats = SeatPlan::create(&mut app, BIG_SLUG, sales, "100")?;
    let start = Instant::now();
    for i in 0..sales {
        app.sell(&now(), &door_sale(&seats, i))?;
        if (i + 1) % PROGRESS_EVERY == 0 {
            report_build_progress(i + 1, sales, start.elapsed());
        }
    }
    let written = app.store().event_count()?;
    ensure!(
        written >= events,
        "the large store holds {written} events, not the {events} asked for"
    );
    Ok(written)
}

fn report_build_progress(done: u64, sales: u64, elapsed: Duration) {
    let rate = done as f64 / elapsed.as_secs_f64();
    let left = (sales - done) as f64 / rate;
    progress(format_args!(
        "4/9 large store: {done}/{sales} sales, {rate:.0} sales/s, ~{left:.0} s left"
    ));
}

/// Builds the CLI (a no-op when it is up to date) next to this xtask; a note if it fails.
fn cli_binary() -> Result<PathBuf, String> {
    progress(format_args!("4/9 large store: building the conference CLI"));
    release_binary("conference-cli", "conference")
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

fn run_cli_seats(binary: &Path, store: &Path) -> Result<()> {
    let output = Command::new(binary)
        .arg("--store")
        .arg(store)
        .args(["seats", BIG_SLUG])
        .env_remove("CONFERENCE_STORE")
        .output()
        .with_context(|| format!("could not run {}", binary.display()))?;
    if !output.status.success() {
        bail!(
            "`conference seats` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

impl LargeStore {
    fn report(&self, table: &mut Table) {
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

// ---------------------------------------------------------------- 8. rebuild

struct Rebuild {
    events: u64,
    rebuild: Latencies,
    raw: Latencies,
}

/// `conference rebuild` (every read model from the log) against reading and decoding the
/// same events (upcasting included) without projecting them, on one store, taking turns.
fn rebuild(path: &Path, events: u64, events_per_sale: f64) -> Result<Rebuild> {
    progress(format_args!(
        "8/9 rebuild: building a store of {events} events"
    ));
    let events = build_large_store(path, events, events_per_sale)?;
    progress(format_args!(
        "8/9 rebuild: {events} events; rebuilding {REBUILD_RUNS} times"
    ));
    let mut store = Store::open(path)?;
    let [rebuild, raw] = take_turns(REBUILD_RUNS, |turn, _| match turn {
        0 => {
            let replayed = store.rebuild_read_models(|_, _| {})?;
            ensure!(replayed == events, "rebuilt {replayed} of {events} events");
            Ok(())
        }
        _ => {
            let mut after = 0;
            let mut read = 0;
            loop {
                let page = store.events_after(after, RAW_PAGE)?;
                let Some(last) = page.last() else { break };
                after = last.position;
                read += page.len() as u64;
            }
            ensure!(read == events, "read {read} of {events} events");
            Ok(())
        }
    })?;
    Ok(Rebuild {
        events,
        rebuild,
        raw,
    })
}

impl Rebuild {
    fn report(&self, table: &mut Table) {
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

// ---------------------------------------------------------------- setting up stores

/// Sets up the store's device: every command needs it.
fn initialized(mut app: App) -> Result<App> {
    app.init("bench", chrono::Utc::now())?;
    Ok(app)
}

fn now() -> Ctx {
    Ctx::new(chrono::Utc::now())
}

/// A published conference with enough seat types for `seats` one-seat orders.
struct SeatPlan {
    slug: String,
    seat_types: Vec<String>,
}

impl SeatPlan {
    fn create(app: &mut App, slug: &str, seats: u64, price: &str) -> Result<Self> {
        let start = chrono::Utc::now() + chrono::Duration::days(30);
        app.create_conference(
            &now(),
            NewConference {
                slug: slug.into(),
                name: format!("Bench {slug}"),
                location: "Online".into(),
                start: Some(start),
                end: Some(start + chrono::Duration::days(1)),
                owner_name: "Ada Lovelace".into(),
                owner_email: "ada@example.com".into(),
                currency: Some("EUR".into()),
                ..NewConference::default()
            },
        )?;
        let count = seats.div_ceil(SEATS_PER_TYPE);
        let quantity = u32::try_from(SEATS_PER_TYPE)?;
        let seat_types: Vec<String> = (1..=count).map(|n| format!("Pass{n}")).collect();
        for name in &seat_types {
            app.add_seat_type(&now(), slug, name, "", price, quantity)?;
        }
        app.publish(&now(), slug, true)?;
        Ok(Self {
            slug: slug.into(),
            seat_types,
        })
    }

    /// The seat type of the `order`-th one-seat order, filling one type after the other.
    fn seat_type_for(&self, order: u64) -> &str {
        let index = usize::try_from(order / SEATS_PER_TYPE).unwrap_or(usize::MAX);
        &self.seat_types[index.min(self.seat_types.len() - 1)]
    }
}

// ---------------------------------------------------------------- timing

fn timed(f: impl FnOnce() -> Result<()>) -> Result<Duration> {
    timed_value(f).map(|((), elapsed)| elapsed)
}

fn timed_value<T>(f: impl FnOnce() -> Result<T>) -> Result<(T, Duration)> {
    let start = Instant::now();
    let value = f()?;
    Ok((value, start.elapsed()))
}

/// Times `rounds` rounds of two operations (turn 0 and turn 1, given the round), taking
/// turns at going first so that neither gains from running second; the latencies of each.
fn take_turns(
    rounds: u64,
    mut operation: impl FnMut(u8, u64) -> Result<()>,
) -> Result<[Latencies; 2]> {
    let mut latencies = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for turn in order {
            latencies[usize::from(turn)].push(timed(|| operation(turn, round))?);
        }
    }
    Ok(latencies.map(Latencies::new))
}

/// Latencies, sorted.
struct Latencies(Vec<Duration>);

impl Latencies {
    fn new(mut latencies: Vec<Duration>) -> Self {
        latencies.sort_unstable();
        Self(latencies)
    }

    fn repeat(runs: usize, mut operation: impl FnMut() -> Result<()>) -> Result<Self> {
        let latencies = (0..runs)
            .map(|_| timed(&mut operation))
            .collect::<Result<_>>()?;
        Ok(Self::new(latencies))
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    /// Operations per second, one after the other.
    fn per_second(&self) -> f64 {
        self.0.len() as f64 / self.0.iter().sum::<Duration>().as_secs_f64()
    }

    fn best(&self) -> Duration {
        self.percentile(0.0)
    }

    fn median(&self) -> Duration {
        self.percentile(50.0)
    }

    fn percentile(&self, pct: f64) -> Duration {
        percentile(&self.0, pct)
    }
}

/// The nearest-rank percentile (`pct` in 0..=100) of sorted, non-empty samples.
fn percentile(sorted: &[Duration], pct: f64) -> Duration {
    assert!(!sorted.is_empty(), "a percentile needs at least one sample");
    let rank = (pct / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

fn verdict(met: bool, target: &str) -> String {
    format!("{target} {}", if met { "(met)" } else { "(MISSED)" })
}

// ---------------------------------------------------------------- the table

/// Section headings, each followed by aligned rows of measurement, result and target.
#[derive(Default)]
struct Table {
    lines: Vec<Line>,
}

enum Line {
    Section(String),
    Row([String; 3]),
}

const HEADER: [&str; 3] = ["Measurement", "Result", "Target"];
const INDENT: &str = "  ";

impl Table {
    fn section(&mut self, title: &str) {
        self.lines.push(Line::Section(title.into()));
    }

    fn row(&mut self, measurement: &str, result: &str, target: &str) {
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

    fn millis(values: impl IntoIterator<Item = u64>) -> Vec<Duration> {
        values.into_iter().map(Duration::from_millis).collect()
    }

    #[test]
    fn percentile_takes_the_nearest_rank() {
        let samples = millis(1..=100);
        assert_eq!(percentile(&samples, 0.0), Duration::from_millis(1));
        assert_eq!(percentile(&samples, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&samples, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&samples, 100.0), Duration::from_millis(100));
    }

    #[test]
    fn percentile_of_few_samples_is_one_of_them() {
        assert_eq!(percentile(&millis([7]), 99.0), Duration::from_millis(7));
        let three = millis([1, 2, 3]);
        assert_eq!(percentile(&three, 50.0), Duration::from_millis(2));
        assert_eq!(percentile(&three, 99.0), Duration::from_millis(3));
    }

    #[test]
    fn latencies_sort_their_samples() {
        let latencies = Latencies::new(millis([30, 10, 20]));
        assert_eq!(latencies.best(), Duration::from_millis(10));
        assert_eq!(latencies.median(), Duration::from_millis(20));
    }

    #[test]
    fn event_payloads_are_about_300_bytes() {
        let payload = event_payload(Uuid::now_v7(), &format_time(chrono::Utc::now()));
        assert!(
            (250..=350).contains(&payload.len()),
            "{} bytes",
            payload.len()
        );
    }

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
