//! The local store's guarantees on real SQLite files: typed conflicts on stale expected
//! versions (also when only the UNIQUE constraint catches them), snapshots that are only a
//! cache of the log, old event shapes read through the upcasters, durable pragmas,
//! idempotent migrations, and read models that equal a rebuild from the log.
use crate::helpers::{
    ctx, demo_app, event_count, minute, read_models, rebuilt_read_models, temp_store,
};
use conference_app::conference_domain::aggregate::{Aggregate, DomainEvent};
use conference_app::conference_domain::assignments::SeatAssignments;
use conference_app::conference_domain::conference::Conference;
use conference_app::conference_domain::discounts::Promotions;
use conference_app::conference_domain::order::{self, Order, OrderStatus};
use conference_app::conference_domain::payment::Payment;
use conference_app::conference_domain::seats::SeatsAvailability;
use conference_app::conference_domain::{DeviceId, Holder, OrderId, StreamId, StreamKind};
use conference_app::{App, NewPromoCode, PaymentInput, SaleInput, new_command_id};
use conference_store::{Conflict, Recorded, Store, StoreError, Tx, format_time, queries};
use std::fmt::Debug;
use std::path::Path;

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

fn cash(tendered: &str) -> Option<PaymentInput> {
    Some(PaymentInput {
        method: "cash".into(),
        tendered: Some(tendered.into()),
        reference: None,
    })
}

fn card(reference: &str) -> Option<PaymentInput> {
    Some(PaymentInput {
        method: "card".into(),
        tendered: None,
        reference: Some(reference.into()),
    })
}

fn sale(seats: &[&str], codes: &[&str], payment: Option<PaymentInput>) -> SaleInput {
    SaleInput {
        slug: "demo".into(),
        seats: strings(seats),
        promo_codes: strings(codes),
        registrant: Some(("Grace".into(), "Hopper".into(), "grace@example.com".into())),
        payment,
        allow_override: false,
    }
}

fn cancelled(reason: &str) -> order::Event {
    order::OrderCancelled {
        reason: reason.into(),
    }
    .into()
}

fn expect_conflict(error: StoreError) -> Conflict {
    match error {
        StoreError::Conflict(c) => c,
        other => panic!("expected a typed conflict, got {other:?}"),
    }
}

/// Every use case the box office has, leaving orders in every state: paid (cash with
/// change, card), free, free by promo code, expired by `tick`, cancelled before and after
/// confirmation (refund), partially reserved, still reserved, with seats assigned,
/// re-assigned and unassigned, and limited codes held, counted and released.
fn realistic_mix(path: &Path) -> App {
    let mut app = demo_app(path);
    app.add_promo_code(
        &ctx(0),
        "demo",
        &NewPromoCode {
            code: "EARLY".into(),
            percent: Some("20".into()),
            max_uses: Some(5),
            ..NewPromoCode::default()
        },
    )
    .expect("EARLY");
    let paid = app
        .sell(&ctx(1), &sale(&["Full=2"], &["TENOFF"], cash("200")))
        .expect("cash sale");
    assert_eq!(paid.status, "confirmed");
    let free = app
        .sell(&ctx(1), &sale(&["Speaker=1"], &[], None))
        .expect("free sale");
    assert_eq!(free.status, "confirmed");
    let promo_free = app
        .sell(&ctx(1), &sale(&["Student=1"], &["STUDENTFREE"], None))
        .expect("free by promo code");
    assert!(promo_free.is_free_of_charge);
    let to_expire = app
        .place_order(&ctx(2), "demo", &strings(&["Full=1"]), &strings(&["EARLY"]))
        .expect("order to expire");
    let to_refund = app
        .sell(
            &ctx(3),
            &sale(&["Full=1"], &["EARLY", "FIFTY"], card("T-1")),
        )
        .expect("card sale");
    app.cancel(&ctx(4), &to_refund.id.to_string(), Some("changed plans"))
        .expect("cancel a paid order");
    let tick = app.tick(&ctx(20)).expect("tick");
    assert_eq!(tick.expired_orders, vec![to_expire.id]);
    let dropped = app
        .place_order(
            &ctx(21),
            "demo",
            &strings(&["Full=1"]),
            &strings(&["EARLY"]),
        )
        .expect("order to cancel");
    app.cancel(&ctx(22), &dropped.id.to_string(), None)
        .expect("cancel a reserved order");
    let partial = app
        .place_order(&ctx(23), "demo", &strings(&["Student=5"]), &[])
        .expect("partial reservation");
    assert_eq!(partial.status, "partially_reserved");
    let pending = app
        .place_order(
            &ctx(23),
            "demo",
            &strings(&["Full=1"]),
            &strings(&["EARLY"]),
        )
        .expect("pending order");
    assert_eq!(pending.status, "reserved");
    let id = paid.id.to_string();
    app.assign_seat(&ctx(24), &id, 0, "Ada", "Lovelace", "ada@example.com")
        .expect("assign");
    app.assign_seat(&ctx(24), &id, 0, "Augusta", "King", "ada@example.com")
        .expect("rename");
    app.assign_seat(&ctx(24), &id, 1, "Alan", "Turing", "alan@example.com")
        .expect("assign");
    app.unassign_seat(&ctx(25), &id, 1).expect("unassign");
    app
}

