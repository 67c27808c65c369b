//! Faults between a device and a real server: lost requests, lost responses, duplicated
//! and late (replayed) requests, and the server killed with SIGKILL in the middle of a
//! push. Afterwards nothing acknowledged is lost, nothing is duplicated, order is kept.
//!
//! tidy: long because its fault scenarios share one world (devices, proxy, server and the
//! log check) built in this file.
use crate::helpers::{TestStore, ctx, demo_app, minute, temp_store};
use crate::proxy::{ALL_FAULTS, Fault as WireFault, Proxy, Schedule};
use crate::server::{DeviceToken, Server};
use crate::sync::{Device, door, organizer};
use conference_app::http::HttpTransport;
use conference_app::sync::{SyncError, Transport};
use conference_protocol::sync::{
    AllotmentRequest, AllotmentResponse, DeviceRecord, PullResponse, PushRequest, PushResponse,
    ReconciliationItem,
};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::mpsc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The request never reaches the server.
    LoseRequest,
    /// The server handles the request, but its answer is lost.
    LoseResponse,
    /// The request arrives twice.
    Duplicate,
}

/// A transport that injects the next planned fault into each call, and can tell a test
/// when a push starts (to kill the server under it).
pub struct Faulty {
    pub inner: HttpTransport,
    pub plan: RefCell<VecDeque<Option<Fault>>>,
    pub pushes: RefCell<Vec<PushRequest>>,
    pub on_push: Option<mpsc::Sender<()>>,
}

impl Faulty {
    pub fn new(inner: HttpTransport, plan: impl IntoIterator<Item = Option<Fault>>) -> Self {
        Self {
            inner,
            plan: RefCell::new(plan.into_iter().collect()),
            pushes: RefCell::new(vec![]),
            on_push: None,
        }
    }

    fn call<T>(&self, f: impl Fn() -> Result<T, SyncError>) -> Result<T, SyncError> {
        match self.plan.borrow_mut().pop_front().flatten() {
            None => f(),
            Some(Fault::LoseRequest) => {
                Err(SyncError::Unreachable("injected: request lost".into()))
            }
            Some(Fault::LoseResponse) => {
                let _ = f();
                Err(SyncError::Unreachable("injected: response lost".into()))
            }
            Some(Fault::Duplicate) => {
                let _ = f();
                f()
            }
        }
    }
}

impl Transport for Faulty {
    fn push(&self, request: &PushRequest) -> Result<PushResponse, SyncError> {
        self.pushes.borrow_mut().push(request.clone());
        if let Some(signal) = &self.on_push {
            let _ = signal.send(());
        }
        self.call(|| self.inner.push(request))
    }
    fn pull(&self, after: i64, limit: u32) -> Result<PullResponse, SyncError> {
        self.call(|| self.inner.pull(after, limit))
    }
    fn request_allotment(
        &self,
        request: &AllotmentRequest,
    ) -> Result<AllotmentResponse, SyncError> {
        self.call(|| self.inner.request_allotment(request))
    }
    fn me(&self) -> Result<DeviceRecord, SyncError> {
        self.call(|| self.inner.me())
    }
    fn reconciliation(&self) -> Result<Vec<ReconciliationItem>, SyncError> {
        self.call(|| self.inner.reconciliation())
    }
}

fn door_with_allotment(server: &Server, seats: &str) -> Device {
    let mut door = door(server, "Door");
    door.sync();
    let transport = HttpTransport::new(&door.app.sync_settings().unwrap().unwrap()).unwrap();
    door.app
        .request_allotment(
            &transport,
            &conference_app::Ctx::new(chrono::Utc::now()),
            "demo",
            &[seats.into()],
        )
        .expect("allotment");
    door
}

