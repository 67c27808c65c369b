//! The sync protocol between devices and the sync server (JSON over HTTP, under `/v1`).
//!
//! A device pushes its commands in its own order (`device_seq` 1, 2, 3, … with no gaps),
//! each with the events it produced locally; it pulls events in the server's global order.
//! Every request is safe to repeat: a known command id is answered with its stored result.
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

/// Event schema versions a device can read, sent with every request as the
/// `X-Conference-Schema` header: the highest version per event type it knows.
pub const SCHEMA_HEADER: &str = "x-conference-schema";

/// The error code of a request whose token the server refuses (HTTP 401: a revoked or
/// wrong token), which no retry can help.
pub const UNAUTHORIZED: &str = "unauthorized";

/// An event as it travels: the stream in its text form (`order/<uuid>`,
/// `seats/<conference>`, `seats/<conference>/<device>`), the version it takes in that
/// stream, and its stored name, schema version and payload.
///
/// The payload is the JSON text as stored: a device sends and stores it, and the server
/// stores and serves it, without parsing it into a tree and writing it out again.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireEvent {
    pub stream: String,
    pub version: u64,
    pub event_type: String,
    pub schema_version: u32,
    pub payload: Box<RawValue>,
    pub recorded_at: String,
}

impl WireEvent {
    /// The payload parsed, for code that looks inside it.
    #[must_use]
    pub fn payload_value(&self) -> serde_json::Value {
        json_value(&self.payload)
    }
}

/// JSON text as a tree (`Null` if it is not JSON, which a peer never sends).
fn json_value(text: &RawValue) -> serde_json::Value {
    serde_json::from_str(text.get()).unwrap_or(serde_json::Value::Null)
}

/// Two JSON texts say the same: the same text, or the same JSON whatever their spacing or
/// key order.
fn same_json(a: &RawValue, b: &RawValue) -> bool {
    a.get() == b.get() || json_value(a) == json_value(b)
}

/// A payload's JSON text from a value.
#[must_use]
pub fn raw_payload(value: &serde_json::Value) -> Box<RawValue> {
    RawValue::from_string(value.to_string())
        .unwrap_or_else(|_| unreachable!("a serde_json::Value always writes valid JSON"))
}

/// Events are equal when they say the same: the same fields, and payloads that are the same
/// JSON (whatever their spacing or key order).
impl PartialEq for WireEvent {
    fn eq(&self, other: &Self) -> bool {
        self.stream == other.stream
            && self.version == other.version
            && self.event_type == other.event_type
            && self.schema_version == other.schema_version
            && self.recorded_at == other.recorded_at
            && same_json(&self.payload, &other.payload)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushCommand {
    pub device_seq: u64,
    pub command_id: Uuid,
    /// The command's stable name (`sell`, `add_seat_type`, …): what the role check reads.
    pub command_type: String,
    /// The command itself, so the server can re-execute it (rebase) with the same domain
    /// code: its JSON text, sent as the device stored it.
    pub command: Box<RawValue>,
    /// What the command wrote locally, in order.
    pub events: Vec<WireEvent>,
    /// When the command ran on the device (its unit of work's `now`, RFC 3339): the server
    /// replays it at that time. Devices before the server replayed commands did not send
    /// it; their events' `recorded_at` says the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<String>,
    /// Every stream the command read or wrote, at the version the device had before it
    /// ran: the server folds each to that version to replay the command (a door that sold
    /// at the price it had read sold at that price).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reads: Vec<StreamRead>,
}

/// A stream a command read, and the version it read it at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamRead {
    pub stream: String,
    pub version: u64,
}

impl PushCommand {
    /// The command as a JSON tree (`Null` if its text is not JSON, which a device never sends).
    #[must_use]
    pub fn command_value(&self) -> serde_json::Value {
        json_value(&self.command)
    }
}

/// Commands are equal when they say the same: the same fields, and commands and events
/// that are the same JSON (whatever their spacing or key order).
impl PartialEq for PushCommand {
    fn eq(&self, other: &Self) -> bool {
        self.device_seq == other.device_seq
            && self.command_id == other.command_id
            && self.command_type == other.command_type
            && self.events == other.events
            && self.now == other.now
            && self.reads == other.reads
            && same_json(&self.command, &other.command)
    }
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

/// An event in the server's global order. On the wire its event's fields sit beside the
/// position and ids (one flat object); they are spelled out in [`FlatPulledEvent`] rather
/// than `#[serde(flatten)]`, which would buffer every field of every pulled event before
/// reading it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "FlatPulledEvent", into = "FlatPulledEvent")]
pub struct PulledEvent {
    pub position: i64,
    pub device_id: Uuid,
    pub command_id: Uuid,
    pub event: WireEvent,
}

/// [`PulledEvent`] as it travels.
#[derive(Serialize, Deserialize)]
struct FlatPulledEvent {
    position: i64,
    device_id: Uuid,
    command_id: Uuid,
    stream: String,
    version: u64,
    event_type: String,
    schema_version: u32,
    payload: Box<RawValue>,
    recorded_at: String,
}

impl From<FlatPulledEvent> for PulledEvent {
    fn from(flat: FlatPulledEvent) -> Self {
        Self {
            position: flat.position,
            device_id: flat.device_id,
            command_id: flat.command_id,
            event: WireEvent {
                stream: flat.stream,
                version: flat.version,
                event_type: flat.event_type,
                schema_version: flat.schema_version,
                payload: flat.payload,
                recorded_at: flat.recorded_at,
            },
        }
    }
}

impl From<PulledEvent> for FlatPulledEvent {
    fn from(pulled: PulledEvent) -> Self {
        Self {
            position: pulled.position,
            device_id: pulled.device_id,
            command_id: pulled.command_id,
            stream: pulled.event.stream,
            version: pulled.event.version,
            event_type: pulled.event.event_type,
            schema_version: pulled.event.schema_version,
            payload: pulled.event.payload,
            recorded_at: pulled.event.recorded_at,
        }
    }
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
    /// `over_allotment`, `promo_overuse`, `rejected_command` or `event_neutralised`.
    pub kind: String,
    pub conference_id: Option<Uuid>,
    pub device_id: Uuid,
    pub command_id: Option<Uuid>,
    pub detail: serde_json::Value,
    pub created_at: String,
    pub resolved: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pulled_event_travels_as_one_flat_object() {
        let text = r#"{"position":7,"device_id":"01a21d4f-e75a-7053-a878-caa098d97aee","command_id":"01a21d50-1815-7310-a96b-c86c85434804","stream":"order/01a21d50-1815-7310-a96b-c86c85434804","version":2,"event_type":"OrderConfirmed","schema_version":1,"payload":{"payment_id":null},"recorded_at":"2026-11-27T14:01:58.047263Z"}"#;
        let pulled: PulledEvent = serde_json::from_str(text).expect("reads");
        assert_eq!(pulled.position, 7);
        assert_eq!(pulled.event.version, 2);
        assert_eq!(pulled.event.event_type, "OrderConfirmed");
        assert_eq!(
            pulled.event.payload_value()["payment_id"],
            serde_json::Value::Null
        );
        assert_eq!(pulled.event.payload.get(), r#"{"payment_id":null}"#);
        let again: serde_json::Value = serde_json::to_value(&pulled).expect("writes");
        assert_eq!(
            again,
            serde_json::from_str::<serde_json::Value>(text).expect("json")
        );
    }
}
