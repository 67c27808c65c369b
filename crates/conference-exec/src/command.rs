//! User commands: what a person (or a script, or later a sync peer) asks the system to do,
//! with every id, code and time already chosen. They are stored in the outbox in this
//! serialized form, so their shape is frozen like an event's.
use conference_domain::conference::{self, ConferenceDetails};
use conference_domain::discounts::{self, PromoCodeDefinition};
use conference_domain::payment::PaymentMethod;
use conference_domain::stream::Holder;
use conference_domain::values::{AccessCode, PersonalInfo, PromoCode, SeatQuantity};
use conference_domain::{ConferenceId, Currency, Money, OrderId, PaymentId, SeatTypeId, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaymentDetails {
    pub payment_id: PaymentId,
    pub method: PaymentMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tendered: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewOrder {
    pub order_id: OrderId,
    pub conference_id: ConferenceId,
    pub seats: Vec<SeatQuantity>,
    #[serde(default)]
    pub promo_codes: Vec<PromoCode>,
    pub access_code: AccessCode,
    pub holder: Holder,
    #[serde(default)]
    pub allow_override: bool,
    pub reservation_expires_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UserCommand {
    CreateConference {
        conference_id: ConferenceId,
        details: ConferenceDetails,
        currency: Currency,
    },
    UpdateConference {
        conference_id: ConferenceId,
        details: ConferenceDetails,
    },
    PublishConference {
        conference_id: ConferenceId,
    },
    UnpublishConference {
        conference_id: ConferenceId,
    },
    AddSeatType {
        conference_id: ConferenceId,
        seat_type_id: SeatTypeId,
        name: String,
        description: String,
        price: Money,
        quantity: u32,
    },
    UpdateSeatType {
        conference_id: ConferenceId,
        seat_type_id: SeatTypeId,
        name: Option<String>,
        description: Option<String>,
        price: Option<Money>,
        quantity: Option<u32>,
    },
    AddPromoCode {
        conference_id: ConferenceId,
        definition: PromoCodeDefinition,
    },
    PlaceOrder(NewOrder),
    UpdateOrder {
        order_id: OrderId,
        seats: Vec<SeatQuantity>,
        promo_codes: Vec<PromoCode>,
    },
    AssignRegistrant {
        order_id: OrderId,
        person: PersonalInfo,
    },
    PayOrder {
        order_id: OrderId,
        payment: PaymentDetails,
    },
    ConfirmOrder {
        order_id: OrderId,
    },
    CancelOrder {
        order_id: OrderId,
        reason: String,
    },
    AssignSeat {
        order_id: OrderId,
        position: u32,
        attendee: PersonalInfo,
    },
    UnassignSeat {
        order_id: OrderId,
        position: u32,
    },
    /// The door's one-shot sale: place, reserve, price, registrant, pay (unless free),
    /// confirm, commit and assignments, all or nothing.
    Sell {
        order: NewOrder,
        registrant: Option<PersonalInfo>,
        payment: Option<PaymentDetails>,
    },
    /// Runs scheduled commands due at the command's time.
    Tick,
    /// Seats the server's pool granted to this device join its allotment.
    ReceiveAllotment {
        conference_id: ConferenceId,
        seats: Vec<SeatQuantity>,
    },
    /// Unsold seats of this device's allotment go back (the server's pool takes them).
    ReturnAllotment {
        conference_id: ConferenceId,
        seats: Vec<SeatQuantity>,
    },
}

impl UserCommand {
    /// A stable name for logs and the command log.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::CreateConference { .. } => "create_conference",
            Self::UpdateConference { .. } => "update_conference",
            Self::PublishConference { .. } => "publish_conference",
            Self::UnpublishConference { .. } => "unpublish_conference",
            Self::AddSeatType { .. } => "add_seat_type",
            Self::UpdateSeatType { .. } => "update_seat_type",
            Self::AddPromoCode { .. } => "add_promo_code",
            Self::PlaceOrder(_) => "place_order",
            Self::UpdateOrder { .. } => "update_order",
            Self::AssignRegistrant { .. } => "assign_registrant",
            Self::PayOrder { .. } => "pay_order",
            Self::ConfirmOrder { .. } => "confirm_order",
            Self::CancelOrder { .. } => "cancel_order",
            Self::AssignSeat { .. } => "assign_seat",
            Self::UnassignSeat { .. } => "unassign_seat",
            Self::Sell { .. } => "sell",
            Self::Tick => "tick",
            Self::ReceiveAllotment { .. } => "receive_allotment",
            Self::ReturnAllotment { .. } => "return_allotment",
        }
    }
}

/// What a command did, as remembered under its command id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    Conference {
        conference_id: ConferenceId,
    },
    Order {
        order_id: OrderId,
    },
    Tick {
        ran: u32,
        expired_orders: Vec<OrderId>,
    },
}

/// What an organizer's command does to the domain: one command on the conference or on its
/// promo codes. The device's use cases and the server's rebase both run this one mapping.
#[derive(Clone, Debug, PartialEq)]
pub enum OrganizerCommand {
    Conference(ConferenceId, conference::Command),
    Promos(ConferenceId, discounts::Command),
}

impl OrganizerCommand {
    #[must_use]
    pub fn conference_id(&self) -> ConferenceId {
        match self {
            Self::Conference(id, _) | Self::Promos(id, _) => *id,
        }
    }
}

impl UserCommand {
    /// The domain command of an organizer's command; `None` for every other command.
    #[must_use]
    pub fn organizer_command(&self) -> Option<OrganizerCommand> {
        use conference::Command as Cc;
        Some(match self.clone() {
            Self::CreateConference {
                conference_id,
                details,
                currency,
            } => OrganizerCommand::Conference(
                conference_id,
                Cc::Create {
                    id: conference_id,
                    details,
                    currency,
                },
            ),
            Self::UpdateConference {
                conference_id,
                details,
            } => OrganizerCommand::Conference(conference_id, Cc::Update { details }),
            Self::PublishConference { conference_id } => {
                OrganizerCommand::Conference(conference_id, Cc::Publish)
            }
            Self::UnpublishConference { conference_id } => {
                OrganizerCommand::Conference(conference_id, Cc::Unpublish)
            }
            Self::AddSeatType {
                conference_id,
                seat_type_id,
                name,
                description,
                price,
                quantity,
            } => OrganizerCommand::Conference(
                conference_id,
                Cc::AddSeatType {
                    seat_type: seat_type_id,
                    name,
                    description,
                    price,
                    quantity,
                },
            ),
            Self::UpdateSeatType {
                conference_id,
                seat_type_id,
                name,
                description,
                price,
                quantity,
            } => OrganizerCommand::Conference(
                conference_id,
                Cc::UpdateSeatType {
                    seat_type: seat_type_id,
                    name,
                    description,
                    price,
                    quantity,
                },
            ),
            Self::AddPromoCode {
                conference_id,
                definition,
            } => OrganizerCommand::Promos(
                conference_id,
                discounts::Command::AddPromoCode(definition),
            ),
            _ => return None,
        })
    }
}
