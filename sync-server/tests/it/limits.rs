//! Clients that connect and stall hold only their own sockets (DESIGN.md §7 Limits): a
//! real `conference-sync` process, raw sockets from another loopback address playing the
//! abuser, and an honest device whose requests must go on meanwhile.
use crate::cli::{binary, serve, serve_with};
use crate::helpers::DEADLINE;
use std::net::SocketAddr;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Registers a device on the server's database with the admin command.
fn add_device(db: &std::path::Path, name: &str, role: &str) -> crate::helpers::TestDevice {
    let added = binary()
        .args(["device", "add", "--database"])
        .arg(db)
        .args(["--name", name, "--role", role, "--json"])
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let added: serde_json::Value = serde_json::from_slice(&added.stdout).unwrap();
    crate::helpers::TestDevice {
        id: added["device_id"].as_str().unwrap().parse().unwrap(),
        token: added["token"].as_str().unwrap().to_string(),
    }
}

/// A connection from `from` (a loopback address of its own: the abuser's).
async fn connect_from(from: &str, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(format!("{from}:0").parse().expect("an address"))?;
    socket.connect(to).await
}

/// Waits until the server closes `stream` (end of file or reset), reading what it sends.
async fn closed_by_server(mut stream: TcpStream) -> bool {
    let mut buffer = [0_u8; 1024];
    let read_all = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(DEADLINE, read_all).await.is_ok()
}

