//! The registration process manager as a pure reactor: one input in, commands out.
//!
//! tidy: long because the process manager's given/when/then cases, one per reaction, read
//! as one specification of one reactor.
use crate::support::*;
use conference_domain::order::{self, ConfirmationBasis};
use conference_domain::payment::{self, PaymentMethod};
use conference_domain::process::*;
use conference_domain::seats;
use conference_domain::{Holder, PaymentId, SeatQuantity};

/// An owned input (the process borrows its inputs).
#[derive(Clone, Debug)]
pub enum In {
    Order(order::Event),
    Seats(seats::Event),
    Payment(PaymentId, payment::Event),
    Expire(u32),
}

impl In {
    fn input(&self) -> Input<'_> {
        match self {
            Self::Order(e) => Input::Order(order_id(), e),
            Self::Seats(e) => Input::Seats(e),
            Self::Payment(id, e) => Input::Payment(*id, e),
            Self::Expire(sequence) => Input::Expire {
                order_id: order_id(),
                sequence: *sequence,
            },
        }
    }
}

struct GivenProcess {
    state: RegistrationProcess,
}

fn given_process(history: impl IntoIterator<Item = In>) -> GivenProcess {
    let state = history
        .into_iter()
        .fold(RegistrationProcess::default(), |state, input| {
            state.react(&input.input()).state
        });
    GivenProcess { state }
}

struct Reacted {
    before: RegistrationProcess,
    reaction: Reaction,
}

impl GivenProcess {
    fn when(self, input: In) -> Reacted {
        Reacted {
            reaction: self.state.react(&input.input()),
            before: self.state,
        }
    }
}

impl Reacted {
    #[track_caller]
    fn then(self, expected: impl IntoIterator<Item = Output>) -> RegistrationProcess {
        let expected: Vec<_> = expected.into_iter().collect();
        assert_eq!(self.reaction.commands, expected);
        self.reaction.state
    }

    /// Nothing is asked for and nothing about the process changes.
    #[track_caller]
    fn then_ignored(self) {
        assert_eq!(
            self.reaction.commands,
            vec![],
            "an ignored input asks for nothing"
        );
        assert_eq!(
            self.reaction.state, self.before,
            "an ignored input changes nothing"
        );
    }
}

fn wanted() -> Vec<SeatQuantity> {
    seats(&[(seat_a(), 3), (seat_b(), 1)])
}

fn placed_with(codes: &[&str]) -> In {
    In::Order(
        order::OrderPlaced {
            conference_id: conference_id(),
            seats: wanted(),
            access_code: access_code(),
            reservation_auto_expiration: at(15),
            promo_codes: codes.iter().map(|c| code(c)).collect(),
            holder: Holder::Device(device()),
            allow_override: true,
        }
        .into(),
    )
}

fn placed() -> In {
    placed_with(&[])
}

fn seats_reserved(details: &[(conference_domain::SeatTypeId, u32)]) -> In {
    In::Seats(
        seats::SeatsReserved {
            reservation_id: order_id(),
            details: seats(details),
            available_changed: vec![],
            overridden: vec![],
        }
        .into(),
    )
}

fn reserved_in_full() -> In {
    seats_reserved(&[(seat_a(), 3), (seat_b(), 1)])
}

fn paid_with(payment: PaymentId) -> In {
    In::Payment(
        payment,
        payment::PaymentCompleted {
            order_id: order_id(),
            method: PaymentMethod::Card,
            amount: money("350"),
            tendered: None,
            change: None,
            reference: Some("T-1".into()),
        }
        .into(),
    )
}

fn paid() -> In {
    paid_with(payment_id())
}

fn confirmed(payment: Option<PaymentId>) -> In {
    In::Order(
        order::OrderConfirmed {
            payment_id: payment,
        }
        .into(),
    )
}

fn cancelled() -> In {
    In::Order(
        order::OrderCancelled {
            reason: "asked".into(),
        }
        .into(),
    )
}

fn updated(list: &[(conference_domain::SeatTypeId, u32)], codes: &[&str]) -> In {
    In::Order(
        order::OrderUpdated {
            seats: seats(list),
            promo_codes: codes.iter().map(|c| code(c)).collect(),
        }
        .into(),
    )
}

fn holder() -> Holder {
    Holder::Device(device())
}

fn make_reservation(list: Vec<SeatQuantity>) -> Output {
    Output::MakeSeatReservation {
        conference_id: conference_id(),
        holder: holder(),
        order_id: order_id(),
        seats: list,
        allow_override: true,
    }
}

