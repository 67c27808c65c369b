//! Several devices and one real sync server on 127.0.0.1, each device on its own SQLite
//! file: allotments, offline sales, overrides, convergence.
//!
//! tidy: long because each scenario sets up several devices and a server for one sync
//! story; splitting it by topic is not done yet.
use crate::helpers::{demo_app, minute, temp_store};
use crate::server::{DeviceToken, Server};
use conference_app::http::HttpTransport;

use conference_app::{App, Ctx, PaymentInput, SaleInput};

pub struct Device {
    pub app: App,
    pub transport: HttpTransport,
    pub _store: crate::helpers::TestStore,
}

impl Device {
    /// A fresh device store enrolled with `token`'s code.
    pub fn join(name: &str, token: &DeviceToken) -> Self {
        let store = temp_store();
        let mut app = App::open(&store.path).expect("open");
        app.init(name, minute(0)).expect("init");
        Self::connect(app, store, token)
    }

    pub fn connect(mut app: App, store: crate::helpers::TestStore, token: &DeviceToken) -> Self {
        app.enroll(&token.code, false).expect("enroll");
        let transport = HttpTransport::new(&token.link())
            .expect("transport")
            .with_attempts(2);
        Self {
            app,
            transport,
            _store: store,
        }
    }

    pub fn sync(&mut self) -> conference_app::sync::SyncReport {
        self.app
            .sync(&self.transport, chrono::Utc::now())
            .expect("sync")
    }

    pub fn sell(
        &mut self,
        seats: &str,
        allow_override: bool,
    ) -> Result<conference_protocol::OrderView, conference_app::AppError> {
        self.sell_with(seats, &[], allow_override)
    }

    pub fn sell_with(
        &mut self,
        seats: &str,
        promo_codes: &[&str],
        allow_override: bool,
    ) -> Result<conference_protocol::OrderView, conference_app::AppError> {
        self.app.sell(
            &Ctx::new(chrono::Utc::now()),
            &SaleInput {
                slug: "demo".into(),
                seats: vec![seats.into()],
                promo_codes: promo_codes.iter().map(|c| (*c).to_string()).collect(),
                registrant: None,
                payment: Some(PaymentInput {
                    method: "cash".into(),
                    tendered: None,
                    reference: None,
                }),
                allow_override,
            },
        )
    }

    pub fn remaining(&self, seat_type: &str) -> (i64, Option<i64>) {
        let seats = self.app.seats("demo").expect("seats");
        let row = seats
            .seat_types
            .iter()
            .find(|s| s.name == seat_type)
            .expect("seat type");
        (row.remaining, row.allotment_remaining)
    }

    /// Orders as (id, status, total, device), sorted, for comparing devices.
    pub fn orders(&self) -> Vec<(String, String, String, String)> {
        let mut orders: Vec<_> = self
            .app
            .orders(Some("demo"))
            .expect("orders")
            .into_iter()
            .map(|o| (o.id.to_string(), o.status, o.total, o.device_id.to_string()))
            .collect();
        orders.sort();
        orders
    }

    /// Local events the server has not confirmed.
    pub fn tentative(&self) -> i64 {
        self.app
            .store()
            .reader()
            .query_row(
                "SELECT COUNT(*) FROM events WHERE server_position IS NULL",
                [],
                |r| r.get(0),
            )
            .expect("count")
    }

    /// The server positions this device holds, in order.
    pub fn confirmed_positions(&self) -> Vec<i64> {
        let mut stmt = self
            .app
            .store()
            .reader()
            .prepare("SELECT server_position FROM events WHERE server_position IS NOT NULL ORDER BY server_position")
            .expect("query");
        stmt.query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows")
    }
}

/// A door device for the demo conference, joined to `server` (not yet synced).
pub fn door(server: &Server, name: &str) -> Device {
    Device::join(name, &server.add_device(name, "door", &["demo"]))
}

