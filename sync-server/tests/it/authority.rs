//! The server as the authority (DESIGN.md §7): devices with valid tokens send hand-made
//! pushes, and every one is refused with a stable code, with nothing of it stored; honest
//! devices' commands, replayed by the server with the code the device ran, are taken as
//! they were written, including step-by-step orders and sales at a price an organizer
//! changed while the door was offline.
//!
//! tidy: long because each refused push is hand-made in full so the case shows exactly what
//! the server refuses; the cases read as one table.
use crate::helpers::{
    Local, TestDevice, TestServer, all_applied, ctx, door_with_allotment, of_type,
    organizer_with_conference, spawn_sync_server,
};
use conference_app::{PaymentInput, SaleInput};
use conference_protocol::sync::{
    PulledEvent, PushCommand, PushRequest, PushResponse, PushStatus, StreamRead, WireEvent,
    raw_payload,
};
use conference_sync_server::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

/// A published conference (Full at 120, 1000 seats, code EARLY 15 %) and its organizer.
struct Venue {
    server: TestServer,
    organizer: Local,
}

impl Venue {
    async fn new() -> Self {
        let server = spawn_sync_server().await;
        let mut organizer =
            organizer_with_conference(&server, "devconf", &[("Full", "120", 1000)]).await;
        organizer.add_promo_code("devconf", "EARLY", "15");
        all_applied(&server.push_pending(&mut organizer).await);
        Self { server, organizer }
    }

    /// A door with ten seats of its own, its grant received and pushed.
    async fn door(&self) -> Local {
        let mut door =
            door_with_allotment(&self.server, &self.organizer, &[], "devconf", "Full", 10).await;
        all_applied(&self.server.push_pending(&mut door).await);
        door
    }

    fn conference(&self) -> String {
        format!("conference/{}", self.organizer.conference_id("devconf"))
    }

    fn pool(&self) -> String {
        format!("seats/{}", self.organizer.conference_id("devconf"))
    }

    fn full(&self) -> Uuid {
        self.organizer.seat_type_id("devconf", "Full")
    }

    /// Every event of the log, as an unscoped organizer pulls it.
    async fn log(&self) -> Vec<PulledEvent> {
        self.server.pull_all(&self.organizer.device).await
    }

    /// A stream's version on the server.
    async fn version(&self, stream: &str) -> u64 {
        self.log()
            .await
            .iter()
            .filter(|e| e.event.stream == stream)
            .map(|e| e.event.version)
            .max()
            .unwrap_or(0)
    }

    /// Pushes `request` as `device`; the code it was refused with (the last command's
    /// rejection, or the whole request's error). Nothing may have been stored.
    async fn refused(&self, device: &TestDevice, request: &PushRequest) -> String {
        // Numbered where the server expects this device to go on (earlier forgeries were
        // refused, and the device's own store numbers as if they were not).
        let mut request = request.clone();
        let next = self.server.count(&format!(
            "SELECT next_seq FROM devices WHERE device_id = {}",
            self.server.id_literal(device.id)
        ));
        for (seq, command) in (next..).zip(&mut request.commands) {
            command.device_seq = u64::try_from(seq).expect("a sequence number");
        }
        let request = &request;
        let before = self.server.count("SELECT COUNT(*) FROM events");
        let (status, body) = self.server.push(device, request).await;
        let code = if status == StatusCode::OK {
            let response: PushResponse = serde_json::from_value(body).expect("a push response");
            let last = response.results.last().expect("a result");
            assert_eq!(last.status, PushStatus::Rejected, "{response:?}");
            last.reason.as_ref().expect("a reason").code.clone()
        } else {
            assert!(status.is_client_error(), "{status} {body}");
            body["code"].as_str().expect("a code").to_string()
        };
        assert_eq!(
            self.server.count("SELECT COUNT(*) FROM events"),
            before,
            "something of a push refused as {code} was stored"
        );
        code
    }
}

/// SQL that stores a copy of the first event matching `of` as the next event of its stream,
/// with another type and payload, written by `device`: what a server before replay stored
/// when a device sent it.
fn forged_copy(of: &str, event_type: &str, payload: String, device: &str) -> String {
    format!(
        "INSERT INTO events (position, stream_key, stream_version, conference_id, event_type, schema_version, payload, command_id, device_id, recorded_at)
         SELECT (SELECT MAX(position) FROM events) + 1, stream_key,
                (SELECT MAX(e.stream_version) FROM events e WHERE e.stream_key = events.stream_key) + 1,
                conference_id, '{event_type}', 1, '{payload}', command_id, {device}, recorded_at
         FROM events WHERE {of} LIMIT 1"
    )
}

/// Full's price cut to 0.01, as a forged `SeatTypeUpdated` payload.
fn price_cut(full: Uuid) -> String {
    json!({
        "id": full, "name": "Full", "description": "", "price": "0.01",
        "quantity": 1000, "previous_quantity": 1000
    })
    .to_string()
}

/// One door sale, not pushed yet, as its one command.
fn sale(door: &mut Local) -> PushRequest {
    door.sell("devconf", &["Full=1"], false);
    let request = door.pending();
    assert_eq!(request.commands.len(), 1);
    request
}

