//! The application layer over a real store file: command ids make every use case
//! idempotent (also for rejections), every refusal leaves the log and the read models as
//! they were, and the registration process runs end to end in one transaction.
//!
//! tidy: long because the idempotency and refusal checks of every use case share one set of
//! setups; splitting it by topic is not done yet.
use crate::helpers::{
    card, cash, ctx, demo_app, event_count, read_models, sale, strings, temp_store,
};
use conference_app::{App, AppError, Ctx, NewConference, PaymentInput, SaleInput};
use conference_protocol::{OrderView, PromoCodeView, SeatAvailabilityView};
use std::fmt::Debug;
use std::path::Path;

fn place(app: &mut App, minute: i64, seats: &[&str], codes: &[&str]) -> OrderView {
    app.place_order(&ctx(minute), "demo", &strings(seats), &strings(codes))
        .unwrap_or_else(|e| panic!("place {seats:?} {codes:?}: {e}"))
}

fn seat_row(app: &App, name: &str) -> SeatAvailabilityView {
    app.seats("demo")
        .expect("seats")
        .seat_types
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no seat type {name}"))
}

/// (sold, reserved, remaining) of a seat type.
fn seat_counts(app: &App, name: &str) -> (i64, i64, i64) {
    let row = seat_row(app, name);
    (row.sold, row.reserved, row.remaining)
}

fn promo(app: &App, code: &str) -> PromoCodeView {
    app.conference("demo")
        .expect("conference")
        .promo_codes
        .into_iter()
        .find(|p| p.code == code)
        .unwrap_or_else(|| panic!("no promo code {code}"))
}

/// (held, redeemed) of a promo code.
fn promo_counts(app: &App, code: &str) -> (u32, u32) {
    let p = promo(app, code);
    (p.held, p.redeemed)
}

fn table_count(path: &Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .expect("count")
}

/// Events of payment streams in the log: a zero-cost order must have none.
fn payment_events(path: &Path) -> i64 {
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.query_row(
        "SELECT COUNT(*) FROM events WHERE event_type LIKE 'Payment%'",
        [],
        |r| r.get(0),
    )
    .expect("count")
}

/// Everything a command can write: the log, the read models, the outbox.
#[derive(Debug, PartialEq)]
struct Written {
    events: i64,
    outbox: i64,
    models: Vec<String>,
}

fn written(path: &Path) -> Written {
    Written {
        events: event_count(path),
        outbox: table_count(path, "outbox"),
        models: read_models(path),
    }
}

/// Runs `run`, which must be refused with `code`, and checks that it wrote no event, no
/// read-model row and nothing for sync.
fn refused<T: Debug>(
    app: &mut App,
    path: &Path,
    code: &str,
    run: impl FnOnce(&mut App) -> conference_app::Result<T>,
) -> AppError {
    let before = written(path);
    let error = match run(app) {
        Ok(value) => panic!("expected `{code}`, but it succeeded: {value:?}"),
        Err(e) => e,
    };
    assert_eq!(error.code(), code, "{error}");
    assert!(!error.to_string().is_empty());
    assert_eq!(written(path), before, "`{code}` changed the store");
    error
}

// ---------------------------------------------------------------- idempotency

#[test]
fn selling_twice_with_one_command_id_returns_the_first_order_and_writes_nothing_new() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    let once = ctx(1);
    let first = app
        .sell(&once, &sale(&["Full=2"], &["TENOFF"], cash("200")))
        .expect("sell");
    assert_eq!(first.status, "confirmed");
    let after_first = written(&ts.path);
    let logged = table_count(&ts.path, "command_log");

    let again = app
        .sell(&once, &sale(&["Full=2"], &["TENOFF"], cash("200")))
        .expect("retry");
    assert_eq!(again, first);
    // Whatever the retry carries, the id's first outcome stands.
    let different = app
        .sell(&once, &sale(&["Student=1"], &[], cash("40")))
        .expect("retry with other input");
    assert_eq!(different, first);
    assert_eq!(written(&ts.path), after_first);
    assert_eq!(table_count(&ts.path, "command_log"), logged);
    assert_eq!(seat_counts(&app, "Full"), (2, 0, 8));

    // Also after a restart: ids are remembered in the store, not in memory.
    drop(app);
    let mut app = App::open(&ts.path).expect("reopen");
    assert_eq!(
        app.sell(&once, &sale(&["Full=2"], &["TENOFF"], cash("200")))
            .unwrap(),
        first
    );
    assert_eq!(written(&ts.path), after_first);

    // A new command id is a new sale.
    let second = app
        .sell(&ctx(1), &sale(&["Full=2"], &["TENOFF"], cash("200")))
        .expect("another sale");
    assert_ne!(second.id, first.id);
    assert_eq!(seat_counts(&app, "Full"), (4, 0, 6));
}