/// The organizer's device with the demo conference, created offline and then synced.
pub fn organizer(server: &Server) -> Device {
    let token = server.add_device("Organizer", "organizer", &[]);
    let store = temp_store();
    let app = demo_app(&store.path);
    let mut device = Device::connect(app, store, &token);
    let report = device.sync();
    assert!(
        report.applied >= 8,
        "the setup is stored as written: {report:?}"
    );
    assert_eq!(report.rejected, 0);
    device
}

pub fn allot(device: &mut Device, seats: &str) -> u32 {
    let transport = HttpTransport::new(&device.link()).unwrap();
    let (granted, _) = device
        .app
        .request_allotment(
            &transport,
            &Ctx::new(chrono::Utc::now()),
            "demo",
            &[seats.to_string()],
        )
        .expect("allotment");
    granted.seats.iter().map(|s| s.quantity).sum()
}

impl Device {
    fn link(&self) -> conference_app::ServerLink {
        self.app.sync_settings().unwrap().unwrap()
    }
}

#[test]
fn three_devices_sell_offline_and_agree_after_sync() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut organizer = organizer(&server);
    let mut door1 = door(&server, "Door 1");
    let mut door2 = door(&server, "Door 2");
    door1.sync();
    door2.sync();
    assert_eq!(
        door1.remaining("Full"),
        (10, Some(0)),
        "the doors see the pool, and no allotment yet"
    );

    // Online: each door takes an allotment; the pool never gives more than it has.
    assert_eq!(allot(&mut door1, "Full=4"), 4);
    assert_eq!(allot(&mut door2, "Full=4"), 4);
    assert_eq!(
        allot(&mut door2, "Full=9"),
        2,
        "a grant never exceeds the free pool"
    );
    assert_eq!(door1.remaining("Full"), (10, Some(4)));
    assert_eq!(door2.remaining("Full").1, Some(6));

    // Offline: door 1 sells its four and one more by override; door 2 sells three.
    for _ in 0..4 {
        door1
            .sell("Full=1", false)
            .expect("sale from the allotment");
    }
    let refused = door1
        .sell("Full=1", false)
        .expect_err("the allotment is spent");
    assert_eq!(refused.code(), "allotment_exhausted");
    door1.sell("Full=1", true).expect("an override sale");
    for _ in 0..3 {
        door2.sell("Full=1", false).expect("sale");
    }
    assert_eq!(door1.remaining("Full").1, Some(-1));

    // Back online, in any order, twice so everyone has everyone's events.
    for _ in 0..2 {
        door2.sync();
        door1.sync();
        organizer.sync();
    }
    let orders = organizer.orders();
    assert_eq!(orders.len(), 8);
    assert_eq!(door1.orders(), orders);
    assert_eq!(door2.orders(), orders);
    for device in [&organizer, &door1, &door2] {
        assert_eq!(
            device.tentative(),
            0,
            "everything is confirmed by the server"
        );
        // Nothing the pool had left could cover the override (door 2 took it all), so the
        // sale waits in the reconciliation queue; remaining seats agree everywhere.
        assert_eq!(device.remaining("Full").0, 2, "10 seats, 8 sold");
    }
    assert_eq!(door1.confirmed_positions(), organizer.confirmed_positions());
    assert_eq!(door2.confirmed_positions(), organizer.confirmed_positions());
    let queue = server.admin(&["reconciliation", "list"]);
    let items = queue.as_array().expect("a list");
    assert_eq!(items.len(), 1, "{queue}");
    assert_eq!(items[0]["kind"], "over_allotment");
    assert_eq!(items[0]["detail"]["uncovered"], 1);
    // The organizer's device sees the same queue as the server's admin.
    let seen = organizer
        .app
        .reconciliation(&organizer.transport)
        .expect("the queue");
    assert_eq!(serde_json::to_value(&seen).unwrap(), queue);
}