fn cancel_reservation() -> Output {
    Output::CancelSeatReservation {
        conference_id: conference_id(),
        holder: holder(),
        order_id: order_id(),
    }
}

fn commit_reservation() -> Output {
    Output::CommitSeatReservation {
        conference_id: conference_id(),
        holder: holder(),
        order_id: order_id(),
    }
}

fn refund(reason: &str) -> Output {
    Output::RefundPayment {
        payment_id: payment_id(),
        reason: reason.into(),
    }
}

fn release_codes(codes: &[&str], was_committed: bool) -> Output {
    Output::ReleasePromoRedemptions {
        conference_id: conference_id(),
        order_id: order_id(),
        codes: codes.iter().map(|c| code(c)).collect(),
        committed: was_committed,
    }
}

fn assignments(list: &[(conference_domain::SeatTypeId, u32)]) -> Output {
    Output::CreateSeatAssignments {
        order_id: order_id(),
        seats: seats(list),
    }
}

fn reject() -> Output {
    Output::RejectOrder {
        order_id: order_id(),
    }
}

#[test]
fn the_paid_path_reserves_marks_confirms_and_commits() {
    let state = given_process([]).when(placed()).then([
        make_reservation(wanted()),
        Output::ScheduleExpiry {
            order_id: order_id(),
            sequence: 1,
            due: at(15),
        },
    ]);
    assert_eq!(state.stage, Stage::AwaitingReservationConfirmation);
    assert_eq!(state.order_id, Some(order_id()));
    assert_eq!(state.holder, Some(holder()));

    let state = given_process([placed()])
        .when(seats_reserved(&[(seat_a(), 2), (seat_b(), 1)]))
        .then([Output::MarkSeatsAsReserved {
            order_id: order_id(),
            seats: seats(&[(seat_a(), 2), (seat_b(), 1)]),
            expiration: at(15),
        }]);
    assert_eq!(state.stage, Stage::ReservationConfirmationReceived);

    let state = given_process([placed(), reserved_in_full()])
        .when(paid())
        .then([Output::ConfirmOrder {
            order_id: order_id(),
            basis: ConfirmationBasis::Paid(payment_id()),
        }]);
    assert_eq!(state.stage, Stage::PaymentConfirmationReceived);
    assert_eq!(state.payment, Some(payment_id()));

    // What is committed and assigned is what was reserved, not what was asked for.
    let state = given_process([placed(), seats_reserved(&[(seat_a(), 2)]), paid()])
        .when(confirmed(Some(payment_id())))
        .then([commit_reservation(), assignments(&[(seat_a(), 2)])]);
    assert_eq!(state.stage, Stage::Completed);
}

#[test]
fn a_free_order_is_confirmed_straight_from_reservation() {
    let state = given_process([placed(), reserved_in_full()])
        .when(confirmed(None))
        .then([
            commit_reservation(),
            assignments(&[(seat_a(), 3), (seat_b(), 1)]),
        ]);
    assert_eq!(state.stage, Stage::Completed);
    assert_eq!(state.payment, None);
}

#[test]
fn expiry_cancels_the_reservation_and_rejects_the_order() {
    for (label, history) in [
        ("before seats were reserved", vec![placed()]),
        (
            "after seats were reserved",
            vec![placed(), reserved_in_full()],
        ),
    ] {
        let state = given_process(history)
            .when(In::Expire(1))
            .then([cancel_reservation(), reject()]);
        assert_eq!(state.stage, Stage::Expired, "{label}");
    }
}

#[test]
fn a_stale_or_unknown_expiry_is_ignored() {
    for sequence in [0, 2] {
        given_process([placed(), reserved_in_full()])
            .when(In::Expire(sequence))
            .then_ignored();
    }
    given_process([]).when(In::Expire(1)).then_ignored();
}

#[test]
fn expiry_after_completion_or_a_second_expiry_is_ignored() {
    given_process([
        placed(),
        reserved_in_full(),
        paid(),
        confirmed(Some(payment_id())),
    ])
    .when(In::Expire(1))
    .then_ignored();
    given_process([placed(), reserved_in_full(), confirmed(None)])
        .when(In::Expire(1))
        .then_ignored();
    given_process([placed(), In::Expire(1)])
        .when(In::Expire(1))
        .then_ignored();
    given_process([placed(), cancelled()])
        .when(In::Expire(1))
        .then_ignored();
}

