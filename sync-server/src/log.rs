//! The server's event log, as the writer uses it: stream versions, appends (with the
//! bookkeeping of conferences and stream ownership), and aggregates loaded by folding a
//! stream so the server can run domain commands itself (rebase, pool policy, allotments).
//!
//! Everything here runs on the writer's connection inside its transaction; nothing here is
//! async, and nothing here commits.
use crate::error::{ApiError, DbError};
use crate::metrics::Stats;
use crate::store::{Db, EventInsert, ReconciliationInsert};
use conference_domain::aggregate::{Aggregate, DomainEvent, EventEnvelope, IntoDomainEvent};
use conference_domain::stream::{StreamId, StreamKind};
use conference_domain::{OrderId, conference, neutralise, order, payment};
use conference_protocol::ErrorBody;
use std::any::Any;
use std::collections::HashMap;
use uuid::Uuid;

/// Why a command, or a whole request, was not taken.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The command is refused: its result is `rejected` with this reason, its events are
    /// not stored, and the back office hears of it.
    Reject(Rejection),
    /// The whole request is refused and nothing of it is stored.
    Request(ApiError),
    /// An event took a stream version that was already stored: the command was judged
    /// on a stream it assumed new (see `push`), so the request is taken again with every
    /// stream looked up.
    VersionTaken,
}

#[derive(Clone, Debug)]
pub(crate) struct Rejection {
    pub reason: ErrorBody,
    /// More for the back office (the conflicting streams, say). Boxed: refusals travel in
    /// `Result`s, and most have none.
    pub detail: Option<Box<serde_json::Value>>,
}

impl Rejection {
    pub(crate) fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            reason: ErrorBody {
                code: code.into(),
                message: message.into(),
                field: None,
            },
            detail: None,
        }
    }
}

impl Refusal {
    pub(crate) fn reject(code: &str, message: impl Into<String>) -> Self {
        Self::Reject(Rejection::new(code, message))
    }
}

impl From<DbError> for Refusal {
    fn from(e: DbError) -> Self {
        Self::Request(e.into())
    }
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Self::Request(e)
    }
}

/// Aggregate states the writer built, by stream key, with the version they reflect. Valid
/// only while the log holds what this writer wrote: cleared whenever a savepoint or a
/// transaction rolls back.
///
/// Bounded: past its limit the states used longest ago are dropped (a quarter at a time),
/// so a server confirming orders for days keeps the streams it is busy with, not every
/// order it ever saw. A dropped state is folded again from the log when next needed.
pub(crate) struct StateCache {
    states: HashMap<Vec<u8>, Kept>,
    /// Counts uses, to tell which states were used longest ago.
    tick: u64,
    limit: usize,
}

struct Kept {
    version: u64,
    state: Box<dyn Any + Send>,
    used: u64,
}

/// States the writer keeps at most.
pub(crate) const WRITER_STATES: usize = 4_096;

impl Default for StateCache {
    fn default() -> Self {
        Self::with_limit(WRITER_STATES)
    }
}

impl StateCache {
    pub(crate) fn with_limit(limit: usize) -> Self {
        Self {
            states: HashMap::new(),
            tick: 0,
            limit: limit.max(4),
        }
    }

    pub(crate) fn clear(&mut self) {
        self.states.clear();
    }

    /// How many states it holds.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.states.len()
    }

    /// Takes the state of `key` out (to bring it up to date and put it back).
    fn take(&mut self, key: &[u8]) -> Option<(u64, Box<dyn Any + Send>)> {
        self.states.remove(key).map(|k| (k.version, k.state))
    }

    /// The state of `key`, without taking it.
    fn peek(&self, key: &[u8]) -> Option<(u64, &(dyn Any + Send))> {
        self.states.get(key).map(|k| (k.version, &*k.state))
    }

    fn forget(&mut self, key: &[u8]) {
        self.states.remove(key);
    }

    /// Keeps `state` at `version` for `key`, dropping the states used longest ago when
    /// past the limit.
    pub(crate) fn put(&mut self, key: Vec<u8>, version: u64, state: Box<dyn Any + Send>) {
        self.tick += 1;
        self.states.insert(
            key,
            Kept {
                version,
                state,
                used: self.tick,
            },
        );
        if self.states.len() > self.limit {
            let drop = self.states.len() - self.limit * 3 / 4;
            let mut uses: Vec<u64> = self.states.values().map(|k| k.used).collect();
            let (_, oldest, _) = uses.select_nth_unstable(drop - 1);
            let oldest = *oldest;
            self.states.retain(|_, k| k.used > oldest);
        }
    }
}