/// The server's resident memory, peak and now, in MiB.
fn memory_mib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .expect("a memory field")
            / 1024
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// 1,100 idle sockets, half-sent request heads and bodies sent a byte at a time, from one
/// address, against a server that may open only 1,024 files: the server takes at most its
/// per-address share, closes the rest on arrival and the stalled ones within its
/// timeouts, and an honest device's requests are answered all along.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_connections_are_bounded_and_honest_devices_go_on() {
    rlimit::increase_nofile_limit(4096).expect("raise this test's open-file limit");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    // The server as the issue found it: 1,024 open files at most.
    let mut shell = std::process::Command::new("sh");
    shell.args([
        "-c",
        "ulimit -n 1024 && exec \"$0\" \"$@\"",
        binary().get_program().to_str().expect("a path"),
    ]);
    let server = serve_with(
        shell,
        &db,
        &[
            "--plain-http",
            "--max-connections-per-ip",
            "64",
            "--header-timeout",
            "2",
            "--body-timeout",
            "2",
        ],
    );
    let address: SocketAddr = server
        .url
        .trim_start_matches("http://")
        .parse()
        .expect("an address");
    let added = binary()
        .args(["device", "add", "--database"])
        .arg(&db)
        .args(["--name", "Office", "--role", "organizer", "--json"])
        .output()
        .unwrap();
    let token: serde_json::Value = serde_json::from_slice(&added.stdout).unwrap();
    let token = token["token"].as_str().expect("a token").to_string();

    // The abuser, from 127.0.0.2.
    let mut idle = Vec::new();
    for _ in 0..1_100 {
        idle.push(connect_from("127.0.0.2", address).await.expect("connect"));
    }
    let mut slow = Vec::new();
    for i in 0..20 {
        let mut stream = connect_from("127.0.0.2", address).await.expect("connect");
        let part: &[u8] = if i % 2 == 0 {
            b"GET /v1/me HTTP/1.1\r\nHost: x\r\nX-Slow: "
        } else {
            b"POST /v1/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"commands\":["
        };
        // Refused on arrival when the address is at its share: then the write may fail.
        let _ = stream.write_all(part).await;
        slow.push(stream);
    }

    // Meanwhile, the honest device: each request on a connection of its own.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(DEADLINE)
        .build()
        .unwrap();
    let mut latencies = Vec::new();
    for i in 0..30 {
        let path = if i % 2 == 0 {
            "/v1/me"
        } else {
            "/v1/pull?after=0&limit=100"
        };
        let started = Instant::now();
        let response = client
            .get(format!("{}{path}", server.url))
            .bearer_auth(&token)
            .send()
            .await
            .expect("an honest request is answered");
        assert_eq!(response.status(), 200, "{path}");
        latencies.push(started.elapsed());
    }
    latencies.sort();
    let (peak, now) = memory_mib(server.child.id());
    println!(
        "honest requests during the abuse (1,100 idle + 20 slow sockets): p50 {:?}, max {:?}; server memory {now} MiB (peak {peak} MiB)",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
    assert!(
        peak < 150,
        "the server's memory stays under 150 MiB: {peak} MiB"
    );

    // Every abusive socket is closed by the server: at once past the address's share,
    // the others when their timeouts run out.
    let waited = Instant::now();
    let mut still_open = 0;
    for stream in idle.into_iter().chain(slow) {
        if !closed_by_server(stream).await {
            still_open += 1;
        }
    }
    assert_eq!(still_open, 0, "sockets the server left open");
    println!(
        "every abusive socket closed {:?} after the honest requests",
        waited.elapsed()
    );
    let metrics = client
        .get(format!("{}/metrics", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let refused: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("conference_sync_connections_refused_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the refused-connections counter");
    // How many exactly depends on how many stalled ones timed out while the rest
    // connected; that some were refused at once is what the counter must show.
    assert!(refused > 0, "{refused} refused on arrival");
}

/// A TLS client that connects and never says hello is dropped when the handshake
/// timeout runs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_handshake_that_never_comes_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let server = serve(&db, &["--handshake-timeout", "1"]);
    let address: SocketAddr = server
        .url
        .trim_start_matches("https://")
        .parse()
        .expect("an address");
    let stream = connect_from("127.0.0.3", address).await.expect("connect");
    // Within the test's deadline, far past the one-second handshake timeout.
    assert!(
        closed_by_server(stream).await,
        "the silent client was dropped"
    );
}

/// Live feeds are capped per device and in all (429 `too_many_feeds` past either; a
/// thousand on one token are all refused), and a device revoked while its feeds are open
/// has them closed: their turns come back. The server's memory stays bounded.
#[tokio::test(flavor = "multi_thread")]
async fn live_feeds_are_capped_and_a_revoked_devices_feeds_end() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let (a, b, c) = (
        add_device(&db, "door a", "door"),
        add_device(&db, "door b", "door"),
        add_device(&db, "door c", "door"),
    );
    let server = serve(
        &db,
        &[
            "--plain-http",
            "--keep-alive",
            "1",
            "--max-feeds-per-device",
            "2",
            "--max-feeds",
            "3",
        ],
    );
    let client = reqwest::Client::builder()
        .timeout(DEADLINE)
        .build()
        .unwrap();
    let open = |device: &crate::helpers::TestDevice| {
        let request = client
            .get(format!("{}/v1/feed", server.url))
            .bearer_auth(&device.token)
            .send();
        async move { request.await.expect("an answer") }
    };
    let mut a_feeds = vec![open(&a).await, open(&a).await];
    assert!(a_feeds.iter().all(|f| f.status() == 200));
    let third = open(&a).await;
    assert_eq!(third.status(), 429);
    let body: serde_json::Value = third.json().await.unwrap();
    assert_eq!(body["code"], "too_many_feeds");
    let b_feed = open(&b).await;
    assert_eq!(b_feed.status(), 200);
    let over = open(&c).await;
    assert_eq!(over.status(), 429, "three feeds in all at most");
    // A thousand more on one token: every one refused, none left open.
    for _ in 0..1_000 {
        assert_eq!(open(&b).await.status(), 429);
    }
    let (peak, _) = memory_mib(server.child.id());
    println!("after a thousand feeds asked on one token: server memory peak {peak} MiB");
    assert!(peak < 150, "{peak} MiB");

    // Door A is revoked: both its feeds end, and room is made.
    let revoked = binary()
        .args(["device", "revoke", "--database"])
        .arg(&db)
        .arg(a.id.to_string())
        .output()
        .unwrap();
    assert!(revoked.status.success());
    for feed in &mut a_feeds {
        let ended = tokio::time::timeout(DEADLINE, async {
            while let Ok(Some(_)) = feed.chunk().await {}
        })
        .await;
        assert!(ended.is_ok(), "a revoked device's feed was closed");
    }
    let deadline = Instant::now() + DEADLINE;
    loop {
        // The feeds count as closed once the server saw their streams end.
        if open(&c).await.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "no room after A's feeds ended");
        tokio::task::yield_now().await;
    }
    drop(b_feed);
}

