//! The SQLite backend: one file, one writer connection (its thread is the single writer
//! that keeps positions in commit order), reading connections in WAL mode. Opening and
//! migrating the file is `crate::db`'s.
//!
//! tidy: long because it implements the whole `store::Db` trait for SQLite, one method per
//! operation beside its twin `postgres.rs`, with their tests; a split would part methods
//! sharing one connection's handling.
use super::{
    CommandInsert, CommandRow, Conn, Db, DeviceInsert, DeviceRow, EventInsert, EventRow,
    ListenForHeads, Listening, Opened, ReconciliationInsert, WriterConn,
};
use crate::db;
use crate::error::{ApiError, DbError};
use conference_protocol::sync::ReconciliationItem;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params, params_from_iter};
use std::cell::Cell;
use std::ffi::c_int;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;
use uuid::Uuid;

/// [`Db`] over a SQLite connection (or a transaction on one: it derefs to the connection).
pub(crate) struct Lite<'c> {
    pub conn: &'c Connection,
}

fn run_sql(conn: &Connection, sql: &str) -> Result<(), DbError> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

const STREAM_VERSION: &str = "SELECT MAX(stream_version) FROM events WHERE stream_key = ?1";
const INSERT_EVENT: &str = "INSERT INTO events (stream_key, stream_version, conference_id, event_type, schema_version, payload, command_id, device_id, recorded_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

/// Appends one event with the prepared [`INSERT_EVENT`]; its position.
fn insert_with(
    insert: &mut rusqlite::Statement<'_>,
    conn: &Connection,
    e: &EventInsert<'_>,
) -> Result<i64, DbError> {
    insert.execute(params![
        e.stream_key,
        e.stream_version,
        e.conference_id,
        e.event_type,
        e.schema_version,
        e.payload,
        e.command_id,
        e.device_id,
        e.recorded_at,
    ])?;
    Ok(conn.last_insert_rowid())
}

const RECONCILIATION: &str = "SELECT id, kind, conference_id, device_id, command_id, detail, created_at, resolved_at FROM reconciliation";

fn reconciliation_row(row: &rusqlite::Row<'_>) -> Result<ReconciliationItem, DbError> {
    let detail: String = row.get(5)?;
    super::reconciliation_item(
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        &detail,
        row.get(6)?,
        row.get::<_, Option<String>>(7)?.is_some(),
    )
}

