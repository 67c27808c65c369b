//! Seat assignments: one position per purchased seat, each assignable to an attendee.
use crate::support::*;
use conference_domain::assignments::*;
use std::collections::BTreeSet;

fn created() -> Event {
    SeatAssignmentsCreated {
        order_id: order_id(),
        seats: vec![
            SeatPosition {
                position: 0,
                seat_type: seat_a(),
            },
            SeatPosition {
                position: 1,
                seat_type: seat_a(),
            },
            SeatPosition {
                position: 2,
                seat_type: seat_b(),
            },
        ],
    }
    .into()
}

fn ada() -> conference_domain::PersonalInfo {
    person("Ada", "Lovelace", "ada@example.org")
}

fn assigned(position: u32) -> Event {
    SeatAssigned {
        position,
        seat_type: if position == 2 { seat_b() } else { seat_a() },
        attendee: ada(),
    }
    .into()
}

fn assign(position: u32, attendee: conference_domain::PersonalInfo) -> Command {
    Command::Assign { position, attendee }
}

fn attendee_at(state: &SeatAssignments, position: u32) -> Option<conference_domain::PersonalInfo> {
    let SeatAssignments::Created { seats, .. } = state else {
        panic!("not created: {state:?}")
    };
    seats
        .iter()
        .find(|s| s.position == position)
        .and_then(|s| s.attendee.clone())
}

#[test]
fn creating_makes_one_position_per_seat() {
    let state = given_nothing::<SeatAssignments>()
        .when(Command::Create {
            order_id: order_id(),
            seats: seats(&[(seat_a(), 2), (seat_b(), 1), (seat_c(), 0)]),
        })
        .then([created()]);
    let SeatAssignments::Created {
        order_id: id,
        seats,
    } = &state
    else {
        panic!("{state:?}")
    };
    assert_eq!(*id, order_id());
    assert_eq!(seats.len(), 3);
    assert!(seats.iter().all(|s| s.attendee.is_none()));
}

#[test]
fn assigning_an_empty_seat() {
    let state = given(vec![created()])
        .when(assign(2, ada()))
        .then([assigned(2)]);
    assert_eq!(attendee_at(&state, 2), Some(ada()));
    assert_eq!(attendee_at(&state, 0), None);
}

#[test]
fn assigning_the_same_person_again_records_nothing() {
    given(vec![created(), assigned(0)])
        .when(assign(0, person("ADA", "lovelace", "Ada@Example.org")))
        .then([]);
}

#[test]
fn same_email_new_name_updates_the_assignment() {
    let renamed = person("Augusta Ada", "King", "ada@example.org");
    let state = given(vec![created(), assigned(0)])
        .when(assign(0, renamed.clone()))
        .then([SeatAssignmentUpdated {
            position: 0,
            attendee: renamed.clone(),
        }
        .into()]);
    assert_eq!(attendee_at(&state, 0), Some(renamed));
}

#[test]
fn another_person_replaces_the_attendee() {
    let grace = person("Grace", "Hopper", "grace@example.org");
    let state = given(vec![created(), assigned(1)])
        .when(assign(1, grace.clone()))
        .then([
            SeatUnassigned { position: 1 }.into(),
            SeatAssigned {
                position: 1,
                seat_type: seat_a(),
                attendee: grace.clone(),
            }
            .into(),
        ]);
    assert_eq!(attendee_at(&state, 1), Some(grace));
}

#[test]
fn unassigning_empties_the_seat_once() {
    let state = given(vec![created(), assigned(1)])
        .when(Command::Unassign { position: 1 })
        .then([SeatUnassigned { position: 1 }.into()]);
    assert_eq!(attendee_at(&state, 1), None);
    given(vec![created()])
        .when(Command::Unassign { position: 1 })
        .then([]);
}

fn variant(e: &Error) -> &'static str {
    match e {
        Error::AssignmentsAlreadyCreated => "AssignmentsAlreadyCreated",
        Error::AssignmentsNotCreated => "AssignmentsNotCreated",
        Error::UnknownPosition { .. } => "UnknownPosition",
    }
}
const VARIANTS: usize = 3;

#[test]
fn every_rule_is_refused_with_its_error() {
    let cases: Vec<(&str, Vec<Event>, Command, Error)> = vec![
        (
            "create twice",
            vec![created()],
            Command::Create {
                order_id: order_id(),
                seats: seats(&[(seat_a(), 1)]),
            },
            Error::AssignmentsAlreadyCreated,
        ),
        (
            "assign before creation",
            vec![],
            assign(0, ada()),
            Error::AssignmentsNotCreated,
        ),
        (
            "unassign before creation",
            vec![],
            Command::Unassign { position: 0 },
            Error::AssignmentsNotCreated,
        ),
        (
            "assign past the last position",
            vec![created()],
            assign(3, ada()),
            Error::UnknownPosition {
                position: 3,
                last: 2,
            },
        ),
        (
            "unassign past the last position",
            vec![created()],
            Command::Unassign { position: 7 },
            Error::UnknownPosition {
                position: 7,
                last: 2,
            },
        ),
    ];
    let mut covered = BTreeSet::new();
    for (label, history, command, error) in cases {
        covered.insert(variant(&error));
        given(history).case(label).when(command).then_err(error);
    }
    assert_eq!(covered.len(), VARIANTS, "{covered:?}");
}
