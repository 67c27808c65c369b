//! The local store's guarantees on real SQLite files: typed conflicts on stale expected
//! versions (also against events written behind the store's back), units of work that fail
//! part-way and cannot be committed, snapshots that are only a cache of the log, old event
//! shapes read through the upcasters, durable pragmas, idempotent migrations, and read
//! models that equal a rebuild from the log.
use crate::helpers::{
    card, cash, ctx, demo_app, event_count, minute, read_models, rebuilt_read_models, sale,
    strings, temp_store,
};
use conference_app::conference_domain::aggregate::{Aggregate, DomainEvent};
use conference_app::conference_domain::assignments::SeatAssignments;
use conference_app::conference_domain::conference::{self, Conference};
use conference_app::conference_domain::discounts::Promotions;
use conference_app::conference_domain::order::{self, Order, OrderStatus};
use conference_app::conference_domain::payment::Payment;
use conference_app::conference_domain::seats::SeatsAvailability;
use conference_app::conference_domain::{
    ConferenceId, DeviceId, Holder, OrderId, StreamId, StreamKind,
};
use conference_app::{App, NewPromoCode, new_command_id};
use conference_store::{
    Conflict, Recorded, SNAPSHOT_EVERY, Store, StoreError, Tx, format_time, queries,
};
use std::collections::HashMap;
use std::fmt::Debug;
use std::path::Path;

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

/// Writes an `OrderCancelled` straight into the log at `version` of `stream`, on a plain
/// connection of its own: a writer that bypasses this store entirely.
fn insert_behind_the_stores_back(
    path: &Path,
    stream: StreamId,
    version: u64,
    reason: &str,
) -> rusqlite::Result<usize> {
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.execute(
        "INSERT INTO events (stream_key, stream_version, event_type, schema_version, payload, command_id, device_id, recorded_at)
         VALUES (?1, ?2, 'OrderCancelled', 1, ?3, ?4, ?5, ?6)",
        rusqlite::params![
            stream.key(),
            version,
            serde_json::json!({ "reason": reason }).to_string(),
            new_command_id().as_uuid(),
            new_command_id().as_uuid(),
            format_time(minute(5)),
        ],
    )
}

