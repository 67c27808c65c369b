//! The Order aggregate: place, update, reserve, price, expire, assign, confirm, cancel.
//! tidy: long because every rule of the aggregate sits next to the fixtures it shares.
use crate::support::*;
use conference_domain::discounts::{DiscountKind, PromoCodeDefinition, Scope};
use conference_domain::order::*;
use conference_domain::pricing::{LineKind, OrderLine, PriceList, PricedSeatType, PricingError};
use conference_domain::{Aggregate, Holder, Money, SeatQuantity, SeatTypeId};
use std::collections::BTreeSet;

pub fn price_list() -> PriceList {
    PriceList {
        minor_units: 2,
        seat_types: vec![
            PricedSeatType {
                id: seat_a(),
                name: "General".into(),
                price: money("100"),
            },
            PricedSeatType {
                id: seat_b(),
                name: "Workshop".into(),
                price: money("0"),
            },
        ],
    }
}

fn placed(wanted: &[(SeatTypeId, u32)]) -> Event {
    OrderPlaced {
        conference_id: conference_id(),
        seats: seats(wanted),
        access_code: access_code(),
        reservation_auto_expiration: at(15),
        promo_codes: vec![],
        holder: Holder::Pool,
        allow_override: false,
    }
    .into()
}

fn place(wanted: &[(SeatTypeId, u32)]) -> Command {
    Command::Place {
        conference_id: conference_id(),
        seats: seats(wanted),
        promo_codes: vec![],
        access_code: access_code(),
        holder: Holder::Pool,
        allow_override: false,
        reservation_expires_at: at(15),
    }
}

fn mark(reserved: &[(SeatTypeId, u32)], discounts: Vec<PromoCodeDefinition>) -> Command {
    Command::MarkSeatsAsReserved {
        seats: seats(reserved),
        expiration: at(20),
        price_list: price_list(),
        discounts,
    }
}

fn seat_line(
    seat_type: SeatTypeId,
    name: &str,
    quantity: u32,
    unit: &str,
    total: &str,
) -> OrderLine {
    OrderLine {
        kind: LineKind::Seat,
        description: name.into(),
        seat_type: Some(seat_type),
        promo_code: None,
        quantity,
        unit_price: money(unit),
        total: money(total),
    }
}

fn completed(reserved: &[(SeatTypeId, u32)]) -> Event {
    OrderReservationCompleted {
        reservation_expiration: at(20),
        seats: seats(reserved),
    }
    .into()
}

fn totals(total: &str, lines: Vec<OrderLine>) -> Event {
    let total = money(total);
    OrderTotalsCalculated {
        total,
        lines,
        is_free_of_charge: total.is_zero(),
    }
    .into()
}

/// Placed for 2 General and reserved in full: 200.00 to pay.
fn reserved_paid_order() -> Vec<Event> {
    vec![
        placed(&[(seat_a(), 2)]),
        completed(&[(seat_a(), 2)]),
        totals(
            "200.00",
            vec![seat_line(seat_a(), "General", 2, "100", "200.00")],
        ),
    ]
}

/// Placed for 1 Workshop (free) and reserved: nothing to pay.
fn reserved_free_order() -> Vec<Event> {
    vec![
        placed(&[(seat_b(), 1)]),
        completed(&[(seat_b(), 1)]),
        totals(
            "0.00",
            vec![seat_line(seat_b(), "Workshop", 1, "0", "0.00")],
        ),
    ]
}

fn with(mut history: Vec<Event>, more: impl IntoIterator<Item = Event>) -> Vec<Event> {
    history.extend(more);
    history
}

fn confirmed_event() -> Event {
    OrderConfirmed {
        payment_id: Some(payment_id()),
    }
    .into()
}

fn confirm_paid(now: i64) -> Command {
    Command::Confirm {
        basis: ConfirmationBasis::Paid(payment_id()),
        now: at(now),
    }
}

fn registrant() -> conference_domain::PersonalInfo {
    person("Grace", "Hopper", "grace@example.org")
}