// ---------------------------------------------------------------- expected versions

#[test]
fn a_wrong_expected_version_is_a_typed_conflict_and_writes_nothing() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    let placed = app
        .place_order(&ctx(1), "demo", &strings(&["Full=1"]), &[])
        .expect("place");
    let stream = StreamId::order(OrderId::from_uuid(placed.id));
    let events_before = event_count(&ts.path);
    let models_before = read_models(&ts.path);

    let mut tx = app
        .store_mut()
        .begin(new_command_id(), minute(2))
        .expect("begin");
    let version = tx.stream_version(stream).expect("version");
    assert_eq!(
        version, 3,
        "placed, reservation completed, totals calculated"
    );
    for wrong in [0, version - 1, version + 1, 99] {
        let error = tx
            .append::<Order>(stream, wrong, vec![cancelled("stale")])
            .expect_err("a stale expected version must not append");
        assert_eq!(
            expect_conflict(error),
            Conflict {
                stream,
                expected: wrong,
                actual: version
            }
        );
    }
    // A stream that does not exist yet is at version 0.
    let fresh = StreamId::order(OrderId::from_uuid(new_command_id().as_uuid()));
    let error = tx
        .append::<Order>(fresh, 2, vec![cancelled("nothing to cancel")])
        .expect_err("a new stream is at version 0");
    assert_eq!(
        expect_conflict(error),
        Conflict {
            stream: fresh,
            expected: 2,
            actual: 0
        }
    );
    assert!(tx.recorded().is_empty());
    // Even committing the unit after the refusals writes nothing.
    tx.commit().expect("commit");
    assert_eq!(event_count(&ts.path), events_before);
    assert_eq!(read_models(&ts.path), models_before);
    assert_eq!(
        app.order(OrderId::from_uuid(placed.id)).unwrap().status,
        "reserved"
    );

    // The right expected version appends (and projects) at the next version.
    let mut tx = app
        .store_mut()
        .begin(new_command_id(), minute(3))
        .expect("begin");
    let recorded = tx
        .append::<Order>(stream, version, vec![cancelled("on time")])
        .expect("append at the current version");
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].version, version + 1);
    assert_eq!(tx.stream_version(stream).unwrap(), version + 1);
    tx.commit().expect("commit");
    assert_eq!(event_count(&ts.path), events_before + 1);
    assert_eq!(
        app.order(OrderId::from_uuid(placed.id)).unwrap().status,
        "cancelled"
    );
}

