//! Replaying a pushed command (DESIGN.md §4 Push, §7): the server never stores an event
//! because a device sent it. It runs the device's command through `conference_exec::run`,
//! the very code the device ran, on a journal over its own log, and takes the command only
//! if the same events come out.
//!
//! The journal ([`Replay`]) reads each stream at the version the device says it read
//! (`reads`: a door that sold at the price it had read sold at that price; an organizer
//! who changed it meanwhile does not make that sale a forgery), or at the server's newest
//! when the device names none, and keeps what the command appends in memory: nothing is
//! written until the events are judged.
use crate::error::DbError;
use crate::log::{StateCache, Unit};
use crate::metrics::Stats;
use crate::store::Db;
use crate::verdict::{Ahead, Failed, Written};
use crate::wire::{CommandBody, Decoded, EventBody, PreparedCommand};
use conference_domain::aggregate::{Aggregate, DomainEvent, FLATTENED, IntoDomainEvent};
use conference_domain::order::Order;
use conference_domain::process::{RegistrationProcess, Stage};
use conference_domain::stream::{Holder, StreamId, StreamKind};
use conference_domain::upcast;
use conference_domain::{CommandId, DeviceId, OrderId, Timestamp};
use conference_exec::{
    AppError, EXPIRE_REGISTRATION, ExpiryPayload, Journal, Recorded, ScheduledCommand, Uow,
    UserCommand,
};
use std::any::Any;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Which versions a replay reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reads {
    /// The versions the device read (its `reads`; the newest for a stream it names not).
    AsTheDeviceRead,
    /// The server's newest: a rebase runs the command again on what the server has now.
    Newest,
}

/// What a replay appended, in order, and the states it left the streams in.
pub(crate) struct Replayed {
    pub recorded: Vec<Recorded>,
    states: HashMap<Vec<u8>, (u64, Box<dyn Any + Send>)>,
}

impl Replayed {
    /// Hands the states of the streams the command wrote to the writer's cache: the next
    /// command on them starts from there instead of folding the log again.
    pub(crate) fn keep_states(self, unit: &mut Unit<'_>) {
        for (key, (version, state)) in self.states {
            if self
                .recorded
                .iter()
                .any(|r| r.version == version && r.stream.key() == key)
            {
                unit.keep_state(key, version, state);
            }
        }
    }
}

/// What the commands of one request wrote, as their replays ahead of the writer have it,
/// for the later commands of the request to read.
#[derive(Default)]
pub(crate) struct Carry {
    states: HashMap<Vec<u8>, (u64, Box<dyn Any + Send>)>,
    /// Streams started by the request's commands (all the pushing device's).
    started: HashSet<Vec<u8>>,
}

impl Carry {
    /// Takes a command's replay as what its streams will be once the writer applies it.
    fn take(&mut self, replayed: &mut Replayed) {
        for (key, (version, state)) in replayed.states.drain() {
            let wrote = replayed
                .recorded
                .iter()
                .filter(|r| r.stream.key() == key)
                .map(|r| r.version)
                .collect::<Vec<_>>();
            if wrote.last() == Some(&version) {
                if wrote.first() == Some(&1) {
                    self.started.insert(key.clone());
                }
                self.states.insert(key, (version, state));
            }
        }
    }
}

/// Runs `command` for `device` at `now` on the server's log, and returns the events it
/// produced without storing any.
pub(crate) fn replay(
    unit: &mut Unit<'_>,
    device: Uuid,
    body: &CommandBody,
    command: &UserCommand,
    now: Timestamp,
    owns_pool: bool,
    reads: Reads,
) -> Result<Replayed, Failed> {
    Replay::new(unit, device, body, command, now, reads)
        .run(command, owns_pool)
        .0
}

/// Replays a request's commands ahead of the writer, on a reading connection (the HTTP
/// handler's turn, not the single writer's), and leaves each verdict in its command. A
/// stream read at the version the device read is history that never changes, so the
/// writer can take a verdict as it is, as long as the command read nothing newer
/// (`unsettled`) and the earlier commands it builds on were applied as pushed
/// (`used_earlier`); otherwise it replays the command itself.
pub(crate) fn ahead_of_writer(
    db: &mut dyn Db,
    cache: &mut StateCache,
    server_device: Uuid,
    device: Uuid,
    commands: &mut [PreparedCommand],
) {
    let mut unit = Unit {
        db,
        cache,
        server_device,
        now: crate::db::now_text(),
        stats: Stats::default(),
    };
    ahead(&mut unit, device, commands);
}