#[test]
fn an_override_is_covered_from_the_free_pool_when_it_can_be() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut organizer = organizer(&server);
    let mut door = door(&server, "Door");
    door.sync();
    assert_eq!(allot(&mut door, "Student=1"), 1);
    door.sell("Student=1", false).unwrap();
    door.sell("Student=1", true).unwrap();
    door.sync();
    // The pool had two Students free: one covers the override, and the grant lands in the
    // door's allotment, which is back to zero.
    assert_eq!(door.remaining("Student"), (1, Some(0)));
    organizer.sync();
    assert_eq!(organizer.remaining("Student").0, 1);
    let queue = server.admin(&["reconciliation", "list"]);
    assert_eq!(queue.as_array().map(Vec::len), Some(0), "{queue}");
}

#[test]
fn two_organizers_edit_offline_and_the_server_rebases_or_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut first = organizer(&server);
    let mut second = Device::join(
        "Organizer 2",
        &server.add_device("Organizer 2", "organizer", &[]),
    );
    second.sync();
    let ctx = || Ctx::new(chrono::Utc::now());
    // Both offline: different new seat types, and the same name once.
    first
        .app
        .add_seat_type(&ctx(), "demo", "Workshop", "", "30", 5)
        .unwrap();
    second
        .app
        .add_seat_type(&ctx(), "demo", "Balcony", "", "20", 7)
        .unwrap();
    second
        .app
        .add_seat_type(&ctx(), "demo", "Workshop", "", "35", 6)
        .unwrap();
    first.sync();
    let report = second.sync();
    assert_eq!((report.rebased, report.rejected), (1, 1), "{report:?}");
    assert_eq!(report.rejections.len(), 1);
    assert_eq!(report.rejections[0].code, "seat_type_name_taken");
    first.sync();
    for device in [&first, &second] {
        let conference = device.app.conference("demo").unwrap();
        let names: Vec<_> = conference
            .seat_types
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["Full", "Student", "Speaker", "Workshop", "Balcony"]);
        let workshop = conference
            .seat_types
            .iter()
            .find(|s| s.name == "Workshop")
            .unwrap();
        assert_eq!(
            workshop.price, "30.00",
            "the first organizer's Workshop stands"
        );
        assert_eq!(device.tentative(), 0);
        assert_eq!(
            device.remaining("Balcony").0,
            7,
            "the server's pool got the rebased seats"
        );
    }
    let status = second.app.status().unwrap();
    assert_eq!(status.rejections.len(), 1, "the rejection stays visible");
}

#[test]
fn the_cli_syncs_with_a_remembered_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut organizer = organizer(&server);
    let token = server.add_device("Door", "door", &["demo"]);
    let store = temp_store();
    let cli = |args: &[&str]| crate::helpers::cli_json(&store.path, args);
    assert!(cli(&["init", "--device-name", "Door"]).0);
    // Enrolled with the code on standard input (no token on a command line), then synced.
    let enroll = std::process::Command::new(crate::helpers::cli_binary())
        .arg("--store")
        .arg(&store.path)
        .args(["enroll", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            writeln!(child.stdin.take().expect("stdin"), "{}", token.code)?;
            child.wait_with_output()
        })
        .expect("conference enroll");
    let said = String::from_utf8_lossy(&enroll.stdout);
    assert!(enroll.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "pinned (sha256 {})",
            server.fingerprint.as_deref().expect("a TLS server")
        )),
        "{said}"
    );
    let (ok, report) = cli(&["sync"]);
    assert!(ok, "{report}");
    let (ok, out) = cli(&["allotment", "request", "demo", "--seat", "Full=2"]);
    assert!(ok, "{out}");
    let (ok, sale) = cli(&[
        "sell",
        "demo",
        "--seat",
        "Full=1",
        "--method",
        "card",
        "--reference",
        "T1",
    ]);
    assert!(ok, "{sale}");
    let (_, status) = cli(&["status"]);
    assert_eq!(status["pending_commands"], 1);
    let (ok, report) = cli(&["sync"]);
    assert!(ok, "the server and token are remembered: {report}");
    assert_eq!(report["applied"], 1);
    organizer.sync();
    assert_eq!(organizer.orders().len(), 1);
    let (_, status) = cli(&["status"]);
    assert_eq!(status["pending_commands"], 0);
    assert_eq!(status["allotments"][0]["remaining"], 1);
}