/// A pull page holds at most 4 MiB of payloads, whatever the limit asked: the rest comes
/// on the next page.
#[tokio::test(flavor = "multi_thread")]
async fn pull_pages_are_bounded_in_bytes() {
    let server = crate::helpers::spawn_sync_server().await;
    let organizer = server.add_device("office", conference_sync_server::Role::Organizer, &[]);
    // What an older server may hold: 700 events of about 10 KB each (6.7 MiB).
    padded_log(&server, 700);
    let mut after = 0;
    let mut pages = Vec::new();
    loop {
        let (status, page) = server
            .get(&organizer, &format!("/v1/pull?after={after}&limit=5000"))
            .await;
        assert_eq!(status, 200, "{page}");
        let events = page["events"].as_array().expect("events").clone();
        if events.is_empty() {
            break;
        }
        let bytes: usize = events.iter().map(|e| e["payload"].to_string().len()).sum();
        assert!(bytes <= 4 * 1024 * 1024, "a page of {bytes} bytes");
        after = page["next_after"].as_i64().expect("next_after");
        pages.push(events.len());
    }
    assert!(pages.len() >= 2, "{pages:?}");
    assert_eq!(pages.iter().sum::<usize>(), 700);
    server.stop().await;
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The reconciliation queue comes in pages (500 items by default, 1,000 at most), oldest
/// first; a device's transport reads it whole, page by page.
#[tokio::test(flavor = "multi_thread")]
async fn the_reconciliation_queue_is_paginated() {
    let server = crate::helpers::spawn_sync_server().await;
    let office = server.add_device("office", conference_sync_server::Role::BackOffice, &[]);
    let device = server.id_literal(office.id);
    // 1,200 bad commands' items, as a flood of refused pushes leaves them.
    server.execute(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200)
         INSERT INTO reconciliation (kind, conference_id, device_id, command_id, detail, created_at)
         SELECT 'rejected_command', NULL, {device}, NULL, '{{}}', '2026-12-08T00:00:00Z' FROM n"
    ));
    let ids = |page: &serde_json::Value| -> Vec<i64> {
        page.as_array()
            .expect("a page")
            .iter()
            .map(|item| item["id"].as_i64().expect("an id"))
            .collect()
    };
    let (status, first) = server.get(&office, "/v1/reconciliation").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(ids(&first).len(), 500);
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let (status, page) = server
            .get(
                &office,
                &format!("/v1/reconciliation?after={after}&limit=1000"),
            )
            .await;
        assert_eq!(status, 200, "{page}");
        let page = ids(&page);
        all.extend(page.iter().copied());
        match page.last() {
            Some(last) if page.len() == 1000 => after = *last,
            _ => break,
        }
    }
    assert_eq!(all.len(), 1200);
    assert!(
        all.windows(2).all(|w| w[0] < w[1]),
        "oldest first, no repeats"
    );
    let (status, _) = server.get(&office, "/v1/reconciliation?limit=1001").await;
    assert_eq!(status, 400);

    let link = conference_app::ServerLink {
        url: server.url(""),
        token: office.token.clone(),
        pin: None,
        insecure_http: false,
    };
    let whole = crate::helpers::blocking(move || {
        use conference_app::sync::Transport as _;
        conference_app::http::HttpTransport::new(&link)
            .expect("a transport")
            .reconciliation()
            .expect("the queue")
    });
    assert_eq!(whole.len(), 1200);
    server.stop().await;
}

/// A device that sends too many requests, or pushes too many events, is told to slow
/// down (429, nothing of the push stored); other devices are not held up.
#[tokio::test(flavor = "multi_thread")]
async fn a_device_past_its_rate_or_push_volume_is_told_to_slow_down() {
    let server = crate::helpers::spawn_sync_server_with(|settings| {
        settings.requests_per_second = 1;
        settings.request_burst = 3;
        settings.pushed_events_per_second = 1;
        settings.pushed_event_burst = 2;
    })
    .await;
    let chatty = server.add_device("chatty", conference_sync_server::Role::Organizer, &[]);
    let quiet = server.add_device("quiet", conference_sync_server::Role::Organizer, &[]);
    for _ in 0..3 {
        assert_eq!(server.get(&chatty, "/v1/me").await.0, 200);
    }
    let (status, body) = server.get(&chatty, "/v1/me").await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(server.get(&quiet, "/v1/me").await.0, 200);

    // A conference with its seat type is more events than the quiet one's volume allows.
    let mut local = crate::helpers::Local::new(&quiet, true);
    local.create_conference("devconf", &[("Full", "100", 10)]);
    let request = local.pending();
    let events: usize = request.commands.iter().map(|c| c.events.len()).sum();
    assert!(events > 2, "{events} events");
    let before = server.count("SELECT COUNT(*) FROM events");
    let (status, body) = server.push(&quiet, &request).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "push_volume");
    assert_eq!(server.count("SELECT COUNT(*) FROM events"), before);
    server.stop().await;
}

