//! No poison pills (DESIGN.md §7): whatever a sync server sends, a device's sync goes on.
//! A pulled event the device cannot take is set aside with its position and the reason,
//! kept where it can be, shown in `status`, and never stops the pages after it.
use crate::helpers::{demo_app, minute, temp_store};
use conference_app::App;
use conference_domain::stream::StreamId;
use conference_protocol::sync::{PullResponse, PulledEvent, WireEvent, raw_payload};
use serde_json::json;
use uuid::Uuid;

/// Every event of a store, as a server would send them, numbered from 1.
fn as_pulled(app: &App) -> Vec<PulledEvent> {
    let mut stmt = app
        .store()
        .reader()
        .prepare(
            "SELECT stream_key, stream_version, event_type, schema_version, payload, recorded_at, command_id, device_id FROM events ORDER BY position",
        )
        .expect("events");
    stmt.query_map([], |r| {
        let key: Vec<u8> = r.get(0)?;
        let payload: String = r.get(4)?;
        Ok((
            key,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            payload,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
        ))
    })
    .expect("rows")
    .map(|row| row.expect("row"))
    .enumerate()
    .map(
        |(
            i,
            (key, version, event_type, schema_version, payload, recorded_at, command_id, device_id),
        )| {
            PulledEvent {
                position: i64::try_from(i).expect("position") + 1,
                device_id,
                command_id,
                event: WireEvent {
                    stream: StreamId::from_key(&key).expect("stream").to_string(),
                    version,
                    event_type,
                    schema_version,
                    payload: serde_json::from_str(&payload).expect("payload"),
                    recorded_at,
                },
            }
        },
    )
    .collect()
}

fn page(events: Vec<PulledEvent>) -> PullResponse {
    let last = events.last().map_or(0, |e| e.position);
    PullResponse {
        events,
        next_after: last,
        head: last,
        outcomes: vec![],
    }
}

#[test]
fn a_device_sets_aside_what_it_cannot_take_and_goes_on_syncing() {
    // What an honest server sends: the organizer's whole setup.
    let organizer_store = temp_store();
    let organizer = demo_app(&organizer_store.path);
    let honest = as_pulled(&organizer);
    let template = |stream: &str, version: u64, event_type: &str, payload: serde_json::Value| {
        let like = &honest[0];
        PulledEvent {
            position: 0,
            device_id: like.device_id,
            command_id: Uuid::now_v7(),
            event: WireEvent {
                stream: stream.into(),
                version,
                event_type: event_type.into(),
                schema_version: 1,
                payload: raw_payload(&payload),
                recorded_at: like.event.recorded_at.clone(),
            },
        }
    };
    let conference = honest[0].event.stream.clone();
    let promos = honest
        .iter()
        .find(|e| e.event.event_type == "PromoCodeAdded")
        .expect("a promo code")
        .clone();
    let promo_versions = honest
        .iter()
        .filter(|e| e.event.stream == promos.event.stream)
        .count() as u64;
    let conference_id = conference.trim_start_matches("conference/").to_string();
    let seat_type = honest
        .iter()
        .find(|e| e.event.event_type == "SeatTypeCreated")
        .expect("a seat type")
        .event
        .payload_value()["id"]
        .clone();

    // And what a misbehaving one adds, between honest events.
    let mut again = promos.clone();
    again.event.version = promo_versions + 1;
    again.command_id = Uuid::now_v7();
    let mut rewritten = honest[0].clone();
    rewritten.event.payload = raw_payload(&json!({ "rewritten": true }));
    let order = format!("order/{}", Uuid::now_v7());
    let poison = vec![
        // The same code a second time: a repeat the read models tolerate.
        again,
        // 200,000 seats in one order: values the domain never writes.
        template(
            &order,
            1,
            "OrderPlaced",
            json!({
                "conference_id": conference_id,
                "seats": [{ "seat_type": seat_type, "quantity": 200_000 }],
                "access_code": "ABC123",
                "reservation_auto_expiration": "2026-12-01T09:15:00Z"
            }),
        ),
        // A field the domain does not write, on a valid order.
        template(
            &format!("order/{}", Uuid::now_v7()),
            1,
            "OrderPlaced",
            json!({
                "conference_id": conference_id,
                "seats": [{ "seat_type": seat_type, "quantity": 1 }],
                "access_code": "ABC123",
                "reservation_auto_expiration": "2026-12-01T09:15:00Z",
                "paid_in_full": true
            }),
        ),
        // A neutralisation that names no earlier event (a server's garbage): it takes
        // nothing out.
        template(
            &promos.event.stream,
            promo_versions + 2,
            "EventNeutralised",
            json!({ "version": 99, "position": 1, "reason": "garbage" }),
        ),
        // Another event at a version this device already holds from the server.
        rewritten,
        // An event no build knows.
        template(
            &format!("conference/{}", Uuid::now_v7()),
            1,
            "ConferenceRenamedByMagic",
            json!({}),
        ),
    ];
    let poisoned = poison.len();
    let mut events: Vec<PulledEvent> = honest.clone();
    events.extend(poison);
    // An honest event after all of them: publishing seen again is a no-op, so use a new
    // seat type the organizer adds now.
    let mut organizer = organizer;
    organizer
        .add_seat_type(
            &conference_app::Ctx::new(minute(5)),
            "demo",
            "Late",
            "",
            "30",
            7,
        )
        .expect("a late seat type");
    // The seat type, and the seats it adds to the organizer's own pool.
    let late = as_pulled(&organizer);
    events.extend(late[late.len() - 2..].iter().cloned());
    for (i, event) in events.iter_mut().enumerate() {
        event.position = i64::try_from(i).unwrap() + 1;
    }

    let store = temp_store();
    let mut door = App::open(&store.path).expect("open");
    door.init("door", minute(0)).expect("init");
    // Connected (no request is sent until it syncs): it keeps a pull cursor.
    door.connect("http://127.0.0.1:9", "token")
        .expect("connect");
    // Pages of three: a bad event never stops the pages after it.
    for chunk in events.chunks(3) {
        door.store_mut()
            .apply_pull(&page(chunk.to_vec()))
            .expect("a page with bad events still applies");
    }

    let status = door.status().expect("status");
    let reasons: Vec<String> = status.set_aside.iter().map(|x| x.reason.clone()).collect();
    assert_eq!(status.set_aside.len(), poisoned - 1, "{reasons:#?}");
    assert!(
        reasons.iter().any(|r| r.contains("out of range")),
        "{reasons:#?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("fields the domain does not write: paid_in_full")),
        "{reasons:#?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("EventNeutralised") && r.contains("cannot neutralise")),
        "{reasons:#?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("already confirmed")),
        "{reasons:#?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("ConferenceRenamedByMagic")),
        "{reasons:#?}"
    );
    assert_eq!(status.pulled_position, events.len() as i64);

    // The honest events are all shown, the late one too; the bad ones are not.
    let seats = door.seats("demo").expect("the conference");
    assert!(
        seats
            .seat_types
            .iter()
            .any(|s| s.name == "Late" && s.quantity == 7)
    );
    assert!(door.orders(Some("demo")).expect("orders").is_empty());
    let before = door.seats("demo").expect("seats");
    door.rebuild(|_, _| {})
        .expect("a rebuild skips what was never shown");
    assert_eq!(door.seats("demo").expect("seats"), before);

    // And the CLI says so.
    let text = conference_cli_status(&store.path);
    assert!(text.contains("kept but not shown"), "{text}");
}

fn conference_cli_status(store: &std::path::Path) -> String {
    let output = crate::helpers::cli(store, &["status"]);
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}
