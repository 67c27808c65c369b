//! Payments: cash at the door (amount tendered, change given), card (terminal reference),
//! and invoice for the back office; refunds when an order is cancelled.
use crate::aggregate::Aggregate;
use crate::error_code::ErrorCode;
use crate::events;
use crate::ids::{ConferenceId, OrderId};
use crate::money::Money;
use crate::stream::StreamKind;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    Card,
    Invoice,
}

impl PaymentMethod {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Cash => "cash",
            Self::Card => "card",
            Self::Invoice => "invoice",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentData {
    pub order_id: OrderId,
    pub conference_id: ConferenceId,
    pub amount: Money,
    pub method: PaymentMethod,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Payment {
    #[default]
    NotStarted,
    Initiated(PaymentData),
    Completed(PaymentData),
    Rejected(PaymentData),
    Refunded(PaymentData),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Initiate {
        order_id: OrderId,
        conference_id: ConferenceId,
        amount: Money,
        method: PaymentMethod,
        description: String,
    },
    Complete {
        tendered: Option<Money>,
        reference: Option<String>,
    },
    Reject {
        reason: String,
    },
    Refund {
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaymentInitiated {
    pub order_id: OrderId,
    pub conference_id: ConferenceId,
    pub amount: Money,
    pub method: PaymentMethod,
    #[serde(default)]
    pub description: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaymentCompleted {
    pub order_id: OrderId,
    pub method: PaymentMethod,
    pub amount: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tendered: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaymentRejected {
    pub order_id: OrderId,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaymentRefunded {
    pub order_id: OrderId,
    pub amount: Money,
    pub reason: String,
}

events! {
    pub enum Event {
        PaymentInitiated(PaymentInitiated) = "PaymentInitiated" v 1,
        PaymentCompleted(PaymentCompleted) = "PaymentCompleted" v 1,
        PaymentRejected(PaymentRejected) = "PaymentRejected" v 1,
        PaymentRefunded(PaymentRefunded) = "PaymentRefunded" v 1,
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("this payment was already started")]
    PaymentAlreadyInitiated,
    #[error("there is no such payment")]
    PaymentNotInitiated,
    #[error("the payment is no longer pending (it was completed, rejected or refunded)")]
    PaymentNotPending,
    #[error("a payment must be for more than 0; zero-cost orders are confirmed without payment")]
    NothingToPay,
    #[error("{tendered} tendered is less than the {amount} due; take at least {amount}")]
    TenderedTooLow { tendered: Money, amount: Money },
    #[error("an amount tendered only applies to cash payments")]
    TenderedOnlyForCash,
    #[error("a card payment needs the terminal's reference")]
    CardReferenceMissing,
    #[error("only a completed payment can be refunded")]
    NothingToRefund,
}

impl ErrorCode for Error {
    fn code(&self) -> &'static str {
        match self {
            Self::PaymentAlreadyInitiated => "payment_already_initiated",
            Self::PaymentNotInitiated => "payment_not_initiated",
            Self::PaymentNotPending => "payment_not_pending",
            Self::NothingToPay => "nothing_to_pay",
            Self::TenderedTooLow { .. } => "tendered_too_low",
            Self::TenderedOnlyForCash => "tendered_only_for_cash",
            Self::CardReferenceMissing => "card_reference_missing",
            Self::NothingToRefund => "nothing_to_refund",
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Self::TenderedTooLow { .. } | Self::TenderedOnlyForCash => Some("tendered"),
            Self::CardReferenceMissing => Some("reference"),
            _ => None,
        }
    }
}

/// Cash handed over for `amount`: what was tendered (the amount itself when nobody said)
/// and the change to give back. Less than the amount is refused. The door's screen asks
/// this as the cashier types, the payment when it completes.
pub fn cash_change(amount: Money, tendered: Option<Money>) -> Result<(Money, Money), Error> {
    match tendered {
        Some(tendered) if tendered < amount => Err(Error::TenderedTooLow { tendered, amount }),
        Some(tendered) => Ok((tendered, tendered - amount)),
        None => Ok((amount, Money::ZERO)),
    }
}

impl Aggregate for Payment {
    const KIND: StreamKind = StreamKind::Payment;
    const SNAPSHOT_VERSION: u32 = 1;
    type Command = Command;
    type Event = Event;
    type Error = Error;

    fn handle(&self, command: &Command) -> Result<Vec<Event>, Error> {
        match (self, command) {
            (
                Self::NotStarted,
                Command::Initiate {
                    order_id,
                    conference_id,
                    amount,
                    method,
                    description,
                },
            ) => {
                if amount.is_zero() || amount.is_negative() {
                    return Err(Error::NothingToPay);
                }
                Ok(vec![
                    PaymentInitiated {
                        order_id: *order_id,
                        conference_id: *conference_id,
                        amount: *amount,
                        method: *method,
                        description: description.clone(),
                    }
                    .into(),
                ])
            }
            (_, Command::Initiate { .. }) => Err(Error::PaymentAlreadyInitiated),
            (Self::NotStarted, _) => Err(Error::PaymentNotInitiated),
            (
                Self::Initiated(p),
                Command::Complete {
                    tendered,
                    reference,
                },
            ) => {
                let reference = reference
                    .as_deref()
                    .map(str::trim)
                    .filter(|r| !r.is_empty());
                let (tendered, change) = match (p.method, tendered) {
                    (PaymentMethod::Cash, tendered) => {
                        let (tendered, change) = cash_change(p.amount, *tendered)?;
                        (Some(tendered), Some(change))
                    }
                    (_, Some(_)) => return Err(Error::TenderedOnlyForCash),
                    (PaymentMethod::Card, None) if reference.is_none() => {
                        return Err(Error::CardReferenceMissing);
                    }
                    (_, None) => (None, None),
                };
                Ok(vec![
                    PaymentCompleted {
                        order_id: p.order_id,
                        method: p.method,
                        amount: p.amount,
                        tendered,
                        change,
                        reference: reference.map(str::to_string),
                    }
                    .into(),
                ])
            }
            (Self::Initiated(p), Command::Reject { reason }) => Ok(vec![
                PaymentRejected {
                    order_id: p.order_id,
                    reason: reason.clone(),
                }
                .into(),
            ]),
            (Self::Completed(p), Command::Refund { reason }) => Ok(vec![
                PaymentRefunded {
                    order_id: p.order_id,
                    amount: p.amount,
                    reason: reason.clone(),
                }
                .into(),
            ]),
            (_, Command::Refund { .. }) => Err(Error::NothingToRefund),
            (_, Command::Complete { .. } | Command::Reject { .. }) => Err(Error::PaymentNotPending),
        }
    }

    fn apply(&mut self, event: &Event) {
        let data = match self {
            Self::NotStarted => None,
            Self::Initiated(d) | Self::Completed(d) | Self::Rejected(d) | Self::Refunded(d) => {
                Some(d.clone())
            }
        };
        *self = match (event, data) {
            (Event::PaymentInitiated(e), _) => Self::Initiated(PaymentData {
                order_id: e.order_id,
                conference_id: e.conference_id,
                amount: e.amount,
                method: e.method,
            }),
            (Event::PaymentCompleted(_), Some(d)) => Self::Completed(d),
            (Event::PaymentRejected(_), Some(d)) => Self::Rejected(d),
            (Event::PaymentRefunded(_), Some(d)) => Self::Refunded(d),
            (_, None) => Self::NotStarted,
        };
    }
}
