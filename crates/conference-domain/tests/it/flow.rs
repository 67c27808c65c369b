//! The registration process wired to the real aggregates in memory: every command the process
//! asks for is executed, and every event it causes is fed back, as a runner would.
use crate::support::*;
use conference_domain::aggregate::Aggregate;
use conference_domain::assignments::{self, SeatAssignments};
use conference_domain::discounts::{self, DiscountKind, PromoCodeDefinition, Promotions, Scope};
use conference_domain::order::{self, ConfirmationBasis, Order, OrderStatus};
use conference_domain::payment::{self, Payment, PaymentMethod};
use conference_domain::pricing::{PriceList, PricedSeatType};
use conference_domain::process::{Input, Output, RegistrationProcess, Stage};
use conference_domain::seats::{self, SeatsAvailability};
use conference_domain::{
    Holder, Money, OrderId, PaymentId, PromoCode, SeatQuantity, SeatTypeId, Timestamp,
};
use rust_decimal_macros::dec;
use std::collections::{BTreeMap, VecDeque};

enum Fed {
    Order(OrderId, order::Event),
    Seats(seats::Event),
    Payment(PaymentId, payment::Event),
    Expire(OrderId, u32),
}

impl Fed {
    fn input(&self) -> Input<'_> {
        match self {
            Self::Order(id, e) => Input::Order(*id, e),
            Self::Seats(e) => Input::Seats(e),
            Self::Payment(id, e) => Input::Payment(*id, e),
            Self::Expire(order_id, sequence) => Input::Expire {
                order_id: *order_id,
                sequence: *sequence,
            },
        }
    }
}

struct World {
    now: Timestamp,
    prices: PriceList,
    pool: SeatsAvailability,
    promos: Promotions,
    orders: BTreeMap<OrderId, Order>,
    payments: BTreeMap<PaymentId, Payment>,
    assignments: BTreeMap<OrderId, SeatAssignments>,
    processes: BTreeMap<OrderId, RegistrationProcess>,
    schedule: Vec<(OrderId, u32, Timestamp)>,
    queue: VecDeque<Fed>,
    /// Commands the process asked for that an aggregate refused.
    refused: Vec<String>,
}

fn execute<A: Aggregate>(state: &mut A, command: &A::Command) -> Result<Vec<A::Event>, A::Error> {
    let events = state.handle(command)?;
    for e in &events {
        state.apply(e);
    }
    Ok(events)
}

/// 10 General (A) at 100 and 5 Workshop (B) free; LIMITED (10%, 2 uses) and TEN (10%).
fn world() -> World {
    let mut pool = SeatsAvailability::default();
    for (seat_type, quantity) in [(seat_a(), 10), (seat_b(), 5)] {
        execute(
            &mut pool,
            &seats::Command::AddSeats {
                seat_type,
                quantity,
            },
        )
        .unwrap();
    }
    let mut promos = Promotions::default();
    for (text, max_uses) in [("LIMITED", Some(2)), ("TEN", None)] {
        let definition = PromoCodeDefinition {
            code: code(text),
            discount: DiscountKind::Percent(dec!(10)),
            scope: Scope::All,
            max_uses,
            exclusive: false,
        };
        execute(&mut promos, &discounts::Command::AddPromoCode(definition)).unwrap();
    }
    World {
        now: at(0),
        prices: PriceList {
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
                    price: Money::ZERO,
                },
            ],
        },
        pool,
        promos,
        orders: BTreeMap::new(),
        payments: BTreeMap::new(),
        assignments: BTreeMap::new(),
        processes: BTreeMap::new(),
        schedule: vec![],
        queue: VecDeque::new(),
        refused: vec![],
    }
}

fn codes(list: &[&str]) -> Vec<PromoCode> {
    list.iter().map(|c| code(c)).collect()
}

impl World {
    fn order_command(&mut self, id: OrderId, command: &order::Command) -> Result<(), order::Error> {
        let events = execute(self.orders.entry(id).or_default(), command)?;
        self.queue
            .extend(events.into_iter().map(|e| Fed::Order(id, e)));
        self.drain();
        Ok(())
    }

    fn place(&mut self, id: OrderId, wanted: &[(SeatTypeId, u32)], promo: &[&str]) {
        let command = order::Command::Place {
            conference_id: conference_id(),
            seats: seats(wanted),
            promo_codes: codes(promo),
            access_code: access_code(),
            holder: Holder::Pool,
            allow_override: false,
            reservation_expires_at: self.now + chrono::Duration::minutes(15),
        };
        self.order_command(id, &command).unwrap();
    }

