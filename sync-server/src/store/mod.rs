//! Where the server keeps its log: the storage trait [`Db`] and its two implementations,
//! SQLite (the default, one file, [`sqlite`]) and PostgreSQL (several server instances
//! behind one database, [`postgres`]).
//!
//! Everything above this module (push, pull, allotments, the reconciliation queue, admin)
//! speaks [`Db`] only, so both backends run the same code and the same behaviour tests.
//! What differs is below it: the SQL dialect, how a write transaction keeps the global
//! order (SQLite: the one writer connection; PostgreSQL: an advisory lock every writer
//! takes before it reads the head, held until it commits), and how the head's moves reach
//! the live feed (PostgreSQL: `NOTIFY` from every instance's writer).
//!
//! Synchronous code only: nothing here may run on the async executor.
pub(crate) mod postgres;
pub(crate) mod sqlite;

use crate::error::{ApiError, DbError};
use conference_protocol::sync::ReconciliationItem;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;
use uuid::Uuid;

/// The server's database: a SQLite file, or a PostgreSQL connection string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    /// `postgres://user:password@host:port/database` (or `postgresql://…`, or the
    /// `host=… user=…` form prefixed with `postgres:`).
    Postgres(String),
}

impl Database {
    /// A `postgres://` or `postgresql://` URL is PostgreSQL; anything else is a file path.
    #[must_use]
    pub fn parse(text: &str) -> Self {
        let trimmed = text.trim();
        if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
            Self::Postgres(trimmed.to_string())
        } else {
            Self::Sqlite(PathBuf::from(text))
        }
    }

    /// The SQLite file, when it is one.
    #[must_use]
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Self::Sqlite(path) => Some(path),
            Self::Postgres(_) => None,
        }
    }
}

impl From<PathBuf> for Database {
    fn from(path: PathBuf) -> Self {
        Self::Sqlite(path)
    }
}

impl From<&Path> for Database {
    fn from(path: &Path) -> Self {
        Self::Sqlite(path.to_path_buf())
    }
}

impl From<&PathBuf> for Database {
    fn from(path: &PathBuf) -> Self {
        Self::Sqlite(path.clone())
    }
}

impl std::str::FromStr for Database {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Self::parse(text))
    }
}

impl fmt::Display for Database {
    /// The file, or the URL without its password (safe to log).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "{}", path.display()),
            Self::Postgres(url) => f.write_str(&postgres::redact(url)),
        }
    }
}

/// A stored event as a pull page reads it.
#[derive(Debug)]
pub(crate) struct EventRow {
    pub position: i64,
    pub stream_key: Vec<u8>,
    pub stream_version: u64,
    pub event_type: String,
    pub schema_version: u32,
    /// The JSON text as stored.
    pub payload: String,
    pub command_id: Uuid,
    pub device_id: Uuid,
    pub recorded_at: String,
    /// The conference it was stored under (what pulls are scoped by).
    pub conference_id: Option<Uuid>,
}

/// An event about to be appended, as stored.
#[derive(Debug)]
pub(crate) struct EventInsert<'a> {
    pub stream_key: &'a [u8],
    pub stream_version: u64,
    pub conference_id: Option<Uuid>,
    pub event_type: &'a str,
    pub schema_version: u32,
    pub payload: &'a str,
    pub command_id: Uuid,
    pub device_id: Uuid,
    pub recorded_at: &'a str,
}

/// A registered device as stored.
#[derive(Clone, Debug)]
pub(crate) struct DeviceRow {
    pub device_id: Uuid,
    pub name: String,
    pub role: String,
    /// JSON list of slugs.
    pub conferences: String,
    pub revoked: bool,
    pub next_seq: u64,
}

/// A device about to be registered.
#[derive(Debug)]
pub(crate) struct DeviceInsert<'a> {
    pub device_id: Uuid,
    pub name: &'a str,
    pub role: &'a str,
    pub token_hash: &'a [u8],
    pub conferences: &'a str,
    pub created_at: &'a str,
}

/// What the server remembers of a command id.
#[derive(Debug)]
pub(crate) struct CommandRow {
    pub status: String,
    /// JSON `PushResult` (or `AllotmentResponse` for a grant).
    pub result: String,
    pub device_id: Uuid,
}

/// A command's first result, about to be remembered.
#[derive(Debug)]
pub(crate) struct CommandInsert<'a> {
    pub command_id: Uuid,
    pub device_id: Uuid,
    /// `None` for an allotment request.
    pub device_seq: Option<u64>,
    pub status: &'a str,
    pub result: &'a str,
    pub recorded_position: i64,
    pub recorded_at: &'a str,
}

/// An item for the back office, about to be queued.
#[derive(Debug)]
pub(crate) struct ReconciliationInsert<'a> {
    pub kind: &'a str,
    pub conference_id: Option<Uuid>,
    pub device_id: Uuid,
    pub command_id: Option<Uuid>,
    /// JSON.
    pub detail: &'a str,
    pub created_at: &'a str,
}

