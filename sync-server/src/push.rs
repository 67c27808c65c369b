//! `POST /v1/push`: a device's commands, taken strictly in its order.
//!
//! Per command: a known command id answers with its stored result and stores nothing; an
//! unknown one must carry the next device sequence number (else the whole request is
//! refused with the number expected); the device's role and conferences must allow it;
//! every event must decode with this build (the HTTP handler decoded them already, see
//! `wire`). Then the fast path appends the events exactly as sent when every stream is
//! where the device left it; on a version mismatch an organizer command is re-executed
//! against the server's state (rebase) and anything else is rejected as a stream conflict.
//! The follow-ups (pool policy, over-allotment cover, returned seats) run in the same
//! transaction.
//!
//! Nothing of a refused request is stored: the writer runs it inside a savepoint. Nothing
//! of a rejected command is stored either, and that costs no savepoint per command: a
//! command is checked before it writes, and nearly every rejection comes from those
//! checks. When one comes after the command wrote something (a slug another conference
//! took, say), the request is undone and taken again from the start with a savepoint
//! around each command, which gives the same answer.
//!
//! The fast mode also takes the streams a command starts (its first event there is
//! version 1) to be new without looking them up. Should one exist after all, the insert
//! fails on the log's UNIQUE (stream, version); and a command rejected for any reason
//! while it assumed a stream new might have been judged otherwise (rebased, or rejected
//! naming that stream too). Either way the request is taken again in careful mode, which
//! looks every stream up, so the answer is the same as if nothing had been assumed.
//!
//! tidy: long because a push is one sequence of steps in one transaction (idempotency,
//! order, rights, fast path, rebase, follow-ups) read top to bottom.
use crate::device::Device;
use crate::error::{ApiError, DbError};
use crate::follow;
use crate::log::{self, Appended, Author, NewEvent, Refusal, Rejection, Stored, Unit};
use crate::replay::{self, Reads};
use crate::rights;
use crate::store::CommandInsert;
use crate::verdict::{Ahead, Failed, Written};
use crate::wire::{CommandBody, Decoded, Prepared, PreparedCommand};
use conference_domain::aggregate::DomainEvent;
use conference_domain::conference::{self, Conference};
use conference_domain::seats::{self, SeatsAvailability};
use conference_domain::stream::{Holder, StreamId, StreamKind};
use conference_domain::values::SeatQuantity;
use conference_domain::{CommandId, ConferenceId, DeviceId, SeatTypeId, Timestamp};
use conference_exec::UserCommand;
use conference_exec::command::granted_at;
use conference_protocol::ErrorBody;
use conference_protocol::sync::{PushResponse, PushResult, PushStatus};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The conferences a scoped device may touch in this request (grows with the conferences
/// it creates); `None` for a device that sees every conference.
pub(crate) type Allowed = Option<HashSet<Uuid>>;

/// How commands are kept apart within a request.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// No savepoint per command: a rejection after a write undoes the request and asks
    /// for [`Mode::Careful`].
    Fast,
    /// A savepoint around each command, so a rejection undoes just that command.
    Careful,
}

/// Why taking a request stopped.
enum Halt {
    /// The request is refused; nothing of it may be stored.
    Refuse(ApiError),
    /// A command was rejected after it wrote: take the request again in careful mode.
    Replay,
}

impl From<ApiError> for Halt {
    fn from(e: ApiError) -> Self {
        Self::Refuse(e)
    }
}

impl From<DbError> for Halt {
    fn from(e: DbError) -> Self {
        Self::Refuse(e.into())
    }
}

pub(crate) fn push(
    unit: &mut Unit<'_>,
    device: &Device,
    request: &mut Prepared,
) -> Result<PushResponse, ApiError> {
    unit.db.savepoint("push")?;
    let stats = unit.stats;
    let mut outcome = take(unit, device, request, Mode::Fast);
    if let Err(Halt::Replay) = outcome {
        unit.db.rollback_to("push")?;
        unit.db.savepoint("push")?;
        unit.cache.clear();
        unit.stats = stats;
        tracing::info!("a command was rejected after it wrote; taking the request again");
        outcome = take(unit, device, request, Mode::Careful);
    }
    match outcome {
        Ok(response) => {
            unit.db.release("push")?;
            Ok(response)
        }
        Err(halt) => {
            unit.db.rollback_to("push")?;
            unit.cache.clear();
            Err(match halt {
                Halt::Refuse(error) => error,
                Halt::Replay => {
                    ApiError::Internal("a push asked to be taken again in careful mode".into())
                }
            })
        }
    }
}

