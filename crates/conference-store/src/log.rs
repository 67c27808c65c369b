//! The event log: appends with an expected version, loads through snapshots, and decodes
//! stored rows (upcasting old shapes on the way).
use crate::{Conflict, Result, StoreError, Tx, format_time, parse_time};
use conference_domain::aggregate::{
    Aggregate, DomainEvent, EventEnvelope, IntoDomainEvent, StoredEvent,
};
use conference_domain::stream::StreamId;
use conference_domain::{CommandId, DeviceId, neutralise};
use rusqlite::{OptionalExtension, params};

/// An event as stored, decoded into the domain's terms.
pub type Recorded = StoredEvent<DomainEvent>;

/// An aggregate's state and the stream version it reflects.
#[derive(Clone, Debug)]
pub struct Loaded<A> {
    pub state: A,
    pub version: u64,
}

pub(crate) const SELECT_EVENTS_FROM: &str = "SELECT position, stream_key, stream_version, event_type, schema_version, payload, command_id, device_id, recorded_at, server_position FROM events WHERE position > ?1 ORDER BY position";

/// A snapshot is written once a stream has grown this many events past its last one, so
/// loading folds at most this many events whatever the stream's length.
pub const SNAPSHOT_EVERY: u64 = 16;

pub(crate) fn read_event_row(row: &rusqlite::Row<'_>) -> Result<Recorded> {
    let position: i64 = row.get(0)?;
    let stream_key: Vec<u8> = row.get(1)?;
    let stream = StreamId::from_key(&stream_key).map_err(|e| StoreError::Corrupt {
        what: format!("event {position}"),
        reason: e.to_string(),
    })?;
    let event_type: String = row.get(3)?;
    let schema_version: u32 = row.get(4)?;
    let payload: String = row.get(5)?;
    let payload: serde_json::Value =
        serde_json::from_str(&payload).map_err(|e| StoreError::Corrupt {
            what: format!("event {position}"),
            reason: e.to_string(),
        })?;
    let event =
        DomainEvent::decode(stream.kind, &event_type, schema_version, payload).map_err(|e| {
            StoreError::Corrupt {
                what: format!("event {position}"),
                reason: e.to_string(),
            }
        })?;
    Ok(StoredEvent {
        position,
        stream,
        version: row.get(2)?,
        command_id: CommandId::from_uuid(row.get(6)?),
        device_id: DeviceId::from_uuid(row.get(7)?),
        recorded_at: parse_time(&row.get::<_, String>(8)?)?,
        event,
    })
}

fn decode_for<A: Aggregate>(
    stream: StreamId,
    event_type: &str,
    version: u32,
    payload: &str,
) -> Result<A::Event> {
    let bad = |reason: String| StoreError::Corrupt {
        what: format!("an event of {stream}"),
        reason,
    };
    let payload: serde_json::Value =
        serde_json::from_str(payload).map_err(|e| bad(e.to_string()))?;
    conference_domain::aggregate::decode_event::<A::Event>(event_type, version, payload)
        .map_err(|e| bad(e.to_string()))
}

