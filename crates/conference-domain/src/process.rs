//! The registration process manager: a pure reactor per order (event in, commands out).
//!
//! OrderPlaced → reserve seats (and hold limited promo codes) and schedule the expiry;
//! SeatsReserved → mark the order reserved; PaymentCompleted → confirm the order;
//! OrderConfirmed → commit the reservation and create seat assignments; expiry → cancel the
//! reservation and reject the order. Stale or duplicate inputs are ignored, never applied
//! twice. A payment that completes after the order expired does not confirm it: it is
//! refunded instead. The runner keeps this state in the same transaction as the events.
use crate::Timestamp;
use crate::ids::{ConferenceId, OrderId, PaymentId, SeatTypeId};
use crate::order::{self, ConfirmationBasis};
use crate::payment;
use crate::seats;
use crate::stream::Holder;
use crate::values::{PromoCode, SeatQuantity};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    #[default]
    NotStarted,
    AwaitingReservationConfirmation,
    ReservationConfirmationReceived,
    PaymentConfirmationReceived,
    Completed,
    Expired,
    Cancelled,
}

/// Stored as JSON in the store's process state. V1's shape had no `holder`,
/// `allow_override` or `promo_codes`: it loads with the pool as holder (V1 sold only from
/// the pool), no override and no codes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegistrationProcess {
    pub stage: Stage,
    pub order_id: Option<OrderId>,
    pub conference_id: Option<ConferenceId>,
    #[serde(default = "v1_holder")]
    pub holder: Option<Holder>,
    pub allow_override: bool,
    pub reservation_expires_at: Option<Timestamp>,
    /// Which scheduled expiry is the live one; older ones are stale.
    pub expiry_sequence: u32,
    pub reserved: Vec<SeatQuantity>,
    pub promo_codes: Vec<PromoCode>,
    pub payment: Option<PaymentId>,
    pub payment_completed: bool,
}

fn v1_holder() -> Option<Holder> {
    Some(Holder::Pool)
}

/// What the process reacts to.
#[derive(Clone, Debug, PartialEq)]
pub enum Input<'a> {
    Order(OrderId, &'a order::Event),
    Seats(&'a seats::Event),
    Payment(PaymentId, &'a payment::Event),
    /// A scheduled expiry came due.
    Expire {
        order_id: OrderId,
        sequence: u32,
    },
}

impl Input<'_> {
    /// The order (process instance) an input belongs to, if any.
    #[must_use]
    pub fn order_id(&self) -> Option<OrderId> {
        match self {
            Self::Order(id, _) => Some(*id),
            Self::Seats(e) => match e {
                seats::Event::SeatsReserved(e) => Some(e.reservation_id),
                _ => None,
            },
            Self::Payment(_, e) => match e {
                payment::Event::PaymentCompleted(e) => Some(e.order_id),
                payment::Event::PaymentInitiated(e) => Some(e.order_id),
                _ => None,
            },
            Self::Expire { order_id, .. } => Some(*order_id),
        }
    }
}

/// What the process asks for. The runner turns each into an aggregate command.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    MakeSeatReservation {
        conference_id: ConferenceId,
        holder: Holder,
        order_id: OrderId,
        seats: Vec<SeatQuantity>,
        allow_override: bool,
    },
    HoldPromoRedemptions {
        conference_id: ConferenceId,
        order_id: OrderId,
        codes: Vec<PromoCode>,
        seat_types: Vec<SeatTypeId>,
    },
    ScheduleExpiry {
        order_id: OrderId,
        sequence: u32,
        due: Timestamp,
    },
    MarkSeatsAsReserved {
        order_id: OrderId,
        seats: Vec<SeatQuantity>,
        expiration: Timestamp,
    },
    ConfirmOrder {
        order_id: OrderId,
        basis: ConfirmationBasis,
    },
    CommitSeatReservation {
        conference_id: ConferenceId,
        holder: Holder,
        order_id: OrderId,
    },
    CommitPromoRedemptions {
        conference_id: ConferenceId,
        order_id: OrderId,
    },
    CreateSeatAssignments {
        order_id: OrderId,
        seats: Vec<SeatQuantity>,
    },
    CancelSeatReservation {
        conference_id: ConferenceId,
        holder: Holder,
        order_id: OrderId,
    },
    ReleaseCommittedSeats {
        conference_id: ConferenceId,
        holder: Holder,
        order_id: OrderId,
        seats: Vec<SeatQuantity>,
    },
    ReleasePromoRedemptions {
        conference_id: ConferenceId,
        order_id: OrderId,
        codes: Vec<PromoCode>,
        committed: bool,
    },
    RejectOrder {
        order_id: OrderId,
    },
    RefundPayment {
        payment_id: PaymentId,
        reason: String,
    },
}

