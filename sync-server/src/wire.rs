//! A push body as the server reads it, and what the HTTP handler works out from it before
//! the request queues for the writer.
//!
//! The JSON is `conference_protocol::sync::PushRequest` field for field (the same names,
//! the same refusal of unknown fields), except that event payloads and commands stay the
//! JSON text the device sent ([`RawValue`]): the fast path stores a payload exactly as it
//! came, without building and re-printing a JSON tree, and a command is read only when the
//! server re-runs it. Decoding the events with this build's domain code needs nothing
//! from the database, so the handler does it on its own task ([`prepare`]) and the single
//! writer thread only checks and writes.
use crate::device::current_command_type;
use crate::log::Rejection;
use crate::verdict::Ahead;
use conference_domain::Timestamp;
use conference_domain::aggregate::DomainEvent;
use conference_domain::limits;
use conference_domain::stream::StreamId;
use conference_exec::UserCommand;
use conference_protocol::sync::StreamRead;
use serde::Deserialize;
use serde_json::value::RawValue;
use uuid::Uuid;

/// The largest event payload the server takes, in bytes (a sale's largest event, its
/// totals, is well under 2 KiB).
pub(crate) const MAX_EVENT_PAYLOAD: usize = 16 * 1024;

/// The largest sequence number, stream version or schema version a push may carry (the
/// OpenAPI document says so): more is a request no device makes.
pub(crate) const MAX_COUNT: u64 = 2_147_483_647;

/// `PushRequest`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PushBody {
    pub commands: Vec<CommandBody>,
}

/// `PushCommand`, with the command kept as text.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommandBody {
    pub device_seq: u64,
    pub command_id: Uuid,
    pub command_type: String,
    pub command: Box<RawValue>,
    pub events: Vec<EventBody>,
    #[serde(default)]
    pub now: Option<String>,
    #[serde(default)]
    pub reads: Vec<StreamRead>,
}

/// `WireEvent`, with the payload kept as text.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventBody {
    pub stream: String,
    pub version: u64,
    pub event_type: String,
    pub schema_version: u32,
    pub payload: Box<RawValue>,
    pub recorded_at: String,
}

/// A push with every event decoded, ready for the writer.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub commands: Vec<PreparedCommand>,
}

pub(crate) struct PreparedCommand {
    pub body: CommandBody,
    /// Its events, one for each of `body.events`, or why the server cannot take them. Used
    /// only if the command is new: a known command id answers with its stored result.
    pub decoded: Result<Vec<Decoded>, Rejection>,
    /// The command itself, read with this build's command types.
    pub command: Result<UserCommand, Rejection>,
    /// When it ran on the device.
    pub now: Result<Timestamp, Rejection>,
    /// Its replay ahead of the writer, if the handler got to it (see `replay::ahead`).
    pub ahead: Option<Ahead>,
}

impl std::fmt::Debug for PreparedCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedCommand")
            .field("body", &self.body)
            .field("decoded", &self.decoded)
            .field("command", &self.command)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

/// An event of a pushed command, read with this build's domain code.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub stream: StreamId,
    pub event: DomainEvent,
}

/// Decodes every command and its events; nothing here reads the database.
/// Refuses a request whose numbers are outside what the protocol carries: sequence
/// numbers, event versions and schema versions from 1, read versions from 0, none past
/// [`MAX_COUNT`].
pub(crate) fn within_range(body: &PushBody) -> Result<(), crate::error::ApiError> {
    for (i, command) in body.commands.iter().enumerate() {
        let outside = |what: &str, n: u64, least: u64| {
            (n < least || n > MAX_COUNT).then(|| {
                crate::error::ApiError::BadRequest(format!(
                    "commands[{i}].{what} is {n}; the protocol carries {least} to {MAX_COUNT}"
                ))
            })
        };
        let found = outside("device_seq", command.device_seq, 1)
            .or_else(|| {
                command.events.iter().find_map(|e| {
                    outside("events[].version", e.version, 1).or_else(|| {
                        outside("events[].schema_version", u64::from(e.schema_version), 1)
                    })
                })
            })
            .or_else(|| {
                command
                    .reads
                    .iter()
                    .find_map(|r| outside("reads[].version", r.version, 0))
            });
        if let Some(error) = found {
            return Err(error);
        }
        let object = |raw: &RawValue| raw.get().trim_start().starts_with('{');
        if !object(&command.command) {
            return Err(crate::error::ApiError::BadRequest(format!(
                "commands[{i}].command must be a JSON object (the command, tagged by `type`)"
            )));
        }
        if let Some(j) = command.events.iter().position(|e| !object(&e.payload)) {
            return Err(crate::error::ApiError::BadRequest(format!(
                "commands[{i}].events[{j}].payload must be a JSON object"
            )));
        }
    }
    Ok(())
}

