//! SeatAssignments: one position per purchased seat, created when an order is confirmed,
//! each assignable to an attendee. Its id is the order's id (the reference used a fresh
//! random id, which made the assignments hard to find from the order).
use crate::aggregate::Aggregate;
use crate::error_code::ErrorCode;
use crate::events;
use crate::ids::{OrderId, SeatTypeId};
use crate::stream::StreamKind;
use crate::values::{PersonalInfo, SeatQuantity};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seat {
    pub position: u32,
    pub seat_type: SeatTypeId,
    pub attendee: Option<PersonalInfo>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeatAssignments {
    #[default]
    NotCreated,
    Created {
        order_id: OrderId,
        seats: Vec<Seat>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Create {
        order_id: OrderId,
        seats: Vec<SeatQuantity>,
    },
    Assign {
        position: u32,
        attendee: PersonalInfo,
    },
    Unassign {
        position: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatPosition {
    pub position: u32,
    pub seat_type: SeatTypeId,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeatAssignmentsCreated {
    pub order_id: OrderId,
    pub seats: Vec<SeatPosition>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeatAssigned {
    pub position: u32,
    pub seat_type: SeatTypeId,
    pub attendee: PersonalInfo,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeatUnassigned {
    pub position: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeatAssignmentUpdated {
    pub position: u32,
    pub attendee: PersonalInfo,
}

events! {
    pub enum Event {
        SeatAssignmentsCreated(SeatAssignmentsCreated) = "SeatAssignmentsCreated" v 1,
        SeatAssigned(SeatAssigned) = "SeatAssigned" v 1,
        SeatUnassigned(SeatUnassigned) = "SeatUnassigned" v 1,
        SeatAssignmentUpdated(SeatAssignmentUpdated) = "SeatAssignmentUpdated" v 1,
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("seat assignments for this order already exist")]
    AssignmentsAlreadyCreated,
    #[error(
        "this order has no seat assignments; seats can be assigned once the order is confirmed"
    )]
    AssignmentsNotCreated,
    #[error("the order has no seat at position {position}; positions go from 0 to {last}")]
    UnknownPosition { position: u32, last: u32 },
}

impl ErrorCode for Error {
    fn code(&self) -> &'static str {
        match self {
            Self::AssignmentsAlreadyCreated => "assignments_already_created",
            Self::AssignmentsNotCreated => "assignments_not_created",
            Self::UnknownPosition { .. } => "unknown_position",
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Self::UnknownPosition { .. } => Some("position"),
            Self::AssignmentsAlreadyCreated | Self::AssignmentsNotCreated => None,
        }
    }
}

impl Aggregate for SeatAssignments {
    const KIND: StreamKind = StreamKind::Assignments;
    const SNAPSHOT_VERSION: u32 = 1;
    type Command = Command;
    type Event = Event;
    type Error = Error;

    fn handle(&self, command: &Command) -> Result<Vec<Event>, Error> {
        let seats = match (self, command) {
            (Self::NotCreated, Command::Create { order_id, seats }) => {
                let mut positions = Vec::new();
                for s in seats {
                    for _ in 0..s.quantity {
                        positions.push(SeatPosition {
                            position: u32::try_from(positions.len()).unwrap_or(u32::MAX),
                            seat_type: s.seat_type,
                        });
                    }
                }
                return Ok(vec![
                    SeatAssignmentsCreated {
                        order_id: *order_id,
                        seats: positions,
                    }
                    .into(),
                ]);
            }
            (Self::Created { .. }, Command::Create { .. }) => {
                return Err(Error::AssignmentsAlreadyCreated);
            }
            (Self::NotCreated, _) => return Err(Error::AssignmentsNotCreated),
            (Self::Created { seats, .. }, _) => seats,
        };
        let find = |position: u32| {
            seats
                .iter()
                .find(|s| s.position == position)
                .ok_or(Error::UnknownPosition {
                    position,
                    last: u32::try_from(seats.len()).unwrap_or(1).saturating_sub(1),
                })
        };
        match command {
            Command::Create { .. } => unreachable!("handled above"),
            Command::Assign { position, attendee } => {
                let seat = find(*position)?;
                match &seat.attendee {
                    Some(current) if current.email == attendee.email => {
                        let same_name = current
                            .first_name
                            .eq_ignore_ascii_case(&attendee.first_name)
                            && current.last_name.eq_ignore_ascii_case(&attendee.last_name);
                        if same_name {
                            Ok(vec![])
                        } else {
                            Ok(vec![
                                SeatAssignmentUpdated {
                                    position: *position,
                                    attendee: attendee.clone(),
                                }
                                .into(),
                            ])
                        }
                    }
                    current => {
                        let mut events = Vec::new();
                        if current.is_some() {
                            events.push(
                                SeatUnassigned {
                                    position: *position,
                                }
                                .into(),
                            );
                        }
                        events.push(
                            SeatAssigned {
                                position: *position,
                                seat_type: seat.seat_type,
                                attendee: attendee.clone(),
                            }
                            .into(),
                        );
                        Ok(events)
                    }
                }
            }
            Command::Unassign { position } => {
                let seat = find(*position)?;
                if seat.attendee.is_some() {
                    Ok(vec![
                        SeatUnassigned {
                            position: *position,
                        }
                        .into(),
                    ])
                } else {
                    Ok(vec![])
                }
            }
        }
    }

    fn apply(&mut self, event: &Event) {
        match (&mut *self, event) {
            (Self::NotCreated, Event::SeatAssignmentsCreated(e)) => {
                *self = Self::Created {
                    order_id: e.order_id,
                    seats: e
                        .seats
                        .iter()
                        .map(|p| Seat {
                            position: p.position,
                            seat_type: p.seat_type,
                            attendee: None,
                        })
                        .collect(),
                };
            }
            (Self::Created { seats, .. }, event) => {
                let set = |seats: &mut Vec<Seat>, position: u32, attendee: Option<PersonalInfo>| {
                    if let Some(s) = seats.iter_mut().find(|s| s.position == position) {
                        s.attendee = attendee;
                    }
                };
                match event {
                    Event::SeatAssignmentsCreated(_) => {}
                    Event::SeatAssigned(e) => set(seats, e.position, Some(e.attendee.clone())),
                    Event::SeatUnassigned(e) => set(seats, e.position, None),
                    Event::SeatAssignmentUpdated(e) => {
                        set(seats, e.position, Some(e.attendee.clone()))
                    }
                }
            }
            (Self::NotCreated, _) => {}
        }
    }
}