/// A placed order's expiry waits in `scheduled_commands` until `tick` runs it; a door
/// sale schedules and drops its expiry in one unit, so it writes none at all.
#[test]
fn an_expiry_is_written_for_a_placed_order_and_never_for_a_door_sale() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    let before = table_count(&ts.path, "scheduled_commands");
    app.sell(&ctx(1), &sale(&["Full=1"], &[], cash("100")))
        .expect("sale");
    assert_eq!(table_count(&ts.path, "scheduled_commands"), before);
    let placed = place(&mut app, 2, &["Full=1"], &[]);
    assert_eq!(table_count(&ts.path, "scheduled_commands"), before + 1);
    let tick = app.tick(&ctx(30)).expect("tick");
    assert_eq!(tick.expired_orders, vec![placed.id]);
}

#[test]
fn placing_twice_with_one_command_id_returns_the_first_order() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    let once = ctx(1);
    let first = app
        .place_order(&once, "demo", &strings(&["Full=3"]), &[])
        .expect("place");
    let after_first = written(&ts.path);
    let scheduled = table_count(&ts.path, "scheduled_commands");
    for seats in [["Full=3"], ["Student=1"]] {
        let again = app
            .place_order(&once, "demo", &strings(&seats), &[])
            .expect("retry");
        assert_eq!(again, first);
    }
    assert_eq!(written(&ts.path), after_first);
    assert_eq!(table_count(&ts.path, "scheduled_commands"), scheduled);
    assert_eq!(seat_counts(&app, "Full"), (0, 3, 7));
    assert_eq!(app.orders(Some("demo")).unwrap().len(), 1);
}

#[test]
fn creating_a_conference_twice_with_one_command_id_returns_the_first_conference() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    let input = NewConference {
        slug: "second".into(),
        name: "Second Conf".into(),
        location: "Lyon".into(),
        start: Some(crate::helpers::at("2027-01-10T09:00:00Z")),
        end: Some(crate::helpers::at("2027-01-11T17:00:00Z")),
        owner_name: "Ada".into(),
        owner_email: "ada@example.com".into(),
        ..NewConference::default()
    };
    let once = ctx(1);
    let first = app.create_conference(&once, input.clone()).expect("create");
    let after_first = written(&ts.path);
    let again = app.create_conference(&once, input.clone()).expect("retry");
    assert_eq!(again, first);
    assert_eq!(written(&ts.path), after_first);
    assert_eq!(app.conferences().unwrap().len(), 2);

    // Another command id with the same slug is a different request, and is refused.
    refused(&mut app, &ts.path, "slug_taken", |app| {
        app.create_conference(&ctx(2), input)
    });
}

#[test]
fn a_refused_command_id_keeps_its_refusal_even_once_the_cause_is_gone() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);

    // Paying an expired order.
    let expired = place(&mut app, 0, &["Full=1"], &[]);
    app.tick(&ctx(16)).expect("tick");
    let pay = ctx(16);
    let id = expired.id.to_string();
    let first = refused(&mut app, &ts.path, "order_expired", |app| {
        app.pay(&pay, &id, &cash("100").unwrap())
    });
    let second = refused(&mut app, &ts.path, "order_expired", |app| {
        app.pay(&pay, &id, &cash("100").unwrap())
    });
    assert_eq!(first, second);

    // Selling on an unpublished conference, then publishing it.
    app.publish(&ctx(17), "demo", false).expect("unpublish");
    let sell = ctx(18);
    refused(&mut app, &ts.path, "conference_not_published", |app| {
        app.sell(&sell, &sale(&["Full=1"], &[], cash("100")))
    });
    app.publish(&ctx(19), "demo", true).expect("publish");
    refused(&mut app, &ts.path, "conference_not_published", |app| {
        app.sell(&sell, &sale(&["Full=1"], &[], cash("100")))
    });
    assert_eq!(
        app.sell(&ctx(19), &sale(&["Full=1"], &[], cash("100")))
            .unwrap()
            .status,
        "confirmed"
    );

    // An exhausted code, then the order that used it is cancelled.
    let used = app
        .sell(&ctx(20), &sale(&["Student=1"], &["STUDENTFREE"], None))
        .expect("free by code");
    let again = ctx(21);
    refused(&mut app, &ts.path, "promo_code_exhausted", |app| {
        app.sell(&again, &sale(&["Student=1"], &["STUDENTFREE"], None))
    });
    app.cancel(&ctx(22), &used.id.to_string(), None)
        .expect("cancel");
    assert_eq!(promo_counts(&app, "STUDENTFREE"), (0, 0));
    refused(&mut app, &ts.path, "promo_code_exhausted", |app| {
        app.sell(&again, &sale(&["Student=1"], &["STUDENTFREE"], None))
    });

    // Sold out, then more seats are added.
    app.sell(&ctx(23), &sale(&["Speaker=2"], &[], None))
        .expect("all speaker seats");
    let late = ctx(24);
    refused(&mut app, &ts.path, "sold_out", |app| {
        app.sell(&late, &sale(&["Speaker=1"], &[], None))
    });
    app.update_seat_type(&ctx(25), "demo", "Speaker", None, None, None, Some(3))
        .expect("one more speaker seat");
    assert_eq!(seat_counts(&app, "Speaker"), (2, 0, 1));
    refused(&mut app, &ts.path, "sold_out", |app| {
        app.sell(&late, &sale(&["Speaker=1"], &[], None))
    });
    // Restarting does not forget a refusal either.
    drop(app);
    let mut app = App::open(&ts.path).unwrap();
    refused(&mut app, &ts.path, "sold_out", |app| {
        app.sell(&late, &sale(&["Speaker=1"], &[], None))
    });
    assert_eq!(
        app.sell(&ctx(26), &sale(&["Speaker=1"], &[], None))
            .unwrap()
            .status,
        "confirmed"
    );
}