#[test]
fn a_second_store_on_the_same_file_that_read_a_stale_version_gets_a_conflict() {
    let ts = temp_store();
    let placed = {
        let mut app = demo_app(&ts.path);
        app.place_order(&ctx(1), "demo", &strings(&["Full=1"]), &[])
            .expect("place")
    };
    let stream = StreamId::order(OrderId::from_uuid(placed.id));
    let mut first = Store::open(&ts.path).expect("first store");
    let mut second = Store::open(&ts.path).expect("second store");

    // Both read the stream (outside any write).
    let seen_by_first = first
        .begin(new_command_id(), minute(2))
        .unwrap()
        .load::<Order>(stream)
        .unwrap();
    let seen_by_second = second
        .begin(new_command_id(), minute(2))
        .unwrap()
        .load::<Order>(stream)
        .unwrap();
    assert_eq!(seen_by_first.version, seen_by_second.version);

    // Writers never interleave: while one store holds a unit of work, the other cannot
    // start one (it would wait up to its busy timeout; here it does not wait at all).
    {
        let held = first.begin(new_command_id(), minute(3)).unwrap();
        second
            .reader()
            .busy_timeout(std::time::Duration::ZERO)
            .unwrap();
        assert!(matches!(
            second.begin(new_command_id(), minute(3)),
            Err(StoreError::Sqlite(_))
        ));
        drop(held);
    }

    // The second one writes first.
    let mut tx = second.begin(new_command_id(), minute(3)).unwrap();
    tx.append::<Order>(stream, seen_by_second.version, vec![cancelled("second")])
        .expect("second writes");
    tx.commit().unwrap();
    let after_second = event_count(&ts.path);

    // The first one's write, based on what it read, is refused.
    let mut tx = first.begin(new_command_id(), minute(3)).unwrap();
    let error = tx
        .append::<Order>(stream, seen_by_first.version, vec![cancelled("first")])
        .expect_err("stale writer");
    assert_eq!(
        expect_conflict(error),
        Conflict {
            stream,
            expected: seen_by_first.version,
            actual: seen_by_first.version + 1
        }
    );
    tx.commit().unwrap();
    assert_eq!(event_count(&ts.path), after_second);
    let reloaded = first
        .begin(new_command_id(), minute(4))
        .unwrap()
        .load::<Order>(stream)
        .unwrap();
    assert_eq!(reloaded.version, seen_by_first.version + 1);
}

/// Writes `event_type`/`payload` straight into the log at `version` of `stream`, the way a
/// writer that bypasses this store's `streams` table would (the table is not touched).
fn insert_behind_the_stores_back(path: &Path, stream: StreamId, version: u64, reason: &str) {
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.execute(
        "INSERT INTO events (stream_id, stream_kind, stream_version, event_type, schema_version, payload, command_id, device_id, recorded_at)
         VALUES (?1, ?2, ?3, 'OrderCancelled', 1, ?4, ?5, ?6, ?7)",
        rusqlite::params![
            stream.to_string(),
            stream.kind.as_str(),
            version,
            serde_json::json!({ "reason": reason }).to_string(),
            new_command_id().as_uuid(),
            new_command_id().as_uuid(),
            format_time(minute(5)),
        ],
    )
    .expect("insert");
}

#[test]
fn the_unique_stream_version_constraint_turns_a_lost_race_into_a_conflict() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    let placed = app
        .place_order(&ctx(1), "demo", &strings(&["Full=1"]), &[])
        .expect("place");
    let stream = StreamId::order(OrderId::from_uuid(placed.id));
    let version = {
        let tx = app.store_mut().begin(new_command_id(), minute(2)).unwrap();
        tx.stream_version(stream).unwrap()
    };

    // Another writer took the next version, and the `streams` row did not see it: only
    // UNIQUE(stream_id, stream_version) stands between us and a forked stream.
    insert_behind_the_stores_back(&ts.path, stream, version + 1, "elsewhere");
    let events_before = event_count(&ts.path);
    let models_before = read_models(&ts.path);
    let mut tx = app.store_mut().begin(new_command_id(), minute(6)).unwrap();
    assert_eq!(
        tx.stream_version(stream).unwrap(),
        version,
        "the streams row is stale"
    );
    let error = tx
        .append::<Order>(stream, version, vec![cancelled("here")])
        .expect_err("the version is taken");
    assert_eq!(
        expect_conflict(error),
        Conflict {
            stream,
            expected: version,
            actual: version + 1
        }
    );
    tx.commit().unwrap();
    assert_eq!(event_count(&ts.path), events_before);
    assert_eq!(read_models(&ts.path), models_before);
}

