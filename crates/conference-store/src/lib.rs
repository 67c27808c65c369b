//! The local event-sourced store of one device, on SQLite.
//!
//! One [`Store`] owns one SQLite file. Everything a command changes (its events, the
//! aggregate snapshots, the read models, the process-manager state, scheduled commands, the
//! command log and the sync outbox) changes inside one [`Tx`], so a crash at any instant
//! leaves all of a command's effects or none. The file runs in WAL mode with
//! `synchronous=FULL`: a command acknowledged after commit survives power loss.
//!
//! This crate is synchronous and must stay off any async executor; it never decides a
//! domain rule (that is the domain crate's job) and never runs a use case (the app's job).
#![forbid(unsafe_code)]

mod journal;
mod log;
mod projections;
pub mod queries;
mod schedule;
mod schema;
pub mod sync;
mod v1;

use conference_domain::stream::StreamId;
use conference_domain::{CommandId, DeviceId, Timestamp, neutralise};
use conference_protocol::sync::StreamRead;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};

pub use conference_exec::ScheduledCommand;
pub use log::{ExecuteError, Loaded, Recorded, SNAPSHOT_EVERY};
pub use projections::ReadModel;
pub use v1::UpgradeProgress;

/// How hard a commit tries to reach the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: an acknowledged command survives power loss. Always use this for
    /// real data.
    #[default]
    Full,
    /// `synchronous=OFF`: for seeding throwaway benchmark stores only.
    Unsafe,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store file could not be used: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the store's schema could not be migrated: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error(transparent)]
    Conflict(#[from] Conflict),
    #[error("stored data could not be read ({what}): {reason}")]
    Corrupt { what: String, reason: String },
    #[error("this store has not been set up yet; run `conference init` first")]
    NotInitialized,
    #[error("this store is already set up (device {0})")]
    AlreadyInitialized(DeviceId),
    #[error("this unit of work failed part-way and cannot be committed; nothing was written")]
    Poisoned,
}

/// Someone else wrote to a stream between our read and our write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stream {stream} is at version {actual}, not {expected} as expected; reload and retry")]
pub struct Conflict {
    pub stream: StreamId,
    pub expected: u64,
    pub actual: u64,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Who this store belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    pub device_id: DeviceId,
    pub name: String,
    pub owns_pool: bool,
    pub created_at: Timestamp,
}

/// The fixed-width text form of a time in the store.
#[must_use]
pub fn format_time(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub(crate) fn parse_time(text: &str) -> Result<Timestamp> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| StoreError::Corrupt {
            what: format!("time `{text}`"),
            reason: e.to_string(),
        })
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
    durability: Durability,
    /// Read once: who this store belongs to never changes after `init`.
    device: Option<DeviceInfo>,
    /// Aggregate states as of their stream's latest version, kept between units of work so
    /// that a hot stream (a conference's seats) is not read back on every command.
    states: StateCache,
}

/// Aggregate states by stream key. Trusted only at the exact stream version it holds and
/// only while no other connection has written the file (`PRAGMA data_version`); this
/// store's own sync, which can replace tentative events, clears it.
#[derive(Default)]
pub(crate) struct StateCache {
    pub(crate) states: std::collections::HashMap<Vec<u8>, CachedState>,
    data_version: i64,
}

impl StateCache {
    /// At most this many streams are kept; past it the cache starts over.
    const CAPACITY: usize = 1024;

    pub(crate) fn clear(&mut self) {
        self.states.clear();
    }

    fn keep(&mut self, states: std::collections::HashMap<Vec<u8>, CachedState>) {
        if self.states.len() + states.len() > Self::CAPACITY {
            self.states.clear();
        }
        self.states.extend(states);
    }
}

