//! Setting up the devices of sections 5 to 9: the organizer's conference, synced so the
//! server holds the pool, and the doors, each with an allotment taken online and sold
//! offline; then each door's push requests, built as its sync builds them.
use super::server::ServerProcess;
use super::workloads::joined;
use super::{DEVICES, SLUG, with_ticker};
use crate::bench::progress;
use crate::bench::setup::{SeatPlan, door_sale, initialized, now};
use crate::bench::timing::timed;
use anyhow::{Context, Result, ensure};
use conference_app::App;
use conference_app::http::HttpTransport;
use conference_app::sync::PUSH_BATCH;
use conference_protocol::sync::PushRequest;
use conference_store::{Durability, Store};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

// ---------------------------------------------------------------- setting up the devices

/// A door device's store, ready to sync its offline sales.
pub(super) struct Door {
    pub(super) name: String,
    pub(super) store: PathBuf,
    pub(super) token: String,
    /// The server instance it talks to.
    pub(super) url: String,
}

/// The organizer's conference with `seats` seats, synced: the server now holds the pool.
pub(super) fn organizer(dir: &Path, server: &ServerProcess, seats: u64) -> Result<SeatPlan> {
    progress(format_args!(
        "5-7/9 sync server: the organizer creates a conference of {seats} seats"
    ));
    let token = server.add_device("Organizer", "organizer", None)?;
    let mut app = initialized(unsafe_app(&dir.join("organizer.db"))?)?;
    let plan = SeatPlan::create(&mut app, SLUG, seats, "100")?;
    connect(&mut app, &server.url, &token)?;
    Ok(plan)
}

/// A store with `synchronous=OFF`: only to set up throwaway stores fast.
pub(super) fn unsafe_app(path: &Path) -> Result<App> {
    Ok(App::from_store(Store::open_with(path, Durability::Unsafe)?))
}

/// The bench's server on this machine, over plain HTTP (as `--plain-http` serves it).
pub(super) fn link(url: &str, token: &str) -> conference_app::ServerLink {
    conference_app::ServerLink {
        url: url.to_string(),
        token: token.to_string(),
        pin: None,
        insecure_http: false,
    }
}

/// Remembers the server and token, and syncs once.
pub(super) fn connect(app: &mut App, url: &str, token: &str) -> Result<HttpTransport> {
    app.connect(url, token)?;
    let transport = HttpTransport::new(&link(url, token))?;
    app.sync(&transport, chrono::Utc::now())?;
    Ok(transport)
}

/// Registers the doors, then sets them up side by side: allotments, then offline sales.
/// Door `n` talks to server instance `n % servers.len()`.
pub(super) fn prepare_doors(
    dir: &Path,
    servers: &[ServerProcess],
    plan: &SeatPlan,
    sales: u64,
) -> Result<Vec<Door>> {
    let doors = (0..DEVICES)
        .map(|n| {
            let name = format!("Door {}", n + 1);
            Ok(Door {
                token: servers[0].add_device(&name, "door", Some(SLUG))?,
                store: dir.join(format!("door-{}.db", n + 1)),
                url: servers[n % servers.len()].url.clone(),
                name,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let total = DEVICES as u64 * sales;
    progress(format_args!(
        "5-7/9 sync server: {DEVICES} doors take an allotment of {sales} seats each and sell them offline"
    ));
    let sold = AtomicU64::new(0);
    let status = || {
        let sold = sold.load(Ordering::Relaxed);
        format!("5-7/9 sync server: {sold}/{total} offline sales made")
    };
    let took = timed(|| {
        with_ticker(status, || {
            std::thread::scope(|s| {
                let sold = &sold;
                let workers: Vec<_> = (0..)
                    .zip(&doors)
                    .map(|(n, door)| {
                        let sales = n * sales..(n + 1) * sales;
                        s.spawn(move || prepare_door(&door.url, plan, door, sales, sold))
                    })
                    .collect();
                workers.into_iter().try_for_each(joined)
            })
        })
    })?;
    progress(format_args!(
        "5-7/9 sync server: {total} offline sales made in {:.0} s",
        took.as_secs_f64()
    ));
    Ok(doors)
}

/// One door: connects, takes an allotment for `sales` (global sale numbers), sells them.
pub(super) fn prepare_door(
    url: &str,
    plan: &SeatPlan,
    door: &Door,
    sales: Range<u64>,
    sold: &AtomicU64,
) -> Result<()> {
    let mut app = unsafe_app(&door.store)?;
    app.init(&door.name, chrono::Utc::now())?;
    let transport = connect(&mut app, url, &door.token)?;
    let seats = allotment(plan, &sales);
    let (granted, _) = app.request_allotment(&transport, &now(), &plan.slug, &seats)?;
    let granted: u64 = granted.seats.iter().map(|s| u64::from(s.quantity)).sum();
    let wanted = sales.end - sales.start;
    ensure!(
        granted == wanted,
        "{} was granted {granted} seats, not {wanted}",
        door.name
    );
    for sale in sales {
        app.sell(&now(), &door_sale(plan, sale))?;
        sold.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// The seats of the sales numbered `sales`, as seat specs (`Pass1=500`).
pub(super) fn allotment(plan: &SeatPlan, sales: &Range<u64>) -> Vec<String> {
    let mut seats: BTreeMap<&str, u64> = BTreeMap::new();
    for sale in sales.clone() {
        *seats.entry(plan.seat_type_for(sale)).or_default() += 1;
    }
    seats
        .into_iter()
        .map(|(name, quantity)| format!("{name}={quantity}"))
        .collect()
}

/// A copy of the server's file as it is now (the server is idle; `VACUUM INTO` reads one
/// consistent snapshot of it anyway).
pub(super) fn copy_database(from: &Path, to: &Path) -> Result<()> {
    let conn = Connection::open(from)?;
    conn.execute("VACUUM INTO ?1", [to.to_string_lossy()])
        .with_context(|| format!("could not copy {} to {}", from.display(), to.display()))?;
    Ok(())
}

/// Each door's push requests as JSON, built as its sync builds them: its pending commands
/// in order, [`PUSH_BATCH`] to a request.
pub(super) fn push_requests(doors: &[Door]) -> Result<Vec<Vec<Vec<u8>>>> {
    progress(format_args!(
        "5-7/9 sync server: building the {DEVICES} doors' push requests"
    ));
    doors
        .iter()
        .map(|door| {
            let app = App::open(&door.store)?;
            let mut commands = app.store().pending_pushes(1_000_000)?;
            let mut bodies = Vec::new();
            while !commands.is_empty() {
                let rest = commands.split_off(commands.len().min(PUSH_BATCH));
                bodies.push(serde_json::to_vec(&PushRequest { commands })?);
                commands = rest;
            }
            Ok(bodies)
        })
        .collect()
}