impl Db for Lite<'_> {
    fn head(&mut self) -> Result<i64, DbError> {
        db::head(self.conn)
    }

    fn stream_version(&mut self, stream_key: &[u8]) -> Result<u64, DbError> {
        self.stream_versions(&[stream_key])
            .map(|versions| versions.first().copied().unwrap_or(0))
    }

    fn stream_versions(&mut self, stream_keys: &[&[u8]]) -> Result<Vec<u64>, DbError> {
        // One statement for all: taking it from the statement cache (hashing its text)
        // and handing it back costs about as much as the lookup itself.
        let mut select = self.conn.prepare_cached(STREAM_VERSION)?;
        stream_keys
            .iter()
            .map(|key| {
                let version: Option<u64> = select.query_row([key], |r| r.get(0))?;
                Ok(version.unwrap_or(0))
            })
            .collect()
    }

    fn stream_conference(&mut self, stream_key: &[u8]) -> Result<Option<Uuid>, DbError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT conference_id FROM events WHERE stream_key = ?1
                 ORDER BY stream_version LIMIT 1",
            )?
            .query_row([stream_key], |r| r.get(0))
            .optional()?
            .flatten())
    }

    fn stream_first_writer(&mut self, stream_key: &[u8]) -> Result<Option<Uuid>, DbError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT device_id FROM events WHERE stream_key = ?1 ORDER BY stream_version LIMIT 1",
            )?
            .query_row([stream_key], |r| r.get(0))
            .optional()?)
    }

    fn stream_written_by_another(
        &mut self,
        stream_key: &[u8],
        device: Uuid,
    ) -> Result<bool, DbError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM events WHERE stream_key = ?1 AND device_id <> ?2)",
            )?
            .query_row(rusqlite::params![stream_key, device], |r| r.get(0))?)
    }

    fn stream_events_after(
        &mut self,
        stream_key: &[u8],
        after: u64,
        each: &mut dyn FnMut(&str, u32, &str) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT event_type, schema_version, payload FROM events
             WHERE stream_key = ?1 AND stream_version > ?2 ORDER BY stream_version",
        )?;
        let mut rows = stmt.query(params![stream_key, after])?;
        while let Some(row) = rows.next()? {
            let text = |i| -> Result<&str, DbError> {
                row.get_ref(i)?
                    .as_str()
                    .map_err(|e| DbError::corrupt("an event", e))
            };
            let event_type = text(0)?;
            let payload = text(2)?;
            each(event_type, row.get(1)?, payload)?;
        }
        Ok(())
    }

    fn insert_event(&mut self, e: &EventInsert<'_>) -> Result<i64, DbError> {
        let mut insert = self.conn.prepare_cached(INSERT_EVENT)?;
        insert_with(&mut insert, self.conn, e)
    }

    fn insert_events(&mut self, events: &[EventInsert<'_>]) -> Result<Vec<i64>, DbError> {
        // One statement for all of a command's events (see `stream_versions`).
        let mut insert = self.conn.prepare_cached(INSERT_EVENT)?;
        events
            .iter()
            .map(|e| insert_with(&mut insert, self.conn, e))
            .collect()
    }

    fn events_page(
        &mut self,
        after: i64,
        limit: u32,
        conferences: Option<&[Uuid]>,
    ) -> Result<Vec<EventRow>, DbError> {
        const COLUMNS: &str = "SELECT position, stream_key, stream_version, event_type, schema_version, payload, command_id, device_id, recorded_at, conference_id FROM events";
        let mut values: Vec<Value> = vec![Value::Integer(after), Value::Integer(i64::from(limit))];
        let sql = match conferences {
            None => format!("{COLUMNS} WHERE position > ?1 ORDER BY position LIMIT ?2"),
            Some(ids) => {
                let marks: Vec<String> = (0..ids.len()).map(|i| format!("?{}", i + 3)).collect();
                values.extend(ids.iter().map(|id| Value::Blob(id.as_bytes().to_vec())));
                format!(
                    "{COLUMNS} WHERE conference_id IN ({}) AND position > ?1 ORDER BY position LIMIT ?2",
                    marks.join(", ")
                )
            }
        };
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params_from_iter(values))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(EventRow {
                position: row.get(0)?,
                stream_key: row.get(1)?,
                stream_version: row.get(2)?,
                event_type: row.get(3)?,
                schema_version: row.get(4)?,
                payload: row.get(5)?,
                command_id: row.get(6)?,
                device_id: row.get(7)?,
                recorded_at: row.get(8)?,
                conference_id: row.get(9)?,
            });
        }
        Ok(out)
    }

    fn conference_by_slug(&mut self, slug: &str) -> Result<Option<Uuid>, DbError> {
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM conferences WHERE slug = ?1")?
            .query_row([slug], |r| r.get(0))
            .optional()?)
    }

    fn conference_known(&mut self, id: Uuid) -> Result<bool, DbError> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM conferences WHERE id = ?1")?
            .query_row([id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn set_conference_slug(&mut self, id: Uuid, slug: &str) -> Result<(), DbError> {
        self.conn
            .prepare_cached(
                "INSERT INTO conferences (id, slug) VALUES (?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET slug = excluded.slug",
            )?
            .execute(params![id, slug])?;
        Ok(())
    }

    fn device_by_token(&mut self, token_hash: &[u8]) -> Result<Option<DeviceRow>, DbError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT device_id, name, role, conferences, revoked_at IS NOT NULL, next_seq
                 FROM devices WHERE token_hash = ?1",
            )?
            .query_row([token_hash], device_row)
            .optional()?)
    }

    fn devices(&mut self) -> Result<Vec<DeviceRow>, DbError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT device_id, name, role, conferences, revoked_at IS NOT NULL, next_seq
             FROM devices ORDER BY created_at, device_id",
        )?;
        let rows = stmt.query_map([], device_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn device_exists(&mut self, id: Uuid) -> Result<bool, DbError> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM devices WHERE device_id = ?1)",
            [id],
            |r| r.get(0),
        )?)
    }

    fn insert_device(&mut self, d: &DeviceInsert<'_>) -> Result<(), DbError> {
        self.conn.execute(
            "INSERT INTO devices (device_id, name, role, token_hash, conferences, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![d.device_id, d.name, d.role, d.token_hash, d.conferences, d.created_at],
        )?;
        Ok(())
    }

    fn revoke_device(&mut self, id: Uuid, now: &str) -> Result<bool, DbError> {
        let changed = self.conn.execute(
            "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?2) WHERE device_id = ?1",
            params![id, now],
        )?;
        Ok(changed > 0)
    }

    fn device_next_seq(&mut self, id: Uuid) -> Result<u64, DbError> {
        Ok(self
            .conn
            .prepare_cached("SELECT next_seq FROM devices WHERE device_id = ?1")?
            .query_row([id], |r| r.get(0))?)
    }

    fn set_device_next_seq(&mut self, id: Uuid, next_seq: u64) -> Result<(), DbError> {
        self.conn
            .prepare_cached("UPDATE devices SET next_seq = ?2 WHERE device_id = ?1")?
            .execute(params![id, next_seq])?;
        Ok(())
    }

    fn command(&mut self, command_id: Uuid) -> Result<Option<CommandRow>, DbError> {
        Ok(self
            .conn
            .prepare_cached("SELECT status, result, device_id FROM commands WHERE command_id = ?1")?
            .query_row([command_id], |r| {
                Ok(CommandRow {
                    status: r.get(0)?,
                    result: r.get(1)?,
                    device_id: r.get(2)?,
                })
            })
            .optional()?)
    }

    fn insert_command(&mut self, c: &CommandInsert<'_>) -> Result<(), DbError> {
        self.conn
            .prepare_cached(
                "INSERT INTO commands (command_id, device_id, device_seq, status, result, recorded_position, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                c.command_id,
                c.device_id,
                c.device_seq,
                c.status,
                c.result,
                c.recorded_position,
                c.recorded_at
            ])?;
        Ok(())
    }

    fn outcomes(
        &mut self,
        device_id: Uuid,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(Uuid, String)>, DbError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT command_id, result FROM commands
             WHERE device_id = ?1 AND status IN ('rebased', 'rejected') AND recorded_position > ?2
             ORDER BY recorded_position, device_seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![device_id, after, limit], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn insert_reconciliation(&mut self, item: &ReconciliationInsert<'_>) -> Result<(), DbError> {
        self.conn
            .prepare_cached(
                "INSERT INTO reconciliation (kind, conference_id, device_id, command_id, detail, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                item.kind,
                item.conference_id,
                item.device_id,
                item.command_id,
                item.detail,
                item.created_at
            ])?;
        Ok(())
    }

    fn reconciliation_items(
        &mut self,
        include_resolved: bool,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ReconciliationItem>, DbError> {
        let sql = format!(
            "{RECONCILIATION} WHERE (resolved_at IS NULL OR ?1) AND id > ?2 ORDER BY id LIMIT ?3"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![include_resolved, after, limit])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(reconciliation_row(row)?);
        }
        Ok(out)
    }

    fn reconciliation_item(&mut self, id: i64) -> Result<Option<ReconciliationItem>, DbError> {
        let sql = format!("{RECONCILIATION} WHERE id = ?1");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query([id])?;
        rows.next()?.map(reconciliation_row).transpose()
    }

    fn resolve_reconciliation(&mut self, id: i64, now: &str) -> Result<(), DbError> {
        self.conn
            .prepare_cached(
                "UPDATE reconciliation SET resolved_at = COALESCE(resolved_at, ?2) WHERE id = ?1",
            )?
            .execute(params![id, now])?;
        Ok(())
    }

    fn savepoint(&mut self, name: &str) -> Result<(), DbError> {
        run_sql(self.conn, &format!("SAVEPOINT {name}"))
    }

    fn release(&mut self, name: &str) -> Result<(), DbError> {
        run_sql(self.conn, &format!("RELEASE {name}"))
    }

    fn rollback_to(&mut self, name: &str) -> Result<(), DbError> {
        run_sql(self.conn, &format!("ROLLBACK TO {name}"))?;
        run_sql(self.conn, &format!("RELEASE {name}"))
    }

    fn changes(&self) -> u64 {
        self.conn.total_changes()
    }

    fn begin_snapshot(&mut self) -> Result<(), DbError> {
        run_sql(self.conn, "BEGIN")
    }

    fn end_snapshot(&mut self) -> Result<(), DbError> {
        run_sql(self.conn, "COMMIT")
    }
}