#[test]
fn duplicate_inputs_are_ignored() {
    given_process([placed()]).when(placed()).then_ignored();
    given_process([placed(), reserved_in_full()])
        .when(reserved_in_full())
        .then_ignored();
    given_process([
        placed(),
        reserved_in_full(),
        paid(),
        confirmed(Some(payment_id())),
    ])
    .when(confirmed(Some(payment_id())))
    .then_ignored();
    given_process([placed(), cancelled()])
        .when(cancelled())
        .then_ignored();
}

#[test]
fn a_redelivered_payment_is_ignored_at_every_stage() {
    let histories = [
        (
            "payment received",
            vec![placed(), reserved_in_full(), paid()],
        ),
        (
            "completed",
            vec![
                placed(),
                reserved_in_full(),
                paid(),
                confirmed(Some(payment_id())),
            ],
        ),
        (
            "expired after payment",
            vec![placed(), reserved_in_full(), paid(), In::Expire(1)],
        ),
        ("paid after expiry", vec![placed(), In::Expire(1), paid()]),
        (
            "cancelled after confirmation",
            vec![
                placed(),
                reserved_in_full(),
                paid(),
                confirmed(Some(payment_id())),
                cancelled(),
            ],
        ),
    ];
    for (label, history) in histories {
        let before = given_process(history.clone()).state;
        let reaction = before.react(&paid().input());
        assert_eq!(
            reaction.commands,
            vec![],
            "{label}: nothing is refunded twice"
        );
        assert_eq!(reaction.state, before, "{label}");
    }
}

#[test]
fn a_second_payment_for_a_paid_order_is_refunded_and_the_first_is_kept() {
    let second = PaymentId::from_uuid(uuid(0xFB));
    let state = given_process([
        placed(),
        reserved_in_full(),
        paid(),
        confirmed(Some(payment_id())),
    ])
    .when(paid_with(second))
    .then([Output::RefundPayment {
        payment_id: second,
        reason: "the order was already paid".into(),
    }]);
    assert_eq!(state.payment, Some(payment_id()));
    // Cancelling the order later refunds the payment that confirmed it.
    given_process([
        placed(),
        reserved_in_full(),
        paid(),
        confirmed(Some(payment_id())),
        paid_with(second),
    ])
    .when(cancelled())
    .then([
        Output::ReleaseCommittedSeats {
            conference_id: conference_id(),
            holder: holder(),
            order_id: order_id(),
            seats: seats(&[(seat_a(), 3), (seat_b(), 1)]),
        },
        refund("the order was cancelled"),
    ]);
}

#[test]
fn seats_reserved_for_another_order_are_ignored() {
    given_process([placed()])
        .when(In::Seats(
            seats::SeatsReserved {
                reservation_id: other_order(),
                details: seats(&[(seat_a(), 1)]),
                available_changed: vec![],
                overridden: vec![],
            }
            .into(),
        ))
        .then_ignored();
    // Other seat events carry no order and change nothing.
    given_process([placed()])
        .when(In::Seats(
            seats::SeatsReservationCommitted {
                reservation_id: order_id(),
            }
            .into(),
        ))
        .then_ignored();
}

#[test]
fn payment_before_reservation_confirms_nothing_until_expiry_refunds_it() {
    let state = given_process([placed()]).when(paid()).then([]);
    assert_eq!(state.stage, Stage::AwaitingReservationConfirmation);
    assert!(state.payment_completed);
    given_process([placed(), paid()]).when(In::Expire(1)).then([
        cancel_reservation(),
        reject(),
        refund("the order expired"),
    ]);
}

#[test]
fn a_payment_after_expiry_is_refunded_and_never_confirms() {
    let state = given_process([placed(), reserved_in_full(), In::Expire(1)])
        .when(paid())
        .then([refund(
            "the order was no longer valid when the payment completed",
        )]);
    assert_eq!(state.stage, Stage::Expired);
    // A late OrderConfirmed (had the order been confirmed elsewhere) is ignored too.
    given_process([placed(), reserved_in_full(), In::Expire(1), paid()])
        .when(confirmed(Some(payment_id())))
        .then_ignored();
}

#[test]
fn expiry_after_payment_but_before_confirmation_refunds() {
    // ConfirmOrder failed (the hold ran out): the expiry undoes everything and refunds.
    given_process([placed(), reserved_in_full(), paid()])
        .when(In::Expire(1))
        .then([cancel_reservation(), reject(), refund("the order expired")]);
}

