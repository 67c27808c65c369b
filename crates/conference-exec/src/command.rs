//! User commands: what a person (or a script, or later a sync peer) asks the system to do,
//! with every id, code and time already chosen. They are stored in the outbox in this
//! serialized form, so their shape is frozen like an event's.
use conference_domain::conference::{self, ConferenceDetails};
use conference_domain::discounts::{self, PromoCodeDefinition};
use conference_domain::payment::PaymentMethod;
use conference_domain::stream::Holder;
use conference_domain::values::{AccessCode, PersonalInfo, PromoCode, SeatQuantity};
use conference_domain::{
    CommandId, ConferenceId, Currency, DeviceId, Money, OrderId, PaymentId, SeatTypeId, Timestamp,
};
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
    /// The conference the command names, when it names one (commands on an existing order
    /// name only the order: its conference is that of the order's stream).
    #[must_use]
    pub fn conference_id(&self) -> Option<ConferenceId> {
        match self {
            Self::CreateConference { conference_id, .. }
            | Self::UpdateConference { conference_id, .. }
            | Self::PublishConference { conference_id }
            | Self::UnpublishConference { conference_id }
            | Self::AddSeatType { conference_id, .. }
            | Self::UpdateSeatType { conference_id, .. }
            | Self::AddPromoCode { conference_id, .. }
            | Self::ReceiveAllotment { conference_id, .. }
            | Self::ReturnAllotment { conference_id, .. } => Some(*conference_id),
            Self::PlaceOrder(order) | Self::Sell { order, .. } => Some(order.conference_id),
            Self::UpdateOrder { .. }
            | Self::AssignRegistrant { .. }
            | Self::PayOrder { .. }
            | Self::ConfirmOrder { .. }
            | Self::CancelOrder { .. }
            | Self::AssignSeat { .. }
            | Self::UnassignSeat { .. }
            | Self::Tick => None,
        }
    }

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

/// The command id of `device` receiving the pool's grant at `grant_position`: the same
/// grant always gives the same id, so pulling it twice receives it once, and the server
/// can tell which grant a pushed `receive_allotment` claims ([`granted_at`]).
#[must_use]
pub fn receive_allotment_id(device: DeviceId, grant_position: i64) -> CommandId {
    let mut bytes = *device.as_uuid().as_bytes();
    for (b, p) in bytes
        .iter_mut()
        .rev()
        .zip(grant_position.to_be_bytes().iter().rev())
    {
        *b ^= *p;
    }
    bytes[0] ^= 0x5a; // keep it apart from the device id itself
    CommandId::from_uuid(uuid::Builder::from_custom_bytes(bytes).into_uuid())
}

/// The grant position a `receive_allotment` command id of `device` names, if it is one
/// [`receive_allotment_id`] gives (positions below 2^56).
#[must_use]
pub fn granted_at(device: DeviceId, command_id: CommandId) -> Option<i64> {
    let ours = device.as_uuid();
    let (ours, theirs) = (ours.as_bytes(), command_id.as_uuid());
    let theirs = theirs.as_bytes();
    let mut position = [0u8; 8];
    // Byte 8 carries the UUID variant bits; positions never reach it.
    for k in 1..8 {
        position[k] = theirs[8 + k] ^ ours[8 + k];
    }
    let position = i64::from_be_bytes(position);
    (position > 0 && receive_allotment_id(device, position) == command_id).then_some(position)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_position_comes_back_from_its_command_id_and_nothing_else_does() {
        let device = DeviceId::from_uuid(uuid::Uuid::from_u128(
            0x0193_aaaa_bbbb_7ccc_8ddd_eeee_ffff_1234,
        ));
        for position in [1, 2, 255, 256, 65_537, 1 << 40, (1 << 56) - 1] {
            let id = receive_allotment_id(device, position);
            assert_eq!(granted_at(device, id), Some(position), "{position}");
        }
        let other = DeviceId::from_uuid(uuid::Uuid::from_u128(7));
        assert_eq!(granted_at(other, receive_allotment_id(device, 42)), None);
        assert_eq!(
            granted_at(device, CommandId::from_uuid(uuid::Uuid::from_u128(42))),
            None
        );
        assert_ne!(
            receive_allotment_id(device, 1),
            receive_allotment_id(device, 2)
        );
    }

    #[test]
    fn a_command_names_its_conference_when_it_has_one() {
        let conference = ConferenceId::from_uuid(uuid::Uuid::from_u128(1));
        let order = OrderId::from_uuid(uuid::Uuid::from_u128(2));
        let read = |json: serde_json::Value| -> UserCommand {
            serde_json::from_value(json).expect("a command")
        };
        assert_eq!(
            read(serde_json::json!({ "type": "publish_conference", "conference_id": conference }))
                .conference_id(),
            Some(conference)
        );
        assert_eq!(
            read(serde_json::json!({
                "type": "return_allotment", "conference_id": conference, "seats": []
            }))
            .conference_id(),
            Some(conference)
        );
        assert_eq!(
            read(serde_json::json!({ "type": "confirm_order", "order_id": order })).conference_id(),
            None
        );
        assert_eq!(
            read(serde_json::json!({ "type": "tick" })).conference_id(),
            None
        );
    }
}