/// The (type, schema, payload) rows of a stream's log, in order.
fn stored_rows(path: &Path, stream: StreamId) -> Vec<(String, u32, String)> {
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.prepare(
        "SELECT event_type, schema_version, payload FROM events WHERE stream_key = ?1 ORDER BY stream_version",
    )
    .unwrap()
    .query_map([stream.key()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[test]
fn an_event_written_behind_the_stores_back_is_seen_by_the_next_append_as_a_conflict() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    let placed = app
        .place_order(&ctx(1), "demo", &strings(&["Full=1"]), &[])
        .expect("place");
    let order_id = OrderId::from_uuid(placed.id);
    let stream = StreamId::order(order_id);
    let version = app.store_mut().stream_version(stream).unwrap();
    assert_eq!(version, 3);

    // Another writer took the next version. The store keeps no version of its own that
    // could miss it: the next append reads the log and is refused.
    insert_behind_the_stores_back(&ts.path, stream, version + 1, "elsewhere")
        .expect("the next version is free");
    let rows_before = stored_rows(&ts.path, stream);
    let events_before = event_count(&ts.path);
    let models_before = read_models(&ts.path);
    let mut tx = app.store_mut().begin(new_command_id(), minute(6)).unwrap();
    assert_eq!(tx.stream_version(stream).unwrap(), version + 1);
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
        .expect_err("the version is taken");
    assert_eq!(
        expect_conflict(error),
        Conflict {
            stream,
            expected: version,
            actual: version + 1
        },
        "the log's version"
    );
    assert!(tx.recorded().is_empty());
    // A conflict is found before anything is written: the unit can still be committed,
    // and nothing of the refused append is in it.
    tx.commit().expect("a conflict does not poison the unit");
    assert_eq!(event_count(&ts.path), events_before);
    assert_eq!(stored_rows(&ts.path, stream), rows_before);
    assert_eq!(read_models(&ts.path), models_before);
    assert_eq!(app.order(order_id).unwrap().registrant, None);

    // Loads fold the foreign event too, and an append at its version goes through.
    let mut tx = app.store_mut().begin(new_command_id(), minute(7)).unwrap();
    let loaded = tx.load::<Order>(stream).unwrap();
    assert_eq!(loaded.version, version + 1);
    assert_eq!(
        loaded.state.data().expect("placed").status,
        OrderStatus::Cancelled
    );
    let recorded = tx
        .append::<Order>(stream, version + 1, vec![cancelled("again")])
        .expect("append at the log's version");
    assert_eq!(recorded[0].version, version + 2);
    tx.commit().unwrap();

    // Even a writer that skips the version check cannot fork a stream: the log holds one
    // event per (stream, version).
    let error = insert_behind_the_stores_back(&ts.path, stream, version + 2, "fork")
        .expect_err("a taken version is refused");
    assert!(
        matches!(
            error.sqlite_error_code(),
            Some(rusqlite::ErrorCode::ConstraintViolation)
        ),
        "{error:?}"
    );
    assert_eq!(event_count(&ts.path), events_before + 1);
}

#[test]
fn a_unit_of_work_whose_append_failed_part_way_cannot_be_committed() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    let placed = app
        .place_order(&ctx(1), "demo", &strings(&["Full=1"]), &[])
        .expect("place");
    let order_id = OrderId::from_uuid(placed.id);
    // `append` trusts its events (rules are `execute`'s job), so an event the read models
    // cannot take fails the append after earlier rows went in. The read models take a
    // seat type created twice (they keep the first), so this test makes its read-model
    // table refuse rows on this connection.
    let (stream, created) = app
        .store_mut()
        .events_after(0, 1_000)
        .unwrap()
        .into_iter()
        .find_map(|r| match r.event {
            DomainEvent::Conference(conference::Event::SeatTypeCreated(e)) => Some((r.stream, e)),
            _ => None,
        })
        .expect("a SeatTypeCreated");
    let version = app.store_mut().stream_version(stream).unwrap();
    let mut repriced = created.seat_type.clone();
    repriced.price = conference_app::conference_domain::Money::parse("999").unwrap();
    let updated = conference::SeatTypeUpdated {
        previous_quantity: repriced.quantity,
        seat_type: repriced,
    };
    let events_before = event_count(&ts.path);
    let models_before = read_models(&ts.path);
    let outbox_before = app
        .store_mut()
        .reader()
        .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get::<_, i64>(0))
        .unwrap();
    let price = |conn: &rusqlite::Connection| -> String {
        conn.query_row(
            "SELECT price FROM rm_seat_types WHERE id = ?1",
            [created.seat_type.id.as_uuid()],
            |r| r.get(0),
        )
        .unwrap()
    };
    let price_before = price(app.store_mut().reader());

    app.store_mut()
        .reader()
        .execute_batch(
            "CREATE TEMP TRIGGER refuse_seat_types BEFORE INSERT ON rm_seat_types
             BEGIN SELECT RAISE(ABORT, 'this read model takes no row now'); END",
        )
        .unwrap();
    let command_id = new_command_id();
    let mut tx = app.store_mut().begin(command_id, minute(6)).unwrap();
    let error = tx
        .append::<Conference>(
            stream,
            version,
            vec![
                conference::Event::SeatTypeUpdated(updated),
                conference::Event::SeatTypeCreated(created.clone()),
            ],
        )
        .expect_err("the second event cannot be projected");
    assert!(
        matches!(&error, StoreError::Sqlite(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)),
        "{error:?}"
    );
    assert!(tx.recorded().is_empty());
    // It really failed part-way: inside the unit, the first event is in the log and in
    // the read models.
    assert_eq!(tx.stream_version(stream).unwrap(), version + 2);
    assert_eq!(price(tx.reader()), "999");

    // A caller that handles the error and commits the rest of its unit must not publish
    // half of the failed append: the whole unit is refused, and none of it is written.
    tx.record_outcome("UpdateSeatType", true, &serde_json::json!({}))
        .unwrap();
    tx.push_outbox("UpdateSeatType", &serde_json::json!({}))
        .unwrap();
    assert!(matches!(tx.commit(), Err(StoreError::Poisoned)));
    app.store_mut()
        .reader()
        .execute_batch("DROP TRIGGER refuse_seat_types")
        .unwrap();
    assert_eq!(event_count(&ts.path), events_before);
    assert_eq!(read_models(&ts.path), models_before);
    assert_eq!(price(app.store_mut().reader()), price_before);
    assert!(!app.store_mut().command_seen(command_id).unwrap());
    assert_eq!(
        app.store_mut()
            .reader()
            .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get::<_, i64>(0))
            .unwrap(),
        outbox_before
    );

    // The store is unharmed: the next unit appends at the version the log really has.
    let order_stream = StreamId::order(order_id);
    let order_version = app.store_mut().stream_version(order_stream).unwrap();
    assert_eq!(app.store_mut().stream_version(stream).unwrap(), version);
    let mut tx = app.store_mut().begin(new_command_id(), minute(7)).unwrap();
    let recorded = tx
        .append::<Order>(
            order_stream,
            order_version,
            vec![cancelled("after the failure")],
        )
        .expect("append");
    assert_eq!(recorded[0].version, order_version + 1);
    tx.commit().expect("a unit without failures commits");
    assert_eq!(event_count(&ts.path), events_before + 1);
    assert_eq!(app.order(order_id).unwrap().status, "cancelled");
}

