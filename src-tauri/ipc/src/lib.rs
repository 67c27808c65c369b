//! The contract between the desktop shell (`conference-desktop`) and its UI
//! (`conference-ui`): the names of the Tauri commands, the shapes of their arguments, and
//! the views only the desktop has. Plain serde structs, no logic, no dependency that would
//! not compile for wasm32. What people type stays text here; the application layer parses
//! it and says what was wrong.
#![forbid(unsafe_code)]

pub use conference_protocol as protocol;
use conference_protocol::{DeviceView, ErrorBody, SeatsView};
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
    pub const BACK_OFFICE: &str = "back_office";
    pub const RECONCILIATION: &str = "reconciliation";
    pub const RESOLVE_RECONCILIATION: &str = "resolve_reconciliation";
    pub const EXPORT_ORDERS: &str = "export_orders";
    pub const CHOOSE_EXPORT_FILE: &str = "choose_export_file";
    pub const REQUEST_ALLOTMENT: &str = "request_allotment";
    pub const RETURN_ALLOTMENT: &str = "return_allotment";
    pub const RENAME_DEVICE: &str = "rename_device";
    pub const STARTUP: &str = "startup";
}

/// The event the shell emits whenever the store changed (a command ran, a sync pulled
/// events): screens that show remaining seats or orders read them again.
pub const STORE_CHANGED: &str = "store-changed";

/// The event the shell emits while it opens the store (a [`StartupView`]): at each whole
/// percent of a V1 upgrade, and once the store is open or could not be opened.
pub const STARTUP_PROGRESS: &str = "startup-progress";
/// Event: how far a CSV export is (an [`ExportProgressView`]).
pub const EXPORT_PROGRESS: &str = "export-progress";

/// How far a CSV export is: orders read of all the conference's orders.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportProgressView {
    pub done: u64,
    pub total: u64,
}

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

/// How far a running sync is: events pulled so far, and the position pulled to against
/// the server's newest one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgressView {
    pub pulled: u32,
    pub position: i64,
    pub head: i64,
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
    /// How far the running sync has pulled, when it is catching up with the server.
    #[serde(default)]
    pub sync_progress: Option<SyncProgressView>,
    pub pending_commands: u64,
    pub last_sync_at: Option<String>,
    pub last_error: Option<String>,
    /// Rejections nobody has read yet.
    pub rejections: Vec<conference_protocol::Rejection>,
    /// Events from the sync server this device keeps but does not show.
    #[serde(default)]
    pub set_aside: Vec<conference_protocol::SetAside>,
}

/// Server settings, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerForm {
    /// The enrollment code the server's admin printed (`conference-sync device add
    /// --server`): the server's address, this device's token, the certificate to pin.
    pub code: String,
    /// Allows a plain-HTTP server address beyond this machine.
    #[serde(default)]
    pub insecure_http: bool,
}

/// What a sync did, for a person.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncSummary {
    pub pushed: u32,
    pub pulled: u32,
    pub rejected: u32,
}

/// The back office's screen: the application's summary of one conference, and where an
/// export goes unless the person picks another file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackOfficeView {
    pub summary: conference_protocol::BackOfficeSummary,
    pub default_export_path: String,
}

/// An item of the server's reconciliation queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconciliationView {
    pub id: i64,
    /// `over_allotment`, `promo_overuse` or `rejected_command`.
    pub kind: String,
    pub conference: Option<String>,
    pub device_id: String,
    pub this_device: bool,
    /// The access code of the order it is about, when this device has the order.
    pub access_code: Option<String>,
    /// The server's details, as `(name, value)` text pairs.
    pub details: Vec<(String, String)>,
    pub created_at: String,
    pub resolved: bool,
}

/// A CSV export of a conference's orders to a file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportForm {
    pub slug: String,
    pub path: String,
}

/// What an export wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportDone {
    pub path: String,
    /// Data rows (one per order line).
    pub rows: u32,
    pub bytes: u64,
}

/// Seats to ask the server's pool for, or to give back to it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllotmentForm {
    pub slug: String,
    pub seats: Vec<SeatPick>,
}

/// What an allotment request or return did, and the seats afterwards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllotmentDone {
    /// Granted (request) or handed back (return), per seat type name.
    pub seats: Vec<SeatPick>,
    /// Whether the change reached the server already (a return waits for the next sync
    /// when the server cannot be reached).
    pub synced: bool,
    pub availability: SeatsView,
}

/// How far opening the store is. A store written by V1 is upgraded in place first, which
/// takes a while for a big one; the window shows this until the store is open.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartupView {
    /// `opening`, `upgrading`, `ready` or `failed`.
    pub state: String,
    /// Upgrade steps done and in all (both 0 unless a V1 store is being upgraded).
    pub done: u64,
    pub total: u64,
    /// Whether this start upgraded a V1 store.
    pub upgraded: bool,
    /// Why the store could not be opened (`failed`).
    pub error: Option<ErrorBody>,
}
