//! Values checked where events come in from another device: everything the domain writes
//! passes, and every amount or count it never writes is refused, whichever event carries it.
use crate::support::*;
use conference_domain::aggregate::DomainEvent;
use conference_domain::conference::{self, SeatType, SeatTypeCreated, SeatTypeUpdated};
use conference_domain::discounts::{
    self, DiscountKind, PromoCodeAdded, PromoCodeDefinition, Scope,
};
use conference_domain::limits::{MAX_MONEY, check};
use conference_domain::order::{
    self, OrderPartiallyReserved, OrderPlaced, OrderReservationCompleted, OrderTotalsCalculated,
    OrderUpdated,
};
use conference_domain::payment::{
    self, PaymentCompleted, PaymentInitiated, PaymentMethod, PaymentRefunded,
};
use conference_domain::pricing::{LineKind, OrderLine};
use conference_domain::seats::{self, AllotmentReceived, AvailableSeatsChanged, SeatsAllotted};
use conference_domain::stream::Holder;
use rust_decimal::Decimal;

fn seat_type(price: &str, quantity: u32) -> SeatType {
    SeatType {
        id: seat_a(),
        name: "Full".into(),
        description: String::new(),
        price: money(price),
        quantity,
    }
}

fn conference(event: conference::Event) -> DomainEvent {
    DomainEvent::Conference(event)
}

fn created(price: &str, quantity: u32) -> DomainEvent {
    conference(
        SeatTypeCreated {
            seat_type: seat_type(price, quantity),
        }
        .into(),
    )
}

fn code_of(discount: DiscountKind) -> DomainEvent {
    DomainEvent::Promos(discounts::Event::PromoCodeAdded(PromoCodeAdded {
        definition: PromoCodeDefinition {
            code: code("LIMITS"),
            discount,
            scope: Scope::All,
            max_uses: None,
            exclusive: false,
        },
    }))
}

fn line(kind: LineKind, total: &str) -> OrderLine {
    OrderLine {
        kind,
        description: "line".into(),
        seat_type: None,
        promo_code: None,
        quantity: 1,
        unit_price: money(total),
        total: money(total),
    }
}

fn totals(total: &str, lines: Vec<OrderLine>) -> DomainEvent {
    DomainEvent::Order(order::Event::OrderTotalsCalculated(OrderTotalsCalculated {
        total: money(total),
        lines,
        is_free_of_charge: false,
    }))
}

fn paid(amount: &str, tendered: Option<&str>, change: Option<&str>) -> DomainEvent {
    DomainEvent::Payment(payment::Event::PaymentCompleted(PaymentCompleted {
        order_id: order_id(),
        method: PaymentMethod::Cash,
        amount: money(amount),
        tendered: tendered.map(money),
        change: change.map(money),
        reference: None,
    }))
}

fn seats_event(event: seats::Event) -> DomainEvent {
    DomainEvent::Seats(event)
}

#[test]
fn what_the_domain_writes_passes() {
    for event in [
        created("0", 0),
        created("50000", 100_000),
        conference(
            SeatTypeUpdated {
                seat_type: seat_type("120", 100),
                previous_quantity: 100_000,
            }
            .into(),
        ),
        code_of(DiscountKind::Percent(Decimal::ONE_HUNDRED)),
        code_of(DiscountKind::Amount(money("20"))),
        totals(
            "85.00",
            vec![
                line(LineKind::Seat, "100.00"),
                line(LineKind::Discount, "-15.00"),
            ],
        ),
        paid("85.00", Some("100.00"), Some("15.00")),
        seats_event(
            AvailableSeatsChanged {
                seats: vec![delta(seat_a(), -100_000), delta(seat_b(), 100_000)],
            }
            .into(),
        ),
        seats_event(
            SeatsAllotted {
                device: device(),
                seats: seats(&[(seat_a(), 100_000)]),
            }
            .into(),
        ),
        seats_event(
            AvailableSeatsChanged {
                seats: vec![delta(seat_a(), 2), delta(seat_b(), -3)],
            }
            .into(),
        ),
        DomainEvent::Payment(payment::Event::PaymentInitiated(PaymentInitiated {
            order_id: order_id(),
            conference_id: conference_id(),
            amount: money("85.00"),
            method: PaymentMethod::Card,
            description: String::new(),
        })),
        DomainEvent::Payment(payment::Event::PaymentRefunded(PaymentRefunded {
            order_id: order_id(),
            amount: money("85.00"),
            reason: "cancelled".into(),
        })),
        DomainEvent::Order(order::Event::OrderPlaced(OrderPlaced {
            conference_id: conference_id(),
            seats: seats(&[(seat_a(), 2)]),
            access_code: access_code(),
            reservation_auto_expiration: at(15),
            promo_codes: vec![],
            holder: Holder::Pool,
            allow_override: false,
        })),
    ] {
        assert_eq!(check(&event), Ok(()), "{event:?}");
    }
}