/// Syncs through faults until a sync succeeds (each fault makes one sync fail).
fn sync_through(device: &mut Device, transport: &Faulty) -> u32 {
    let mut failures = 0;
    loop {
        match device.app.sync(transport, chrono::Utc::now()) {
            Ok(_) => return failures,
            Err(e) => {
                assert_eq!(
                    e.code(),
                    "server_unreachable",
                    "only injected faults fail: {e}"
                );
                failures += 1;
                assert!(failures < 50, "sync never got through");
            }
        }
    }
}

#[test]
fn lost_duplicated_and_late_requests_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut organizer = organizer(&server);
    let mut door = door_with_allotment(&server, "Full=8");
    let link = door.app.sync_settings().unwrap().unwrap();
    let mut sold = Vec::new();
    for round in 0..4 {
        for _ in 0..2 {
            sold.push(door.sell("Full=1", false).expect("sale").id.to_string());
        }
        let plan = match round {
            0 => vec![Some(Fault::LoseRequest), Some(Fault::LoseRequest)],
            1 => vec![Some(Fault::LoseResponse), None, Some(Fault::LoseResponse)],
            2 => vec![
                Some(Fault::Duplicate),
                Some(Fault::Duplicate),
                Some(Fault::Duplicate),
            ],
            _ => vec![
                Some(Fault::LoseResponse),
                Some(Fault::Duplicate),
                Some(Fault::LoseRequest),
            ],
        };
        let transport = Faulty::new(HttpTransport::new(&link).unwrap().with_attempts(1), plan);
        let failures = sync_through(&mut door, &transport);
        assert!(failures > 0 || round == 2, "round {round} injected faults");
        // A late copy of every push this round arrives again after the fact.
        for late in transport.pushes.borrow().iter() {
            let again = transport
                .inner
                .push(late)
                .expect("a replayed push is answered");
            assert!(
                again
                    .results
                    .iter()
                    .all(|r| r.status == conference_protocol::sync::PushStatus::Applied)
            );
        }
    }
    organizer.sync();
    door.sync();
    let orders = organizer.orders();
    assert_eq!(orders.len(), sold.len(), "every sale arrived exactly once");
    assert_eq!(door.orders(), orders);
    assert!(orders.iter().all(|o| o.1 == "confirmed"));
    assert_eq!(door.tentative(), 0);
    assert_eq!(organizer.remaining("Full").0, 2);
    assert_eq!(
        door.confirmed_positions(),
        organizer.confirmed_positions(),
        "one order of events for all"
    );
}

#[test]
fn the_server_killed_mid_push_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let mut organizer = organizer(&server);
    let mut door = door_with_allotment(&server, "Full=10");
    // Many small commands so the push takes several requests.
    for _ in 0..10 {
        door.sell("Full=1", false).expect("sale");
    }
    for i in 0..30 {
        let order = door.app.orders(Some("demo")).unwrap()[i % 10]
            .id
            .to_string();
        door.app
            .assign_seat(
                &conference_app::Ctx::new(chrono::Utc::now()),
                &order,
                0,
                "Ada",
                &format!("L{i}"),
                "ada@example.com",
            )
            .expect("assign");
    }
    let link = door.app.sync_settings().unwrap().unwrap();
    let (tx, rx) = mpsc::channel();
    let mut transport = Faulty::new(HttpTransport::new(&link).unwrap().with_attempts(1), []);
    transport.on_push = Some(tx);
    let app = std::mem::replace(
        &mut door.app,
        conference_app::App::open(dir.path().join("scratch.db")).unwrap(),
    );
    let pusher = std::thread::spawn(move || {
        let mut app = app;
        let result = app.sync(&transport, chrono::Utc::now());
        (app, result.map(|_| ()).map_err(|e| e.code().to_string()))
    });
    rx.recv().expect("the push started");
    server.kill_9();
    let (app, result) = pusher.join().expect("the pushing thread");
    door.app = app;
    assert!(result.is_err() || door.app.status().unwrap().pending_commands == 0);
    let pending_before = door.app.status().unwrap().pending_commands;
    server.restart();
    door.sync();
    assert_eq!(
        door.app.status().unwrap().pending_commands,
        0,
        "{pending_before} pending went through after the restart"
    );
    organizer.sync();
    assert_eq!(organizer.orders().len(), 10);
    assert_eq!(door.orders(), organizer.orders());
    assert_eq!(door.tentative(), 0);
    assert_eq!(door.confirmed_positions(), organizer.confirmed_positions());
    // Every order's attendee is the last one assigned, so the commands kept their order.
    for (i, order) in door.app.orders(Some("demo")).unwrap().iter().enumerate() {
        let seen_by_organizer = organizer.app.order_by_text(&order.id.to_string()).unwrap();
        let mine = door.app.order_by_text(&order.id.to_string()).unwrap();
        assert_eq!(seen_by_organizer.assignments, mine.assignments, "order {i}");
    }
}

