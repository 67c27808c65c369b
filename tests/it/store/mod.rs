//! The local store's guarantees on real SQLite files, one topic per module: typed
//! conflicts on stale expected versions and units of work that fail part-way
//! (`conflicts`), snapshots that are only a cache of the log (`snapshots`), old event
//! shapes read through the upcasters (`old_shapes`), the file's durable pragmas and
//! idempotent migrations (`file`), and read models that equal a rebuild from the log
//! (`rebuild`). This file holds what several of them use: a realistic mix of use cases
//! and the stored rows of a stream.
mod conflicts;
mod file;
mod old_shapes;
mod rebuild;
mod snapshots;

use crate::helpers::{card, cash, ctx, demo_app, sale, strings};
use conference_app::{App, NewPromoCode};
use conference_domain::StreamId;
use std::path::Path;

/// Every use case the box office has, leaving orders in every state: paid (cash with
/// change, card), free, free by promo code, expired by `tick`, cancelled before and after
/// confirmation (refund), partially reserved, still reserved, with seats assigned,
/// re-assigned and unassigned, and limited codes held, counted and released.
fn realistic_mix(path: &Path) -> App {
    let mut app = demo_app(path);
    app.add_promo_code(
        &ctx(0),
        "demo",
        &NewPromoCode {
            code: "EARLY".into(),
            percent: Some("20".into()),
            max_uses: Some(5),
            ..NewPromoCode::default()
        },
    )
    .expect("EARLY");
    let paid = app
        .sell(&ctx(1), &sale(&["Full=2"], &["TENOFF"], cash("200")))
        .expect("cash sale");
    assert_eq!(paid.status, "confirmed");
    let free = app
        .sell(&ctx(1), &sale(&["Speaker=1"], &[], None))
        .expect("free sale");
    assert_eq!(free.status, "confirmed");
    let promo_free = app
        .sell(&ctx(1), &sale(&["Student=1"], &["STUDENTFREE"], None))
        .expect("free by promo code");
    assert!(promo_free.is_free_of_charge);
    let to_expire = app
        .place_order(&ctx(2), "demo", &strings(&["Full=1"]), &strings(&["EARLY"]))
        .expect("order to expire");
    let to_refund = app
        .sell(
            &ctx(3),
            &sale(&["Full=1"], &["EARLY", "FIFTY"], card("T-1")),
        )
        .expect("card sale");
    app.cancel(&ctx(4), &to_refund.id.to_string(), Some("changed plans"))
        .expect("cancel a paid order");
    let tick = app.tick(&ctx(20)).expect("tick");
    assert_eq!(tick.expired_orders, vec![to_expire.id]);
    let dropped = app
        .place_order(
            &ctx(21),
            "demo",
            &strings(&["Full=1"]),
            &strings(&["EARLY"]),
        )
        .expect("order to cancel");
    app.cancel(&ctx(22), &dropped.id.to_string(), None)
        .expect("cancel a reserved order");
    let partial = app
        .place_order(&ctx(23), "demo", &strings(&["Student=5"]), &[])
        .expect("partial reservation");
    assert_eq!(partial.status, "partially_reserved");
    let pending = app
        .place_order(
            &ctx(23),
            "demo",
            &strings(&["Full=1"]),
            &strings(&["EARLY"]),
        )
        .expect("pending order");
    assert_eq!(pending.status, "reserved");
    let id = paid.id.to_string();
    app.assign_seat(&ctx(24), &id, 0, "Ada", "Lovelace", "ada@example.com")
        .expect("assign");
    app.assign_seat(&ctx(24), &id, 0, "Augusta", "King", "ada@example.com")
        .expect("rename");
    app.assign_seat(&ctx(24), &id, 1, "Alan", "Turing", "alan@example.com")
        .expect("assign");
    app.unassign_seat(&ctx(25), &id, 1).expect("unassign");
    app
}

/// The (type, schema, payload) rows of a stream's log, in order.
fn stored_rows(path: &Path, stream: StreamId) -> Vec<(String, u32, String)> {
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.prepare(
        "SELECT event_type, schema_version, payload FROM events WHERE stream_key = ?1 ORDER BY stream_version",
    )
    .unwrap()
    .query_map([stream.key()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}