fn ahead(unit: &mut Unit<'_>, device: Uuid, commands: &mut [PreparedCommand]) {
    let mut carry = Carry::default();
    for prepared in commands {
        let (Ok(command), Ok(now), Ok(events)) =
            (&prepared.command, &prepared.now, &prepared.decoded)
        else {
            continue;
        };
        let owns_pool = ran_as_pool_owner(events, command);
        let mut replay = Replay::new(
            unit,
            device,
            &prepared.body,
            command,
            *now,
            Reads::AsTheDeviceRead,
        );
        replay.carry = Some(&mut carry);
        let (outcome, used_earlier, unsettled) = replay.run(command, owns_pool);
        let mut difference_found = None;
        let outcome = outcome.map(|mut replayed| {
            // Only what the writer will apply is what later commands build on.
            difference_found = difference(&replayed.recorded, events, &prepared.body, *now);
            if difference_found.is_none() {
                carry.take(&mut replayed);
            }
            Written::of(&replayed.recorded)
        });
        prepared.ahead = Some(Ahead {
            outcome,
            difference: difference_found,
            used_earlier,
            unsettled,
        });
    }
}

/// The orders a pushed `tick` expired: the order streams its events name, in order.
fn expirable(body: &CommandBody, command: &UserCommand) -> Vec<OrderId> {
    if !matches!(command, UserCommand::Tick) {
        return vec![];
    }
    let mut orders = Vec::new();
    for event in &body.events {
        if let Ok(stream) = StreamId::parse(&event.stream)
            && stream.kind == StreamKind::Order
        {
            let order = OrderId::from_uuid(stream.id);
            if !orders.contains(&order) {
                orders.push(order);
            }
        }
    }
    orders
}