impl Store {
    /// Opens (creating if needed) the store at `path` and migrates its schema.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, Durability::Full)
    }

    pub fn open_with(path: impl AsRef<Path>, durability: Durability) -> Result<Self> {
        Self::open_upgrading(path, durability, &mut |_| {})
    }

    /// Opens the store like [`Store::open_with`]; a store written by V1 is upgraded in
    /// place first, with `progress` told how far it is (see `v1.rs`).
    pub fn open_upgrading(
        path: impl AsRef<Path>,
        durability: Durability,
        progress: &mut dyn FnMut(UpgradeProgress),
    ) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Corrupt {
                what: format!("folder {}", parent.display()),
                reason: e.to_string(),
            })?;
        }
        create_private(&path).map_err(|e| StoreError::Corrupt {
            what: format!("store {}", path.display()),
            reason: e.to_string(),
        })?;
        let mut conn = Connection::open(&path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(
            None,
            "synchronous",
            match durability {
                Durability::Full => "FULL",
                Durability::Unsafe => "OFF",
            },
        )?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // A command reads and writes a few dozen pages of hot indexes: keep them in memory
        // (32 MiB) instead of re-reading them from the OS on every command.
        conn.pragma_update(None, "cache_size", -32_000)?;
        // Checkpoint less often: the same hot pages are written by many commands, and a
        // checkpoint copies each page once however often it changed. Durability is the
        // same: every commit still syncs the WAL.
        conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
        conn.set_prepared_statement_cache_capacity(128);
        if v1::is_v1(&conn)? {
            v1::upgrade(&mut conn, progress)?;
        }
        schema::migrate(&mut conn)?;
        let device = read_device(&conn)?;
        Ok(Self {
            conn,
            path,
            durability,
            device,
            states: StateCache::default(),
        })
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The device this store belongs to, once `init` has run.
    pub fn device(&self) -> Result<Option<DeviceInfo>> {
        match &self.device {
            Some(device) => Ok(Some(device.clone())),
            None => read_device(&self.conn),
        }
    }

    /// Sets the store up for a device. Fails if it already is.
    pub fn init_device(
        &mut self,
        device_id: DeviceId,
        name: &str,
        now: Timestamp,
    ) -> Result<DeviceInfo> {
        if let Some(existing) = self.device()? {
            return Err(StoreError::AlreadyInitialized(existing.device_id));
        }
        self.conn.execute(
            "INSERT INTO device (singleton, device_id, name, owns_pool, created_at) VALUES (1, ?1, ?2, 1, ?3)",
            params![device_id.as_uuid(), name, format_time(now)],
        )?;
        self.device = read_device(&self.conn)?;
        self.device()?.ok_or(StoreError::NotInitialized)
    }

    /// Gives this device a new name (its own label for people; not an event, never synced).
    /// The caller checks the name; fails if the store has no device yet.
    pub fn rename_device(&mut self, name: &str) -> Result<DeviceInfo> {
        let renamed = self
            .conn
            .execute("UPDATE device SET name = ?1 WHERE singleton = 1", [name])?;
        if renamed == 0 {
            return Err(StoreError::NotInitialized);
        }
        self.device = read_device(&self.conn)?;
        self.device()?.ok_or(StoreError::NotInitialized)
    }

    /// Starts a unit of work. Nothing it does is visible or durable until [`Tx::commit`].
    pub fn begin(&mut self, command_id: CommandId, now: Timestamp) -> Result<Tx<'_>> {
        if self.device.is_none() {
            self.device = read_device(&self.conn)?;
        }
        let device_id = self
            .device
            .as_ref()
            .ok_or(StoreError::NotInitialized)?
            .device_id;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let data_version: i64 = tx.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        if data_version != self.states.data_version {
            self.states.clear();
            self.states.data_version = data_version;
        }
        Ok(Tx {
            tx,
            command_id,
            device_id,
            now,
            recorded: Vec::new(),
            states: std::cell::RefCell::default(),
            versions: std::cell::RefCell::default(),
            reads: std::cell::RefCell::default(),
            committed_states: &mut self.states,
            poisoned: false,
            projector: projections::Projector::default(),
            scheduled: std::cell::RefCell::default(),
        })
    }

    /// Read-only access for queries.
    #[must_use]
    pub fn reader(&self) -> &Connection {
        &self.conn
    }

    /// Drops every read model and rebuilds it from the log, in one transaction.
    /// `progress` is called with (events done, events in all).
    pub fn rebuild_read_models(&mut self, progress: impl FnMut(u64, u64)) -> Result<u64> {
        self.rebuild(None, progress)
    }

    /// Rebuilds one read model from the log (its tables only), in one transaction.
    pub fn rebuild_read_model(
        &mut self,
        model: ReadModel,
        progress: impl FnMut(u64, u64),
    ) -> Result<u64> {
        self.rebuild(Some(model), progress)
    }

    fn rebuild(
        &mut self,
        only: Option<ReadModel>,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<u64> {
        let tx = self.conn.transaction()?;
        let total: u64 = tx.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
        let done = replay_read_models(&tx, only, |done| {
            if done % 10_000 == 0 {
                progress(done, total);
            }
        })?;
        tx.commit()?;
        progress(done, total);
        Ok(done)
    }
}