/// A server that takes at most `max` commands per push and answers 413 above that.
struct SmallBodies {
    inner: HttpTransport,
    max: usize,
    refused: RefCell<u32>,
}

impl Transport for SmallBodies {
    fn push(&self, request: &PushRequest) -> Result<PushResponse, SyncError> {
        if request.commands.len() > self.max {
            *self.refused.borrow_mut() += 1;
            return Err(SyncError::Refused {
                status: 413,
                body: conference_protocol::ErrorBody {
                    code: "payload_too_large".into(),
                    message: "too large".into(),
                    field: None,
                },
            });
        }
        self.inner.push(request)
    }
    fn pull(&self, after: i64, limit: u32) -> Result<PullResponse, SyncError> {
        self.inner.pull(after, limit)
    }
    fn request_allotment(
        &self,
        request: &AllotmentRequest,
    ) -> Result<AllotmentResponse, SyncError> {
        self.inner.request_allotment(request)
    }
    fn me(&self) -> Result<DeviceRecord, SyncError> {
        self.inner.me()
    }
    fn reconciliation(&self) -> Result<Vec<ReconciliationItem>, SyncError> {
        self.inner.reconciliation()
    }
}

#[test]
fn a_push_too_large_for_the_server_is_split() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut organizer = organizer(&server);
    let mut door = door_with_allotment(&server, "Full=10");
    for _ in 0..10 {
        door.sell("Full=1", false).expect("sale");
    }
    let link = door.app.sync_settings().unwrap().unwrap();
    let transport = SmallBodies {
        inner: HttpTransport::new(&link).unwrap(),
        max: 3,
        refused: RefCell::new(0),
    };
    let report = door
        .app
        .sync(&transport, chrono::Utc::now())
        .expect("sync in smaller pushes");
    assert_eq!(report.applied, 10);
    assert!(
        *transport.refused.borrow() > 0,
        "the server refused the first, larger push"
    );
    organizer.sync();
    assert_eq!(organizer.orders().len(), 10);
}

// ---------------------------------------------------------------------------------------
// The same guarantees with the faults on the wire: devices talk to the server through a
// fault-injecting proxy (`crate::proxy`) with their real HTTP transport, retries and all.

