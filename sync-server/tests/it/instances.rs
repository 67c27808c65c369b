//! Several server instances on one database (the way the server scales out on PostgreSQL;
//! on SQLite, two processes on one file, as during a restart): one global order without
//! gaps for readers, a push stored once however many instances take it, allotments that
//! never exceed the pool, one reconciliation queue, and every instance's live feed.
use crate::helpers::{
    DEADLINE, Local, TestDevice, TestServer, all_applied, door_with_allotment,
    organizer_with_conference, spawn_sync_server,
};
use conference_protocol::sync::{AllotmentResponse, PushStatus};
use conference_sync_server::Role;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use uuid::Uuid;

/// Organizers push new conferences to both instances at once while a reader pulls small
/// pages from both: every page starts right after the last position the reader saw and
/// has no holes, so no event can commit later under a position a reader has passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_instances_keep_one_gap_free_order_for_readers() {
    let a = Arc::new(spawn_sync_server().await);
    let b = Arc::new(a.another_instance().await);
    let reader = a.add_device("reader", Role::BackOffice, &[]);
    const ORGANIZERS: usize = 8;
    const ROUNDS: usize = 4;
    let mut pushers = Vec::new();
    for i in 0..ORGANIZERS {
        let device = a.add_device(&format!("organizer {i}"), Role::Organizer, &[]);
        let (a, b) = (Arc::clone(&a), Arc::clone(&b));
        pushers.push(tokio::spawn(async move {
            let mut local = Local::new(&device, true);
            for round in 0..ROUNDS {
                local.create_conference(&format!("conf-{i}-{round}"), &[("Full", "100", 10)]);
                let server = if (i + round) % 2 == 0 { &a } else { &b };
                all_applied(&server.push_pending(&mut local).await);
            }
        }));
    }
    let done = Arc::new(AtomicBool::new(false));
    let reading = {
        let (a, b, done) = (Arc::clone(&a), Arc::clone(&b), Arc::clone(&done));
        tokio::spawn(async move {
            let mut after = 0;
            let mut seen = Vec::new();
            let mut turn = 0usize;
            loop {
                // Whether the pushers were done before this page was asked for.
                let finished = done.load(Ordering::SeqCst);
                turn += 1;
                let server = if turn % 2 == 0 { &a } else { &b };
                let page = server.pull_page(&reader, after, 3, None).await;
                let positions: Vec<i64> = page.events.iter().map(|e| e.position).collect();
                let expected: Vec<i64> = (after + 1..).take(positions.len()).collect();
                assert_eq!(
                    positions, expected,
                    "a page after {after} skipped or repeated a position"
                );
                if positions.is_empty() && finished {
                    return seen;
                }
                after = page.next_after;
                seen.extend(positions);
            }
        })
    };
    for pusher in pushers {
        pusher.await.unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let seen = reading.await.unwrap();
    // Per conference: created, seat type, pool seats, published.
    let stored = (ORGANIZERS * ROUNDS * 4) as i64;
    assert_eq!(seen, (1..=stored).collect::<Vec<_>>());
    assert_eq!(a.count("SELECT COUNT(*) FROM events"), stored);
    assert_eq!(
        a.count("SELECT COUNT(*) FROM conferences"),
        (ORGANIZERS * ROUNDS) as i64
    );
    drop(b);
}

/// The same request reaching two instances at once (a retry through another route of the
/// load balancer, say): both answer with the same results, and it is stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_push_sent_to_two_instances_at_once_is_stored_once() {
    let a = spawn_sync_server().await;
    let b = a.another_instance().await;
    let organizer = organizer_with_conference(&a, "demo", &[("Full", "100", 50)]).await;
    let mut door = door_with_allotment(&a, &organizer, &[], "demo", "Full", 20).await;
    let mut expected_events = a.count("SELECT COUNT(*) FROM events");
    for round in 0..8 {
        door.sell("demo", &["Full=1"], false);
        let request = door.pending();
        let (first, second) = tokio::join!(
            a.push(&door.device, &request),
            b.push(&door.device, &request)
        );
        assert_eq!(first.0, StatusCode::OK, "{}", first.1);
        assert_eq!(second.0, StatusCode::OK, "{}", second.1);
        assert_eq!(first.1, second.1, "round {round}: both answer alike");
        let positions: usize = first.1["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["positions"].as_array().unwrap().len())
            .sum();
        expected_events += positions as i64;
        assert_eq!(
            a.count("SELECT COUNT(*) FROM events"),
            expected_events,
            "round {round}: stored once"
        );
    }
    let commands = door.pending_all().commands.len() as i64;
    assert_eq!(
        a.count(&format!(
            "SELECT COUNT(*) FROM commands WHERE device_seq IS NOT NULL AND device_id = {}",
            a.id_literal(door.device.id)
        )),
        commands
    );
    drop(b);
}

