//! `POST /v1/push`: a device's commands, taken strictly in its order.
//!
//! Per command: a known command id answers with its stored result and stores nothing; an
//! unknown one must carry the next device sequence number (else the whole request is
//! refused with the number expected); the device's role and conferences must allow it;
//! every event must decode with this build. Then the fast path appends the events exactly
//! as sent when every stream is where the device left it; on a version mismatch an
//! organizer command is re-executed against the server's state (rebase) and anything else
//! is rejected as a stream conflict. The follow-ups (pool policy, over-allotment cover,
//! returned seats) run in the same transaction. A refused request stores nothing: the
//! writer runs it inside a savepoint.
use crate::device::{Device, ORGANIZER_COMMANDS};
use crate::error::{ApiError, DbError};
use crate::follow;
use crate::log::{self, Author, NewEvent, Refusal, Rejection, Stored, Unit};
use crate::rebase;
use conference_domain::ConferenceId;
use conference_domain::aggregate::DomainEvent;
use conference_domain::conference;
use conference_domain::stream::Holder;
use conference_domain::stream::StreamId;
use conference_protocol::ErrorBody;
use conference_protocol::sync::{PushCommand, PushRequest, PushResponse, PushResult, PushStatus};
use rusqlite::{OptionalExtension, params};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The conferences a scoped device may touch in this request (grows with the conferences
/// it creates); `None` for a device that sees every conference.
pub(crate) type Allowed = Option<HashSet<Uuid>>;

pub(crate) fn push(
    unit: &mut Unit<'_>,
    device: &Device,
    request: &PushRequest,
) -> Result<PushResponse, ApiError> {
    let mut next_seq: u64 = unit
        .conn
        .prepare_cached("SELECT next_seq FROM devices WHERE device_id = ?1")?
        .query_row([device.id], |r| r.get(0))?;
    let mut allowed = device.allowed_ids(unit.conn)?;
    let mut results = Vec::with_capacity(request.commands.len());
    for command in &request.commands {
        let span = tracing::info_span!(
            "command",
            command_type = %command.command_type,
            command_id = %command.command_id,
            device_seq = command.device_seq
        );
        let _entered = span.enter();
        if let Some(known) = stored_result(unit, command.command_id)? {
            unit.stats.commands_known += 1;
            results.push(known);
            continue;
        }
        if command.device_seq != next_seq {
            return Err(ApiError::SequenceGap {
                next_expected: next_seq,
            });
        }
        if !device.role.may_push(&command.command_type) {
            return Err(ApiError::forbidden(
                "forbidden_command",
                format!(
                    "A {} device may not push `{}` (command {}); nothing of this request was stored",
                    device.role, command.command_type, command.device_seq
                ),
            ));
        }
        let result = run_command(unit, device, &mut allowed, command)?;
        record(unit, device, command, &result)?;
        next_seq += 1;
        results.push(result);
    }
    unit.conn
        .prepare_cached("UPDATE devices SET next_seq = ?2 WHERE device_id = ?1")?
        .execute(params![device.id, next_seq])?;
    unit.stats.pushes += 1;
    Ok(PushResponse { results, next_seq })
}

/// The first result of a command id, if the server took it before.
fn stored_result(unit: &Unit<'_>, command_id: Uuid) -> Result<Option<PushResult>, ApiError> {
    let row: Option<(String, String)> = unit
        .conn
        .prepare_cached("SELECT status, result FROM commands WHERE command_id = ?1")?
        .query_row([command_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match row {
        None => Ok(None),
        Some((status, _)) if status == "granted" => Err(ApiError::Conflict {
            code: "command_id_reused".into(),
            message: format!(
                "Command id {command_id} was already used for an allotment request; every command needs its own id"
            ),
        }),
        Some((_, text)) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| DbError::corrupt(format!("the result of command {command_id}"), e).into()),
    }
}

/// Runs one command in its own savepoint: a rejection undoes whatever it began.
fn run_command(
    unit: &mut Unit<'_>,
    device: &Device,
    allowed: &mut Allowed,
    command: &PushCommand,
) -> Result<PushResult, ApiError> {
    unit.conn.execute_batch("SAVEPOINT command")?;
    let outcome = attempt(unit, device, allowed, command);
    let undo = |unit: &mut Unit<'_>| -> Result<(), ApiError> {
        unit.conn
            .execute_batch("ROLLBACK TO command; RELEASE command")?;
        unit.cache.clear();
        Ok(())
    };
    match outcome {
        Ok((status, stored)) => {
            unit.conn.execute_batch("RELEASE command")?;
            match status {
                PushStatus::Applied => unit.stats.commands_applied += 1,
                PushStatus::Rebased => unit.stats.commands_rebased += 1,
                PushStatus::Rejected => unit.stats.commands_rejected += 1,
            }
            Ok(PushResult {
                command_id: command.command_id,
                device_seq: command.device_seq,
                status,
                reason: None,
                positions: stored.iter().map(|s| s.position).collect(),
            })
        }
        Err(Refusal::Reject(rejection)) => {
            undo(unit)?;
            tracing::info!(code = %rejection.reason.code, "command rejected");
            unit.stats.commands_rejected += 1;
            reconcile_rejection(unit, device, command, &rejection)?;
            Ok(PushResult {
                command_id: command.command_id,
                device_seq: command.device_seq,
                status: PushStatus::Rejected,
                reason: Some(rejection.reason),
                positions: vec![],
            })
        }
        Err(Refusal::Request(error)) => {
            undo(unit)?;
            Err(error)
        }
    }
}

/// An event of a pushed command, read with this build's domain code.
struct Decoded<'a> {
    stream: StreamId,
    version: u64,
    event_type: &'a str,
    schema_version: u32,
    payload: &'a serde_json::Value,
    recorded_at: &'a str,
    event: DomainEvent,
}