/// The server's data is its own: on SQLite the database file is readable by the server's
/// user only; on PostgreSQL its connections are encrypted whenever the database offers TLS
/// (`sslmode=prefer`, the default), and plain only when it does not.
#[tokio::test(flavor = "multi_thread")]
async fn the_servers_data_is_kept_private() {
    let server = crate::helpers::spawn_sync_server().await;
    match &server.database {
        conference_sync_server::Database::Sqlite(path) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = std::fs::metadata(path).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{}", path.display());
            }
        }
        conference_sync_server::Database::Postgres(_) => {
            let offered = server
                .count("SELECT CASE WHEN current_setting('ssl') = 'on' THEN 1 ELSE 0 END")
                == 1;
            let ours = server.count(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'conference-sync' AND datname = current_database()",
            );
            let encrypted = server.count(
                "SELECT COUNT(*) FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid
                 WHERE a.application_name = 'conference-sync' AND a.datname = current_database() AND s.ssl",
            );
            assert!(
                ours > 0,
                "the server's connections are named conference-sync"
            );
            assert_eq!(
                encrypted,
                if offered { ours } else { 0 },
                "TLS offered: {offered}"
            );
        }
    }
    server.stop().await;
}

/// Stores `events` events of about 10 KB each, as an older server may hold them.
fn padded_log(server: &crate::helpers::TestServer, events: u32) {
    let padding = "x".repeat(10_000);
    let order = conference_domain::stream::StreamId::order(conference_domain::OrderId::from_uuid(
        uuid::Uuid::from_u128(1),
    ));
    let key = match &server.database {
        conference_sync_server::Database::Sqlite(_) => format!("x'{}'", hex(&order.key())),
        conference_sync_server::Database::Postgres(_) => {
            format!("'\\x{}'::bytea", hex(&order.key()))
        }
    };
    for position in 1..=events {
        server.execute(&format!(
            "INSERT INTO events (position, stream_key, stream_version, conference_id, event_type, schema_version, payload, command_id, device_id, recorded_at)
             VALUES ({position}, {key}, {position}, NULL, 'Padding', 1, '{{\"padding\":\"{padding}\"}}', {id}, {id}, '2026-12-08T00:00:00Z')",
            id = server.id_literal(uuid::Uuid::from_u128(2)),
        ));
    }
}

/// Six clients ask for big pull pages (three each, pipelined) and never read them: the
/// server drops each within its write timeout (their pages' memory and turns come back),
/// and an honest device pulls meanwhile.
#[tokio::test(flavor = "multi_thread")]
async fn stalled_pullers_are_dropped_and_others_pull() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let office = add_device(&db, "office", "back-office");
    let staller = add_device(&db, "staller", "organizer");
    // What an older server may hold: 700 events of about 10 KB each.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let order = conference_domain::stream::StreamId::order(
            conference_domain::OrderId::from_uuid(uuid::Uuid::from_u128(1)),
        );
        let payload = format!("{{\"padding\":\"{}\"}}", "x".repeat(10_000));
        for position in 1..=700_i64 {
            conn.execute(
                "INSERT INTO events (position, stream_key, stream_version, conference_id, event_type, schema_version, payload, command_id, device_id, recorded_at)
                 VALUES (?1, ?2, ?1, NULL, 'Padding', 1, ?3, ?4, ?4, '2026-12-08T00:00:00Z')",
                rusqlite::params![position, order.key(), payload, uuid::Uuid::from_u128(2)],
            )
            .unwrap();
        }
    }
    let server = serve(
        &db,
        &[
            "--plain-http",
            "--write-timeout",
            "1",
            "--header-timeout",
            "120",
            // The office watches the metrics as fast as it can.
            "--requests-per-second",
            "1000000",
            "--request-burst",
            "1000000",
        ],
    );
    let address: SocketAddr = server
        .url
        .trim_start_matches("http://")
        .parse()
        .expect("an address");
    let mut stalled = Vec::new();
    for _ in 0..6 {
        let socket = TcpSocket::new_v4().expect("a socket");
        socket.set_recv_buffer_size(4096).expect("a small buffer");
        let mut stream = socket.connect(address).await.expect("connect");
        let request = format!(
            "GET /v1/pull?after=0&limit=5000 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
            staller.token
        );
        stream
            .write_all(request.repeat(3).as_bytes())
            .await
            .expect("three pipelined pulls");
        stalled.push(stream);
    }
    // The honest device pulls while they stall.
    let client = reqwest::Client::builder()
        .timeout(DEADLINE)
        .build()
        .unwrap();
    let started = Instant::now();
    let pulled = client
        .get(format!("{}/v1/pull?after=0&limit=5000", server.url))
        .bearer_auth(&office.token)
        .send()
        .await
        .expect("an honest pull is answered");
    assert_eq!(pulled.status(), 200);
    let page: serde_json::Value = pulled.json().await.unwrap();
    assert!(!page["events"].as_array().expect("events").is_empty());
    let (peak, _) = memory_mib(server.child.id());
    println!(
        "an honest pull among six stalled pullers: {:?}; server memory peak {peak} MiB",
        started.elapsed()
    );
    assert!(peak < 150, "{peak} MiB");
    // The server drops every stalled puller once its write timeout passes.
    let dropped = || async {
        let text = client
            .get(format!("{}/metrics", server.url))
            .bearer_auth(&office.token)
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .find_map(|l| l.strip_prefix("conference_sync_write_timeouts_total "))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .expect("the write-timeout counter")
    };
    let deadline = Instant::now() + DEADLINE;
    while dropped().await < 6 {
        assert!(
            Instant::now() < deadline,
            "the stalled pullers were not dropped"
        );
        tokio::task::yield_now().await;
    }
    // Each of them, reading now, gets part of what it asked for, then the end.
    for mut stream in stalled {
        let mut got = Vec::new();
        let read = tokio::time::timeout(DEADLINE, stream.read_to_end(&mut got)).await;
        assert!(read.is_ok(), "the connection was closed");
        assert!(got.len() < 3 * 4 * 1024 * 1024, "{} bytes came", got.len());
    }
}

