//! Data shapes that cross a boundary: what the CLI prints as JSON, what the desktop UI
//! receives from Tauri commands, what the sync server sends. Plain serde structs with no
//! logic and no dependency that would not compile for wasm32.
//!
//! Money is a decimal string (`"120.50"`), times are RFC 3339 UTC strings, ids are UUIDs.
#![forbid(unsafe_code)]

pub mod enrollment;
pub mod sync;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The error shape of every boundary: a stable machine code, a sentence for a person and,
/// when the error is about one input, that input in neutral terms (`email`, `quantity`),
/// so a form marks the field without reading the message. Bodies without `field` (older
/// devices and servers) still read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ErrorBody {
    /// A body about no input in particular.
    #[must_use]
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            field: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceView {
    pub device_id: Uuid,
    pub name: String,
    pub owns_pool: bool,
    pub store: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConferenceView {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub location: String,
    pub start: String,
    pub end: String,
    pub owner_name: String,
    pub owner_email: String,
    pub currency: String,
    /// `draft`, `published` or `unpublished`.
    pub publication: String,
    pub published: bool,
    pub seat_types: Vec<SeatTypeView>,
    pub promo_codes: Vec<PromoCodeView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatTypeView {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub price: String,
    pub quantity: u32,
}

/// One row of the remaining-seats read model: what every selling screen shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatAvailabilityView {
    pub seat_type_id: Uuid,
    pub name: String,
    pub price: String,
    pub quantity: u32,
    /// Held by orders not yet confirmed.
    pub reserved: i64,
    /// Taken by confirmed orders.
    pub sold: i64,
    /// Free to sell now, over every holder (the pool and the device allotments).
    pub remaining: i64,
    /// Free to sell from this device's own allotment, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allotment_remaining: Option<i64>,
    /// Seats sold beyond an allotment by explicit override.
    pub overridden: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatsView {
    pub conference: String,
    pub currency: String,
    pub seat_types: Vec<SeatAvailabilityView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromoCodeView {
    pub code: String,
    /// `percent` or `amount`.
    pub kind: String,
    pub value: String,
    /// Seat type names; empty means every seat type.
    pub scope: Vec<String>,
    pub max_uses: Option<u32>,
    pub redeemed: u32,
    pub held: u32,
    pub exclusive: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSeatView {
    pub seat_type_id: Uuid,
    pub seat_type: String,
    pub requested: u32,
    pub reserved: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLineView {
    /// `seat` or `discount`.
    pub kind: String,
    pub description: String,
    pub quantity: u32,
    pub unit_price: String,
    pub total: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonView {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentView {
    pub id: Uuid,
    /// `cash`, `card` or `invoice`.
    pub method: String,
    /// `initiated`, `completed`, `rejected` or `refunded`.
    pub status: String,
    pub amount: String,
    pub tendered: Option<String>,
    pub change: Option<String>,
    pub reference: Option<String>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentView {
    pub position: u32,
    pub seat_type: String,
    pub attendee: Option<PersonView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    pub id: Uuid,
    pub conference: String,
    pub access_code: String,
    /// `pending_reservation`, `reserved`, `partially_reserved`, `confirmed`, `expired` or
    /// `cancelled`.
    pub status: String,
    pub seats: Vec<OrderSeatView>,
    pub lines: Vec<OrderLineView>,
    pub total: String,
    pub currency: String,
    pub is_free_of_charge: bool,
    pub promo_codes: Vec<String>,
    pub registrant: Option<PersonView>,
    pub payment: Option<PaymentView>,
    pub assignments: Vec<AssignmentView>,
    pub reservation_expires_at: String,
    pub placed_at: String,
    pub device_id: Uuid,
    pub over_allotment: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
    /// Whether the order can still be cancelled (the domain's `OrderStatus::can_cancel`).
    #[serde(default)]
    pub cancellable: bool,
    /// Whether cancelling it refunds a payment (one that completed: the registration
    /// process refunds it when the order is cancelled).
    #[serde(default)]
    pub refund_on_cancel: bool,
}

/// A line of an order list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSummary {
    pub id: Uuid,
    pub conference: String,
    pub access_code: String,
    pub status: String,
    pub total: String,
    pub currency: String,
    pub seats: u32,
    pub registrant_email: Option<String>,
    pub payment_method: Option<String>,
    pub placed_at: String,
    pub device_id: Uuid,
}

/// What the Orders screen asks for: one page of orders, the newest first, or those a
/// search finds (a prefix of an access code, email, first or last name, "first last", or
/// an order id).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderQuery {
    #[serde(default)]
    pub text: String,
    /// Only this conference's orders (its slug); every conference's when empty.
    #[serde(default)]
    pub conference: Option<String>,
    /// How many matching orders come before the page.
    #[serde(default)]
    pub offset: u32,
    /// At most this many orders ([`OrderQuery::PAGE`] when 0, never more than
    /// [`OrderQuery::MAX_LIMIT`]).
    #[serde(default)]
    pub limit: u32,
}

impl OrderQuery {
    /// Orders on a page unless the query says otherwise.
    pub const PAGE: u32 = 50;
    /// The most orders a page holds.
    pub const MAX_LIMIT: u32 = 500;

    /// The page size this query gets.
    #[must_use]
    pub fn page_size(&self) -> u32 {
        match self.limit {
            0 => Self::PAGE,
            n => n.min(Self::MAX_LIMIT),
        }
    }
}

/// One page of orders.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPage {
    pub orders: Vec<OrderSummary>,
    /// How many matching orders come before this page.
    pub offset: u32,
    /// How many orders there are in all, when the query has no search text (a search
    /// stops after its page and does not count).
    pub total: Option<u64>,
    /// Whether more orders match after this page.
    pub more: bool,
}

/// What one device took.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceTotals {
    pub device_id: Uuid,
    /// The device this store belongs to.
    pub this_device: bool,
    /// Confirmed orders.
    pub orders: u32,
    pub seats: u32,
    pub cash: String,
    pub card: String,
    pub total: String,
    /// Orders cancelled (and refunded) or expired: not in the totals.
    pub not_counted: u32,
}

/// What one payment method took (`cash`, `card`, or `free` for orders without payment).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodTotals {
    pub method: String,
    pub orders: u32,
    pub total: String,
}

/// Confirmed sales placed in `[start, start + width)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesBucket {
    /// RFC 3339.
    pub start: String,
    pub orders: u32,
    pub seats: u32,
    pub amount: String,
}

/// The back office's view of one conference: what every device took after sync, the
/// cash-drawer check and sales over time (its orders come a page at a time through an
/// [`OrderQuery`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackOfficeSummary {
    pub conference: String,
    pub currency: String,
    pub devices: Vec<DeviceTotals>,
    pub methods: Vec<MethodTotals>,
    pub total: String,
    /// Consecutive buckets from the first confirmed sale to the last (empty ones included).
    pub sales_over_time: Vec<SalesBucket>,
    pub bucket_minutes: u32,
}

/// Fewer seats are left than asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteShortage {
    pub seat_type: String,
    pub requested: u32,
    pub available: u32,
}

