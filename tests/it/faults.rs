//! Faults between a device and a real server: lost requests, lost responses, duplicated
//! and late (replayed) requests, and the server killed with SIGKILL in the middle of a
//! push. Afterwards nothing acknowledged is lost, nothing is duplicated, order is kept.
use crate::server::Server;
use crate::sync::{Device, door, organizer};
use conference_app::conference_protocol::sync::{
    AllotmentRequest, AllotmentResponse, DeviceRecord, PullResponse, PushRequest, PushResponse,
    ReconciliationItem,
};
use conference_app::http::HttpTransport;
use conference_app::sync::{SyncError, Transport};
use std::cell::RefCell;
use std::collections::VecDeque;
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
    let transport =
        HttpTransport::new(&server.url, &door.app.sync_settings().unwrap().unwrap().1).unwrap();
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
    let token = door.app.sync_settings().unwrap().unwrap().1;
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
        let transport = Faulty::new(
            HttpTransport::new(&server.url, &token)
                .unwrap()
                .with_attempts(1),
            plan,
        );
        let failures = sync_through(&mut door, &transport);
        assert!(failures > 0 || round == 2, "round {round} injected faults");
        // A late copy of every push this round arrives again after the fact.
        for late in transport.pushes.borrow().iter() {
            let again = transport
                .inner
                .push(late)
                .expect("a replayed push is answered");
            assert!(again.results.iter().all(
                |r| r.status == conference_app::conference_protocol::sync::PushStatus::Applied
            ));
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
    let token = door.app.sync_settings().unwrap().unwrap().1;
    let (tx, rx) = mpsc::channel();
    let mut transport = Faulty::new(
        HttpTransport::new(&server.url, &token)
            .unwrap()
            .with_attempts(1),
        [],
    );
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
                body: conference_app::conference_protocol::ErrorBody {
                    code: "payload_too_large".into(),
                    message: "too large".into(),
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
    let token = door.app.sync_settings().unwrap().unwrap().1;
    let transport = SmallBodies {
        inner: HttpTransport::new(&server.url, &token).unwrap(),
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
