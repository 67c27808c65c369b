//! SeatsAvailability: the reference facts of the Contoso `SeatsAvailability` tests, plus
//! overrides, allotments and releases.
use crate::support::*;
use conference_domain::seats::*;
use conference_domain::{OrderId, SeatTypeId};
use std::collections::{BTreeMap, BTreeSet};

fn added(list: &[(SeatTypeId, i64)]) -> Event {
    AvailableSeatsChanged {
        seats: list.iter().map(|(t, q)| delta(*t, *q)).collect(),
    }
    .into()
}

fn reserved(
    reservation: OrderId,
    details: &[(SeatTypeId, u32)],
    changed: &[(SeatTypeId, i64)],
) -> Event {
    SeatsReserved {
        reservation_id: reservation,
        details: seats(details),
        available_changed: changed.iter().map(|(t, q)| delta(*t, *q)).collect(),
        overridden: vec![],
    }
    .into()
}

fn reserve(reservation: OrderId, wanted: &[(SeatTypeId, u32)]) -> Command {
    Command::MakeSeatReservation {
        reservation_id: reservation,
        seats: seats(wanted),
        allow_override: false,
    }
}

fn ten_of_a() -> Vec<Event> {
    vec![added(&[(seat_a(), 10)])]
}

/// Two seat types (10 and 12), 6 of the first held by another reservation.
fn two_types_six_held_elsewhere() -> Vec<Event> {
    vec![
        added(&[(seat_a(), 10)]),
        added(&[(seat_b(), 12)]),
        reserved(other_order(), &[(seat_a(), 6)], &[(seat_a(), -6)]),
    ]
}

/// Two seat types (10 and 12), 6 of the first held by `order_id()`.
fn existing_reservation_of_six() -> Vec<Event> {
    vec![
        added(&[(seat_a(), 10), (seat_b(), 12)]),
        reserved(order_id(), &[(seat_a(), 6)], &[(seat_a(), -6)]),
    ]
}

fn remaining(state: &SeatsAvailability) -> Vec<i64> {
    vec![state.remaining(seat_a()), state.remaining(seat_b())]
}

#[test]
fn adding_seats_makes_them_available() {
    let state = given_nothing::<SeatsAvailability>()
        .when(Command::AddSeats {
            seat_type: seat_a(),
            quantity: 10,
        })
        .then([added(&[(seat_a(), 10)])]);
    assert_eq!(state.remaining(seat_a()), 10);
}

#[test]
fn adding_zero_seats_makes_the_seat_type_known() {
    let state = given_nothing::<SeatsAvailability>()
        .when(Command::AddSeats {
            seat_type: seat_a(),
            quantity: 0,
        })
        .then([added(&[(seat_a(), 0)])]);
    // Known with nothing left: a reservation is partial (empty), not an error.
    given(vec![added(&[(seat_a(), 0)])])
        .when(reserve(order_id(), &[(seat_a(), 2)]))
        .then([reserved(order_id(), &[], &[])]);
    assert_eq!(state.remaining(seat_a()), 0);
}

#[test]
fn removing_seats_takes_them_away_and_removing_none_records_nothing() {
    let state = given(ten_of_a())
        .when(Command::RemoveSeats {
            seat_type: seat_a(),
            quantity: 3,
        })
        .then([added(&[(seat_a(), -3)])]);
    assert_eq!(state.remaining(seat_a()), 7);
    given(ten_of_a())
        .when(Command::RemoveSeats {
            seat_type: seat_a(),
            quantity: 0,
        })
        .then([]);
}

#[test]
fn with_ten_available_reserving_four_takes_four() {
    let state = given(ten_of_a())
        .when(reserve(order_id(), &[(seat_a(), 4)]))
        .then([reserved(order_id(), &[(seat_a(), 4)], &[(seat_a(), -4)])]);
    assert_eq!(state.remaining(seat_a()), 6);
    assert_eq!(state.pending[&order_id()][&seat_a()], 4);
}

#[test]
fn with_ten_available_reserving_eleven_takes_ten() {
    let state = given(ten_of_a())
        .when(reserve(order_id(), &[(seat_a(), 11)]))
        .then([reserved(order_id(), &[(seat_a(), 10)], &[(seat_a(), -10)])]);
    assert_eq!(state.remaining(seat_a()), 0);
}