/// The new state and the commands an input causes.
#[derive(Clone, Debug, PartialEq)]
pub struct Reaction {
    pub state: RegistrationProcess,
    pub commands: Vec<Output>,
}

impl RegistrationProcess {
    /// The state the registration of a placed order is in, as the order shows it: what the
    /// device that placed the order keeps after running it (the sync server, which keeps no
    /// process state, resumes a device's registration from its order). It differs only
    /// where a payment completed after the order had ended, which the order does not record.
    #[must_use]
    pub fn resume(order_id: OrderId, order: &order::OrderData) -> Self {
        use order::OrderStatus as S;
        let stage = match order.status {
            S::PendingReservation => Stage::AwaitingReservationConfirmation,
            S::PartiallyReserved | S::ReservationCompleted => {
                Stage::ReservationConfirmationReceived
            }
            S::Confirmed => Stage::Completed,
            S::Expired => Stage::Expired,
            S::Cancelled => Stage::Cancelled,
        };
        Self {
            stage,
            order_id: Some(order_id),
            conference_id: Some(order.conference_id),
            holder: Some(order.holder),
            allow_override: order.allow_override,
            reservation_expires_at: Some(order.reservation_expires_at),
            expiry_sequence: 1,
            reserved: order.reserved.clone(),
            promo_codes: order.promo_codes.clone(),
            payment: order.payment,
            payment_completed: order.payment.is_some(),
        }
    }

    fn ids(&self) -> Option<(OrderId, ConferenceId, Holder)> {
        Some((self.order_id?, self.conference_id?, self.holder?))
    }

    /// Reacts to one input. Inputs that do not fit the current stage are ignored.
    #[must_use]
    pub fn react(&self, input: &Input<'_>) -> Reaction {
        let mut next = self.clone();
        let commands = next.step(input);
        Reaction {
            state: next,
            commands,
        }
    }

