//! The sync server's workloads: section 5 (the doors' push requests sent at once by plain
//! clients), section 7 (every door syncing itself at once, pulls held until all have
//! pushed) and section 6 (the raw baseline: the rows the server stored, written again
//! into a bare SQLite file).
use super::server::{Checkpoint, ServerProcess, checkpoint, usage};
use super::setup::{Door, link};
use super::{BASELINE_RUNS, DEVICES, EVENT_COLUMNS, SERVER_SCHEMA, with_ticker};
use crate::bench::progress;
use crate::bench::timing::{Latencies, timed};
use anyhow::{Context, Result, anyhow, ensure};
use conference_app::App;
use conference_app::http::HttpTransport;
use conference_app::sync::{PUSH_BATCH, SyncError, Transport};
use conference_protocol::sync::{
    AllotmentRequest, AllotmentResponse, DeviceRecord, PullResponse, PushRequest, PushResponse,
    PushStatus, ReconciliationItem, SCHEMA_HEADER,
};
use rusqlite::types::Value;
use rusqlite::{Connection, TransactionBehavior, params_from_iter};
use std::cell::{Cell, RefCell};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::ScopedJoinHandle;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- 5 and 7. syncing at once

/// What the devices' syncs measured, from the moment they all started.
pub(super) struct SyncAll {
    pub(super) push_phase: Duration,
    pub(super) converged: Duration,
    pub(super) pushes: Vec<PushSample>,
    /// At the start, when the last device had pushed, and when all had converged.
    pub(super) checkpoints: [Checkpoint; 3],
}

/// One push request: how long it took and what the server stored for it.
pub(super) struct PushSample {
    pub(super) latency: Duration,
    pub(super) commands: u64,
    pub(super) events: u64,
}

/// One device's sync.
pub(super) struct DeviceRun {
    pub(super) pushes: Vec<PushSample>,
    pub(super) finished: Instant,
}

/// Every door syncs once, all starting together; their pulls begin once all have pushed.
pub(super) fn sync_all(servers: &[ServerProcess], doors: &[Door]) -> Result<SyncAll> {
    progress(format_args!(
        "5-7/9 sync server: {DEVICES} devices sync at once"
    ));
    let start = Barrier::new(doors.len() + 1);
    let gate = PullGate::new(doors.len());
    let gauges = Gauges::default();
    let status = || {
        format!(
            "5-7/9 sync server: {} commands pushed, {} events pulled",
            gauges.pushed.load(Ordering::Relaxed),
            gauges.pulled.load(Ordering::Relaxed)
        )
    };
    with_ticker(status, || {
        std::thread::scope(|s| {
            let (start, gate, gauges) = (&start, &gate, &gauges);
            let workers: Vec<_> = doors
                .iter()
                .map(|door| s.spawn(move || sync_door(&door.url, door, start, gate, gauges)))
                .collect();
            start.wait();
            let began = Instant::now();
            let at_start = checkpoint(servers);
            let pushed = gate.wait_open();
            let at_pushed = checkpoint(servers);
            let runs = workers
                .into_iter()
                .map(joined)
                .collect::<Result<Vec<_>>>()?;
            let at_end = checkpoint(servers);
            let pushed = pushed.context("the devices' pulls never began")?;
            let finished = runs.iter().map(|run| run.finished).max();
            Ok(SyncAll {
                push_phase: pushed - began,
                converged: finished.context("no device synced")? - began,
                pushes: runs.into_iter().flat_map(|run| run.pushes).collect(),
                checkpoints: [at_start, at_pushed, at_end],
            })
        })
    })
}

/// Opens the door's store (`synchronous=FULL`), waits for the others, and syncs once.
pub(super) fn sync_door(
    url: &str,
    door: &Door,
    start: &Barrier,
    gate: &PullGate,
    gauges: &Gauges,
) -> Result<DeviceRun> {
    let _leaving = Leaving(gate);
    let opened = App::open(&door.store)
        .map_err(anyhow::Error::from)
        .and_then(|app| Ok((app, HttpTransport::new(&link(url, &door.token))?)));
    start.wait();
    let (mut app, http) = opened?;
    let transport = Measured::new(http, gate, gauges);
    let report = app.sync(&transport, chrono::Utc::now())?;
    let finished = Instant::now();
    ensure!(
        report.pushed > 0 && report.applied == report.pushed,
        "{}: the server did not store every command as written: {report:?}",
        door.name
    );
    Ok(DeviceRun {
        pushes: transport.pushes.into_inner(),
        finished,
    })
}

pub(super) fn joined<T>(worker: ScopedJoinHandle<'_, Result<T>>) -> Result<T> {
    worker
        .join()
        .map_err(|_| anyhow!("a device thread panicked"))?
}

/// Counts for the progress lines.
#[derive(Default)]
pub(super) struct Gauges {
    pub(super) pushed: AtomicU64,
    pub(super) pulled: AtomicU64,
}

