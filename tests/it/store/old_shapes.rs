//! Old event shapes in the store: V1 payloads written into the log load and decode as V2
//! events through the upcasters, and the stored rows keep their old shape.
use super::stored_rows;
use crate::helpers::{demo_app, minute, temp_store};
use conference_app::new_command_id;
use conference_domain::aggregate::DomainEvent;
use conference_domain::order::{self, Order, OrderStatus};
use conference_domain::{DeviceId, Holder, OrderId, StreamId};
use conference_store::{Store, format_time, queries};

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
        let person = conference_domain::PersonalInfo::parse("Ada", "Byron", "ada@b.org").unwrap();
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