    fn update(&mut self, id: OrderId, wanted: &[(SeatTypeId, u32)], promo: &[&str]) {
        let command = order::Command::Update {
            seats: seats(wanted),
            promo_codes: codes(promo),
        };
        self.order_command(id, &command).unwrap();
    }

    /// Takes a card payment of the order's total.
    fn pay(&mut self, order_id: OrderId, payment_id: PaymentId) {
        let amount = self.order(order_id).total();
        let payment = self.payments.entry(payment_id).or_default();
        execute(
            payment,
            &payment::Command::Initiate {
                order_id,
                conference_id: conference_id(),
                amount,
                method: PaymentMethod::Card,
                description: String::new(),
            },
        )
        .unwrap();
        let events = execute(
            payment,
            &payment::Command::Complete {
                tendered: None,
                reference: Some("T-42".into()),
            },
        )
        .unwrap();
        self.queue
            .extend(events.into_iter().map(|e| Fed::Payment(payment_id, e)));
        self.drain();
    }

    /// Moves the clock and fires every expiry that came due.
    fn advance_to(&mut self, minutes: i64) {
        self.now = at(minutes);
        let (due, later): (Vec<_>, Vec<_>) = self
            .schedule
            .drain(..)
            .partition(|(_, _, when)| *when <= self.now);
        self.schedule = later;
        self.queue.extend(
            due.into_iter()
                .map(|(id, sequence, _)| Fed::Expire(id, sequence)),
        );
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(fed) = self.queue.pop_front() {
            let Some(order_id) = fed.input().order_id() else {
                continue;
            };
            let process = self.processes.entry(order_id).or_default();
            let reaction = process.react(&fed.input());
            *process = reaction.state;
            for output in reaction.commands {
                self.perform(output);
            }
        }
    }

    fn seats_command(&mut self, command: &seats::Command) {
        match execute(&mut self.pool, command) {
            Ok(events) => self.queue.extend(events.into_iter().map(Fed::Seats)),
            Err(e) => self.refused.push(format!("seats: {e}")),
        }
    }

    fn promos_command(&mut self, command: &discounts::Command) {
        if let Err(e) = execute(&mut self.promos, command) {
            self.refused.push(format!("promos: {e}"));
        }
    }

    fn order_from_process(&mut self, id: OrderId, command: &order::Command) {
        if let Err(e) = self.order_command(id, command) {
            self.refused.push(format!("order: {e}"));
        }
    }

    fn perform(&mut self, output: Output) {
        match output {
            Output::MakeSeatReservation {
                order_id,
                seats,
                allow_override,
                ..
            } => self.seats_command(&seats::Command::MakeSeatReservation {
                reservation_id: order_id,
                seats,
                allow_override,
            }),
            Output::HoldPromoRedemptions {
                order_id,
                codes,
                seat_types,
                ..
            } => self.promos_command(&discounts::Command::HoldRedemptions {
                order_id,
                codes,
                seat_types,
            }),
            Output::ScheduleExpiry {
                order_id,
                sequence,
                due,
            } => self.schedule.push((order_id, sequence, due)),
            Output::MarkSeatsAsReserved {
                order_id,
                seats,
                expiration,
            } => {
                let codes = self.order(order_id).promo_codes.clone();
                let types: Vec<SeatTypeId> = seats.iter().map(|s| s.seat_type).collect();
                let discounts = self.promos.validate(&codes, &types).unwrap_or_default();
                let command = order::Command::MarkSeatsAsReserved {
                    seats,
                    expiration,
                    price_list: self.prices.clone(),
                    discounts,
                };
                self.order_from_process(order_id, &command);
            }
            Output::ConfirmOrder { order_id, basis } => {
                let now = self.now;
                self.order_from_process(order_id, &order::Command::Confirm { basis, now });
            }
            Output::CommitSeatReservation { order_id, .. } => {
                self.seats_command(&seats::Command::CommitSeatReservation {
                    reservation_id: order_id,
                });
            }
            Output::CommitPromoRedemptions { order_id, .. } => {
                self.promos_command(&discounts::Command::CommitRedemptions { order_id });
            }
            Output::CreateSeatAssignments { order_id, seats } => {
                let result = execute(
                    self.assignments.entry(order_id).or_default(),
                    &assignments::Command::Create { order_id, seats },
                );
                if let Err(e) = result {
                    self.refused.push(format!("assignments: {e}"));
                }
            }
            Output::CancelSeatReservation { order_id, .. } => {
                self.seats_command(&seats::Command::CancelSeatReservation {
                    reservation_id: order_id,
                });
            }
            Output::ReleaseCommittedSeats {
                order_id, seats, ..
            } => self.seats_command(&seats::Command::ReleaseCommittedSeats {
                reservation_id: order_id,
                seats,
            }),
            Output::ReleasePromoRedemptions {
                order_id,
                codes,
                committed,
                ..
            } => self.promos_command(&discounts::Command::ReleaseRedemptions {
                order_id,
                codes,
                committed,
            }),
            Output::RejectOrder { order_id } => {
                self.order_from_process(order_id, &order::Command::Reject);
            }
            Output::RefundPayment { payment_id, reason } => {
                let result = execute(
                    self.payments.entry(payment_id).or_default(),
                    &payment::Command::Refund { reason },
                );
                if let Err(e) = result {
                    self.refused.push(format!("payment: {e}"));
                }
            }
        }
    }

