//! The `conference` CLI as a person and a script use it: a real process on a real file.
use crate::helpers::{cli, cli_json, demo_app, event_count, remaining, temp_store};
use serde_json::Value;

fn setup(store: &std::path::Path) {
    let steps: &[&[&str]] = &[
        &["init", "--device-name", "Door 1"],
        &[
            "conference",
            "create",
            "--slug",
            "devconf",
            "--name",
            "DevConf",
            "--start",
            "2026-12-01",
            "--end",
            "2026-12-02",
            "--owner-name",
            "Ada",
            "--owner-email",
            "ada@example.com",
        ],
        &[
            "seat-type",
            "add",
            "devconf",
            "--name",
            "Full",
            "--price",
            "120",
            "--quantity",
            "5",
        ],
        &[
            "seat-type",
            "add",
            "devconf",
            "--name",
            "Workshop",
            "--price",
            "0",
            "--quantity",
            "2",
        ],
        &[
            "promo",
            "add",
            "devconf",
            "--code",
            "EARLY",
            "--percent",
            "25",
        ],
        &["conference", "publish", "devconf"],
    ];
    for step in steps {
        let (ok, out) = cli_json(store, step);
        assert!(ok, "{step:?} failed: {out}");
    }
}

#[test]
fn a_newcomer_sets_up_a_conference_and_sells_a_seat() {
    let store = temp_store();
    setup(&store.path);
    let (ok, seats) = cli_json(&store.path, &["seats", "devconf"]);
    assert!(ok);
    assert_eq!(remaining(&seats, "Full"), 5);
    let row = &seats["seat_types"][0];
    for key in ["name", "price", "quantity", "reserved", "sold", "remaining"] {
        assert!(row.get(key).is_some(), "seats row lacks {key}: {row}");
    }

    let (ok, order) = cli_json(
        &store.path,
        &[
            "sell",
            "devconf",
            "--seat",
            "Full=2",
            "--promo",
            "EARLY",
            "--first",
            "Grace",
            "--last",
            "Hopper",
            "--email",
            "grace@example.com",
            "--method",
            "cash",
            "--tendered",
            "200",
        ],
    );
    assert!(ok, "{order}");
    assert_eq!(order["status"], "confirmed");
    assert_eq!(order["total"], "180.00");
    assert_eq!(order["is_free_of_charge"], false);
    assert_eq!(order["access_code"].as_str().map(str::len), Some(6));
    assert_eq!(order["seats"][0]["seat_type"], "Full");
    assert_eq!(order["seats"][0]["requested"], 2);
    assert_eq!(order["seats"][0]["reserved"], 2);
    let lines = order["lines"].as_array().expect("lines");
    assert_eq!(lines[0]["kind"], "seat");
    assert_eq!(lines[0]["unit_price"], "120.00");
    assert_eq!(lines[0]["total"], "240.00");
    assert_eq!(lines[1]["kind"], "discount");
    assert_eq!(lines[1]["total"], "-60.00");
    assert_eq!(order["registrant"]["email"], "grace@example.com");
    assert_eq!(order["payment"]["method"], "cash");
    assert_eq!(order["payment"]["change"], "20.00");
    assert_eq!(order["assignments"].as_array().map(Vec::len), Some(2));

    let (_, seats) = cli_json(&store.path, &["seats", "devconf"]);
    assert_eq!(remaining(&seats, "Full"), 3);
    assert_eq!(seats["seat_types"][0]["sold"], 2);

    // The buyer finds the order again with email and access code.
    let code = order["access_code"].as_str().unwrap();
    let (ok, found) = cli_json(
        &store.path,
        &[
            "order",
            "find",
            "--email",
            "GRACE@example.com",
            "--access-code",
            code,
        ],
    );
    assert!(ok, "{found}");
    assert_eq!(found["id"], order["id"]);
}

