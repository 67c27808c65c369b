//! The conference pool on the server: seat types feed it, allotments draw on it, sales past
//! an allotment are covered from it when it can, returned seats go back to it.
use crate::helpers::{
    Local, TestDevice, TestServer, all_applied, door_with_allotment, of_type,
    organizer_with_conference, spawn_sync_server,
};
use conference_protocol::sync::{AllotmentResponse, PushStatus};
use conference_sync_server::Role;
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

async fn allot(
    server: &TestServer,
    device: &TestDevice,
    command_id: Uuid,
    conference: Uuid,
    seat_type: Uuid,
    quantity: u32,
) -> AllotmentResponse {
    let (status, body) = server
        .post(
            device,
            "/v1/allotments",
            &json!({
                "command_id": command_id,
                "conference_id": conference,
                "seats": [{ "seat_type_id": seat_type, "quantity": quantity }]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body).unwrap()
}

fn granted(response: &AllotmentResponse) -> u32 {
    response.seats.iter().map(|s| s.quantity).sum()
}

/// The pool's remaining seats of a seat type, folded from the pulled pool events.
async fn pool_remaining(
    server: &TestServer,
    device: &TestDevice,
    conference: Uuid,
    seat_type: Uuid,
) -> i64 {
    let pool = format!("seats/{conference}");
    let mut remaining = 0;
    for e in server.pull_all(device).await {
        if e.event.stream != pool {
            continue;
        }
        let p = &e.event.payload_value();
        let sum = |list: &serde_json::Value| -> i64 {
            list.as_array()
                .map(|l| {
                    l.iter()
                        .filter(|s| s["seat_type"] == seat_type.to_string())
                        .map(|s| s["quantity"].as_i64().unwrap())
                        .sum()
                })
                .unwrap_or(0)
        };
        remaining += match e.event.event_type.as_str() {
            "AvailableSeatsChanged" => sum(&p["seats"]),
            "SeatsAllotted" => -sum(&p["seats"]),
            "ReturnedSeatsAccepted" => sum(&p["seats"]),
            "SeatsReserved" => sum(&p["available_changed"]),
            other => panic!("unexpected pool event {other}"),
        };
    }
    remaining
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pool_follows_seat_types_the_organizer_pushes() {
    let server = spawn_sync_server().await;
    let mut organizer = organizer_with_conference(&server, "demo", &[("Full", "100", 10)]).await;
    let conference = organizer.conference_id("demo");
    let full = organizer.seat_type_id("demo", "Full");
    let server_id: Uuid = server.server_device_id();
    let events = server.pull_all(&organizer.device).await;
    let pool = of_type(&events, "AvailableSeatsChanged");
    assert_eq!(pool.len(), 1);
    assert_eq!(pool[0].device_id, server_id, "the server authors the pool");
    assert_eq!(pool[0].event.stream, format!("seats/{conference}"));
    assert_eq!(
        pool[0].event.payload_value()["seats"],
        json!([{ "seat_type": full, "quantity": 10 }])
    );
    assert_ne!(
        pool[0].command_id, events[1].command_id,
        "its own command id"
    );

    // More seats, then fewer: the pool takes the difference.
    organizer
        .app
        .update_seat_type(
            &crate::helpers::ctx(0),
            "demo",
            "Full",
            None,
            None,
            None,
            Some(15),
        )
        .unwrap();
    organizer
        .app
        .update_seat_type(
            &crate::helpers::ctx(0),
            "demo",
            "Full",
            None,
            None,
            None,
            Some(12),
        )
        .unwrap();
    server.push_pending(&mut organizer).await;
    assert_eq!(
        pool_remaining(&server, &organizer.device, conference, full).await,
        12
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_that_wrote_the_pool_itself_gets_no_second_helping() {
    let server = spawn_sync_server().await;
    let device = server.add_device("standalone organizer", Role::Organizer, &[]);
    // Never connected: it owns its pool and its seat types wrote the pool already.
    let mut local = Local::new(&device, false);
    local.create_conference("demo", &[("Full", "100", 10)]);
    let response = server.push_ok(&device, &local.pending()).await;
    assert!(
        response
            .results
            .iter()
            .all(|r| r.status == PushStatus::Applied)
    );
    let conference = local.conference_id("demo");
    let full = local.seat_type_id("demo", "Full");
    let events = server.pull_all(&device).await;
    assert!(
        events.iter().all(|e| e.device_id == device.id),
        "the server added nothing"
    );
    assert_eq!(pool_remaining(&server, &device, conference, full).await, 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_allotment_never_exceeds_the_free_pool_and_a_retry_grants_nothing_more() {
    let server = spawn_sync_server().await;
    let organizer = organizer_with_conference(&server, "demo", &[("Full", "100", 10)]).await;
    let conference = organizer.conference_id("demo");
    let full = organizer.seat_type_id("demo", "Full");
    let door = server.add_device("door", Role::Door, &[]);

    let first_id = Uuid::now_v7();
    let first = allot(&server, &door, first_id, conference, full, 4).await;
    assert_eq!(granted(&first), 4);
    let events = server.pull_all(&door).await;
    let allotted = of_type(&events, "SeatsAllotted");
    assert_eq!(allotted.len(), 1);
    assert_eq!(allotted[0].position, first.position);
    assert_eq!(
        allotted[0].event.payload_value()["device"],
        door.id.to_string()
    );

    let capped = allot(&server, &door, Uuid::now_v7(), conference, full, 20).await;
    assert_eq!(granted(&capped), 6, "only 6 were left");
    let none = allot(&server, &door, Uuid::now_v7(), conference, full, 1).await;
    assert_eq!(granted(&none), 0);
    assert!(none.seats.is_empty());

    let stored = server.count("SELECT COUNT(*) FROM events");
    let retry = allot(&server, &door, first_id, conference, full, 4).await;
    assert_eq!(retry, first);
    assert_eq!(server.count("SELECT COUNT(*) FROM events"), stored);
    assert_eq!(pool_remaining(&server, &door, conference, full).await, 0);

    // A seat type the pool does not sell.
    let (status, body) = server
        .post(
            &door,
            "/v1/allotments",
            &json!({
                "command_id": Uuid::now_v7(),
                "conference_id": conference,
                "seats": [{ "seat_type_id": Uuid::now_v7(), "quantity": 1 }]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "unknown_seat_type");
    // A conference the server does not have.
    let (status, body) = server
        .post(
            &door,
            "/v1/allotments",
            &json!({ "command_id": Uuid::now_v7(), "conference_id": Uuid::now_v7(), "seats": [] }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "unknown_conference");
}

/// A door with one seat of its own sells `seats` past it (by override) and pushes.
async fn door_sells_with_override(
    server: &TestServer,
    organizer: &Local,
    seats: &[&str],
) -> (Local, Uuid) {
    let mut local = door_with_allotment(server, organizer, &[], "demo", "Full", 1).await;
    let order = local.sell("demo", seats, true);
    all_applied(&server.push_pending(&mut local).await);
    (local, order)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sale_past_the_allotment_is_covered_from_the_free_pool() {
    let server = spawn_sync_server().await;
    let organizer = organizer_with_conference(&server, "demo", &[("Full", "100", 10)]).await;
    let conference = organizer.conference_id("demo");
    let full = organizer.seat_type_id("demo", "Full");
    let (door, _) = door_sells_with_override(&server, &organizer, &["Full=3"]).await;

    let events = server.pull_all(&organizer.device).await;
    let reserved = of_type(&events, "SeatsReserved");
    assert_eq!(
        reserved[0].event.payload_value()["overridden"],
        json!([{ "seat_type": full, "quantity": 2 }])
    );
    let allotted = of_type(&events, "SeatsAllotted");
    assert_eq!(allotted.len(), 2, "the allotment, then the cover");
    let cover = allotted[1];
    assert_eq!(
        cover.event.payload_value()["device"],
        door.device.id.to_string()
    );
    assert_eq!(
        cover.event.payload_value()["seats"],
        json!([{ "seat_type": full, "quantity": 2 }])
    );
    assert!(cover.position > reserved[0].position);
    assert_ne!(
        cover.device_id, door.device.id,
        "the server authors the cover"
    );
    assert_eq!(
        pool_remaining(&server, &organizer.device, conference, full).await,
        7
    );
    assert!(server.reconciliation(&organizer.device).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sale_past_the_allotment_the_pool_cannot_cover_goes_to_reconciliation() {
    let server = spawn_sync_server().await;
    let organizer = organizer_with_conference(&server, "demo", &[("Full", "100", 3)]).await;
    let conference = organizer.conference_id("demo");
    let full = organizer.seat_type_id("demo", "Full");
    // Another door took one of the three seats; this door gets one, so one is left.
    let other = server.add_device("other door", Role::Door, &[]);
    assert_eq!(
        granted(&allot(&server, &other, Uuid::now_v7(), conference, full, 1).await),
        1
    );

    let (door, order) = door_sells_with_override(&server, &organizer, &["Full=4"]).await;
    let items = server.reconciliation(&organizer.device).await;
    assert_eq!(items.len(), 1, "{items:?}");
    let item = &items[0];
    assert_eq!(item["kind"], "over_allotment");
    assert_eq!(item["conference_id"], conference.to_string());
    assert_eq!(item["device_id"], door.device.id.to_string());
    assert_eq!(
        item["detail"],
        json!({
            "order_id": order,
            "seat_type_id": full,
            "overridden": 3,
            "covered": 1,
            "uncovered": 2
        })
    );
    assert_eq!(
        pool_remaining(&server, &organizer.device, conference, full).await,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn returned_seats_go_back_to_the_pool() {
    let server = spawn_sync_server().await;
    let organizer = organizer_with_conference(&server, "demo", &[("Full", "100", 10)]).await;
    let conference = organizer.conference_id("demo");
    let full = organizer.seat_type_id("demo", "Full");
    let door = server.add_device("door", Role::Door, &[]);
    let grant = allot(&server, &door, Uuid::now_v7(), conference, full, 5).await;
    assert_eq!(granted(&grant), 5);

    // The door receives the grant when it pulls, then gives three back.
    let mut local = Local::new(&door, true);
    let pulled = server.pull_all(&door).await;
    let grant_position = of_type(&pulled, "SeatsAllotted")[0].position;
    local.apply(pulled);
    local.receive_grant(grant_position, "demo", "Full", 5);
    local
        .app
        .return_allotment(&crate::helpers::ctx(3), "demo", &["Full=3".into()])
        .unwrap();
    let response = server.push_ok(&door, &local.pending()).await;
    assert!(
        response
            .results
            .iter()
            .all(|r| r.status == PushStatus::Applied),
        "{response:?}"
    );

    let events = server.pull_all(&door).await;
    let accepted = of_type(&events, "ReturnedSeatsAccepted");
    assert_eq!(accepted.len(), 1);
    assert_eq!(
        accepted[0].event.payload_value()["seats"],
        json!([{ "seat_type": full, "quantity": 3 }])
    );
    assert_eq!(pool_remaining(&server, &door, conference, full).await, 8);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quantity_cut_may_only_take_seats_the_pool_has_free() {
    let server = spawn_sync_server().await;
    let mut organizer = organizer_with_conference(&server, "demo", &[("Full", "100", 10)]).await;
    let conference = organizer.conference_id("demo");
    let full = organizer.seat_type_id("demo", "Full");
    let door = server.add_device("door", Role::Door, &[]);
    assert_eq!(
        granted(&allot(&server, &door, Uuid::now_v7(), conference, full, 7).await),
        7
    );

    // The organizer's device does not own the pool, so only the server can tell.
    organizer
        .app
        .update_seat_type(
            &crate::helpers::ctx(0),
            "demo",
            "Full",
            None,
            None,
            None,
            Some(5),
        )
        .unwrap();
    organizer
        .app
        .update_seat_type(
            &crate::helpers::ctx(0),
            "demo",
            "Full",
            None,
            None,
            None,
            Some(8),
        )
        .unwrap();
    let response = server.push_pending(&mut organizer).await;
    let first = &response.results[0];
    assert_eq!(first.status, PushStatus::Rejected);
    assert_eq!(first.reason.as_ref().unwrap().code, "quantity_below_taken");
    // 10 → 8 (the device's second change, re-run on the server's state) takes 2 of 3 free.
    assert_eq!(response.results[1].status, PushStatus::Rebased);
    assert_eq!(pool_remaining(&server, &door, conference, full).await, 1);
}
