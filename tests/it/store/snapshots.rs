//! Snapshots are only a cache of the log: every stream loads as the fold of its log
//! whatever its snapshot (missing, stale, planted, corrupt, of an older state shape or of
//! the wrong row shape), snapshots are written when due and hold the state at their
//! version, and a state kept in memory between units is not trusted once another
//! connection rewrote its stream.
use super::realistic_mix;
use crate::helpers::{card, cash, ctx, demo_app, minute, sale, strings, temp_store};
use conference_app::{App, new_command_id};
use conference_domain::aggregate::{Aggregate, DomainEvent};
use conference_domain::assignments::SeatAssignments;
use conference_domain::conference::Conference;
use conference_domain::discounts::Promotions;
use conference_domain::order::{Order, OrderStatus};
use conference_domain::payment::Payment;
use conference_domain::seats::SeatsAvailability;
use conference_domain::{ConferenceId, Holder, OrderId, StreamId, StreamKind};
use conference_store::{Recorded, SNAPSHOT_EVERY, Store, Tx};
use std::collections::HashMap;
use std::fmt::Debug;
use std::path::Path;

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
