//! Organizer commands whose streams moved on are re-run against the server's state.
use crate::helpers::{Local, TestServer, of_type, organizer_with_conference, spawn_sync_server};
use conference_protocol::sync::PushStatus;
use conference_sync_server::Role;

/// Two organizers with the same conference as base.
async fn two_organizers(server: &TestServer) -> (Local, Local) {
    let a = organizer_with_conference(server, "demo", &[("Full", "100", 10)]).await;
    let mut b = Local::new(
        &server.add_device("organizer b", Role::Organizer, &[]),
        true,
    );
    b.apply(server.pull_all(&a.device).await);
    assert_eq!(b.conference_id("demo"), a.conference_id("demo"));
    (a, b)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_organizers_add_different_seat_types_and_the_second_is_rebased() {
    let server = spawn_sync_server().await;
    let (mut a, mut b) = two_organizers(&server).await;
    a.add_seat_type("demo", "Student", "40", 3);
    b.add_seat_type("demo", "Speaker", "0", 2);

    let first = server.push_pending(&mut a).await;
    assert_eq!(first.results[0].status, PushStatus::Applied);
    let second = server.push_pending(&mut b).await;
    let result = &second.results[0];
    assert_eq!(result.status, PushStatus::Rebased, "{result:?}");
    assert_eq!(result.positions.len(), 1);

    let events = server.pull_all(&b.device).await;
    let created = of_type(&events, "SeatTypeCreated");
    let names: Vec<String> = created
        .iter()
        .map(|e| {
            e.event.payload_value()["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(names, ["Full", "Student", "Speaker"]);
    let rebased = created.last().unwrap();
    assert_eq!(rebased.position, result.positions[0]);
    assert_eq!(
        rebased.event.version, 5,
        "after created, Full, published and Student"
    );
    assert_eq!(rebased.command_id, result.command_id);
    assert_eq!(rebased.device_id, b.device.id);
    // Each seat type fed the pool once.
    assert_eq!(of_type(&events, "AvailableSeatsChanged").len(), 3);
    // B learns of the rebase when it pulls.
    let page = server.pull_page(&b.device, 0, 500, None).await;
    assert_eq!(page.outcomes.len(), 1);
    assert_eq!(page.outcomes[0], *result);
    // A retry answers the same.
    let again = server.push_ok(&b.device, &b.pending_all()).await;
    assert_eq!(again.results[0], *result);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_organizers_start_the_promo_codes_of_a_conference_and_the_second_is_rebased() {
    let server = spawn_sync_server().await;
    let (mut a, mut b) = two_organizers(&server).await;
    // Offline, each writes the first event of the conference's promo-code stream.
    a.add_promo_code("demo", "EARLY", "10");
    b.add_promo_code("demo", "SPEAKER", "100");
    assert_eq!(a.pending_all().commands[0].events[0].version, 1);
    assert_eq!(b.pending_all().commands[0].events[0].version, 1);

    let first = server.push_pending(&mut a).await;
    assert_eq!(first.results[0].status, PushStatus::Applied);
    let before = server.count("SELECT COUNT(*) FROM events");
    let second = server.push_pending(&mut b).await;
    let result = &second.results[0];
    assert_eq!(result.status, PushStatus::Rebased, "{result:?}");
    assert_eq!(result.positions.len(), 1);
    assert_eq!(server.count("SELECT COUNT(*) FROM events"), before + 1);

    let events = server.pull_all(&b.device).await;
    let added = of_type(&events, "PromoCodeAdded");
    let codes: Vec<(String, u64)> = added
        .iter()
        .map(|e| {
            let code = e.event.payload_value()["code"].as_str().unwrap().to_owned();
            (code, e.event.version)
        })
        .collect();
    assert_eq!(codes, [("EARLY".into(), 1), ("SPEAKER".into(), 2)]);
    // A retry answers the same and stores nothing.
    let again = server.push_ok(&b.device, &b.pending_all()).await;
    assert_eq!(again.results[0], *result);
    assert_eq!(server.count("SELECT COUNT(*) FROM events"), before + 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_organizers_add_the_same_seat_type_name_and_the_second_is_rejected() {
    let server = spawn_sync_server().await;
    let (mut a, mut b) = two_organizers(&server).await;
    a.add_seat_type("demo", "Student", "40", 3);
    b.add_seat_type("demo", "student", "35", 5);
    server.push_pending(&mut a).await;
    let before = server.count("SELECT COUNT(*) FROM events");

    let response = server.push_pending(&mut b).await;
    let result = &response.results[0];
    assert_eq!(result.status, PushStatus::Rejected);
    let reason = result.reason.as_ref().unwrap();
    assert_eq!(reason.code, "seat_type_name_taken");
    assert!(reason.message.contains("student"), "{}", reason.message);
    assert!(result.positions.is_empty());
    assert_eq!(response.next_seq, 2);
    assert_eq!(server.count("SELECT COUNT(*) FROM events"), before);

    let items = server.reconciliation(&a.device).await;
    assert_eq!(items.len(), 1, "{items:?}");
    let item = &items[0];
    assert_eq!(item["kind"], "rejected_command");
    assert_eq!(item["device_id"], b.device.id.to_string());
    assert_eq!(item["command_id"], result.command_id.to_string());
    assert_eq!(item["conference_id"], a.conference_id("demo").to_string());
    assert_eq!(item["detail"]["code"], "seat_type_name_taken");
    assert_eq!(item["detail"]["command_type"], "add_seat_type");

    let page = server.pull_page(&b.device, 0, 500, None).await;
    assert_eq!(page.outcomes, vec![result.clone()]);

    // The back office resolves it.
    let id = item["id"].as_i64().unwrap();
    let (status, resolved) = server
        .post(
            &a.device,
            &format!("/v1/reconciliation/{id}/resolve"),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{resolved}");
    assert_eq!(resolved["resolved"], true);
    assert!(server.reconciliation(&a.device).await.is_empty());
    let (_, all) = server.get(&a.device, "/v1/reconciliation?all=true").await;
    assert_eq!(all.as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rebased_quantity_cut_cannot_take_seats_the_pool_gave_away() {
    let server = spawn_sync_server().await;
    let (mut a, mut b) = two_organizers(&server).await;
    // A renames the seat type (the stream moves on) while the server allots 8 of 10.
    a.app
        .update_seat_type(
            &crate::helpers::ctx(0),
            "demo",
            "Full",
            Some("Full pass".into()),
            None,
            None,
            None,
        )
        .unwrap();
    server.push_pending(&mut a).await;
    let door = server.add_device("door", Role::Door, &[]);
    let (status, body) = server
        .post(
            &door,
            "/v1/allotments",
            &serde_json::json!({
                "command_id": uuid::Uuid::now_v7(),
                "conference_id": a.conference_id("demo"),
                "seats": [{ "seat_type_id": a.seat_type_id("demo", "Full pass"), "quantity": 8 }]
            }),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    // B, from the old base, cuts the quantity to 5: only 2 seats are free.
    b.app
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
    let response = server.push_pending(&mut b).await;
    let result = &response.results[0];
    assert_eq!(result.status, PushStatus::Rejected);
    assert_eq!(result.reason.as_ref().unwrap().code, "quantity_below_taken");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_conference_with_a_taken_slug_is_rejected() {
    let server = spawn_sync_server().await;
    let a = organizer_with_conference(&server, "demo", &[]).await;
    let mut b = Local::new(
        &server.add_device("organizer b", Role::Organizer, &[]),
        true,
    );
    b.create_conference("demo", &[]);
    let response = server.push_pending(&mut b).await;
    assert_eq!(response.results[0].status, PushStatus::Rejected);
    assert_eq!(
        response.results[0].reason.as_ref().unwrap().code,
        "slug_taken"
    );
    // Its publish names a conference the server never stored: also rejected.
    assert_eq!(response.results[1].status, PushStatus::Rejected);
    let events = server.pull_all(&a.device).await;
    assert_eq!(of_type(&events, "ConferenceCreated").len(), 1);
}