/// Execution failed: the command broke a rule, or the store could not do its part.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError<E> {
    #[error(transparent)]
    Domain(E),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Tx<'_> {
    /// The current version of a stream (0 when it has no events), read from the log's
    /// (stream, version) index, so it can never disagree with the log.
    pub fn stream_version(&self, stream: StreamId) -> Result<u64> {
        let key = stream.key();
        if let Some(version) = self.versions.borrow().get(&key) {
            return Ok(*version);
        }
        let version: Option<u64> = self
            .tx
            .prepare_cached("SELECT MAX(stream_version) FROM events WHERE stream_key = ?1")?
            .query_row([&key], |r| r.get(0))?;
        let version = version.unwrap_or(0);
        self.reads
            .borrow_mut()
            .entry(key.clone())
            .or_insert(version);
        self.versions.borrow_mut().insert(key, version);
        Ok(version)
    }

    /// Loads an aggregate: its latest state in this unit of work, or its snapshot and the
    /// few events after it.
    pub fn load<A: Aggregate>(&self, stream: StreamId) -> Result<Loaded<A>> {
        Ok(self.load_with_base::<A>(stream)?.0)
    }

    /// Also returns the version of the stored snapshot the state was built from.
    fn load_with_base<A: Aggregate>(&self, stream: StreamId) -> Result<(Loaded<A>, u64)> {
        debug_assert_eq!(stream.kind, A::KIND);
        let key = stream.key();
        let version = self.stream_version(stream)?;
        if version == 0 {
            let state = A::default();
            return Ok((Loaded { state, version }, 0));
        }
        {
            let states = self.states.borrow();
            let cached = states
                .get(&key)
                .or_else(|| self.committed_states.states.get(&key));
            if let Some(cached) = cached
                && cached.version == version
                && cached.schema == A::SNAPSHOT_VERSION
                && let Some(state) = cached.state.downcast_ref::<A>()
            {
                return Ok((
                    Loaded {
                        state: state.clone(),
                        version,
                    },
                    cached.base,
                ));
            }
        }
        // A row of the wrong shape is as good as no snapshot: the log is the truth.
        let stored: Option<(u64, u32, String)> = self
            .tx
            .prepare_cached("SELECT version, schema, state FROM snapshots WHERE stream_key = ?1")?
            .query_row([&key], |r| {
                Ok((|| Some((r.get(0).ok()?, r.get(1).ok()?, r.get(2).ok()?)))())
            })
            .optional()?
            .flatten();
        let (mut state, base) = match stored {
            Some((at, schema, text)) if schema == A::SNAPSHOT_VERSION && at <= version => {
                match serde_json::from_str::<A>(&text) {
                    Ok(state) => (state, at),
                    Err(_) => (A::default(), 0),
                }
            }
            _ => (A::default(), 0),
        };
        if base < version {
            let mut stmt = self.tx.prepare_cached(
                "SELECT event_type, schema_version, payload FROM events WHERE stream_key = ?1 AND stream_version > ?2 ORDER BY stream_version",
            )?;
            let mut rows = stmt.query(params![key, base])?;
            let mut marked = false;
            while let Some(row) = rows.next()? {
                let event_type = row.get::<_, String>(0)?;
                if neutralise::is_marker(&event_type) {
                    marked = true;
                    break;
                }
                let event =
                    decode_for::<A>(stream, &event_type, row.get(1)?, &row.get::<_, String>(2)?)?;
                state.apply(&event);
            }
            drop(rows);
            if marked {
                // The server's admin took an event of this stream out: fold it again from
                // its start without it (and without the snapshot, which may hold it).
                state = self.fold_without_neutralised::<A>(stream)?;
            }
        }
        self.keep_state::<A>(key, version, base, state.clone());
        Ok((Loaded { state, version }, base))
    }

    /// A stream's state from its first event, leaving out what markers neutralised.
    fn fold_without_neutralised<A: Aggregate>(&self, stream: StreamId) -> Result<A> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT stream_version, event_type, schema_version, payload FROM events WHERE stream_key = ?1 ORDER BY stream_version",
        )?;
        let stored: Vec<(u64, String, u32, String)> = stmt
            .query_map([stream.key()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<std::result::Result<_, _>>()?;
        let rows: Vec<neutralise::Row<'_>> = stored
            .iter()
            .map(
                |(version, event_type, schema_version, payload)| neutralise::Row {
                    version: *version,
                    event_type,
                    schema_version: *schema_version,
                    payload,
                },
            )
            .collect();
        neutralise::fold::<A>(&rows).map_err(|e| StoreError::Corrupt {
            what: format!("an event of {stream}"),
            reason: e.to_string(),
        })
    }

    /// Remembers a stream's state at `version` for the rest of this unit (and, once it
    /// commits, for later ones).
    fn keep_state<A: Aggregate>(&self, key: Vec<u8>, version: u64, base: u64, state: A) {
        self.states.borrow_mut().insert(
            key,
            crate::CachedState {
                version,
                base,
                schema: A::SNAPSHOT_VERSION,
                state: std::sync::Arc::new(state),
                to_json: |state| {
                    state
                        .downcast_ref::<A>()
                        .and_then(|state| serde_json::to_string(state).ok())
                },
            },
        );
    }

    /// Loads, decides and appends: runs `command` against the aggregate in `stream`.
    /// Returns the recorded events (none if the command changed nothing).
    pub fn execute<A: Aggregate>(
        &mut self,
        stream: StreamId,
        command: &A::Command,
    ) -> Result<Vec<Recorded>, ExecuteError<A::Error>>
    where
        A::Event: IntoDomainEvent,
    {
        let (Loaded { mut state, version }, base) = self.load_with_base::<A>(stream)?;
        let events = state.handle(command).map_err(ExecuteError::Domain)?;
        if events.is_empty() {
            return Ok(vec![]);
        }
        for event in &events {
            state.apply(event);
        }
        let recorded = self.append::<A>(stream, version, events)?;
        let version = version + recorded.len() as u64;
        self.keep_state::<A>(stream.key(), version, base, state);
        Ok(recorded)
    }

    /// Appends events to a stream that must be at `expected_version`, updates the read
    /// models, and returns what was recorded.
    pub fn append<A: Aggregate>(
        &mut self,
        stream: StreamId,
        expected_version: u64,
        events: Vec<A::Event>,
    ) -> Result<Vec<Recorded>>
    where
        A::Event: IntoDomainEvent,
    {
        let actual = self.stream_version(stream)?;
        if actual != expected_version {
            return Err(Conflict {
                stream,
                expected: expected_version,
                actual,
            }
            .into());
        }
        // A failure after some rows went in poisons the unit of work: it can no longer be
        // committed, so a half-appended stream is never made durable.
        match self.insert_events::<A>(stream, expected_version, events) {
            Ok(out) => {
                self.versions
                    .get_mut()
                    .insert(stream.key(), expected_version + out.len() as u64);
                self.recorded.extend(out.iter().cloned());
                Ok(out)
            }
            Err(error) => {
                self.poisoned = true;
                self.versions.get_mut().remove(&stream.key());
                Err(error)
            }
        }
    }

    fn insert_events<A: Aggregate>(
        &mut self,
        stream: StreamId,
        expected_version: u64,
        events: Vec<A::Event>,
    ) -> Result<Vec<Recorded>>
    where
        A::Event: IntoDomainEvent,
    {
        let key = stream.key();
        let recorded_at = format_time(self.now);
        let mut out = Vec::with_capacity(events.len());
        let mut version = expected_version;
        for event in events {
            version += 1;
            let inserted = self
                .tx
                .prepare_cached(
                    "INSERT INTO events (stream_key, stream_version, event_type, schema_version, payload, command_id, device_id, recorded_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![
                    key,
                    version,
                    event.event_type(),
                    event.schema_version(),
                    event.to_payload().to_string(),
                    self.command_id.as_uuid(),
                    self.device_id.as_uuid(),
                    recorded_at
                ]);
            match inserted {
                Ok(_) => {}
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
                {
                    self.versions.get_mut().remove(&key);
                    return Err(Conflict {
                        stream,
                        expected: expected_version,
                        actual: self.stream_version(stream)?,
                    }
                    .into());
                }
                Err(e) => return Err(e.into()),
            }
            let recorded = StoredEvent {
                position: self.tx.last_insert_rowid(),
                stream,
                version,
                command_id: self.command_id,
                device_id: self.device_id,
                recorded_at: self.now,
                event: event.into_domain(),
            };
            self.projector.project(&self.tx, &recorded)?;
            out.push(recorded);
        }
        Ok(out)
    }

    /// Writes the snapshots due in this unit of work (called by commit).
    pub(crate) fn write_snapshots(&mut self) -> Result<()> {
        for (key, cached) in self.states.get_mut() {
            if cached.version - cached.base < SNAPSHOT_EVERY {
                continue;
            }
            let Some(state) = (cached.to_json)(cached.state.as_ref()) else {
                continue;
            };
            self.tx
                .prepare_cached(
                    "INSERT INTO snapshots (stream_key, version, schema, state) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (stream_key) DO UPDATE SET version = excluded.version, schema = excluded.schema, state = excluded.state",
                )?
                .execute(params![key, cached.version, cached.schema, state])?;
            cached.base = cached.version;
        }
        Ok(())
    }

    /// Every event of this store after `position`, in global order.
    pub fn events_after(&self, position: i64, limit: usize) -> Result<Vec<Recorded>> {
        read_events_after(&self.tx, position, limit)
    }
}

pub(crate) fn read_events_after(
    conn: &rusqlite::Connection,
    position: i64,
    limit: usize,
) -> Result<Vec<Recorded>> {
    let sql = format!("{SELECT_EVENTS_FROM} LIMIT ?2");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![position, limit as i64])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(read_event_row(row)?);
    }
    Ok(out)
}

impl crate::Store {
    /// Every event of this store after `position`, in global order.
    pub fn events_after(&self, position: i64, limit: usize) -> Result<Vec<Recorded>> {
        read_events_after(&self.conn, position, limit)
    }

    /// The current version of a stream (0 when it has no events).
    pub fn stream_version(&self, stream: StreamId) -> Result<u64> {
        let version: Option<u64> = self
            .conn
            .prepare_cached("SELECT MAX(stream_version) FROM events WHERE stream_key = ?1")?
            .query_row([stream.key()], |r| r.get(0))?;
        Ok(version.unwrap_or(0))
    }

    /// Whether a command id has run here before.
    pub fn command_seen(&self, command_id: conference_domain::CommandId) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM command_log WHERE command_id = ?1")?
            .query_row([command_id.as_uuid()], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// The number of events in the log.
    pub fn event_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?)
    }
}