#[test]
fn placing_an_order_drops_empty_lines_and_starts_pending() {
    let state = given_nothing::<Order>()
        .when(place(&[(seat_a(), 2), (seat_b(), 0)]))
        .then([placed(&[(seat_a(), 2)])]);
    let data = state.data().unwrap();
    assert_eq!(data.status, OrderStatus::PendingReservation);
    assert_eq!(data.reservation_expires_at, at(15));
    assert_eq!(data.access_code.as_str(), "ABCDEF");
    assert!(data.reserved.is_empty());
    assert_eq!(data.total(), Money::ZERO);
    assert!(!data.is_free_of_charge(), "an unpriced order is not free");
}

#[test]
fn the_default_reservation_hold_is_fifteen_minutes() {
    assert_eq!(DEFAULT_RESERVATION_MINUTES, 15);
}

#[test]
fn a_full_reservation_completes_the_order_and_prices_it() {
    let state = given(vec![placed(&[(seat_a(), 2), (seat_b(), 1)])])
        .when(mark(&[(seat_b(), 1), (seat_a(), 2)], vec![]))
        .then([
            OrderReservationCompleted {
                reservation_expiration: at(20),
                seats: seats(&[(seat_b(), 1), (seat_a(), 2)]),
            }
            .into(),
            totals(
                "200.00",
                vec![
                    seat_line(seat_b(), "Workshop", 1, "0", "0.00"),
                    seat_line(seat_a(), "General", 2, "100", "200.00"),
                ],
            ),
        ]);
    let data = state.data().unwrap();
    assert_eq!(data.status, OrderStatus::ReservationCompleted);
    assert_eq!(data.reservation_expires_at, at(20));
    assert_eq!(data.total(), money("200"));
}

#[test]
fn a_short_reservation_leaves_the_order_partially_reserved() {
    let state = given(vec![placed(&[(seat_a(), 3)])])
        .when(mark(&[(seat_a(), 2)], vec![]))
        .then([
            OrderPartiallyReserved {
                reservation_expiration: at(20),
                seats: seats(&[(seat_a(), 2)]),
            }
            .into(),
            totals(
                "200.00",
                vec![seat_line(seat_a(), "General", 2, "100", "200.00")],
            ),
        ]);
    assert_eq!(state.data().unwrap().status, OrderStatus::PartiallyReserved);
    // Missing a seat type altogether is partial too.
    let events = given(vec![placed(&[(seat_a(), 1), (seat_b(), 1)])])
        .when(mark(&[(seat_a(), 1)], vec![]))
        .events();
    assert!(matches!(events[0], Event::OrderPartiallyReserved(_)));
}

#[test]
fn an_order_with_two_lines_of_one_seat_type_is_complete_when_all_are_held() {
    // The seat pool adds lines of one seat type up; the order must compare like with like.
    let events = given(vec![placed(&[(seat_a(), 2), (seat_a(), 3)])])
        .when(mark(&[(seat_a(), 5)], vec![]))
        .events();
    assert!(
        matches!(events[0], Event::OrderReservationCompleted(_)),
        "{events:?}"
    );
}

#[test]
fn nothing_reserved_prices_to_zero_but_cannot_be_confirmed() {
    let history = with(vec![placed(&[(seat_a(), 1)])], []);
    let state = given(history.clone()).when(mark(&[], vec![])).then([
        OrderPartiallyReserved {
            reservation_expiration: at(20),
            seats: vec![],
        }
        .into(),
        totals("0", vec![]),
    ]);
    assert!(state.data().unwrap().is_free_of_charge());
    let mut history = history;
    history.extend([
        OrderPartiallyReserved {
            reservation_expiration: at(20),
            seats: vec![],
        }
        .into(),
        totals("0", vec![]),
    ]);
    given(history)
        .when(Command::Confirm {
            basis: ConfirmationBasis::FreeOfCharge,
            now: at(1),
        })
        .then_err(Error::SeatsNotReserved);
}

