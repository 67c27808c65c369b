//! SeatsAvailability: the seats one holder (a conference's pool, or a device's allotment)
//! can sell, and the reservations held against them.
//!
//! A reservation gets min(wanted, remaining + already held); reserving again with the same
//! reservation id replaces the hold, taking or returning only the difference. Short supply
//! gives a partial reservation, never an error. Only an explicit override may go beyond
//! what is there (an offline door sale past its allotment); the excess is recorded.
use crate::aggregate::Aggregate;
use crate::error_code::ErrorCode;
use crate::events;
use crate::ids::{DeviceId, OrderId, SeatTypeId};
use crate::stream::StreamKind;
use crate::values::{SeatDelta, SeatQuantity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatsAvailability {
    /// Seats not held by any reservation, per seat type. Negative only after an override or
    /// after the organizer removed seats that were already taken.
    pub remaining: BTreeMap<SeatTypeId, i64>,
    /// Reservations not yet committed or cancelled: reservation id (the order id) → seats.
    pub pending: BTreeMap<OrderId, BTreeMap<SeatTypeId, u32>>,
}

impl SeatsAvailability {
    #[must_use]
    pub fn remaining(&self, seat_type: SeatTypeId) -> i64 {
        self.remaining.get(&seat_type).copied().unwrap_or(0)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    AddSeats {
        seat_type: SeatTypeId,
        quantity: u32,
    },
    RemoveSeats {
        seat_type: SeatTypeId,
        quantity: u32,
    },
    MakeSeatReservation {
        reservation_id: OrderId,
        seats: Vec<SeatQuantity>,
        /// Take every wanted seat even if fewer remain (recorded as an override).
        allow_override: bool,
    },
    CancelSeatReservation {
        reservation_id: OrderId,
    },
    CommitSeatReservation {
        reservation_id: OrderId,
    },
    /// Gives back the seats of a committed reservation (a confirmed order was cancelled).
    ReleaseCommittedSeats {
        reservation_id: OrderId,
        seats: Vec<SeatQuantity>,
    },
    /// Pool only: moves up to `seats` from the pool to a device's allotment.
    GrantAllotment {
        device: DeviceId,
        seats: Vec<SeatQuantity>,
    },
    /// Device allotment only: receives seats granted by the pool.
    ReceiveAllotment {
        seats: Vec<SeatQuantity>,
    },
    /// Device allotment only: gives back up to `seats` of what remains unsold.
    ReturnAllotment {
        seats: Vec<SeatQuantity>,
    },
    /// Pool only: takes back seats a device returned.
    AcceptReturnedSeats {
        device: DeviceId,
        seats: Vec<SeatQuantity>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AvailableSeatsChanged {
    pub seats: Vec<SeatDelta>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeatsReserved {
    pub reservation_id: OrderId,
    /// The absolute seats now held by this reservation.
    pub details: Vec<SeatQuantity>,
    /// The change to remaining seats this reservation caused.
    pub available_changed: Vec<SeatDelta>,
    /// Seats taken beyond what remained, by explicit override.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overridden: Vec<SeatQuantity>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeatsReservationCommitted {
    pub reservation_id: OrderId,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeatsReservationCancelled {
    pub reservation_id: OrderId,
    pub available_changed: Vec<SeatDelta>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommittedSeatsReleased {
    pub reservation_id: OrderId,
    pub available_changed: Vec<SeatDelta>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeatsAllotted {
    pub device: DeviceId,
    pub seats: Vec<SeatQuantity>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AllotmentReceived {
    pub seats: Vec<SeatQuantity>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AllotmentReturned {
    pub seats: Vec<SeatQuantity>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReturnedSeatsAccepted {
    pub device: DeviceId,
    pub seats: Vec<SeatQuantity>,
}

events! {
    pub enum Event {
        AvailableSeatsChanged(AvailableSeatsChanged) = "AvailableSeatsChanged" v 1,
        SeatsReserved(SeatsReserved) = "SeatsReserved" v 1,
        SeatsReservationCommitted(SeatsReservationCommitted) = "SeatsReservationCommitted" v 1,
        SeatsReservationCancelled(SeatsReservationCancelled) = "SeatsReservationCancelled" v 1,
        CommittedSeatsReleased(CommittedSeatsReleased) = "CommittedSeatsReleased" v 1,
        SeatsAllotted(SeatsAllotted) = "SeatsAllotted" v 1,
        AllotmentReceived(AllotmentReceived) = "AllotmentReceived" v 1,
        AllotmentReturned(AllotmentReturned) = "AllotmentReturned" v 1,
        ReturnedSeatsAccepted(ReturnedSeatsAccepted) = "ReturnedSeatsAccepted" v 1,
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("seat type {0} is not sold here")]
    UnknownSeatType(SeatTypeId),
    #[error("a reservation needs at least one seat")]
    NoSeatsRequested,
}

impl ErrorCode for Error {
    fn code(&self) -> &'static str {
        match self {
            Self::UnknownSeatType(_) => "unknown_seat_type",
            Self::NoSeatsRequested => "no_seats_requested",
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Self::UnknownSeatType(_) => Some("seat_type"),
            Self::NoSeatsRequested => Some("quantity"),
        }
    }
}

fn merge(seats: &[SeatQuantity]) -> BTreeMap<SeatTypeId, u32> {
    let mut merged = BTreeMap::new();
    for s in seats {
        // Saturate: two huge lines of one seat type must not overflow (a panic in debug).
        let total = merged.entry(s.seat_type).or_insert(0u32);
        *total = total.saturating_add(s.quantity);
    }
    merged
}

fn to_quantities(map: &BTreeMap<SeatTypeId, u32>) -> Vec<SeatQuantity> {
    map.iter()
        .filter(|(_, q)| **q > 0)
        .map(|(t, q)| SeatQuantity::new(*t, *q))
        .collect()
}

fn deltas(seats: &[SeatQuantity], sign: i64) -> Vec<SeatDelta> {
    seats
        .iter()
        .filter(|s| s.quantity > 0)
        .map(|s| SeatDelta {
            seat_type: s.seat_type,
            quantity: sign * i64::from(s.quantity),
        })
        .collect()
}

impl SeatsAvailability {
    fn check_known(&self, seats: &[SeatQuantity]) -> Result<(), Error> {
        match seats
            .iter()
            .find(|s| !self.remaining.contains_key(&s.seat_type))
        {
            Some(s) => Err(Error::UnknownSeatType(s.seat_type)),
            None => Ok(()),
        }
    }

    /// Up to the wanted seats of each type, limited by what remains (never below zero).
    fn take_at_most(&self, seats: &[SeatQuantity]) -> Vec<SeatQuantity> {
        merge(seats)
            .into_iter()
            .map(|(t, q)| {
                let available = u32::try_from(self.remaining(t).max(0)).unwrap_or(u32::MAX);
                SeatQuantity::new(t, q.min(available))
            })
            .filter(|s| s.quantity > 0)
            .collect()
    }

    fn reserve(
        &self,
        reservation_id: OrderId,
        seats: &[SeatQuantity],
        allow_override: bool,
    ) -> SeatsReserved {
        let wanted = merge(seats);
        let existing = self
            .pending
            .get(&reservation_id)
            .cloned()
            .unwrap_or_default();
        let mut details = BTreeMap::new();
        let mut changed = Vec::new();
        let mut overridden = Vec::new();
        let types: std::collections::BTreeSet<_> =
            wanted.keys().chain(existing.keys()).copied().collect();
        for seat_type in types {
            let want = i64::from(wanted.get(&seat_type).copied().unwrap_or(0));
            let held = i64::from(existing.get(&seat_type).copied().unwrap_or(0));
            let free = self.remaining(seat_type).max(0) + held;
            let actual = if allow_override { want } else { want.min(free) };
            if actual > free {
                overridden.push(SeatQuantity::new(
                    seat_type,
                    u32::try_from(actual - free).unwrap_or(0),
                ));
            }
            if actual > 0 {
                details.insert(seat_type, u32::try_from(actual).unwrap_or(0));
            }
            if actual != held {
                changed.push(SeatDelta {
                    seat_type,
                    quantity: held - actual,
                });
            }
        }
        SeatsReserved {
            reservation_id,
            details: to_quantities(&details),
            available_changed: changed,
            overridden,
        }
    }
}

impl Aggregate for SeatsAvailability {
    const KIND: StreamKind = StreamKind::Seats;
    const SNAPSHOT_VERSION: u32 = 1;
    type Command = Command;
    type Event = Event;
    type Error = Error;

    fn handle(&self, command: &Command) -> Result<Vec<Event>, Error> {
        Ok(match command {
            Command::AddSeats {
                seat_type,
                quantity,
            } => vec![
                AvailableSeatsChanged {
                    seats: vec![SeatDelta {
                        seat_type: *seat_type,
                        quantity: i64::from(*quantity),
                    }],
                }
                .into(),
            ],
            Command::RemoveSeats {
                seat_type,
                quantity,
            } => {
                if *quantity == 0 {
                    return Ok(vec![]);
                }
                vec![
                    AvailableSeatsChanged {
                        seats: vec![SeatDelta {
                            seat_type: *seat_type,
                            quantity: -i64::from(*quantity),
                        }],
                    }
                    .into(),
                ]
            }
            Command::MakeSeatReservation {
                reservation_id,
                seats,
                allow_override,
            } => {
                if seats.iter().all(|s| s.quantity == 0) {
                    return Err(Error::NoSeatsRequested);
                }
                // A seat type this holder never had simply has none left: a device's
                // allotment learns a seat type only when seats of it arrive, and a door must
                // still be able to sell it by override. (The reference refused such a
                // reservation, which left the order pending until it expired.)
                // Always answer with SeatsReserved, even when the hold does not change: the
                // registration process waits for it after every reservation request (an order
                // updated only in its promo codes re-reserves the same seats).
                vec![self.reserve(*reservation_id, seats, *allow_override).into()]
            }
            Command::CancelSeatReservation { reservation_id } => {
                match self.pending.get(reservation_id) {
                    None => vec![],
                    Some(held) => vec![
                        SeatsReservationCancelled {
                            reservation_id: *reservation_id,
                            available_changed: deltas(&to_quantities(held), 1),
                        }
                        .into(),
                    ],
                }
            }
            Command::CommitSeatReservation { reservation_id } => {
                if self.pending.contains_key(reservation_id) {
                    vec![
                        SeatsReservationCommitted {
                            reservation_id: *reservation_id,
                        }
                        .into(),
                    ]
                } else {
                    vec![]
                }
            }
            Command::ReleaseCommittedSeats {
                reservation_id,
                seats,
            } => {
                let seats = to_quantities(&merge(seats));
                if seats.is_empty() {
                    return Ok(vec![]);
                }
                vec![
                    CommittedSeatsReleased {
                        reservation_id: *reservation_id,
                        available_changed: deltas(&seats, 1),
                    }
                    .into(),
                ]
            }
            Command::GrantAllotment { device, seats } => {
                self.check_known(seats)?;
                let granted = self.take_at_most(seats);
                if granted.is_empty() {
                    return Ok(vec![]);
                }
                vec![
                    SeatsAllotted {
                        device: *device,
                        seats: granted,
                    }
                    .into(),
                ]
            }
            Command::ReceiveAllotment { seats } => {
                let seats = to_quantities(&merge(seats));
                if seats.is_empty() {
                    return Ok(vec![]);
                }
                vec![AllotmentReceived { seats }.into()]
            }
            Command::ReturnAllotment { seats } => {
                self.check_known(seats)?;
                let returned = self.take_at_most(seats);
                if returned.is_empty() {
                    return Ok(vec![]);
                }
                vec![AllotmentReturned { seats: returned }.into()]
            }
            Command::AcceptReturnedSeats { device, seats } => {
                let seats = to_quantities(&merge(seats));
                if seats.is_empty() {
                    return Ok(vec![]);
                }
                vec![
                    ReturnedSeatsAccepted {
                        device: *device,
                        seats,
                    }
                    .into(),
                ]
            }
        })
    }

    fn apply(&mut self, event: &Event) {
        let add = |remaining: &mut BTreeMap<SeatTypeId, i64>, changes: &[SeatDelta]| {
            for c in changes {
                // Events are facts and folding never fails: a change past what an i64
                // holds (never one the domain writes) stops at the edge, not in a panic.
                let left = remaining.entry(c.seat_type).or_insert(0);
                *left = left.saturating_add(c.quantity);
            }
        };
        match event {
            Event::AvailableSeatsChanged(e) => add(&mut self.remaining, &e.seats),
            Event::SeatsReserved(e) => {
                if e.details.is_empty() {
                    self.pending.remove(&e.reservation_id);
                } else {
                    self.pending.insert(e.reservation_id, merge(&e.details));
                }
                add(&mut self.remaining, &e.available_changed);
            }
            Event::SeatsReservationCommitted(e) => {
                self.pending.remove(&e.reservation_id);
            }
            Event::SeatsReservationCancelled(e) => {
                self.pending.remove(&e.reservation_id);
                add(&mut self.remaining, &e.available_changed);
            }
            Event::CommittedSeatsReleased(e) => add(&mut self.remaining, &e.available_changed),
            Event::SeatsAllotted(e) => add(&mut self.remaining, &deltas(&e.seats, -1)),
            Event::AllotmentReceived(e) => add(&mut self.remaining, &deltas(&e.seats, 1)),
            Event::AllotmentReturned(e) => add(&mut self.remaining, &deltas(&e.seats, -1)),
            Event::ReturnedSeatsAccepted(e) => add(&mut self.remaining, &deltas(&e.seats, 1)),
        }
    }
}

/// Lowering a seat type's quantity may only remove seats nobody holds: `taken` seats are
/// sold, reserved or handed out to device allotments.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{taken} seats of {name} are already sold, reserved or allotted, so the quantity cannot go below {taken}"
)]
pub struct QuantityBelowTaken {
    pub name: String,
    pub taken: i64,
}

impl ErrorCode for QuantityBelowTaken {
    fn code(&self) -> &'static str {
        "quantity_below_taken"
    }

    fn field(&self) -> Option<&'static str> {
        Some("quantity")
    }
}

/// Checks a new quantity for `seat_type` against what its pool still has free.
pub fn check_quantity_cut(
    seat_type: &crate::conference::SeatType,
    pool: &SeatsAvailability,
    new_quantity: u32,
) -> Result<(), QuantityBelowTaken> {
    if new_quantity >= seat_type.quantity {
        return Ok(());
    }
    let free = pool.remaining(seat_type.id).max(0);
    let cut = i64::from(seat_type.quantity - new_quantity);
    if cut > free {
        return Err(QuantityBelowTaken {
            name: seat_type.name.clone(),
            taken: i64::from(seat_type.quantity) - free,
        });
    }
    Ok(())
}