pub(crate) fn prepare(body: PushBody) -> Prepared {
    Prepared {
        commands: body
            .commands
            .into_iter()
            .map(|body| PreparedCommand {
                decoded: decode(&body.events),
                command: read_command(&body),
                now: command_time(&body),
                ahead: None,
                body,
            })
            .collect(),
    }
}

/// The pushed command, read with this build's command types.
fn read_command(body: &CommandBody) -> Result<UserCommand, Rejection> {
    let command: UserCommand = serde_json::from_str(body.command.get()).map_err(|e| {
        Rejection::new(
            "bad_command",
            format!("The server cannot read the command to run it: {e}"),
        )
    })?;
    if command.name() != current_command_type(&body.command_type) {
        return Err(Rejection::new(
            "bad_command",
            format!(
                "The command is a `{}`, but was pushed as `{}`",
                command.name(),
                body.command_type
            ),
        ));
    }
    Ok(command)
}

/// When the command ran: its `now`, or (from devices that did not send it) the time its
/// events were recorded at.
fn command_time(body: &CommandBody) -> Result<Timestamp, Rejection> {
    let text = body
        .now
        .as_deref()
        .or_else(|| body.events.first().map(|e| e.recorded_at.as_str()));
    let Some(text) = text else {
        // No time and no event: a command that changed nothing; any time replays it.
        return Ok(Timestamp::UNIX_EPOCH);
    };
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| {
            Rejection::new(
                "invalid_command",
                format!("The command's time `{text}` is not an RFC 3339 time"),
            )
        })
}

