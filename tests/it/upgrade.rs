//! A store written by box office V1 (the frozen fixture in tests/fixtures/v1/) opens with
//! this version: upgraded in place on first open, every V1 order as it was, remaining seats
//! seeded from the history, open registrations still going, and a crash during the upgrade
//! ending in the same state after the next start.
use crate::helpers::{at, cli_binary, read_models, rebuilt_read_models};
use conference_app::{App, Ctx, PaymentInput};
use conference_domain::OrderId;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The V1 store, as V1 left it.
const V1_STORE: &str = include_str!("../fixtures/v1/store.sql");

/// Writes the V1 store into a fresh file in `dir`.
fn v1_store(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let conn = rusqlite::Connection::open(&path).expect("create");
    conn.execute_batch(V1_STORE).expect("the V1 fixture loads");
    path
}

/// What V1 itself said, read from its own tables before any upgrade: the test's oracle.
struct V1Facts {
    /// Order id → (status, total, registrant email).
    orders: BTreeMap<String, (String, String, Option<String>)>,
    /// (slug, seat type name) → (seat type id, quantity).
    seat_types: BTreeMap<(String, String), (String, i64)>,
    /// Every event: (position, event type, schema version, payload text).
    events: Vec<(i64, String, i64, String)>,
    /// Order id → its reserved seats per seat type id, from its latest reservation event.
    reserved: HashMap<String, HashMap<String, i64>>,
    /// Orders still open (reserved, not paid).
    open: Vec<String>,
}

fn v1_facts(path: &Path) -> V1Facts {
    let conn = rusqlite::Connection::open(path).expect("open");
    let orders = conn
        .prepare("SELECT id, status, total, registrant_email FROM orders_view")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let seat_types = conn
        .prepare(
            "SELECT c.slug, s.name, s.id, s.quantity FROM seat_types_view s JOIN conferences_view c ON c.id = s.conference_id",
        )
        .unwrap()
        .query_map([], |r| Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?))))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let events: Vec<(i64, String, i64, String, String)> = conn
        .prepare("SELECT position, event_type, schema_version, payload, stream_id FROM events ORDER BY position")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut reserved: HashMap<String, HashMap<String, i64>> = HashMap::new();
    for (_, event_type, _, payload, stream) in &events {
        if matches!(
            event_type.as_str(),
            "OrderReservationCompleted" | "OrderPartiallyReserved"
        ) {
            let order = stream.trim_start_matches("order/").to_string();
            let payload: Value = serde_json::from_str(payload).unwrap();
            let seats = payload["seats"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["seat_type"].as_str().unwrap().to_string(),
                        s["quantity"].as_i64().unwrap(),
                    )
                })
                .collect();
            reserved.insert(order, seats);
        }
    }
    let open = conn
        .prepare("SELECT order_id FROM process_state")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    V1Facts {
        orders,
        seat_types,
        events: events
            .into_iter()
            .map(|(p, t, v, payload, _)| (p, t, v, payload))
            .collect(),
        reserved,
        open,
    }
}