/// An event the server stored, decoded.
#[derive(Clone, Debug)]
pub(crate) struct Stored {
    pub position: i64,
    pub stream: StreamId,
    pub event: DomainEvent,
}

/// An event a pushed command stored, as the follow-ups read it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Appended<'e> {
    pub stream: StreamId,
    pub event: &'e DomainEvent,
    /// The conference it was stored under, when it has one.
    pub conference_id: Option<Uuid>,
}

/// Who a command's events are recorded for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Author {
    pub command_id: Uuid,
    pub device_id: Uuid,
}

/// An event about to be appended.
#[derive(Clone, Copy)]
pub(crate) struct NewEvent<'a> {
    pub stream: StreamId,
    pub version: u64,
    pub conference_id: Option<Uuid>,
    pub event_type: &'a str,
    pub schema_version: u32,
    /// The JSON text to store.
    pub payload: &'a str,
    pub author: Author,
    pub recorded_at: &'a str,
    pub event: &'a DomainEvent,
}

/// One job's view of the writer: the connection inside the group transaction, the state
/// cache, the server's identity and clock, and what the job did (for metrics).
pub(crate) struct Unit<'c> {
    pub db: &'c mut dyn Db,
    pub cache: &'c mut StateCache,
    pub server_device: Uuid,
    pub now: String,
    pub stats: Stats,
}

/// The conference a stored stream belongs to, when the server knows it.
pub(crate) fn stream_conference(
    db: &mut dyn Db,
    stream: &StreamId,
) -> Result<Option<Uuid>, DbError> {
    Ok(match stream.kind {
        StreamKind::Conference | StreamKind::Seats | StreamKind::Promos => Some(stream.id),
        StreamKind::Order | StreamKind::Payment => db.stream_conference(&stream.key())?,
        StreamKind::Assignments => match db.stream_conference(&stream.key())? {
            Some(id) => Some(id),
            None => db.stream_conference(&StreamId::order(OrderId::from_uuid(stream.id)).key())?,
        },
    })
}

// The conference a stream's events are stored under: every event of an order, payment or
// assignments stream carries it (the fast path refuses one whose conference is unknown).
// (Older builds also kept it in `stream_conferences`, dropped by migration 0002.)

/// The conference of an event about to be stored: its stream's, or the one it names
/// itself (an order's first event, a payment's first event). `pending` holds what earlier
/// events of the same command taught.
pub(crate) fn event_conference(
    db: &mut dyn Db,
    stream: &StreamId,
    event: &DomainEvent,
    pending: &HashMap<Vec<u8>, Uuid>,
) -> Result<Option<Uuid>, DbError> {
    match event {
        DomainEvent::Order(order::Event::OrderPlaced(placed)) => {
            return Ok(Some(placed.conference_id.as_uuid()));
        }
        DomainEvent::Payment(payment::Event::PaymentInitiated(initiated)) => {
            return Ok(Some(initiated.conference_id.as_uuid()));
        }
        _ => {}
    }
    if let Some(id) = pending.get(&stream.key()) {
        return Ok(Some(*id));
    }
    if stream.kind == StreamKind::Assignments
        && let Some(id) = pending.get(&StreamId::order(OrderId::from_uuid(stream.id)).key())
    {
        return Ok(Some(*id));
    }
    stream_conference(db, stream)
}

