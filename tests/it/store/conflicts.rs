//! Expected versions: a stale expected version is a typed conflict that writes nothing,
//! also for a second store on the same file and for events written behind the store's
//! back; a unit of work whose append failed part-way cannot be committed.
use super::stored_rows;
use crate::helpers::{ctx, demo_app, event_count, minute, read_models, strings, temp_store};
use conference_app::new_command_id;
use conference_domain::aggregate::DomainEvent;
use conference_domain::conference::{self, Conference};
use conference_domain::order::{self, Order, OrderStatus};
use conference_domain::{OrderId, StreamId};
use conference_store::{Conflict, Store, StoreError, format_time};
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
        person: conference_domain::PersonalInfo::parse("Grace", "Hopper", "grace@example.com")
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
    repriced.price = conference_domain::Money::parse("999").unwrap();
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