#[test]
fn people_get_tables_and_scripts_get_one_json_object() {
    let store = temp_store();
    setup(&store.path);
    let out = cli(&store.path, &["seats", "devconf"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["name", "price", "quantity", "reserved", "sold", "remaining"]
    );
    assert!(text.contains("Full") && text.contains("Workshop"));

    let out = cli(&store.path, &["--json", "conference", "list"]);
    let value: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(value["conferences"][0]["slug"], "devconf");
}

#[test]
fn the_reservation_flow_step_by_step_with_expiry() {
    let store = temp_store();
    setup(&store.path);
    let (ok, order) = cli_json(
        &store.path,
        &[
            "--now",
            "2026-11-27T10:00:00Z",
            "order",
            "place",
            "devconf",
            "--seat",
            "Full=2",
        ],
    );
    assert!(ok, "{order}");
    assert_eq!(order["status"], "reserved");
    let id = order["id"].as_str().unwrap().to_string();
    let (_, seats) = cli_json(&store.path, &["seats", "devconf"]);
    assert_eq!(seats["seat_types"][0]["reserved"], 2);
    assert_eq!(remaining(&seats, "Full"), 3);

    // Nothing is due before the reservation runs out.
    let (_, tick) = cli_json(&store.path, &["--now", "2026-11-27T10:14:59Z", "tick"]);
    assert_eq!(tick["expired_orders"].as_array().map(Vec::len), Some(0));
    let (_, tick) = cli_json(&store.path, &["--now", "2026-11-27T10:15:01Z", "tick"]);
    assert_eq!(tick["expired_orders"][0], id.as_str());
    let (_, shown) = cli_json(&store.path, &["order", "show", &id]);
    assert_eq!(shown["status"], "expired");
    let (_, seats) = cli_json(&store.path, &["seats", "devconf"]);
    assert_eq!(remaining(&seats, "Full"), 5);

    let before = event_count(&store.path);
    let (ok, err) = cli_json(
        &store.path,
        &[
            "--now",
            "2026-11-27T10:16:00Z",
            "order",
            "pay",
            &id,
            "--method",
            "cash",
        ],
    );
    assert!(!ok);
    assert_eq!(err["error"]["code"], "order_expired");
    assert_eq!(
        event_count(&store.path),
        before,
        "a refused payment writes nothing"
    );
}

#[test]
fn a_zero_cost_order_is_confirmed_without_payment() {
    let store = temp_store();
    setup(&store.path);
    let (_, order) = cli_json(
        &store.path,
        &["order", "place", "devconf", "--seat", "Workshop=1"],
    );
    assert_eq!(order["is_free_of_charge"], true);
    assert_eq!(order["total"], "0.00");
    let id = order["id"].as_str().unwrap();
    let (ok, paid) = cli_json(&store.path, &["order", "pay", id, "--method", "cash"]);
    assert!(!ok);
    assert_eq!(paid["error"]["code"], "order_is_free");
    let (ok, confirmed) = cli_json(&store.path, &["order", "confirm", id]);
    assert!(ok, "{confirmed}");
    assert_eq!(confirmed["status"], "confirmed");
    assert_eq!(confirmed["payment"], Value::Null);
}

#[test]
fn the_same_command_id_returns_the_first_outcome() {
    let store = temp_store();
    setup(&store.path);
    let id = "01932c1e-0000-7000-8000-000000000001";
    let args = [
        "--command-id",
        id,
        "sell",
        "devconf",
        "--seat",
        "Full=1",
        "--method",
        "card",
        "--reference",
        "T-9",
    ];
    let (ok, first) = cli_json(&store.path, &args);
    assert!(ok, "{first}");
    let events = event_count(&store.path);
    let (ok, second) = cli_json(&store.path, &args);
    assert!(ok);
    assert_eq!(first["id"], second["id"]);
    assert_eq!(event_count(&store.path), events, "the retry wrote nothing");
    let (_, orders) = cli_json(&store.path, &["orders", "devconf"]);
    assert_eq!(orders["orders"].as_array().map(Vec::len), Some(1));
}

/// Every kind of bad input is named, exits non-zero, and writes nothing.
#[test]
fn bad_input_gets_a_clear_error_and_writes_nothing() {
    let store = temp_store();
    setup(&store.path);
    let (_, unpaid) = cli_json(
        &store.path,
        &["order", "place", "devconf", "--seat", "Full=1"],
    );
    let unpaid = unpaid["id"].as_str().unwrap().to_string();
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (vec!["seats", "nope"], "unknown_conference", "nope"),
        (
            vec!["order", "place", "nope", "--seat", "Full=1"],
            "unknown_conference",
            "nope",
        ),
        (
            vec!["order", "place", "devconf", "--seat", "Full=0"],
            "no_seats",
            "at least one seat",
        ),
        (
            vec!["order", "place", "devconf", "--seat", "Full=-2"],
            "negative_quantity",
            "negative",
        ),
        (
            vec!["order", "place", "devconf", "--seat", "Balcony=1"],
            "unknown_seat_type",
            "Balcony",
        ),
        (
            vec![
                "order", "place", "devconf", "--seat", "Full=1", "--promo", "BOGUS",
            ],
            "unknown_promo_code",
            "BOGUS",
        ),
        (
            vec![
                "sell",
                "devconf",
                "--seat",
                "Full=1",
                "--first",
                "A",
                "--last",
                "B",
                "--email",
                "not-an-email",
                "--method",
                "cash",
            ],
            "email",
            "not-an-email",
        ),
        (
            vec!["order", "confirm", &unpaid],
            "order_not_free_of_charge",
            "order pay",
        ),
        (
            vec!["sell", "devconf", "--seat", "Full=1"],
            "payment_required",
            "--method",
        ),
        (
            vec![
                "sell",
                "devconf",
                "--seat",
                "Full=1",
                "--method",
                "cash",
                "--tendered",
                "5",
            ],
            "tendered_too_low",
            "5",
        ),
        (vec!["order", "show", "ZZZZZZ"], "unknown_order", "ZZZZZZ"),
        (
            vec!["--now", "yesterday", "seats", "devconf"],
            "invalid_time",
            "yesterday",
        ),
    ];
    for (args, code, mentions) in cases {
        let events = event_count(&store.path);
        let (ok, out) = cli_json(&store.path, &args);
        assert!(!ok, "{args:?} should fail");
        assert_eq!(out["error"]["code"], code, "{args:?}: {out}");
        let message = out["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(mentions),
            "{args:?}: message `{message}` should mention `{mentions}`"
        );
        assert_eq!(event_count(&store.path), events, "{args:?} wrote events");

        // Without --json the same message goes to stderr and stdout stays empty.
        let plain = cli(&store.path, &args);
        assert!(!plain.status.success());
        assert!(plain.stdout.is_empty());
        assert!(String::from_utf8_lossy(&plain.stderr).contains(message));
    }
}