/// An event for `command`, recorded when it ran.
fn forged(
    command: &PushCommand,
    stream: &str,
    version: u64,
    event_type: &str,
    payload: Value,
) -> WireEvent {
    WireEvent {
        stream: stream.into(),
        version,
        event_type: event_type.into(),
        schema_version: 1,
        payload: raw_payload(&payload),
        recorded_at: command.events[0].recorded_at.clone(),
    }
}

/// In place of `request`'s one command, a command the server has not seen: `command`
/// pushed as `command_type`, with `events`.
fn instead(request: &mut PushRequest, command_type: &str, command: Value, events: Vec<WireEvent>) {
    let template = request.commands[0].clone();
    request.commands[0] = PushCommand {
        command_id: Uuid::now_v7(),
        command_type: command_type.into(),
        command: raw_payload(&command),
        events,
        reads: vec![],
        ..template
    };
}

const MISMATCH: &str = "events_do_not_match_command";

/// A `receive_allotment` of `quantity` seats of `seat_type` on the allotment stream `own`
/// at `version`, in place of `request`'s one command.
fn receive(
    request: &mut PushRequest,
    conference_id: Uuid,
    seat_type: Uuid,
    quantity: u64,
    own: &str,
    version: u64,
) {
    let seats = json!([{ "seat_type": seat_type, "quantity": quantity }]);
    let event = forged(
        &request.commands[0],
        own,
        version,
        "AllotmentReceived",
        json!({ "seats": seats }),
    );
    instead(
        request,
        "receive_allotment",
        json!({ "type": "receive_allotment", "conference_id": conference_id, "seats": seats }),
        vec![event],
    );
}