// ---------------------------------------------------------------- snapshots

/// Something to do with a stream's aggregate, whatever its type: [`with_aggregate`] calls
/// `run` with the aggregate of the stream's kind and the stream's events from the log.
trait ForAggregate {
    type Out;
    fn run<A: Aggregate + PartialEq + Debug>(
        self,
        stream: StreamId,
        own: &[&A::Event],
    ) -> Self::Out;
}

fn with_aggregate<F: ForAggregate>(events: &[Recorded], stream: StreamId, f: F) -> F::Out {
    fn own<E>(
        events: &[Recorded],
        stream: StreamId,
        pick: fn(&DomainEvent) -> Option<&E>,
    ) -> Vec<&E> {
        events
            .iter()
            .filter(|r| r.stream == stream)
            .map(|r| pick(&r.event).unwrap_or_else(|| panic!("{stream} holds {:?}", r.event)))
            .collect()
    }
    match stream.kind {
        StreamKind::Conference => f.run::<Conference>(
            stream,
            &own(events, stream, |e| match e {
                DomainEvent::Conference(e) => Some(e),
                _ => None,
            }),
        ),
        StreamKind::Seats => f.run::<SeatsAvailability>(
            stream,
            &own(events, stream, |e| match e {
                DomainEvent::Seats(e) => Some(e),
                _ => None,
            }),
        ),
        StreamKind::Promos => f.run::<Promotions>(
            stream,
            &own(events, stream, |e| match e {
                DomainEvent::Promos(e) => Some(e),
                _ => None,
            }),
        ),
        StreamKind::Order => f.run::<Order>(
            stream,
            &own(events, stream, |e| match e {
                DomainEvent::Order(e) => Some(e),
                _ => None,
            }),
        ),
        StreamKind::Payment => f.run::<Payment>(
            stream,
            &own(events, stream, |e| match e {
                DomainEvent::Payment(e) => Some(e),
                _ => None,
            }),
        ),
        StreamKind::Assignments => f.run::<SeatAssignments>(
            stream,
            &own(events, stream, |e| match e {
                DomainEvent::Assignments(e) => Some(e),
                _ => None,
            }),
        ),
    }
}

/// Loading the stream gives the fold of its whole log, at its log's version.
struct LoadIsFold<'a, 'c> {
    tx: &'a Tx<'c>,
    label: &'a str,
}

