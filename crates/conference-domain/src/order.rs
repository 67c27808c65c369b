//! The Order aggregate: what a buyer asked for, what was reserved, what it costs, who it is
//! for and whether it is confirmed.
//!
//! Rules kept here (the V2 reference left several to controllers): at least one seat and no
//! negative quantities; an expired order cannot be confirmed; a confirmed order cannot
//! expire; only a zero-cost order may be confirmed without a payment.
use crate::Timestamp;
use crate::aggregate::Aggregate;
use crate::discounts::PromoCodeDefinition;
use crate::error_code::ErrorCode;
use crate::events;
use crate::ids::{ConferenceId, PaymentId, SeatTypeId};
use crate::money::Money;
use crate::pricing::{self, OrderLine, PriceList, Totals};
use crate::stream::{Holder, StreamKind};
use crate::values::{AccessCode, PersonalInfo, PromoCode, SeatQuantity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Reservations are held for 15 minutes unless the caller says otherwise.
pub const DEFAULT_RESERVATION_MINUTES: i64 = 15;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    PendingReservation,
    PartiallyReserved,
    ReservationCompleted,
    Confirmed,
    Expired,
    Cancelled,
}

impl OrderStatus {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PendingReservation => "pending_reservation",
            Self::PartiallyReserved => "partially_reserved",
            Self::ReservationCompleted => "reserved",
            Self::Confirmed => "confirmed",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
        }
    }

    /// The status [`OrderStatus::as_str`] names.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::PendingReservation,
            Self::PartiallyReserved,
            Self::ReservationCompleted,
            Self::Confirmed,
            Self::Expired,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// Whether an order in this status can still be cancelled: not once it is cancelled or
    /// has expired (`Cancel` says which).
    #[must_use]
    pub const fn can_cancel(self) -> bool {
        !matches!(self, Self::Cancelled | Self::Expired)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderData {
    pub conference_id: ConferenceId,
    pub holder: Holder,
    pub allow_override: bool,
    pub access_code: AccessCode,
    /// What the buyer asked for.
    pub seats: Vec<SeatQuantity>,
    /// What is held for the order.
    pub reserved: Vec<SeatQuantity>,
    pub promo_codes: Vec<PromoCode>,
    pub reservation_expires_at: Timestamp,
    pub status: OrderStatus,
    pub totals: Option<Totals>,
    pub registrant: Option<PersonalInfo>,
    pub payment: Option<PaymentId>,
    /// Whether the order was ever confirmed (it stays true once the order is cancelled).
    #[serde(default)]
    pub was_confirmed: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Order {
    #[default]
    NotPlaced,
    Placed(OrderData),
}

impl Order {
    #[must_use]
    pub fn data(&self) -> Option<&OrderData> {
        match self {
            Self::NotPlaced => None,
            Self::Placed(d) => Some(d),
        }
    }
}

/// Why a confirmation is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payment_id", rename_all = "snake_case")]
pub enum ConfirmationBasis {
    /// The order's total is zero: it never enters payment.
    FreeOfCharge,
    /// A payment for the order completed.
    Paid(PaymentId),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Place {
        conference_id: ConferenceId,
        seats: Vec<SeatQuantity>,
        promo_codes: Vec<PromoCode>,
        access_code: AccessCode,
        holder: Holder,
        allow_override: bool,
        reservation_expires_at: Timestamp,
    },
    Update {
        seats: Vec<SeatQuantity>,
        promo_codes: Vec<PromoCode>,
    },
    MarkSeatsAsReserved {
        seats: Vec<SeatQuantity>,
        expiration: Timestamp,
        price_list: PriceList,
        discounts: Vec<PromoCodeDefinition>,
    },
    /// Expire the order (the process manager's RejectOrder).
    Reject,
    AssignRegistrantDetails(PersonalInfo),
    Confirm {
        basis: ConfirmationBasis,
        now: Timestamp,
    },
    Cancel {
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderPlaced {
    pub conference_id: ConferenceId,
    pub seats: Vec<SeatQuantity>,
    pub access_code: AccessCode,
    pub reservation_auto_expiration: Timestamp,
    #[serde(default)]
    pub promo_codes: Vec<PromoCode>,
    #[serde(default = "pool")]
    pub holder: Holder,
    #[serde(default)]
    pub allow_override: bool,
}

fn pool() -> Holder {
    Holder::Pool
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderUpdated {
    pub seats: Vec<SeatQuantity>,
    #[serde(default)]
    pub promo_codes: Vec<PromoCode>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderPartiallyReserved {
    pub reservation_expiration: Timestamp,
    pub seats: Vec<SeatQuantity>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderReservationCompleted {
    pub reservation_expiration: Timestamp,
    pub seats: Vec<SeatQuantity>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderTotalsCalculated {
    pub total: Money,
    pub lines: Vec<OrderLine>,
    pub is_free_of_charge: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderExpired {}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderRegistrantAssigned {
    #[serde(flatten)]
    pub person: PersonalInfo,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderConfirmed {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<PaymentId>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderCancelled {
    pub reason: String,
}

events! {
    pub enum Event {
        OrderPlaced(OrderPlaced) = "OrderPlaced" v 1,
        OrderUpdated(OrderUpdated) = "OrderUpdated" v 1,
        OrderPartiallyReserved(OrderPartiallyReserved) = "OrderPartiallyReserved" v 1,
        OrderReservationCompleted(OrderReservationCompleted) = "OrderReservationCompleted" v 1,
        OrderTotalsCalculated(OrderTotalsCalculated) = "OrderTotalsCalculated" v 2,
        OrderExpired(OrderExpired) = "OrderExpired" v 1,
        OrderRegistrantAssigned(OrderRegistrantAssigned) = "OrderRegistrantAssigned" v 1,
        OrderConfirmed(OrderConfirmed) = "OrderConfirmed" v 1,
        OrderCancelled(OrderCancelled) = "OrderCancelled" v 1,
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("an order needs at least one seat; ask for a quantity above 0")]
    NoSeatsRequested,
    #[error("the order already exists")]
    OrderAlreadyPlaced,
    #[error("there is no such order")]
    OrderNotFound,
    #[error("the order is already confirmed")]
    OrderAlreadyConfirmed,
    #[error("the order has expired; place a new order")]
    OrderExpired,
    #[error("the order's reservation ran out at {0}; place a new order")]
    ReservationTimedOut(Timestamp),
    #[error("the order was cancelled")]
    OrderCancelled,
    #[error("no seats are reserved for this order yet")]
    SeatsNotReserved,
    #[error(
        "the order costs {0}, so it cannot be confirmed without payment; take payment with `order pay`"
    )]
    OrderNotFreeOfCharge(Money),
    #[error("the order could not be priced: {0}")]
    Pricing(#[from] pricing::PricingError),
    #[error("the order costs nothing, so it takes no payment; confirm it instead")]
    OrderIsFree,
}

impl ErrorCode for Error {
    fn code(&self) -> &'static str {
        match self {
            Self::NoSeatsRequested => "no_seats_requested",
            Self::OrderAlreadyPlaced => "order_already_placed",
            Self::OrderNotFound => "order_not_found",
            Self::OrderAlreadyConfirmed => "order_already_confirmed",
            Self::OrderExpired => "order_expired",
            Self::ReservationTimedOut(_) => "reservation_timed_out",
            Self::OrderCancelled => "order_cancelled",
            Self::SeatsNotReserved => "seats_not_reserved",
            Self::OrderNotFreeOfCharge(_) => "order_not_free_of_charge",
            Self::Pricing(_) => "pricing",
            Self::OrderIsFree => "order_is_free",
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Self::NoSeatsRequested => Some("quantity"),
            _ => None,
        }
    }
}

fn check_seats(seats: &[SeatQuantity]) -> Result<(), Error> {
    if seats.iter().all(|s| s.quantity == 0) {
        return Err(Error::NoSeatsRequested);
    }
    Ok(())
}

fn clean(seats: &[SeatQuantity]) -> Vec<SeatQuantity> {
    seats.iter().copied().filter(|s| s.quantity > 0).collect()
}

fn per_seat_type(seats: &[SeatQuantity]) -> BTreeMap<SeatTypeId, u64> {
    let mut total = BTreeMap::new();
    for s in seats.iter().filter(|s| s.quantity > 0) {
        *total.entry(s.seat_type).or_insert(0) += u64::from(s.quantity);
    }
    total
}

impl OrderData {
    fn check_open(&self) -> Result<(), Error> {
        match self.status {
            OrderStatus::Confirmed => Err(Error::OrderAlreadyConfirmed),
            OrderStatus::Expired => Err(Error::OrderExpired),
            OrderStatus::Cancelled => Err(Error::OrderCancelled),
            _ => Ok(()),
        }
    }

    /// Whether the order can be confirmed at `now`: open, its seats reserved, its
    /// reservation still running.
    fn check_confirmable(&self, now: Timestamp) -> Result<(), Error> {
        self.check_open()?;
        if self.status == OrderStatus::PendingReservation || self.reserved.is_empty() {
            return Err(Error::SeatsNotReserved);
        }
        if now > self.reservation_expires_at {
            return Err(Error::ReservationTimedOut(self.reservation_expires_at));
        }
        Ok(())
    }

    /// Whether money may be taken for the order at `now`: what `Confirm` on a paid basis
    /// asks, and that the order costs something. Asked before a payment starts, so a
    /// refused order never takes money.
    pub fn check_payable(&self, now: Timestamp) -> Result<(), Error> {
        self.check_confirmable(now)?;
        if self.is_free_of_charge() {
            return Err(Error::OrderIsFree);
        }
        Ok(())
    }

    #[must_use]
    pub fn total(&self) -> Money {
        self.totals.as_ref().map_or(Money::ZERO, |t| t.total)
    }

    #[must_use]
    pub fn is_free_of_charge(&self) -> bool {
        self.totals.as_ref().is_some_and(|t| t.is_free_of_charge)
    }
}

impl Aggregate for Order {
    const KIND: StreamKind = StreamKind::Order;
    const SNAPSHOT_VERSION: u32 = 2;
    type Command = Command;
    type Event = Event;
    type Error = Error;

    fn handle(&self, command: &Command) -> Result<Vec<Event>, Error> {
        let data = match (self, command) {
            (
                Self::NotPlaced,
                Command::Place {
                    conference_id,
                    seats,
                    promo_codes,
                    access_code,
                    holder,
                    allow_override,
                    reservation_expires_at,
                },
            ) => {
                check_seats(seats)?;
                return Ok(vec![
                    OrderPlaced {
                        conference_id: *conference_id,
                        seats: clean(seats),
                        access_code: access_code.clone(),
                        reservation_auto_expiration: *reservation_expires_at,
                        promo_codes: promo_codes.clone(),
                        holder: *holder,
                        allow_override: *allow_override,
                    }
                    .into(),
                ]);
            }
            (Self::Placed(_), Command::Place { .. }) => return Err(Error::OrderAlreadyPlaced),
            // Rejecting an order that does not exist is a no-op, as in the reference.
            (Self::NotPlaced, Command::Reject) => return Ok(vec![]),
            (Self::NotPlaced, _) => return Err(Error::OrderNotFound),
            (Self::Placed(data), _) => data,
        };
        match command {
            Command::Place { .. } => unreachable!("handled above"),
            Command::Update { seats, promo_codes } => {
                data.check_open()?;
                check_seats(seats)?;
                Ok(vec![
                    OrderUpdated {
                        seats: clean(seats),
                        promo_codes: promo_codes.clone(),
                    }
                    .into(),
                ])
            }
            Command::MarkSeatsAsReserved {
                seats,
                expiration,
                price_list,
                discounts,
            } => {
                data.check_open()?;
                let reserved = clean(seats);
                // Compare per seat type: an order may list one seat type on several lines,
                // while the seat pool answers with one line per seat type.
                let complete = per_seat_type(&data.seats) == per_seat_type(&reserved);
                let totals = pricing::price(price_list, &reserved, discounts)?;
                let first = if complete {
                    OrderReservationCompleted {
                        reservation_expiration: *expiration,
                        seats: reserved,
                    }
                    .into()
                } else {
                    OrderPartiallyReserved {
                        reservation_expiration: *expiration,
                        seats: reserved,
                    }
                    .into()
                };
                Ok(vec![
                    first,
                    OrderTotalsCalculated {
                        total: totals.total,
                        lines: totals.lines,
                        is_free_of_charge: totals.is_free_of_charge,
                    }
                    .into(),
                ])
            }
            Command::Reject => match data.status {
                OrderStatus::Confirmed => Err(Error::OrderAlreadyConfirmed),
                OrderStatus::Expired | OrderStatus::Cancelled => Ok(vec![]),
                _ => Ok(vec![OrderExpired {}.into()]),
            },
            Command::AssignRegistrantDetails(person) => {
                match data.status {
                    OrderStatus::Expired => return Err(Error::OrderExpired),
                    OrderStatus::Cancelled => return Err(Error::OrderCancelled),
                    _ => {}
                }
                if data.registrant.as_ref() == Some(person) {
                    return Ok(vec![]);
                }
                Ok(vec![
                    OrderRegistrantAssigned {
                        person: person.clone(),
                    }
                    .into(),
                ])
            }
            Command::Confirm { basis, now } => {
                data.check_confirmable(*now)?;
                let payment_id = match basis {
                    ConfirmationBasis::FreeOfCharge if !data.is_free_of_charge() => {
                        return Err(Error::OrderNotFreeOfCharge(data.total()));
                    }
                    ConfirmationBasis::FreeOfCharge => None,
                    ConfirmationBasis::Paid(payment) => Some(*payment),
                };
                Ok(vec![OrderConfirmed { payment_id }.into()])
            }
            Command::Cancel { reason } => match data.status {
                OrderStatus::Cancelled => Err(Error::OrderCancelled),
                OrderStatus::Expired => Err(Error::OrderExpired),
                _ => Ok(vec![
                    OrderCancelled {
                        reason: reason.clone(),
                    }
                    .into(),
                ]),
            },
        }
    }

    fn apply(&mut self, event: &Event) {
        let data = match (&mut *self, event) {
            (Self::NotPlaced, Event::OrderPlaced(e)) => {
                *self = Self::Placed(OrderData {
                    conference_id: e.conference_id,
                    holder: e.holder,
                    allow_override: e.allow_override,
                    access_code: e.access_code.clone(),
                    seats: e.seats.clone(),
                    reserved: vec![],
                    promo_codes: e.promo_codes.clone(),
                    reservation_expires_at: e.reservation_auto_expiration,
                    status: OrderStatus::PendingReservation,
                    totals: None,
                    registrant: None,
                    payment: None,
                    was_confirmed: false,
                });
                return;
            }
            (Self::NotPlaced, _) => return,
            (Self::Placed(data), _) => data,
        };
        match event {
            Event::OrderPlaced(_) => {}
            Event::OrderUpdated(e) => {
                data.seats = e.seats.clone();
                data.promo_codes = e.promo_codes.clone();
                data.status = OrderStatus::PendingReservation;
            }
            Event::OrderPartiallyReserved(e) => {
                data.reserved = e.seats.clone();
                data.reservation_expires_at = e.reservation_expiration;
                data.status = OrderStatus::PartiallyReserved;
            }
            Event::OrderReservationCompleted(e) => {
                data.reserved = e.seats.clone();
                data.reservation_expires_at = e.reservation_expiration;
                data.status = OrderStatus::ReservationCompleted;
            }
            Event::OrderTotalsCalculated(e) => {
                data.totals = Some(Totals {
                    lines: e.lines.clone(),
                    total: e.total,
                    is_free_of_charge: e.is_free_of_charge,
                });
            }
            Event::OrderExpired(_) => data.status = OrderStatus::Expired,
            Event::OrderRegistrantAssigned(e) => data.registrant = Some(e.person.clone()),
            Event::OrderConfirmed(e) => {
                data.status = OrderStatus::Confirmed;
                data.payment = e.payment_id;
                data.was_confirmed = true;
            }
            Event::OrderCancelled(_) => data.status = OrderStatus::Cancelled,
        }
    }
}