fn decode(events: &[EventBody]) -> Result<Vec<Decoded>, Rejection> {
    let mut out = Vec::with_capacity(events.len());
    for (i, wire) in events.iter().enumerate() {
        let stream = StreamId::parse(&wire.stream).map_err(|e| {
            Rejection::new(
                "unknown_event",
                format!("The server cannot read event {i} of the command: {e}"),
            )
        })?;
        if wire.version == 0 {
            return Err(Rejection::new(
                "invalid_event",
                format!("Event {i} of the command has version 0; stream versions start at 1"),
            ));
        }
        if chrono::DateTime::parse_from_rfc3339(&wire.recorded_at).is_err() {
            return Err(Rejection::new(
                "invalid_event",
                format!(
                    "Event {i} of the command has recorded_at `{}`, which is not an RFC 3339 time",
                    wire.recorded_at
                ),
            ));
        }
        if wire.payload.get().len() > MAX_EVENT_PAYLOAD {
            return Err(Rejection::new(
                "invalid_event",
                format!(
                    "Event {i} of the command has a payload of {} bytes; an event takes at most {MAX_EVENT_PAYLOAD}",
                    wire.payload.get().len()
                ),
            ));
        }
        let event = DomainEvent::decode_text(
            stream.kind,
            &wire.event_type,
            wire.schema_version,
            wire.payload.get(),
        )
        .map_err(|e| {
            Rejection::new(
                "unknown_event",
                format!("The server cannot read event {i} of the command ({e}); it stays on the device until the server is upgraded"),
            )
        })?;
        limits::check(&event).map_err(|e| {
            Rejection::new("invalid_event", format!("Event {i} of the command: {e}"))
        })?;
        let unknown = DomainEvent::unknown_fields(
            stream.kind,
            &wire.event_type,
            wire.schema_version,
            wire.payload.get(),
        )
        .unwrap_or_default();
        if !unknown.is_empty() {
            return Err(Rejection::new(
                "invalid_event",
                format!(
                    "Event {i} of the command carries fields the domain does not know: {}",
                    unknown.join(", ")
                ),
            ));
        }
        out.push(Decoded { stream, event });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use conference_protocol::sync::{PushCommand, PushRequest, WireEvent};

    fn request() -> PushRequest {
        PushRequest {
            commands: vec![PushCommand {
                device_seq: 7,
                command_id: Uuid::now_v7(),
                command_type: "sell".into(),
                command: conference_protocol::sync::raw_payload(
                    &serde_json::json!({ "sell": { "seats": [1, 2] } }),
                ),
                events: vec![WireEvent {
                    stream: format!("order/{}", Uuid::now_v7()),
                    version: 1,
                    event_type: "OrderPlaced".into(),
                    schema_version: 1,
                    payload: conference_protocol::sync::raw_payload(
                        &serde_json::json!({ "b": 1.5, "a": [true, null, "x"] }),
                    ),
                    recorded_at: "2026-01-02T03:04:05.000006Z".into(),
                }],
                now: Some("2026-01-02T03:04:05.000006Z".into()),
                reads: vec![StreamRead {
                    stream: format!("conference/{}", Uuid::now_v7()),
                    version: 3,
                }],
            }],
        }
    }

    #[test]
    fn reads_what_a_device_sends_and_keeps_payloads_as_sent() {
        let request = request();
        let text = serde_json::to_string(&request).unwrap();
        let body: PushBody = serde_json::from_str(&text).unwrap();
        let (sent, read) = (&request.commands[0], &body.commands[0]);
        assert_eq!(read.device_seq, sent.device_seq);
        assert_eq!(read.command_id, sent.command_id);
        assert_eq!(read.command_type, sent.command_type);
        let tree = |raw: &RawValue| serde_json::from_str::<serde_json::Value>(raw.get()).unwrap();
        assert_eq!(tree(&read.command), tree(&sent.command));
        assert_eq!(read.now, sent.now);
        assert_eq!(read.reads, sent.reads);
        let (sent, read) = (&sent.events[0], &read.events[0]);
        assert_eq!(read.stream, sent.stream);
        assert_eq!(read.version, sent.version);
        assert_eq!(read.event_type, sent.event_type);
        assert_eq!(read.schema_version, sent.schema_version);
        assert_eq!(
            read.payload.get(),
            serde_json::to_string(&sent.payload).unwrap()
        );
        assert_eq!(read.recorded_at, sent.recorded_at);
    }

    #[test]
    fn refuses_what_the_protocol_refuses() {
        let mut value = serde_json::to_value(request()).unwrap();
        value["commands"][0]["events"][0]["colour"] = serde_json::json!("red");
        let unknown = serde_json::from_value::<PushBody>(value.clone()).unwrap_err();
        assert!(
            unknown.to_string().contains("unknown field `colour`"),
            "{unknown}"
        );
        assert!(serde_json::from_value::<PushRequest>(value).is_err());

        let mut value = serde_json::to_value(request()).unwrap();
        value["commands"][0]
            .as_object_mut()
            .unwrap()
            .remove("command");
        let missing = serde_json::from_value::<PushBody>(value).unwrap_err();
        assert!(
            missing.to_string().contains("missing field `command`"),
            "{missing}"
        );
    }

    #[test]
    fn an_undecodable_event_is_a_rejection_of_its_command_only() {
        let mut request = request();
        request.commands[0].events[0].recorded_at = "yesterday".into();
        let text = serde_json::to_string(&request).unwrap();
        let prepared = prepare(serde_json::from_str(&text).unwrap());
        let rejection = prepared.commands[0].decoded.as_ref().unwrap_err();
        assert_eq!(rejection.reason.code, "invalid_event");
    }
}