impl ForAggregate for LoadIsFold<'_, '_> {
    type Out = ();
    fn run<A: Aggregate + PartialEq + Debug>(self, stream: StreamId, own: &[&A::Event]) {
        assert!(!own.is_empty(), "{stream} has events");
        let folded = A::fold(own.iter().copied());
        let loaded = self.tx.load::<A>(stream).expect("load");
        assert_eq!(
            loaded.version,
            own.len() as u64,
            "{}: version of {stream}",
            self.label
        );
        assert_eq!(loaded.state, folded, "{}: state of {stream}", self.label);
    }
}

/// The snapshot text of the fold of the stream's first `.0` events, its aggregate's
/// snapshot schema, and whether that state differs from the fold of the whole stream.
struct FoldOfFirst(usize);

impl ForAggregate for FoldOfFirst {
    type Out = (String, u32, bool);
    fn run<A: Aggregate + PartialEq + Debug>(
        self,
        _: StreamId,
        own: &[&A::Event],
    ) -> (String, u32, bool) {
        let part = A::fold(own.iter().take(self.0).copied());
        let differs = part != A::fold(own.iter().copied());
        (
            serde_json::to_string(&part).unwrap(),
            A::SNAPSHOT_VERSION,
            differs,
        )
    }
}

/// A stored snapshot row holds its aggregate's schema and the fold of the stream's
/// events up to its version.
struct SnapshotIsFold {
    version: u64,
    schema: u32,
    state: String,
}

impl ForAggregate for SnapshotIsFold {
    type Out = ();
    fn run<A: Aggregate + PartialEq + Debug>(self, stream: StreamId, own: &[&A::Event]) {
        assert_eq!(
            self.schema,
            A::SNAPSHOT_VERSION,
            "schema of {stream}'s snapshot"
        );
        let stored: A = serde_json::from_str(&self.state).expect("a snapshot the store wrote");
        let upto = usize::try_from(self.version).unwrap();
        assert_eq!(
            stored,
            A::fold(own.iter().take(upto).copied()),
            "{stream}'s snapshot is its state at version {}",
            self.version
        );
    }
}

/// Every stream in the log (enumerated from the log itself) and its version.
fn streams_in_log(store: &Store) -> Vec<(StreamId, u64)> {
    let keys: Vec<Vec<u8>> = store
        .reader()
        .prepare("SELECT DISTINCT stream_key FROM events ORDER BY stream_key")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    keys.iter()
        .map(|key| {
            let stream = StreamId::from_key(key).expect("a stream key");
            assert_eq!(&stream.key(), key, "keys round-trip");
            (stream, store.stream_version(stream).unwrap())
        })
        .collect()
}