/// What a sale of the picked seats would cost now: the lines the order would get, why the
/// promo codes were refused (the quote is then priced without them), and what is short.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub lines: Vec<OrderLineView>,
    pub total: String,
    pub currency: String,
    pub is_free_of_charge: bool,
    pub promo_error: Option<ErrorBody>,
    pub shortages: Vec<QuoteShortage>,
}

/// A command the server refused, for the person who made it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub command_id: Uuid,
    pub command_type: String,
    pub code: String,
    pub message: String,
    pub recorded_at: String,
    pub seen: bool,
}

/// An event pulled from the server that this device keeps (when it could) but does not
/// show, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetAside {
    pub server_position: i64,
    pub stream: String,
    pub event_type: String,
    pub reason: String,
    pub set_aside_at: String,
}

/// What `tick` did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TickReport {
    pub ran: u32,
    pub expired_orders: Vec<Uuid>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_has_the_documented_shape() {
        let body = ErrorBody {
            code: "unknown_conference".into(),
            message: "no conference has the slug `x`".into(),
            field: None,
        };
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["code"], "unknown_conference");
        assert_eq!(json["message"], "no conference has the slug `x`");
        assert!(json.get("field").is_none(), "{json}");
    }

    #[test]
    fn an_error_body_names_its_field_and_old_bodies_still_read() {
        let body = ErrorBody {
            field: Some("email".into()),
            ..ErrorBody::new("email", "`x` is not an email address")
        };
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["field"], "email");
        assert_eq!(serde_json::from_value::<ErrorBody>(json).unwrap(), body);
        let old: ErrorBody =
            serde_json::from_str(r#"{"code":"no_seats","message":"Pick a seat"}"#).unwrap();
        assert_eq!(old, ErrorBody::new("no_seats", "Pick a seat"));
    }
}