/// The schedule's seed; `FAULT_SEED=N` replays a failing run.
fn seed(default: u64) -> u64 {
    std::env::var("FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// A device whose transport goes through `proxy`, its token registered under `name`.
fn via_proxy(
    proxy: &Proxy,
    mut app: conference_app::App,
    store: TestStore,
    name: &str,
    token: &DeviceToken,
) -> Device {
    proxy.register(&token.token, name);
    app.connect(&proxy.url, &token.token).expect("connect");
    let transport = HttpTransport::new(&app.sync_settings().unwrap().expect("connected"))
        .expect("transport")
        .with_attempts(3);
    Device {
        app,
        transport,
        _store: store,
    }
}

/// Every outbox row the server has answered, as (device sequence, command id).
fn answered(device: &Device) -> BTreeSet<(i64, Vec<u8>)> {
    let mut stmt = device
        .app
        .store()
        .reader()
        .prepare("SELECT device_seq, command_id FROM outbox WHERE status != 'pending'")
        .expect("query");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// Syncs until a sync gets through; only an unreachable server may fail it. Everything
/// the server answered along the way goes into `acked`. Returns the failed syncs.
fn sync_via(device: &mut Device, proxy: &Proxy, acked: &mut BTreeSet<(i64, Vec<u8>)>) -> u32 {
    let mut failures = 0;
    loop {
        let result = device.app.sync(&device.transport, chrono::Utc::now());
        acked.extend(answered(device));
        match result {
            Ok(_) => return failures,
            Err(e) => {
                assert_eq!(
                    e.code(),
                    "server_unreachable",
                    "only the wire fails: {e}\n{}",
                    proxy.report()
                );
                failures += 1;
                assert!(failures < 100, "sync never got through\n{}", proxy.report());
            }
        }
    }
}

/// A door of the proxied world (or another device): what it sold and acknowledged, and
/// who sits where.
struct Door {
    device: Device,
    index: usize,
    sold: Vec<String>,
    last_attendee: BTreeMap<String, String>,
    acked: BTreeSet<(i64, Vec<u8>)>,
}

/// A server, a proxy in front of it, the organizer (with a large `Hall` seat type) and
/// `doors` doors with `Hall=allotment` each, everyone already through the proxy.
struct World {
    _dir: tempfile::TempDir,
    server: Server,
    proxy: Proxy,
    organizer: Device,
    organizer_acked: BTreeSet<(i64, Vec<u8>)>,
    doors: Vec<Door>,
}

impl World {
    fn new(schedule: Schedule, doors: usize, allotment: u32) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start_plain(dir.path());
        let proxy = Proxy::start(&server.url, schedule);
        let token = server.add_device("Organizer", "organizer", &[]);
        let store = temp_store();
        let mut app = demo_app(&store.path);
        app.add_seat_type(&ctx(0), "demo", "Hall", "", "10", 500)
            .expect("Hall");
        let mut organizer = via_proxy(&proxy, app, store, "Organizer", &token);
        let mut organizer_acked = BTreeSet::new();
        sync_via(&mut organizer, &proxy, &mut organizer_acked);
        let doors = (0..doors)
            .map(|index| {
                let name = format!("Door {index}");
                let token = server.add_device(&name, "door", &["demo"]);
                let store = temp_store();
                let mut app = conference_app::App::open(&store.path).expect("open");
                app.init(&name, minute(0)).expect("init");
                let mut device = via_proxy(&proxy, app, store, &name, &token);
                let mut acked = BTreeSet::new();
                sync_via(&mut device, &proxy, &mut acked);
                // The same command id every time, so a retried grant is granted once.
                let grant = conference_app::Ctx::new(chrono::Utc::now());
                let mut tries = 0;
                while let Err(e) = device.app.request_allotment(
                    &device.transport,
                    &grant,
                    "demo",
                    &[format!("Hall={allotment}")],
                ) {
                    assert_eq!(e.code(), "server_unreachable", "{e}\n{}", proxy.report());
                    tries += 1;
                    assert!(tries < 100, "no allotment\n{}", proxy.report());
                }
                sync_via(&mut device, &proxy, &mut acked);
                assert_eq!(
                    device.remaining("Hall").1,
                    Some(i64::from(allotment)),
                    "the grant arrived once\n{}",
                    proxy.report()
                );
                Door {
                    device,
                    index,
                    sold: vec![],
                    last_attendee: BTreeMap::new(),
                    acked,
                }
            })
            .collect();
        Self {
            _dir: dir,
            server,
            proxy,
            organizer,
            organizer_acked,
            doors,
        }
    }

    /// Syncs everyone until nobody has anything left to push or pull, delivers what the
    /// proxy still holds back, and checks every guarantee against the server's own file.
    fn settle_and_check(&mut self) {
        for _ in 0..2 {
            for door in &mut self.doors {
                sync_via(&mut door.device, &self.proxy, &mut door.acked);
            }
            sync_via(&mut self.organizer, &self.proxy, &mut self.organizer_acked);
        }
        // Late copies still held go now; they must change nothing.
        self.proxy.release_late();
        let report = self.proxy.report();
        let server = ServerLog::read(&self.server.database);
        server.assert_each_command_applied_once(&report);

        let mut sold: Vec<String> = self.doors.iter().flat_map(|d| d.sold.clone()).collect();
        sold.sort();
        let organizer_orders = self.organizer.orders();
        let ids: Vec<String> = organizer_orders.iter().map(|o| o.0.clone()).collect();
        assert_eq!(ids, sold, "every sale arrived exactly once\n{report}");
        assert!(organizer_orders.iter().all(|o| o.1 == "confirmed"));

        let mut devices = vec![(&self.organizer, &self.organizer_acked)];
        devices.extend(self.doors.iter().map(|d| (&d.device, &d.acked)));
        for (device, acked) in devices {
            assert_eq!(device.tentative(), 0, "all confirmed\n{report}");
            assert_eq!(device.orders(), organizer_orders, "{report}");
            server.assert_device_agrees(device, acked, &report);
        }
        // Seat assignments of one order are ordered commands: the last one wins everywhere.
        for door in &self.doors {
            for (order, last) in &door.last_attendee {
                for device in
                    std::iter::once(&self.organizer).chain(self.doors.iter().map(|d| &d.device))
                {
                    let view = device.app.order_by_text(order).expect("order");
                    let attendee = view.assignments[0].attendee.as_ref().expect("assigned");
                    assert_eq!(&attendee.last_name, last, "order {order}\n{report}");
                }
            }
        }
    }
}

impl Door {
    /// One round at the door: two sales, then two (re)assignments, then a sync.
    fn round(&mut self, round: usize, proxy: &Proxy) {
        for _ in 0..2 {
            let order = self.device.sell("Hall=1", false).expect("sale");
            self.sold.push(order.id.to_string());
        }
        for k in 0..2 {
            let order = self.sold[(round * 3 + k) % self.sold.len()].clone();
            let last = format!("L{}r{round}k{k}", self.index);
            self.device
                .app
                .assign_seat(
                    &conference_app::Ctx::new(chrono::Utc::now()),
                    &order,
                    0,
                    "Ada",
                    &last,
                    "ada@example.com",
                )
                .expect("assign");
            self.last_attendee.insert(order, last);
        }
        sync_via(&mut self.device, proxy, &mut self.acked);
    }
}

/// One stored event: (position, stream key, stream version, type, schema version,
/// payload, command id).
type EventRow = (i64, Vec<u8>, i64, String, i64, String, Vec<u8>);

/// The server's SQLite file, read directly.
struct ServerLog {
    events: Vec<EventRow>,
    /// (device id, device sequence) → (command id, status), pushed commands only.
    commands: BTreeMap<(Vec<u8>, i64), (Vec<u8>, String)>,
}

impl ServerLog {
    fn read(path: &std::path::Path) -> Self {
        let conn =
            rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .expect("open the server's file");
        let mut stmt = conn
            .prepare(
                "SELECT position, stream_key, stream_version, event_type, schema_version, \
                 payload, command_id FROM events ORDER BY position",
            )
            .unwrap();
        let events = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT device_id, device_seq, command_id, status FROM commands \
                 WHERE device_seq IS NOT NULL",
            )
            .unwrap();
        let commands = stmt
            .query_map([], |r| Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?))))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        Self { events, commands }
    }

    /// A command applied twice would leave two runs of its events, or the same event twice.
    fn assert_each_command_applied_once(&self, report: &str) {
        let mut by_command: BTreeMap<&[u8], Vec<&EventRow>> = BTreeMap::new();
        for event in &self.events {
            by_command.entry(&event.6).or_default().push(event);
        }
        for (command, events) in by_command {
            let first = events[0].0;
            let last = events[events.len() - 1].0;
            assert_eq!(
                last - first + 1,
                events.len() as i64,
                "the events of command {command:?} are one run\n{report}"
            );
            let distinct: BTreeSet<_> = events.iter().map(|e| (&e.1, &e.3, &e.5)).collect();
            assert_eq!(distinct.len(), events.len(), "no event twice\n{report}");
        }
    }

    /// The device's confirmed log is the server's, its outbox is what the server took from
    /// it in the same order, and everything it was ever told was taken is there.
    fn assert_device_agrees(
        &self,
        device: &Device,
        acked: &BTreeSet<(i64, Vec<u8>)>,
        report: &str,
    ) {
        let reader = device.app.store().reader();
        let mut stmt = reader
            .prepare(
                "SELECT server_position, stream_key, stream_version, event_type, \
                 schema_version, payload, command_id FROM events \
                 WHERE server_position IS NOT NULL ORDER BY server_position",
            )
            .unwrap();
        let mine: Vec<EventRow> = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(mine.len(), self.events.len(), "the whole log\n{report}");
        assert!(
            mine == self.events,
            "the device's log is the server's\n{report}"
        );

        let device_id: Vec<u8> = reader
            .query_row("SELECT device_id FROM device", [], |r| r.get(0))
            .unwrap();
        let mut stmt = reader
            .prepare("SELECT device_seq, command_id, status FROM outbox ORDER BY device_seq")
            .unwrap();
        let outbox: Vec<(i64, Vec<u8>, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let taken: Vec<(i64, Vec<u8>, String)> = self
            .commands
            .range((device_id.clone(), i64::MIN)..=(device_id, i64::MAX))
            .map(|((_, seq), (id, status))| (*seq, id.clone(), status.clone()))
            .collect();
        assert_eq!(
            outbox, taken,
            "the server took this device's commands in its order\n{report}"
        );
        for (seq, command) in acked {
            assert!(
                taken.iter().any(|(s, c, _)| s == seq && c == command),
                "acknowledged command #{seq} is on the server\n{report}"
            );
        }
        // Device order is global order: each command's events come after the previous one's.
        let first_position =
            |command: &[u8]| self.events.iter().find(|e| e.6 == command).map(|e| e.0);
        let positions: Vec<i64> = taken
            .iter()
            .filter_map(|(_, command, _)| first_position(command))
            .collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "commands are in the server's log in device order\n{report}"
        );
    }
}