/// The HTTP transport, timing pushes and holding back the first pull until every device
/// has pushed.
pub(super) struct Measured<'a> {
    pub(super) http: HttpTransport,
    pub(super) gate: &'a PullGate,
    pub(super) gauges: &'a Gauges,
    pub(super) arrived: Cell<bool>,
    pub(super) pushes: RefCell<Vec<PushSample>>,
}

impl<'a> Measured<'a> {
    pub(super) fn new(http: HttpTransport, gate: &'a PullGate, gauges: &'a Gauges) -> Self {
        Self {
            http,
            gate,
            gauges,
            arrived: Cell::new(false),
            pushes: RefCell::new(Vec::new()),
        }
    }
}

impl Transport for Measured<'_> {
    fn push(&self, request: &PushRequest) -> Result<PushResponse, SyncError> {
        let start = Instant::now();
        let response = self.http.push(request)?;
        let latency = start.elapsed();
        let commands = response.results.len() as u64;
        let events = response.results.iter().map(|r| r.positions.len() as u64);
        self.pushes.borrow_mut().push(PushSample {
            latency,
            commands,
            events: events.sum(),
        });
        self.gauges.pushed.fetch_add(commands, Ordering::Relaxed);
        Ok(response)
    }

    fn pull(&self, after: i64, limit: u32) -> Result<PullResponse, SyncError> {
        if !self.arrived.replace(true) {
            self.gate.arrive()?;
        }
        let page = self.http.pull(after, limit)?;
        let events = page.events.len() as u64;
        self.gauges.pulled.fetch_add(events, Ordering::Relaxed);
        Ok(page)
    }

    fn request_allotment(
        &self,
        request: &AllotmentRequest,
    ) -> Result<AllotmentResponse, SyncError> {
        self.http.request_allotment(request)
    }

    fn me(&self) -> Result<DeviceRecord, SyncError> {
        self.http.me()
    }

    fn reconciliation(&self) -> Result<Vec<ReconciliationItem>, SyncError> {
        self.http.reconciliation()
    }
}

/// Holds every device's first pull until all devices have arrived (pushed everything).
pub(super) struct PullGate {
    pub(super) devices: usize,
    pub(super) state: Mutex<GateState>,
    pub(super) changed: Condvar,
}

#[derive(Default)]
pub(super) struct GateState {
    pub(super) arrived: usize,
    pub(super) opened_at: Option<Instant>,
    /// A device left without arriving: the gate will never open.
    pub(super) abandoned: bool,
}

impl PullGate {
    pub(super) fn new(devices: usize) -> Self {
        Self {
            devices,
            state: Mutex::default(),
            changed: Condvar::new(),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for the other devices; an error when one of them left without arriving.
    pub(super) fn arrive(&self) -> Result<(), SyncError> {
        let mut state = self.lock();
        state.arrived += 1;
        if state.arrived == self.devices {
            state.opened_at = Some(Instant::now());
            self.changed.notify_all();
        }
        drop(state);
        match self.wait_open() {
            Some(_) => Ok(()),
            None => Err(SyncError::Unreachable(
                "another device failed before it had pushed everything".into(),
            )),
        }
    }

    /// When the last device arrived; `None` when one left without arriving.
    pub(super) fn wait_open(&self) -> Option<Instant> {
        self.changed
            .wait_while(self.lock(), |s| s.opened_at.is_none() && !s.abandoned)
            .unwrap_or_else(PoisonError::into_inner)
            .opened_at
    }
}

/// A device's thread is done with the gate, by success, error or panic: if the gate is
/// still closed, it will never open, and the waiting devices fail instead of hanging.
pub(super) struct Leaving<'a>(&'a PullGate);

impl Drop for Leaving<'_> {
    fn drop(&mut self) {
        self.0.lock().abandoned = true;
        self.0.changed.notify_all();
    }
}

/// Every door holds every event of the server's log, all confirmed by the server.
pub(super) fn check_converged(doors: &[Door], head: i64) -> Result<()> {
    for door in doors {
        let conn = Connection::open(&door.store)?;
        let (confirmed, last, tentative): (i64, i64, i64) = conn.query_row(
            "SELECT COUNT(server_position), COALESCE(MAX(server_position), 0),
                    COUNT(*) - COUNT(server_position) FROM events",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        ensure!(
            confirmed == head && last == head && tentative == 0,
            "{} did not converge: it holds {confirmed} confirmed events up to position {last} \
             and {tentative} tentative ones, and the server's log ends at {head}",
            door.name
        );
    }
    Ok(())
}