#[test]
fn a_limited_promo_code_used_past_its_limit_offline_keeps_both_sales_and_is_reconciled() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut organizer = organizer(&server);
    let mut door1 = door(&server, "Door 1");
    let mut door2 = door(&server, "Door 2");
    door1.sync();
    door2.sync();
    assert_eq!(allot(&mut door1, "Student=1"), 1);
    assert_eq!(allot(&mut door2, "Student=1"), 1);
    // STUDENTFREE may be used once; both doors use it while offline.
    let first = door1
        .sell_with("Student=1", &["STUDENTFREE"], false)
        .expect("first use");
    let second = door2
        .sell_with("Student=1", &["STUDENTFREE"], false)
        .expect("second use");
    assert_eq!(first.total, "0.00");
    assert_eq!(second.total, "0.00");
    // An unknown code is still refused on the spot, offline.
    let refused = door1
        .sell_with("Full=1", &["NOPE"], true)
        .expect_err("unknown code");
    assert_eq!(refused.code(), "unknown_promo_code");
    door1.sync();
    door2.sync();
    organizer.sync();
    door1.sync();
    for device in [&organizer, &door1, &door2] {
        let orders = device.orders();
        assert_eq!(orders.len(), 2, "no sale is lost");
        assert!(orders.iter().all(|o| o.1 == "confirmed"));
        let code = device
            .app
            .conference("demo")
            .unwrap()
            .promo_codes
            .into_iter()
            .find(|p| p.code == "STUDENTFREE")
            .unwrap();
        assert_eq!(
            (code.redeemed, code.held),
            (1, 0),
            "the server counted one use"
        );
    }
    let queue = server.admin(&["reconciliation", "list"]);
    let items = queue.as_array().expect("a list");
    assert_eq!(items.len(), 1, "{queue}");
    assert_eq!(items[0]["kind"], "promo_overuse");
    assert_eq!(items[0]["detail"]["code"], "STUDENTFREE");
    assert_eq!(items[0]["detail"]["order_id"], second.id.to_string());
}

#[test]
fn a_following_device_hears_of_another_devices_sale_through_the_live_feed() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let _organizer = organizer(&server);
    let mut seller = door(&server, "Door 1");
    seller.sync();
    assert_eq!(allot(&mut seller, "Full=2"), 2);

    // Door 2 is a headless device following the feed from the CLI. Its poll is an hour
    // away, so only the feed can make it sync during this test.
    let token = server.add_device("Door 2", "door", &["demo"]);
    let store = temp_store();
    assert!(crate::helpers::cli_json(&store.path, &["init", "--device-name", "Door 2"]).0);
    assert!(crate::helpers::cli_json(&store.path, &["enroll", &token.code]).0);
    let mut follower = std::process::Command::new(crate::helpers::cli_binary())
        .arg("--store")
        .arg(&store.path)
        .args(["--json", "sync", "--follow", "--poll", "3600"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the follower");
    let pid = follower.id();
    // A guard, not a synchronisation: if the feed never moves the follower, end it so the
    // test fails instead of hanging.
    let (done, guard) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if guard
            .recv_timeout(std::time::Duration::from_secs(120))
            .is_err()
        {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
        }
    });
    let mut lines = std::io::BufReader::new(follower.stdout.take().unwrap()).lines();
    let mut next_report = || -> serde_json::Value {
        let line = lines
            .next()
            .expect("the follower printed a line per sync")
            .unwrap();
        serde_json::from_str(&line).expect("a JSON line")
    };
    let first = next_report();
    assert!(first.get("error").is_none(), "{first}");

    let sale = seller.sell("Full=1", false).expect("sale");
    let head = seller.sync().position;
    assert!(head > first["position"].as_i64().unwrap());
    let mut reports = 1;
    loop {
        let report = next_report();
        reports += 1;
        assert!(report.get("error").is_none(), "{report}");
        if report["position"].as_i64().unwrap() >= head {
            break;
        }
    }
    let _ = done.send(());
    watchdog.join().unwrap();
    follower.kill().unwrap();
    follower.wait().unwrap();
    assert!(reports >= 2);

    let follower_app = App::open(&store.path).expect("open");
    let orders = follower_app.orders(Some("demo")).expect("orders");
    assert!(
        orders
            .iter()
            .any(|o| o.id == sale.id && o.status == "confirmed"),
        "the follower has the other door's sale"
    );
}