#[test]
fn a_discount_shows_as_its_own_line() {
    let ten_off = PromoCodeDefinition {
        code: code("TEN"),
        discount: DiscountKind::Percent(rust_decimal::Decimal::TEN),
        scope: Scope::All,
        max_uses: None,
        exclusive: false,
    };
    let events = given(vec![placed(&[(seat_a(), 2)])])
        .when(mark(&[(seat_a(), 2)], vec![ten_off]))
        .events();
    let Event::OrderTotalsCalculated(t) = &events[1] else {
        panic!("{events:?}")
    };
    assert_eq!(t.total, money("180.00"));
    assert_eq!(t.lines.len(), 2);
    assert_eq!(t.lines[1].kind, LineKind::Discount);
    assert_eq!(t.lines[1].promo_code, Some(code("TEN")));
    assert_eq!(t.lines[1].total, Money::ZERO - money("20"));
    assert!(!t.is_free_of_charge);
}

#[test]
fn updating_an_order_sends_it_back_to_pending_reservation() {
    let state = given(reserved_paid_order())
        .when(Command::Update {
            seats: seats(&[(seat_a(), 3), (seat_b(), 0)]),
            promo_codes: vec![code("TEN")],
        })
        .then([OrderUpdated {
            seats: seats(&[(seat_a(), 3)]),
            promo_codes: vec![code("TEN")],
        }
        .into()]);
    let data = state.data().unwrap();
    assert_eq!(data.status, OrderStatus::PendingReservation);
    assert_eq!(data.promo_codes, vec![code("TEN")]);
    // Pending again: it cannot be confirmed until the new reservation is marked.
    given(with(
        reserved_paid_order(),
        [OrderUpdated {
            seats: seats(&[(seat_a(), 3)]),
            promo_codes: vec![],
        }
        .into()],
    ))
    .when(confirm_paid(1))
    .then_err(Error::SeatsNotReserved);
}

#[test]
fn rejecting_expires_an_open_order() {
    for (label, history) in [
        ("pending", vec![placed(&[(seat_a(), 2)])]),
        ("reserved", reserved_paid_order()),
    ] {
        let state = given(history)
            .case(label)
            .when(Command::Reject)
            .then([OrderExpired {}.into()]);
        assert_eq!(
            state.data().unwrap().status,
            OrderStatus::Expired,
            "{label}"
        );
    }
}

#[test]
fn rejecting_what_is_not_open_records_nothing() {
    for (label, history) in [
        ("never placed", vec![]),
        (
            "already expired",
            with(reserved_paid_order(), [OrderExpired {}.into()]),
        ),
        (
            "cancelled",
            with(
                reserved_paid_order(),
                [OrderCancelled {
                    reason: "asked".into(),
                }
                .into()],
            ),
        ),
    ] {
        given(history).case(label).when(Command::Reject).then([]);
    }
}

#[test]
fn registrant_details_are_recorded_once() {
    let state = given(reserved_paid_order())
        .when(Command::AssignRegistrantDetails(registrant()))
        .then([OrderRegistrantAssigned {
            person: registrant(),
        }
        .into()]);
    assert_eq!(state.data().unwrap().registrant, Some(registrant()));
    let history = with(
        reserved_paid_order(),
        [OrderRegistrantAssigned {
            person: registrant(),
        }
        .into()],
    );
    given(history.clone())
        .when(Command::AssignRegistrantDetails(person(
            "Grace",
            "Hopper",
            "GRACE@example.org",
        )))
        .then([]);
    let other = person("Alan", "Turing", "alan@example.org");
    given(history)
        .when(Command::AssignRegistrantDetails(other.clone()))
        .then([OrderRegistrantAssigned { person: other }.into()]);
    // A confirmed order may still get its registrant's details.
    given(with(
        reserved_free_order(),
        [OrderConfirmed { payment_id: None }.into()],
    ))
    .when(Command::AssignRegistrantDetails(registrant()))
    .then([OrderRegistrantAssigned {
        person: registrant(),
    }
    .into()]);
}