    fn order(&self, id: OrderId) -> &order::OrderData {
        self.orders[&id].data().expect("the order was placed")
    }

    fn remaining(&self) -> [i64; 2] {
        [self.pool.remaining(seat_a()), self.pool.remaining(seat_b())]
    }

    fn held(&self, id: OrderId) -> Vec<SeatQuantity> {
        self.pool
            .pending
            .get(&id)
            .map(|m| m.iter().map(|(t, q)| SeatQuantity::new(*t, *q)).collect())
            .unwrap_or_default()
    }

    fn limited(&self) -> &discounts::PromoState {
        &self.promos.codes[&code("LIMITED")]
    }

    fn assert_nothing_refused(&self) {
        assert!(self.refused.is_empty(), "refused: {:?}", self.refused);
    }
}

#[test]
fn a_paid_order_runs_from_placement_to_assigned_seats() {
    let mut w = world();
    w.place(order_id(), &[(seat_a(), 3)], &["LIMITED"]);
    let order = w.order(order_id());
    assert_eq!(order.status, OrderStatus::ReservationCompleted);
    assert_eq!(order.total(), money("270.00"));
    assert_eq!(w.remaining(), [7, 5]);
    assert_eq!(w.held(order_id()), seats(&[(seat_a(), 3)]));
    assert_eq!(w.limited().uses_left(), Some(1));

    w.advance_to(5);
    w.pay(order_id(), payment_id());
    let order = w.order(order_id());
    assert_eq!(order.status, OrderStatus::Confirmed);
    assert_eq!(order.payment, Some(payment_id()));
    assert_eq!(w.remaining(), [7, 5], "committed seats stay taken");
    assert!(w.pool.pending.is_empty());
    assert_eq!((w.limited().redeemed, w.limited().held.len()), (1, 0));
    let SeatAssignments::Created { seats, .. } = &w.assignments[&order_id()] else {
        panic!("no seat assignments")
    };
    assert_eq!(seats.len(), 3);
    assert_eq!(w.processes[&order_id()].stage, Stage::Completed);

    // The expiry that was scheduled changes nothing when it comes due.
    w.advance_to(30);
    assert_eq!(w.order(order_id()).status, OrderStatus::Confirmed);
    assert_eq!(w.remaining(), [7, 5]);
    w.assert_nothing_refused();
}

#[test]
fn a_free_order_never_enters_payment() {
    let mut w = world();
    w.place(order_id(), &[(seat_b(), 2)], &[]);
    assert!(w.order(order_id()).is_free_of_charge());
    w.order_command(
        order_id(),
        &order::Command::AssignRegistrantDetails(person("Ada", "Lovelace", "ada@example.org")),
    )
    .unwrap();
    w.order_command(
        order_id(),
        &order::Command::Confirm {
            basis: ConfirmationBasis::FreeOfCharge,
            now: w.now,
        },
    )
    .unwrap();
    assert_eq!(w.order(order_id()).status, OrderStatus::Confirmed);
    assert_eq!(w.remaining(), [10, 3]);
    assert!(w.pool.pending.is_empty());
    assert!(w.payments.is_empty());
    assert!(w.assignments.contains_key(&order_id()));
    w.assert_nothing_refused();
}

#[test]
fn an_order_that_is_not_paid_in_time_expires_and_gives_everything_back() {
    let mut w = world();
    w.place(order_id(), &[(seat_a(), 4)], &["LIMITED"]);
    w.advance_to(14);
    assert_eq!(
        w.order(order_id()).status,
        OrderStatus::ReservationCompleted
    );
    w.advance_to(15);
    assert_eq!(w.order(order_id()).status, OrderStatus::Expired);
    assert_eq!(w.remaining(), [10, 5]);
    assert!(w.pool.pending.is_empty());
    assert_eq!(w.limited().uses_left(), Some(2));
    w.assert_nothing_refused();
}

