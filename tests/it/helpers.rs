//! Shared helpers: the CLI as a process, a published demo conference, read models; the
//! temporary store and the test clock come from `conference-testkit`.
#![allow(dead_code)]

use conference_app::{App, NewConference, PaymentInput, SaleInput};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub use conference_testkit::clock::{at, ctx, minute};
pub use conference_testkit::store::{TestStore, temp_store};

/// The CLI binary built from this package.
pub fn cli_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_conference-under-test"))
}

/// An initialized store with a published conference `demo`: Full 100.00 × 10,
/// Student 40.00 × 3, Speaker 0 × 2; promo codes TENOFF (10 %, all),
/// STUDENTFREE (100 % on Student, exclusive, 1 use), FIFTY (50.00 off, combinable).
pub fn demo_app(path: &Path) -> App {
    let mut app = App::open(path).expect("open store");
    app.init("test device", minute(0)).expect("init");
    app.create_conference(
        &ctx(0),
        NewConference {
            slug: "demo".into(),
            name: "Demo Conf".into(),
            description: String::new(),
            location: "Online".into(),
            start: Some(at("2026-12-01T09:00:00Z")),
            end: Some(at("2026-12-02T17:00:00Z")),
            owner_name: "Ada Lovelace".into(),
            owner_email: "ada@example.com".into(),
            currency: Some("EUR".into()),
        },
    )
    .expect("create conference");
    app.add_seat_type(&ctx(0), "demo", "Full", "", "100", 10)
        .expect("Full");
    app.add_seat_type(&ctx(0), "demo", "Student", "", "40", 3)
        .expect("Student");
    app.add_seat_type(&ctx(0), "demo", "Speaker", "", "0", 2)
        .expect("Speaker");
    for (code, percent, amount, scope, max_uses, exclusive) in [
        ("TENOFF", Some("10"), None, vec![], None, false),
        (
            "STUDENTFREE",
            Some("100"),
            None,
            vec!["Student".to_string()],
            Some(1),
            true,
        ),
        ("FIFTY", None, Some("50"), vec![], None, false),
    ] {
        app.add_promo_code(
            &ctx(0),
            "demo",
            &conference_app::NewPromoCode {
                code: code.into(),
                percent: percent.map(Into::into),
                amount: amount.map(Into::into),
                scope,
                max_uses,
                exclusive,
            },
        )
        .expect("promo code");
    }
    app.publish(&ctx(0), "demo", true).expect("publish");
    app
}

/// Runs the CLI with `--store` and `--json`, returning (exit success, parsed stdout).
pub fn cli_json(store: &Path, args: &[&str]) -> (bool, Value) {
    let output = cli(store, &[&["--json"], args].concat());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout of {args:?} is not one JSON object ({e}): {stdout}"));
    (output.status.success(), value)
}

pub fn cli(store: &Path, args: &[&str]) -> Output {
    Command::new(cli_binary())
        .arg("--store")
        .arg(store)
        .args(args)
        .env_remove("CONFERENCE_STORE")
        .output()
        .expect("run the CLI")
}

/// Remaining seats of a seat type, from the CLI's JSON.
pub fn remaining(seats: &Value, name: &str) -> i64 {
    seats["seat_types"]
        .as_array()
        .expect("seat_types")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no seat type {name} in {seats}"))["remaining"]
        .as_i64()
        .expect("remaining")
}

/// Events in a store file.
pub fn event_count(path: &Path) -> i64 {
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
        .expect("count")
}

/// Every read-model row, in a fixed order.
pub fn read_models(path: &Path) -> Vec<String> {
    let store = conference_store::Store::open(path).expect("open");
    conference_store::queries::dump_read_models(store.reader()).expect("dump")
}

/// The read models of a copy of the store after rebuilding them from the log.
pub fn rebuilt_read_models(path: &Path) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join("copy.db");
    {
        let conn = rusqlite::Connection::open(path).expect("open");
        conn.execute("VACUUM INTO ?1", [copy.to_str().expect("utf-8 path")])
            .expect("copy store");
    }
    let mut store = conference_store::Store::open(&copy).expect("open copy");
    store.rebuild_read_models(|_, _| {}).expect("rebuild");
    conference_store::queries::dump_read_models(store.reader()).expect("dump")
}

/// Door-sale inputs for the demo conference (registrant Grace Hopper).
pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

pub fn cash(tendered: &str) -> Option<PaymentInput> {
    Some(PaymentInput {
        method: "cash".into(),
        tendered: Some(tendered.into()),
        reference: None,
    })
}

pub fn card(reference: &str) -> Option<PaymentInput> {
    Some(PaymentInput {
        method: "card".into(),
        tendered: None,
        reference: Some(reference.into()),
    })
}

pub fn sale(seats: &[&str], codes: &[&str], payment: Option<PaymentInput>) -> SaleInput {
    SaleInput {
        slug: "demo".into(),
        seats: strings(seats),
        promo_codes: strings(codes),
        registrant: Some(("Grace".into(), "Hopper".into(), "grace@example.com".into())),
        payment,
        allow_override: false,
    }
}
