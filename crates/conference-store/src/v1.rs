//! Opening a store written by box office V1 (its schema is frozen in
//! `tests/fixtures/v1/schema.sql`). V1 never versioned its schema (`user_version` 0) and
//! kept ids and stream ids as text, process states without holder, override or promo codes,
//! and no remaining-seats read model.
//!
//! The upgrade runs in place, in one transaction: V1's tables step aside, the V2 schema is
//! created from `migrations/local/`, the log and the state V1 kept are copied (ids to
//! bytes, payloads untouched: old event shapes are upcast on read), every read model — the
//! remaining seats too — is built by replaying the log, and V1's tables are dropped. A
//! crash before the commit leaves the V1 store as it was; the next start upgrades it again.
use crate::{Result, StoreError, schema};
use conference_domain::stream::StreamId;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

const SET_V1_ASIDE: &str = include_str!("../../../migrations/local/from_v1/0001_set_v1_aside.sql");
const DROP_V1: &str = include_str!("../../../migrations/local/from_v1/0002_drop_v1.sql");

/// Where an upgrade stands: `done` of `total` steps (each event is copied, then replayed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpgradeProgress {
    pub done: u64,
    pub total: u64,
}

/// Whether the file holds a V1 store: no schema version, and V1's text stream ids.
pub(crate) fn is_v1(conn: &Connection) -> Result<bool> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version != 0 {
        return Ok(false);
    }
    let stream_id: Option<String> = conn
        .query_row(
            "SELECT name FROM pragma_table_info('events') WHERE name = 'stream_id'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(stream_id.is_some())
}

/// Upgrades a V1 store to the current schema, reporting progress.
pub(crate) fn upgrade(
    conn: &mut Connection,
    progress: &mut dyn FnMut(UpgradeProgress),
) -> Result<u64> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // Another process may have upgraded the file while this one waited for the lock.
    if !is_v1(&tx)? {
        return Ok(0);
    }
    tx.execute_batch(SET_V1_ASIDE)?;
    for sql in schema::LOCAL {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", schema::LOCAL.len())?;

    let events: u64 = tx.query_row("SELECT COUNT(*) FROM v1_events", [], |r| r.get(0))?;
    let total = events * 2;
    let mut done = 0;
    // Reported at each whole percent, so a long upgrade shows a moving bar.
    let mut percent = 0;
    let mut report = |done: u64, progress: &mut dyn FnMut(UpgradeProgress)| {
        let now = done * 100 / total.max(1);
        if now != percent || done == total {
            percent = now;
            progress(UpgradeProgress { done, total });
        }
    };
    progress(UpgradeProgress { done, total });

    copy_device(&tx)?;
    {
        let mut read = tx.prepare(
            "SELECT position, stream_id, stream_version, event_type, schema_version, payload, command_id, device_id, recorded_at
             FROM v1_events ORDER BY position",
        )?;
        let mut write = tx.prepare(
            "INSERT INTO events (position, stream_key, stream_version, event_type, schema_version, payload, command_id, device_id, recorded_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        let mut rows = read.query([])?;
        while let Some(row) = rows.next()? {
            let position: i64 = row.get(0)?;
            let what = || format!("V1 event {position}");
            let stream_id: String = row.get(1)?;
            let stream = StreamId::parse(&stream_id).map_err(|e| corrupt(&what(), e))?;
            write.execute(params![
                position,
                stream.key(),
                row.get::<_, i64>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, i64>(4)?,
                row.get::<_, String>(5)?,
                uuid(&row.get::<_, String>(6)?, &what())?,
                uuid(&row.get::<_, String>(7)?, &what())?,
                row.get::<_, String>(8)?,
            ])?;
            done += 1;
            report(done, progress);
        }
    }
    copy_command_log(&tx)?;
    copy_processes(&tx)?;
    tx.execute_batch(DROP_V1)?;

    // The read models, remaining seats included, from the whole history.
    crate::replay_read_models(&tx, None, |replayed| report(events + replayed, progress))?;
    tx.commit()?;
    Ok(events)
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what: what.to_string(),
        reason: e.to_string(),
    }
}

fn uuid(text: &str, what: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|e| corrupt(what, e))
}

/// A V1 store was always a standalone box office: it owns its seat pool.
fn copy_device(tx: &Connection) -> Result<()> {
    let device: Option<(String, String, String)> = tx
        .query_row(
            "SELECT device_id, name, created_at FROM v1_device LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if let Some((id, name, created_at)) = device {
        tx.execute(
            "INSERT INTO device (singleton, device_id, name, owns_pool, created_at) VALUES (1, ?1, ?2, 1, ?3)",
            params![uuid(&id, "the V1 device")?, name, created_at],
        )?;
    }
    Ok(())
}

fn copy_command_log(tx: &Connection) -> Result<()> {
    let mut read = tx.prepare(
        "SELECT command_id, command_type, succeeded, outcome, recorded_at FROM v1_command_log",
    )?;
    let mut write = tx.prepare(
        "INSERT INTO command_log (command_id, command_type, succeeded, outcome, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut rows = read.query([])?;
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        write.execute(params![
            uuid(&id, "a V1 command id")?,
            row.get::<_, String>(1)?,
            row.get::<_, bool>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, String>(4)?,
        ])?;
    }
    Ok(())
}

/// Open registrations keep going: their process states (V1's shape loads as V2's) and their
/// pending expiries.
fn copy_processes(tx: &Connection) -> Result<()> {
    {
        let mut read = tx.prepare("SELECT order_id, state FROM v1_process_state")?;
        let mut write =
            tx.prepare("INSERT INTO process_state (order_id, state) VALUES (?1, ?2)")?;
        let mut rows = read.query([])?;
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            write.execute(params![
                uuid(&id, "a V1 process")?,
                row.get::<_, String>(1)?
            ])?;
        }
    }
    let mut read = tx.prepare(
        "SELECT due_at, kind, order_id, payload FROM v1_scheduled_commands WHERE done_at IS NULL ORDER BY id",
    )?;
    let mut write = tx.prepare(
        "INSERT INTO scheduled_commands (due_at, kind, key, payload) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut rows = read.query([])?;
    while let Some(row) = rows.next()? {
        let id: String = row.get(2)?;
        write.execute(params![
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            uuid(&id, "a V1 scheduled command")?,
            row.get::<_, String>(3)?,
        ])?;
    }
    Ok(())
}