#[test]
fn an_append_refused_half_way_by_the_unique_constraint_leaves_none_of_its_events() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    let placed = app
        .place_order(&ctx(1), "demo", &strings(&["Full=1"]), &[])
        .expect("place");
    let order_id = OrderId::from_uuid(placed.id);
    let stream = StreamId::order(order_id);
    let version = {
        let tx = app.store_mut().begin(new_command_id(), minute(2)).unwrap();
        tx.stream_version(stream).unwrap()
    };
    // The second of our two events collides; the first one would fit.
    insert_behind_the_stores_back(&ts.path, stream, version + 2, "elsewhere");
    let events_before = event_count(&ts.path);
    let models_before = read_models(&ts.path);

    let mut tx = app.store_mut().begin(new_command_id(), minute(6)).unwrap();
    let registrant = order::OrderRegistrantAssigned {
        person: conference_app::conference_domain::PersonalInfo::parse(
            "Grace",
            "Hopper",
            "grace@example.com",
        )
        .unwrap(),
    };
    let error = tx
        .append::<Order>(stream, version, vec![registrant.into(), cancelled("here")])
        .expect_err("the second version is taken");
    let conflict = expect_conflict(error);
    assert_eq!((conflict.stream, conflict.expected), (stream, version));
    assert_eq!(
        conflict.actual,
        version + 2,
        "the log's version, not a stale cache"
    );
    assert!(tx.recorded().is_empty());
    // A caller that handles the conflict and commits the rest of its unit must not
    // publish half of the refused append.
    tx.commit().unwrap();
    assert_eq!(event_count(&ts.path), events_before);
    assert_eq!(read_models(&ts.path), models_before);
    assert_eq!(app.order(order_id).unwrap().registrant, None);
}

// ---------------------------------------------------------------- snapshots

fn assert_load_is_fold<A>(
    tx: &Tx<'_>,
    events: &[Recorded],
    stream: StreamId,
    pick: fn(&DomainEvent) -> Option<&A::Event>,
    label: &str,
) where
    A: Aggregate + PartialEq + Debug,
{
    let own: Vec<&A::Event> = events
        .iter()
        .filter(|r| r.stream == stream)
        .map(|r| pick(&r.event).unwrap_or_else(|| panic!("{stream} holds {:?}", r.event)))
        .collect();
    assert!(!own.is_empty(), "{stream} has events");
    let folded = A::fold(own.iter().copied());
    let loaded = tx.load::<A>(stream).expect("load");
    assert_eq!(
        loaded.version,
        own.len() as u64,
        "{label}: version of {stream}"
    );
    assert_eq!(loaded.state, folded, "{label}: state of {stream}");
}

fn assert_every_stream_loads_as_its_fold(store: &mut Store, label: &str) -> usize {
    let events = store.events_after(0, 1_000_000).expect("events");
    let streams: Vec<String> = {
        let mut stmt = store
            .reader()
            .prepare("SELECT stream_id FROM streams ORDER BY stream_id")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let tx = store.begin(new_command_id(), minute(30)).expect("begin");
    let mut kinds = std::collections::BTreeSet::new();
    for text in &streams {
        let stream = StreamId::parse(text).expect("stream id");
        kinds.insert(stream.kind);
        match stream.kind {
            StreamKind::Conference => assert_load_is_fold::<Conference>(
                &tx,
                &events,
                stream,
                |e| match e {
                    DomainEvent::Conference(e) => Some(e),
                    _ => None,
                },
                label,
            ),
            StreamKind::Seats => assert_load_is_fold::<SeatsAvailability>(
                &tx,
                &events,
                stream,
                |e| match e {
                    DomainEvent::Seats(e) => Some(e),
                    _ => None,
                },
                label,
            ),
            StreamKind::Promos => assert_load_is_fold::<Promotions>(
                &tx,
                &events,
                stream,
                |e| match e {
                    DomainEvent::Promos(e) => Some(e),
                    _ => None,
                },
                label,
            ),
            StreamKind::Order => assert_load_is_fold::<Order>(
                &tx,
                &events,
                stream,
                |e| match e {
                    DomainEvent::Order(e) => Some(e),
                    _ => None,
                },
                label,
            ),
            StreamKind::Payment => assert_load_is_fold::<Payment>(
                &tx,
                &events,
                stream,
                |e| match e {
                    DomainEvent::Payment(e) => Some(e),
                    _ => None,
                },
                label,
            ),
            StreamKind::Assignments => assert_load_is_fold::<SeatAssignments>(
                &tx,
                &events,
                stream,
                |e| match e {
                    DomainEvent::Assignments(e) => Some(e),
                    _ => None,
                },
                label,
            ),
        }
    }
    assert_eq!(
        kinds.len(),
        StreamKind::ALL.len(),
        "{label}: every kind of stream is checked, saw {kinds:?}"
    );
    streams.len()
}

fn corrupt(path: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).expect("open");
    let changed = conn.execute(sql, []).expect("corrupt");
    assert!(changed > 0, "`{sql}` changed nothing");
}

