//! Opening a database written by the V1 sync server (its schema is frozen in
//! `tests/fixtures/v1/server-schema.sql`): no schema version, ids and stream ids as text,
//! no conference per event, no conference slugs, no reconciliation queue.
//!
//! The upgrade runs in place when the server (or an admin command) first opens the file,
//! in one transaction: V1's tables step aside, the V2 schema is created from
//! `migrations/server/`, devices, the log and command results are copied (payloads
//! untouched: old event shapes are upcast when read), each event gets its conference from
//! its stream, the slugs are built from the log, and V1's tables are dropped. A crash
//! before the commit leaves the V1 database as it was; the next start upgrades it again.
use crate::error::DbError;
use conference_domain::stream::{StreamId, StreamKind};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::collections::HashMap;
use uuid::Uuid;

const SET_V1_ASIDE: &str = include_str!("../../migrations/server/from_v1/0001_set_v1_aside.sql");
const DROP_V1: &str = include_str!("../../migrations/server/from_v1/0002_drop_v1.sql");

/// Whether the file holds a V1 server database: no schema version, V1's text stream ids.
pub(crate) fn is_v1(conn: &Connection) -> Result<bool, DbError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version != 0 {
        return Ok(false);
    }
    Ok(conn
        .query_row(
            "SELECT 1 FROM pragma_table_info('events') WHERE name = 'stream_id'",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Upgrades a V1 server database to the current schema; returns the events copied.
/// `server_device` gives the server its own device id in the new schema (`db` knows how).
pub(crate) fn upgrade(
    conn: &mut Connection,
    migrations: &[&str],
    server_device: fn(&Connection) -> Result<Uuid, DbError>,
) -> Result<u64, DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another process may have upgraded the file while this one waited for the lock.
    if !is_v1(&tx)? {
        return Ok(0);
    }
    tx.execute_batch(SET_V1_ASIDE)?;
    for sql in migrations {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", migrations.len())?;
    server_device(&tx)?;
    copy_devices(&tx)?;
    let events = copy_events(&tx)?;
    copy_commands(&tx)?;
    tx.execute_batch(DROP_V1)?;
    tx.commit()?;
    tracing::info!(events, "upgraded a V1 server database");
    Ok(events)
}

fn uuid(text: &str, what: &str) -> Result<Uuid, DbError> {
    Uuid::parse_str(text).map_err(|e| DbError::corrupt(what, e))
}

fn copy_devices(tx: &Connection) -> Result<(), DbError> {
    let mut read = tx.prepare(
        "SELECT device_id, name, role, token_hash, created_at, revoked_at, next_seq FROM v1_devices",
    )?;
    let mut write = tx.prepare(
        "INSERT INTO devices (device_id, name, role, token_hash, conferences, revoked_at, created_at, next_seq)
         VALUES (?1, ?2, ?3, ?4, '[]', ?5, ?6, ?7)",
    )?;
    let mut rows = read.query([])?;
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        let hash: String = row.get(3)?;
        write.execute(params![
            uuid(&id, "a V1 device")?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            hex::decode(&hash).map_err(|e| DbError::corrupt("a V1 token hash", e))?,
            row.get::<_, Option<String>>(5)?,
            row.get::<_, String>(4)?,
            row.get::<_, i64>(6)?,
        ])?;
    }
    Ok(())
}

/// The log, with each event's conference: a conference's and its seat pool's streams are
/// the conference's; an order names it in `OrderPlaced`, a payment in `PaymentInitiated`;
/// seat assignments belong to their order.
fn copy_events(tx: &Connection) -> Result<u64, DbError> {
    let mut conference_of: HashMap<Vec<u8>, Uuid> = HashMap::new();
    let mut read = tx.prepare(
        "SELECT position, stream_id, stream_version, event_type, schema_version, payload, command_id, device_id, recorded_at
         FROM v1_events ORDER BY position",
    )?;
    let mut write = tx.prepare(
        "INSERT INTO events (position, stream_key, stream_version, conference_id, event_type, schema_version, payload, command_id, device_id, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    let mut slugs = tx.prepare(
        "INSERT INTO conferences (id, slug) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET slug = excluded.slug",
    )?;
    let mut rows = read.query([])?;
    let mut copied = 0;
    while let Some(row) = rows.next()? {
        let position: i64 = row.get(0)?;
        let what = format!("V1 event {position}");
        let stream = StreamId::parse(&row.get::<_, String>(1)?)
            .map_err(|e| DbError::corrupt(what.clone(), e))?;
        let event_type: String = row.get(3)?;
        let payload: String = row.get(5)?;
        let key = stream.key();
        let named = |field: &str| -> Result<Option<Uuid>, DbError> {
            let value: serde_json::Value =
                serde_json::from_str(&payload).map_err(|e| DbError::corrupt(what.clone(), e))?;
            Ok(value
                .get(field)
                .and_then(|v| v.as_str())
                .and_then(|s| Uuid::parse_str(s).ok()))
        };
        let conference = match stream.kind {
            StreamKind::Conference | StreamKind::Seats | StreamKind::Promos => Some(stream.id),
            StreamKind::Order if event_type == "OrderPlaced" => named("conference_id")?,
            StreamKind::Payment if event_type == "PaymentInitiated" => named("conference_id")?,
            StreamKind::Assignments => conference_of
                .get(&StreamId::order(conference_domain::OrderId::from_uuid(stream.id)).key())
                .copied(),
            _ => conference_of.get(&key).copied(),
        };
        if let Some(conference) = conference {
            conference_of.entry(key.clone()).or_insert(conference);
        }
        if matches!(
            event_type.as_str(),
            "ConferenceCreated" | "ConferenceUpdated"
        ) && let Some(slug) = serde_json::from_str::<serde_json::Value>(&payload)
            .ok()
            .and_then(|v| v.get("slug").and_then(|s| s.as_str()).map(str::to_string))
        {
            slugs.execute(params![stream.id, slug])?;
        }
        let command: String = row.get(6)?;
        let device: String = row.get(7)?;
        write.execute(params![
            position,
            key,
            row.get::<_, i64>(2)?,
            conference,
            event_type,
            row.get::<_, i64>(4)?,
            payload,
            uuid(&command, &what)?,
            uuid(&device, &what)?,
            row.get::<_, String>(8)?,
        ])?;
        copied += 1;
    }
    Ok(copied)
}

/// Command results, so a V1 device retrying an old push gets its first answer (V1's
/// result had no device sequence number; V2's carries it).
fn copy_commands(tx: &Connection) -> Result<(), DbError> {
    let mut read = tx.prepare(
        "SELECT c.command_id, c.device_id, c.device_seq, c.status, c.result, c.recorded_at,
                (SELECT MAX(position) FROM v1_events e WHERE e.command_id = c.command_id)
         FROM v1_commands c",
    )?;
    let mut write = tx.prepare(
        "INSERT INTO commands (command_id, device_id, device_seq, status, result, recorded_position, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut rows = read.query([])?;
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        let device: String = row.get(1)?;
        let seq: i64 = row.get(2)?;
        let v1: serde_json::Value = serde_json::from_str(&row.get::<_, String>(4)?)
            .map_err(|e| DbError::corrupt(format!("the V1 result of command {id}"), e))?;
        let result = serde_json::json!({
            "command_id": id,
            "device_seq": seq,
            "status": v1.get("status").cloned().unwrap_or_else(|| "applied".into()),
            "positions": v1.get("positions").cloned().unwrap_or_else(|| serde_json::json!([])),
        });
        write.execute(params![
            uuid(&id, "a V1 command")?,
            uuid(&device, "a V1 command's device")?,
            seq,
            row.get::<_, String>(3)?,
            result.to_string(),
            row.get::<_, Option<i64>>(6)?.unwrap_or(0),
            row.get::<_, String>(5)?,
        ])?;
    }
    Ok(())
}
