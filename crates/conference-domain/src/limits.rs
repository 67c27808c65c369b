//! Values checked where they come in from another device (DESIGN.md §7, no poison pills):
//! an event is a fact once stored, but one that arrives from elsewhere (a push to the
//! sync server, a page pulled from it) is taken only if every amount and count in it is
//! one the domain itself could have written. Money is never negative where it cannot be
//! (only discount lines and seat changes go below zero) and never beyond [`MAX_MONEY`];
//! seat counts stay within [`MAX_SEAT_QUANTITY`]. With these bounds no arithmetic on the
//! values can overflow.
use crate::aggregate::DomainEvent;
use crate::conference::{self, MAX_SEAT_PRICE, MAX_SEAT_QUANTITY, SeatType};
use crate::discounts::{self, DiscountKind};
use crate::money::Money;
use crate::pricing::{LineKind, OrderLine};
use crate::seats;
use crate::values::{SeatDelta, SeatQuantity};
use crate::{order, payment};
use rust_decimal::Decimal;

/// The largest amount of money an event may carry: far above any order (50,000 a seat ×
/// 100,000 seats is 5 × 10⁹), far below where decimal arithmetic overflows.
pub const MAX_MONEY: i64 = 1_000_000_000_000;

/// A value an event carries that the domain could never have written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{event_type}` carries {what} {value}, which is out of range")]
pub struct ValueOutOfRange {
    pub event_type: &'static str,
    pub what: &'static str,
    pub value: String,
}

/// Whether every amount and count in `event` is within the domain's limits.
pub fn check(event: &DomainEvent) -> Result<(), ValueOutOfRange> {
    let mut check = Checker {
        event_type: event.event_type(),
    };
    match event {
        DomainEvent::Conference(e) => match e {
            conference::Event::SeatTypeCreated(c) => check.seat_type(&c.seat_type),
            conference::Event::SeatTypeUpdated(u) => {
                check.seat_type(&u.seat_type)?;
                check.count("a previous quantity", u.previous_quantity)
            }
            _ => Ok(()),
        },
        DomainEvent::Seats(e) => match e {
            seats::Event::AvailableSeatsChanged(c) => check.deltas(&c.seats),
            seats::Event::SeatsReserved(r) => {
                check.seats(&r.details)?;
                check.seats(&r.overridden)?;
                check.deltas(&r.available_changed)
            }
            seats::Event::SeatsReservationCancelled(c) => check.deltas(&c.available_changed),
            seats::Event::CommittedSeatsReleased(c) => check.deltas(&c.available_changed),
            seats::Event::SeatsAllotted(a) => check.seats(&a.seats),
            seats::Event::AllotmentReceived(a) => check.seats(&a.seats),
            seats::Event::AllotmentReturned(a) => check.seats(&a.seats),
            seats::Event::ReturnedSeatsAccepted(a) => check.seats(&a.seats),
            seats::Event::SeatsReservationCommitted(_) => Ok(()),
        },
        DomainEvent::Promos(discounts::Event::PromoCodeAdded(added)) => {
            match &added.definition.discount {
                DiscountKind::Percent(p) => {
                    if *p <= Decimal::ZERO || *p > Decimal::ONE_HUNDRED {
                        return Err(check.out("a percentage", p));
                    }
                    Ok(())
                }
                DiscountKind::Amount(amount) => check.amount("an amount off", *amount),
            }
        }
        DomainEvent::Promos(_) => Ok(()),
        DomainEvent::Order(e) => match e {
            order::Event::OrderPlaced(p) => check.seats(&p.seats),
            order::Event::OrderUpdated(u) => check.seats(&u.seats),
            order::Event::OrderPartiallyReserved(r) => check.seats(&r.seats),
            order::Event::OrderReservationCompleted(r) => check.seats(&r.seats),
            order::Event::OrderTotalsCalculated(t) => {
                check.amount("a total", t.total)?;
                t.lines.iter().try_for_each(|line| check.line(line))
            }
            _ => Ok(()),
        },
        DomainEvent::Payment(e) => match e {
            payment::Event::PaymentInitiated(i) => check.amount("an amount", i.amount),
            payment::Event::PaymentCompleted(c) => {
                check.amount("an amount", c.amount)?;
                if let Some(tendered) = c.tendered {
                    check.amount("an amount tendered", tendered)?;
                }
                match c.change {
                    Some(change) => check.amount("change", change),
                    None => Ok(()),
                }
            }
            payment::Event::PaymentRefunded(r) => check.amount("an amount refunded", r.amount),
            _ => Ok(()),
        },
        DomainEvent::Assignments(_) => Ok(()),
    }
}

struct Checker {
    event_type: &'static str,
}

impl Checker {
    fn out(&self, what: &'static str, value: impl std::fmt::Display) -> ValueOutOfRange {
        ValueOutOfRange {
            event_type: self.event_type,
            what,
            value: value.to_string(),
        }
    }

    fn seat_type(&mut self, seat_type: &SeatType) -> Result<(), ValueOutOfRange> {
        let price = seat_type.price;
        if price.is_negative() || price.amount() > Decimal::from(MAX_SEAT_PRICE) {
            return Err(self.out("a price", price));
        }
        self.count("a quantity", seat_type.quantity)
    }

    fn count(&mut self, what: &'static str, count: u32) -> Result<(), ValueOutOfRange> {
        if count > MAX_SEAT_QUANTITY {
            return Err(self.out(what, count));
        }
        Ok(())
    }

    fn seats(&mut self, seats: &[SeatQuantity]) -> Result<(), ValueOutOfRange> {
        seats
            .iter()
            .try_for_each(|s| self.count("a seat count", s.quantity))
    }

    fn deltas(&mut self, deltas: &[SeatDelta]) -> Result<(), ValueOutOfRange> {
        for delta in deltas {
            if delta.quantity.unsigned_abs() > u64::from(MAX_SEAT_QUANTITY) {
                return Err(self.out("a change of seats", delta.quantity));
            }
        }
        Ok(())
    }

    /// Money that is never negative.
    fn amount(&mut self, what: &'static str, money: Money) -> Result<(), ValueOutOfRange> {
        if money.is_negative() || money.amount() > Decimal::from(MAX_MONEY) {
            return Err(self.out(what, money));
        }
        Ok(())
    }

    /// A seat line is never negative; a discount line never positive; both bounded.
    fn line(&mut self, line: &OrderLine) -> Result<(), ValueOutOfRange> {
        self.count("a line's quantity", line.quantity)?;
        for money in [line.unit_price, line.total] {
            let within = money.amount().abs() <= Decimal::from(MAX_MONEY);
            let signed = match line.kind {
                LineKind::Seat => !money.is_negative(),
                LineKind::Discount => !money.amount().is_sign_positive() || money.is_zero(),
            };
            if !within || !signed {
                return Err(self.out("a line amount", money));
            }
        }
        Ok(())
    }
}