fn take(
    unit: &mut Unit<'_>,
    device: &Device,
    request: &mut Prepared,
    mode: Mode,
) -> Result<PushResponse, Halt> {
    let mut next_seq = unit.db.device_next_seq(device.id)?;
    let mut allowed = device.allowed_ids(&mut *unit.db)?;
    let mut results = Vec::with_capacity(request.commands.len());
    // Whether every command so far was applied here as pushed: replays ahead of the
    // writer that built on earlier commands of the request hold only then.
    let mut all_applied = true;
    for command in &mut request.commands {
        let body = &command.body;
        let span = tracing::info_span!(
            "command",
            command_type = %body.command_type,
            command_id = %body.command_id,
            device_seq = body.device_seq
        );
        let _entered = span.enter();
        if let Some(known) = stored_result(unit, device.id, body.command_id)? {
            unit.stats.commands_known += 1;
            results.push(known);
            all_applied = false;
            continue;
        }
        if body.device_seq != next_seq {
            return Err(ApiError::SequenceGap {
                next_expected: next_seq,
            }
            .into());
        }
        if !device.role.may_push(&body.command_type) {
            return Err(ApiError::forbidden(
                "forbidden_command",
                format!(
                    "A {} device may not push `{}` (command {}); nothing of this request was stored",
                    device.role, body.command_type, body.device_seq
                ),
            )
            .into());
        }
        let ahead = command
            .ahead
            .take()
            .filter(|a| mode == Mode::Fast && !a.unsettled && (all_applied || !a.used_earlier));
        let body = &command.body;
        let result = run_command(unit, device, &mut allowed, command, ahead, mode)?;
        all_applied &= result.status == PushStatus::Applied;
        record(unit, device, body, &result)?;
        next_seq += 1;
        results.push(result);
    }
    unit.db.set_device_next_seq(device.id, next_seq)?;
    unit.stats.pushes += 1;
    Ok(PushResponse { results, next_seq })
}

/// The first result of a command id, if this device pushed it before. A command id is
/// one device's: another device pushing it is refused, never answered with someone
/// else's result.
fn stored_result(
    unit: &mut Unit<'_>,
    device_id: Uuid,
    command_id: Uuid,
) -> Result<Option<PushResult>, ApiError> {
    let row = unit
        .db
        .command(command_id)?
        .map(|c| (c.status, c.result, c.device_id));
    match row {
        None => Ok(None),
        Some((_, _, owner)) if owner != device_id => Err(ApiError::Conflict {
            code: "command_id_reused".into(),
            message: format!(
                "Command id {command_id} belongs to a command of another device; every command needs its own id, so nothing of this request was stored"
            ),
        }),
        Some((status, _, _)) if status == "granted" => Err(ApiError::Conflict {
            code: "command_id_reused".into(),
            message: format!(
                "Command id {command_id} was already used for an allotment request; every command needs its own id"
            ),
        }),
        Some((_, text, _)) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| DbError::corrupt(format!("the result of command {command_id}"), e).into()),
    }
}