// ---------------------------------------------------------------- refusals

#[test]
fn a_refusal_keeps_the_input_it_is_about_when_its_command_id_is_retried() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    let sell = ctx(1);
    let first = refused(&mut app, &ts.path, "unknown_promo_code", |app| {
        app.sell(&sell, &sale(&["Full=1"], &["NOPE"], cash("200")))
    });
    assert_eq!(first.field(), Some("promo_code"));
    assert_eq!(first.body().field.as_deref(), Some("promo_code"));
    let second = refused(&mut app, &ts.path, "unknown_promo_code", |app| {
        app.sell(&sell, &sale(&["Full=1"], &["NOPE"], cash("200")))
    });
    assert_eq!(first, second);
}

#[test]
fn a_store_that_owns_its_pool_has_no_allotment_to_return() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    // Its own allotment never had a Full seat (the seat type is unknown to it).
    refused(&mut app, &ts.path, "nothing_to_return", |app| {
        app.return_allotment(&ctx(1), "demo", &strings(&["Full=1"]))
    });
}

#[test]
fn bad_input_is_refused_before_anything_is_written() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    let path = ts.path.clone();
    let p = &path;
    refused(&mut app, p, "unknown_conference", |app| {
        app.sell(
            &ctx(1),
            &SaleInput {
                slug: "nope".into(),
                ..sale(&["Full=1"], &[], cash("100"))
            },
        )
    });
    refused(&mut app, p, "unknown_conference", |app| {
        app.place_order(&ctx(1), "nope", &strings(&["Full=1"]), &[])
    });
    for seats in [&[][..], &["Full=0"][..], &["Full=0", "Student=0"][..]] {
        refused(&mut app, p, "no_seats", |app| {
            app.sell(&ctx(1), &sale(seats, &[], cash("100")))
        });
        refused(&mut app, p, "no_seats", |app| {
            app.place_order(&ctx(1), "demo", &strings(seats), &[])
        });
    }
    for seats in [&["Full=-1"][..], &["Full=2", "Student=-1"][..]] {
        refused(&mut app, p, "negative_quantity", |app| {
            app.sell(&ctx(1), &sale(seats, &[], cash("300")))
        });
    }
    refused(&mut app, p, "invalid_seat", |app| {
        app.sell(&ctx(1), &sale(&["Full=two"], &[], cash("300")))
    });
    refused(&mut app, p, "unknown_seat_type", |app| {
        app.sell(&ctx(1), &sale(&["Balcony=1"], &[], cash("300")))
    });
    refused(&mut app, p, "email", |app| {
        app.sell(
            &ctx(1),
            &SaleInput {
                registrant: Some(("Grace".into(), "Hopper".into(), "grace-at-example".into())),
                ..sale(&["Full=1"], &[], cash("100"))
            },
        )
    });
    refused(&mut app, p, "promo_code", |app| {
        app.sell(&ctx(1), &sale(&["Full=1"], &["x"], cash("100")))
    });
    refused(&mut app, p, "invalid_payment_method", |app| {
        app.sell(
            &ctx(1),
            &SaleInput {
                payment: Some(PaymentInput {
                    method: "cheque".into(),
                    ..PaymentInput::default()
                }),
                ..sale(&["Full=1"], &[], None)
            },
        )
    });

    // On an existing order, too.
    let order = place(&mut app, 1, &["Full=1"], &[]);
    let id = order.id.to_string();
    refused(&mut app, p, "email", |app| {
        app.assign_registrant(&ctx(2), &id, "Grace", "Hopper", "grace@")
    });
    refused(&mut app, p, "unknown_order", |app| {
        app.pay(&ctx(2), "ZZZZZZ", &cash("100").unwrap())
    });
}