#[test]
fn usage_errors_exit_with_code_2() {
    let store = temp_store();
    let out = cli(&store.path, &["order", "place"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--seat"));
}

#[test]
fn commands_before_init_say_how_to_start() {
    let store = temp_store();
    let (ok, out) = cli_json(&store.path, &["conference", "list"]);
    // Reading an empty store works; writing needs init.
    assert!(ok, "{out}");
    let (ok, out) = cli_json(
        &store.path,
        &[
            "conference",
            "create",
            "--slug",
            "x",
            "--name",
            "X",
            "--start",
            "2026-01-01",
            "--end",
            "2026-01-02",
            "--owner-name",
            "A",
            "--owner-email",
            "a@example.com",
        ],
    );
    assert!(!ok);
    assert_eq!(out["error"]["code"], "not_initialized");
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("conference init")
    );
}

#[test]
fn export_orders_as_csv_to_a_file() {
    let store = temp_store();
    drop(demo_app(&store.path));
    for args in [
        vec![
            "sell",
            "demo",
            "--seat",
            "Full=1",
            "--seat",
            "Student=1",
            "--promo",
            "TENOFF",
            "--method",
            "card",
            "--reference",
            "R1",
        ],
        vec![
            "sell",
            "demo",
            "--seat",
            "Speaker=1",
            "--first",
            "Lin",
            "--last",
            "O'Neil, Jr.",
            "--email",
            "lin@example.com",
        ],
    ] {
        let (ok, out) = cli_json(&store.path, &args);
        assert!(ok, "{out}");
    }
    let file = store.dir.path().join("orders.csv");
    let (ok, out) = cli_json(
        &store.path,
        &[
            "export",
            "orders",
            "demo",
            "--format",
            "csv",
            "--output",
            file.to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}");
    let csv = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("order_id,access_code,status"));
    assert_eq!(lines.len(), 1 + 3 + 1, "a row per order line: {csv}");
    assert_eq!(out["rows"], 4);
    assert!(
        csv.contains("\"O'Neil, Jr.\""),
        "fields with commas are quoted"
    );
    assert!(csv.contains(",discount,Promo code TENOFF (10% off),1,-14.00,-14.00,126.00,EUR"));
}

#[test]
fn init_twice_is_safe() {
    let store = temp_store();
    let (ok, first) = cli_json(&store.path, &["init", "--device-name", "Door"]);
    assert!(ok);
    let (ok, second) = cli_json(&store.path, &["init", "--device-name", "Other"]);
    assert!(ok);
    assert_eq!(first["device_id"], second["device_id"]);
}

#[test]
fn rebuild_restores_one_read_model_from_the_log_and_leaves_the_others() {
    let ts = crate::helpers::temp_store();
    {
        let mut app = crate::helpers::demo_app(&ts.path);
        for (n, seats) in ["Full=1", "Student=2", "Full=2"].iter().enumerate() {
            app.sell(
                &crate::helpers::ctx(i64::try_from(n).unwrap() + 1),
                &crate::helpers::sale(&[seats], &[], crate::helpers::cash("500")),
            )
            .expect("sale");
        }
    }
    let before = crate::helpers::read_models(&ts.path);
    let rows = |table: &str| -> Vec<String> {
        crate::helpers::read_models(&ts.path)
            .into_iter()
            .filter(|l| l.starts_with(&format!("{table}:")))
            .collect()
    };
    let of = |lines: &[String], table: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l.starts_with(&format!("{table}:")))
            .cloned()
            .collect()
    };
    {
        let conn = rusqlite::Connection::open(&ts.path).unwrap();
        conn.execute_batch(
            "DELETE FROM rm_orders; UPDATE rm_seat_availability SET remaining = 999;",
        )
        .unwrap();
    }
    assert!(rows("rm_orders").is_empty());

    let (ok, out) = crate::helpers::cli_json(&ts.path, &["rebuild", "orders"]);
    assert!(ok, "{out}");
    assert_eq!(out["read_model"], "orders");
    assert!(out["events"].as_u64().unwrap() > 0);
    assert_eq!(rows("rm_orders"), of(&before, "rm_orders"));
    assert!(
        rows("rm_seat_availability")
            .iter()
            .all(|l| l.contains("Integer(999)")),
        "the seats read model was left alone"
    );

    let (ok, _) = crate::helpers::cli_json(&ts.path, &["rebuild", "seats"]);
    assert!(ok);
    assert_eq!(crate::helpers::read_models(&ts.path), before);

    let (ok, out) = crate::helpers::cli_json(&ts.path, &["rebuild", "everything"]);
    assert!(!ok);
    assert_eq!(out["error"]["code"], "unknown_read_model");
    let message = out["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`orders`") && message.contains("`seats`"),
        "{message}"
    );
}