    fn step(&mut self, input: &Input<'_>) -> Vec<Output> {
        use Stage::*;
        match (self.stage, input) {
            (NotStarted, Input::Order(order_id, order::Event::OrderPlaced(e))) => {
                self.stage = AwaitingReservationConfirmation;
                self.order_id = Some(*order_id);
                self.conference_id = Some(e.conference_id);
                self.holder = Some(e.holder);
                self.allow_override = e.allow_override;
                self.reservation_expires_at = Some(e.reservation_auto_expiration);
                self.promo_codes = e.promo_codes.clone();
                self.expiry_sequence = 1;
                let mut out = vec![Output::MakeSeatReservation {
                    conference_id: e.conference_id,
                    holder: e.holder,
                    order_id: *order_id,
                    seats: e.seats.clone(),
                    allow_override: e.allow_override,
                }];
                if !e.promo_codes.is_empty() {
                    out.push(Output::HoldPromoRedemptions {
                        conference_id: e.conference_id,
                        order_id: *order_id,
                        codes: e.promo_codes.clone(),
                        seat_types: e.seats.iter().map(|s| s.seat_type).collect(),
                    });
                }
                out.push(Output::ScheduleExpiry {
                    order_id: *order_id,
                    sequence: self.expiry_sequence,
                    due: e.reservation_auto_expiration,
                });
                out
            }
            (
                AwaitingReservationConfirmation | ReservationConfirmationReceived,
                Input::Order(_, order::Event::OrderUpdated(e)),
            ) => {
                let Some((order_id, conference_id, holder)) = self.ids() else {
                    return vec![];
                };
                self.stage = AwaitingReservationConfirmation;
                let had_codes = !self.promo_codes.is_empty();
                self.promo_codes = e.promo_codes.clone();
                let mut out = vec![Output::MakeSeatReservation {
                    conference_id,
                    holder,
                    order_id,
                    seats: e.seats.clone(),
                    allow_override: self.allow_override,
                }];
                if had_codes || !e.promo_codes.is_empty() {
                    out.push(Output::HoldPromoRedemptions {
                        conference_id,
                        order_id,
                        codes: e.promo_codes.clone(),
                        seat_types: e.seats.iter().map(|s| s.seat_type).collect(),
                    });
                }
                out
            }
            (AwaitingReservationConfirmation, Input::Seats(seats::Event::SeatsReserved(e)))
                if Some(e.reservation_id) == self.order_id =>
            {
                self.stage = ReservationConfirmationReceived;
                self.reserved = e.details.clone();
                let (Some(order_id), Some(expiration)) =
                    (self.order_id, self.reservation_expires_at)
                else {
                    return vec![];
                };
                vec![Output::MarkSeatsAsReserved {
                    order_id,
                    seats: e.details.clone(),
                    expiration,
                }]
            }
            (_, Input::Payment(payment_id, payment::Event::PaymentCompleted(_)))
                if self.payment_completed =>
            {
                // A redelivered completion was handled already (confirmed or refunded). A
                // second, different payment is money taken twice: refund it, keep the first.
                if self.payment == Some(*payment_id) {
                    vec![]
                } else {
                    vec![Output::RefundPayment {
                        payment_id: *payment_id,
                        reason: "the order was already paid".into(),
                    }]
                }
            }
            (_, Input::Payment(payment_id, payment::Event::PaymentCompleted(_))) => {
                self.payment = Some(*payment_id);
                self.payment_completed = true;
                match self.stage {
                    ReservationConfirmationReceived => {
                        self.stage = PaymentConfirmationReceived;
                        self.order_id
                            .map(|order_id| Output::ConfirmOrder {
                                order_id,
                                basis: ConfirmationBasis::Paid(*payment_id),
                            })
                            .into_iter()
                            .collect()
                    }
                    Expired | Cancelled => vec![Output::RefundPayment {
                        payment_id: *payment_id,
                        reason: "the order was no longer valid when the payment completed".into(),
                    }],
                    _ => vec![],
                }
            }
            (
                ReservationConfirmationReceived | PaymentConfirmationReceived,
                Input::Order(_, order::Event::OrderConfirmed(_)),
            ) => {
                let Some((order_id, conference_id, holder)) = self.ids() else {
                    return vec![];
                };
                self.stage = Completed;
                let mut out = vec![Output::CommitSeatReservation {
                    conference_id,
                    holder,
                    order_id,
                }];
                if !self.promo_codes.is_empty() {
                    out.push(Output::CommitPromoRedemptions {
                        conference_id,
                        order_id,
                    });
                }
                out.push(Output::CreateSeatAssignments {
                    order_id,
                    seats: self.reserved.clone(),
                });
                out
            }
            (
                AwaitingReservationConfirmation
                | ReservationConfirmationReceived
                | PaymentConfirmationReceived,
                Input::Expire { sequence, .. },
            ) if *sequence == self.expiry_sequence => {
                let Some((order_id, conference_id, holder)) = self.ids() else {
                    return vec![];
                };
                self.stage = Expired;
                let mut out = vec![Output::CancelSeatReservation {
                    conference_id,
                    holder,
                    order_id,
                }];
                if !self.promo_codes.is_empty() {
                    out.push(Output::ReleasePromoRedemptions {
                        conference_id,
                        order_id,
                        codes: self.promo_codes.clone(),
                        committed: false,
                    });
                }
                out.push(Output::RejectOrder { order_id });
                if let (true, Some(payment_id)) = (self.payment_completed, self.payment) {
                    out.push(Output::RefundPayment {
                        payment_id,
                        reason: "the order expired".into(),
                    });
                }
                out
            }
            (stage, Input::Order(_, order::Event::OrderCancelled(_)))
                if !matches!(stage, NotStarted | Expired | Cancelled) =>
            {
                let Some((order_id, conference_id, holder)) = self.ids() else {
                    return vec![];
                };
                let confirmed = stage == Completed;
                self.stage = Cancelled;
                let mut out = vec![if confirmed {
                    Output::ReleaseCommittedSeats {
                        conference_id,
                        holder,
                        order_id,
                        seats: self.reserved.clone(),
                    }
                } else {
                    Output::CancelSeatReservation {
                        conference_id,
                        holder,
                        order_id,
                    }
                }];
                if !self.promo_codes.is_empty() {
                    out.push(Output::ReleasePromoRedemptions {
                        conference_id,
                        order_id,
                        codes: self.promo_codes.clone(),
                        committed: confirmed,
                    });
                }
                if let (true, Some(payment_id)) = (self.payment_completed, self.payment) {
                    out.push(Output::RefundPayment {
                        payment_id,
                        reason: "the order was cancelled".into(),
                    });
                }
                out
            }
            _ => vec![],
        }
    }
}