/// Doors sell and sync one after the other through one fault kind (or several).
fn through(faults: &[WireFault], default_seed: u64) {
    let seed = seed(default_seed);
    let mut world = World::new(Schedule::new(seed, faults, 1), 2, 12);
    for round in 0..5 {
        for door in &mut world.doors {
            door.round(round, &world.proxy);
        }
        sync_via(
            &mut world.organizer,
            &world.proxy,
            &mut world.organizer_acked,
        );
    }
    world.settle_and_check();
    let counts = world.proxy.counts();
    for fault in faults {
        assert!(
            counts.on_pushes(*fault) > 0,
            "{fault:?} really happened to pushes\n{}",
            world.proxy.report()
        );
    }
}

#[test]
fn proxy_lost_requests_change_nothing() {
    through(&[WireFault::DropRequest], 1);
}

#[test]
fn proxy_lost_and_cut_responses_change_nothing() {
    through(&[WireFault::DropResponse, WireFault::CutResponse], 2);
}

#[test]
fn proxy_duplicated_requests_change_nothing() {
    through(&[WireFault::Duplicate], 3);
}

#[test]
fn proxy_delayed_and_late_requests_change_nothing() {
    through(&[WireFault::Delay, WireFault::Late], 4);
}

#[test]
fn proxy_every_fault_at_once_with_doors_selling_in_parallel_and_a_server_crash() {
    let seed = seed(5);
    let mut world = World::new(Schedule::new(seed, &ALL_FAULTS, 2), 3, 12);
    // The fourth push from here on, whoever sends it, is in the server when it dies.
    let trap = world.proxy.trap_push(3, false);
    let proxy = &world.proxy;
    let server = &mut world.server;
    let organizer = &mut world.organizer;
    let organizer_acked = &mut world.organizer_acked;
    std::thread::scope(|s| {
        for door in &mut world.doors {
            s.spawn(move || {
                for round in 0..6 {
                    door.round(round, proxy);
                }
            });
        }
        s.spawn(move || {
            for _ in 0..3 {
                sync_via(organizer, proxy, organizer_acked);
            }
        });
        // A bound only so that a broken test fails instead of hanging.
        trap.reached
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("a push is in the server");
        server.kill_9();
        server.restart();
        trap.resume.send(()).expect("resume");
    });
    world.settle_and_check();
    let counts = world.proxy.counts();
    assert_eq!(counts.trapped_pushes, 1);
    for fault in ALL_FAULTS {
        assert!(
            counts.of(fault) > 0,
            "{fault:?} really happened\n{}",
            world.proxy.report()
        );
    }
}

