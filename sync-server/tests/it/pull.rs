//! Pulling: pages in global order, conference scopes, schema versions, the live feed.
use crate::helpers::{
    DEADLINE, Local, door_with_allotment, organizer_with_conference, spawn_sync_server,
};
use conference_sync_server::Role;
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn pages_follow_the_global_order_without_gaps_or_repeats() {
    let server = spawn_sync_server().await;
    let organizer = organizer_with_conference(
        &server,
        "demo",
        &[
            ("Full", "100", 10),
            ("Student", "40", 3),
            ("Speaker", "0", 2),
        ],
    )
    .await;
    let everything = server.pull_page(&organizer.device, 0, 5000, None).await;
    let head = everything.head;
    assert_eq!(everything.events.len() as i64, head);
    assert_eq!(everything.next_after, head);

    let mut after = 0;
    let mut paged = Vec::new();
    loop {
        let page = server.pull_page(&organizer.device, after, 3, None).await;
        assert_eq!(page.head, head);
        assert!(page.events.len() <= 3);
        if page.events.is_empty() {
            assert_eq!(page.next_after, after, "an empty page stays where it was");
            break;
        }
        assert_eq!(page.next_after, page.events.last().unwrap().position);
        after = page.next_after;
        paged.extend(page.events);
    }
    assert_eq!(paged, everything.events);
    let positions: Vec<i64> = paged.iter().map(|e| e.position).collect();
    assert_eq!(positions, (1..=head).collect::<Vec<_>>());

    // The default page; a limit outside 1 to 5,000 or a negative position is refused,
    // saying the bounds (as the OpenAPI document does).
    let (status, body) = server.get(&organizer.device, "/v1/pull").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["events"].as_array().unwrap().len() as i64, head);
    for query in ["limit=999999", "limit=0", "after=-1"] {
        let (status, body) = server
            .get(&organizer.device, &format!("/v1/pull?{query}"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            body["message"].as_str().unwrap().contains(" to "),
            "{query}: {body}"
        );
    }
    let (status, _) = server.get(&organizer.device, "/v1/pull?limit=5000").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = server.get(&organizer.device, "/v1/pull?after=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "bad_request");
}

#[tokio::test(flavor = "multi_thread")]
async fn pulls_show_only_the_conferences_asked_for_and_allowed() {
    let server = spawn_sync_server().await;
    let demo = organizer_with_conference(&server, "demo", &[("Full", "100", 10)]).await;
    let mut other = Local::new(&server.add_device("other org", Role::Organizer, &[]), true);
    other.create_conference("other", &[("Full", "50", 5)]);
    server.push_pending(&mut other).await;
    // A sale in demo, so order, payment and assignment streams are there too.
    let mut local = door_with_allotment(&server, &demo, &["demo"], "demo", "Full", 1).await;
    local.sell("demo", &["Full=1"], false);
    server.push_pending(&mut local).await;
    let door = local.device.clone();

    let demo_id = demo.conference_id("demo").to_string();
    let other_id = other.conference_id("other").to_string();
    let all = server.pull_all(&demo.device).await;
    let of = |events: &[conference_protocol::sync::PulledEvent]| -> Vec<i64> {
        events.iter().map(|e| e.position).collect()
    };
    let conference_of = |e: &conference_protocol::sync::PulledEvent| -> String {
        server
            .event_conference(e.position)
            .map(|id| id.simple().to_string())
            .unwrap_or_default()
    };
    let hex = |id: &str| id.replace('-', "");
    let demo_events: Vec<_> = all
        .iter()
        .filter(|e| conference_of(e) == hex(&demo_id))
        .cloned()
        .collect();
    let other_events: Vec<_> = all
        .iter()
        .filter(|e| conference_of(e) == hex(&other_id))
        .cloned()
        .collect();
    assert_eq!(demo_events.len() + other_events.len(), all.len());
    assert!(
        demo_events
            .iter()
            .any(|e| e.event.stream.starts_with("order/"))
    );
    assert!(
        demo_events
            .iter()
            .any(|e| e.event.stream.starts_with("payment/"))
    );
    assert!(
        demo_events
            .iter()
            .any(|e| e.event.stream.starts_with("assignments/"))
    );

    // The scoped door sees demo only, with or without asking for it.
    assert_eq!(of(&server.pull_all(&door).await), of(&demo_events));
    let page = server.pull_page(&door, 0, 5000, Some("demo")).await;
    assert_eq!(of(&page.events), of(&demo_events));
    // An unscoped device may ask for one conference.
    let page = server.pull_page(&demo.device, 0, 5000, Some("other")).await;
    assert_eq!(of(&page.events), of(&other_events));
    // Filtered pages still page.
    let page = server.pull_page(&demo.device, 0, 2, Some("other")).await;
    assert_eq!(of(&page.events), of(&other_events[..2]));
    let page = server
        .pull_page(&demo.device, page.next_after, 5000, Some("other"))
        .await;
    assert_eq!(of(&page.events), of(&other_events[2..]));

    let (status, body) = server
        .get(&demo.device, "/v1/pull?conference=nowhere")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "unknown_conference");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_that_reads_an_older_schema_must_upgrade() {
    let server = spawn_sync_server().await;
    let organizer = organizer_with_conference(&server, "demo", &[("Full", "100", 10)]).await;
    let pull = |schema: String| {
        server
            .client
            .get(server.url("/v1/pull"))
            .bearer_auth(&organizer.device.token)
            .header("x-conference-schema", schema)
            .send()
    };
    let current = conference_domain::aggregate::schema_versions();
    let with = |event_type: &str, version: Option<u32>| {
        let mut reads = current.clone();
        match version {
            Some(v) => reads.insert(event_type, v),
            None => reads.remove(event_type),
        };
        serde_json::to_string(&reads).unwrap()
    };
    // What this build reads: everything, as stored.
    let response = pull(serde_json::to_string(&current).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // An older version of an event with no way back, or a type the device does not know.
    for (schema, says) in [
        (
            with("SeatTypeCreated", Some(0)),
            "reads only up to version 0",
        ),
        (with("SeatTypeCreated", None), "does not read"),
    ] {
        let response = pull(schema).await.unwrap();
        assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "upgrade_required");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("SeatTypeCreated")
                && message.contains(says)
                && message.contains("upgrade"),
            "{message}"
        );
    }
    let response = pull("not json".into()).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_feed_announces_the_head_at_once_and_when_it_moves() {
    let server = spawn_sync_server().await;
    let organizer = organizer_with_conference(&server, "demo", &[("Full", "100", 10)]).await;
    let head = server.pull_page(&organizer.device, 0, 1, None).await.head;
    let mut feed = server
        .client
        .get(server.url("/v1/feed"))
        .bearer_auth(&organizer.device.token)
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), StatusCode::OK);
    assert!(
        feed.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut text = String::new();
    let mut read_until = async |needle: String, text: &mut String| {
        tokio::time::timeout(DEADLINE, async {
            while !text.contains(&needle) {
                let chunk = feed.chunk().await.unwrap().expect("the feed stays open");
                text.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no `{needle}` in the feed: {text}"));
    };
    read_until(format!("event: head\ndata: {{\"head\":{head}}}"), &mut text).await;

    let door = server.add_device("door", Role::Door, &[]);
    let (status, _) = server
        .post(
            &door,
            "/v1/allotments",
            &serde_json::json!({
                "command_id": uuid::Uuid::now_v7(),
                "conference_id": organizer.conference_id("demo"),
                "seats": [{ "seat_type_id": organizer.seat_type_id("demo", "Full"), "quantity": 1 }]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    read_until(format!("data: {{\"head\":{}}}", head + 1), &mut text).await;
    // The feed ends with the server, which stops gracefully.
    server.stop().await;
}