fn device_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRow> {
    Ok(DeviceRow {
        device_id: r.get(0)?,
        name: r.get(1)?,
        role: r.get(2)?,
        conferences: r.get(3)?,
        revoked: r.get(4)?,
        next_seq: r.get(5)?,
    })
}

/// A reading (or admin) connection.
struct SqliteConn {
    conn: Connection,
}

impl Conn for SqliteConn {
    fn run(&mut self, f: &mut dyn FnMut(&mut dyn Db)) {
        f(&mut Lite { conn: &self.conn });
    }
}

/// The writer's connection: `BEGIN IMMEDIATE` takes the file's write lock for the batch.
struct SqliteWriter {
    conn: Connection,
    checkpoints: Checkpoints,
}

impl WriterConn for SqliteWriter {
    fn transaction(
        &mut self,
        f: &mut dyn FnMut(&mut dyn Db) -> Result<(), ApiError>,
    ) -> Result<(), ApiError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        f(&mut Lite { conn: &tx })?;
        tx.commit()?;
        self.checkpoints.committed(&self.conn);
        Ok(())
    }

    fn head(&mut self) -> Result<i64, DbError> {
        db::head(&self.conn)
    }
}

// ---------------------------------------------------------------- checkpoints

/// WAL pages written since the last wake-up after which the checkpointer copies the log
/// into the database file (SQLite's own auto-checkpoint threshold).
const BACKGROUND_CHECKPOINT_PAGES: i32 = 1000;
/// WAL pages after which the writer checkpoints itself once a commit is done. A log that
/// is never copied completely while pushes keep coming never starts over, so it would
/// grow without end; the writer's own checkpoint (nothing else writes meanwhile) finishes
/// what the checkpointer left, and the next transaction starts the log over. That costs
/// the writer the copy of about one batch's pages and a sync of the file (at 8,000 pages
/// it was a sixth of the writer's time under steady pushes), so it happens rarely: under
/// steady pushes the log grows to about 128 MB (4 KiB pages) before it starts over, more
/// while a reader still holds an older snapshot (a long pull), which no checkpoint may
/// overwrite.
const WRITER_CHECKPOINT_PAGES: i32 = 32_000;
/// `journal_size_limit` of the writer's connection, in bytes.
const WAL_FILE_LIMIT: i64 = 64 * 1024 * 1024;