#[test]
fn proxy_the_server_killed_and_restarted_mid_push_loses_nothing() {
    let mut world = World::new(Schedule::none(), 1, 20);
    let door = &mut world.doors[0];
    // 10 sales and 70 seat assignments: more than one push request.
    let more_than_a_push = |door: &mut Door| {
        for _ in 0..10 {
            let order = door.device.sell("Hall=1", false).expect("sale");
            door.sold.push(order.id.to_string());
        }
        for i in 0..70 {
            let order = door.sold[door.sold.len() - 10 + i % 10].clone();
            let last = format!("K{i}");
            door.device
                .app
                .assign_seat(
                    &conference_app::Ctx::new(chrono::Utc::now()),
                    &order,
                    0,
                    "Ada",
                    &last,
                    "ada@example.com",
                )
                .expect("assign");
            door.last_attendee.insert(order, last);
        }
    };

    // 1. Killed while the second push is in the server, and back before the device's
    // retry: the same sync goes through.
    more_than_a_push(door);
    let trap = world.proxy.trap_push(1, false);
    std::thread::scope(|s| {
        let proxy = &world.proxy;
        let pushing = s.spawn(move || sync_via(&mut door.device, proxy, &mut door.acked));
        trap.reached
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("the second push is in the server");
        world.server.kill_9();
        world.server.restart();
        trap.resume.send(()).expect("resume");
        let failures = pushing.join().expect("the pushing thread");
        assert_eq!(
            failures, 0,
            "the transport's retry reached the restarted server"
        );
    });
    assert_eq!(world.proxy.counts().trapped_pushes, 1);

    // 2. Killed with half a push received, and down until the device gives up.
    let door = &mut world.doors[0];
    more_than_a_push(door);
    let before = answered(&door.device);
    let trap = world.proxy.trap_push(0, true);
    std::thread::scope(|s| {
        let proxy = &world.proxy;
        let device = &mut door.device;
        let pushing = s.spawn(move || {
            device
                .app
                .sync(&device.transport, chrono::Utc::now())
                .map(|_| ())
                .map_err(|e| e.code().to_string())
        });
        trap.reached
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("half a push is in the server");
        world.server.kill_9();
        trap.resume.send(()).expect("resume");
        let result = pushing.join().expect("the pushing thread");
        assert_eq!(
            result,
            Err("server_unreachable".to_string()),
            "{}",
            proxy.report()
        );
    });
    assert!(world.proxy.counts().unreachable > 0, "the server was gone");
    assert_eq!(
        answered(&door.device),
        before,
        "nothing answered while down"
    );
    world.server.restart();
    let door = &mut world.doors[0];
    sync_via(&mut door.device, &world.proxy, &mut door.acked);
    assert_eq!(world.proxy.counts().trapped_pushes, 2);
    world.settle_and_check();
}