/// A flood of made-up tokens from one address (32 clients at once) is answered 401, each
/// at the cost of one indexed lookup; an honest device's pushes and pulls go through
/// meanwhile (their latency is printed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_bad_tokens_leaves_honest_devices_syncing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let server = serve(&db, &["--plain-http"]);
    let added = binary()
        .args(["device", "add", "--database"])
        .arg(&db)
        .args(["--name", "Office", "--role", "organizer", "--json"])
        .output()
        .unwrap();
    let token: serde_json::Value = serde_json::from_slice(&added.stdout).unwrap();
    let device = crate::helpers::TestDevice {
        id: token["device_id"].as_str().unwrap().parse().unwrap(),
        token: token["token"].as_str().unwrap().to_string(),
    };
    let flooding = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut flood = Vec::new();
    for i in 0..32_u32 {
        let url = server.url.clone();
        let flooding = std::sync::Arc::clone(&flooding);
        flood.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
                .timeout(DEADLINE)
                .build()
                .unwrap();
            let mut answered = 0_u64;
            while flooding.load(std::sync::atomic::Ordering::Relaxed) {
                let response = client
                    .get(format!("{url}/v1/pull?after=0"))
                    .bearer_auth(format!("{i:064x}"))
                    .send()
                    .await;
                if let Ok(response) = response {
                    assert_eq!(response.status(), 401);
                    answered += 1;
                }
            }
            answered
        }));
    }
    // The honest device: a conference pushed, then pulls, during the flood.
    let client = reqwest::Client::builder()
        .timeout(DEADLINE)
        .build()
        .unwrap();
    let mut local = crate::helpers::Local::new(&device, true);
    local.create_conference("devconf", &[("Full", "100", 10)]);
    let started = Instant::now();
    let pushed = client
        .post(format!("{}/v1/push", server.url))
        .bearer_auth(&device.token)
        .json(&local.pending())
        .send()
        .await
        .expect("the push is answered");
    assert_eq!(pushed.status(), 200);
    let push_took = started.elapsed();
    let mut pulls = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let pulled = client
            .get(format!("{}/v1/pull?after=0", server.url))
            .bearer_auth(&device.token)
            .send()
            .await
            .expect("the pull is answered");
        assert_eq!(pulled.status(), 200);
        pulls.push(started.elapsed());
    }
    flooding.store(false, std::sync::atomic::Ordering::Relaxed);
    let mut refused = 0;
    for task in flood {
        refused += task.await.unwrap();
    }
    pulls.sort();
    let (peak, _) = memory_mib(server.child.id());
    println!(
        "during a flood of {refused} bad-token requests: honest push {push_took:?}, pulls p50 {:?} max {:?}; server memory peak {peak} MiB",
        pulls[pulls.len() / 2],
        pulls[pulls.len() - 1]
    );
    assert!(refused > 0);
    assert!(peak < 150, "{peak} MiB");
}