/// A sale's order events moved onto `stream`, after its `version` events.
fn onto(sale: &mut PushCommand, stream: &str, version: u64) {
    let order = sale.events[0].stream.clone();
    for event in &mut sale.events {
        if event.stream == order {
            event.stream = stream.into();
            event.version += version;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_door_cannot_write_the_conference_its_pool_or_its_promo_codes() {
    let venue = Venue::new().await;
    let conference = venue.conference();
    let pool = venue.pool();
    let full = venue.full();

    // A sale carrying a price cut and 99,900 more seats for the seat type.
    let mut door = venue.door().await;
    let mut request = sale(&mut door);
    let command = &mut request.commands[0];
    let version = venue.version(&conference).await + 1;
    let cut = forged(
        command,
        &conference,
        version,
        "SeatTypeUpdated",
        json!({
            "id": full, "name": "Full", "description": "", "price": "0.01",
            "quantity": 100000, "previous_quantity": 1000
        }),
    );
    command.events.push(cut.clone());
    assert_eq!(venue.refused(&door.device, &request).await, MISMATCH);
    // The same as the organizer command it is: not a door's.
    let mut request = sale(&mut door);
    instead(
        &mut request,
        "update_seat_type",
        json!({
            "type": "update_seat_type", "conference_id": door.conference_id("devconf"),
            "seat_type_id": full, "name": null, "description": null, "price": "0.01", "quantity": 100000
        }),
        vec![cut],
    );
    assert_eq!(
        venue.refused(&door.device, &request).await,
        "forbidden_command"
    );

    // Seats added to the pool, and a grant of the pool to another door.
    let other = venue.door().await;
    for (event_type, payload) in [
        (
            "AvailableSeatsChanged",
            json!({ "seats": [{ "seat_type": full, "quantity": 50000 }] }),
        ),
        (
            "SeatsAllotted",
            json!({ "device": other.device.id, "seats": [{ "seat_type": full, "quantity": 777 }] }),
        ),
    ] {
        let mut door = venue.door().await;
        let mut request = sale(&mut door);
        let command = &mut request.commands[0];
        let version = venue.version(&pool).await + 1;
        let event = forged(command, &pool, version, event_type, payload);
        command.events.push(event);
        assert_eq!(
            venue.refused(&door.device, &request).await,
            MISMATCH,
            "{event_type}"
        );
    }

    // A 100 % code of its own, carried by a sale or pushed as the organizer's command.
    let promos = format!("promos/{}", door.conference_id("devconf"));
    let early = venue
        .log()
        .await
        .into_iter()
        .find(|e| e.event.event_type == "PromoCodeAdded")
        .expect("EARLY");
    let mut free = early.event.payload_value();
    free["code"] = json!("FREE100");
    let mut door = venue.door().await;
    let mut request = sale(&mut door);
    let command = &mut request.commands[0];
    let version = venue.version(&promos).await + 1;
    let added = forged(command, &promos, version, "PromoCodeAdded", free);
    command.events.push(added.clone());
    assert_eq!(venue.refused(&door.device, &request).await, MISMATCH);
    let mut request = sale(&mut door);
    instead(&mut request, "add_promo_code", json!({}), vec![added]);
    assert_eq!(
        venue.refused(&door.device, &request).await,
        "forbidden_command"
    );

    // Unpublishing, or creating a conference of its own.
    for command_type in ["unpublish_conference", "create_conference"] {
        let mut door = venue.door().await;
        let mut request = sale(&mut door);
        instead(&mut request, command_type, json!({}), vec![]);
        assert_eq!(
            venue.refused(&door.device, &request).await,
            "forbidden_command"
        );
    }

    honest_devices_go_on(&venue).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn seats_reach_an_allotment_only_from_the_server() {
    let venue = Venue::new().await;
    let full = venue.full();
    let conference_id = venue.organizer.conference_id("devconf");

    // Receiving seats nobody granted: 100,000, then 2^32 - 1.
    for quantity in [100_000_u64, u64::from(u32::MAX)] {
        let mut door = venue.door().await;
        let mut request = sale(&mut door);
        let own = format!("seats/{conference_id}/{}", door.device.id);
        let version = venue.version(&own).await + 1;
        receive(&mut request, conference_id, full, quantity, &own, version);
        // An allotment past what a seat type holds is refused where it is read.
        let expected = if quantity > 100_000 {
            "invalid_event"
        } else {
            "grant_unknown"
        };
        assert_eq!(
            venue.refused(&door.device, &request).await,
            expected,
            "{quantity}"
        );
    }

    // Another door's grant, received as this door's; and more seats than its own new
    // grant gave.
    let other = venue.door().await;
    let grant_of = |events: &[PulledEvent], device: Uuid| {
        of_type(events, "SeatsAllotted")
            .into_iter()
            .filter(|e| e.event.payload_value()["device"] == json!(device))
            .map(|e| e.position)
            .max()
            .expect("a grant")
    };
    let theirs = grant_of(&venue.log().await, other.device.id);
    let mut door = venue.door().await;
    let (status, body) = venue
        .server
        .post(
            &door.device,
            "/v1/allotments",
            &json!({
                "command_id": Uuid::now_v7(),
                "conference_id": conference_id,
                "seats": [{ "seat_type_id": full, "quantity": 4 }]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mine = grant_of(&venue.log().await, door.device.id);
    let own = format!("seats/{conference_id}/{}", door.device.id);
    let device_id = conference_domain::DeviceId::from_uuid(door.device.id);
    for (position, quantity) in [(theirs, 10), (mine, 5)] {
        let mut request = sale(&mut door);
        let version = venue.version(&own).await + 1;
        receive(&mut request, conference_id, full, quantity, &own, version);
        request.commands[0].command_id =
            conference_app::command::receive_allotment_id(device_id, position).as_uuid();
        assert_eq!(
            venue.refused(&door.device, &request).await,
            "grant_unknown",
            "{position}"
        );
    }

    // Seats returned from another door's allotment.
    let mut door = venue.door().await;
    door.app
        .return_allotment(&ctx(2), "devconf", &["Full=3".into()])
        .expect("return");
    let mut request = door.pending();
    let theirs = format!("seats/{conference_id}/{}", other.device.id);
    let version = venue.version(&theirs).await + 1;
    for (i, event) in request.commands[0].events.iter_mut().enumerate() {
        event.stream = theirs.clone();
        event.version = version + i as u64;
    }
    assert_eq!(venue.refused(&door.device, &request).await, MISMATCH);

    honest_devices_go_on(&venue).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_are_what_their_commands_make_them() {
    let venue = Venue::new().await;

    // A confirmed 50-seat order with no payment and no reservation.
    let mut door = venue.door().await;
    let mut request = sale(&mut door);
    let template = request.commands[0].clone();
    let placed = template
        .events
        .iter()
        .find(|e| e.event_type == "OrderPlaced")
        .expect("placed")
        .clone();
    let order_id = placed.stream.trim_start_matches("order/").to_string();
    let mut big = placed.payload_value();
    big["seats"][0]["quantity"] = json!(50);
    let events = vec![
        WireEvent {
            payload: raw_payload(&big),
            ..placed.clone()
        },
        forged(&template, &placed.stream, 2, "OrderConfirmed", json!({})),
    ];
    instead(
        &mut request,
        "confirm_order",
        json!({ "type": "confirm_order", "order_id": order_id }),
        events,
    );
    assert_eq!(venue.refused(&door.device, &request).await, MISMATCH);

    // A sale appended to another door's order.
    let mut other = venue.door().await;
    let theirs = other.sell("devconf", &["Full=1"], false);
    all_applied(&venue.server.push_pending(&mut other).await);
    let stream = format!("order/{theirs}");
    let version = venue.version(&stream).await;
    let mut door = venue.door().await;
    let mut request = sale(&mut door);
    onto(&mut request.commands[0], &stream, version);
    let code = venue.refused(&door.device, &request).await;
    // Its seat assignments now name an order the server never saw.
    assert!(
        [MISMATCH, "stream_conflict", "unknown_conference"].contains(&code.as_str()),
        "{code}"
    );

    // A door given only devconf appending a devconf sale to an order of another
    // conference (before replay, the organizer's sync then failed forever).
    let mut organizer = Local::new(&venue.organizer.device, true);
    organizer.apply(venue.log().await);
    let mut other_organizer = Local::new(
        &venue
            .server
            .add_device("other organizer", Role::Organizer, &[]),
        true,
    );
    other_organizer.create_conference("other", &[("Full", "80", 50)]);
    all_applied(&venue.server.push_pending(&mut other_organizer).await);
    let mut seller =
        door_with_allotment(&venue.server, &other_organizer, &[], "other", "Full", 2).await;
    let sold = seller.sell("other", &["Full=1"], false);
    all_applied(&venue.server.push_pending(&mut seller).await);
    let foreign = format!("order/{sold}");
    let version = venue.version(&foreign).await;
    let mut scoped = door_with_allotment(
        &venue.server,
        &organizer,
        &["devconf"],
        "devconf",
        "Full",
        2,
    )
    .await;
    all_applied(&venue.server.push_pending(&mut scoped).await);
    let mut request = sale(&mut scoped);
    onto(&mut request.commands[0], &foreign, version);
    let code = venue.refused(&scoped.device, &request).await;
    assert!(
        [MISMATCH, "forbidden_conference", "unknown_conference"].contains(&code.as_str()),
        "{code}"
    );

    // An event padded past what any event holds.
    let mut door = venue.door().await;
    let mut request = sale(&mut door);
    let mut padded = request.commands[0].events[0].payload_value();
    padded["padding"] = json!("x".repeat(20_000));
    request.commands[0].events[0].payload = raw_payload(&padded);
    assert_eq!(venue.refused(&door.device, &request).await, "invalid_event");

    // Every single field of a sale's events changed on its own.
    type Change = fn(&mut WireEvent);
    let changes: [(&str, Change); 7] = [
        ("stream", |e| e.stream = format!("order/{}", Uuid::now_v7())),
        ("version", |e| e.version += 1),
        ("event type", |e| e.event_type = "OrderUpdated".into()),
        ("schema version", |e| e.schema_version += 1),
        ("payload", |e| {
            let mut payload = e.payload_value();
            payload["access_code"] = json!("ZZZZZZ");
            e.payload = raw_payload(&payload);
        }),
        ("a field the domain does not know", |e| {
            let mut payload = e.payload_value();
            payload["colour"] = json!("red");
            e.payload = raw_payload(&payload);
        }),
        ("recorded at", |e| {
            e.recorded_at = "2020-01-01T00:00:00Z".into()
        }),
    ];
    for (what, change) in changes {
        let mut door = venue.door().await;
        let mut request = sale(&mut door);
        change(&mut request.commands[0].events[0]);
        if what == "a field the domain does not know" {
            // Refused where it is read.
            assert_eq!(venue.refused(&door.device, &request).await, "invalid_event");
            // And in a payload that flattens a part, by the replay.
            let mut door = venue.door().await;
            let mut request = sale(&mut door);
            let registrant = request.commands[0]
                .events
                .iter_mut()
                .find(|e| e.event_type == "OrderRegistrantAssigned")
                .expect("a registrant");
            change(registrant);
            assert_eq!(venue.refused(&door.device, &request).await, MISMATCH);
            continue;
        }
        let code = venue.refused(&door.device, &request).await;
        assert!(
            [
                MISMATCH,
                "stream_conflict",
                "unknown_event",
                "invalid_event",
                "unknown_conference"
            ]
            .contains(&code.as_str()),
            "{what}: {code}"
        );
    }

    // The back office cancelling a sale and adding seats to the pool with it.
    let office = venue.server.add_device("office", Role::BackOffice, &[]);
    let mut desk = Local::new(&office, true);
    desk.apply(venue.log().await);
    desk.app
        .cancel(&ctx(3), &theirs.to_string(), None)
        .expect("cancel");
    let mut request = desk.pending();
    let pool = venue.pool();
    let version = venue.version(&pool).await + 1;
    let event = forged(
        &request.commands[0],
        &pool,
        version,
        "AvailableSeatsChanged",
        json!({
            "seats": [{ "seat_type": venue.full(), "quantity": 1000 }]
        }),
    );
    request.commands[0].events.push(event);
    assert_eq!(venue.refused(&office, &request).await, MISMATCH);

    honest_devices_go_on(&venue).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_organizer_cannot_push_what_the_rules_refuse() {
    let mut venue = Venue::new().await;
    // A second EARLY (before replay it made every device's sync fail forever).
    let original = venue
        .organizer
        .pending_all()
        .commands
        .into_iter()
        .find(|c| c.command_type == "add_promo_code")
        .expect("EARLY");
    let promos = format!("promos/{}", venue.organizer.conference_id("devconf"));
    let version = venue.version(&promos).await;
    let next_seq = original.device_seq + 1;
    let mut again = PushCommand {
        command_id: Uuid::now_v7(),
        device_seq: next_seq,
        reads: vec![],
        ..original
    };
    again.events[0].version = version + 1;
    let request = PushRequest {
        commands: vec![again],
    };
    let device = venue.organizer.device.clone();
    assert_eq!(venue.refused(&device, &request).await, MISMATCH);

    // Prices below zero and beyond what money can hold.
    for (price, honest) in [("-500", "130"), ("79228162514264337593543950335", "131")] {
        venue
            .organizer
            .app
            .update_seat_type(&ctx(2), "devconf", "Full", None, None, Some(honest), None)
            .expect("a price change");
        let mut request = venue.organizer.pending();
        let command = &mut request.commands[0];
        let mut text = command.command_value();
        text["price"] = json!(price);
        command.command = raw_payload(&text);
        let mut payload = command.events[0].payload_value();
        payload["price"] = json!(price);
        command.events[0].payload = raw_payload(&payload);
        // Refused where the event is read: a price the domain never writes.
        assert_eq!(
            venue.refused(&device, &request).await,
            "invalid_event",
            "{price}"
        );
    }
    honest_devices_go_on(&venue).await;
}

/// After any of the above, honest devices sync and sell as before, and the organizer
/// sees its prices, seats and codes as it left them.
async fn honest_devices_go_on(venue: &Venue) {
    let mut door = venue.door().await;
    door.sell("devconf", &["Full=2"], false);
    all_applied(&venue.server.push_pending(&mut door).await);

    let device = venue
        .server
        .add_device("late organizer", Role::Organizer, &[]);
    let mut late = Local::new(&device, true);
    let log = venue.log().await;
    late.apply(log.clone());
    let conference = late.app.conference("devconf").expect("the conference");
    assert_eq!(conference.seat_types.len(), 1);
    assert_eq!(conference.seat_types[0].price, "120.00");
    assert_eq!(conference.seat_types[0].quantity, 1000);
    assert_eq!(of_type(&log, "PromoCodeAdded").len(), 1, "EARLY only");
    assert!(of_type(&log, "AvailableSeatsChanged").iter().all(|e| {
        e.device_id == venue.server.server_device_id() || e.device_id == venue.organizer.device.id
    }));
}

/// An order placed, paid, updated, cancelled and expired step by step, a door selling at
/// a price the organizer changed meanwhile, and a back office cancelling a door's sale:
/// every command the server replays comes out as the device wrote it.
#[tokio::test(flavor = "multi_thread")]
async fn honest_commands_replay_exactly() {
    let mut venue = Venue::new().await;
    let mut door = venue.door().await;
    let cash = PaymentInput {
        method: "cash".into(),
        tendered: None,
        reference: None,
    };
    let placed = door
        .app
        .place_order(&ctx(1), "devconf", &["Full=2".into()], &["EARLY".into()])
        .expect("place");
    all_applied(&venue.server.push_pending(&mut door).await);
    door.app
        .assign_registrant(
            &ctx(2),
            &placed.id.to_string(),
            "Grace",
            "Hopper",
            "grace@example.com",
        )
        .expect("registrant");
    door.app
        .pay(&ctx(3), &placed.id.to_string(), &cash)
        .expect("pay");
    all_applied(&venue.server.push_pending(&mut door).await);

    let second = door
        .app
        .place_order(&ctx(4), "devconf", &["Full=3".into()], &[])
        .expect("place");
    door.app
        .update_order(
            &ctx(5),
            &second.id.to_string(),
            &["Full=1".into()],
            &["EARLY".into()],
        )
        .expect("update");
    door.app
        .cancel(&ctx(6), &second.id.to_string(), None)
        .expect("cancel");
    door.app
        .place_order(&ctx(7), "devconf", &["Full=1".into()], &[])
        .expect("place");
    let expired = door.app.tick(&ctx(60)).expect("tick");
    assert_eq!(expired.expired_orders.len(), 1);
    all_applied(&venue.server.push_pending(&mut door).await);

    // The door has read Full at 120; the organizer raises it to 150, and the door, not
    // having pulled, sells at 120.
    venue
        .organizer
        .app
        .update_seat_type(&ctx(8), "devconf", "Full", None, None, Some("150"), None)
        .expect("a price rise");
    all_applied(&venue.server.push_pending(&mut venue.organizer).await);
    let sold = door
        .app
        .sell(
            &ctx(9),
            &SaleInput {
                slug: "devconf".into(),
                seats: vec!["Full=1".into()],
                promo_codes: vec!["EARLY".into()],
                registrant: None,
                payment: Some(cash.clone()),
                allow_override: false,
            },
        )
        .expect("sell");
    assert_eq!(sold.total, "102.00");
    all_applied(&venue.server.push_pending(&mut door).await);

    // The back office cancels that sale: the door's seats go back to its allotment.
    let office = venue.server.add_device("office", Role::BackOffice, &[]);
    let mut desk = Local::new(&office, true);
    desk.apply(venue.log().await);
    desk.app
        .cancel(&ctx(10), &sold.id.to_string(), None)
        .expect("cancel");
    all_applied(&venue.server.push_pending(&mut desk).await);

    // Nothing of it is what `verify` would list.
    let database = venue.server.database.clone();
    let report = crate::helpers::blocking(move || {
        conference_sync_server::verify::verify(&database, |_, _| {}).expect("verify")
    });
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
}

/// The server replays a request's commands on the request's own thread, ahead of the
/// single writer, and the writer takes those verdicts: here every sale of a door's push.
/// When the writer must take a request again command by command (a rejected command that
/// started new streams), it replays the commands itself.
#[tokio::test(flavor = "multi_thread")]
async fn commands_are_replayed_ahead_of_the_writer() {
    let venue = Venue::new().await;
    let mut door = venue.door().await;
    let replays = |text: &str, place: &str| -> u64 {
        let name = format!("conference_sync_replays_total{{where=\"{place}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&name)?.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {text}"))
    };
    let metrics = || venue.server.metrics(&venue.organizer.device);
    let before = metrics().await;
    for _ in 0..3 {
        door.sell("devconf", &["Full=1"], false);
    }
    all_applied(&venue.server.push_pending(&mut door).await);
    let after = metrics().await;
    assert_eq!(replays(&after, "ahead") - replays(&before, "ahead"), 3);
    assert_eq!(replays(&after, "writer"), replays(&before, "writer"));

    // A forged sale, then one that builds on the allotment the forged one wrote on the
    // device: the first is rejected, so the second's allotment version is not the
    // server's (a stream conflict); the writer took the request again and replayed.
    let mut request = sale(&mut door);
    let conference = venue.conference();
    let version = venue.version(&conference).await + 1;
    let command = &mut request.commands[0];
    let extra = forged(
        command,
        &conference,
        version,
        "ConferenceUnpublished",
        json!({}),
    );
    command.events.push(extra);
    let honest = sale(&mut door);
    request.commands.extend(honest.commands);
    let response = venue.server.push_ok(&door.device, &request).await;
    assert_eq!(response.results[0].status, PushStatus::Rejected);
    assert_eq!(
        response.results[1].status,
        PushStatus::Rejected,
        "{response:?}"
    );
    let last = metrics().await;
    assert_eq!(replays(&last, "writer") - replays(&after, "writer"), 1);
}

/// `conference-sync verify` lists the stored events a push would be refused for now: a
/// database written before the server replayed commands may hold some. A log of honest
/// commands has none.
#[tokio::test(flavor = "multi_thread")]
async fn verify_lists_what_an_older_server_stored_and_would_refuse_now() {
    let venue = Venue::new().await;
    let mut door = venue.door().await;
    door.sell("devconf", &["Full=1"], false);
    all_applied(&venue.server.push_pending(&mut door).await);
    let database = venue.server.database.clone();
    let verify = |database: conference_sync_server::Database| {
        crate::helpers::blocking(move || {
            conference_sync_server::verify::verify(&database, |_, _| {}).expect("verify")
        })
    };
    let clean = verify(database.clone());
    assert!(clean.findings.is_empty(), "{:?}", clean.findings);
    assert_eq!(
        clean.events,
        u64::try_from(venue.server.count("SELECT COUNT(*) FROM events")).unwrap()
    );

    // What a server before replay stored as sent: a door's price cut, a door's own
    // allotment of 200,000 seats, and EARLY added a second time.
    let door_id = venue.server.id_literal(door.device.id);
    let full = venue.full();
    let before = venue.server.count("SELECT MAX(position) FROM events");
    venue.server.execute(&forged_copy(
        "event_type = 'SeatTypeCreated'",
        "SeatTypeUpdated",
        price_cut(full),
        &door_id,
    ));
    venue.server.execute(&forged_copy(
        &format!("event_type = 'AllotmentReceived' AND device_id = {door_id}"),
        "AllotmentReceived",
        json!({ "seats": [{ "seat_type": full, "quantity": 200_000 }] }).to_string(),
        &door_id,
    ));
    let early = venue
        .log()
        .await
        .into_iter()
        .find(|e| e.event.event_type == "PromoCodeAdded")
        .expect("EARLY");
    venue.server.execute(&forged_copy(
        "event_type = 'PromoCodeAdded'",
        "PromoCodeAdded",
        early.event.payload.get().to_string(),
        &venue.server.id_literal(venue.organizer.device.id),
    ));

    let report = verify(database);
    let found: Vec<(i64, &str)> = report
        .findings
        .iter()
        .map(|f| (f.position, f.code.as_str()))
        .collect();
    assert_eq!(
        found,
        vec![
            (before + 1, "forbidden_stream"),
            (before + 2, "invalid_event"),
            (before + 3, MISMATCH),
        ],
        "{:#?}",
        report.findings
    );
    assert_eq!(report.findings[0].device_id, door.device.id);
}

/// What a push says of the command besides its events — when it ran (`now`) and the
/// versions it read (`reads`) — is checked as hard as the events.
#[tokio::test(flavor = "multi_thread")]
async fn the_time_and_the_versions_a_command_claims_are_checked() {
    let venue = Venue::new().await;
    let conference = venue.conference();
    let newest = venue.version(&conference).await;
    type Claim = Box<dyn Fn(&mut PushCommand)>;
    let pin = |stream: String, version: u64| -> Claim {
        Box::new(move |command: &mut PushCommand| {
            command.reads.retain(|r| r.stream != stream);
            command.reads.push(StreamRead {
                stream: stream.clone(),
                version,
            });
        })
    };
    let claims: Vec<(&str, Claim, &str)> = vec![
        (
            "a time that is no time",
            Box::new(|c: &mut PushCommand| c.now = Some("yesterday".into())),
            "invalid_command",
        ),
        (
            "a time its events were not recorded at",
            Box::new(|c: &mut PushCommand| c.now = Some("2020-01-01T00:00:00Z".into())),
            MISMATCH,
        ),
        (
            "a stream that is no stream",
            pin("nonsense".into(), 1),
            MISMATCH,
        ),
        (
            "a version of the conference the server does not have",
            pin(conference.clone(), newest + 5),
            MISMATCH,
        ),
        (
            // Before its seat types and its publication: nothing to sell then.
            "the conference as it was first created",
            pin(conference.clone(), 1),
            MISMATCH,
        ),
    ];
    for (what, claim, code) in claims {
        let mut door = venue.door().await;
        let mut request = sale(&mut door);
        claim(&mut request.commands[0]);
        assert_eq!(venue.refused(&door.device, &request).await, code, "{what}");
    }
    honest_devices_go_on(&venue).await;
}

/// What `verify` lists, an admin neutralises (`conference-sync neutralise`): the event
/// stays stored, a marker on its stream takes it out of every fold on the server and, once
/// they pull, on every device; honest devices sell on at the state without it.
#[tokio::test(flavor = "multi_thread")]
async fn a_neutralised_event_is_left_out_everywhere_and_stays_stored() {
    let mut venue = Venue::new().await;
    let mut door = venue.door().await;
    door.sell("devconf", &["Full=1"], false);
    all_applied(&venue.server.push_pending(&mut door).await);
    let database = venue.server.database.clone();
    let events = venue.server.pull_all(&venue.organizer.device).await;
    venue.organizer.apply(events);
    let remaining =
        |local: &Local| local.app.seats("devconf").expect("seats").seat_types[0].remaining;
    let honest_remaining = remaining(&venue.organizer);

    // What a server before replay stored as sent: a door's price cut, 50,000 seats a door
    // added to the pool, and a door's own allotment of 200,000 seats (which devices set
    // aside: out of the domain's range).
    let door_id = venue.server.id_literal(door.device.id);
    let full = venue.full();
    venue.server.execute(&forged_copy(
        "event_type = 'SeatTypeCreated'",
        "SeatTypeUpdated",
        price_cut(full),
        &door_id,
    ));
    venue.server.execute(&forged_copy(
        "event_type = 'AvailableSeatsChanged'",
        "AvailableSeatsChanged",
        json!({ "seats": [{ "seat_type": full, "quantity": 50_000 }] }).to_string(),
        &door_id,
    ));
    venue.server.execute(&forged_copy(
        &format!("event_type = 'AllotmentReceived' AND device_id = {door_id}"),
        "AllotmentReceived",
        json!({ "seats": [{ "seat_type": full, "quantity": 200_000 }] }).to_string(),
        &door_id,
    ));
    let forged = venue
        .server
        .numbers("SELECT position FROM events ORDER BY position DESC LIMIT 3");
    let (price_cut, pool, allotment) = (forged[2], forged[1], forged[0]);
    let pull = |local: &Local| {
        let server = &venue.server;
        let device = local.device.clone();
        async move { server.pull_all(&device).await }
    };
    let full_price = |local: &Local| {
        local.app.conference("devconf").expect("devconf").seat_types[0]
            .price
            .clone()
    };
    let own_seats = |local: &Local| {
        local.app.seats("devconf").expect("seats").seat_types[0].allotment_remaining
    };
    let events = pull(&door).await;
    door.apply(events);
    let events = pull(&venue.organizer).await;
    venue.organizer.apply(events);
    assert_eq!(full_price(&venue.organizer), "0.01");
    assert_eq!(remaining(&venue.organizer), honest_remaining + 50_000);
    assert_eq!(own_seats(&door), Some(9));

    let stored = venue.server.count("SELECT COUNT(*) FROM events");
    let neutralise = |position: i64| {
        let database = database.clone();
        crate::helpers::blocking(move || {
            conference_sync_server::admin::neutralise(
                &database,
                position,
                "forged by a stolen laptop",
            )
        })
    };
    for position in [price_cut, pool, allotment] {
        let done = neutralise(position).expect("neutralise");
        assert_eq!(done.position, position);
        assert_eq!(
            done.marker_position,
            venue.server.count("SELECT MAX(position) FROM events")
        );
    }
    // Both stay stored; a marker each was added.
    assert_eq!(
        venue.server.count("SELECT COUNT(*) FROM events"),
        stored + 3
    );
    assert_eq!(
        venue.server.count(&format!(
            "SELECT COUNT(*) FROM events WHERE position IN ({price_cut}, {pool}, {allotment})"
        )),
        3
    );
    // What cannot be neutralised says why, and stores nothing.
    let marker = venue.server.count("SELECT MAX(position) FROM events");
    for (position, said) in [
        (price_cut, "already neutralised"),
        (marker, "itself a neutralisation"),
        (marker + 1000, "No event is stored"),
    ] {
        let error = neutralise(position).expect_err("refused").to_string();
        assert!(error.contains(said), "{error}");
    }
    assert_eq!(
        venue.server.count("SELECT COUNT(*) FROM events"),
        stored + 3
    );
    let report = crate::helpers::blocking({
        let database = database.clone();
        move || conference_sync_server::verify::verify(&database, |_, _| {}).expect("verify")
    });
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_eq!(report.neutralised, vec![price_cut, pool, allotment]);
    let items = venue.server.reconciliation(&venue.organizer.device).await;
    assert_eq!(
        items
            .iter()
            .filter(|item| item["kind"] == "event_neutralised")
            .map(|item| item["detail"]["position"].as_i64().expect("a position"))
            .collect::<Vec<_>>(),
        vec![price_cut, pool, allotment]
    );

    // A device that does not say what it reads predates markers: it must upgrade.
    let (status, body) = venue
        .server
        .get(&door.device, "/v1/pull?after=0&limit=500")
        .await;
    assert_eq!(status, StatusCode::UPGRADE_REQUIRED, "{body}");

    // Devices that pull leave both out: the organizer's price is back, the door's own
    // seats are those the server granted less the one it sold.
    let events = pull(&door).await;
    door.apply(events);
    let events = pull(&venue.organizer).await;
    venue.organizer.apply(events);
    assert_eq!(full_price(&venue.organizer), "120.00");
    assert_eq!(full_price(&door), "120.00");
    assert_eq!(remaining(&venue.organizer), honest_remaining);
    assert_eq!(own_seats(&door), Some(9));
    // And the server replays their next commands on the same states: the door sells at
    // 120 from its nine seats, past them only by override.
    door.sell("devconf", &["Full=2"], false);
    all_applied(&venue.server.push_pending(&mut door).await);
    assert_eq!(own_seats(&door), Some(7));
    let events = pull(&venue.organizer).await;
    venue.organizer.apply(events);
    let paid = venue.server.numbers(
        "SELECT position FROM events WHERE event_type = 'OrderTotalsCalculated' ORDER BY position DESC LIMIT 1",
    );
    let order = venue
        .log()
        .await
        .into_iter()
        .find(|e| e.position == paid[0])
        .expect("the last sale's totals");
    assert_eq!(
        order.event.payload_value()["total"],
        json!("240.00"),
        "{order:?}"
    );
    // A new door is granted seats from the pool as it is without the forged 50,000, and a
    // new organizer device reads the conference from the whole log, markers and all.
    let mut second = venue.door().await;
    second.sell("devconf", &["Full=2"], false);
    all_applied(&venue.server.push_pending(&mut second).await);
    let device = venue
        .server
        .add_device("late organizer", Role::Organizer, &[]);
    let mut late = Local::new(&device, true);
    late.apply(venue.log().await);
    assert_eq!(full_price(&late), "120.00");
    assert_eq!(remaining(&late), honest_remaining - 4);
}

/// Only the server's admin neutralises: a door that pushes a marker of its own — riding on
/// a sale, on the conference's stream or on its own order — is refused and nothing is
/// stored, and the neutralised-looking event stays in every fold.
#[tokio::test(flavor = "multi_thread")]
async fn a_device_cannot_push_a_neutralisation() {
    let venue = Venue::new().await;
    let conference = venue.conference();
    let mut door = venue.door().await;
    let before = venue.version(&conference).await;
    let marker =
        |version: u64| json!({ "version": version, "position": 1, "reason": "forged by a door" });
    // On the conference's stream, taking out its creation.
    let mut request = sale(&mut door);
    let command = &mut request.commands[0];
    let event = forged(
        command,
        &conference,
        before + 1,
        "EventNeutralised",
        marker(1),
    );
    command.events.push(event);
    let code = venue.refused(&door.device, &request).await;
    assert!(
        ["unknown_event", "forbidden_stream"].contains(&code.as_str()),
        "{code}"
    );
    // On the door's own order stream, after the sale's own events.
    let mut request = sale(&mut door);
    let command = &mut request.commands[0];
    let order = command.events[0].stream.clone();
    let last = command
        .events
        .iter()
        .filter(|e| e.stream == order)
        .map(|e| e.version)
        .max()
        .expect("the order's events");
    let event = forged(command, &order, last + 1, "EventNeutralised", marker(1));
    command.events.push(event);
    assert_eq!(venue.refused(&door.device, &request).await, "unknown_event");
    assert_eq!(
        venue
            .server
            .count("SELECT COUNT(*) FROM events WHERE event_type = 'EventNeutralised'"),
        0
    );
    // The conference still reads as created.
    let device = venue
        .server
        .add_device("late organizer", Role::Organizer, &[]);
    let mut late = Local::new(&device, true);
    late.apply(venue.log().await);
    assert_eq!(
        late.app
            .conference("devconf")
            .expect("devconf")
            .seat_types
            .len(),
        1
    );
}