/// Whether the pushed events are exactly the replayed ones: the same streams, versions,
/// event types and payloads (as the domain reads them, so V1 shapes upcast first), in the
/// same order, recorded when the command ran. The first difference, said for the back
/// office.
pub(crate) fn difference(
    replayed: &[Recorded],
    pushed: &[Decoded],
    body: &CommandBody,
    now: Timestamp,
) -> Option<String> {
    if replayed.len() != pushed.len() {
        let names = |events: &mut dyn Iterator<Item = (&StreamId, &DomainEvent)>| {
            events
                .map(|(stream, event)| format!("{} on {stream}", event.event_type()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Some(format!(
            "the command produces {} event(s) on the server ({}), but {} were pushed ({})",
            replayed.len(),
            names(&mut replayed.iter().map(|r| (&r.stream, &r.event))),
            pushed.len(),
            names(&mut pushed.iter().map(|d| (&d.stream, &d.event)))
        ));
    }
    for (i, ((ours, theirs), wire)) in replayed.iter().zip(pushed).zip(&body.events).enumerate() {
        if ours.stream != theirs.stream || ours.version != wire.version {
            return Some(format!(
                "event {i} goes to {} version {} on the server, but was pushed to {} version {}",
                ours.stream, ours.version, theirs.stream, wire.version
            ));
        }
        // A device writes both as the same text; anything else is read as a time.
        let at_now = body.now.as_deref() == Some(wire.recorded_at.as_str())
            || chrono::DateTime::parse_from_rfc3339(&wire.recorded_at)
                .is_ok_and(|t| t.with_timezone(&chrono::Utc) == now);
        if !at_now {
            return Some(format!(
                "event {i} is recorded at {}, but the command ran at {}",
                wire.recorded_at,
                now.to_rfc3339()
            ));
        }
        if ours.event != theirs.event && !same_in_older_shape(ours, theirs, wire) {
            return Some(format!(
                "event {i} on {} is a different `{}` on the server than the pushed `{}`",
                ours.stream,
                ours.event.event_type(),
                theirs.event.event_type()
            ));
        }
        if !same_payload(ours, wire) {
            return Some(format!(
                "event {i} on {} carries fields or values its command does not write",
                ours.stream
            ));
        }
    }
    None
}

/// The pushed payload of a type that flattens a part is the JSON the replayed event is
/// written as: the same text, as the device's own code writes it, or the same JSON spaced
/// or ordered otherwise. A field the domain does not know makes it differ (other types'
/// unknown fields are refused where they are decoded, see `wire`; an event pushed in an
/// older shape was compared in that shape already).
fn same_payload(ours: &Recorded, wire: &EventBody) -> bool {
    let current = (ours.event.event_type(), ours.event.schema_version());
    if current != (wire.event_type.as_str(), wire.schema_version) || !FLATTENED.contains(&current.0)
    {
        return true;
    }
    let written = ours.event.to_payload();
    serde_json::to_string(&written).is_ok_and(|text| text == wire.payload.get())
        || serde_json::from_str::<serde_json::Value>(wire.payload.get()).ok() == Some(written)
}

/// A device of an older release writes older shapes (V1's `OrderPaymentConfirmed`, which
/// says less than V2's `OrderConfirmed`): the replayed event, walked back to the shape the
/// device wrote and read again, must be what the device's event reads as.
fn same_in_older_shape(ours: &Recorded, theirs: &Decoded, wire: &EventBody) -> bool {
    let (event_type, version) = (ours.event.event_type(), ours.event.schema_version());
    if (event_type, version) == (wire.event_type.as_str(), wire.schema_version) {
        return false;
    }
    let pushed = (wire.event_type.as_str(), wire.schema_version);
    let reads = |t: &str| (t == pushed.0).then_some(pushed.1);
    upcast::for_reader(reads, event_type, version, ours.event.to_payload())
        .ok()
        .filter(|(t, v, _)| (t.as_str(), *v) == pushed)
        .and_then(|(t, v, payload)| DomainEvent::decode(ours.stream.kind, &t, v, payload).ok())
        .is_some_and(|older| older == theirs.event)
}

/// Whether the device ran `command` as the owner of a conference's seat pool (a store
/// never connected to a server): what it pushed wrote a pool, or a promo code's
/// redemptions (which only a pool's owner counts itself).
pub(crate) fn ran_as_pool_owner(events: &[Decoded], command: &UserCommand) -> bool {
    events.iter().any(|e| {
        (e.stream.kind == StreamKind::Seats && e.stream.holder == Holder::Pool)
            || (e.stream.kind == StreamKind::Promos && command.organizer_command().is_none())
    })
}

/// The server's log as a journal, as of the versions the device read.
struct Replay<'u, 'c> {
    unit: &'u mut Unit<'c>,
    now: Timestamp,
    device: DeviceId,
    command_id: CommandId,
    /// The version each stream is read at; a stream not named is read at the newest.
    pinned: HashMap<Vec<u8>, u64>,
    /// A stream named in `reads` that does not parse.
    bad_read: Option<String>,
    /// Every stream this replay touched: its version and state (an `A`).
    states: HashMap<Vec<u8>, (u64, Box<dyn Any + Send>)>,
    /// The same streams as they were before the command.
    before: HashMap<Vec<u8>, Box<dyn Any + Send>>,
    recorded: Vec<Recorded>,
    /// A failure of the server's own database, kept apart from the command's refusals.
    db_failure: Option<DbError>,
    /// The orders whose expiry may have been due (see `due_commands`), and which of
    /// them ran.
    expirable: Vec<OrderId>,
    done: HashSet<i64>,
    /// What earlier commands of the request wrote, when replaying ahead of the writer.
    carry: Option<&'u mut Carry>,
    used_earlier: bool,
    unsettled: bool,
}

impl<'u, 'c> Replay<'u, 'c> {
    fn new(
        unit: &'u mut Unit<'c>,
        device: Uuid,
        body: &CommandBody,
        command: &UserCommand,
        now: Timestamp,
        reads: Reads,
    ) -> Self {
        let mut pinned = HashMap::new();
        let mut bad_read = None;
        if reads == Reads::AsTheDeviceRead {
            for read in &body.reads {
                match StreamId::parse(&read.stream) {
                    Ok(stream) => {
                        pinned.insert(stream.key(), read.version);
                    }
                    Err(e) => bad_read = Some(e.to_string()),
                }
            }
        }
        Self {
            unit,
            now,
            device: DeviceId::from_uuid(device),
            command_id: CommandId::from_uuid(body.command_id),
            pinned,
            bad_read,
            states: HashMap::new(),
            before: HashMap::new(),
            recorded: Vec::new(),
            db_failure: None,
            expirable: expirable(body, command),
            done: HashSet::new(),
            carry: None,
            used_earlier: false,
            unsettled: false,
        }
    }

    /// Runs the command and everything it causes; what came out, and whether it built on
    /// earlier commands of the request and read something that may still change.
    fn run(self, command: &UserCommand, owns_pool: bool) -> (Result<Replayed, Failed>, bool, bool) {
        if let Some(e) = &self.bad_read {
            let refused = AppError::invalid(
                "invalid_read",
                format!("The command names a stream it read that does not exist: {e}"),
            );
            return (Err(Failed::Refused(refused)), false, false);
        }
        let mut uow = Uow::new(self, owns_pool);
        let outcome = conference_exec::run(&mut uow, command);
        let journal = match uow.finish() {
            Ok(journal) => journal,
            // The replay's journal keeps nothing, so finishing cannot fail; if it did, the
            // writer judges the command itself.
            Err(error) => return (Err(Failed::Refused(error)), true, true),
        };
        let (used_earlier, unsettled) = (journal.used_earlier, journal.unsettled);
        let outcome = match (journal.db_failure, outcome) {
            (Some(failure), _) => Err(Failed::Db(failure)),
            (None, Err(error)) => Err(Failed::Refused(error)),
            (None, Ok(_)) => Ok(Replayed {
                recorded: journal.recorded,
                states: journal.states,
            }),
        };
        (outcome, used_earlier, unsettled)
    }

    fn db<T>(&mut self, result: Result<T, DbError>) -> Result<T, AppError> {
        result.map_err(|e| {
            let message = e.to_string();
            self.db_failure.get_or_insert(e);
            AppError::Store(message)
        })
    }

    /// The state and version of `stream` in this replay.
    fn state<A: Aggregate>(&mut self, stream: StreamId) -> Result<(A, u64), AppError> {
        let key = stream.key();
        if let Some((version, state)) = self.states.get(&key) {
            let state = state
                .downcast_ref::<A>()
                .cloned()
                .ok_or_else(|| AppError::Store(format!("{stream} was loaded as another kind")))?;
            return Ok((state, *version));
        }
        let pin = self.pinned.get(&key).copied();
        let ahead = self.carry.is_some();
        if ahead && pin.is_none() {
            // The newest may move on before the writer takes the command.
            self.unsettled = true;
        }
        let earlier = self.carry.as_deref().and_then(|carry| {
            let (version, state) = carry.states.get(&key)?;
            let state = state.downcast_ref::<A>()?.clone();
            pin.is_none_or(|pin| pin == *version)
                .then_some((state, *version))
        });
        let (state, version) = if let Some(earlier) = earlier {
            self.used_earlier = true;
            earlier
        } else if pin == Some(0) {
            // Nothing before version 0: a stream the command starts.
            (A::default(), 0)
        } else if let Some(state) = pin.and_then(|pin| self.unit.cached_at::<A>(stream, pin)) {
            (state, pin.unwrap_or_default())
        } else {
            let newest = self.unit.load::<A>(stream);
            let (state, newest) = self.db(newest)?;
            match pin {
                Some(read) if read < newest => {
                    let older = self.unit.load_at::<A>(stream, read);
                    (self.db(older)?, read)
                }
                Some(read) if read > newest => {
                    if ahead {
                        // Written by an earlier command of the request that this replay
                        // did not take, or by a request the writer has not committed yet.
                        self.unsettled = true;
                    }
                    return Err(AppError::rejected(
                        "read_version_unknown",
                        format!(
                            "The command read {stream} at version {read}, but the server has only {newest} (an earlier command of this device may have been refused)"
                        ),
                    ));
                }
                _ => (state, newest),
            }
        };
        if stream.kind == StreamKind::Order {
            // What `load_process` resumes a registration from.
            self.before.insert(key.clone(), Box::new(state.clone()));
        }
        self.states.insert(key, (version, Box::new(state.clone())));
        Ok((state, version))
    }
}

impl Journal for Replay<'_, '_> {
    fn now(&self) -> Timestamp {
        self.now
    }

    fn device_id(&self) -> DeviceId {
        self.device
    }

    fn load<A: Aggregate>(&mut self, stream: StreamId) -> Result<A, AppError> {
        Ok(self.state::<A>(stream)?.0)
    }

    fn execute<A: Aggregate>(
        &mut self,
        stream: StreamId,
        command: &A::Command,
    ) -> Result<Vec<Recorded>, AppError>
    where
        A::Event: IntoDomainEvent,
    {
        let (mut state, mut version) = self.state::<A>(stream)?;
        let events = state.handle(command).map_err(AppError::domain)?;
        let mut out = Vec::with_capacity(events.len());
        for event in events {
            state.apply(&event);
            version += 1;
            out.push(Recorded {
                position: 0,
                stream,
                version,
                command_id: self.command_id,
                device_id: self.device,
                recorded_at: self.now,
                event: event.into_domain(),
            });
        }
        if !out.is_empty() {
            self.states.insert(stream.key(), (version, Box::new(state)));
            self.recorded.extend(out.iter().cloned());
        }
        Ok(out)
    }

    fn recorded(&self) -> &[Recorded] {
        &self.recorded
    }

    // The server keeps no process state or schedule of its own: a registration the
    // pushing device started (it placed the order) is resumed from the order as the
    // command read it, which is the state that device kept; any other reads as the
    // device's does, the default (see `Uow`).
    fn load_process(&mut self, order_id: OrderId) -> Result<RegistrationProcess, AppError> {
        let stream = StreamId::order(order_id);
        // As the order was before this command: the device kept the state its last
        // command on the order left, and this command's own events come next.
        self.state::<Order>(stream)?;
        let before = self
            .before
            .get(&stream.key())
            .and_then(|state| state.downcast_ref::<Order>())
            .and_then(Order::data)
            .cloned();
        let Some(before) = before else {
            // Not placed before this command: its registration starts here.
            return Ok(RegistrationProcess::default());
        };
        let started_earlier = self
            .carry
            .as_deref()
            .is_some_and(|carry| carry.started.contains(&stream.key()));
        let placed_here = if started_earlier {
            self.used_earlier = true;
            true
        } else {
            let writer = self.unit.db.stream_first_writer(&stream.key());
            self.db(writer)? == Some(self.device.as_uuid())
        };
        Ok(if placed_here {
            RegistrationProcess::resume(order_id, &before)
        } else {
            RegistrationProcess::default()
        })
    }

    fn save_process(
        &mut self,
        _order_id: OrderId,
        _state: &RegistrationProcess,
    ) -> Result<(), AppError> {
        Ok(())
    }

    fn forget_process(&mut self, _order_id: OrderId) -> Result<(), AppError> {
        Ok(())
    }

    fn schedule(
        &mut self,
        _due: Timestamp,
        _kind: &str,
        _key: Uuid,
        _payload: &serde_json::Value,
    ) -> Result<(), AppError> {
        Ok(())
    }

    fn cancel_scheduled(&mut self, _key: Uuid) -> Result<(), AppError> {
        Ok(())
    }

    /// The device's expiries that were due: those of the orders its pushed command names
    /// (a `tick` names every order it expired), in the order it named them, where the
    /// order, as the device placed it, is still waiting and its time has run out.
    fn due_commands(
        &mut self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<ScheduledCommand>, AppError> {
        let mut due = Vec::new();
        for (i, order_id) in self.expirable.clone().into_iter().enumerate() {
            let id = i64::try_from(i).unwrap_or(i64::MAX);
            if due.len() == limit || self.done.contains(&id) {
                continue;
            }
            let process = self.load_process(order_id)?;
            let waiting = matches!(
                process.stage,
                Stage::AwaitingReservationConfirmation
                    | Stage::ReservationConfirmationReceived
                    | Stage::PaymentConfirmationReceived
            );
            let Some(expires_at) = process.reservation_expires_at.filter(|at| *at <= now) else {
                continue;
            };
            if !waiting {
                continue;
            }
            let payload = ExpiryPayload {
                order_id,
                sequence: process.expiry_sequence,
            };
            due.push(ScheduledCommand {
                id,
                due: expires_at,
                kind: EXPIRE_REGISTRATION.into(),
                payload: serde_json::to_value(payload)
                    .map_err(|e| AppError::Store(e.to_string()))?,
            });
        }
        Ok(due)
    }

    fn mark_done(&mut self, scheduled_id: i64) -> Result<(), AppError> {
        self.done.insert(scheduled_id);
        Ok(())
    }
}
