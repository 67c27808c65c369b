//! `conference-sync migrate` rebuilds the server's read models beside the live ones and
//! switches atomically while devices keep pushing and pulling through the real server.
use crate::server::{Server, server_binary};
use crate::sync::{Device, allot, door, organizer};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

/// What one device thread did.
struct Run {
    syncs: usize,
    failures: Vec<String>,
    worst: Duration,
    sold: Vec<uuid::Uuid>,
}

/// Sells (doors) and syncs in a loop until `stop`, telling `synced` after each sync.
fn keep_going(
    mut device: Device,
    sells: bool,
    stop: Arc<AtomicBool>,
    synced: mpsc::Sender<()>,
) -> std::thread::JoinHandle<(Device, Run)> {
    std::thread::spawn(move || {
        let mut run = Run {
            syncs: 0,
            failures: Vec::new(),
            worst: Duration::ZERO,
            sold: Vec::new(),
        };
        while !stop.load(Ordering::SeqCst) {
            if sells {
                match device.sell("Full=1", true) {
                    Ok(order) => run.sold.push(order.id),
                    Err(e) => run.failures.push(format!("sale: {e}")),
                }
            }
            let started = Instant::now();
            let outcome = device.app.sync(&device.transport, chrono::Utc::now());
            run.worst = run.worst.max(started.elapsed());
            run.syncs += 1;
            if let Err(e) = outcome {
                run.failures.push(format!("sync: {e}"));
            }
            if synced.send(()).is_err() {
                break;
            }
        }
        (device, run)
    })
}

#[test]
fn the_server_migrates_its_read_models_under_load_with_no_failed_request() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut organizer = organizer(&server);
    let mut doors = Vec::new();
    for n in 1..=3 {
        let mut d = door(&server, &format!("Door {n}"));
        d.sync();
        assert!(allot(&mut d, "Full=2") > 0);
        doors.push(d);
    }
    organizer.sync();

    let stop = Arc::new(AtomicBool::new(false));
    let (synced, heard) = mpsc::channel();
    let mut threads: Vec<_> = doors
        .into_iter()
        .map(|d| keep_going(d, true, stop.clone(), synced.clone()))
        .collect();
    threads.push(keep_going(organizer, false, stop.clone(), synced.clone()));
    drop(synced);
    let wait_for_syncs = |n: usize| {
        for _ in 0..n {
            heard.recv().expect("a device thread ended early");
        }
    };
    // Load is running: every thread has synced a few times.
    wait_for_syncs(12);

    let output = std::process::Command::new(server_binary())
        .args(["migrate", "--json", "--database"])
        .arg(&server.database)
        .output()
        .expect("run migrate");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(report["replayed"].as_u64().unwrap() > 0, "{report}");

    // The load goes on after the switch, then stops.
    wait_for_syncs(12);
    stop.store(true, Ordering::SeqCst);
    while heard.recv().is_ok() {}
    let (mut devices, runs): (Vec<Device>, Vec<Run>) =
        threads.into_iter().map(|t| t.join().unwrap()).unzip();

    let failures: Vec<&String> = runs.iter().flat_map(|r| &r.failures).collect();
    assert!(failures.is_empty(), "failed requests: {failures:?}");
    let worst = runs.iter().map(|r| r.worst).max().unwrap();
    eprintln!(
        "migrate: {report}; {} syncs, worst sync round trip {worst:?}",
        runs.iter().map(|r| r.syncs).sum::<usize>()
    );

    // Every sale is on the server exactly once, and every device has the server's log.
    for device in &mut devices {
        device.sync();
    }
    let conn = rusqlite::Connection::open(&server.database).unwrap();
    let sold: Vec<uuid::Uuid> = runs.iter().flat_map(|r| r.sold.clone()).collect();
    assert!(sold.len() >= 3);
    for id in &sold {
        let placed: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM events WHERE event_type = 'OrderPlaced' AND stream_key = ?1",
                [
                    conference_domain::StreamId::order(conference_domain::OrderId::from_uuid(*id))
                        .key(),
                ],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(placed, 1, "order {id} stored once");
    }
    let expected = devices[3].orders();
    for device in &devices {
        assert_eq!(device.orders(), expected);
        assert_eq!(device.tentative(), 0);
    }
    assert_eq!(expected.len(), sold.len());
    // The switched read model is the live one and knows the conference.
    let slugs: Vec<String> = conn
        .prepare("SELECT slug FROM conferences")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(slugs, ["demo"]);
    let leftovers: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE '%__next'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(leftovers, 0);
}