/// What a device of the first release (V1) reads: no promo codes, no allotments, no
/// cancellations, `OrderPaymentConfirmed` instead of `OrderConfirmed`, totals v1.
pub fn v1_reads() -> std::collections::BTreeMap<String, u32> {
    let mut reads: std::collections::BTreeMap<String, u32> =
        conference_domain::aggregate::schema_versions()
            .into_iter()
            .map(|(t, v)| (t.to_string(), v))
            .collect();
    for v2_only in [
        "PromoCodeAdded",
        "PromoRedemptionsHeld",
        "PromoRedemptionsCommitted",
        "PromoRedemptionsReleased",
        "OrderConfirmed",
        "OrderCancelled",
        "SeatsAllotted",
        "AllotmentReceived",
        "AllotmentReturned",
        "ReturnedSeatsAccepted",
        "PaymentRefunded",
    ] {
        assert!(
            reads.remove(v2_only).is_some(),
            "{v2_only} is an event type"
        );
    }
    reads.insert("OrderPaymentConfirmed".into(), 1);
    reads.insert("OrderTotalsCalculated".into(), 1);
    reads
}

#[test]
fn a_device_reading_v1_shapes_syncs_through_the_same_server_during_an_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut organizer = organizer(&server);
    // A conference with nothing V1 could not read: no promo codes.
    let at = || Ctx::new(chrono::Utc::now());
    organizer
        .app
        .create_conference(
            &at(),
            conference_app::NewConference {
                slug: "classic".into(),
                name: "Classic".into(),
                location: "Redmond".into(),
                start: Some(minute(60 * 24 * 30)),
                end: Some(minute(60 * 24 * 31)),
                owner_name: "Contoso".into(),
                owner_email: "events@contoso.example".into(),
                currency: Some("USD".into()),
                ..conference_app::NewConference::default()
            },
        )
        .expect("create");
    for (name, price) in [("Full", "300"), ("Speaker", "0")] {
        organizer
            .app
            .add_seat_type(&at(), "classic", name, "", price, 20)
            .expect("seat type");
    }
    organizer
        .app
        .publish(&at(), "classic", true)
        .expect("publish");
    organizer.sync();

    // A V2 door sells a paid seat from its allotment.
    let mut door = Device::join(
        "Door V2",
        &server.add_device("Door V2", "door", &["classic"]),
    );
    door.sync();
    let grant = |device: &mut Device, seats: &str| {
        let transport = HttpTransport::new(&device.link()).unwrap();
        device
            .app
            .request_allotment(&transport, &at(), "classic", &[seats.to_string()])
            .expect("allotment");
    };
    grant(&mut door, "Full=3");
    let sale = |seats: &str, payment: Option<PaymentInput>| SaleInput {
        slug: "classic".into(),
        seats: vec![seats.into()],
        payment,
        ..SaleInput::default()
    };
    let paid = door
        .app
        .sell(
            &at(),
            &sale(
                "Full=1",
                Some(PaymentInput {
                    method: "cash".into(),
                    ..PaymentInput::default()
                }),
            ),
        )
        .expect("a paid sale");
    door.sync();

    // A device still on V1 shapes syncs through the same server.
    let token = server.add_device("Door V1", "door", &["classic"]);
    let store = temp_store();
    let mut old = App::open(&store.path).expect("open");
    old.init("Door V1", minute(0)).expect("init");
    old.enroll(&token.code, false).expect("enroll");
    let v1 = HttpTransport::new(&token.link())
        .unwrap()
        .with_attempts(2)
        .reading(&v1_reads());
    old.sync(&v1, chrono::Utc::now())
        .expect("a V1 reader syncs");
    let order = old
        .order(conference_domain::OrderId::from_uuid(paid.id))
        .expect("the V2 door's sale reached the V1 device");
    assert_eq!(order.status, "confirmed");
    assert_eq!(order.total, paid.total);
    // It got V1's shapes, and the pool's side of the grant instead of the allotment stream.
    let conn = rusqlite::Connection::open(&store.path).unwrap();
    let count = |event_type: &str| -> i64 {
        conn.query_row(
            "SELECT COUNT(*) FROM events WHERE event_type = ?1",
            [event_type],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(count("OrderConfirmed"), 0);
    assert_eq!(count("OrderPaymentConfirmed"), 1);
    assert_eq!(count("AllotmentReceived") + count("SeatsAllotted"), 0);
    let v1_totals: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM events WHERE event_type = 'OrderTotalsCalculated' AND schema_version = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(v1_totals, 1);
    drop(conn);
    // The pool it sees is the pool: 20 Full less the 3 allotted to the V2 door (V1 knows
    // no allotments, so those seats left its pool when they were granted).
    organizer.sync();
    let pool_on = |app: &App, holder_filter: bool| -> Vec<(String, i64)> {
        let sql = if holder_filter {
            "SELECT t.name, a.remaining FROM rm_seat_availability a JOIN rm_seat_types t ON t.id = a.seat_type_id JOIN rm_conferences c ON c.id = a.conference_id WHERE c.slug = 'classic' AND a.holder = 'pool' ORDER BY t.created_seq"
        } else {
            "SELECT t.name, SUM(a.remaining) FROM rm_seat_availability a JOIN rm_seat_types t ON t.id = a.seat_type_id JOIN rm_conferences c ON c.id = a.conference_id WHERE c.slug = 'classic' GROUP BY t.id ORDER BY t.created_seq"
        };
        app.store()
            .reader()
            .prepare(sql)
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let expected = vec![("Full".to_string(), 17), ("Speaker".to_string(), 20)];
    assert_eq!(pool_on(&organizer.app, true), expected);
    assert_eq!(pool_on(&old, false), expected);

    // A zero-cost order has no V1 shape: the V1 device is told to upgrade, and nothing is
    // half-applied on it.
    grant(&mut door, "Speaker=1");
    door.app
        .sell(&at(), &sale("Speaker=1", None))
        .expect("a free sale");
    door.sync();
    let before = crate::helpers::event_count(&store.path);
    let error = old
        .sync(&v1, chrono::Utc::now())
        .expect_err("a V1 reader cannot read a zero-cost confirmation");
    assert_eq!(error.code(), "upgrade_required", "{error}");
    assert!(error.to_string().contains("OrderConfirmed"), "{error}");
    assert!(error.to_string().contains("upgrade the app"), "{error}");
    assert_eq!(crate::helpers::event_count(&store.path), before);
    // The same device on V2 shapes reads everything.
    let v2 = HttpTransport::new(&token.link()).unwrap();
    old.sync(&v2, chrono::Utc::now())
        .expect("after the upgrade");
    assert_eq!(old.orders(Some("classic")).unwrap().len(), 2);
}

/// A transport that, in the middle of each request, has someone else use the App: a sale
/// at the door while the server answers.
struct SellingMeanwhile<'a> {
    inner: HttpTransport,
    app: &'a std::sync::Mutex<App>,
    sales: std::cell::RefCell<Vec<uuid::Uuid>>,
}

impl SellingMeanwhile<'_> {
    fn sell_now(&self) {
        let mut app = self
            .app
            .try_lock()
            .expect("the App is free while a request is out");
        if self.sales.borrow().len() < 3 {
            let sale = SaleInput {
                slug: "demo".into(),
                seats: vec!["Full=1".into()],
                payment: Some(PaymentInput {
                    method: "cash".into(),
                    ..PaymentInput::default()
                }),
                ..SaleInput::default()
            };
            let order = app
                .sell(&Ctx::new(chrono::Utc::now()), &sale)
                .expect("a sale during a sync");
            self.sales.borrow_mut().push(order.id);
        }
    }
}