#[test]
fn a_paid_order_confirms_with_its_payment() {
    let state = given(reserved_paid_order())
        .when(confirm_paid(15))
        .then([confirmed_event()]);
    let data = state.data().unwrap();
    assert_eq!(data.status, OrderStatus::Confirmed);
    assert_eq!(data.payment, Some(payment_id()));
}

#[test]
fn a_partially_reserved_order_can_be_confirmed_for_what_it_holds() {
    let history = vec![
        placed(&[(seat_a(), 3)]),
        OrderPartiallyReserved {
            reservation_expiration: at(20),
            seats: seats(&[(seat_a(), 2)]),
        }
        .into(),
        totals(
            "200.00",
            vec![seat_line(seat_a(), "General", 2, "100", "200.00")],
        ),
    ];
    given(history)
        .when(confirm_paid(1))
        .then([confirmed_event()]);
}

#[test]
fn a_free_order_confirms_without_payment() {
    let state = given(reserved_free_order())
        .when(Command::Confirm {
            basis: ConfirmationBasis::FreeOfCharge,
            now: at(5),
        })
        .then([OrderConfirmed { payment_id: None }.into()]);
    assert_eq!(state.data().unwrap().status, OrderStatus::Confirmed);
    assert_eq!(state.data().unwrap().payment, None);
}

#[test]
fn cancelling_an_order_records_why() {
    for (label, history) in [
        ("pending", vec![placed(&[(seat_a(), 1)])]),
        ("reserved", reserved_paid_order()),
        (
            "confirmed",
            with(reserved_paid_order(), [confirmed_event()]),
        ),
    ] {
        let state = given(history)
            .case(label)
            .when(Command::Cancel {
                reason: "double booking".into(),
            })
            .then([OrderCancelled {
                reason: "double booking".into(),
            }
            .into()]);
        assert_eq!(state.data().unwrap().status, OrderStatus::Cancelled);
    }
}

/// `can_cancel` says beforehand what `Cancel` decides: every status but cancelled and
/// expired accepts it (screens offer the button by it).
#[test]
fn can_cancel_says_what_cancel_decides() {
    let cancelled = with(
        reserved_paid_order(),
        [OrderCancelled {
            reason: "first".into(),
        }
        .into()],
    );
    let expired = with(reserved_paid_order(), [OrderExpired {}.into()]);
    for (label, history, accepted) in [
        ("pending", vec![placed(&[(seat_a(), 1)])], true),
        ("reserved", reserved_paid_order(), true),
        (
            "confirmed",
            with(reserved_paid_order(), [confirmed_event()]),
            true,
        ),
        ("cancelled", cancelled, false),
        ("expired", expired, false),
    ] {
        let state = Order::fold(&history);
        let decided = state
            .handle(&Command::Cancel {
                reason: "again".into(),
            })
            .is_ok();
        let can = state.data().unwrap().status.can_cancel();
        assert_eq!((can, decided), (accepted, accepted), "{label}");
    }
}

#[test]
fn status_names_are_stable_and_read_back() {
    for status in [
        OrderStatus::PendingReservation,
        OrderStatus::PartiallyReserved,
        OrderStatus::ReservationCompleted,
        OrderStatus::Confirmed,
        OrderStatus::Expired,
        OrderStatus::Cancelled,
    ] {
        assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
    }
    assert_eq!(OrderStatus::parse("Confirmed"), None);
    assert_eq!(OrderStatus::parse(""), None);
}

#[test]
fn status_names_are_stable() {
    let names: Vec<_> = [
        OrderStatus::PendingReservation,
        OrderStatus::PartiallyReserved,
        OrderStatus::ReservationCompleted,
        OrderStatus::Confirmed,
        OrderStatus::Expired,
        OrderStatus::Cancelled,
    ]
    .into_iter()
    .map(OrderStatus::as_str)
    .collect();
    assert_eq!(
        names,
        [
            "pending_reservation",
            "partially_reserved",
            "reserved",
            "confirmed",
            "expired",
            "cancelled"
        ]
    );
}