fn user_version(path: &Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

fn has_table(path: &Path, table: &str) -> bool {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
        > 0
}

/// The CLI on `store`: (success, stdout as JSON, stderr).
fn cli(store: &Path, args: &[&str]) -> (bool, Value, String) {
    let out = std::process::Command::new(cli_binary())
        .arg("--store")
        .arg(store)
        .arg("--json")
        .args(args)
        .output()
        .expect("run the CLI");
    (
        out.status.success(),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_v1_store_is_upgraded_in_place_on_first_open_and_keeps_every_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = v1_store(dir.path(), "v1.db");
    let v1 = v1_facts(&path);
    assert!(v1.events.len() >= 300, "a few hundred V1 events");
    assert_eq!(user_version(&path), 0);

    // The person's first command on the old file upgrades it, showing progress.
    let (ok, seats, stderr) = cli(&path, &["seats", "cqrs-summit"]);
    assert!(ok, "{seats} {stderr}");
    assert!(stderr.contains("Upgrading this V1 store to V2"), "{stderr}");
    assert!(stderr.contains("100%"), "{stderr}");
    assert!(user_version(&path) > 0);
    assert!(!has_table(&path, "v1_events") && !has_table(&path, "orders_view"));
    // A second open does nothing more.
    let (ok, _, stderr) = cli(&path, &["seats", "cqrs-summit"]);
    assert!(ok && !stderr.contains("Upgrading"), "{stderr}");

    // Every V1 event is in the log, where it was, exactly as V1 wrote it.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let events: Vec<(i64, String, i64, String)> = conn
        .prepare(
            "SELECT position, event_type, schema_version, payload FROM events ORDER BY position",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(events, v1.events, "no event lost or rewritten");
    assert!(
        events.iter().any(|e| e.1 == "OrderPaymentConfirmed")
            && events
                .iter()
                .any(|e| e.1 == "OrderTotalsCalculated" && e.2 == 1),
        "the fixture has V1's own shapes"
    );
    drop(conn);

    // Every V1 order, with the status, total and registrant V1 showed.
    let app = App::open(&path).expect("open");
    for (id, (status, total, email)) in &v1.orders {
        let order = app
            .order(OrderId::parse(id).expect("an order id"))
            .unwrap_or_else(|e| panic!("V1 order {id}: {e}"));
        assert_eq!(&order.status, status, "status of {id}");
        assert_eq!(&order.total, total, "total of {id}");
        assert!(!order.is_free_of_charge, "V1 had no free orders");
        assert_eq!(
            order.registrant.as_ref().map(|r| r.email.clone()),
            *email,
            "registrant of {id}"
        );
        if status == "confirmed" {
            assert_eq!(
                order.payment.as_ref().map(|p| p.status.as_str()),
                Some("completed"),
                "payment of {id}"
            );
        }
    }
    let statuses: std::collections::BTreeSet<&str> =
        v1.orders.values().map(|o| o.0.as_str()).collect();
    assert!(statuses.is_superset(&["confirmed", "expired", "reserved"].into()));

    // Remaining seats, which V1 never kept: the quantity less what confirmed and open
    // orders hold, counted here from V1's own events.
    let holding: Vec<&String> = v1
        .orders
        .iter()
        .filter(|(_, o)| o.0 == "confirmed" || o.0 == "reserved")
        .map(|(id, _)| id)
        .collect();
    for ((slug, name), (seat_type, quantity)) in &v1.seat_types {
        let held: i64 = holding
            .iter()
            .filter_map(|id| v1.reserved.get(*id))
            .filter_map(|seats| seats.get(seat_type))
            .sum();
        let row = app
            .seats(slug)
            .unwrap()
            .seat_types
            .into_iter()
            .find(|s| &s.name == name)
            .unwrap();
        assert_eq!(row.remaining, quantity - held, "remaining {slug} {name}");
    }

    // The read models equal a rebuild from scratch.
    drop(app);
    assert_eq!(read_models(&path), rebuilt_read_models(&path));

    // Registrations V1 left open go on: one is paid now, the other expires when due.
    let mut app = App::open(&path).expect("open");
    assert_eq!(
        v1.open.len(),
        2,
        "the fixture leaves two registrations open"
    );
    // Before its reservation runs out (the fixture's history ends at 16:46 that day).
    let paid = app
        .pay(
            &Ctx::new(at("2026-03-02T16:46:30Z")),
            &v1.open[0],
            &PaymentInput {
                method: "card".into(),
                reference: Some("AUTH-V2".into()),
                ..PaymentInput::default()
            },
        )
        .expect("a V1 registration is paid in V2");
    assert_eq!(paid.status, "confirmed");
    let later = Ctx::new(chrono::Utc::now() + chrono::Duration::days(3650));
    let tick = app.tick(&later).expect("tick");
    assert_eq!(
        tick.expired_orders,
        vec![uuid::Uuid::parse_str(&v1.open[1]).unwrap()],
        "the other open V1 registration expires"
    );
    drop(app);
    assert_eq!(read_models(&path), rebuilt_read_models(&path));
}

/// Starts the CLI on the V1 store and kills it (SIGKILL) once it has reported `reports`
/// progress steps of the upgrade (or when it ends first).
fn upgrade_then_kill(path: &Path, reports: usize) {
    use std::io::Read;
    let mut child = std::process::Command::new(cli_binary())
        .arg("--store")
        .arg(path)
        .args(["seats", "cqrs-summit"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the CLI");
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = 0;
    let mut byte = [0u8; 1];
    while seen < reports {
        match stderr.read(&mut byte) {
            Ok(1) if byte[0] == b'\r' => seen += 1,
            Ok(1) => {}
            _ => break,
        }
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
}

#[test]
fn an_upgrade_killed_part_way_leaves_v1_or_v2_and_the_next_start_ends_the_same() {
    let dir = tempfile::tempdir().unwrap();
    // The same upgrade, never interrupted.
    let clean = v1_store(dir.path(), "clean.db");
    App::open(&clean).expect("upgrade");
    let expected = read_models(&clean);

    for reports in [1, 2, 4, 8, 50, usize::MAX] {
        let path = v1_store(dir.path(), &format!("killed-{reports}.db"));
        upgrade_then_kill(&path, reports);
        // Never half: either V1 as it was, or fully V2.
        let v1_left = user_version(&path) == 0;
        assert_eq!(
            v1_left,
            has_table(&path, "orders_view"),
            "after a kill at report {reports} the store is V1 or V2, not between"
        );
        if !v1_left {
            assert!(!has_table(&path, "v1_events"));
        }
        // The next start upgrades (or finds it upgraded) and ends in the same state.
        App::open(&path).expect("the next start");
        assert_eq!(read_models(&path), expected, "kill at report {reports}");
        let events = |p: &Path| -> Vec<(i64, String)> {
            rusqlite::Connection::open(p)
                .unwrap()
                .prepare("SELECT position, payload FROM events ORDER BY position")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(events(&path), events(&clean));
    }
}

/// The V1 sync server's database, as V1 left it (the same history, pushed by two devices).
const V1_SERVER: &str = include_str!("../fixtures/v1/server.sql");
/// The V1 devices' tokens (test secrets, see tests/fixtures/v1/make_server_fixture.py).
const V1_FRONT_DESK_TOKEN: &str =
    "v1-front-desk-0000000000000000000000000000000000000000000000000000";
const V1_SIDE_DOOR_TOKEN: &str =
    "v1-side-door-00000000000000000000000000000000000000000000000000000";

#[test]
fn the_server_opens_the_v1_server_database_and_v1_and_v2_devices_sync_through_it() {
    use conference_app::http::HttpTransport;
    use conference_app::sync::Transport;
    use conference_protocol::sync::{PushCommand, PushRequest, PushStatus, WireEvent};
    let dir = tempfile::tempdir().unwrap();
    // The V1 store of the same history is the oracle for what every order looked like.
    let v1_store = v1_store(dir.path(), "oracle.db");
    let oracle = v1_facts(&v1_store);
    {
        let conn = rusqlite::Connection::open(dir.path().join("server.db")).unwrap();
        conn.execute_batch(V1_SERVER)
            .expect("the V1 server fixture loads");
    }
    let server = crate::server::Server::start(dir.path());

    // A V2 device with the side door's token reads the whole history, upcast.
    let store = crate::helpers::temp_store();
    let mut app = App::open(&store.path).unwrap();
    app.init("Side door (V2)", chrono::Utc::now()).unwrap();
    app.enroll(&server.code_for(V1_SIDE_DOOR_TOKEN), false)
        .unwrap();
    let v2 = HttpTransport::new(&server.link(V1_SIDE_DOOR_TOKEN)).unwrap();
    let report = app.sync(&v2, chrono::Utc::now()).expect("sync");
    assert_eq!(report.pulled as usize, oracle.events.len());
    for (id, (status, total, email)) in &oracle.orders {
        let order = app.order(OrderId::parse(id).unwrap()).unwrap();
        assert_eq!(
            (
                &order.status,
                &order.total,
                order.registrant.map(|r| r.email)
            ),
            (status, total, email.clone()),
            "order {id}"
        );
    }

    // A device still on V1 reads the same history in the shapes it was written in.
    let v1_transport = HttpTransport::new(&server.link(V1_FRONT_DESK_TOKEN))
        .unwrap()
        .reading(&crate::sync::v1_reads());
    let mut after = 0;
    let mut seen = Vec::new();
    loop {
        let page = v1_transport.pull(after, 5000).expect("a V1 reader pulls");
        if page.events.is_empty() {
            break;
        }
        after = page.next_after;
        seen.extend(page.events);
    }
    assert_eq!(seen.len(), oracle.events.len());
    for (pulled, (position, event_type, version, payload)) in seen.iter().zip(&oracle.events) {
        assert_eq!(pulled.position, *position);
        assert_eq!(&pulled.event.event_type, event_type);
        assert_eq!(i64::from(pulled.event.schema_version), *version);
        assert_eq!(
            pulled.event.payload_value(),
            serde_json::from_str::<Value>(payload).unwrap()
        );
    }

    // A V1 device that lost the answer to its first push gets the first result again,
    // and nothing new is stored.
    let conn = rusqlite::Connection::open(&v1_store).unwrap();
    let first_command: String = conn
        .query_row(
            "SELECT command_id FROM events ORDER BY position LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let events: Vec<WireEvent> = conn
        .prepare("SELECT stream_id, stream_version, event_type, schema_version, payload, recorded_at FROM events WHERE command_id = ?1 ORDER BY position")
        .unwrap()
        .query_map([&first_command], |r| {
            Ok(WireEvent {
                stream: r.get(0)?,
                version: r.get(1)?,
                event_type: r.get(2)?,
                schema_version: r.get(3)?,
                payload: serde_json::from_str(&r.get::<_, String>(4)?).unwrap(),
                recorded_at: r.get(5)?,
            })
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let retry = PushRequest {
        commands: vec![PushCommand {
            device_seq: 1,
            command_id: uuid::Uuid::parse_str(&first_command).unwrap(),
            command_type: "create_conference".into(),
            command: conference_protocol::sync::raw_payload(&serde_json::json!({})),
            events,
            now: None,
            reads: vec![],
        }],
    };
    let answer = v1_transport.push(&retry).expect("a retried V1 push");
    assert_eq!(answer.results[0].status, PushStatus::Applied);
    assert_eq!(answer.results[0].device_seq, 1);
    assert_eq!(answer.results[0].positions[0], oracle.events[0].0);
    assert_eq!(
        v1_transport.pull(0, 5000).unwrap().head,
        oracle.events.last().unwrap().0,
        "nothing new stored"
    );
}