/// Clears the read models (all, or `only` one) and replays the whole log into them inside
/// the caller's transaction; `step` hears the count of events read after each one.
pub(crate) fn replay_read_models(
    tx: &Connection,
    only: Option<ReadModel>,
    mut step: impl FnMut(u64),
) -> Result<u64> {
    match only {
        None => projections::clear(tx)?,
        Some(model) => model.clear(tx)?,
    }
    let mut done = 0;
    let mut projector = projections::Projector::default();
    let left_out = neutralised(tx)?;
    let mut stmt = tx.prepare(log::SELECT_EVENTS_FROM)?;
    let mut rows = stmt.query([0])?;
    while let Some(row) = rows.next()? {
        // What the server's admin neutralised is not shown, nor the marker (looked at only
        // in a log that has markers: a rebuild reads every event).
        if !left_out.is_empty()
            && (row.get_ref(3)?.as_str() == Ok(neutralise::EVENT_TYPE)
                || left_out.contains(&(row.get::<_, Vec<u8>>(1)?, row.get::<_, u64>(2)?)))
        {
            done += 1;
            step(done);
            continue;
        }
        // What was never shown (an event pulled from the server that this build cannot
        // read, or with values out of range: see `sync::set_aside`) is not shown now.
        let recorded = match log::read_event_row(row) {
            Ok(recorded) if conference_domain::limits::check(&recorded.event).is_ok() => {
                Some(recorded)
            }
            Ok(_) | Err(StoreError::Corrupt { .. }) if is_pulled(row)? => None,
            Ok(recorded) => Some(recorded),
            Err(error) => return Err(error),
        };
        if let Some(recorded) = recorded
            && only.is_none_or(|model| model.takes(&recorded.event))
        {
            projector.project(tx, &recorded)?;
        }
        done += 1;
        if done % 10_000 == 0 {
            // Orders and seat counts wait in memory until a flush: keep that bounded.
            projector.flush(tx)?;
        }
        step(done);
    }
    projector.flush(tx)?;
    Ok(done)
}