#[test]
fn a_loaded_aggregate_is_the_fold_of_its_log_whatever_its_snapshot() {
    let ts = temp_store();
    drop(realistic_mix(&ts.path));
    let mut store = Store::open(&ts.path).expect("open");
    let missing: i64 = store
        .reader()
        .query_row(
            "SELECT COUNT(*) FROM streams WHERE snapshot IS NULL OR snapshot_version <> version",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(missing, 0, "every stream has an up-to-date snapshot");
    let streams = assert_every_stream_loads_as_its_fold(&mut store, "fresh snapshots");
    assert!(streams >= 10);

    // A snapshot taken part-way: the events after it are folded on top.
    {
        let events = store.events_after(0, 1_000_000).unwrap();
        let conn = rusqlite::Connection::open(&ts.path).unwrap();
        let mut rewound = 0;
        for text in ["order", "seats", "promos"] {
            let ids: Vec<String> = conn
                .prepare("SELECT stream_id FROM streams WHERE stream_kind = ?1 AND version > 2")
                .unwrap()
                .query_map([text], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            for id in ids {
                let stream = StreamId::parse(&id).unwrap();
                let first_two: Vec<&DomainEvent> = events
                    .iter()
                    .filter(|r| r.stream == stream)
                    .take(2)
                    .map(|r| &r.event)
                    .collect();
                let snapshot = match stream.kind {
                    StreamKind::Order => serde_json::to_string(&Order::fold(
                        first_two.iter().filter_map(|e| match e {
                            DomainEvent::Order(e) => Some(e),
                            _ => None,
                        }),
                    )),
                    StreamKind::Seats => serde_json::to_string(&SeatsAvailability::fold(
                        first_two.iter().filter_map(|e| match e {
                            DomainEvent::Seats(e) => Some(e),
                            _ => None,
                        }),
                    )),
                    _ => {
                        serde_json::to_string(&Promotions::fold(first_two.iter().filter_map(|e| {
                            match e {
                                DomainEvent::Promos(e) => Some(e),
                                _ => None,
                            }
                        })))
                    }
                }
                .unwrap();
                rewound += conn
                    .execute(
                        "UPDATE streams SET snapshot = ?2, snapshot_version = 2 WHERE stream_id = ?1",
                        rusqlite::params![id, snapshot],
                    )
                    .unwrap();
            }
        }
        assert!(rewound >= 5, "rewound {rewound} snapshots");
    }
    assert_every_stream_loads_as_its_fold(&mut store, "snapshots at version 2");

    corrupt(
        &ts.path,
        "UPDATE streams SET snapshot = '{\"this is\": \"not a snapshot' ",
    );
    assert_every_stream_loads_as_its_fold(&mut store, "garbage snapshots");

    corrupt(
        &ts.path,
        "UPDATE streams SET snapshot = '[]', snapshot_version = version",
    );
    assert_every_stream_loads_as_its_fold(&mut store, "snapshots of the wrong shape");

    corrupt(
        &ts.path,
        "UPDATE streams SET snapshot = NULL, snapshot_version = NULL, snapshot_schema = NULL",
    );
    assert_every_stream_loads_as_its_fold(&mut store, "no snapshots");

    // A new command still works on a stream whose snapshot is gone, and writes a fresh one.
    drop(store);
    let mut app = App::open(&ts.path).expect("open app");
    let order = app
        .sell(&ctx(31), &sale(&["Full=1"], &[], card("T-2")))
        .expect("sell after the snapshots were dropped");
    assert_eq!(order.status, "confirmed");
    drop(app);
    let mut store = Store::open(&ts.path).unwrap();
    assert_every_stream_loads_as_its_fold(&mut store, "after a new sale");
}

#[test]
fn a_snapshot_of_an_older_state_shape_is_ignored() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    let placed = app
        .place_order(&ctx(1), "demo", &strings(&["Full=2"]), &[])
        .expect("place");
    drop(app);
    let stream = StreamId::order(OrderId::from_uuid(placed.id));
    // A snapshot that would parse, at the stream's version, but written for another shape
    // of the state: it must not be trusted.
    let bogus = serde_json::to_string(&Order::NotPlaced).unwrap();
    let conn = rusqlite::Connection::open(&ts.path).unwrap();
    conn.execute(
        "UPDATE streams SET snapshot = ?2, snapshot_schema = snapshot_schema + 1 WHERE stream_id = ?1",
        rusqlite::params![stream.to_string(), bogus],
    )
    .unwrap();
    let mut store = Store::open(&ts.path).unwrap();
    let tx = store.begin(new_command_id(), minute(2)).unwrap();
    let loaded = tx.load::<Order>(stream).unwrap();
    let data = loaded.state.data().expect("the order, folded from its log");
    assert_eq!(data.status, OrderStatus::ReservationCompleted);
    assert_eq!(data.total().to_string(), "200.00");
}

// ---------------------------------------------------------------- old shapes

#[test]
fn v1_event_shapes_in_the_store_load_and_decode_as_v2_events() {
    let ts = temp_store();
    let app = demo_app(&ts.path);
    let conference = app.conference("demo").unwrap();
    let speaker = conference
        .seat_types
        .iter()
        .find(|s| s.name == "Speaker")
        .unwrap()
        .id;
    let device = app.device().unwrap().device_id;
    drop(app);
    let order_id = OrderId::from_uuid(new_command_id().as_uuid());
    let stream = StreamId::order(order_id);
    let command = new_command_id();
    let seats = serde_json::json!([{ "seat_type": speaker.to_string(), "quantity": 1 }]);
    // Frozen V1 payloads: OrderPlaced without promo codes/holder/override,
    // OrderTotalsCalculated v1 without is_free_of_charge (and lines without a kind),
    // OrderPaymentConfirmed v1 (V2: OrderConfirmed).
    let v1_rows: [(&str, u32, String); 4] = [
        (
            "OrderPlaced",
            1,
            format!(
                r#"{{"conference_id":"{}","seats":{seats},"access_code":"K7M2PX","reservation_auto_expiration":"2026-11-27T10:15:00Z"}}"#,
                conference.id
            ),
        ),
        (
            "OrderReservationCompleted",
            1,
            format!(r#"{{"reservation_expiration":"2026-11-27T10:15:00Z","seats":{seats}}}"#),
        ),
        (
            "OrderTotalsCalculated",
            1,
            format!(
                r#"{{"total":"0","lines":[{{"description":"Speaker","seat_type":"{speaker}","quantity":1,"unit_price":"0","total":"0"}}]}}"#
            ),
        ),
        ("OrderPaymentConfirmed", 1, "{}".to_string()),
    ];
    let last_position: i64;
    {
        let conn = rusqlite::Connection::open(&ts.path).unwrap();
        last_position = conn
            .query_row("SELECT MAX(position) FROM events", [], |r| r.get(0))
            .unwrap();
        for (i, (event_type, schema, payload)) in v1_rows.iter().enumerate() {
            conn.execute(
                "INSERT INTO events (stream_id, stream_kind, stream_version, event_type, schema_version, payload, command_id, device_id, recorded_at)
                 VALUES (?1, 'order', ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                rusqlite::params![
                    stream.to_string(),
                    i as i64 + 1,
                    event_type,
                    schema,
                    payload,
                    command.as_uuid(),
                    device,
                    format_time(minute(1)),
                ],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO streams (stream_id, stream_kind, version) VALUES (?1, 'order', 4)",
            [stream.to_string()],
        )
        .unwrap();
    }

    let mut store = Store::open(&ts.path).unwrap();
    {
        let tx = store.begin(new_command_id(), minute(2)).unwrap();
        let loaded = tx.load::<Order>(stream).expect("a V1 stream loads");
        assert_eq!(loaded.version, 4);
        let data = loaded.state.data().expect("placed");
        assert_eq!(data.status, OrderStatus::Confirmed);
        assert!(data.is_free_of_charge(), "derived from the V1 total of 0");
        assert!(data.total().is_zero());
        assert_eq!(data.payment, None);
        assert_eq!(data.holder, Holder::Pool);
        assert!(data.promo_codes.is_empty());
        assert_eq!(data.access_code.as_str(), "K7M2PX");
    }

    let decoded = store.events_after(last_position, 100).expect("decode");
    assert_eq!(decoded.len(), 4);
    assert!(decoded.iter().all(|r| r.stream == stream));
    assert_eq!(
        decoded.iter().map(|r| r.version).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(decoded[0].command_id, command);
    assert_eq!(decoded[0].device_id, DeviceId::from_uuid(device));
    let DomainEvent::Order(order::Event::OrderTotalsCalculated(totals)) = &decoded[2].event else {
        panic!("not totals: {:?}", decoded[2].event)
    };
    assert!(totals.is_free_of_charge);
    assert!(totals.total.is_zero());
    assert_eq!(totals.lines.len(), 1);
    assert_eq!(
        decoded[3].event,
        DomainEvent::Order(order::OrderConfirmed { payment_id: None }.into())
    );
    assert_eq!(decoded[3].event.event_type(), "OrderConfirmed");

    // Read models rebuilt from the old shapes show the order as V2 would.
    store.rebuild_read_models(|_, _| {}).expect("rebuild");
    let view = queries::order(store.reader(), order_id.as_uuid())
        .unwrap()
        .expect("order in the read model");
    assert_eq!(view.status, "confirmed");
    assert!(view.is_free_of_charge);
    assert_eq!(view.total, "0");
    assert_eq!(view.lines.len(), 1);
    assert_eq!(view.lines[0].kind, "seat");

    // A new event on the old stream follows it; the stored V1 rows are never rewritten.
    {
        let mut tx = store.begin(new_command_id(), minute(3)).unwrap();
        let person =
            conference_app::conference_domain::PersonalInfo::parse("Ada", "Byron", "ada@b.org")
                .unwrap();
        let recorded = tx
            .execute::<Order>(
                stream,
                &order::Command::AssignRegistrantDetails(person.clone()),
            )
            .expect("a command on a V1 stream");
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].version, 5);
        tx.commit().unwrap();
    }
    let stored: Vec<(String, u32, String)> = store
        .reader()
        .prepare(
            "SELECT event_type, schema_version, payload FROM events WHERE stream_id = ?1 AND stream_version <= 4 ORDER BY stream_version",
        )
        .unwrap()
        .query_map([stream.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let expected: Vec<(String, u32, String)> = v1_rows
        .iter()
        .map(|(t, v, p)| ((*t).to_string(), *v, p.clone()))
        .collect();
    assert_eq!(stored, expected);
}

// ---------------------------------------------------------------- the file itself

#[test]
fn the_store_file_runs_in_wal_mode_with_full_sync_and_migrates_idempotently() {
    let ts = temp_store();
    let schema = |store: &Store| -> Vec<(String, String)> {
        store
            .reader()
            .prepare("SELECT name, COALESCE(sql, '') FROM sqlite_master ORDER BY type, name")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let user_version = |store: &Store| -> i64 {
        store
            .reader()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    };
    let (schema_first, version_first) = {
        let store = Store::open(&ts.path).expect("first open");
        let journal: String = store
            .reader()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(journal.to_ascii_lowercase(), "wal");
        let synchronous: i64 = store
            .reader()
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(synchronous, 2, "synchronous=FULL");
        (schema(&store), user_version(&store))
    };
    assert!(version_first >= 1, "migrations ran");
    assert!(schema_first.iter().any(|(name, _)| name == "events"));

    // WAL is a property of the file: a plain connection sees it too.
    let plain = rusqlite::Connection::open(&ts.path).unwrap();
    let journal: String = plain
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(journal.to_ascii_lowercase(), "wal");
    drop(plain);

    // Opening again (also while another handle is open, with data in it) changes nothing.
    let mut app = demo_app(&ts.path);
    app.sell(&ctx(1), &sale(&["Full=1"], &[], cash("100")))
        .expect("sell");
    let events = event_count(&ts.path);
    let models = read_models(&ts.path);
    for _ in 0..2 {
        let again = Store::open(&ts.path).expect("reopen");
        assert_eq!(schema(&again), schema_first);
        assert_eq!(user_version(&again), version_first);
        assert_eq!(again.event_count().unwrap(), events as u64);
        assert!(again.device().unwrap().is_some());
    }
    drop(app);
    let app = App::open(&ts.path).expect("reopen the app");
    assert_eq!(app.device().unwrap().name, "test device");
    assert_eq!(event_count(&ts.path), events);
    assert_eq!(read_models(&ts.path), models);
}

#[test]
fn beginning_a_unit_needs_an_initialized_store() {
    let ts = temp_store();
    let mut store = Store::open(&ts.path).unwrap();
    assert!(matches!(
        store.begin(new_command_id(), minute(0)),
        Err(StoreError::NotInitialized)
    ));
}

// ---------------------------------------------------------------- rebuild

#[test]
fn persisted_read_models_equal_a_rebuild_from_the_log_after_every_kind_of_use_case() {
    let ts = temp_store();
    let app = realistic_mix(&ts.path);

    // The mix really left every kind of row behind (so the comparison is not vacuous).
    let seats = app.seats("demo").unwrap();
    let student = seats
        .seat_types
        .iter()
        .find(|s| s.name == "Student")
        .unwrap();
    assert_eq!(
        (student.sold, student.reserved, student.remaining),
        (1, 2, 0)
    );
    let full = seats.seat_types.iter().find(|s| s.name == "Full").unwrap();
    assert_eq!((full.sold, full.reserved, full.remaining), (2, 1, 7));
    let early = app
        .conference("demo")
        .unwrap()
        .promo_codes
        .into_iter()
        .find(|p| p.code == "EARLY")
        .unwrap();
    assert_eq!((early.held, early.redeemed), (1, 0));
    let mut statuses: Vec<String> = app
        .orders(Some("demo"))
        .unwrap()
        .into_iter()
        .map(|o| o.status)
        .collect();
    statuses.sort();
    statuses.dedup();
    assert_eq!(
        statuses,
        [
            "cancelled",
            "confirmed",
            "expired",
            "partially_reserved",
            "reserved"
        ]
    );
    drop(app);

    let persisted = read_models(&ts.path);
    for table in [
        "rm_conferences",
        "rm_seat_types",
        "rm_seat_availability",
        "rm_pending_reservations",
        "rm_promo_codes",
        "rm_orders",
        "rm_order_seats",
        "rm_order_lines",
        "rm_payments",
        "rm_seat_assignments",
    ] {
        assert!(
            persisted
                .iter()
                .any(|l| l.starts_with(&format!("{table}:"))),
            "{table} has rows"
        );
    }
    assert_eq!(persisted, rebuilt_read_models(&ts.path));

    // Rebuilding in place replays every event and changes nothing.
    let mut store = Store::open(&ts.path).unwrap();
    let mut last_progress = (0, 0);
    let replayed = store
        .rebuild_read_models(|done, total| last_progress = (done, total))
        .unwrap();
    assert_eq!(replayed, event_count(&ts.path) as u64);
    assert_eq!(last_progress, (replayed, replayed));
    drop(store);
    assert_eq!(read_models(&ts.path), persisted);
}
