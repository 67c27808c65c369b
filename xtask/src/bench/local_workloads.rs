//! The measurements on local stores (sections 1 to 4 and 8 of `cargo xtask bench`): door
//! sales against the raw baseline, a command against its stream's length, the startup of
//! a large store, and rebuilding the read models. Each returns what it measured; the
//! `report` module turns that into rows of the table.
use super::setup::{BIG_SLUG, RawStore, SeatPlan, build_large_store, door_sale, initialized, now};
use super::timing::{Latencies, take_turns, timed_value};
use super::{LONG_STREAM_EVENTS, RAW_PAGE, REBUILD_RUNS, STARTUP_RUNS, STREAM_SAMPLES};
use super::{progress, release_binary};
use anyhow::{Context, Result, bail, ensure};
use conference_app::App;
use conference_store::Store;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

// ---------------------------------------------------------------- 1 and 2. door sales

/// Door sales through the app, and the raw baseline timed in turn with them.
pub(super) struct DoorSales {
    pub(super) events_per_sale: f64,
    pub(super) app: Latencies,
    pub(super) raw_events_per_sale: u64,
    pub(super) raw: Latencies,
}

pub(super) fn door_sales(dir: &Path, sales: u64) -> Result<DoorSales> {
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

// ---------------------------------------------------------------- 3. stream length

pub(super) struct StreamCost {
    pub(super) short: Sample,
    pub(super) long: Sample,
}

/// Latencies of a command on one kind of order, and its stream length before the first.
pub(super) struct Sample {
    pub(super) order: &'static str,
    pub(super) prior_events: u64,
    pub(super) latencies: Latencies,
}

pub(super) fn stream_cost(path: &Path) -> Result<StreamCost> {
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

// ---------------------------------------------------------------- 4. large store

pub(super) struct LargeStore {
    pub(super) events: u64,
    pub(super) build: Duration,
    pub(super) in_process: Latencies,
    pub(super) cli: Result<Latencies, String>,
}

pub(super) fn large_store(path: &Path, events: u64, events_per_sale: f64) -> Result<LargeStore> {
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

/// Builds the CLI (a no-op when it is up to date) next to this xtask; a note if it fails.
fn cli_binary() -> Result<PathBuf, String> {
    progress(format_args!("4/9 large store: building the conference CLI"));
    release_binary("conference-cli", "conference")
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

// ---------------------------------------------------------------- 8. rebuild

pub(super) struct Rebuild {
    pub(super) events: u64,
    pub(super) rebuild: Latencies,
    pub(super) raw: Latencies,
}

/// `conference rebuild` (every read model from the log) against reading and decoding the
/// same events (upcasting included) without projecting them, on one store, taking turns.
pub(super) fn rebuild(path: &Path, events: u64, events_per_sale: f64) -> Result<Rebuild> {
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
