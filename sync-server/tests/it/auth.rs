//! Tokens, roles and conference lists: who may push and pull what. A refused request
//! stores nothing.
use crate::helpers::{Local, blocking, organizer_with_conference, spawn_sync_server};
use conference_sync_server::{Role, admin};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn missing_wrong_and_revoked_tokens_are_401() {
    let server = spawn_sync_server().await;
    let device = server.add_device("door 1", Role::Door, &[]);
    let empty = json!({ "commands": [] });

    let response = server
        .client
        .post(server.url("/v1/push"))
        .json(&empty)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized");
    assert!(
        body["message"].as_str().unwrap().contains("Bearer"),
        "{body}"
    );

    let mut wrong = device.clone();
    wrong.token = "0".repeat(64);
    let (status, body) = server.post(&wrong, "/v1/push", &empty).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "unauthorized");

    let (status, _) = server.post(&device, "/v1/push", &empty).await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/v1/pull",
        "/v1/feed",
        "/v1/reconciliation",
        "/openapi.json",
    ] {
        let response = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }

    let revoked = blocking(|| admin::revoke_device(&server.database, device.id)).unwrap();
    assert!(revoked.revoked);
    let (status, body) = server.post(&device, "/v1/push", &empty).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "unauthorized");
    assert!(
        body["message"].as_str().unwrap().contains("revoked"),
        "{body}"
    );
    let (status, _) = server.get(&device, "/v1/pull").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_door_may_not_push_organizer_commands_and_nothing_of_the_request_is_stored() {
    let server = spawn_sync_server().await;
    let door = server.add_device("door 1", Role::Door, &[]);
    // A door device that (wrongly) manages a conference: its first command is allowed to
    // nobody but organizers, so the whole request goes.
    let mut local = Local::new(&door, true);
    local.create_conference("demo", &[("Full", "100", 10)]);
    let request = local.pending();
    assert_eq!(request.commands[0].command_type, "create_conference");
    let (status, body) = server.push(&door, &request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "forbidden_command", "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("door") && message.contains("create_conference"),
        "{message}"
    );

    // Also when the forbidden command comes after allowed ones.
    let mut only_seat_type = request.clone();
    only_seat_type
        .commands
        .retain(|c| c.command_type == "add_seat_type");
    only_seat_type.commands[0].device_seq = 1;
    let (status, body) = server.push(&door, &only_seat_type).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "forbidden_command");
    assert!(body["message"].as_str().unwrap().contains("add_seat_type"));

    assert_eq!(server.count("SELECT COUNT(*) FROM events"), 0);
    assert_eq!(server.count("SELECT COUNT(*) FROM commands"), 0);
    assert_eq!(server.count("SELECT COUNT(*) FROM reconciliation"), 0);
    assert_eq!(
        server.count("SELECT next_seq FROM devices WHERE role = 'door'"),
        1
    );

    let back_office = server.add_device("office", Role::BackOffice, &[]);
    let mut sale = Local::new(&back_office, true);
    sale.create_conference("other", &[]);
    let (status, body) = server.push(&back_office, &sale.pending()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "forbidden_command");
    assert!(body["message"].as_str().unwrap().contains("back_office"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_may_only_push_and_pull_its_own_conferences() {
    let server = spawn_sync_server().await;
    let organizer = organizer_with_conference(&server, "demo", &[("Full", "100", 10)]).await;
    let mut other_organizer =
        Local::new(&server.add_device("other org", Role::Organizer, &[]), true);
    other_organizer.create_conference("other", &[("Full", "50", 5)]);
    server.push_pending(&mut other_organizer).await;

    // A door given only `other` has pulled demo somehow and sells in it.
    let door = server.add_device("door", Role::Door, &["other"]);
    let mut local = Local::new(&door, true);
    local.apply(server.pull_all(&organizer.device).await);
    local.receive("demo", "Full", 1);
    local.sell("demo", &["Full=2"], true);
    let before = server.count("SELECT COUNT(*) FROM events");
    let (status, body) = server.push(&door, &local.pending()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "forbidden_conference", "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("`other`"),
        "{body}"
    );
    assert_eq!(server.count("SELECT COUNT(*) FROM events"), before);
    assert_eq!(server.count("SELECT COUNT(*) FROM commands WHERE device_seq IS NOT NULL AND device_id = (SELECT device_id FROM devices WHERE name = 'door')"), 0);

    // Pulling: the other conference only, and never demo by name.
    let (status, body) = server.get(&door, "/v1/pull?conference=demo").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "forbidden_conference");
    let other_id = other_organizer.conference_id("other");
    let events = server.pull_all(&door).await;
    assert!(!events.is_empty());
    assert!(
        events
            .iter()
            .all(|e| e.event.stream.contains(&other_id.to_string())),
        "{events:?}"
    );
    let (status, _) = server.get(&door, "/v1/pull?conference=other").await;
    assert_eq!(status, StatusCode::OK);

    // Allotments too.
    let demo_full = organizer.seat_type_id("demo", "Full");
    let (status, body) = server
        .post(
            &door,
            "/v1/allotments",
            &json!({
                "command_id": uuid::Uuid::now_v7(),
                "conference_id": organizer.conference_id("demo"),
                "seats": [{ "seat_type_id": demo_full, "quantity": 1 }]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "forbidden_conference");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scoped_organizer_may_create_its_conference() {
    let server = spawn_sync_server().await;
    let device = server.add_device("org", Role::Organizer, &["mine"]);
    let mut local = Local::new(&device, true);
    local.create_conference("mine", &[("Full", "10", 3)]);
    let response = server.push_ok(&device, &local.pending()).await;
    assert_eq!(response.next_seq, 4);
    let events = server.pull_all(&device).await;
    assert_eq!(events.len(), 4, "created, seat type, pool seats, published");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_organizers_and_the_back_office_reconcile() {
    let server = spawn_sync_server().await;
    let door = server.add_device("door", Role::Door, &[]);
    let (status, body) = server.get(&door, "/v1/reconciliation").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "forbidden_role");
    let office = server.add_device("office", Role::BackOffice, &[]);
    let (status, body) = server.get(&office, "/v1/reconciliation").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!([]));
    let (status, body) = server
        .post(
            &office,
            "/v1/allotments",
            &json!({ "command_id": uuid::Uuid::now_v7(), "conference_id": uuid::Uuid::now_v7(), "seats": [] }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "forbidden_role");
}