#[test]
fn amounts_and_counts_the_domain_never_writes_are_refused() {
    let max = MAX_MONEY.to_string();
    let beyond = (MAX_MONEY + 1).to_string();
    assert_eq!(check(&totals(&max, vec![])), Ok(()));
    for (label, event) in [
        ("a negative price", created("-500", 10)),
        ("a price past 50,000", created("50000.01", 10)),
        (
            "the largest decimal",
            created("79228162514264337593543950335", 1),
        ),
        ("more seats than a seat type holds", created("10", 100_001)),
        (
            "a previous quantity past the limit",
            conference(
                SeatTypeUpdated {
                    seat_type: seat_type("10", 1),
                    previous_quantity: u32::MAX,
                }
                .into(),
            ),
        ),
        (
            "no percentage",
            code_of(DiscountKind::Percent(Decimal::ZERO)),
        ),
        (
            "over a hundred percent",
            code_of(DiscountKind::Percent(Decimal::from(101))),
        ),
        (
            "a negative amount off",
            code_of(DiscountKind::Amount(money("-1"))),
        ),
        ("a negative total", totals("-1", vec![])),
        ("a total past the limit", totals(&beyond, vec![])),
        (
            "a negative seat line",
            totals("0", vec![line(LineKind::Seat, "-10")]),
        ),
        (
            "a positive discount line",
            totals("0", vec![line(LineKind::Discount, "10")]),
        ),
        (
            "a line past the limit",
            totals("0", vec![line(LineKind::Seat, &beyond)]),
        ),
        ("a negative payment", paid("-5", None, None)),
        ("a negative tender", paid("5", Some("-5"), None)),
        ("change past the limit", paid("5", None, Some(&beyond))),
        (
            "a pool change past the limit",
            seats_event(
                AvailableSeatsChanged {
                    seats: vec![delta(seat_a(), 50_000), delta(seat_b(), -100_001)],
                }
                .into(),
            ),
        ),
        (
            "an allotment of 2^32 - 1 seats",
            seats_event(
                AllotmentReceived {
                    seats: seats(&[(seat_a(), u32::MAX)]),
                }
                .into(),
            ),
        ),
        (
            "an update to too many seats",
            DomainEvent::Order(order::Event::OrderUpdated(OrderUpdated {
                seats: seats(&[(seat_a(), 100_001)]),
                promo_codes: vec![],
            })),
        ),
        (
            "too many seats held for an order",
            DomainEvent::Order(order::Event::OrderPartiallyReserved(
                OrderPartiallyReserved {
                    reservation_expiration: at(15),
                    seats: seats(&[(seat_a(), 100_001)]),
                },
            )),
        ),
        (
            "too many seats reserved for an order",
            DomainEvent::Order(order::Event::OrderReservationCompleted(
                OrderReservationCompleted {
                    reservation_expiration: at(15),
                    seats: seats(&[(seat_a(), 100_001)]),
                },
            )),
        ),
        (
            "a negative payment started",
            DomainEvent::Payment(payment::Event::PaymentInitiated(PaymentInitiated {
                order_id: order_id(),
                conference_id: conference_id(),
                amount: money("-1"),
                method: PaymentMethod::Card,
                description: String::new(),
            })),
        ),
        (
            "a refund past the limit",
            DomainEvent::Payment(payment::Event::PaymentRefunded(PaymentRefunded {
                order_id: order_id(),
                amount: money(&beyond),
                reason: "cancelled".into(),
            })),
        ),
        (
            "an order of too many seats",
            DomainEvent::Order(order::Event::OrderPlaced(OrderPlaced {
                conference_id: conference_id(),
                seats: seats(&[(seat_a(), 1), (seat_b(), 100_001)]),
                access_code: access_code(),
                reservation_auto_expiration: at(15),
                promo_codes: vec![],
                holder: Holder::Pool,
                allow_override: false,
            })),
        ),
    ] {
        let refused = check(&event).expect_err(label);
        assert!(
            refused.to_string().contains("out of range"),
            "{label}: {refused}"
        );
    }
}

#[test]
fn folding_seat_changes_past_what_a_count_holds_saturates() {
    use conference_domain::aggregate::Aggregate;
    let mut pool = seats::SeatsAvailability::default();
    for _ in 0..3 {
        pool.apply(&seats::Event::AvailableSeatsChanged(
            AvailableSeatsChanged {
                seats: vec![delta(seat_a(), i64::MAX)],
            },
        ));
    }
    assert_eq!(pool.remaining(seat_a()), i64::MAX);
}