impl conference_app::sync::Transport for SellingMeanwhile<'_> {
    fn push(
        &self,
        request: &conference_protocol::sync::PushRequest,
    ) -> Result<conference_protocol::sync::PushResponse, conference_app::sync::SyncError> {
        self.sell_now();
        self.inner.push(request)
    }
    fn pull(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<conference_protocol::sync::PullResponse, conference_app::sync::SyncError> {
        self.sell_now();
        self.inner.pull(after, limit)
    }
    fn request_allotment(
        &self,
        request: &conference_protocol::sync::AllotmentRequest,
    ) -> Result<conference_protocol::sync::AllotmentResponse, conference_app::sync::SyncError> {
        self.inner.request_allotment(request)
    }
    fn me(
        &self,
    ) -> Result<conference_protocol::sync::DeviceRecord, conference_app::sync::SyncError> {
        self.inner.me()
    }
    fn reconciliation(
        &self,
    ) -> Result<Vec<conference_protocol::sync::ReconciliationItem>, conference_app::sync::SyncError>
    {
        self.inner.reconciliation()
    }
}

#[test]
fn a_shared_app_keeps_selling_while_its_sync_waits_for_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut organizer = organizer(&server);
    let mut door = door(&server, "Door");
    door.sync();
    assert_eq!(allot(&mut door, "Full=5"), 5);
    let link = door.link();
    let shared = std::sync::Mutex::new(door.app);
    let transport = SellingMeanwhile {
        inner: HttpTransport::new(&link).unwrap(),
        app: &shared,
        sales: std::cell::RefCell::new(Vec::new()),
    };
    conference_app::sync::sync_via(&shared, &transport, chrono::Utc::now())
        .expect("a sync with sales in between");
    let sold = transport.sales.borrow().clone();
    assert!(!sold.is_empty(), "sales happened while requests were out");
    // Whatever the sync did not take yet, the next one does; nothing is lost.
    conference_app::sync::sync_via(&shared, &transport.inner, chrono::Utc::now()).unwrap();
    let app = shared.into_inner().unwrap();
    assert_eq!(app.store().pending_count().unwrap(), 0);
    organizer.sync();
    let on_server: Vec<String> = organizer.orders().into_iter().map(|o| o.0).collect();
    for id in &sold {
        assert!(
            on_server.contains(&id.to_string()),
            "sale {id} reached the server"
        );
    }
}

#[test]
fn a_sync_reports_how_far_it_has_pulled_as_it_goes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let _organizer = organizer(&server);
    let door = door(&server, "Door");
    let link = door.link();
    let shared = std::sync::Mutex::new(door.app);
    let mut seen = Vec::new();
    let report = conference_app::sync::sync_via_reporting(
        &shared,
        &HttpTransport::new(&link).unwrap(),
        chrono::Utc::now(),
        &mut |p| seen.push(p),
    )
    .expect("sync");
    assert!(report.pulled > 0);
    let last = seen.last().expect("progress was told");
    assert_eq!(last.pulled, report.pulled);
    assert_eq!(last.position, report.position);
    assert!(last.head >= last.position && last.head > 0);
    // Pull steps (those that know the head) only move forward.
    let pulls: Vec<_> = seen.iter().filter(|p| p.head > 0).collect();
    assert!(!pulls.is_empty());
    assert!(
        pulls
            .windows(2)
            .all(|w| w[0].pulled <= w[1].pulled && w[0].position <= w[1].position),
        "{seen:?}"
    );
}