#[test]
fn a_seat_type_never_held_has_none_left() {
    given(ten_of_a())
        .when(reserve(order_id(), &[(seat_a(), 1), (seat_c(), 1)]))
        .then([reserved(order_id(), &[(seat_a(), 1)], &[(seat_a(), -1)])]);
}

#[test]
fn with_six_held_elsewhere_reserving_four_takes_four() {
    let state = given(two_types_six_held_elsewhere())
        .when(reserve(order_id(), &[(seat_a(), 4)]))
        .then([reserved(order_id(), &[(seat_a(), 4)], &[(seat_a(), -4)])]);
    assert_eq!(remaining(&state), [0, 12]);
}

#[test]
fn with_six_held_elsewhere_reserving_five_takes_the_four_left() {
    let state = given(two_types_six_held_elsewhere())
        .when(reserve(order_id(), &[(seat_a(), 5)]))
        .then([reserved(order_id(), &[(seat_a(), 4)], &[(seat_a(), -4)])]);
    assert_eq!(remaining(&state), [0, 12]);
}

#[test]
fn cancelling_or_committing_an_unknown_reservation_records_nothing() {
    given(two_types_six_held_elsewhere())
        .when(Command::CancelSeatReservation {
            reservation_id: order_id(),
        })
        .then([]);
    given(two_types_six_held_elsewhere())
        .when(Command::CommitSeatReservation {
            reservation_id: order_id(),
        })
        .then([]);
}

#[test]
fn committing_a_reservation_keeps_its_seats_taken() {
    let state = given(existing_reservation_of_six())
        .when(Command::CommitSeatReservation {
            reservation_id: order_id(),
        })
        .then([SeatsReservationCommitted {
            reservation_id: order_id(),
        }
        .into()]);
    assert_eq!(remaining(&state), [4, 12]);
    assert!(state.pending.is_empty());
}

#[test]
fn cancelling_a_reservation_gives_its_seats_back() {
    let state = given(existing_reservation_of_six())
        .when(Command::CancelSeatReservation {
            reservation_id: order_id(),
        })
        .then([SeatsReservationCancelled {
            reservation_id: order_id(),
            available_changed: vec![delta(seat_a(), 6)],
        }
        .into()]);
    assert_eq!(remaining(&state), [10, 12]);
    assert!(state.pending.is_empty());
}

#[test]
fn reserving_again_takes_or_returns_only_the_difference() {
    /// (case, wanted, held after, change to remaining, remaining of A and B after)
    type Case<'a> = (&'a str, u32, &'a [(SeatTypeId, u32)], i64, [i64; 2]);
    let cases: [Case; 3] = [
        ("grow to 8", 8, &[(seat_a(), 8)], -2, [2, 12]),
        ("shrink to 2", 2, &[(seat_a(), 2)], 4, [8, 12]),
        (
            "grow to 12, only 10 exist",
            12,
            &[(seat_a(), 10)],
            -4,
            [0, 12],
        ),
    ];
    for (label, wanted, details, change, left) in cases {
        let state = given(existing_reservation_of_six())
            .case(label)
            .when(reserve(order_id(), &[(seat_a(), wanted)]))
            .then([reserved(order_id(), details, &[(seat_a(), change)])]);
        assert_eq!(remaining(&state), left, "{label}");
    }
}

#[test]
fn reserving_another_seat_type_returns_the_old_hold() {
    let state = given(existing_reservation_of_six())
        .when(reserve(order_id(), &[(seat_b(), 3)]))
        .then([reserved(
            order_id(),
            &[(seat_b(), 3)],
            &[(seat_a(), 6), (seat_b(), -3)],
        )]);
    assert_eq!(remaining(&state), [10, 9]);
    assert_eq!(state.pending[&order_id()], BTreeMap::from([(seat_b(), 3)]));
}

#[test]
fn reserving_the_same_seats_again_confirms_the_hold_without_changing_it() {
    // The registration process waits for SeatsReserved after every MakeSeatReservation
    // (an order updated only in its promo codes re-reserves the same seats).
    let state = given(existing_reservation_of_six())
        .when(reserve(order_id(), &[(seat_a(), 6)]))
        .then([reserved(order_id(), &[(seat_a(), 6)], &[])]);
    assert_eq!(remaining(&state), [4, 12]);
}

#[test]
fn lines_of_one_seat_type_are_added_up() {
    given(ten_of_a())
        .when(reserve(order_id(), &[(seat_a(), 2), (seat_a(), 3)]))
        .then([reserved(order_id(), &[(seat_a(), 5)], &[(seat_a(), -5)])]);
}