fn variant(e: &Error) -> &'static str {
    match e {
        Error::NoSeatsRequested => "NoSeatsRequested",
        Error::OrderAlreadyPlaced => "OrderAlreadyPlaced",
        Error::OrderNotFound => "OrderNotFound",
        Error::OrderAlreadyConfirmed => "OrderAlreadyConfirmed",
        Error::OrderExpired => "OrderExpired",
        Error::ReservationTimedOut(_) => "ReservationTimedOut",
        Error::OrderCancelled => "OrderCancelled",
        Error::SeatsNotReserved => "SeatsNotReserved",
        Error::OrderNotFreeOfCharge(_) => "OrderNotFreeOfCharge",
        Error::Pricing(_) => "Pricing",
        Error::OrderIsFree => "OrderIsFree",
    }
}
const VARIANTS: usize = 11;

#[test]
fn every_rule_is_refused_with_its_error() {
    let pending = vec![placed(&[(seat_a(), 2)])];
    let paid = reserved_paid_order();
    let confirmed = with(reserved_paid_order(), [confirmed_event()]);
    let expired = with(reserved_paid_order(), [OrderExpired {}.into()]);
    let cancelled = with(
        reserved_paid_order(),
        [OrderCancelled {
            reason: "asked".into(),
        }
        .into()],
    );
    let update = |q: u32| Command::Update {
        seats: seats(&[(seat_a(), q)]),
        promo_codes: vec![],
    };
    let free = |now: i64| Command::Confirm {
        basis: ConfirmationBasis::FreeOfCharge,
        now: at(now),
    };
    let no_seats: Vec<SeatQuantity> = vec![];

    let cases: Vec<(&str, Vec<Event>, Command, Error)> = vec![
        (
            "place with no seats",
            vec![],
            place(&[]),
            Error::NoSeatsRequested,
        ),
        (
            "place with only zero lines",
            vec![],
            place(&[(seat_a(), 0), (seat_b(), 0)]),
            Error::NoSeatsRequested,
        ),
        (
            "update to zero seats",
            paid.clone(),
            Command::Update {
                seats: no_seats,
                promo_codes: vec![],
            },
            Error::NoSeatsRequested,
        ),
        (
            "place twice",
            pending.clone(),
            place(&[(seat_a(), 1)]),
            Error::OrderAlreadyPlaced,
        ),
        (
            "update unknown order",
            vec![],
            update(1),
            Error::OrderNotFound,
        ),
        (
            "mark unknown order",
            vec![],
            mark(&[(seat_a(), 1)], vec![]),
            Error::OrderNotFound,
        ),
        (
            "registrant on unknown order",
            vec![],
            Command::AssignRegistrantDetails(registrant()),
            Error::OrderNotFound,
        ),
        (
            "confirm unknown order",
            vec![],
            confirm_paid(1),
            Error::OrderNotFound,
        ),
        (
            "cancel unknown order",
            vec![],
            Command::Cancel { reason: "x".into() },
            Error::OrderNotFound,
        ),
        (
            "update a confirmed order",
            confirmed.clone(),
            update(1),
            Error::OrderAlreadyConfirmed,
        ),
        (
            "mark a confirmed order",
            confirmed.clone(),
            mark(&[(seat_a(), 2)], vec![]),
            Error::OrderAlreadyConfirmed,
        ),
        (
            "a confirmed order cannot expire",
            confirmed.clone(),
            Command::Reject,
            Error::OrderAlreadyConfirmed,
        ),
        (
            "confirm twice",
            confirmed.clone(),
            confirm_paid(1),
            Error::OrderAlreadyConfirmed,
        ),
        (
            "an expired order cannot be confirmed",
            expired.clone(),
            confirm_paid(1),
            Error::OrderExpired,
        ),
        (
            "update an expired order",
            expired.clone(),
            update(1),
            Error::OrderExpired,
        ),
        (
            "mark an expired order",
            expired.clone(),
            mark(&[(seat_a(), 2)], vec![]),
            Error::OrderExpired,
        ),
        (
            "registrant on an expired order",
            expired.clone(),
            Command::AssignRegistrantDetails(registrant()),
            Error::OrderExpired,
        ),
        (
            "cancel an expired order",
            expired,
            Command::Cancel { reason: "x".into() },
            Error::OrderExpired,
        ),
        (
            "confirm after the hold ran out",
            paid.clone(),
            confirm_paid(21),
            Error::ReservationTimedOut(at(20)),
        ),
        (
            "confirm a free order after the hold ran out",
            reserved_free_order(),
            free(21),
            Error::ReservationTimedOut(at(20)),
        ),
        (
            "update a cancelled order",
            cancelled.clone(),
            update(1),
            Error::OrderCancelled,
        ),
        (
            "confirm a cancelled order",
            cancelled.clone(),
            confirm_paid(1),
            Error::OrderCancelled,
        ),
        (
            "registrant on a cancelled order",
            cancelled.clone(),
            Command::AssignRegistrantDetails(registrant()),
            Error::OrderCancelled,
        ),
        (
            "cancel twice",
            cancelled,
            Command::Cancel { reason: "x".into() },
            Error::OrderCancelled,
        ),
        (
            "confirm before reservation",
            pending.clone(),
            confirm_paid(1),
            Error::SeatsNotReserved,
        ),
        (
            "confirm free before reservation",
            pending.clone(),
            free(1),
            Error::SeatsNotReserved,
        ),
        (
            "confirm a paying order as free",
            paid,
            free(1),
            Error::OrderNotFreeOfCharge(money("200.00")),
        ),
        (
            "mark seats the price list lacks",
            pending,
            mark(&[(seat_c(), 1)], vec![]),
            Error::Pricing(PricingError::UnpricedSeatType(seat_c())),
        ),
    ];
    let mut covered = BTreeSet::new();
    for (label, history, command, error) in cases {
        covered.insert(variant(&error));
        given(history).case(label).when(command).then_err(error);
    }
    // Asked before a payment starts, not by a command (see `check_payable` below).
    let free = Order::fold(&reserved_free_order());
    let refused = free.data().unwrap().check_payable(at(1)).unwrap_err();
    covered.insert(variant(&refused));
    assert_eq!(covered.len(), VARIANTS, "{covered:?}");
}