/// The stored snapshot rows: stream key to (version, schema, state).
fn snapshot_rows(store: &Store) -> HashMap<Vec<u8>, (u64, u32, String)> {
    store
        .reader()
        .prepare("SELECT stream_key, version, schema, state FROM snapshots")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn assert_every_stream_loads_as_its_fold(store: &mut Store, label: &str) -> usize {
    let events = store.events_after(0, 1_000_000).expect("events");
    let streams = streams_in_log(store);
    let tx = store.begin(new_command_id(), minute(30)).expect("begin");
    let mut kinds = std::collections::BTreeSet::new();
    for (stream, _) in &streams {
        kinds.insert(stream.kind);
        with_aggregate(&events, *stream, LoadIsFold { tx: &tx, label });
    }
    assert_eq!(
        kinds.len(),
        StreamKind::ALL.len(),
        "{label}: every kind of stream is checked, saw {kinds:?}"
    );
    streams.len()
}

/// The snapshots the store wrote: only for streams at least `SNAPSHOT_EVERY` long, never
/// more than `SNAPSHOT_EVERY` events behind, each the state at its version; and, when
/// `all_due` (no snapshot was ever dropped), one for every stream that long. Returns the
/// number of snapshots.
fn assert_snapshots_are_due_and_right(store: &Store, all_due: bool) -> usize {
    let events = store.events_after(0, 1_000_000).expect("events");
    let streams = streams_in_log(store);
    let rows = snapshot_rows(store);
    for (stream, version) in &streams {
        match rows.get(&stream.key()) {
            None => assert!(
                !all_due || *version < SNAPSHOT_EVERY,
                "{stream} has {version} events and no snapshot"
            ),
            Some((at, schema, state)) => {
                assert!(
                    *at >= SNAPSHOT_EVERY && at <= version && version - at < SNAPSHOT_EVERY,
                    "{stream} has {version} events and a snapshot at {at}"
                );
                with_aggregate(
                    &events,
                    *stream,
                    SnapshotIsFold {
                        version: *at,
                        schema: *schema,
                        state: state.clone(),
                    },
                );
            }
        }
    }
    let known: std::collections::HashSet<Vec<u8>> = streams.iter().map(|(s, _)| s.key()).collect();
    assert!(
        rows.keys().all(|k| known.contains(k)),
        "snapshots of no stream"
    );
    rows.len()
}

/// For every stream longer than two events, stores a snapshot holding the state after its
/// first two events, at the version `at(stream version)` and the schema
/// `SNAPSHOT_VERSION + shift`. Returns how many were planted, and for how many the planted
/// state differs from the stream's real state (so trusting it would show).
fn plant_snapshots_of_two_events(
    store: &Store,
    at: impl Fn(u64) -> u64,
    shift: i64,
) -> (usize, usize) {
    let events = store.events_after(0, 1_000_000).expect("events");
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let (mut planted, mut misleading) = (0, 0);
    for (stream, version) in streams_in_log(store) {
        if version <= 2 {
            continue;
        }
        let (state, schema, differs) = with_aggregate(&events, stream, FoldOfFirst(2));
        conn.execute(
            "INSERT INTO snapshots (stream_key, version, schema, state) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (stream_key) DO UPDATE SET version = excluded.version, schema = excluded.schema, state = excluded.state",
            rusqlite::params![stream.key(), at(version), i64::from(schema) + shift, state],
        )
        .unwrap();
        planted += 1;
        misleading += usize::from(differs);
    }
    (planted, misleading)
}

fn corrupt(path: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).expect("open");
    let changed = conn.execute(sql, []).expect("corrupt");
    assert!(changed > 0, "`{sql}` changed nothing");
}

/// The pool's state folded from the given log.
fn pool_fold(events: &[Recorded], pool: StreamId) -> SeatsAvailability {
    SeatsAvailability::fold(
        events
            .iter()
            .filter(|r| r.stream == pool)
            .map(|r| match &r.event {
                DomainEvent::Seats(e) => e,
                other => panic!("the pool holds {other:?}"),
            }),
    )
}

#[test]
fn a_state_kept_between_units_is_not_trusted_once_another_connection_rewrote_its_stream() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    app.sell(&ctx(1), &sale(&["Full=1"], &[], cash("100")))
        .expect("sale");
    let conference = ConferenceId::from_uuid(app.conference("demo").unwrap().id);
    let pool = StreamId::seats(conference, Holder::Pool);
    // The sale left the pool's state in the store's memory, at the pool's version.
    let version = app.store_mut().stream_version(pool).unwrap();
    let before = app.store_mut().events_after(0, 100_000).unwrap();
    {
        let tx = app.store_mut().begin(new_command_id(), minute(2)).unwrap();
        assert_eq!(
            tx.load::<SeatsAvailability>(pool).unwrap().state,
            pool_fold(&before, pool)
        );
    }

    // Another process (a CLI syncing the same file) replaces the pool's last event at the
    // same version, as sync does with a tentative event the server did differently: here
    // the reservation is held again instead of committed.
    let other = rusqlite::Connection::open(&ts.path).unwrap();
    let key = pool.key();
    let replaced = other
        .execute(
            "DELETE FROM events WHERE stream_key = ?1 AND stream_version = ?2",
            rusqlite::params![key, version],
        )
        .unwrap();
    assert_eq!(replaced, 1);
    other
        .execute(
            "INSERT INTO events (stream_key, stream_version, event_type, schema_version, payload, command_id, device_id, recorded_at)
             SELECT stream_key, ?2, event_type, schema_version, payload, command_id, device_id, recorded_at
             FROM events WHERE stream_key = ?1 AND stream_version = ?2 - 1",
            rusqlite::params![key, version],
        )
        .unwrap();
    drop(other);
    let after = app.store_mut().events_after(0, 100_000).unwrap();
    assert_ne!(
        pool_fold(&before, pool),
        pool_fold(&after, pool),
        "the rewrite changes the pool's state"
    );

    // Same version, other events: the state in memory must not be used.
    let tx = app.store_mut().begin(new_command_id(), minute(3)).unwrap();
    let loaded = tx.load::<SeatsAvailability>(pool).unwrap();
    assert_eq!(loaded.version, version);
    assert_eq!(loaded.state, pool_fold(&after, pool));
}

