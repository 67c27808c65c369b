//! Money is a decimal amount, never a float, rounded half-up to the currency's minor unit.
use crate::error_code::ErrorCode;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::iter::Sum;
use std::ops::{Add, Sub};
use std::str::FromStr;

/// An ISO 4217 currency code such as `EUR`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("currency `{0}` is not a three-letter ISO code such as EUR or USD")]
pub struct InvalidCurrency(pub String);

impl ErrorCode for InvalidCurrency {
    fn code(&self) -> &'static str {
        "invalid_currency"
    }

    fn field(&self) -> Option<&'static str> {
        Some("currency")
    }
}

impl Currency {
    pub fn parse(code: &str) -> Result<Self, InvalidCurrency> {
        let code = code.trim().to_ascii_uppercase();
        if code.len() == 3 && code.chars().all(|c| c.is_ascii_alphabetic()) {
            Ok(Self(code))
        } else {
            Err(InvalidCurrency(code))
        }
    }
    #[must_use]
    pub fn code(&self) -> &str {
        &self.0
    }
    /// Digits after the decimal point of the smallest coin.
    #[must_use]
    pub fn minor_units(&self) -> u32 {
        match self.0.as_str() {
            "JPY" | "KRW" | "ISK" | "CLP" | "VND" | "XAF" | "XOF" | "HUF" => 0,
            "BHD" | "KWD" | "OMR" | "JOD" | "TND" => 3,
            _ => 2,
        }
    }
}

impl Default for Currency {
    fn default() -> Self {
        Self("EUR".into())
    }
}

impl TryFrom<String> for Currency {
    type Error = InvalidCurrency;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An amount of money in a conference's currency. Stored and sent as a decimal string.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(#[serde(with = "rust_decimal::serde::str")] Decimal);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidMoney {
    #[error("`{0}` is not an amount of money; write it like 120 or 99.50")]
    NotANumber(String),
    #[error("the amount {0} is negative; amounts must be zero or more")]
    Negative(String),
}

/// Which amount it was (a price, an amount tendered, a discount) only the caller knows, so
/// it names no field.
impl ErrorCode for InvalidMoney {
    fn code(&self) -> &'static str {
        match self {
            Self::NotANumber(_) | Self::Negative(_) => "invalid_amount",
        }
    }
}

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    #[must_use]
    pub const fn new(amount: Decimal) -> Self {
        Self(amount)
    }
    #[must_use]
    pub const fn amount(&self) -> Decimal {
        self.0
    }
    /// Parses a non-negative decimal amount such as `99.50`.
    pub fn parse(text: &str) -> Result<Self, InvalidMoney> {
        let amount = Decimal::from_str(text.trim())
            .map_err(|_| InvalidMoney::NotANumber(text.trim().to_string()))?;
        if amount.is_sign_negative() && !amount.is_zero() {
            return Err(InvalidMoney::Negative(text.trim().to_string()));
        }
        Ok(Self(amount.normalize()))
    }
    /// Rounds half-up (away from zero at the midpoint) to `minor_units` decimals.
    #[must_use]
    pub fn round(self, minor_units: u32) -> Self {
        let mut rounded = self
            .0
            .round_dp_with_strategy(minor_units, RoundingStrategy::MidpointAwayFromZero);
        rounded.rescale(minor_units);
        Self(rounded)
    }
    #[must_use]
    pub fn times(self, quantity: u32) -> Self {
        Self(self.0 * Decimal::from(quantity))
    }
    /// `self` × `quantity`, or `None` where the product is beyond what a decimal holds.
    #[must_use]
    pub fn checked_times(self, quantity: u32) -> Option<Self> {
        self.0.checked_mul(Decimal::from(quantity)).map(Self)
    }
    #[must_use]
    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }
    #[must_use]
    pub fn is_negative(&self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }
    #[must_use]
    pub fn min(self, other: Self) -> Self {
        if self <= other { self } else { other }
    }
    /// `self - other`, but never below zero.
    #[must_use]
    pub fn saturating_sub(self, other: Self) -> Self {
        if other >= self {
            Money::ZERO
        } else {
            Self(self.0 - other.0)
        }
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Self) -> Self {
        Money(self.0 + rhs.0)
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Self) -> Self {
        Money(self.0 - rhs.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Self {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn rounds_half_up_to_minor_unit() {
        assert_eq!(Money::new(dec!(2.345)).round(2).to_string(), "2.35");
        assert_eq!(Money::new(dec!(2.5)).round(0).to_string(), "3");
        assert_eq!(Money::new(dec!(10)).round(2).to_string(), "10.00");
    }

    #[test]
    fn parse_rejects_negative_and_garbage() {
        assert!(matches!(Money::parse("-1"), Err(InvalidMoney::Negative(_))));
        assert!(matches!(
            Money::parse("ten"),
            Err(InvalidMoney::NotANumber(_))
        ));
        assert_eq!(Money::parse(" 99.50 ").unwrap().to_string(), "99.5");
    }

    #[test]
    fn serializes_as_decimal_string() {
        let json = serde_json::to_string(&Money::parse("12.30").unwrap()).unwrap();
        assert_eq!(json, "\"12.3\"");
        let back: Money = serde_json::from_str("\"12.30\"").unwrap();
        assert_eq!(back, Money::parse("12.3").unwrap());
    }
}