#[test]
fn cancelling_a_confirmed_order_releases_committed_seats_and_refunds() {
    let state = given_process([
        placed_with(&["LIMITED"]),
        seats_reserved(&[(seat_a(), 2)]),
        paid(),
        confirmed(Some(payment_id())),
    ])
    .when(cancelled())
    .then([
        Output::ReleaseCommittedSeats {
            conference_id: conference_id(),
            holder: holder(),
            order_id: order_id(),
            seats: seats(&[(seat_a(), 2)]),
        },
        release_codes(&["LIMITED"], true),
        refund("the order was cancelled"),
    ]);
    assert_eq!(state.stage, Stage::Cancelled);
}

#[test]
fn cancelling_an_open_order_cancels_its_reservation() {
    given_process([placed(), reserved_in_full()])
        .when(cancelled())
        .then([cancel_reservation()]);
    given_process([placed_with(&["LIMITED"]), reserved_in_full(), paid()])
        .when(cancelled())
        .then([
            cancel_reservation(),
            release_codes(&["LIMITED"], false),
            refund("the order was cancelled"),
        ]);
    // A free confirmed order: seats go back, nothing to refund.
    given_process([placed(), reserved_in_full(), confirmed(None)])
        .when(cancelled())
        .then([Output::ReleaseCommittedSeats {
            conference_id: conference_id(),
            holder: holder(),
            order_id: order_id(),
            seats: seats(&[(seat_a(), 3), (seat_b(), 1)]),
        }]);
    given_process([]).when(cancelled()).then_ignored();
    given_process([placed(), In::Expire(1)])
        .when(cancelled())
        .then_ignored();
}

#[test]
fn promo_codes_are_held_committed_and_released() {
    let hold = Output::HoldPromoRedemptions {
        conference_id: conference_id(),
        order_id: order_id(),
        codes: vec![code("LIMITED"), code("TEN")],
        seat_types: vec![seat_a(), seat_b()],
    };
    given_process([])
        .when(placed_with(&["LIMITED", "TEN"]))
        .then([
            make_reservation(wanted()),
            hold,
            Output::ScheduleExpiry {
                order_id: order_id(),
                sequence: 1,
                due: at(15),
            },
        ]);
    given_process([placed_with(&["LIMITED"]), reserved_in_full()])
        .when(confirmed(None))
        .then([
            commit_reservation(),
            Output::CommitPromoRedemptions {
                conference_id: conference_id(),
                order_id: order_id(),
            },
            assignments(&[(seat_a(), 3), (seat_b(), 1)]),
        ]);
    given_process([placed_with(&["LIMITED"]), reserved_in_full()])
        .when(In::Expire(1))
        .then([
            cancel_reservation(),
            release_codes(&["LIMITED"], false),
            reject(),
        ]);
}

#[test]
fn an_updated_order_is_reserved_again_with_its_new_codes() {
    let state = given_process([placed(), reserved_in_full()])
        .when(updated(&[(seat_a(), 1)], &["TEN"]))
        .then([
            make_reservation(seats(&[(seat_a(), 1)])),
            Output::HoldPromoRedemptions {
                conference_id: conference_id(),
                order_id: order_id(),
                codes: vec![code("TEN")],
                seat_types: vec![seat_a()],
            },
        ]);
    assert_eq!(state.stage, Stage::AwaitingReservationConfirmation);
    assert_eq!(state.promo_codes, vec![code("TEN")]);
    // Dropping every code still re-holds (with none), so earlier holds are released.
    given_process([placed_with(&["LIMITED"]), reserved_in_full()])
        .when(updated(&[(seat_a(), 1)], &[]))
        .then([
            make_reservation(seats(&[(seat_a(), 1)])),
            Output::HoldPromoRedemptions {
                conference_id: conference_id(),
                order_id: order_id(),
                codes: vec![],
                seat_types: vec![seat_a()],
            },
        ]);
    // Without codes before or after, there is nothing to hold.
    given_process([placed()])
        .when(updated(&[(seat_a(), 1)], &[]))
        .then([make_reservation(seats(&[(seat_a(), 1)]))]);
    // After payment the order can no longer change.
    given_process([placed(), reserved_in_full(), paid()])
        .when(updated(&[(seat_a(), 1)], &[]))
        .then_ignored();
}

#[test]
fn inputs_name_their_order() {
    let events = [placed(), reserved_in_full(), paid(), In::Expire(1)];
    for input in &events {
        assert_eq!(input.input().order_id(), Some(order_id()), "{input:?}");
    }
    let committed = seats::Event::from(seats::SeatsReservationCommitted {
        reservation_id: order_id(),
    });
    assert_eq!(Input::Seats(&committed).order_id(), None);
    let initiated = payment::Event::from(payment::PaymentInitiated {
        order_id: order_id(),
        conference_id: conference_id(),
        amount: money("1"),
        method: PaymentMethod::Cash,
        description: String::new(),
    });
    assert_eq!(
        Input::Payment(payment_id(), &initiated).order_id(),
        Some(order_id())
    );
    let rejected = payment::Event::from(payment::PaymentRejected {
        order_id: order_id(),
        reason: "x".into(),
    });
    assert_eq!(Input::Payment(payment_id(), &rejected).order_id(), None);
}