thread_local! {
    /// The pages in the WAL after this thread's last commit, from SQLite's WAL hook (the
    /// writer commits on its own thread, so each server's writer sees its own).
    static WAL_PAGES: Cell<Option<i32>> = const { Cell::new(None) };
}

/// SQLite's WAL hook on the writer's connection: it replaces the auto-checkpoint, which
/// would copy the log into the database file on the writer's thread after every 1000
/// pages, while pushes wait. It only notes the log's size; it never fails (an error here
/// would fail a commit that already happened).
fn note_wal_pages(_wal: &rusqlite::hooks::Wal, pages: c_int) -> rusqlite::Result<()> {
    WAL_PAGES.set(Some(pages));
    Ok(())
}

/// Checkpoints off the writer's thread: a thread of its own with its own connection runs
/// `PRAGMA wal_checkpoint(PASSIVE)` whenever the writer has added enough pages to the
/// WAL. A passive checkpoint waits for nobody: it copies what no reader still needs,
/// beside the writer's next transaction, and syncs the database file (the commits were
/// durable in the WAL already).
struct Checkpoints {
    /// The WAL's size when the checkpointer was last woken.
    woken_at: i32,
    /// [`WRITER_CHECKPOINT_PAGES`] (smaller in tests).
    writer_pages: i32,
    wake: Option<mpsc::SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Checkpoints done by the checkpointer (tests wait on it).
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "only tests wait for checkpoints")
    )]
    done: Arc<(Mutex<u64>, Condvar)>,
}

