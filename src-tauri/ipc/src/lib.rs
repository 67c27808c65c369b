//! The contract between the desktop shell (`conference-desktop`) and its UI
//! (`conference-ui`): the names of the Tauri commands, the shapes of their arguments, and
//! the views only the desktop has. Plain serde structs, no logic, no dependency that would
//! not compile for wasm32. What people type stays text here; the application layer parses
//! it and says what was wrong.
#![forbid(unsafe_code)]

pub use conference_protocol as protocol;
use conference_protocol::{DeviceView, ErrorBody, OrderLineView};
use serde::{Deserialize, Serialize};

/// Command names, as the UI invokes them.
pub mod cmd {
    pub const HEADER: &str = "header";
    pub const MARK_REJECTIONS_READ: &str = "mark_rejections_read";
    pub const CONFERENCES: &str = "conferences";
    pub const CREATE_CONFERENCE: &str = "create_conference";
    pub const ADD_SEAT_TYPE: &str = "add_seat_type";
    pub const UPDATE_SEAT_TYPE: &str = "update_seat_type";
    pub const ADD_PROMO_CODE: &str = "add_promo_code";
    pub const SET_PUBLISHED: &str = "set_published";
    pub const SEATS: &str = "seats";
    pub const QUOTE: &str = "quote";
    pub const SELL: &str = "sell";
    pub const ORDER: &str = "order";
    pub const FIND_ORDERS: &str = "find_orders";
    pub const CANCEL_ORDER: &str = "cancel_order";
    pub const ASSIGN_SEAT: &str = "assign_seat";
    pub const SAVE_SERVER: &str = "save_server";
    pub const SYNC_NOW: &str = "sync_now";
}

/// The event the shell emits whenever the store changed (a command ran, a sync pulled
/// events): screens that show remaining seats or orders read them again.
pub const STORE_CHANGED: &str = "store-changed";

/// A new conference, as typed in the setup form.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConferenceForm {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub location: String,
    /// `YYYY-MM-DD`.
    pub start: String,
    /// `YYYY-MM-DD`.
    pub end: String,
    pub owner_name: String,
    pub owner_email: String,
    /// Empty means the default currency.
    pub currency: String,
}

/// A seat type, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatTypeForm {
    pub name: String,
    pub description: String,
    pub price: String,
    pub quantity: String,
}

/// A change to an existing seat type: its current name and the new values as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatTypeChange {
    pub current_name: String,
    pub form: SeatTypeForm,
}

/// A promo code, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromoForm {
    pub code: String,
    /// `percent` or `amount`.
    pub kind: String,
    pub value: String,
    /// Seat type names; empty means every seat type.
    pub scope: Vec<String>,
    /// Empty means unlimited.
    pub max_uses: String,
    pub exclusive: bool,
}

/// How many seats of one seat type (by name) a sale asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatPick {
    pub name: String,
    pub quantity: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrantForm {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentForm {
    /// `cash` or `card`.
    pub method: String,
    /// Cash handed over (empty: exactly the total).
    pub tendered: String,
    /// The card terminal's reference.
    pub reference: String,
}

/// What the door wants priced before selling.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteRequest {
    pub slug: String,
    pub seats: Vec<SeatPick>,
    pub promo_codes: Vec<String>,
}

/// A door sale, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleForm {
    pub slug: String,
    pub seats: Vec<SeatPick>,
    pub promo_codes: Vec<String>,
    /// `None` when every registrant field was left empty.
    pub registrant: Option<RegistrantForm>,
    /// `None` for an order that costs nothing.
    pub payment: Option<PaymentForm>,
}

/// Fewer seats are left than asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shortage {
    pub seat_type: String,
    pub requested: u32,
    pub available: u32,
}

/// The price of what the door has picked, before selling: the same lines the order will
/// get, a refused promo code's reason, and what is short.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteView {
    pub lines: Vec<OrderLineView>,
    pub total: String,
    pub currency: String,
    pub is_free_of_charge: bool,
    /// Why the promo codes were refused (the quote is then priced without them).
    pub promo_error: Option<ErrorBody>,
    pub shortages: Vec<Shortage>,
}

/// A command the sync server refused, for the person who made it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectionView {
    pub command_type: String,
    pub code: String,
    pub message: String,
    pub recorded_at: String,
}

/// What the header shows on every screen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderView {
    pub device: DeviceView,
    /// The sync server, when this device was connected to one.
    pub server_url: Option<String>,
    /// Whether the last sync reached the server.
    pub online: bool,
    /// A sync is running now.
    pub syncing: bool,
    pub pending_commands: u64,
    pub last_sync_at: Option<String>,
    pub last_error: Option<String>,
    /// Rejections nobody has read yet.
    pub rejections: Vec<RejectionView>,
}

/// Server settings, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerForm {
    pub url: String,
    pub token: String,
}

/// What a sync did, for a person.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncSummary {
    pub pushed: u32,
    pub pulled: u32,
    pub rejected: u32,
}
