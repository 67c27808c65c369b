//! kill -9 at arbitrary points loses no acknowledged sale and leaves no half-applied one.
use crate::helpers::{demo_app, read_models, rebuilt_read_models, temp_store};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn crash_seller() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_crash-seller"))
}

/// Starts a seller, waits for `acks` acknowledged sales, then kills it with SIGKILL while it
/// is in the middle of the next one. Returns the acknowledged order ids.
fn sell_then_kill(store: &std::path::Path, acks: usize) -> Vec<String> {
    let mut child = Command::new(crash_seller())
        .arg(store)
        .arg("demo")
        .arg("100000")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start crash-seller");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut acknowledged = Vec::new();
    while acknowledged.len() < acks {
        match lines.next() {
            Some(Ok(line)) => acknowledged.push(line),
            other => panic!("crash-seller stopped early: {other:?}"),
        }
    }
    child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
    child.wait().expect("reap");
    acknowledged
}

#[test]
fn kill_9_loses_no_acknowledged_sale_and_leaves_nothing_half_applied() {
    let store = temp_store();
    {
        let mut app = demo_app(&store.path);
        // Enough seats for every round.
        app.update_seat_type(
            &crate::helpers::ctx(0),
            "demo",
            "Full",
            None,
            None,
            None,
            Some(100_000),
        )
        .expect("more seats");
    }
    let mut acknowledged = Vec::new();
    // Different kill points: right after the first sale, and after a few more.
    for acks in [1, 2, 5, 9, 17] {
        acknowledged.extend(sell_then_kill(&store.path, acks));
    }

    let app = conference_app::App::open(&store.path).expect("reopen after crashes");
    for id in &acknowledged {
        let order = app
            .order_by_text(id)
            .expect("an acknowledged order survives");
        assert_eq!(order.status, "confirmed", "order {id}");
        assert_eq!(
            order.payment.as_ref().map(|p| p.status.as_str()),
            Some("completed")
        );
    }
    // Every sale in the log is whole: each command that wrote events wrote all ten of a
    // door sale (or one of the setup commands), and has its command-log row.
    let conn = rusqlite::Connection::open(&store.path).expect("open");
    let mut stmt = conn
        .prepare(
            "SELECT e.command_id, COUNT(*), c.command_type FROM events e
             LEFT JOIN command_log c ON c.command_id = e.command_id GROUP BY e.command_id",
        )
        .expect("query");
    let rows: Vec<(Vec<u8>, i64, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    let mut sales = 0;
    for (command, events, kind) in rows {
        let kind =
            kind.unwrap_or_else(|| panic!("command {command:?} has events but no command-log row"));
        if kind == "sell" {
            sales += 1;
            // place, reserved, completed, totals, registrant, payment initiated and
            // completed, confirmed, committed, assignments created.
            assert_eq!(events, 10, "a sale with {events} events was half applied");
        }
    }
    assert!(
        sales >= acknowledged.len(),
        "{sales} sales in the log, {} acknowledged",
        acknowledged.len()
    );
    let seats = app.seats("demo").expect("seats");
    let full = seats
        .seat_types
        .iter()
        .find(|s| s.name == "Full")
        .expect("Full");
    assert_eq!(
        full.sold,
        i64::try_from(sales).unwrap(),
        "sold seats match whole sales"
    );
    assert_eq!(full.reserved, 0, "no reservation is left dangling");
    assert_eq!(full.remaining + full.sold, 100_000);
    drop(app);
    assert_eq!(read_models(&store.path), rebuilt_read_models(&store.path));
}