/// Whether an event row came from the server (it has a server position), not from this
/// device's own commands.
/// Creates a new store file readable and writable by its owner only (it holds the device's
/// token and every registrant's name and email); SQLite gives its WAL the same mode. An
/// existing file is left as it is.
fn create_private(path: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The events (stream key, version) that markers in the log neutralised.
fn neutralised(tx: &Connection) -> Result<std::collections::HashSet<(Vec<u8>, u64)>> {
    let mut stmt = tx.prepare(
        "SELECT stream_key, stream_version, schema_version, payload FROM events WHERE event_type = ?1",
    )?;
    let markers: Vec<(Vec<u8>, u64, u32, String)> = stmt
        .query_map([neutralise::EVENT_TYPE], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<std::result::Result<_, _>>()?;
    Ok(markers
        .into_iter()
        .filter_map(|(key, at, schema, payload)| {
            let marker = neutralise::Neutralised::decode(at, schema, &payload).ok()?;
            Some((key, marker.version))
        })
        .collect())
}

fn is_pulled(row: &rusqlite::Row<'_>) -> Result<bool> {
    Ok(row.get::<_, Option<i64>>(9)?.is_some())
}

fn read_device(conn: &Connection) -> Result<Option<DeviceInfo>> {
    let row = conn
        .query_row(
            "SELECT device_id, name, owns_pool, created_at FROM device WHERE singleton = 1",
            [],
            |r| {
                Ok((
                    r.get::<_, uuid::Uuid>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, String>(3)?,
                ))
            },
        )
        .optional()?;
    row.map(|(id, name, owns_pool, created)| {
        Ok(DeviceInfo {
            device_id: DeviceId::from_uuid(id),
            name,
            owns_pool,
            created_at: parse_time(&created)?,
        })
    })
    .transpose()
}

/// One unit of work: a command and everything it causes.
pub struct Tx<'a> {
    tx: rusqlite::Transaction<'a>,
    command_id: CommandId,
    device_id: DeviceId,
    now: Timestamp,
    recorded: Vec<Recorded>,
    /// The latest state of each stream this unit loaded or executed on, by stream key.
    states: std::cell::RefCell<std::collections::HashMap<Vec<u8>, CachedState>>,
    /// Stream versions this unit has read or written. The unit holds the write lock, so
    /// they cannot change under it.
    versions: std::cell::RefCell<std::collections::HashMap<Vec<u8>, u64>>,
    /// Every stream this unit touched, at the version it had before the unit: what the
    /// sync server folds to when it replays the command.
    reads: std::cell::RefCell<std::collections::BTreeMap<Vec<u8>, u64>>,
    /// The store's states as of the last commit; this unit's join them when it commits.
    committed_states: &'a mut StateCache,
    /// Set when an append failed part-way; such a unit can only be rolled back.
    poisoned: bool,
    /// Read-model writes this unit holds until it commits.
    projector: projections::Projector,
    /// Commands scheduled in this unit, written when it commits (or before due commands
    /// are read): one a later step of the same unit cancels, as a door sale does with its
    /// reservation's expiry, is never written at all.
    scheduled: std::cell::RefCell<Vec<(Timestamp, String, uuid::Uuid, String)>>,
}

/// An aggregate's state as of `version`, built on the stored snapshot at `base`.
#[derive(Clone)]
pub(crate) struct CachedState {
    pub(crate) version: u64,
    pub(crate) base: u64,
    pub(crate) schema: u32,
    /// The aggregate itself (an `A`).
    pub(crate) state: std::sync::Arc<dyn std::any::Any + Send + Sync>,
    /// Its snapshot text, for the `snapshots` table.
    pub(crate) to_json: fn(&(dyn std::any::Any + Send + Sync)) -> Option<String>,
}

impl Tx<'_> {
    #[must_use]
    pub fn command_id(&self) -> CommandId {
        self.command_id
    }
    #[must_use]
    pub fn device_id(&self) -> DeviceId {
        self.device_id
    }
    #[must_use]
    pub fn now(&self) -> Timestamp {
        self.now
    }
    /// Events appended so far in this unit of work.
    #[must_use]
    pub fn recorded(&self) -> &[Recorded] {
        &self.recorded
    }
    /// Read access inside the transaction: sees this unit's own events; its order rows
    /// and pending reservations reach the read-model tables when it commits.
    #[must_use]
    pub fn reader(&self) -> &Connection {
        &self.tx
    }

    /// The first outcome of a command id, if it ran before.
    pub fn command_outcome(
        &self,
        command_id: CommandId,
    ) -> Result<Option<(bool, serde_json::Value)>> {
        let row: Option<(bool, String)> = self
            .tx
            .prepare_cached("SELECT succeeded, outcome FROM command_log WHERE command_id = ?1")?
            .query_row([command_id.as_uuid()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        row.map(|(ok, text)| {
            serde_json::from_str(&text)
                .map(|v| (ok, v))
                .map_err(|e| StoreError::Corrupt {
                    what: "command log outcome".into(),
                    reason: e.to_string(),
                })
        })
        .transpose()
    }

    /// Records the outcome of this unit's command, forever.
    pub fn record_outcome(
        &mut self,
        command_type: &str,
        succeeded: bool,
        outcome: &serde_json::Value,
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO command_log (command_id, command_type, succeeded, outcome, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                self.command_id.as_uuid(),
                command_type,
                succeeded,
                outcome.to_string(),
                format_time(self.now)
            ])?;
        Ok(())
    }

    /// Queues this unit's command for the sync server, after every earlier one, with the
    /// positions of the events it wrote.
    pub fn push_outbox(&mut self, command_type: &str, command: &serde_json::Value) -> Result<i64> {
        let first = self.recorded.first().map(|r| r.position);
        let last = self.recorded.last().map(|r| r.position);
        let reads = self
            .reads
            .borrow()
            .iter()
            .map(|(key, version)| {
                let stream = StreamId::from_key(key).map_err(|e| StoreError::Corrupt {
                    what: "a stream key".into(),
                    reason: e.to_string(),
                })?;
                Ok(StreamRead {
                    stream: stream.to_string(),
                    version: *version,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let reads = serde_json::to_string(&reads).map_err(|e| StoreError::Corrupt {
            what: "the streams a command read".into(),
            reason: e.to_string(),
        })?;
        self.tx
            .prepare_cached(
                "INSERT INTO outbox (command_id, command_type, command, created_at, first_position, last_position, reads)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                self.command_id.as_uuid(),
                command_type,
                command.to_string(),
                format_time(self.now),
                first,
                last,
                reads
            ])?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Loads a process manager's state (default when it never ran).
    pub fn load_process<S: serde::de::DeserializeOwned + Default>(
        &self,
        order_id: uuid::Uuid,
    ) -> Result<S> {
        let text: Option<String> = self
            .tx
            .prepare_cached("SELECT state FROM process_state WHERE order_id = ?1")?
            .query_row([order_id], |r| r.get(0))
            .optional()?;
        match text {
            None => Ok(S::default()),
            Some(text) => serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
                what: format!("process state of order {order_id}"),
                reason: e.to_string(),
            }),
        }
    }

    pub fn save_process<S: serde::Serialize>(
        &mut self,
        order_id: uuid::Uuid,
        state: &S,
    ) -> Result<()> {
        let text = serde_json::to_string(state).map_err(|e| StoreError::Corrupt {
            what: "process state".into(),
            reason: e.to_string(),
        })?;
        self.tx
            .prepare_cached(
                "INSERT INTO process_state (order_id, state) VALUES (?1, ?2)
                 ON CONFLICT (order_id) DO UPDATE SET state = excluded.state",
            )?
            .execute(params![order_id, text])?;
        Ok(())
    }

    /// Drops a process manager's state (it can be rebuilt from its order).
    pub fn forget_process(&mut self, order_id: uuid::Uuid) -> Result<()> {
        self.tx
            .prepare_cached("DELETE FROM process_state WHERE order_id = ?1")?
            .execute([order_id])?;
        Ok(())
    }

    /// Makes everything in this unit durable at once.
    pub fn commit(mut self) -> Result<Vec<Recorded>> {
        if self.poisoned {
            return Err(StoreError::Poisoned);
        }
        self.flush_scheduled()?;
        self.projector.flush(&self.tx)?;
        self.write_snapshots()?;
        self.tx.commit()?;
        self.committed_states.keep(self.states.into_inner());
        Ok(self.recorded)
    }
}