/// Folds the events of `stream` after version `from` up to version `to` into `state`. A
/// neutralisation marker among them (see `conference_domain::neutralise`) means an event
/// before it is left out from then on: the state is folded again from the stream's start.
fn fold<A: Aggregate>(
    db: &mut dyn Db,
    stream: StreamId,
    state: &mut A,
    from: u64,
    to: u64,
) -> Result<(), DbError> {
    let corrupt = |e| DbError::corrupt(format!("an event of {stream}"), e);
    let mut at = from;
    let mut marked = false;
    db.stream_events_after(
        &stream.key(),
        from,
        &mut |event_type, schema_version, payload| {
            at += 1;
            if at > to || marked {
                return Ok(());
            }
            if neutralise::is_marker(event_type) {
                marked = true;
                return Ok(());
            }
            let event = conference_domain::aggregate::decode_event_text::<A::Event>(
                event_type,
                schema_version,
                payload,
            )
            .map_err(corrupt)?;
            state.apply(&event);
            Ok(())
        },
    )?;
    if marked {
        let mut stored: Vec<(String, u32, String)> = Vec::new();
        db.stream_events_after(
            &stream.key(),
            0,
            &mut |event_type, schema_version, payload| {
                if (stored.len() as u64) < to {
                    stored.push((event_type.into(), schema_version, payload.into()));
                }
                Ok(())
            },
        )?;
        let rows: Vec<neutralise::Row<'_>> = stored
            .iter()
            .zip(1..)
            .map(
                |((event_type, schema_version, payload), version)| neutralise::Row {
                    version,
                    event_type,
                    schema_version: *schema_version,
                    payload,
                },
            )
            .collect();
        *state = neutralise::fold(&rows).map_err(corrupt)?;
    }
    Ok(())
}