/// Runs one command; a rejection leaves nothing of it behind (in careful mode through
/// its own savepoint; in fast mode only when it wrote nothing, else the request is
/// taken again).
fn run_command(
    unit: &mut Unit<'_>,
    device: &Device,
    allowed: &mut Allowed,
    command: &PreparedCommand,
    ahead: Option<Ahead>,
    mode: Mode,
) -> Result<PushResult, Halt> {
    let body = &command.body;
    let changes_before = unit.db.changes();
    if mode == Mode::Careful {
        unit.db.savepoint("command")?;
    }
    let outcome = attempt(unit, device, allowed, command, ahead, mode);
    // A rejection judged on a stream assumed new is judged again with it looked up.
    let assumed_new = mode == Mode::Fast && body.events.iter().any(|e| e.version == 1);
    let undo = |unit: &mut Unit<'_>| -> Result<(), Halt> {
        if mode == Mode::Careful {
            unit.db.rollback_to("command")?;
            unit.cache.clear();
        }
        Ok(())
    };
    match outcome {
        Ok((status, positions)) => {
            if mode == Mode::Careful {
                unit.db.release("command")?;
            }
            match status {
                PushStatus::Applied => unit.stats.commands_applied += 1,
                PushStatus::Rebased => unit.stats.commands_rebased += 1,
                PushStatus::Rejected => unit.stats.commands_rejected += 1,
            }
            Ok(PushResult {
                command_id: body.command_id,
                device_seq: body.device_seq,
                status,
                reason: None,
                positions,
            })
        }
        Err(Refusal::Reject(rejection)) => {
            if mode == Mode::Fast && (unit.db.changes() != changes_before || assumed_new) {
                return Err(Halt::Replay);
            }
            undo(unit)?;
            tracing::info!(code = %rejection.reason.code, "command rejected");
            unit.stats.commands_rejected += 1;
            reconcile_rejection(unit, device, body, &rejection)?;
            Ok(PushResult {
                command_id: body.command_id,
                device_seq: body.device_seq,
                status: PushStatus::Rejected,
                reason: Some(rejection.reason),
                positions: vec![],
            })
        }
        Err(Refusal::Request(error)) => {
            undo(unit)?;
            Err(Halt::Refuse(error))
        }
        // A stream assumed new was not (fast mode does not look up streams a command
        // starts): take the request again, looking every stream up.
        Err(Refusal::VersionTaken) if mode == Mode::Fast => Err(Halt::Replay),
        Err(Refusal::VersionTaken) => {
            undo(unit)?;
            Err(Halt::Refuse(ApiError::Internal(format!(
                "command {} took a stream version that was already stored",
                body.command_id
            ))))
        }
    }
}

/// Where a stream is on the server and where the command expected it.
#[derive(serde::Serialize)]
struct StreamConflict {
    stream: String,
    server_version: u64,
    first_version_sent: u64,
}

/// The streams whose versions do not continue the server's.
///
/// With `assume_new`, a stream the command starts (its first event is version 1) is not
/// looked up: it is taken to be new, as it nearly always is (a sale starts its order,
/// payment and assignments). Should it exist, its version 1 is taken and the insert
/// fails on the log's UNIQUE (stream, version), which sends the request round again
/// without the assumption ([`Refusal::VersionTaken`]). A door sale looks up one stream
/// instead of four.
fn conflicts(
    unit: &mut Unit<'_>,
    events: &[Decoded],
    body: &CommandBody,
    assume_new: bool,
) -> Result<Vec<StreamConflict>, DbError> {
    // Commands write a handful of streams: a list beats a map here. Their versions on
    // the server are looked up together (one round trip on PostgreSQL).
    let mut streams: Vec<StreamId> = Vec::new();
    let mut starts: Vec<bool> = Vec::new();
    for (event, wire) in events.iter().zip(&body.events) {
        if !streams.contains(&event.stream) {
            streams.push(event.stream);
            starts.push(assume_new && wire.version == 1);
        }
    }
    let keys: Vec<Vec<u8>> = streams
        .iter()
        .zip(&starts)
        .filter(|(_, new)| !**new)
        .map(|(stream, _)| stream.key())
        .collect();
    let key_refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    let mut looked_up = unit.db.stream_versions(&key_refs)?.into_iter();
    let versions: Vec<u64> = starts
        .iter()
        .map(|new| {
            if *new {
                0
            } else {
                looked_up.next().unwrap_or(0)
            }
        })
        .collect();
    let mut next: Vec<(StreamId, u64, u64, bool, u64)> = Vec::new();
    for (event, wire) in events.iter().zip(&body.events) {
        match next.iter_mut().find(|(stream, ..)| *stream == event.stream) {
            Some((_, _, expected, ok, _)) => {
                *ok &= wire.version == *expected;
                *expected = wire.version + 1;
            }
            None => {
                let at = streams.iter().position(|s| *s == event.stream);
                let server = at.and_then(|i| versions.get(i)).copied().unwrap_or(0);
                next.push((
                    event.stream,
                    server,
                    wire.version + 1,
                    wire.version == server + 1,
                    wire.version,
                ));
            }
        }
    }
    Ok(next
        .into_iter()
        .filter(|(_, _, _, ok, _)| !ok)
        .map(|(stream, server, _, _, first)| StreamConflict {
            stream: stream.to_string(),
            server_version: server,
            first_version_sent: first,
        })
        .collect())
}