#[test]
fn promo_code_rules_refuse_the_whole_order() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    let p = ts.path.clone();
    refused(&mut app, &p, "unknown_promo_code", |app| {
        app.sell(&ctx(1), &sale(&["Full=1"], &["NOPE"], cash("100")))
    });
    refused(&mut app, &p, "unknown_promo_code", |app| {
        app.place_order(&ctx(1), "demo", &strings(&["Full=1"]), &strings(&["NOPE"]))
    });
    refused(&mut app, &p, "promo_code_not_applicable", |app| {
        app.sell(&ctx(1), &sale(&["Full=1"], &["STUDENTFREE"], cash("100")))
    });
    refused(&mut app, &p, "promo_code_not_combinable", |app| {
        app.sell(
            &ctx(1),
            &sale(&["Student=1"], &["STUDENTFREE", "TENOFF"], cash("40")),
        )
    });
    refused(&mut app, &p, "promo_code_not_combinable", |app| {
        app.place_order(
            &ctx(1),
            "demo",
            &strings(&["Student=1", "Full=1"]),
            &strings(&["TENOFF", "STUDENTFREE"]),
        )
    });

    // STUDENTFREE has one use: once held by a reserved order it is gone for others...
    let holder = place(&mut app, 2, &["Student=1"], &["STUDENTFREE"]);
    assert_eq!(promo_counts(&app, "STUDENTFREE"), (1, 0));
    refused(&mut app, &p, "promo_code_exhausted", |app| {
        app.sell(&ctx(3), &sale(&["Student=1"], &["STUDENTFREE"], None))
    });
    // ...and once counted by a confirmed order, too.
    app.confirm(&ctx(4), &holder.id.to_string())
        .expect("free order");
    assert_eq!(promo_counts(&app, "STUDENTFREE"), (0, 1));
    refused(&mut app, &p, "promo_code_exhausted", |app| {
        app.sell(&ctx(5), &sale(&["Student=1"], &["STUDENTFREE"], None))
    });
    refused(&mut app, &p, "promo_code_exhausted", |app| {
        app.place_order(
            &ctx(5),
            "demo",
            &strings(&["Student=1"]),
            &strings(&["STUDENTFREE"]),
        )
    });
    // The combinable codes still work together.
    let combined = app
        .sell(
            &ctx(6),
            &sale(&["Full=1"], &["TENOFF", "FIFTY"], cash("40")),
        )
        .expect("combinable codes");
    assert_eq!(combined.total, "40.00");
}

#[test]
fn order_rules_refuse_without_writing() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    let p = ts.path.clone();

    // A paid order cannot be confirmed without payment, nor sold without one.
    let unpaid = place(&mut app, 0, &["Full=1"], &[]);
    let unpaid_id = unpaid.id.to_string();
    refused(&mut app, &p, "order_not_free_of_charge", |app| {
        app.confirm(&ctx(1), &unpaid_id)
    });
    refused(&mut app, &p, "tendered_too_low", |app| {
        app.sell(&ctx(1), &sale(&["Full=1"], &[], cash("10")))
    });
    refused(&mut app, &p, "payment_required", |app| {
        app.sell(&ctx(1), &sale(&["Full=1"], &[], None))
    });
    refused(&mut app, &p, "tendered_too_low", |app| {
        app.pay(&ctx(1), &unpaid_id, &cash("99.99").unwrap())
    });
    refused(&mut app, &p, "card_reference_missing", |app| {
        app.pay(
            &ctx(1),
            &unpaid_id,
            &PaymentInput {
                method: "card".into(),
                ..PaymentInput::default()
            },
        )
    });
    // A free order takes no payment.
    let free = place(&mut app, 0, &["Speaker=1"], &[]);
    refused(&mut app, &p, "order_is_free", |app| {
        app.pay(&ctx(1), &free.id.to_string(), &cash("10").unwrap())
    });

    // Past its reservation time an order cannot be paid, before and after `tick`.
    refused(&mut app, &p, "reservation_timed_out", |app| {
        app.pay(&ctx(16), &unpaid_id, &cash("100").unwrap())
    });
    let tick = app.tick(&ctx(16)).expect("tick");
    assert_eq!(tick.expired_orders.len(), 2);
    refused(&mut app, &p, "order_expired", |app| {
        app.pay(&ctx(16), &unpaid_id, &cash("100").unwrap())
    });
    refused(&mut app, &p, "order_expired", |app| {
        app.confirm(&ctx(16), &free.id.to_string())
    });
    refused(&mut app, &p, "order_expired", |app| {
        app.cancel(&ctx(16), &unpaid_id, None)
    });
    let expired = app.order_by_text(&unpaid_id).expect("order");
    assert!(
        !expired.cancellable && !expired.refund_on_cancel,
        "screens offer no cancel"
    );

    // A confirmed order cannot be paid or confirmed again.
    let paid = app
        .sell(&ctx(17), &sale(&["Full=1"], &[], card("T-1")))
        .expect("sell");
    let paid_id = paid.id.to_string();
    refused(&mut app, &p, "order_already_confirmed", |app| {
        app.pay(&ctx(18), &paid_id, &card("T-2").unwrap())
    });
    refused(&mut app, &p, "order_already_confirmed", |app| {
        app.confirm(&ctx(18), &paid_id)
    });
    assert!(
        paid.cancellable && paid.refund_on_cancel,
        "cancel and refund"
    );
    let cancelled = app.cancel(&ctx(19), &paid_id, None).expect("cancel");
    assert!(!cancelled.cancellable && !cancelled.refund_on_cancel);
    refused(&mut app, &p, "order_cancelled", |app| {
        app.cancel(&ctx(20), &paid_id, None)
    });

    // Selling on an unpublished conference.
    app.publish(&ctx(21), "demo", false).expect("unpublish");
    refused(&mut app, &p, "conference_not_published", |app| {
        app.sell(&ctx(22), &sale(&["Full=1"], &[], cash("100")))
    });
    refused(&mut app, &p, "conference_not_published", |app| {
        app.place_order(&ctx(22), "demo", &strings(&["Speaker=1"]), &[])
    });
    app.publish(&ctx(23), "demo", true).expect("publish");

    // Sold out: nothing left of what was asked for.
    app.sell(&ctx(24), &sale(&["Speaker=2"], &[], None))
        .expect("every speaker seat");
    refused(&mut app, &p, "sold_out", |app| {
        app.sell(&ctx(25), &sale(&["Speaker=1"], &[], None))
    });
    refused(&mut app, &p, "sold_out", |app| {
        app.place_order(&ctx(25), "demo", &strings(&["Speaker=1"]), &[])
    });
    assert_eq!(seat_counts(&app, "Speaker"), (2, 0, 0));
}

