//! Pushing: the fast path, retries, gaps and events this build cannot read.
use crate::helpers::{
    Local, all_applied, door_with_allotment, organizer_with_conference, spawn_sync_server,
};
use conference_protocol::sync::{PushRequest, PushStatus, raw_payload};
use conference_sync_server::Role;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread")]
async fn the_fast_path_stores_events_as_sent_and_a_retry_stores_nothing() {
    let server = spawn_sync_server().await;
    let device = server.add_device("organizer", Role::Organizer, &[]);
    let mut local = Local::new(&device, true);
    local.create_conference("demo", &[("Full", "100", 10), ("Student", "40", 3)]);
    let request = local.pending();
    assert_eq!(request.commands.len(), 4);

    let first = server.push_ok(&device, &request).await;
    assert_eq!(first.next_seq, 5);
    assert!(
        first
            .results
            .iter()
            .all(|r| r.status == PushStatus::Applied)
    );
    let sent: usize = request.commands.iter().map(|c| c.events.len()).sum();
    let positions: Vec<i64> = first
        .results
        .iter()
        .flat_map(|r| r.positions.clone())
        .collect();
    assert_eq!(positions.len(), sent);
    let stored = server.count("SELECT COUNT(*) FROM events");

    // The device lost the answer and pushes again: same results, nothing new.
    let again = server.push_ok(&device, &request).await;
    assert_eq!(again, first);
    assert_eq!(server.count("SELECT COUNT(*) FROM events"), stored);

    // What comes back is what was sent, with the pushing device and command ids.
    let events = server.pull_all(&device).await;
    for (command, result) in request.commands.iter().zip(&first.results) {
        for (sent, position) in command.events.iter().zip(&result.positions) {
            let pulled = events.iter().find(|e| e.position == *position).unwrap();
            assert_eq!(&pulled.event, sent);
            assert_eq!(pulled.command_id, command.command_id);
            assert_eq!(pulled.device_id, device.id);
        }
    }
    // Besides them only the pool's seats, which the server added itself.
    let own: Vec<i64> = positions.clone();
    let others: Vec<_> = events
        .iter()
        .filter(|e| !own.contains(&e.position))
        .collect();
    assert_eq!(others.len(), 2, "{others:?}");
    assert!(
        others
            .iter()
            .all(|e| e.event.event_type == "AvailableSeatsChanged"
                && e.device_id != device.id
                && e.event.stream == format!("seats/{}", local.conference_id("demo")))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gap_in_device_sequence_is_409_with_the_next_number_and_stores_nothing() {
    let server = spawn_sync_server().await;
    let device = server.add_device("organizer", Role::Organizer, &[]);
    let mut local = Local::new(&device, true);
    local.create_conference("demo", &[("Full", "100", 10), ("Student", "40", 3)]);
    let all = local.pending();
    assert_eq!(all.commands.len(), 4);

    let skipping = PushRequest {
        commands: all.commands[1..].to_vec(),
    };
    let (status, body) = server.push(&device, &skipping).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "sequence_gap");
    assert_eq!(body["next_expected"], 1);
    assert_eq!(server.count("SELECT COUNT(*) FROM events"), 0);
    assert_eq!(server.count("SELECT COUNT(*) FROM commands"), 0);

    // The first command alone goes through; then a request that skips one more is refused
    // as a whole, even though its first command is fine.
    server
        .push_ok(
            &device,
            &PushRequest {
                commands: all.commands[..1].to_vec(),
            },
        )
        .await;
    let stored = server.count("SELECT COUNT(*) FROM events");
    let gap = vec![all.commands[1].clone(), all.commands[3].clone()];
    let (status, body) = server.push(&device, &PushRequest { commands: gap }).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["next_expected"], 3);
    assert_eq!(server.count("SELECT COUNT(*) FROM events"), stored);
    assert_eq!(server.count("SELECT COUNT(*) FROM commands"), 1);

    // Known commands in front are answered, the rest continue the sequence.
    let response = server.push_ok(&device, &all).await;
    assert_eq!(response.results.len(), 4);
    assert_eq!(response.next_seq, 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_this_build_cannot_read_rejects_its_command_and_the_sequence_goes_on() {
    let server = spawn_sync_server().await;
    let device = server.add_device("organizer", Role::Organizer, &[]);
    let mut local = Local::new(&device, true);
    local.create_conference("demo", &[("Full", "100", 10)]);
    let mut request = local.pending();
    request.commands[1].events[0].event_type = "SeatTypeImagined".into();
    request.commands[2].events[0].schema_version = 99;

    let response = server.push_ok(&device, &request).await;
    let statuses: Vec<_> = response.results.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            PushStatus::Applied,
            PushStatus::Rejected,
            PushStatus::Rejected
        ]
    );
    for rejected in &response.results[1..] {
        let reason = rejected.reason.as_ref().unwrap();
        assert_eq!(reason.code, "unknown_event");
        assert!(rejected.positions.is_empty());
    }
    assert!(
        response.results[2]
            .reason
            .as_ref()
            .unwrap()
            .message
            .contains("version 99")
    );
    assert_eq!(response.next_seq, 4);
    assert_eq!(server.count("SELECT COUNT(*) FROM events"), 1);
    assert_eq!(
        server.count("SELECT COUNT(*) FROM reconciliation WHERE kind = 'rejected_command'"),
        2
    );
    // The device hears of its rejections when it pulls.
    let page = server.pull_page(&device, 0, 100, None).await;
    assert_eq!(page.outcomes.len(), 2);
    assert!(
        page.outcomes
            .iter()
            .all(|o| o.status == PushStatus::Rejected)
    );
    let page = server.pull_page(&device, page.next_after, 100, None).await;
    assert_eq!(
        page.outcomes.len(),
        2,
        "still news for a device that has every event"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sale_whose_stream_moved_on_is_rejected_as_a_conflict() {
    let server = spawn_sync_server().await;
    let organizer = organizer_with_conference(&server, "demo", &[("Full", "100", 10)]).await;
    let mut local = door_with_allotment(&server, &organizer, &[], "demo", "Full", 1).await;
    server.push_pending(&mut local).await;
    local.sell("demo", &["Full=1"], false);
    let mut request = local.pending();
    assert_eq!(request.commands[0].command_type, "sell");
    // As if the device had written a stream the server already has further along.
    let publish_stream = format!("conference/{}", organizer.conference_id("demo"));
    let mut moved = request.commands[0].events[0].clone();
    moved.stream = publish_stream.clone();
    moved.version = 2;
    moved.event_type = "ConferencePublished".into();
    moved.payload = raw_payload(&serde_json::json!({}));
    request.commands[0].events.push(moved);
    let response = server.push_ok(&local.device, &request).await;
    let result = &response.results[0];
    assert_eq!(result.status, PushStatus::Rejected);
    assert_eq!(result.reason.as_ref().unwrap().code, "stream_conflict");
    let office = server.add_device("office", Role::BackOffice, &[]);
    let items = server.reconciliation(&office).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["kind"], "rejected_command");
    assert_eq!(items[0]["detail"]["code"], "stream_conflict");
    assert_eq!(items[0]["detail"]["conflicts"][0]["stream"], publish_stream);
    assert_eq!(
        items[0]["conference_id"],
        organizer.conference_id("demo").to_string()
    );
    assert_eq!(items[0]["command_id"], result.command_id.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_pushes_land_in_one_gapless_order_and_a_refused_one_stores_nothing() {
    let server = spawn_sync_server().await;
    let mut requests = Vec::new();
    for i in 0..12 {
        let device = server.add_device(&format!("organizer {i}"), Role::Organizer, &[]);
        let mut local = Local::new(&device, true);
        local.create_conference(&format!("conf-{i}"), &[("Full", "100", 10)]);
        let mut request = local.pending();
        if i % 3 == 0 {
            // This one skips its first command: refused whole, whichever batch it lands in.
            request.commands.remove(0);
        }
        requests.push((device, request));
    }
    let server = std::sync::Arc::new(server);
    let mut tasks = Vec::new();
    for (device, request) in requests.clone() {
        let server = std::sync::Arc::clone(&server);
        tasks.push(tokio::spawn(
            async move { server.push(&device, &request).await },
        ));
    }
    let mut applied = 0;
    for (task, (_, request)) in tasks.into_iter().zip(&requests) {
        let (status, body) = task.await.unwrap();
        if request.commands[0].device_seq == 1 {
            assert_eq!(status, StatusCode::OK, "{body}");
            applied += 1;
        } else {
            assert_eq!(status, StatusCode::CONFLICT, "{body}");
            assert_eq!(body["next_expected"], 1);
        }
    }
    assert_eq!(applied, 8);
    // Per conference: created, seat type, pool seats, published.
    let positions = server.numbers("SELECT position FROM events ORDER BY position");
    assert_eq!(positions, (1..=8 * 4).collect::<Vec<i64>>());
    assert_eq!(server.count("SELECT COUNT(*) FROM commands"), 8 * 3);
    assert_eq!(server.count("SELECT COUNT(*) FROM conferences"), 8);
    let text = server.metrics(&requests[0].0).await;
    let value = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {text}"))
    };
    // Every request was one job of the writer; jobs may share a transaction (group commit).
    assert_eq!(value("conference_sync_write_batch_jobs_total"), 12);
    let batches = value("conference_sync_write_batches_total");
    assert!((1..=12).contains(&batches), "{batches}");
    eprintln!("12 pushes committed in {batches} transactions");
}

/// A command pushed with events it does not produce (one `create_conference` creating two
/// conferences, the second with a slug another conference has): the server's replay
/// refuses it, nothing of it is stored, and the commands around it in the same request
/// are taken as usual.
#[tokio::test(flavor = "multi_thread")]
async fn a_command_with_events_it_does_not_produce_leaves_nothing_and_the_request_goes_on() {
    let server = spawn_sync_server().await;
    organizer_with_conference(&server, "demo", &[]).await;
    let device = server.add_device("organizer b", Role::Organizer, &[]);
    let mut local = Local::new(&device, true);
    local.create_conference("other", &[("Full", "100", 10)]);
    let mut commands = local.pending().commands;
    assert!(commands.len() >= 3, "{commands:?}");

    // Two conferences created by one command: the first is new, the second's slug is
    // taken. Before the server replayed commands, this one failed on its second event.
    let created = commands[0].events[0].clone();
    assert_eq!(created.event_type, "ConferenceCreated");
    let conference = |slug: &str| {
        let id = uuid::Uuid::now_v7();
        let mut event = created.clone();
        event.stream = format!("conference/{id}");
        let mut payload = event.payload_value();
        payload["id"] = serde_json::json!(id);
        payload["slug"] = serde_json::json!(slug);
        event.payload = raw_payload(&payload);
        event
    };
    let mut poisoned = commands[0].clone();
    poisoned.command_id = uuid::Uuid::now_v7();
    poisoned.events = vec![conference("fresh"), conference("demo")];
    commands.insert(1, poisoned.clone());
    for (seq, command) in (1..).zip(commands.iter_mut()) {
        command.device_seq = seq;
    }
    let request = PushRequest { commands };
    let events_before = server.count("SELECT COUNT(*) FROM events");

    let response = server.push_ok(&device, &request).await;
    let statuses: Vec<PushStatus> = response.results.iter().map(|r| r.status).collect();
    let mut expected = vec![PushStatus::Applied; request.commands.len()];
    expected[1] = PushStatus::Rejected;
    assert_eq!(statuses, expected, "{response:?}");
    assert_eq!(
        response.results[1].reason.as_ref().unwrap().code,
        "events_do_not_match_command"
    );
    assert!(response.results[1].positions.is_empty());
    assert_eq!(response.next_seq, request.commands.len() as u64 + 1);

    // Nothing of the refused command, everything of the others, in a gapless order.
    assert_eq!(
        server.count(&format!(
            "SELECT COUNT(*) FROM events WHERE command_id = {}",
            server.id_literal(poisoned.command_id)
        )),
        0
    );
    assert_eq!(
        server.count("SELECT COUNT(*) FROM conferences WHERE slug = 'fresh'"),
        0
    );
    let stored = server.count("SELECT COUNT(*) FROM events") - events_before;
    let own: usize = response.results.iter().map(|r| r.positions.len()).sum();
    assert!(stored >= own as i64);
    assert_eq!(
        server.count("SELECT MAX(position) - MIN(position) + 1 - COUNT(*) FROM events"),
        0
    );
    let rejected = server.count(&format!(
        "SELECT COUNT(*) FROM reconciliation WHERE kind = 'rejected_command' AND command_id = {}",
        server.id_literal(poisoned.command_id)
    ));
    assert_eq!(rejected, 1);

    // Pushed again, every command answers with its first result and nothing is added.
    let total = server.count("SELECT COUNT(*) FROM events");
    assert_eq!(server.push_ok(&device, &request).await, response);
    assert_eq!(server.count("SELECT COUNT(*) FROM events"), total);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_id_of_another_device_is_refused_not_answered() {
    let server = spawn_sync_server().await;
    let first = server.add_device("organizer", Role::Organizer, &[]);
    let second = server.add_device("organizer 2", Role::Organizer, &[]);
    let mut local = Local::new(&first, true);
    local.create_conference("demo", &[("Full", "100", 10)]);
    let request = local.pending();
    let applied = server.push_ok(&first, &request).await;
    let stored = server.count("SELECT COUNT(*) FROM events");
    let commands = server.count("SELECT COUNT(*) FROM commands");

    // The second device sends the first device's command as its own first command.
    let mut stolen = request.clone();
    stolen.commands.truncate(1);
    stolen.commands[0].device_seq = 1;
    let (status, body) = server.push(&second, &stolen).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "command_id_reused");
    assert!(
        body["message"].as_str().unwrap().contains("another device"),
        "{body}"
    );
    assert_eq!(server.count("SELECT COUNT(*) FROM events"), stored);
    assert_eq!(server.count("SELECT COUNT(*) FROM commands"), commands);
    // Its owner still gets its stored results.
    assert_eq!(server.push_ok(&first, &request).await, applied);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_pushing_v1_shapes_is_taken_and_v2_readers_read_them_upcast() {
    let server = spawn_sync_server().await;
    let mut organizer = organizer_with_conference(&server, "demo", &[("Full", "100", 10)]).await;
    let mut door = door_with_allotment(&server, &organizer, &[], "demo", "Full", 2).await;
    let order = door.sell("demo", &["Full=1"], false);
    let mut request = door.pending();
    // The same sale as a V1 device writes it: OrderPaymentConfirmed with no payment id,
    // totals v1 without is_free_of_charge and with lines without kind.
    let mut rewritten = 0;
    for command in &mut request.commands {
        for event in &mut command.events {
            match (event.event_type.as_str(), event.schema_version) {
                ("OrderConfirmed", 1) => {
                    event.event_type = "OrderPaymentConfirmed".into();
                    event.payload = raw_payload(&serde_json::json!({}));
                    rewritten += 1;
                }
                ("OrderTotalsCalculated", 2) => {
                    event.schema_version = 1;
                    let mut payload = event.payload_value();
                    let totals = payload.as_object_mut().unwrap();
                    totals.remove("is_free_of_charge");
                    for line in totals["lines"].as_array_mut().unwrap() {
                        line.as_object_mut().unwrap().remove("kind");
                    }
                    event.payload = raw_payload(&payload);
                    rewritten += 1;
                }
                _ => {}
            }
        }
    }
    assert_eq!(rewritten, 2);
    let response = server.push_ok(&door.device, &request).await;
    all_applied(&response);

    // Stored as sent (stored events are never rewritten) ...
    let pulled = server.pull_all(&organizer.device).await;
    let confirmed = crate::helpers::of_type(&pulled, "OrderPaymentConfirmed");
    assert_eq!(confirmed.len(), 1);
    assert_eq!(confirmed[0].event.payload_value(), serde_json::json!({}));
    assert!(crate::helpers::of_type(&pulled, "OrderConfirmed").is_empty());
    // ... and a V2 device reads them upcast: the order is confirmed, paid, not free.
    organizer.apply(pulled);
    let view = organizer
        .app
        .order(conference_domain::OrderId::from_uuid(order))
        .expect("the V1-shaped sale");
    assert_eq!(view.status, "confirmed");
    assert_eq!(view.total, "100.00");
    assert!(!view.is_free_of_charge);
}