fn attempt(
    unit: &mut Unit<'_>,
    device: &Device,
    allowed: &mut Allowed,
    command: &PreparedCommand,
    ahead: Option<Ahead>,
    mode: Mode,
) -> Result<(PushStatus, Vec<i64>), Refusal> {
    let body = &command.body;
    let events = command
        .decoded
        .as_ref()
        .map_err(|rejection| Refusal::Reject(rejection.clone()))?;
    let user_command = command
        .command
        .as_ref()
        .map_err(|rejection| Refusal::Reject(rejection.clone()))?;
    let conferences = event_conferences(unit, device, allowed, events)?;
    let conflicts = conflicts(unit, events, body, mode == Mode::Fast)?;
    if conflicts.is_empty() {
        if let Some(i) = conferences.iter().position(Option::is_none) {
            return Err(Refusal::reject(
                "unknown_conference",
                format!(
                    "The server cannot tell which conference {} belongs to (its first event never reached the server)",
                    events[i].stream
                ),
            ));
        }
        let now = command.now.clone().map_err(Refusal::Reject)?;
        if let UserCommand::ReceiveAllotment {
            conference_id,
            seats,
        } = user_command
        {
            check_grant(unit, device, body, *conference_id, seats)?;
        }
        let (written, judged) = match ahead {
            Some(ahead) => {
                unit.stats.replays_ahead += 1;
                (ahead.outcome, ahead.difference)
            }
            None => {
                unit.stats.replays_writer += 1;
                let began = std::time::Instant::now();
                let owns_pool = replay::ran_as_pool_owner(events, user_command);
                let replayed = replay::replay(
                    unit,
                    device.id,
                    body,
                    user_command,
                    now,
                    owns_pool,
                    Reads::AsTheDeviceRead,
                );
                let judged = replayed
                    .as_ref()
                    .ok()
                    .and_then(|r| replay::difference(&r.recorded, events, body, now));
                let written = replayed.map(|replayed| {
                    let written = Written::of(&replayed.recorded);
                    replayed.keep_states(unit);
                    written
                });
                unit.stats.replay_ns +=
                    u64::try_from(began.elapsed().as_nanos()).unwrap_or(u64::MAX);
                (written, judged)
            }
        };
        let written = written.map_err(|failed| match failed {
            Failed::Db(e) => Refusal::from(e),
            Failed::Refused(e) => mismatch(format!(
                "the server refuses the command where the device says it ran: {} ({})",
                e,
                e.code()
            )),
        })?;
        if let Some(difference) = judged {
            return Err(mismatch(difference));
        }
        rights::check(unit, device, &written)?;
        check_pool_cuts(unit, events.iter().map(|e| (e.stream, &e.event)))?;
        let author = Author {
            command_id: body.command_id,
            device_id: device.id,
        };
        let mut news = Vec::with_capacity(events.len());
        let mut appended = Vec::with_capacity(events.len());
        for ((event, wire), conference_id) in events.iter().zip(&body.events).zip(&conferences) {
            news.push(NewEvent {
                stream: event.stream,
                version: wire.version,
                conference_id: *conference_id,
                event_type: &wire.event_type,
                schema_version: wire.schema_version,
                payload: wire.payload.get(),
                author,
                recorded_at: &wire.recorded_at,
                event: &event.event,
            });
            appended.push(Appended {
                stream: event.stream,
                event: &event.event,
                conference_id: *conference_id,
            });
        }
        let positions = unit.insert_all(&news)?;
        follow::follow_ups(unit, &appended, body.command_id, device.id)?;
        Ok((PushStatus::Applied, positions))
    } else if user_command.organizer_command().is_some() {
        tracing::info!(streams = conflicts.len(), "stream moved on; rebasing");
        let now = command.now.clone().map_err(Refusal::Reject)?;
        let stored = rebase(unit, device, allowed.as_ref(), body, user_command, now)?;
        let appended: Vec<Appended<'_>> = stored
            .iter()
            .map(|s| Appended {
                stream: s.stream,
                event: &s.event,
                conference_id: None,
            })
            .collect();
        follow::follow_ups(unit, &appended, body.command_id, device.id)?;
        Ok((
            PushStatus::Rebased,
            stored.iter().map(|s| s.position).collect(),
        ))
    } else {
        let streams: Vec<&str> = conflicts.iter().map(|c| c.stream.as_str()).collect();
        Err(Refusal::Reject(Rejection {
            reason: ErrorBody {
                code: "stream_conflict".into(),
                message: format!(
                    "Another writer changed {} first, and `{}` cannot be re-run on the server; the back office will reconcile it",
                    streams.join(", "),
                    body.command_type
                ),
                field: None,
            },
            detail: Some(Box::new(serde_json::json!({ "conflicts": conflicts }))),
        }))
    }
}