// ---------------------------------------------------------------- the registration process

#[test]
fn a_paid_order_is_reserved_priced_paid_confirmed_committed_and_gets_seat_positions() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    let placed = place(&mut app, 1, &["Full=2", "Student=1"], &["TENOFF"]);
    assert_eq!(placed.status, "reserved");
    assert!(!placed.is_free_of_charge);
    assert_eq!(placed.total, "216.00");
    let lines: Vec<(&str, u32, &str)> = placed
        .lines
        .iter()
        .map(|l| (l.kind.as_str(), l.quantity, l.total.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            ("seat", 2, "200.00"),
            ("seat", 1, "40.00"),
            ("discount", 1, "-24.00")
        ]
    );
    assert_eq!(placed.payment, None);
    assert!(placed.assignments.is_empty());
    assert_eq!(seat_counts(&app, "Full"), (0, 2, 8));
    assert_eq!(seat_counts(&app, "Student"), (0, 1, 2));

    let id = placed.id.to_string();
    app.assign_registrant(&ctx(2), &id, "Grace", "Hopper", "grace@example.com")
        .expect("registrant");
    let paid = app.pay(&ctx(3), &id, &cash("250").unwrap()).expect("pay");
    assert_eq!(paid.status, "confirmed");
    let payment = paid.payment.as_ref().expect("payment");
    assert_eq!(payment.method, "cash");
    assert_eq!(payment.status, "completed");
    assert_eq!(payment.amount, "216.00");
    assert_eq!(payment.tendered.as_deref(), Some("250"));
    assert_eq!(payment.change.as_deref(), Some("34.00"));
    let registrant = paid.registrant.as_ref().expect("registrant");
    assert_eq!(registrant.email, "grace@example.com");
    let positions: Vec<(u32, &str, bool)> = paid
        .assignments
        .iter()
        .map(|a| (a.position, a.seat_type.as_str(), a.attendee.is_some()))
        .collect();
    assert_eq!(
        positions,
        [
            (0, "Full", false),
            (1, "Full", false),
            (2, "Student", false)
        ]
    );
    assert_eq!(seat_counts(&app, "Full"), (2, 0, 8));
    assert_eq!(seat_counts(&app, "Student"), (1, 0, 2));
    assert_eq!(
        app.find_order("GRACE@example.com", &paid.access_code)
            .unwrap()
            .id,
        paid.id
    );

    // The expiry was dropped with the confirmation: nothing is left to run.
    let tick = app.tick(&ctx(30)).expect("tick");
    assert_eq!((tick.ran, tick.expired_orders.len()), (0, 0));
    assert_eq!(app.order_by_text(&id).unwrap().status, "confirmed");

    // At the door, card in one step.
    let door = app
        .sell(&ctx(31), &sale(&["Full=1"], &[], card("TERM-42")))
        .expect("card sale");
    assert_eq!(door.status, "confirmed");
    let payment = door.payment.as_ref().expect("payment");
    assert_eq!(
        (
            payment.method.as_str(),
            payment.status.as_str(),
            payment.amount.as_str()
        ),
        ("card", "completed", "100.00")
    );
    assert_eq!(payment.reference.as_deref(), Some("TERM-42"));
    assert_eq!(payment.change, None);
    assert_eq!(door.assignments.len(), 1);
}