#[test]
fn a_loaded_aggregate_is_the_fold_of_its_log_whatever_its_snapshot() {
    let ts = temp_store();
    let mut app = realistic_mix(&ts.path);
    let conference = ConferenceId::from_uuid(app.conference("demo").unwrap().id);
    // Long streams: one order's seats assigned and unassigned over and over, and the
    // conference's seat pool, which every order draws from.
    let long = app
        .sell(&ctx(26), &sale(&["Full=2"], &[], cash("200")))
        .expect("sale");
    let id = long.id.to_string();
    for _ in 0..16 {
        app.assign_seat(&ctx(27), &id, 0, "Ada", "Lovelace", "ada@example.com")
            .expect("assign");
        app.unassign_seat(&ctx(27), &id, 0).expect("unassign");
    }
    let short = app
        .place_order(&ctx(28), "demo", &strings(&["Full=1"]), &[])
        .expect("a fresh order");
    drop(app);

    let mut store = Store::open(&ts.path).expect("open");
    let assignments = StreamId::assignments(OrderId::from_uuid(long.id));
    let pool = StreamId::seats(conference, Holder::Pool);
    let short = StreamId::order(OrderId::from_uuid(short.id));
    let rows = snapshot_rows(&store);
    assert!(store.stream_version(assignments).unwrap() > 2 * SNAPSHOT_EVERY);
    assert!(store.stream_version(pool).unwrap() >= SNAPSHOT_EVERY);
    assert!(
        rows.contains_key(&assignments.key()),
        "a long stream has a snapshot"
    );
    assert!(rows.contains_key(&pool.key()), "the pool has a snapshot");
    assert!(
        rows[&assignments.key()].0 < store.stream_version(assignments).unwrap(),
        "events after the snapshot are folded on top"
    );
    assert_eq!(store.stream_version(short).unwrap(), 3);
    assert!(!rows.contains_key(&short.key()), "a short stream has none");
    assert!(assert_snapshots_are_due_and_right(&store, true) >= 2);
    let streams = assert_every_stream_loads_as_its_fold(&mut store, "snapshots as written");
    assert!(streams >= 10);

    // A snapshot older than the log: the events after it are folded on top.
    let (planted, misleading) = plant_snapshots_of_two_events(&store, |_| 2, 0);
    assert!(planted >= 5 && misleading >= 5, "{planted} {misleading}");
    assert_every_stream_loads_as_its_fold(&mut store, "snapshots at version 2");

    // A snapshot claiming a version the log does not have is not trusted.
    plant_snapshots_of_two_events(&store, |version| version + 1, 0);
    assert_every_stream_loads_as_its_fold(&mut store, "snapshots ahead of the log");

    // Nor is one of another state shape, even at the log's version.
    plant_snapshots_of_two_events(&store, |version| version, 1);
    assert_every_stream_loads_as_its_fold(&mut store, "snapshots of another schema");

    corrupt(
        &ts.path,
        "UPDATE snapshots SET state = '{\"this is\": \"not a snapshot'",
    );
    assert_every_stream_loads_as_its_fold(&mut store, "garbage snapshots");

    corrupt(
        &ts.path,
        "UPDATE snapshots SET state = '[]', version = (SELECT MAX(stream_version) FROM events WHERE events.stream_key = snapshots.stream_key)",
    );
    assert_every_stream_loads_as_its_fold(&mut store, "snapshots of the wrong shape");

    corrupt(&ts.path, "DELETE FROM snapshots");
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
    let rows = snapshot_rows(&store);
    assert_eq!(
        rows.get(&pool.key()).map(|r| r.0),
        Some(store.stream_version(pool).unwrap()),
        "the pool's snapshot is written anew"
    );
    assert_snapshots_are_due_and_right(&store, false);
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
    // A snapshot that would parse, at the stream's version, but of a state unlike the log's.
    let bogus = serde_json::to_string(&Order::NotPlaced).unwrap();
    let plant = |schema: u32| {
        let conn = rusqlite::Connection::open(&ts.path).unwrap();
        conn.execute(
            "INSERT INTO snapshots (stream_key, version, schema, state) VALUES (?1, 3, ?2, ?3)
             ON CONFLICT (stream_key) DO UPDATE SET version = excluded.version, schema = excluded.schema, state = excluded.state",
            rusqlite::params![stream.key(), schema, bogus],
        )
        .unwrap();
    };
    let load = || {
        let mut store = Store::open(&ts.path).unwrap();
        let tx = store.begin(new_command_id(), minute(2)).unwrap();
        tx.load::<Order>(stream).unwrap()
    };
    assert_eq!(load().version, 3);
    assert!(load().state.data().is_some());

    // The snapshot row is read: one of the current shape is taken as it is (a cache is
    // trusted, which is what makes the checks below able to fail).
    plant(Order::SNAPSHOT_VERSION);
    assert_eq!(load().state, Order::NotPlaced);

    // Written for another shape of the state, it must not be trusted.
    for schema in [Order::SNAPSHOT_VERSION - 1, Order::SNAPSHOT_VERSION + 1] {
        plant(schema);
        let loaded = load();
        assert_eq!(loaded.version, 3);
        let data = loaded.state.data().expect("the order, folded from its log");
        assert_eq!(data.status, OrderStatus::ReservationCompleted);
        assert_eq!(data.total().to_string(), "200.00");
    }
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
                "INSERT INTO events (stream_key, stream_version, event_type, schema_version, payload, command_id, device_id, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                rusqlite::params![
                    stream.key(),
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
    let stored = stored_rows(&ts.path, stream);
    assert_eq!(stored.len(), 5);
    let expected: Vec<(String, u32, String)> = v1_rows
        .iter()
        .map(|(t, v, p)| ((*t).to_string(), *v, p.clone()))
        .collect();
    assert_eq!(stored[..4], expected);
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

#[test]
fn a_snapshot_row_of_the_wrong_shape_falls_back_to_the_log() {
    use conference_domain::aggregate::Aggregate;
    use conference_domain::order::Order;
    use conference_domain::stream::StreamId;
    let store = crate::helpers::temp_store();
    let mut app = crate::helpers::demo_app(&store.path);
    let order = app
        .place_order(&crate::helpers::ctx(1), "demo", &["Full=1".into()], &[])
        .expect("place");
    let stream = StreamId::order(conference_domain::OrderId::from_uuid(order.id));
    drop(app);
    let conn = rusqlite::Connection::open(&store.path).expect("open");
    for (version, state) in [
        ("CAST(-1 AS INTEGER)", "'{}'"),
        ("'three'", "'{}'"),
        ("1", "x'00ff'"),
    ] {
        conn.execute("DELETE FROM snapshots", []).expect("clear");
        conn.execute(
            &format!("INSERT INTO snapshots (stream_key, version, schema, state) VALUES (?1, {version}, {}, {state})", Order::SNAPSHOT_VERSION),
            [stream.key()],
        )
        .expect("odd snapshot");
        let mut opened = conference_store::Store::open(&store.path).expect("open store");
        let tx = opened
            .begin(
                conference_domain::CommandId::from_uuid(uuid_like()),
                crate::helpers::minute(2),
            )
            .expect("begin");
        let loaded = tx.load::<Order>(stream).expect("a bad snapshot is ignored");
        assert_eq!(loaded.version, 3, "snapshot ({version}, {state})");
        assert!(loaded.state.data().is_some());
    }
}

fn uuid_like() -> uuid::Uuid {
    uuid::Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0042)
}
