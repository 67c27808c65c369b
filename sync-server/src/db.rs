//! Opening the server's SQLite file: WAL, `synchronous=FULL`, and the numbered migrations
//! from `migrations/server/` (only ever added to). Synchronous code only: nothing here
//! may run on the async executor.
use crate::error::DbError;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};
use std::path::Path;
use std::time::Duration;
use uuid::Uuid;

const INITIAL: &str = include_str!("../../migrations/server/0001_initial.sql");
const DROP_STREAM_CONFERENCES: &str =
    include_str!("../../migrations/server/0002_drop_stream_conferences.sql");

/// Every migration's SQL, in order; `PRAGMA user_version` counts how many a file has.
const SERVER_SQL: &[&str] = &[INITIAL, DROP_STREAM_CONFERENCES];

const MIGRATIONS: &[M<'static>] = &[M::up(INITIAL), M::up(DROP_STREAM_CONFERENCES)];

/// The fixed-width text form of a time (the same as the device store's).
#[must_use]
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub(crate) fn now_text() -> String {
    format_time(Utc::now())
}

fn configure(conn: &Connection) -> Result<(), DbError> {
    // Pushes wait for the writer; admin commands from another process may hold the lock
    // for a moment.
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // An acknowledged push survives power loss: every commit syncs the WAL.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The writer's page cache (readers set a smaller one): 16 MB holds the pages a push
    // touches (the log's right edge, the stream index) for logs of a few million events;
    // beyond that the OS page cache serves the rest. 32 MB cost 20 MB more peak memory in
    // the 20-device bench with no measurable gain in ingest.
    conn.pragma_update(None, "cache_size", -16_000)?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(())
}

/// Opens (creating if needed) the database at `path` for writing and migrates it.
/// Creates a new database file readable and writable by the server's user only (it holds
/// every registrant's name and email, and the devices' token hashes); SQLite gives its WAL
/// the same mode. An existing file is left as it is.
fn create_private(path: &Path) -> std::io::Result<()> {
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

pub(crate) fn open_writer(path: &Path) -> Result<Connection, DbError> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    create_private(path)?;
    let mut conn = Connection::open(path)?;
    configure(&conn)?;
    // The writer runs every job in a savepoint, so each page a job changes is first copied
    // to the statement journal; kept in memory, that copy is no write to a temp file (two
    // syscalls per page, about 17,000 per 100,000 events pushed). The journal only ever
    // undoes a savepoint of the open transaction: what a commit makes durable still goes
    // through the WAL with `synchronous=FULL`.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    if crate::v1::is_v1(&conn)? {
        crate::v1::upgrade(&mut conn, SERVER_SQL, server_device_id)?;
    }
    migrate(&mut conn)?;
    Ok(conn)
}

/// Migrates to the latest schema. Two processes opening a new file at once (the server and
/// an admin command) can both see it unmigrated; the loser's attempt fails on what the
/// winner created, and the next attempt finds the file migrated.
fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let migrations = Migrations::from_slice(MIGRATIONS);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match migrations.to_latest(conn) {
            Ok(()) => return Ok(()),
            Err(_) if attempt < 3 => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Opens the connection that copies the WAL into the database file (checkpoints) beside
/// the writer. It changes no rows, so it needs no write lock, but it is not `query_only`.
pub(crate) fn open_checkpointer(path: &Path) -> Result<Connection, DbError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn)?;
    conn.pragma_update(None, "cache_size", -1_000)?;
    Ok(conn)
}

/// Opens a connection that only reads (pulls, lookups). The writer migrated the file.
pub(crate) fn open_reader(path: &Path) -> Result<Connection, DbError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    configure(&conn)?;
    conn.pragma_update(None, "query_only", "ON")?;
    // Readers scan the log once per pull page: a small cache each (2 MiB) keeps the
    // server's memory flat however many devices pull at once; the writer keeps the big one.
    conn.pragma_update(None, "cache_size", -2_000)?;
    Ok(conn)
}

/// The server's own device id (made on first start).
pub(crate) fn server_device_id(conn: &Connection) -> Result<Uuid, DbError> {
    let existing: Option<Uuid> = conn
        .query_row(
            "SELECT server_device_id FROM server WHERE singleton = 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let id = Uuid::now_v7();
    conn.execute(
        "INSERT INTO server (singleton, server_device_id, created_at) VALUES (1, ?1, ?2)",
        params![id, now_text()],
    )?;
    Ok(id)
}

/// The newest position in the log (0 when it is empty).
pub(crate) fn head(conn: &Connection) -> Result<i64, DbError> {
    Ok(conn
        .prepare_cached("SELECT COALESCE(MAX(position), 0) FROM events")?
        .query_row([], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_migration_is_listed_for_v1_databases_too() {
        assert_eq!(super::SERVER_SQL.len(), super::MIGRATIONS.len());
    }

    #[test]
    fn migrations_are_valid() {
        assert!(
            rusqlite_migration::Migrations::from_slice(super::MIGRATIONS)
                .validate()
                .is_ok()
        );
    }
}