#[test]
fn proxy_one_fault_in_a_sync_is_absorbed_by_the_transports_retries() {
    let mut world = World::new(Schedule::none(), 1, 12);
    let door = &mut world.doors[0];
    for fault in ALL_FAULTS {
        let order = door.device.sell("Hall=1", false).expect("sale");
        door.sold.push(order.id.to_string());
        // The door's next push.
        let next = world.proxy.requests_from("Door 0", "/v1/push");
        world.proxy.script("Door 0", "/v1/push", next, fault);
        let report = door
            .device
            .app
            .sync(&door.device.transport, chrono::Utc::now())
            .unwrap_or_else(|e| panic!("{fault:?}: {e}\n{}", world.proxy.report()));
        assert_eq!(report.applied, 1, "{fault:?}");
        door.acked.extend(answered(&door.device));
        world.proxy.release_late();
        assert_eq!(
            world.proxy.counts().on_pushes(fault),
            1,
            "{fault:?} hit the push\n{}",
            world.proxy.report()
        );
    }
    world.settle_and_check();
}

#[test]
fn proxy_rebased_and_rejected_pushes_keep_their_outcome_through_faults() {
    let seed = seed(6);
    let faults = [
        WireFault::DropResponse,
        WireFault::CutResponse,
        WireFault::Duplicate,
        WireFault::Late,
    ];
    let mut world = World::new(Schedule::new(seed, &faults, 1), 0, 0);
    // A second organizer edits the same conference: its pushes meet the first one's
    // changes on the server and are rebased or rejected there.
    let token = world.server.add_device("Organizer 2", "organizer", &[]);
    let store = temp_store();
    let mut app = conference_app::App::open(&store.path).expect("open");
    app.init("Organizer 2", minute(0)).expect("init");
    let mut second = via_proxy(&world.proxy, app, store, "Organizer 2", &token);
    let mut acked = BTreeSet::new();
    sync_via(&mut second, &world.proxy, &mut acked);
    let now = || conference_app::Ctx::new(chrono::Utc::now());
    let rounds = 8;
    for round in 0..rounds {
        world
            .organizer
            .app
            .add_seat_type(&now(), "demo", &format!("Workshop {round}"), "", "30", 5)
            .expect("first organizer's seat type");
        second
            .app
            .add_seat_type(&now(), "demo", &format!("Balcony {round}"), "", "20", 7)
            .expect("second organizer's seat type");
        second
            .app
            .add_seat_type(&now(), "demo", &format!("Workshop {round}"), "", "35", 6)
            .expect("the same name, offline");
        sync_via(
            &mut world.organizer,
            &world.proxy,
            &mut world.organizer_acked,
        );
        sync_via(&mut second, &world.proxy, &mut acked);
    }
    let rejections = second.app.status().expect("status").rejections;
    assert_eq!(
        rejections.len(),
        rounds,
        "each clash rejected once, and it stays visible\n{}",
        world.proxy.report()
    );
    assert!(
        rejections.iter().all(|r| r.code == "seat_type_name_taken"),
        "{rejections:?}"
    );
    world.doors.push(Door {
        device: second,
        index: 99,
        sold: vec![],
        last_attendee: BTreeMap::new(),
        acked,
    });
    world.settle_and_check();
    let names = |device: &Device| -> Vec<(String, String, i64)> {
        let seats = device.app.seats("demo").expect("seats");
        let prices = device
            .app
            .conference("demo")
            .expect("conference")
            .seat_types;
        seats
            .seat_types
            .iter()
            .map(|s| {
                let price = prices.iter().find(|p| p.name == s.name).expect("price");
                (s.name.clone(), price.price.clone(), s.remaining)
            })
            .collect()
    };
    let first = names(&world.organizer);
    assert_eq!(first, names(&world.doors[0].device));
    for round in 0..rounds {
        assert!(first.contains(&(format!("Workshop {round}"), "30.00".into(), 5)));
        assert!(first.contains(&(format!("Balcony {round}"), "20.00".into(), 7)));
    }
    let counts = world.proxy.counts();
    for fault in faults {
        assert!(
            counts.on_pushes(fault) > 0,
            "{fault:?} really happened to pushes\n{}",
            world.proxy.report()
        );
    }
}