#[test]
fn a_zero_cost_order_is_confirmed_without_payment() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    let placed = place(&mut app, 1, &["Speaker=2"], &[]);
    assert_eq!(placed.status, "reserved");
    assert!(placed.is_free_of_charge);
    assert_eq!(placed.total, "0.00");
    let confirmed = app
        .confirm(&ctx(2), &placed.id.to_string())
        .expect("confirm");
    assert_eq!(confirmed.status, "confirmed");
    assert_eq!(confirmed.payment, None);
    assert_eq!(confirmed.assignments.len(), 2);
    assert!(
        confirmed
            .assignments
            .iter()
            .all(|a| a.seat_type == "Speaker")
    );
    assert_eq!(seat_counts(&app, "Speaker"), (2, 0, 0));
    assert_eq!(payment_events(&ts.path), 0);

    // Free because of a promo code, at the door: no payment either.
    let door = app
        .sell(&ctx(3), &sale(&["Student=1"], &["STUDENTFREE"], None))
        .expect("free by code");
    assert_eq!(door.status, "confirmed");
    assert!(door.is_free_of_charge);
    assert_eq!(door.total, "0.00");
    assert_eq!(door.payment, None);
    assert_eq!(
        door.lines
            .iter()
            .map(|l| l.total.as_str())
            .collect::<Vec<_>>(),
        ["40.00", "-40.00"]
    );
    assert_eq!(payment_events(&ts.path), 0);
}

#[test]
fn a_limited_code_is_held_while_reserved_counted_when_confirmed_and_released_otherwise() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    assert_eq!(promo_counts(&app, "STUDENTFREE"), (0, 0));

    // Held, then released on expiry.
    let first = place(&mut app, 0, &["Student=1"], &["STUDENTFREE"]);
    assert_eq!(promo_counts(&app, "STUDENTFREE"), (1, 0));
    let tick = app.tick(&ctx(16)).expect("tick");
    assert_eq!(tick.expired_orders, vec![first.id]);
    assert_eq!(promo_counts(&app, "STUDENTFREE"), (0, 0));

    // Held, then released on cancel.
    let second = place(&mut app, 17, &["Student=1"], &["STUDENTFREE"]);
    assert_eq!(promo_counts(&app, "STUDENTFREE"), (1, 0));
    let cancelled = app
        .cancel(&ctx(18), &second.id.to_string(), Some("wrong person"))
        .expect("cancel");
    assert_eq!(cancelled.status, "cancelled");
    assert_eq!(cancelled.cancel_reason.as_deref(), Some("wrong person"));
    assert_eq!(promo_counts(&app, "STUDENTFREE"), (0, 0));

    // Held, then counted on confirmation.
    let third = place(&mut app, 19, &["Student=1"], &["STUDENTFREE"]);
    assert_eq!(promo_counts(&app, "STUDENTFREE"), (1, 0));
    app.confirm(&ctx(20), &third.id.to_string())
        .expect("confirm");
    assert_eq!(promo_counts(&app, "STUDENTFREE"), (0, 1));
    // Confirmed orders do not expire, so a later tick leaves the count alone.
    app.tick(&ctx(60)).expect("tick");
    assert_eq!(promo_counts(&app, "STUDENTFREE"), (0, 1));

    // Counted, then given back when the confirmed order is cancelled.
    app.cancel(&ctx(61), &third.id.to_string(), None)
        .expect("cancel confirmed");
    assert_eq!(promo_counts(&app, "STUDENTFREE"), (0, 0));
    let fourth = app
        .sell(&ctx(62), &sale(&["Student=1"], &["STUDENTFREE"], None))
        .expect("the code is free again");
    assert_eq!(fourth.status, "confirmed");
    assert_eq!(promo_counts(&app, "STUDENTFREE"), (0, 1));
    // Unlimited codes are never held.
    place(&mut app, 63, &["Full=1"], &["TENOFF"]);
    assert_eq!(promo_counts(&app, "TENOFF"), (0, 0));
}