#[test]
fn a_reservation_with_no_seats_is_refused() {
    for wanted in [vec![], seats(&[(seat_a(), 0)]), seats(&[(seat_c(), 0)])] {
        given(ten_of_a())
            .when(Command::MakeSeatReservation {
                reservation_id: order_id(),
                seats: wanted,
                allow_override: false,
            })
            .then_err(Error::NoSeatsRequested);
    }
}

#[test]
fn an_override_takes_every_seat_and_records_the_excess() {
    let state = given(ten_of_a())
        .when(Command::MakeSeatReservation {
            reservation_id: order_id(),
            seats: seats(&[(seat_a(), 12)]),
            allow_override: true,
        })
        .then([SeatsReserved {
            reservation_id: order_id(),
            details: seats(&[(seat_a(), 12)]),
            available_changed: vec![delta(seat_a(), -12)],
            overridden: seats(&[(seat_a(), 2)]),
        }
        .into()]);
    assert_eq!(state.remaining(seat_a()), -2);
}

#[test]
fn an_allotment_without_a_seat_type_sells_it_only_by_override() {
    given_nothing::<SeatsAvailability>()
        .when(reserve(order_id(), &[(seat_b(), 1)]))
        .then([reserved(order_id(), &[], &[])]);
    let state = given_nothing::<SeatsAvailability>()
        .when(Command::MakeSeatReservation {
            reservation_id: order_id(),
            seats: seats(&[(seat_b(), 1)]),
            allow_override: true,
        })
        .then([SeatsReserved {
            reservation_id: order_id(),
            details: seats(&[(seat_b(), 1)]),
            available_changed: vec![delta(seat_b(), -1)],
            overridden: seats(&[(seat_b(), 1)]),
        }
        .into()]);
    assert_eq!(state.remaining(seat_b()), -1);
}

#[test]
fn an_override_within_what_remains_records_no_excess() {
    given(ten_of_a())
        .when(Command::MakeSeatReservation {
            reservation_id: order_id(),
            seats: seats(&[(seat_a(), 10)]),
            allow_override: true,
        })
        .then([reserved(order_id(), &[(seat_a(), 10)], &[(seat_a(), -10)])]);
}

#[test]
fn without_override_nothing_more_is_taken_once_remaining_is_negative() {
    let oversold = vec![
        added(&[(seat_a(), 10)]),
        SeatsReserved {
            reservation_id: other_order(),
            details: seats(&[(seat_a(), 12)]),
            available_changed: vec![delta(seat_a(), -12)],
            overridden: seats(&[(seat_a(), 2)]),
        }
        .into(),
    ];
    given(oversold)
        .when(reserve(order_id(), &[(seat_a(), 1)]))
        .then([reserved(order_id(), &[], &[])]);
}

#[test]
fn releasing_committed_seats_gives_them_back() {
    let committed = vec![
        added(&[(seat_a(), 10)]),
        reserved(order_id(), &[(seat_a(), 6)], &[(seat_a(), -6)]),
        SeatsReservationCommitted {
            reservation_id: order_id(),
        }
        .into(),
    ];
    let state = given(committed.clone())
        .when(Command::ReleaseCommittedSeats {
            reservation_id: order_id(),
            seats: seats(&[(seat_a(), 6)]),
        })
        .then([CommittedSeatsReleased {
            reservation_id: order_id(),
            available_changed: vec![delta(seat_a(), 6)],
        }
        .into()]);
    assert_eq!(state.remaining(seat_a()), 10);
    given(committed)
        .when(Command::ReleaseCommittedSeats {
            reservation_id: order_id(),
            seats: seats(&[(seat_a(), 0)]),
        })
        .then([]);
}

#[test]
fn an_allotment_grant_never_exceeds_what_remains() {
    let state = given(two_types_six_held_elsewhere())
        .when(Command::GrantAllotment {
            device: device(),
            seats: seats(&[(seat_a(), 5), (seat_b(), 5)]),
        })
        .then([SeatsAllotted {
            device: device(),
            seats: seats(&[(seat_a(), 4), (seat_b(), 5)]),
        }
        .into()]);
    assert_eq!(remaining(&state), [0, 7]);
    // Nothing left of the first type: nothing granted, nothing recorded.
    given(vec![added(&[(seat_a(), 0)])])
        .when(Command::GrantAllotment {
            device: device(),
            seats: seats(&[(seat_a(), 5)]),
        })
        .then([]);
    given(ten_of_a())
        .when(Command::GrantAllotment {
            device: device(),
            seats: seats(&[(seat_c(), 1)]),
        })
        .then_err(Error::UnknownSeatType(seat_c()));
}