async fn allot(
    server: &TestServer,
    device: &TestDevice,
    conference: Uuid,
    seat_type: Uuid,
    quantity: u32,
) -> AllotmentResponse {
    let (status, body) = server
        .post(
            device,
            "/v1/allotments",
            &json!({
                "command_id": Uuid::now_v7(),
                "conference_id": conference,
                "seats": [{ "seat_type_id": seat_type, "quantity": quantity }]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body).unwrap()
}

/// Doors ask both instances for more seats than the pool has, all at once: the grants add
/// up to the pool exactly. A sale past an allotment then pushed to one instance lands in
/// the reconciliation queue every instance shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_granting_allotments_never_exceed_the_pool() {
    let a = Arc::new(spawn_sync_server().await);
    let b = Arc::new(a.another_instance().await);
    let organizer = organizer_with_conference(&a, "demo", &[("Full", "100", 10)]).await;
    let conference = organizer.conference_id("demo");
    let full = organizer.seat_type_id("demo", "Full");
    let mut asks = Vec::new();
    for i in 0..8 {
        let door = a.add_device(&format!("door {i}"), Role::Door, &[]);
        let server = Arc::clone(if i % 2 == 0 { &a } else { &b });
        asks.push(tokio::spawn(async move {
            allot(&server, &door, conference, full, 3).await
        }));
    }
    let mut granted = 0;
    for ask in asks {
        granted += ask
            .await
            .unwrap()
            .seats
            .iter()
            .map(|s| s.quantity)
            .sum::<u32>();
    }
    assert_eq!(granted, 10, "8 doors asked for 24 of 10 seats");

    // The pool is empty: a door that sells 2 past its own seat (it has none) goes to the
    // back office, whichever instance it pushes to and whichever lists the queue.
    let door = a.add_device("late door", Role::Door, &[]);
    let mut local = Local::new(&door, true);
    local.apply(b.pull_all(&door).await);
    let order = local.sell("demo", &["Full=2"], true);
    let response = b.push_pending(&mut local).await;
    assert!(
        response
            .results
            .iter()
            .all(|r| r.status == PushStatus::Applied),
        "{response:?}"
    );
    for server in [&a, &b] {
        let items = server.reconciliation(&organizer.device).await;
        assert_eq!(items.len(), 1, "{items:?}");
        assert_eq!(items[0]["kind"], "over_allotment");
        assert_eq!(items[0]["detail"]["order_id"], order.to_string());
        assert_eq!(items[0]["detail"]["uncovered"], 2);
    }
    drop(b);
}

/// A device on one instance hears at once of what another instance stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_feed_of_one_instance_announces_what_another_stored() {
    let a = spawn_sync_server().await;
    let b = a.another_instance().await;
    let organizer = organizer_with_conference(&a, "demo", &[("Full", "100", 10)]).await;
    let head = a.pull_page(&organizer.device, 0, 1, None).await.head;
    let mut feed = a
        .client
        .get(a.url("/v1/feed"))
        .bearer_auth(&organizer.device.token)
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), StatusCode::OK);
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
    read_until(format!("data: {{\"head\":{head}}}"), &mut text).await;
    let door = a.add_device("door", Role::Door, &[]);
    let granted = allot(
        &b,
        &door,
        organizer.conference_id("demo"),
        organizer.seat_type_id("demo", "Full"),
        1,
    )
    .await;
    assert_eq!(granted.position, head + 1);
    read_until(format!("data: {{\"head\":{}}}", head + 1), &mut text).await;
    // Both instances stop gracefully, listeners and all.
    b.stop().await;
    a.stop().await;
}