#[test]
fn expiry_releases_the_seats_of_an_unpaid_order() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    let order = place(&mut app, 0, &["Full=4"], &[]);
    assert_eq!(seat_counts(&app, "Full"), (0, 4, 6));

    let early = app.tick(&ctx(14)).expect("tick before expiry");
    assert_eq!((early.ran, early.expired_orders.len()), (0, 0));
    assert_eq!(
        app.order_by_text(&order.id.to_string()).unwrap().status,
        "reserved"
    );
    assert_eq!(seat_counts(&app, "Full"), (0, 4, 6));

    let tick = app.tick(&ctx(16)).expect("tick after expiry");
    assert_eq!(tick.ran, 1);
    assert_eq!(tick.expired_orders, vec![order.id]);
    assert_eq!(
        app.order_by_text(&order.id.to_string()).unwrap().status,
        "expired"
    );
    assert_eq!(seat_counts(&app, "Full"), (0, 0, 10));
    assert_eq!(seat_row(&app, "Full").remaining, 10);

    let again = app.tick(&ctx(17)).expect("tick again");
    assert_eq!((again.ran, again.expired_orders.len()), (0, 0));
    // The released seats sell again.
    let sold = app
        .sell(&ctx(18), &sale(&["Full=10"], &[], cash("1000")))
        .expect("all of them");
    assert_eq!(sold.status, "confirmed");
    assert_eq!(seat_counts(&app, "Full"), (10, 0, 0));
}

#[test]
fn cancelling_a_confirmed_paid_order_refunds_it_and_returns_its_seats() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    let sold = app
        .sell(&ctx(1), &sale(&["Full=2", "Student=1"], &[], cash("240")))
        .expect("sell");
    assert_eq!(sold.payment.as_ref().unwrap().status, "completed");
    assert_eq!(seat_counts(&app, "Full"), (2, 0, 8));
    assert_eq!(seat_counts(&app, "Student"), (1, 0, 2));

    let cancelled = app
        .cancel(&ctx(2), &sold.access_code, Some("flight cancelled"))
        .expect("cancel by access code");
    assert_eq!(cancelled.id, sold.id);
    assert_eq!(cancelled.status, "cancelled");
    let payment = cancelled.payment.as_ref().expect("payment");
    assert_eq!(payment.status, "refunded");
    assert_eq!(payment.amount, "240.00");
    assert!(payment.reason.is_some());
    assert_eq!(seat_counts(&app, "Full"), (0, 0, 10));
    assert_eq!(seat_counts(&app, "Student"), (0, 0, 3));

    // Cancelling a reserved, unpaid order only returns its seats.
    let reserved = place(&mut app, 3, &["Full=3"], &[]);
    assert_eq!(seat_counts(&app, "Full"), (0, 3, 7));
    let dropped = app
        .cancel(&ctx(4), &reserved.id.to_string(), None)
        .expect("cancel");
    assert_eq!(dropped.payment, None);
    assert_eq!(seat_counts(&app, "Full"), (0, 0, 10));
    // Its expiry no longer does anything.
    let tick = app.tick(&ctx(30)).expect("tick");
    assert!(tick.expired_orders.is_empty());
    assert_eq!(
        app.order_by_text(&reserved.id.to_string()).unwrap().status,
        "cancelled"
    );
}

#[test]
fn short_supply_gives_a_partial_reservation_priced_on_what_was_reserved() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    let partial = place(&mut app, 1, &["Student=5"], &[]);
    assert_eq!(partial.status, "partially_reserved");
    assert_eq!(partial.seats.len(), 1);
    assert_eq!(
        (partial.seats[0].requested, partial.seats[0].reserved),
        (5, 3)
    );
    assert_eq!(partial.total, "120.00");
    assert_eq!(partial.lines.len(), 1);
    assert_eq!(partial.lines[0].quantity, 3);
    assert_eq!(seat_counts(&app, "Student"), (0, 3, 0));

    // Nothing is left for anyone else.
    refused(&mut app, &ts.path, "sold_out", |app| {
        app.place_order(&ctx(2), "demo", &strings(&["Student=1"]), &[])
    });

    let paid = app
        .pay(&ctx(3), &partial.id.to_string(), &cash("120").unwrap())
        .expect("pay for what was reserved");
    assert_eq!(paid.status, "confirmed");
    assert_eq!(paid.payment.as_ref().unwrap().amount, "120.00");
    assert_eq!(paid.assignments.len(), 3);
    assert_eq!(seat_counts(&app, "Student"), (3, 0, 0));

    // Mixed: what is there is reserved, the rest is not.
    let mixed = place(&mut app, 4, &["Full=2", "Student=1"], &[]);
    assert_eq!(mixed.status, "partially_reserved");
    assert_eq!(mixed.total, "200.00");
}