#[test]
fn a_device_allotment_receives_sells_from_and_returns_seats() {
    let received = given_nothing::<SeatsAvailability>()
        .when(Command::ReceiveAllotment {
            seats: seats(&[(seat_a(), 5), (seat_b(), 0)]),
        })
        .then([AllotmentReceived {
            seats: seats(&[(seat_a(), 5)]),
        }
        .into()]);
    assert_eq!(received.remaining(seat_a()), 5);
    let history = vec![
        AllotmentReceived {
            seats: seats(&[(seat_a(), 5)]),
        }
        .into(),
        reserved(order_id(), &[(seat_a(), 2)], &[(seat_a(), -2)]),
    ];
    // Only the unsold 3 can go back.
    let state = given(history.clone())
        .when(Command::ReturnAllotment {
            seats: seats(&[(seat_a(), 4)]),
        })
        .then([AllotmentReturned {
            seats: seats(&[(seat_a(), 3)]),
        }
        .into()]);
    assert_eq!(state.remaining(seat_a()), 0);
    given(history.clone())
        .when(Command::ReturnAllotment {
            seats: seats(&[(seat_b(), 1)]),
        })
        .then_err(Error::UnknownSeatType(seat_b()));
    given(history)
        .when(Command::ReceiveAllotment { seats: vec![] })
        .then([]);
}

#[test]
fn the_pool_takes_back_returned_seats() {
    let state = given(vec![
        added(&[(seat_a(), 10)]),
        SeatsAllotted {
            device: device(),
            seats: seats(&[(seat_a(), 4)]),
        }
        .into(),
    ])
    .when(Command::AcceptReturnedSeats {
        device: device(),
        seats: seats(&[(seat_a(), 3)]),
    })
    .then([ReturnedSeatsAccepted {
        device: device(),
        seats: seats(&[(seat_a(), 3)]),
    }
    .into()]);
    assert_eq!(state.remaining(seat_a()), 9);
    given(ten_of_a())
        .when(Command::AcceptReturnedSeats {
            device: device(),
            seats: vec![],
        })
        .then([]);
}

fn variant(e: &Error) -> &'static str {
    match e {
        Error::UnknownSeatType(_) => "UnknownSeatType",
        Error::NoSeatsRequested => "NoSeatsRequested",
    }
}
const VARIANTS: usize = 2;

#[test]
fn every_rule_is_refused_with_its_error() {
    let cases: Vec<(&str, Vec<Event>, Command, Error)> = vec![
        (
            "grant unknown type",
            ten_of_a(),
            Command::GrantAllotment {
                device: device(),
                seats: seats(&[(seat_b(), 1)]),
            },
            Error::UnknownSeatType(seat_b()),
        ),
        (
            "return unknown type",
            ten_of_a(),
            Command::ReturnAllotment {
                seats: seats(&[(seat_b(), 1)]),
            },
            Error::UnknownSeatType(seat_b()),
        ),
        (
            "reserve nothing",
            ten_of_a(),
            reserve(order_id(), &[]),
            Error::NoSeatsRequested,
        ),
    ];
    let mut covered = BTreeSet::new();
    for (label, history, command, error) in cases {
        covered.insert(variant(&error));
        given(history).case(label).when(command).then_err(error);
    }
    assert_eq!(covered.len(), VARIANTS);
}

#[test]
fn lines_adding_up_past_the_largest_quantity_do_not_overflow() {
    // Found by `huge_quantities_neither_panic_nor_lose_seats`: adding the lines of one seat
    // type overflowed (a panic in debug builds) on a command any device can push.
    given(ten_of_a())
        .when(reserve(order_id(), &[(seat_a(), u32::MAX), (seat_a(), 1)]))
        .then([reserved(order_id(), &[(seat_a(), 10)], &[(seat_a(), -10)])]);
    given(ten_of_a())
        .when(Command::GrantAllotment {
            device: device(),
            seats: seats(&[(seat_a(), u32::MAX), (seat_a(), u32::MAX)]),
        })
        .then([SeatsAllotted {
            device: device(),
            seats: seats(&[(seat_a(), 10)]),
        }
        .into()]);
}