#[test]
fn a_v1_process_state_without_holder_override_or_codes_loads_as_a_pool_registration() {
    // Frozen V1 shape (tests/fixtures/v1): no holder, allow_override or promo_codes.
    let v1 = serde_json::json!({
        "stage": "reservation_confirmation_received",
        "order_id": "01a21cf1-2678-7158-80e6-21d84efa8f93",
        "conference_id": "01a21cf1-20c4-72e2-be1f-b4100a7b6c0c",
        "reservation_expires_at": "2026-03-02T16:47:00Z",
        "expiry_sequence": 1,
        "reserved": [{ "seat_type": "01a21cf1-20cd-75b0-8ef8-e5755b86bd97", "quantity": 2 }],
        "payment": null,
        "payment_completed": false
    });
    let state: conference_domain::process::RegistrationProcess =
        serde_json::from_value(v1).expect("a V1 process state loads");
    assert_eq!(state.holder, Some(conference_domain::Holder::Pool));
    assert!(!state.allow_override);
    assert!(state.promo_codes.is_empty());
    assert_eq!(state.reserved.len(), 1);
    // A V2 state keeps what it says.
    let fresh = conference_domain::process::RegistrationProcess::default();
    let text = serde_json::to_value(&fresh).unwrap();
    let back: conference_domain::process::RegistrationProcess =
        serde_json::from_value(text).unwrap();
    assert_eq!(back, fresh);
}

/// The sync server keeps no process state: it resumes the registration of an order the
/// pushing device placed from the order, at every stage the order can be in.
#[test]
fn a_registration_resumes_from_its_order() {
    use conference_domain::order::{OrderData, OrderStatus};
    let data = |status: OrderStatus, payment: Option<PaymentId>| OrderData {
        conference_id: conference_id(),
        holder: Holder::Device(device()),
        allow_override: true,
        access_code: access_code(),
        seats: seats(&[(seat_a(), 3)]),
        reserved: seats(&[(seat_a(), 2)]),
        promo_codes: vec![code("EARLY")],
        reservation_expires_at: at(15),
        status,
        totals: None,
        registrant: None,
        payment,
        was_confirmed: status == OrderStatus::Confirmed,
    };
    for (status, stage) in [
        (
            OrderStatus::PendingReservation,
            Stage::AwaitingReservationConfirmation,
        ),
        (
            OrderStatus::PartiallyReserved,
            Stage::ReservationConfirmationReceived,
        ),
        (
            OrderStatus::ReservationCompleted,
            Stage::ReservationConfirmationReceived,
        ),
        (OrderStatus::Confirmed, Stage::Completed),
        (OrderStatus::Expired, Stage::Expired),
        (OrderStatus::Cancelled, Stage::Cancelled),
    ] {
        let paid = (status == OrderStatus::Confirmed).then(payment_id);
        let resumed = RegistrationProcess::resume(order_id(), &data(status, paid));
        assert_eq!(
            resumed,
            RegistrationProcess {
                stage,
                order_id: Some(order_id()),
                conference_id: Some(conference_id()),
                holder: Some(Holder::Device(device())),
                allow_override: true,
                reservation_expires_at: Some(at(15)),
                expiry_sequence: 1,
                reserved: seats(&[(seat_a(), 2)]),
                promo_codes: vec![code("EARLY")],
                payment: paid,
                payment_completed: paid.is_some(),
            },
            "{status:?}"
        );
    }
    // Resumed where the order waits for payment, a payment confirms it as it would have
    // for the device that placed it.
    let waiting =
        RegistrationProcess::resume(order_id(), &data(OrderStatus::ReservationCompleted, None));
    let completed = payment::Event::PaymentCompleted(payment::PaymentCompleted {
        order_id: order_id(),
        method: PaymentMethod::Cash,
        amount: money("100"),
        tendered: None,
        change: None,
        reference: None,
    });
    let reaction = waiting.react(&Input::Payment(payment_id(), &completed));
    assert_eq!(
        reaction.commands,
        vec![Output::ConfirmOrder {
            order_id: order_id(),
            basis: ConfirmationBasis::Paid(payment_id()),
        }]
    );
}