/// The conference of every pushed event (`None` where the server cannot tell), after
/// checking that a scoped device may touch each.
fn event_conferences(
    unit: &mut Unit<'_>,
    device: &Device,
    allowed: &mut Allowed,
    events: &[Decoded],
) -> Result<Vec<Option<Uuid>>, Refusal> {
    let mut pending = HashMap::new();
    let mut conferences = Vec::with_capacity(events.len());
    for event in events {
        let id = log::event_conference(&mut *unit.db, &event.stream, &event.event, &pending)?;
        if let Some(id) = id {
            pending.insert(event.stream.key(), id);
        }
        conferences.push(id);
    }
    if let Some(allowed) = allowed.as_mut() {
        for event in events {
            if let DomainEvent::Conference(conference::Event::ConferenceCreated(created)) =
                &event.event
                && device.may_see_slug(created.details.slug.as_str())
                && !unit.db.conference_known(event.stream.id)?
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
    Ok(conferences)
}

/// The refusal of a command whose pushed events are not what it produces.
fn mismatch(difference: String) -> Refusal {
    Refusal::reject(
        "events_do_not_match_command",
        format!(
            "The pushed events are not what the command produces on the server ({difference}); nothing of it was stored"
        ),
    )
}

/// A `receive_allotment` must name a grant the server's pool made to this device, with
/// the same seats: seats reach a device's allotment only from the server.
fn check_grant(
    unit: &mut Unit<'_>,
    device: &Device,
    body: &CommandBody,
    conference_id: ConferenceId,
    seats: &[SeatQuantity],
) -> Result<(), Refusal> {
    let me = DeviceId::from_uuid(device.id);
    let unknown = || {
        Refusal::reject(
            "grant_unknown",
            "The command receives seats the server's pool never granted to this device; seats join an allotment only through the server (`conference allotment request`)",
        )
    };
    let position = granted_at(me, CommandId::from_uuid(body.command_id));
    let position = position.ok_or_else(unknown)?;
    let Some(row) = unit.db.events_page(position - 1, 1, None)?.pop() else {
        return Err(unknown());
    };
    let pool = StreamId::seats(conference_id, Holder::Pool);
    if row.position != position || row.stream_key != pool.key() {
        return Err(unknown());
    }
    let event = DomainEvent::decode_text(
        StreamKind::Seats,
        &row.event_type,
        row.schema_version,
        &row.payload,
    )
    .map_err(|e| DbError::corrupt(format!("event {position}"), e))?;
    match event {
        DomainEvent::Seats(seats::Event::SeatsAllotted(grant))
            if grant.device == me && grant.seats == seats =>
        {
            Ok(())
        }
        _ => Err(unknown()),
    }
}

/// An organizer command whose streams moved on runs again on the server's newest state,
/// with the same code; its events replace the device's (the device learns them on pull).
/// A rule's refusal is the command's rejection, with the rule's code.
fn rebase(
    unit: &mut Unit<'_>,
    device: &Device,
    allowed: Option<&HashSet<Uuid>>,
    body: &CommandBody,
    command: &UserCommand,
    now: Timestamp,
) -> Result<Vec<Stored>, Refusal> {
    let Some(organizer) = command.organizer_command() else {
        return Err(Refusal::reject(
            "bad_command",
            format!(
                "`{}` is not a command the server re-runs",
                body.command_type
            ),
        ));
    };
    let conference_id = organizer.conference_id();
    if let Some(allowed) = allowed {
        let creates_allowed = matches!(command, UserCommand::CreateConference { details, .. }
            if device.may_see_slug(details.slug.as_str()));
        if !allowed.contains(&conference_id.as_uuid()) && !creates_allowed {
            return Err(Refusal::Request(forbidden_conference(
                device,
                conference_id.as_uuid(),
            )));
        }
    }
    let replayed = replay::replay(unit, device.id, body, command, now, false, Reads::Newest)
        .map_err(|failed| match failed {
            Failed::Db(e) => Refusal::from(e),
            Failed::Refused(e) => Refusal::Reject(Rejection {
                reason: e.body(),
                detail: None,
            }),
        })?;
    rights::check(unit, device, &Written::of(&replayed.recorded))?;
    check_pool_cuts(unit, replayed.recorded.iter().map(|r| (r.stream, &r.event)))?;
    let author = Author {
        command_id: body.command_id,
        device_id: device.id,
    };
    let recorded_at = unit.now.clone();
    let mut stored = Vec::with_capacity(replayed.recorded.len());
    let mut pending = HashMap::new();
    for event in &replayed.recorded {
        let conference_id =
            log::event_conference(&mut *unit.db, &event.stream, &event.event, &pending)?;
        if let Some(id) = conference_id {
            pending.insert(event.stream.key(), id);
        }
        let payload = event.event.to_payload().to_string();
        let position = unit.insert(NewEvent {
            stream: event.stream,
            version: event.version,
            conference_id,
            event_type: event.event.event_type(),
            schema_version: event.event.schema_version(),
            payload: &payload,
            author,
            recorded_at: &recorded_at,
            event: &event.event,
        })?;
        stored.push(Stored {
            position,
            stream: event.stream,
            event: event.event.clone(),
        });
    }
    replayed.keep_states(unit);
    Ok(stored)
}

/// The server owns the pools: a seat type's quantity may only go down by seats its pool
/// still has free (the rule a device that owns its pool checks itself, so a command that
/// wrote the pool is left alone).
fn check_pool_cuts<'e>(
    unit: &mut Unit<'_>,
    events: impl Iterator<Item = (StreamId, &'e DomainEvent)> + Clone,
) -> Result<(), Refusal> {
    for (stream, event) in events.clone() {
        let DomainEvent::Conference(conference::Event::SeatTypeUpdated(updated)) = event else {
            continue;
        };
        let conference_id = ConferenceId::from_uuid(stream.id);
        let pool = StreamId::seats(conference_id, Holder::Pool);
        let wrote_pool = events.clone().any(|(s, _)| s == pool);
        if updated.seat_type.quantity < updated.previous_quantity && !wrote_pool {
            check_quantity_cut(
                unit,
                conference_id,
                updated.seat_type.id,
                updated.seat_type.quantity,
            )?;
        }
    }
    Ok(())
}

/// Lowering a seat type's quantity may only remove seats nobody holds (the server owns
/// the pool, so it checks what the device could not).
fn check_quantity_cut(
    unit: &mut Unit<'_>,
    conference_id: ConferenceId,
    seat_type: SeatTypeId,
    new_quantity: u32,
) -> Result<(), Refusal> {
    let (conference, _) = unit.load::<Conference>(StreamId::conference(conference_id))?;
    let Some(current) = conference.data().and_then(|c| c.seat_type(seat_type)) else {
        return Ok(());
    };
    let (pool, _) = unit.load::<SeatsAvailability>(StreamId::seats(conference_id, Holder::Pool))?;
    seats::check_quantity_cut(current, &pool, new_quantity).map_err(|e| {
        Refusal::Reject(Rejection {
            reason: conference_exec::AppError::domain(e).body(),
            detail: None,
        })
    })
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
    command: &CommandBody,
    result: &PushResult,
) -> Result<(), ApiError> {
    let recorded_position = match result.positions.last() {
        Some(last) => *last,
        // No event of its own: outcomes after any position up to now include it.
        None => unit.db.head()? + 1,
    };
    let status = match result.status {
        PushStatus::Applied => "applied",
        PushStatus::Rebased => "rebased",
        PushStatus::Rejected => "rejected",
    };
    let text = serde_json::to_string(result)
        .map_err(|e| ApiError::Internal(format!("a push result did not serialize: {e}")))?;
    unit.db.insert_command(&CommandInsert {
        command_id: command.command_id,
        device_id: device.id,
        device_seq: Some(command.device_seq),
        status,
        result: &text,
        recorded_position,
        recorded_at: &unit.now,
    })?;
    Ok(())
}

fn reconcile_rejection(
    unit: &mut Unit<'_>,
    device: &Device,
    command: &CommandBody,
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

/// The conference a command is about, as far as the server can tell: the one it names
/// (read with this build's command types), or the one its first known stream belongs to.
fn command_conference(unit: &mut Unit<'_>, command: &CommandBody) -> Result<Option<Uuid>, DbError> {
    let named = serde_json::from_str::<UserCommand>(command.command.get())
        .ok()
        .and_then(|c| c.conference_id());
    if let Some(id) = named {
        return Ok(Some(id.as_uuid()));
    }
    for event in &command.events {
        if let Ok(stream) = StreamId::parse(&event.stream)
            && let Some(id) = log::stream_conference(&mut *unit.db, &stream)?
        {
            return Ok(Some(id));
        }
    }
    Ok(None)
}