/// Section 5: one client per door sends that door's requests in order, one in flight,
/// all doors starting together.
pub(super) fn push_at_once(
    server: &ServerProcess,
    doors: &[Door],
    requests: Vec<Vec<Vec<u8>>>,
) -> Result<SyncAll> {
    let commands: usize = requests.iter().flatten().count() * PUSH_BATCH;
    progress(format_args!(
        "5-7/9 sync server: {DEVICES} clients push about {commands} commands at once"
    ));
    let servers = std::slice::from_ref(server);
    let start = Barrier::new(doors.len() + 1);
    std::thread::scope(|s| {
        let start = &start;
        let workers: Vec<_> = doors
            .iter()
            .zip(requests)
            .map(|(door, bodies)| s.spawn(move || send_pushes(&server.url, door, bodies, start)))
            .collect();
        start.wait();
        let began = Instant::now();
        let at_start = checkpoint(servers);
        let runs = workers
            .into_iter()
            .map(joined)
            .collect::<Result<Vec<_>>>()?;
        let finished = runs
            .iter()
            .map(|run| run.finished)
            .max()
            .context("no door pushed")?;
        let at_end = checkpoint(servers);
        Ok(SyncAll {
            push_phase: finished - began,
            converged: finished - began,
            pushes: runs.into_iter().flat_map(|run| run.pushes).collect(),
            checkpoints: [at_start, at_end, at_end],
        })
    })
}

/// One door's requests, in order, each answered before the next goes out.
pub(super) fn send_pushes(
    url: &str,
    door: &Door,
    bodies: Vec<Vec<u8>>,
    start: &Barrier,
) -> Result<DeviceRun> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build();
    let reads = serde_json::to_string(&conference_domain::aggregate::schema_versions());
    start.wait();
    let (client, reads) = (client?, reads?);
    let push_url = format!("{url}/v1/push");
    let mut pushes = Vec::with_capacity(bodies.len());
    for body in bodies {
        let began = Instant::now();
        let response = client
            .post(&push_url)
            .bearer_auth(&door.token)
            .header(SCHEMA_HEADER, &reads)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()?;
        let status = response.status();
        let answer = response.bytes()?;
        let latency = began.elapsed();
        ensure!(
            status.is_success(),
            "{}: the server answered a push with {status}: {}",
            door.name,
            String::from_utf8_lossy(&answer)
        );
        let answer: PushResponse = serde_json::from_slice(&answer)?;
        ensure!(
            answer
                .results
                .iter()
                .all(|r| r.status == PushStatus::Applied),
            "{}: the server did not apply every command as written",
            door.name
        );
        pushes.push(PushSample {
            latency,
            commands: answer.results.len() as u64,
            events: answer
                .results
                .iter()
                .map(|r| r.positions.len() as u64)
                .sum(),
        });
    }
    Ok(DeviceRun {
        pushes,
        finished: Instant::now(),
    })
}

// ---------------------------------------------------------------- 6. the raw baseline

/// The event rows the server stored after position `after`, in order.
pub(super) fn stored_rows(database: &Path, after: i64) -> Result<Vec<Vec<Value>>> {
    let conn = Connection::open(database)?;
    let mut select = conn.prepare(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE position > ?1 ORDER BY position"
    ))?;
    let rows = select
        .query_map([after], |row| {
            (0..row.as_ref().column_count())
                .map(|i| row.get::<_, Value>(i))
                .collect()
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Durations of [`BASELINE_RUNS`] raw ingests of `rows`, each into a fresh file, and the
/// CPU time each took (the process's: nothing else in it works meanwhile).
pub(super) fn baseline(
    dir: &Path,
    rows: &[Vec<Value>],
    pushes: &[PushSample],
) -> Result<(Latencies, Option<Latencies>)> {
    let pushed: u64 = pushes.iter().map(|p| p.events).sum();
    ensure!(
        rows.len() as u64 == pushed,
        "the server stored {} events during the pushes, but answered the pushes with {pushed}",
        rows.len()
    );
    progress(format_args!(
        "5-7/9 sync server: the raw baseline, {BASELINE_RUNS} runs of {pushed} rows"
    ));
    let mut cpu = Vec::with_capacity(BASELINE_RUNS);
    let runs = (0..BASELINE_RUNS)
        .map(|run| {
            let mut conn = raw_server_log(&dir.join(format!("raw-server-{run}.db")))?;
            let before = usage("self");
            let took = timed(|| raw_ingest(&mut conn, rows, pushes))?;
            if let (Some(before), Some(after)) = (before, usage("self")) {
                cpu.push(after.cpu.saturating_sub(before.cpu));
            }
            Ok(took)
        })
        .collect::<Result<_>>()?;
    let cpu = (cpu.len() == BASELINE_RUNS).then(|| Latencies::new(cpu));
    Ok((Latencies::new(runs), cpu))
}

/// A bare SQLite file with the server's schema, WAL and `synchronous=FULL`.
pub(super) fn raw_server_log(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(SERVER_SCHEMA)?;
    Ok(conn)
}

/// `rows` in order, one durable transaction per push request with as many rows as it had.
pub(super) fn raw_ingest(
    conn: &mut Connection,
    rows: &[Vec<Value>],
    pushes: &[PushSample],
) -> Result<()> {
    let sql =
        format!("INSERT INTO events ({EVENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    let mut rows = rows.iter();
    for push in pushes {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut insert = tx.prepare_cached(&sql)?;
            for row in rows.by_ref().take(usize::try_from(push.events)?) {
                insert.execute(params_from_iter(row))?;
            }
        }
        tx.commit()?;
    }
    Ok(())
}