/// Money is taken only for an order `Confirm` would confirm on a paid basis: open, its
/// seats reserved, its reservation running, and costing something.
#[test]
fn check_payable_refuses_what_confirm_would_and_free_orders() {
    let cancelled = with(
        reserved_paid_order(),
        [OrderCancelled {
            reason: "asked".into(),
        }
        .into()],
    );
    for (label, history, now, expected) in [
        ("payable", reserved_paid_order(), 1, Ok(())),
        ("at the expiry minute", reserved_paid_order(), 20, Ok(())),
        (
            "after the expiry minute",
            reserved_paid_order(),
            21,
            Err(Error::ReservationTimedOut(at(20))),
        ),
        (
            "pending",
            vec![placed(&[(seat_a(), 1)])],
            1,
            Err(Error::SeatsNotReserved),
        ),
        (
            "confirmed",
            with(reserved_paid_order(), [confirmed_event()]),
            1,
            Err(Error::OrderAlreadyConfirmed),
        ),
        (
            "expired",
            with(reserved_paid_order(), [OrderExpired {}.into()]),
            1,
            Err(Error::OrderExpired),
        ),
        ("cancelled", cancelled, 1, Err(Error::OrderCancelled)),
        ("free", reserved_free_order(), 1, Err(Error::OrderIsFree)),
    ] {
        let order = Order::fold(&history);
        assert_eq!(
            order.data().unwrap().check_payable(at(now)),
            expected,
            "{label}"
        );
    }
}

#[test]
fn the_hold_ends_at_the_last_reservation_expiration_inclusive() {
    // At exactly the expiry minute the order can still be confirmed.
    given(reserved_paid_order())
        .when(confirm_paid(20))
        .then([confirmed_event()]);
}