#[test]
fn a_payment_after_expiry_is_refunded_and_the_order_stays_expired() {
    let mut w = world();
    w.place(order_id(), &[(seat_a(), 1)], &[]);
    w.advance_to(16);
    w.pay(order_id(), payment_id());
    assert_eq!(w.order(order_id()).status, OrderStatus::Expired);
    assert!(matches!(w.payments[&payment_id()], Payment::Refunded(_)));
    assert_eq!(w.remaining(), [10, 5]);
    w.assert_nothing_refused();
}

#[test]
fn a_payment_after_the_hold_ran_out_is_refunded_when_the_expiry_fires() {
    let mut w = world();
    w.place(order_id(), &[(seat_a(), 1)], &[]);
    // The clock has passed the hold, but the scheduled expiry has not fired yet.
    w.now = at(16);
    w.pay(order_id(), payment_id());
    assert_eq!(
        w.order(order_id()).status,
        OrderStatus::ReservationCompleted
    );
    assert_eq!(
        w.refused,
        ["order: the order's reservation ran out at 2026-03-01 09:15:00 UTC; place a new order"]
    );
    w.refused.clear();
    w.advance_to(16);
    assert_eq!(w.order(order_id()).status, OrderStatus::Expired);
    assert!(matches!(w.payments[&payment_id()], Payment::Refunded(_)));
    assert_eq!(w.remaining(), [10, 5]);
    w.assert_nothing_refused();
}

#[test]
fn cancelling_a_confirmed_order_gives_seats_code_and_money_back() {
    let mut w = world();
    w.place(order_id(), &[(seat_a(), 2)], &["LIMITED"]);
    w.pay(order_id(), payment_id());
    assert_eq!(w.remaining(), [8, 5]);
    w.order_command(
        order_id(),
        &order::Command::Cancel {
            reason: "cannot come".into(),
        },
    )
    .unwrap();
    assert_eq!(w.order(order_id()).status, OrderStatus::Cancelled);
    assert_eq!(w.remaining(), [10, 5]);
    assert_eq!(
        (w.limited().redeemed, w.limited().uses_left()),
        (0, Some(2))
    );
    assert!(matches!(w.payments[&payment_id()], Payment::Refunded(_)));
    w.assert_nothing_refused();
}

#[test]
fn a_second_order_gets_what_is_left_and_can_pay_for_it() {
    let mut w = world();
    w.place(order_id(), &[(seat_a(), 6)], &[]);
    w.place(other_order(), &[(seat_a(), 6)], &[]);
    let second = w.order(other_order());
    assert_eq!(second.status, OrderStatus::PartiallyReserved);
    assert_eq!(second.reserved, seats(&[(seat_a(), 4)]));
    assert_eq!(second.total(), money("400.00"));
    w.pay(other_order(), PaymentId::from_uuid(uuid(0xFB)));
    assert_eq!(w.order(other_order()).status, OrderStatus::Confirmed);
    assert_eq!(w.remaining(), [0, 5]);
    w.assert_nothing_refused();
}

#[test]
fn updating_only_the_promo_codes_prices_the_order_again() {
    let mut w = world();
    w.place(order_id(), &[(seat_a(), 2)], &[]);
    assert_eq!(w.order(order_id()).total(), money("200.00"));
    w.update(order_id(), &[(seat_a(), 2)], &["LIMITED"]);
    let order = w.order(order_id());
    assert_eq!(order.status, OrderStatus::ReservationCompleted);
    assert_eq!(order.total(), money("180.00"));
    assert_eq!(w.limited().uses_left(), Some(1));
    w.pay(order_id(), payment_id());
    assert_eq!(w.order(order_id()).status, OrderStatus::Confirmed);
    w.assert_nothing_refused();
}

#[test]
fn updating_the_seats_takes_or_returns_the_difference() {
    let mut w = world();
    w.place(order_id(), &[(seat_a(), 2)], &["TEN"]);
    w.update(order_id(), &[(seat_a(), 5), (seat_b(), 1)], &["TEN"]);
    let order = w.order(order_id());
    assert_eq!(order.status, OrderStatus::ReservationCompleted);
    assert_eq!(order.total(), money("450.00"));
    assert_eq!(w.remaining(), [5, 4]);
    w.update(order_id(), &[(seat_a(), 1)], &[]);
    assert_eq!(w.remaining(), [9, 5]);
    assert_eq!(w.order(order_id()).total(), money("100.00"));
    w.assert_nothing_refused();
}