impl Checkpoints {
    fn start(path: &Path, writer: &Connection) -> Result<Self, DbError> {
        Self::start_with(path, writer, WRITER_CHECKPOINT_PAGES)
    }

    fn start_with(path: &Path, writer: &Connection, writer_pages: i32) -> Result<Self, DbError> {
        let conn = db::open_checkpointer(path)?;
        // The hook replaces SQLite's auto-checkpoint; setting `wal_autocheckpoint` on this
        // connection later would silently replace the hook in turn. Only the writer's
        // thread may commit on this connection (the page count is thread-local).
        writer.wal_hook(Some(note_wal_pages));
        // When the log starts over, its file (reused, not shrunk) is cut back to 64 MiB.
        writer.pragma_update(None, "journal_size_limit", WAL_FILE_LIMIT)?;
        // One wake-up waiting is enough: the checkpoint it starts copies all there is.
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        let done = Arc::new((Mutex::new(0), Condvar::new()));
        let counted = Arc::clone(&done);
        let thread = std::thread::Builder::new()
            .name("sync-checkpoint".into())
            .spawn(move || {
                while woken.recv().is_ok() {
                    match passive_checkpoint(&conn) {
                        Ok((pages, copied)) => tracing::debug!(pages, copied, "WAL checkpoint"),
                        Err(error) => tracing::warn!(%error, "a WAL checkpoint failed"),
                    }
                    let (count, changed) = &*counted;
                    *count.lock().unwrap_or_else(PoisonError::into_inner) += 1;
                    changed.notify_all();
                }
            })?;
        Ok(Self {
            woken_at: 0,
            writer_pages,
            wake: Some(wake),
            thread: Some(thread),
            done,
        })
    }

    /// After each commit: wakes the checkpointer when the log grew by enough pages, or
    /// checkpoints on the writer's thread when the log got too long.
    fn committed(&mut self, writer: &Connection) {
        // No hook call: the commit wrote nothing (every job of the batch was undone).
        let Some(pages) = WAL_PAGES.take() else {
            return;
        };
        if pages < self.woken_at {
            // The log started over.
            self.woken_at = 0;
        }
        if pages >= self.writer_pages {
            match passive_checkpoint(writer) {
                Ok((pages, copied)) => {
                    tracing::debug!(pages, copied, "WAL checkpoint by the writer")
                }
                // Busy: the checkpointer is at it; the next commit tries again.
                Err(error) => tracing::debug!(%error, "no WAL checkpoint by the writer"),
            }
        } else if pages - self.woken_at >= BACKGROUND_CHECKPOINT_PAGES {
            self.woken_at = pages;
            if let Some(wake) = &self.wake {
                // Full: a wake-up is already waiting.
                let _ = wake.try_send(());
            }
        }
    }
}

