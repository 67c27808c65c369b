//! Pricing: an order's lines and total from seat prices and applied promo codes.
//!
//! Each seat line is unit price × quantity, rounded half-up to the currency's minor unit.
//! A percentage applies to the in-scope seat lines' prices (so 10 % and 20 % make 30 % off);
//! a fixed amount applies once per order. Codes apply in the order given and each is capped
//! at what earlier ones left of its lines, so the total is never negative. Each applied
//! code is one line.
use crate::discounts::{DiscountKind, PromoCodeDefinition};
use crate::error_code::ErrorCode;
use crate::ids::SeatTypeId;
use crate::money::Money;
use crate::values::{PromoCode, SeatQuantity};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedSeatType {
    pub id: SeatTypeId,
    pub name: String,
    pub price: Money,
}

/// What pricing needs to know about a conference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceList {
    pub minor_units: u32,
    pub seat_types: Vec<PricedSeatType>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    #[default]
    Seat,
    Discount,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    #[serde(default)]
    pub kind: LineKind,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat_type: Option<SeatTypeId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promo_code: Option<PromoCode>,
    pub quantity: u32,
    pub unit_price: Money,
    /// Negative for a discount line.
    pub total: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub lines: Vec<OrderLine>,
    pub total: Money,
    pub is_free_of_charge: bool,
}

/// Why an order could not be priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("seat type {0} has no price in this conference")]
    UnpricedSeatType(SeatTypeId),
    /// A price times a quantity beyond what money holds: never from prices the domain
    /// accepts, but a price list is only as good as the events it was folded from.
    #[error("the order's total is beyond what money can hold")]
    TotalOutOfRange,
}

impl ErrorCode for PricingError {
    fn code(&self) -> &'static str {
        match self {
            Self::UnpricedSeatType(_) => "unpriced_seat_type",
            Self::TotalOutOfRange => "total_out_of_range",
        }
    }
}

fn describe(discount: &PromoCodeDefinition) -> String {
    match &discount.discount {
        DiscountKind::Percent(p) => {
            format!("Promo code {} ({}% off)", discount.code, p.normalize())
        }
        DiscountKind::Amount(a) => format!("Promo code {} ({} off)", discount.code, a),
    }
}

/// Prices `seats` (what is actually reserved) with `discounts` (already validated codes).
pub fn price(
    list: &PriceList,
    seats: &[SeatQuantity],
    discounts: &[PromoCodeDefinition],
) -> Result<Totals, PricingError> {
    let minor = list.minor_units;
    let mut lines = Vec::new();
    // What is left of each seat line after the discounts applied so far.
    let mut left: Vec<(SeatTypeId, Money, Decimal)> = Vec::new();
    for s in seats.iter().filter(|s| s.quantity > 0) {
        let priced = list
            .seat_types
            .iter()
            .find(|t| t.id == s.seat_type)
            .ok_or(PricingError::UnpricedSeatType(s.seat_type))?;
        let total = priced
            .price
            .checked_times(s.quantity)
            .ok_or(PricingError::TotalOutOfRange)?
            .round(minor);
        lines.push(OrderLine {
            kind: LineKind::Seat,
            description: priced.name.clone(),
            seat_type: Some(priced.id),
            promo_code: None,
            quantity: s.quantity,
            unit_price: priced.price,
            total,
        });
        left.push((priced.id, total, total.amount()));
    }
    // Every sum below is bounded by the seat lines' amounts together: if those fit in a
    // decimal, nothing after can overflow.
    lines.iter().try_fold(Decimal::ZERO, |sum, line| {
        sum.checked_add(line.total.amount().abs())
            .ok_or(PricingError::TotalOutOfRange)
    })?;
    for discount in discounts {
        let mut cut = Decimal::ZERO;
        match &discount.discount {
            DiscountKind::Percent(p) => {
                for (seat_type, line_total, rest) in &mut left {
                    if discount.scope.covers(*seat_type) {
                        let off = line_total
                            .amount()
                            .checked_mul(*p)
                            .ok_or(PricingError::TotalOutOfRange)?
                            / Decimal::ONE_HUNDRED;
                        let off = off.min(*rest);
                        *rest -= off;
                        cut += off;
                    }
                }
            }
            DiscountKind::Amount(amount) => {
                let mut wanted = amount.amount();
                for (seat_type, _, rest) in &mut left {
                    if discount.scope.covers(*seat_type) && wanted > Decimal::ZERO {
                        let off = wanted.min(*rest);
                        *rest -= off;
                        wanted -= off;
                        cut += off;
                    }
                }
            }
        }
        // Rounding each cut half-up can take a minor unit more than the lines before it
        // leave; never show more discount than is left to pay, so the lines add up.
        let left_to_pay: Money = lines.iter().map(|l| l.total).sum();
        let cut = Money::new(cut).round(minor).min(left_to_pay);
        if cut.is_zero() {
            continue;
        }
        let negative = Money::ZERO - cut;
        lines.push(OrderLine {
            kind: LineKind::Discount,
            description: describe(discount),
            seat_type: None,
            promo_code: Some(discount.code.clone()),
            quantity: 1,
            unit_price: negative,
            total: negative,
        });
    }
    let sum: Money = lines.iter().map(|l| l.total).sum();
    let total = if sum.is_negative() { Money::ZERO } else { sum }.round(minor);
    Ok(Totals {
        lines,
        is_free_of_charge: total.is_zero(),
        total,
    })
}