impl Unit<'_> {
    /// Appends one event and keeps the conference bookkeeping. A conference taking a slug
    /// another conference has is refused here, whichever path the event came by.
    pub(crate) fn insert(&mut self, new: NewEvent<'_>) -> Result<i64, Refusal> {
        let positions = self.insert_all(&[new])?;
        positions.first().copied().ok_or_else(|| {
            Refusal::Request(crate::error::ApiError::Internal(
                "an append stored nothing".into(),
            ))
        })
    }

    /// Appends a command's events in one go (one round trip on PostgreSQL), after the
    /// conference bookkeeping of each; their positions, in order.
    pub(crate) fn insert_all(&mut self, news: &[NewEvent<'_>]) -> Result<Vec<i64>, Refusal> {
        for new in news {
            let slug = match new.event {
                DomainEvent::Conference(conference::Event::ConferenceCreated(c)) => {
                    Some(c.details.slug.as_str())
                }
                DomainEvent::Conference(conference::Event::ConferenceUpdated(u)) => {
                    Some(u.details.slug.as_str())
                }
                _ => None,
            };
            if let Some(slug) = slug {
                match self.db.conference_by_slug(slug)? {
                    Some(other) if other != new.stream.id => {
                        return Err(Refusal::reject(
                            "slug_taken",
                            format!(
                                "Another conference already has the slug `{slug}`; choose another one"
                            ),
                        ));
                    }
                    _ => {}
                }
                self.db.set_conference_slug(new.stream.id, slug)?;
            }
        }
        let keys: Vec<Vec<u8>> = news.iter().map(|new| new.stream.key()).collect();
        let rows: Vec<EventInsert<'_>> = news
            .iter()
            .zip(&keys)
            .map(|(new, key)| EventInsert {
                stream_key: key,
                stream_version: new.version,
                conference_id: new.conference_id,
                event_type: new.event_type,
                schema_version: new.schema_version,
                payload: new.payload,
                command_id: new.author.command_id,
                device_id: new.author.device_id,
                recorded_at: new.recorded_at,
            })
            .collect();
        let positions = self.db.insert_events(&rows).map_err(|e| {
            if e.is_stream_version_taken() {
                Refusal::VersionTaken
            } else {
                e.into()
            }
        })?;
        // The streams changed under any state built before: forget them unless the caller
        // (execute) puts the new one back.
        for key in &keys {
            self.cache.forget(key);
        }
        self.stats.events_stored += news.len() as u64;
        Ok(positions)
    }

    /// An aggregate's current state and version, from the cache and the events after it.
    pub(crate) fn load<A: Aggregate + Send + 'static>(
        &mut self,
        stream: StreamId,
    ) -> Result<(A, u64), DbError> {
        self.with_state(stream, A::clone)
    }

    /// Looks at an aggregate's current state without copying it out of the cache: `look`
    /// gets the state (brought up to date first), and its answer comes back with the version.
    pub(crate) fn with_state<A: Aggregate + Send + 'static, R>(
        &mut self,
        stream: StreamId,
        look: impl FnOnce(&A) -> R,
    ) -> Result<(R, u64), DbError> {
        let key = stream.key();
        let version = self.db.stream_version(&key)?;
        let (mut state, from): (Box<A>, u64) = match self.cache.take(&key) {
            Some((at, state)) if at <= version => match state.downcast::<A>() {
                Ok(state) => (state, at),
                Err(_) => (Box::default(), 0),
            },
            _ => (Box::default(), 0),
        };
        if from < version {
            fold(&mut *self.db, stream, &mut *state, from, u64::MAX)?;
        }
        let answer = look(&state);
        self.cache.put(key, version, state);
        Ok((answer, version))
    }

    /// An aggregate's state as of `version` (an older one than its newest: what a device
    /// read before other devices wrote on), folded from the log's start.
    pub(crate) fn load_at<A: Aggregate + Send + 'static>(
        &mut self,
        stream: StreamId,
        version: u64,
    ) -> Result<A, DbError> {
        let mut state = A::default();
        fold(&mut *self.db, stream, &mut state, 0, version)?;
        Ok(state)
    }

    /// The cached state of `stream` if it is exactly at `version`, without asking the
    /// database (a replay reading history the cache already holds).
    pub(crate) fn cached_at<A: Aggregate + Send + 'static>(
        &self,
        stream: StreamId,
        version: u64,
    ) -> Option<A> {
        let (at, state) = self.cache.peek(&stream.key())?;
        (at == version).then(|| state.downcast_ref::<A>().cloned())?
    }

    /// Keeps a state built elsewhere (a replay) for the next command on its stream.
    pub(crate) fn keep_state(&mut self, key: Vec<u8>, version: u64, state: Box<dyn Any + Send>) {
        self.cache.put(key, version, state);
    }

    /// Loads, decides and appends, as the device store does: runs `command` against the
    /// aggregate in `stream`. The inner error is the domain's refusal.
    pub(crate) fn execute<A>(
        &mut self,
        stream: StreamId,
        command: &A::Command,
        author: Author,
    ) -> Result<Result<Vec<Stored>, A::Error>, Refusal>
    where
        A: Aggregate + Send + 'static,
        A::Event: IntoDomainEvent,
    {
        let (mut state, version) = self.load::<A>(stream)?;
        let events = match state.handle(command) {
            Ok(events) => events,
            Err(error) => return Ok(Err(error)),
        };
        let now = self.now.clone();
        let mut stored = Vec::with_capacity(events.len());
        let mut at = version;
        let mut pending = HashMap::new();
        for event in events {
            state.apply(&event);
            at += 1;
            let event_type = event.event_type();
            let schema_version = event.schema_version();
            let payload = event.to_payload().to_string();
            let domain = event.into_domain();
            let conference_id = event_conference(&mut *self.db, &stream, &domain, &pending)?;
            if let Some(id) = conference_id {
                pending.insert(stream.key(), id);
            }
            let position = self.insert(NewEvent {
                stream,
                version: at,
                conference_id,
                event_type,
                schema_version,
                payload: &payload,
                author,
                recorded_at: &now,
                event: &domain,
            })?;
            stored.push(Stored {
                position,
                stream,
                event: domain,
            });
        }
        self.cache.put(stream.key(), at, Box::new(state));
        Ok(Ok(stored))
    }

    /// Adds an item to the back office's reconciliation queue.
    pub(crate) fn reconcile(
        &mut self,
        kind: &str,
        conference_id: Option<Uuid>,
        device_id: Uuid,
        command_id: Option<Uuid>,
        detail: &serde_json::Value,
    ) -> Result<(), DbError> {
        self.db.insert_reconciliation(&ReconciliationInsert {
            kind,
            conference_id,
            device_id,
            command_id,
            detail: &detail.to_string(),
            created_at: &self.now,
        })?;
        self.stats.reconciliation_items += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::StateCache;

    /// Past its limit the cache keeps the states used most recently, and never more than
    /// its limit.
    #[test]
    fn the_state_cache_keeps_what_it_used_last_within_its_limit() {
        let mut cache = StateCache::with_limit(100);
        cache.put(b"busy".to_vec(), 1, Box::new(0_u32));
        for i in 0..5_000_u32 {
            cache.put(i.to_be_bytes().to_vec(), 1, Box::new(i));
            if i % 10 == 0 {
                // The busy stream is used all along, as a conference's pool is.
                let (version, state) = cache.take(b"busy").expect("the busy state is kept");
                cache.put(b"busy".to_vec(), version, state);
            }
            assert!(cache.len() <= 100, "{} states", cache.len());
        }
        assert!(
            cache.peek(&4_999_u32.to_be_bytes()).is_some(),
            "the newest is kept"
        );
        assert!(
            cache.peek(&0_u32.to_be_bytes()).is_none(),
            "the oldest went"
        );
    }
}