impl Drop for Checkpoints {
    fn drop(&mut self) {
        self.wake.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `PRAGMA wal_checkpoint(PASSIVE)`: the pages in the log and those copied so far.
fn passive_checkpoint(conn: &Connection) -> Result<(i64, i64), DbError> {
    let (busy, pages, copied): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    if busy != 0 {
        return Err(DbError::from(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some("another checkpoint is running".into()),
        )));
    }
    Ok((pages, copied))
}

pub(super) fn open(path: &Path) -> Result<Opened, DbError> {
    let conn = db::open_writer(path)?;
    let server_device = db::server_device_id(&conn)?;
    let head = db::head(&conn)?;
    let checkpoints = Checkpoints::start(path, &conn)?;
    let watched: PathBuf = path.to_path_buf();
    let path: PathBuf = path.to_path_buf();
    Ok(Opened {
        writer: Box::new(SqliteWriter { conn, checkpoints }),
        open_reader: Box::new(move || {
            Ok(Box::new(SqliteConn {
                conn: db::open_reader(&path)?,
            }) as Box<dyn Conn>)
        }),
        server_device,
        head,
        listen_for_heads: listen_for_heads(watched),
    })
}

/// How often the listener asks whether another process wrote the file.
const LISTEN_TICK: Duration = Duration::from_millis(200);

/// Another server process on the same file (say, the new one of a restart, started before
/// the old one stopped) appends without this one's writer: `PRAGMA data_version` tells
/// when any other connection committed, and then the head is read again.
fn listen_for_heads(path: PathBuf) -> ListenForHeads {
    Box::new(move |moved| {
        Listening::spawn("sync-head-listener", move |stop| {
            let conn = match db::open_reader(&path) {
                Ok(conn) => conn,
                Err(error) => {
                    tracing::warn!(%error, "cannot watch the file for other writers");
                    return;
                }
            };
            let mut seen: Option<i64> = None;
            loop {
                let version = conn
                    .pragma_query_value(None, "data_version", |r| r.get::<_, i64>(0))
                    .ok();
                if version != seen {
                    seen = version;
                    if let Ok(head) = db::head(&conn) {
                        moved(head);
                    }
                }
                if super::stopped(stop, LISTEN_TICK) {
                    return;
                }
            }
        })
    })
}

pub(super) fn open_admin(path: &Path) -> Result<Box<dyn Conn>, DbError> {
    Ok(Box::new(SqliteConn {
        conn: db::open_writer(path)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer on a fresh file, as `open` makes it (with the writer's own checkpoint
    /// after `writer_pages`).
    fn writer(path: &Path, writer_pages: i32) -> SqliteWriter {
        let conn = db::open_writer(path).unwrap();
        let checkpoints = Checkpoints::start_with(path, &conn, writer_pages).unwrap();
        SqliteWriter { conn, checkpoints }
    }

    /// Commits `transactions` transactions of 100 events of about 4 KB each (a page or
    /// more apiece).
    fn write(writer: &mut SqliteWriter, transactions: u64, first: &mut u64) {
        let payload = format!("{{\"filler\":\"{}\"}}", "x".repeat(4000));
        let (command, device) = (Uuid::now_v7(), Uuid::now_v7());
        for _ in 0..transactions {
            writer
                .transaction(&mut |db| {
                    for version in *first..*first + 100 {
                        db.insert_event(&EventInsert {
                            stream_key: b"stream",
                            stream_version: version,
                            conference_id: None,
                            event_type: "Filler",
                            schema_version: 1,
                            payload: &payload,
                            command_id: command,
                            device_id: device,
                            recorded_at: "2026-11-27T00:00:00.000000Z",
                        })?;
                    }
                    Ok(())
                })
                .unwrap();
            *first += 100;
        }
    }

    fn size(path: &Path) -> u64 {
        std::fs::metadata(path).map_or(0, |m| m.len())
    }

    #[test]
    fn the_checkpointer_copies_the_wal_into_the_file_while_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.db");
        let mut writer = writer(&path, WRITER_CHECKPOINT_PAGES);
        let before = size(&path);
        let mut first = 1;
        // About 1,200 pages: past the checkpointer's threshold, far below the writer's.
        write(&mut writer, 12, &mut first);
        let (count, changed) = &*writer.checkpoints.done;
        let (done, waited) = changed
            .wait_timeout_while(count.lock().unwrap(), Duration::from_secs(60), |n| *n == 0)
            .unwrap();
        assert!(!waited.timed_out(), "the checkpointer never ran");
        assert!(*done >= 1);
        drop(done);
        // The writer's auto-checkpoint is off (the WAL hook replaced it): only the
        // checkpointer can have put these pages into the database file.
        assert!(
            size(&path) > before + 1_000_000,
            "the database file did not grow: {} bytes before, {} after",
            before,
            size(&path)
        );
    }

    #[test]
    fn the_wal_starts_over_however_long_the_writer_keeps_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.db");
        // The writer's threshold at 3,000 pages keeps the test small.
        let writer_pages = 3_000;
        let mut writer = writer(&path, writer_pages);
        let mut first = 1;
        // About 24,000 pages (eight times the writer's threshold), with no pause for
        // the checkpointer to finish between commits.
        write(&mut writer, 240, &mut first);
        let wal = size(&dir.path().join("server.db-wal"));
        // Twice the threshold leaves room for checkpoints the writer found busy; a log
        // that never starts over holds all 24,000 pages.
        let limit = u64::try_from(2 * writer_pages).unwrap() * 4096;
        assert!(
            wal < limit,
            "the WAL grew to {wal} bytes (it should start over before {limit})"
        );
        let stored: i64 = writer
            .conn
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, 24_000);
    }
}