fn decode(command: &PushCommand) -> Result<Vec<Decoded<'_>>, Refusal> {
    let mut out = Vec::with_capacity(command.events.len());
    for (i, wire) in command.events.iter().enumerate() {
        let stream = StreamId::parse(&wire.stream).map_err(|e| {
            Refusal::reject(
                "unknown_event",
                format!("The server cannot read event {i} of the command: {e}"),
            )
        })?;
        if wire.version == 0 {
            return Err(Refusal::reject(
                "invalid_event",
                format!("Event {i} of the command has version 0; stream versions start at 1"),
            ));
        }
        if chrono::DateTime::parse_from_rfc3339(&wire.recorded_at).is_err() {
            return Err(Refusal::reject(
                "invalid_event",
                format!(
                    "Event {i} of the command has recorded_at `{}`, which is not an RFC 3339 time",
                    wire.recorded_at
                ),
            ));
        }
        let event = DomainEvent::decode(
            stream.kind,
            &wire.event_type,
            wire.schema_version,
            wire.payload.clone(),
        )
        .map_err(|e| {
            Refusal::reject(
                "unknown_event",
                format!("The server cannot read event {i} of the command ({e}); it stays on the device until the server is upgraded"),
            )
        })?;
        out.push(Decoded {
            stream,
            version: wire.version,
            event_type: &wire.event_type,
            schema_version: wire.schema_version,
            payload: &wire.payload,
            recorded_at: &wire.recorded_at,
            event,
        });
    }
    Ok(out)
}

/// Where a stream is on the server and where the command expected it.
#[derive(serde::Serialize)]
struct StreamConflict {
    stream: String,
    server_version: u64,
    first_version_sent: u64,
}

/// The streams whose versions do not continue the server's.
fn conflicts(unit: &Unit<'_>, events: &[Decoded<'_>]) -> Result<Vec<StreamConflict>, DbError> {
    let mut next: HashMap<Vec<u8>, (u64, u64, bool)> = HashMap::new();
    let mut order = Vec::new();
    for event in events {
        let key = event.stream.key();
        match next.get_mut(&key) {
            Some((_, expected, ok)) => {
                *ok &= event.version == *expected;
                *expected = event.version + 1;
            }
            None => {
                let server = log::stream_version(unit.conn, &key)?;
                next.insert(
                    key.clone(),
                    (server, event.version + 1, event.version == server + 1),
                );
                order.push((key, event));
            }
        }
    }
    Ok(order
        .into_iter()
        .filter_map(|(key, first)| {
            let (server, _, ok) = next[&key];
            (!ok).then(|| StreamConflict {
                stream: first.stream.to_string(),
                server_version: server,
                first_version_sent: first.version,
            })
        })
        .collect())
}

fn attempt(
    unit: &mut Unit<'_>,
    device: &Device,
    allowed: &mut Allowed,
    command: &PushCommand,
) -> Result<(PushStatus, Vec<Stored>), Refusal> {
    let events = decode(command)?;
    let mut pending = HashMap::new();
    let mut conferences = Vec::with_capacity(events.len());
    for event in &events {
        let id = log::event_conference(unit.conn, &event.stream, &event.event, &pending)?;
        if let Some(id) = id {
            pending.insert(event.stream.key(), id);
        }
        conferences.push(id);
    }
    if let Some(allowed) = allowed.as_mut() {
        for event in &events {
            if let DomainEvent::Conference(conference::Event::ConferenceCreated(created)) =
                &event.event
                && device.may_see_slug(created.details.slug.as_str())
                && !log::conference_known(unit.conn, event.stream.id)?
            {
                allowed.insert(event.stream.id);
            }
        }
        if let Some(id) = conferences
            .iter()
            .flatten()
            .find(|id| !allowed.contains(id))
        {
            return Err(Refusal::Request(forbidden_conference(device, *id)));
        }
    }
    let conflicts = conflicts(unit, &events)?;
    let (status, stored) = if conflicts.is_empty() {
        if let Some(i) = conferences.iter().position(Option::is_none) {
            return Err(Refusal::reject(
                "unknown_conference",
                format!(
                    "The server cannot tell which conference {} belongs to (its first event never reached the server)",
                    events[i].stream
                ),
            ));
        }
        check_pool_cuts(unit, &events)?;
        let author = Author {
            command_id: command.command_id,
            device_id: device.id,
        };
        let mut stored = Vec::with_capacity(events.len());
        for (event, conference_id) in events.iter().zip(&conferences) {
            let position = unit.insert(NewEvent {
                stream: event.stream,
                version: event.version,
                conference_id: *conference_id,
                event_type: event.event_type,
                schema_version: event.schema_version,
                payload: event.payload.to_string(),
                author,
                recorded_at: event.recorded_at,
                event: &event.event,
            })?;
            stored.push(Stored {
                position,
                stream: event.stream,
                event: event.event.clone(),
            });
        }
        (PushStatus::Applied, stored)
    } else if ORGANIZER_COMMANDS.contains(&command.command_type.as_str()) {
        tracing::info!(streams = conflicts.len(), "stream moved on; rebasing");
        (
            PushStatus::Rebased,
            rebase::rebase(unit, device, allowed.as_ref(), command)?,
        )
    } else {
        let streams: Vec<&str> = conflicts.iter().map(|c| c.stream.as_str()).collect();
        return Err(Refusal::Reject(Rejection {
            reason: ErrorBody {
                code: "stream_conflict".into(),
                message: format!(
                    "Another writer changed {} first, and `{}` cannot be re-run on the server; the back office will reconcile it",
                    streams.join(", "),
                    command.command_type
                ),
            },
            detail: Some(serde_json::json!({ "conflicts": conflicts })),
        }));
    };
    follow::follow_ups(unit, &stored, command.command_id, device.id)?;
    Ok((status, stored))
}