/// Every query and change the server makes, on one connection (or one transaction).
///
/// Writes are only ever called inside the writer's transaction (or by an admin command);
/// readers call the reading half. Every method is one round trip at most, except where
/// the doc says otherwise.
pub(crate) trait Db {
    // ------------------------------------------------------------ the log

    /// The newest position (0 when the log is empty).
    fn head(&mut self) -> Result<i64, DbError>;
    /// A stream's current version (0 when it has no events).
    fn stream_version(&mut self, stream_key: &[u8]) -> Result<u64, DbError>;
    /// The current versions of several streams, in the order given.
    fn stream_versions(&mut self, stream_keys: &[&[u8]]) -> Result<Vec<u64>, DbError> {
        stream_keys
            .iter()
            .map(|key| self.stream_version(key))
            .collect()
    }
    /// The conference the stream's first event was stored under.
    fn stream_conference(&mut self, stream_key: &[u8]) -> Result<Option<Uuid>, DbError>;
    /// The device that wrote the stream's first event.
    fn stream_first_writer(&mut self, stream_key: &[u8]) -> Result<Option<Uuid>, DbError>;
    /// Whether a device other than `device` (the server included) wrote any of the
    /// stream's events.
    fn stream_written_by_another(
        &mut self,
        stream_key: &[u8],
        device: Uuid,
    ) -> Result<bool, DbError>;
    /// Calls `each(event_type, schema_version, payload)` for the stream's events after
    /// version `after`, in stream order.
    fn stream_events_after(
        &mut self,
        stream_key: &[u8],
        after: u64,
        each: &mut dyn FnMut(&str, u32, &str) -> Result<(), DbError>,
    ) -> Result<(), DbError>;
    /// Appends one event at the next position, which it returns.
    fn insert_event(&mut self, event: &EventInsert<'_>) -> Result<i64, DbError>;
    /// Appends events at the next positions, in order; their positions.
    fn insert_events(&mut self, events: &[EventInsert<'_>]) -> Result<Vec<i64>, DbError> {
        events
            .iter()
            .map(|event| self.insert_event(event))
            .collect()
    }
    /// Up to `limit` events after `after` in global order, of the given conferences only
    /// when `conferences` is set.
    fn events_page(
        &mut self,
        after: i64,
        limit: u32,
        conferences: Option<&[Uuid]>,
    ) -> Result<Vec<EventRow>, DbError>;

    // ------------------------------------------------------------ conferences

    fn conference_by_slug(&mut self, slug: &str) -> Result<Option<Uuid>, DbError>;
    fn conference_known(&mut self, id: Uuid) -> Result<bool, DbError>;
    /// Records (or changes) a conference's slug.
    fn set_conference_slug(&mut self, id: Uuid, slug: &str) -> Result<(), DbError>;

    // ------------------------------------------------------------ devices

    fn device_by_token(&mut self, token_hash: &[u8]) -> Result<Option<DeviceRow>, DbError>;
    /// Every device, oldest first.
    fn devices(&mut self) -> Result<Vec<DeviceRow>, DbError>;
    fn device_exists(&mut self, id: Uuid) -> Result<bool, DbError>;
    fn insert_device(&mut self, device: &DeviceInsert<'_>) -> Result<(), DbError>;
    /// Revokes a device (keeping the first revocation time); false when there is none.
    fn revoke_device(&mut self, id: Uuid, now: &str) -> Result<bool, DbError>;
    /// The device sequence number the server expects next from the device.
    fn device_next_seq(&mut self, id: Uuid) -> Result<u64, DbError>;
    fn set_device_next_seq(&mut self, id: Uuid, next_seq: u64) -> Result<(), DbError>;

    // ------------------------------------------------------------ commands

    fn command(&mut self, command_id: Uuid) -> Result<Option<CommandRow>, DbError>;
    fn insert_command(&mut self, command: &CommandInsert<'_>) -> Result<(), DbError>;
    /// `(command_id, result)` of the device's rebased and rejected commands recorded after
    /// `after`, in order, at most `limit`.
    fn outcomes(
        &mut self,
        device_id: Uuid,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(Uuid, String)>, DbError>;

    // ------------------------------------------------------------ reconciliation

    fn insert_reconciliation(&mut self, item: &ReconciliationInsert<'_>) -> Result<(), DbError>;
    /// Open items (and resolved ones with `include_resolved`), oldest first.
    /// Up to `limit` items with an id after `after`, oldest first.
    fn reconciliation_items(
        &mut self,
        include_resolved: bool,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ReconciliationItem>, DbError>;
    fn reconciliation_item(&mut self, id: i64) -> Result<Option<ReconciliationItem>, DbError>;
    /// Marks an item resolved (keeping the first time).
    fn resolve_reconciliation(&mut self, id: i64, now: &str) -> Result<(), DbError>;

    // ------------------------------------------------------------ transactions

    /// Starts a savepoint inside the current transaction.
    fn savepoint(&mut self, name: &str) -> Result<(), DbError>;
    /// Keeps what was done since the savepoint.
    fn release(&mut self, name: &str) -> Result<(), DbError>;
    /// Undoes what was done since the savepoint and ends it.
    fn rollback_to(&mut self, name: &str) -> Result<(), DbError>;
    /// How many rows this connection changed so far (tells whether a step wrote).
    fn changes(&self) -> u64;
    /// Starts a read-only transaction that sees one snapshot (a pull page, its head and
    /// its outcomes agree).
    fn begin_snapshot(&mut self) -> Result<(), DbError>;
    fn end_snapshot(&mut self) -> Result<(), DbError>;
}

/// A reconciliation item from its stored columns.
#[allow(clippy::too_many_arguments)]
pub(crate) fn reconciliation_item(
    id: i64,
    kind: String,
    conference_id: Option<Uuid>,
    device_id: Uuid,
    command_id: Option<Uuid>,
    detail: &str,
    created_at: String,
    resolved: bool,
) -> Result<ReconciliationItem, DbError> {
    Ok(ReconciliationItem {
        id,
        kind,
        conference_id,
        device_id,
        command_id,
        detail: serde_json::from_str(detail)
            .map_err(|e| DbError::corrupt(format!("reconciliation item {id}"), e))?,
        created_at,
        resolved,
    })
}

/// Runs `f` on one snapshot of the database.
pub(crate) fn in_snapshot<T>(
    db: &mut dyn Db,
    f: impl FnOnce(&mut dyn Db) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    db.begin_snapshot()?;
    let out = f(db);
    // A read-only transaction: ending it the same way after a failure loses nothing.
    let ended = db.end_snapshot();
    let out = out?;
    ended?;
    Ok(out)
}

/// A connection that runs work on a [`Db`]: a reader from the pool, or an admin command's.
pub(crate) trait Conn: Send {
    fn run(&mut self, f: &mut dyn FnMut(&mut dyn Db));
    /// False once the connection broke (it is not put back in the pool).
    fn is_usable(&self) -> bool {
        true
    }
}

/// Runs `f` on `conn` and hands back its answer.
pub(crate) fn with<T>(conn: &mut dyn Conn, f: impl FnOnce(&mut dyn Db) -> T) -> T {
    let mut f = Some(f);
    let mut out = None;
    conn.run(&mut |db| {
        if let Some(f) = f.take() {
            out = Some(f(db));
        }
    });
    out.unwrap_or_else(|| unreachable!("Conn::run calls its function exactly once"))
}

/// The writer's connection: one transaction per batch of jobs.
pub(crate) trait WriterConn: Send {
    /// Runs `f` in one write transaction and commits it when `f` succeeds (rolls it back
    /// otherwise). Positions taken inside are gap-free and commit in order.
    fn transaction(
        &mut self,
        f: &mut dyn FnMut(&mut dyn Db) -> Result<(), ApiError>,
    ) -> Result<(), ApiError>;
    /// The newest committed position.
    fn head(&mut self) -> Result<i64, DbError>;
}

/// Opens reading connections on demand.
pub(crate) type OpenReader = Box<dyn Fn() -> Result<Box<dyn Conn>, DbError> + Send + Sync>;

/// A database opened for serving.
pub(crate) struct Opened {
    pub writer: Box<dyn WriterConn>,
    pub open_reader: OpenReader,
    pub server_device: Uuid,
    pub head: i64,
    /// Starts listening for events other server instances (processes) commit.
    pub listen_for_heads: ListenForHeads,
}

/// Starts a thread that calls its argument with the head whenever another instance moved it.
pub(crate) type ListenForHeads =
    Box<dyn FnOnce(Box<dyn Fn(i64) + Send>) -> std::io::Result<Listening> + Send>;

/// A listening thread; told to stop and waited for when dropped.
pub(crate) struct Listening {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Listening {
    /// Runs `listen` on a thread of its own; it returns once [`stopped`] says so.
    pub(crate) fn spawn(
        name: &str,
        listen: impl FnOnce(&mpsc::Receiver<()>) + Send + 'static,
    ) -> std::io::Result<Self> {
        let (stop, told) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || listen(&told))?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        // Dropping the sender wakes the thread at once.
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Waits up to `tick` for the word to stop; true when the listener must stop.
pub(crate) fn stopped(stop: &mpsc::Receiver<()>, tick: Duration) -> bool {
    !matches!(
        stop.recv_timeout(tick),
        Err(mpsc::RecvTimeoutError::Timeout)
    )
}

/// Opens (creating and migrating) the database for serving.
pub(crate) fn open(database: &Database) -> Result<Opened, DbError> {
    match database {
        Database::Sqlite(path) => sqlite::open(path),
        Database::Postgres(url) => postgres::open(url),
    }
}

/// Opens one connection for an admin command (creating and migrating the database).
pub(crate) fn open_admin(database: &Database) -> Result<Box<dyn Conn>, DbError> {
    match database {
        Database::Sqlite(path) => sqlite::open_admin(path),
        Database::Postgres(url) => postgres::open_admin(url),
    }
}

/// Creates and migrates the database, so it is ready before the server says it listens.
pub fn prepare(database: &Database) -> Result<(), DbError> {
    open_admin(database).map(drop)
}
