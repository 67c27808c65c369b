//! A device holds against a server that misbehaves (DESIGN.md §7): a fake server on
//! loopback answers the CLI's sync with an oversized page or a malformed event, and its
//! live feed with an endless line. The device stops reading at its limits, fails with an
//! error that names the server, and takes nothing into its store.
use crate::helpers::{cli_json, event_count, temp_store};
use conference_protocol::enrollment::Enrollment;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};

/// What the fake server answers a pull and a feed with.
#[derive(Clone, Copy)]
enum Misbehaviour {
    /// A pull page of 40 MiB.
    HugePage,
    /// A pull page whose one event has a version that is no number.
    MalformedEvent,
    /// A live feed that sends one line forever.
    EndlessFeedLine,
}

/// Serves every connection of `listener` (one request each) as `how` says; `/v1/me`
/// answers like a real server so the device gets as far as its pull.
fn serve(listener: TcpListener, how: Misbehaviour) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { return };
        std::thread::spawn(move || answer(stream, how));
    }
}

fn answer(mut stream: TcpStream, how: Misbehaviour) {
    let mut path = String::new();
    {
        let mut reader = BufReader::new(&stream);
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            if path.is_empty() {
                path = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_string();
            }
            if line == "\r\n" {
                break;
            }
            line.clear();
        }
    }
    let json = |stream: &mut TcpStream, body: &[u8]| {
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(body);
    };
    if path.starts_with("/v1/me") {
        let me = serde_json::json!({
            "device_id": uuid::Uuid::now_v7(), "name": "Door", "role": "door",
            "conferences": [], "revoked": false, "next_seq": 1
        });
        json(&mut stream, me.to_string().as_bytes());
    } else if path.starts_with("/v1/pull") {
        match how {
            Misbehaviour::HugePage => {
                let mut page =
                    br#"{"events":[],"next_after":0,"head":0,"outcomes":[],"pad":""#.to_vec();
                page.resize(page.len() + 40 * 1024 * 1024, b'x');
                page.extend_from_slice(b"\"}");
                json(&mut stream, &page);
            }
            Misbehaviour::MalformedEvent | Misbehaviour::EndlessFeedLine => {
                let page = serde_json::json!({
                    "events": [{
                        "position": 1, "device_id": uuid::Uuid::now_v7(),
                        "command_id": uuid::Uuid::now_v7(),
                        "stream": format!("order/{}", uuid::Uuid::now_v7()),
                        "version": "one", "event_type": "OrderPlaced", "schema_version": 1,
                        "payload": {}, "recorded_at": "2026-12-08T00:00:00Z"
                    }],
                    "next_after": 1, "head": 1, "outcomes": []
                });
                json(&mut stream, page.to_string().as_bytes());
            }
        }
    } else if path.starts_with("/v1/feed") {
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\ndata: ",
        );
        let chunk = vec![b'x'; 64 * 1024];
        while stream.write_all(&chunk).is_ok() {}
    } else {
        json(&mut stream, b"{}");
    }
}

/// A fake server for `how`; its enrollment code.
fn fake_server(how: Misbehaviour) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || serve(listener, how));
    Enrollment {
        server: url,
        token: "t0ken".into(),
        sha256: None,
    }
    .encode()
}

/// Syncs a fresh door enrolled with the fake server; the error it prints.
fn sync_against(how: Misbehaviour) -> (String, String) {
    let store = temp_store();
    assert!(cli_json(&store.path, &["init", "--device-name", "Door"]).0);
    let code = fake_server(how);
    let (ok, enrolled) = cli_json(&store.path, &["enroll", &code]);
    assert!(ok, "{enrolled}");
    let url = enrolled["server"].as_str().expect("the server").to_string();
    let before = event_count(&store.path);
    let (ok, out) = cli_json(&store.path, &["sync"]);
    assert!(!ok, "{out}");
    assert_eq!(event_count(&store.path), before, "nothing of it was taken");
    let message = out["error"]["message"]
        .as_str()
        .expect("a message")
        .to_string();
    assert!(
        message.contains(&url),
        "the error names the server: {message}"
    );
    (
        out["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        message,
    )
}

#[test]
fn an_oversized_page_is_refused_at_the_devices_limit() {
    let (code, message) = sync_against(Misbehaviour::HugePage);
    assert_eq!(code, "server_untrusted");
    assert!(message.contains("over 32 MiB"), "{message}");
}

#[test]
fn a_malformed_event_is_refused_and_nothing_is_taken() {
    let (code, message) = sync_against(Misbehaviour::MalformedEvent);
    assert_eq!(code, "server_untrusted");
    assert!(message.contains("cannot read"), "{message}");
}

#[test]
fn an_endless_feed_line_ends_the_feed() {
    let code = fake_server(Misbehaviour::EndlessFeedLine);
    let enrollment = Enrollment::decode(&code).expect("a code");
    let link = conference_app::ServerLink {
        url: enrollment.server,
        token: enrollment.token,
        pin: None,
        insecure_http: false,
    };
    let mut feed = conference_app::feed::Feed::connect(&link).expect("the feed opens");
    match feed.next() {
        Some(Err(conference_app::sync::SyncError::Untrusted(why))) => {
            assert!(why.contains("over 64 KiB"), "{why}");
            assert!(why.contains(&link.url), "{why}");
        }
        other => panic!("the endless line ends the feed: {other:?}"),
    }
}