/// The server owns the pools: a seat type's quantity may only go down by seats its pool
/// still has free (the rule a device that owns its pool checks itself, so a command that
/// wrote the pool is left alone).
fn check_pool_cuts(unit: &mut Unit<'_>, events: &[Decoded<'_>]) -> Result<(), Refusal> {
    for event in events {
        let DomainEvent::Conference(conference::Event::SeatTypeUpdated(updated)) = &event.event
        else {
            continue;
        };
        let wrote_pool = events.iter().any(|e| {
            e.stream == StreamId::seats(ConferenceId::from_uuid(event.stream.id), Holder::Pool)
        });
        if updated.seat_type.quantity < updated.previous_quantity && !wrote_pool {
            rebase::check_quantity_cut(
                unit,
                ConferenceId::from_uuid(event.stream.id),
                updated.seat_type.id,
                updated.seat_type.quantity,
            )?;
        }
    }
    Ok(())
}

pub(crate) fn forbidden_conference(device: &Device, conference_id: Uuid) -> ApiError {
    ApiError::forbidden(
        "forbidden_conference",
        format!(
            "Device `{}` may only work on the conferences {}; conference {conference_id} is not one of them, so nothing of this request was stored",
            device.name,
            device
                .conferences
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}

/// Remembers a command's first result, and moves the device's sequence on.
fn record(
    unit: &mut Unit<'_>,
    device: &Device,
    command: &PushCommand,
    result: &PushResult,
) -> Result<(), ApiError> {
    let recorded_position = match result.positions.last() {
        Some(last) => *last,
        // No event of its own: outcomes after any position up to now include it.
        None => crate::db::head(unit.conn)? + 1,
    };
    let status = match result.status {
        PushStatus::Applied => "applied",
        PushStatus::Rebased => "rebased",
        PushStatus::Rejected => "rejected",
    };
    let text = serde_json::to_string(result)
        .map_err(|e| ApiError::Internal(format!("a push result did not serialize: {e}")))?;
    unit.conn
        .prepare_cached(
            "INSERT INTO commands (command_id, device_id, device_seq, status, result, recorded_position, recorded_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            command.command_id,
            device.id,
            command.device_seq,
            status,
            text,
            recorded_position,
            unit.now
        ])?;
    Ok(())
}

fn reconcile_rejection(
    unit: &mut Unit<'_>,
    device: &Device,
    command: &PushCommand,
    rejection: &Rejection,
) -> Result<(), ApiError> {
    let conference_id = command_conference(unit, command)?;
    let mut detail = serde_json::json!({
        "command_type": command.command_type,
        "device_seq": command.device_seq,
        "code": rejection.reason.code,
        "message": rejection.reason.message,
    });
    if let (Some(extra), Some(map)) = (&rejection.detail, detail.as_object_mut())
        && let Some(extra) = extra.as_object()
    {
        map.extend(extra.clone());
    }
    unit.reconcile(
        "rejected_command",
        conference_id,
        device.id,
        Some(command.command_id),
        &detail,
    )?;
    Ok(())
}

/// The conference a command is about, as far as the server can tell: the one its JSON
/// names, or the one its first known stream belongs to.
fn command_conference(unit: &Unit<'_>, command: &PushCommand) -> Result<Option<Uuid>, DbError> {
    let named = command
        .command
        .get("conference_id")
        .or_else(|| command.command.pointer("/order/conference_id"))
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok());
    if named.is_some() {
        return Ok(named);
    }
    for event in &command.events {
        if let Ok(stream) = StreamId::parse(&event.stream)
            && let Some(id) = log::stream_conference(unit.conn, &stream)?
        {
            return Ok(Some(id));
        }
    }
    Ok(None)
}