#[test]
fn seats_of_a_confirmed_order_are_assigned_updated_and_unassigned() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    let reserved = place(&mut app, 1, &["Full=1"], &[]);
    refused(&mut app, &ts.path, "assignments_not_created", |app| {
        app.assign_seat(
            &ctx(2),
            &reserved.id.to_string(),
            0,
            "Ada",
            "L",
            "ada@example.com",
        )
    });

    let order = app
        .sell(&ctx(2), &sale(&["Full=2"], &[], cash("200")))
        .expect("sell");
    let id = order.id.to_string();
    let attendee = |view: &OrderView, position: usize| {
        view.assignments[position]
            .attendee
            .as_ref()
            .map(|p| (p.first_name.clone(), p.last_name.clone(), p.email.clone()))
    };
    let last_event_type = |app: &App| {
        app.store()
            .events_after(0, 100_000)
            .unwrap()
            .last()
            .unwrap()
            .event
            .event_type()
    };

    let events = event_count(&ts.path);
    let view = app
        .assign_seat(&ctx(3), &id, 0, "Ada", "Lovelace", "ada@example.com")
        .expect("assign");
    assert_eq!(
        attendee(&view, 0),
        Some(("Ada".into(), "Lovelace".into(), "ada@example.com".into()))
    );
    assert_eq!(attendee(&view, 1), None);
    assert_eq!(event_count(&ts.path), events + 1);
    assert_eq!(last_event_type(&app), "SeatAssigned");

    // Same email, new name: an update.
    let view = app
        .assign_seat(&ctx(4), &id, 0, "Augusta", "King", "ada@example.com")
        .expect("rename");
    assert_eq!(
        attendee(&view, 0),
        Some(("Augusta".into(), "King".into(), "ada@example.com".into()))
    );
    assert_eq!(event_count(&ts.path), events + 2);
    assert_eq!(last_event_type(&app), "SeatAssignmentUpdated");

    // Exactly the same again: nothing to record.
    app.assign_seat(&ctx(5), &id, 0, "Augusta", "King", "ada@example.com")
        .expect("same again");
    assert_eq!(event_count(&ts.path), events + 2);

    // Another person on the seat: the first is unassigned.
    let view = app
        .assign_seat(&ctx(6), &id, 0, "Alan", "Turing", "alan@example.com")
        .expect("reassign");
    assert_eq!(
        attendee(&view, 0),
        Some(("Alan".into(), "Turing".into(), "alan@example.com".into()))
    );
    assert_eq!(event_count(&ts.path), events + 4);

    let view = app.unassign_seat(&ctx(7), &id, 0).expect("unassign");
    assert_eq!(attendee(&view, 0), None);
    assert_eq!(event_count(&ts.path), events + 5);
    assert_eq!(last_event_type(&app), "SeatUnassigned");
    app.unassign_seat(&ctx(8), &id, 0).expect("unassign again");
    assert_eq!(event_count(&ts.path), events + 5);

    refused(&mut app, &ts.path, "unknown_position", |app| {
        app.assign_seat(&ctx(9), &id, 2, "Ada", "Lovelace", "ada@example.com")
    });
    refused(&mut app, &ts.path, "email", |app| {
        app.assign_seat(&ctx(9), &id, 1, "Ada", "Lovelace", "ada")
    });
}

#[test]
fn a_whole_door_sale_is_one_transaction_with_one_outbox_entry() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    let outbox = table_count(&ts.path, "outbox");
    let logged = table_count(&ts.path, "command_log");
    let command: Ctx = ctx(1);
    let sold = app
        .sell(
            &command,
            &sale(&["Full=1", "Student=1"], &["TENOFF"], cash("130")),
        )
        .expect("sell");
    assert_eq!(sold.status, "confirmed");
    assert_eq!(table_count(&ts.path, "outbox"), outbox + 1);
    assert_eq!(table_count(&ts.path, "command_log"), logged + 1);
    // Every event of the cascade carries the one command id.
    let conn = rusqlite::Connection::open(&ts.path).unwrap();
    let (events, ids): (i64, i64) = conn
        .query_row(
            "SELECT COUNT(*), COUNT(DISTINCT command_id) FROM events WHERE command_id = ?1",
            [command.command_id.as_uuid()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(
        events >= 10,
        "place, reserve, price, pay, confirm, commit, assign: {events}"
    );
    assert_eq!(ids, 1);
    assert!(app.store().command_seen(command.command_id).unwrap());
}

#[test]
fn an_export_tells_how_far_it_is_order_by_order() {
    let ts = temp_store();
    let mut app = demo_app(&ts.path);
    for n in 1..=3 {
        app.sell(&ctx(n), &sale(&["Full=1"], &[], cash("200")))
            .expect("sale");
    }
    let mut seen = Vec::new();
    let csv = app
        .export_orders_csv_with("demo", &mut |done, total| seen.push((done, total)))
        .expect("export");
    assert_eq!(seen, [(1, 3), (2, 3), (3, 3)]);
    assert_eq!(csv, app.export_orders_csv("demo").unwrap());
}
