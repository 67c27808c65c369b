//! Discounts (new in V2): promo codes per conference.
//!
//! A code is a percentage or a fixed amount, scoped to all seat types or listed ones, with an
//! optional usage limit, and either exclusive or combinable. A limited code's redemption is
//! held while its order is reserved, counted when the order is confirmed, and released if the
//! order expires or is cancelled.
use crate::aggregate::Aggregate;
use crate::error_code::ErrorCode;
use crate::events;
use crate::ids::{OrderId, SeatTypeId};
use crate::money::Money;
use crate::stream::StreamKind;
use crate::values::PromoCode;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum DiscountKind {
    /// Percent off the in-scope seat lines (0 < p ≤ 100).
    Percent(#[serde(with = "rust_decimal::serde::str")] Decimal),
    /// An amount off once per order, capped at the in-scope subtotal.
    Amount(Money),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "seat_types", rename_all = "snake_case")]
pub enum Scope {
    All,
    SeatTypes(Vec<SeatTypeId>),
}

impl Scope {
    #[must_use]
    pub fn covers(&self, seat_type: SeatTypeId) -> bool {
        match self {
            Self::All => true,
            Self::SeatTypes(types) => types.contains(&seat_type),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromoCodeDefinition {
    pub code: PromoCode,
    pub discount: DiscountKind,
    pub scope: Scope,
    /// `None` is unlimited.
    pub max_uses: Option<u32>,
    pub exclusive: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromoState {
    pub definition: PromoCodeDefinition,
    /// Orders holding a redemption of this (limited) code while they are reserved.
    pub held: BTreeSet<OrderId>,
    /// Redemptions counted by confirmed orders.
    pub redeemed: u32,
}

impl PromoState {
    /// Redemptions still free, or `None` when the code is unlimited.
    #[must_use]
    pub fn uses_left(&self) -> Option<u32> {
        self.definition.max_uses.map(|max| {
            max.saturating_sub(self.redeemed)
                .saturating_sub(u32::try_from(self.held.len()).unwrap_or(u32::MAX))
        })
    }
}

/// All promo codes of one conference.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promotions {
    pub codes: BTreeMap<PromoCode, PromoState>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    AddPromoCode(PromoCodeDefinition),
    /// Holds one redemption of each limited code for an order, replacing its earlier hold.
    HoldRedemptions {
        order_id: OrderId,
        codes: Vec<PromoCode>,
        seat_types: Vec<SeatTypeId>,
    },
    CommitRedemptions {
        order_id: OrderId,
    },
    /// Gives back an order's redemptions; `committed` when the order had been confirmed.
    ReleaseRedemptions {
        order_id: OrderId,
        codes: Vec<PromoCode>,
        committed: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PromoCodeAdded {
    #[serde(flatten)]
    pub definition: PromoCodeDefinition,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PromoRedemptionsHeld {
    pub order_id: OrderId,
    pub codes: Vec<PromoCode>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PromoRedemptionsCommitted {
    pub order_id: OrderId,
    pub codes: Vec<PromoCode>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PromoRedemptionsReleased {
    pub order_id: OrderId,
    pub codes: Vec<PromoCode>,
    #[serde(default)]
    pub committed: bool,
}

events! {
    pub enum Event {
        PromoCodeAdded(PromoCodeAdded) = "PromoCodeAdded" v 1,
        PromoRedemptionsHeld(PromoRedemptionsHeld) = "PromoRedemptionsHeld" v 1,
        PromoRedemptionsCommitted(PromoRedemptionsCommitted) = "PromoRedemptionsCommitted" v 1,
        PromoRedemptionsReleased(PromoRedemptionsReleased) = "PromoRedemptionsReleased" v 1,
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("promo code {0} already exists in this conference")]
    PromoCodeAlreadyExists(PromoCode),
    #[error("a percentage discount must be more than 0 and at most 100, not {0}")]
    PercentOutOfRange(Decimal),
    #[error("a fixed discount must be more than 0")]
    AmountNotPositive,
    #[error("a usage limit must be at least 1 (leave it out for unlimited)")]
    MaxUsesZero,
    #[error("a scope must name at least one seat type (leave it out for all seat types)")]
    EmptyScope,
    #[error("promo code {0} does not exist for this conference; check the spelling")]
    UnknownPromoCode(PromoCode),
    #[error("promo code {0} does not apply to any seat type in this order")]
    PromoCodeNotApplicable(PromoCode),
    #[error("promo code {code} cannot be combined with {other}; use only one of them")]
    PromoCodeNotCombinable { code: PromoCode, other: PromoCode },
    #[error("promo code {0} has been used up")]
    PromoCodeExhausted(PromoCode),
}

impl ErrorCode for Error {
    fn code(&self) -> &'static str {
        match self {
            Self::PromoCodeAlreadyExists(_) => "promo_code_already_exists",
            Self::PercentOutOfRange(_) => "percent_out_of_range",
            Self::AmountNotPositive => "amount_not_positive",
            Self::MaxUsesZero => "max_uses_zero",
            Self::EmptyScope => "empty_scope",
            Self::UnknownPromoCode(_) => "unknown_promo_code",
            Self::PromoCodeNotApplicable(_) => "promo_code_not_applicable",
            Self::PromoCodeNotCombinable { .. } => "promo_code_not_combinable",
            Self::PromoCodeExhausted(_) => "promo_code_exhausted",
        }
    }

    fn field(&self) -> Option<&'static str> {
        Some(match self {
            Self::PromoCodeAlreadyExists(_)
            | Self::UnknownPromoCode(_)
            | Self::PromoCodeNotApplicable(_)
            | Self::PromoCodeNotCombinable { .. }
            | Self::PromoCodeExhausted(_) => "promo_code",
            Self::PercentOutOfRange(_) => "percent",
            Self::AmountNotPositive => "amount",
            Self::MaxUsesZero => "max_uses",
            Self::EmptyScope => "scope",
        })
    }
}

impl Promotions {
    /// Checks that `codes` may be used together on an order of `seat_types`, and returns
    /// their definitions, each code once, in the order given.
    pub fn validate(
        &self,
        codes: &[PromoCode],
        seat_types: &[SeatTypeId],
    ) -> Result<Vec<PromoCodeDefinition>, Error> {
        let mut seen = BTreeSet::new();
        let mut definitions = Vec::new();
        for code in codes {
            if !seen.insert(code.clone()) {
                continue;
            }
            let state = self
                .codes
                .get(code)
                .ok_or_else(|| Error::UnknownPromoCode(code.clone()))?;
            if !seat_types.iter().any(|t| state.definition.scope.covers(*t)) {
                return Err(Error::PromoCodeNotApplicable(code.clone()));
            }
            definitions.push(state.definition.clone());
        }
        if definitions.len() > 1
            && let Some(exclusive) = definitions.iter().find(|d| d.exclusive)
        {
            let other = definitions
                .iter()
                .find(|d| d.code != exclusive.code)
                .map(|d| d.code.clone())
                .unwrap_or_else(|| exclusive.code.clone());
            return Err(Error::PromoCodeNotCombinable {
                code: exclusive.code.clone(),
                other,
            });
        }
        Ok(definitions)
    }

    fn held_by(&self, order_id: OrderId) -> BTreeSet<PromoCode> {
        self.codes
            .iter()
            .filter(|(_, s)| s.held.contains(&order_id))
            .map(|(c, _)| c.clone())
            .collect()
    }
}

impl Aggregate for Promotions {
    const KIND: StreamKind = StreamKind::Promos;
    const SNAPSHOT_VERSION: u32 = 1;
    type Command = Command;
    type Event = Event;
    type Error = Error;

    fn handle(&self, command: &Command) -> Result<Vec<Event>, Error> {
        match command {
            Command::AddPromoCode(definition) => {
                if self.codes.contains_key(&definition.code) {
                    return Err(Error::PromoCodeAlreadyExists(definition.code.clone()));
                }
                match &definition.discount {
                    DiscountKind::Percent(p)
                        if *p <= Decimal::ZERO || *p > Decimal::ONE_HUNDRED =>
                    {
                        return Err(Error::PercentOutOfRange(*p));
                    }
                    DiscountKind::Amount(a) if a.is_zero() || a.is_negative() => {
                        return Err(Error::AmountNotPositive);
                    }
                    _ => {}
                }
                if definition.max_uses == Some(0) {
                    return Err(Error::MaxUsesZero);
                }
                if matches!(&definition.scope, Scope::SeatTypes(t) if t.is_empty()) {
                    return Err(Error::EmptyScope);
                }
                Ok(vec![
                    PromoCodeAdded {
                        definition: definition.clone(),
                    }
                    .into(),
                ])
            }
            Command::HoldRedemptions {
                order_id,
                codes,
                seat_types,
            } => {
                let definitions = self.validate(codes, seat_types)?;
                let wanted: BTreeSet<PromoCode> = definitions
                    .iter()
                    .filter(|d| d.max_uses.is_some())
                    .map(|d| d.code.clone())
                    .collect();
                let current = self.held_by(*order_id);
                for code in wanted.difference(&current) {
                    if self.codes[code].uses_left() == Some(0) {
                        return Err(Error::PromoCodeExhausted(code.clone()));
                    }
                }
                let mut events = Vec::new();
                let released: Vec<_> = current.difference(&wanted).cloned().collect();
                if !released.is_empty() {
                    events.push(
                        PromoRedemptionsReleased {
                            order_id: *order_id,
                            codes: released,
                            committed: false,
                        }
                        .into(),
                    );
                }
                let held: Vec<_> = wanted.difference(&current).cloned().collect();
                if !held.is_empty() {
                    events.push(
                        PromoRedemptionsHeld {
                            order_id: *order_id,
                            codes: held,
                        }
                        .into(),
                    );
                }
                Ok(events)
            }
            Command::CommitRedemptions { order_id } => {
                let held: Vec<_> = self.held_by(*order_id).into_iter().collect();
                if held.is_empty() {
                    return Ok(vec![]);
                }
                Ok(vec![
                    PromoRedemptionsCommitted {
                        order_id: *order_id,
                        codes: held,
                    }
                    .into(),
                ])
            }
            Command::ReleaseRedemptions {
                order_id,
                codes,
                committed,
            } => {
                let codes: Vec<_> = if *committed {
                    codes
                        .iter()
                        .filter(|c| {
                            self.codes
                                .get(*c)
                                .is_some_and(|s| s.definition.max_uses.is_some() && s.redeemed > 0)
                        })
                        .cloned()
                        .collect()
                } else {
                    self.held_by(*order_id).into_iter().collect()
                };
                if codes.is_empty() {
                    return Ok(vec![]);
                }
                Ok(vec![
                    PromoRedemptionsReleased {
                        order_id: *order_id,
                        codes,
                        committed: *committed,
                    }
                    .into(),
                ])
            }
        }
    }

    fn apply(&mut self, event: &Event) {
        match event {
            Event::PromoCodeAdded(e) => {
                self.codes.insert(
                    e.definition.code.clone(),
                    PromoState {
                        definition: e.definition.clone(),
                        held: BTreeSet::new(),
                        redeemed: 0,
                    },
                );
            }
            Event::PromoRedemptionsHeld(e) => {
                for code in &e.codes {
                    if let Some(s) = self.codes.get_mut(code) {
                        s.held.insert(e.order_id);
                    }
                }
            }
            Event::PromoRedemptionsCommitted(e) => {
                for code in &e.codes {
                    if let Some(s) = self.codes.get_mut(code)
                        && s.held.remove(&e.order_id)
                    {
                        s.redeemed += 1;
                    }
                }
            }
            Event::PromoRedemptionsReleased(e) => {
                for code in &e.codes {
                    if let Some(s) = self.codes.get_mut(code) {
                        if e.committed {
                            s.redeemed = s.redeemed.saturating_sub(1);
                        } else {
                            s.held.remove(&e.order_id);
                        }
                    }
                }
            }
        }
    }
}
