//! The sync protocol between devices and the sync server (JSON over HTTP, under `/v1`).
//!
//! A device pushes its commands in its own order (`device_seq` 1, 2, 3, … with no gaps),
//! each with the events it produced locally; it pulls events in the server's global order.
//! Every request is safe to repeat: a known command id is answered with its stored result.
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Event schema versions a device can read, sent with every request as the
/// `X-Conference-Schema` header: the highest version per event type it knows.
pub const SCHEMA_HEADER: &str = "x-conference-schema";

/// An event as it travels: the stream in its text form (`order/<uuid>`,
/// `seats/<conference>`, `seats/<conference>/<device>`), the version it takes in that
/// stream, and its stored name, schema version and payload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireEvent {
    pub stream: String,
    pub version: u64,
    pub event_type: String,
    pub schema_version: u32,
    pub payload: serde_json::Value,
    pub recorded_at: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushCommand {
    pub device_seq: u64,
    pub command_id: Uuid,
    /// The command's stable name (`sell`, `add_seat_type`, …): what the role check reads.
    pub command_type: String,
    /// The command itself, so the server can re-execute it (rebase) with the same domain code.
    pub command: serde_json::Value,
    /// What the command wrote locally, in order.
    pub events: Vec<WireEvent>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    pub commands: Vec<PushCommand>,
}

/// How the server took a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushStatus {
    /// Stored exactly as the device wrote it.
    Applied,
    /// Re-executed against the server's newer state; the server's events replace the
    /// device's (the device learns them on pull).
    Rebased,
    /// Refused for a reason; nothing of it is stored. The device shows the reason.
    Rejected,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PushResult {
    pub command_id: Uuid,
    pub device_seq: u64,
    pub status: PushStatus,
    /// Why a command was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<crate::ErrorBody>,
    /// The global positions of the events stored for the command.
    pub positions: Vec<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PushResponse {
    pub results: Vec<PushResult>,
    /// The device sequence number the server expects next.
    pub next_seq: u64,
}

/// The body of a 409 answer to a push with a gap in device sequence numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SequenceGap {
    pub code: String,
    pub message: String,
    pub next_expected: u64,
}

/// An event in the server's global order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PulledEvent {
    pub position: i64,
    pub device_id: Uuid,
    pub command_id: Uuid,
    #[serde(flatten)]
    pub event: WireEvent,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    pub events: Vec<PulledEvent>,
    /// Ask for `after = next_after` next.
    pub next_after: i64,
    /// The server's newest position when it answered.
    pub head: i64,
    /// Results of this device's own commands that the server rebased or rejected after
    /// `after`, so the device can replace its tentative events and tell the person.
    pub outcomes: Vec<PushResult>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeatCount {
    pub seat_type_id: Uuid,
    pub quantity: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllotmentRequest {
    /// Makes the request safe to repeat.
    pub command_id: Uuid,
    pub conference_id: Uuid,
    pub seats: Vec<SeatCount>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AllotmentResponse {
    /// What the pool could give (or, for a return, what it took back); never more than asked.
    pub seats: Vec<SeatCount>,
    /// The position of the pool event that records it (pull past it to see it).
    pub position: i64,
}

/// A device as the server's admin sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub device_id: Uuid,
    pub name: String,
    /// `organizer`, `door` or `back_office`.
    pub role: String,
    /// Conference slugs the device may see; empty means all.
    pub conferences: Vec<String>,
    pub revoked: bool,
    pub next_seq: u64,
}

/// Something the back office must look at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReconciliationItem {
    pub id: i64,
    /// `over_allotment`, `promo_overuse` or `rejected_command`.
    pub kind: String,
    pub conference_id: Option<Uuid>,
    pub device_id: Uuid,
    pub command_id: Option<Uuid>,
    pub detail: serde_json::Value,
    pub created_at: String,
    pub resolved: bool,
}
