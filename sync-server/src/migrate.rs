//! `conference-sync migrate`: rebuilds the server's read models from the log while the
//! server keeps serving, then switches to them atomically.
//!
//! Each read model is built beside the live one (`<name>__next`) by replaying the log in
//! short batches, each its own transaction, so the server's writer and readers go on
//! between them. Once the replay is close to the head, one short write transaction replays
//! the last few events, drops the old table and renames the new one: requests in flight
//! see the old table or the new one, never neither. Running it again, or after a crash at
//! any point, is safe: a half-built `__next` table is started over.
//!
//! A release that changes a read model's shape changes its `create` and `project` here and
//! tells operators to run `migrate` once it is deployed.
use crate::error::DbError;
use conference_domain::aggregate::DomainEvent;
use conference_domain::conference;
use conference_domain::stream::StreamId;
use rusqlite::{Connection, TransactionBehavior, params};
use std::path::Path;

/// Events replayed per transaction while catching up.
const BATCH: i64 = 2_000;
/// Catch-up stops and the switch begins when a batch finds fewer new events than this.
const CLOSE_TO_HEAD: usize = 200;

/// One read model the server keeps: how to create it under a name, and how one event
/// changes it.
struct ReadModel {
    name: &'static str,
    /// `CREATE TABLE {table} …`
    create: fn(&str) -> String,
    project: fn(&Connection, &str, &StreamId, &DomainEvent) -> Result<(), DbError>,
}

const READ_MODELS: &[ReadModel] = &[ReadModel {
    name: "conferences",
    create: |table| {
        format!(
            "CREATE TABLE {table} (id BLOB PRIMARY KEY, slug TEXT NOT NULL UNIQUE) WITHOUT ROWID"
        )
    },
    project: project_conferences,
}];

/// Conference slugs by id, from ConferenceCreated and ConferenceUpdated (the live path is
/// `log::Unit::insert`, which also refuses a slug another conference has).
fn project_conferences(
    conn: &Connection,
    table: &str,
    stream: &StreamId,
    event: &DomainEvent,
) -> Result<(), DbError> {
    let slug = match event {
        DomainEvent::Conference(conference::Event::ConferenceCreated(c)) => &c.details.slug,
        DomainEvent::Conference(conference::Event::ConferenceUpdated(u)) => &u.details.slug,
        _ => return Ok(()),
    };
    conn.prepare_cached(&format!(
        "INSERT INTO {table} (id, slug) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET slug = excluded.slug"
    ))?
    .execute(params![stream.id, slug.as_str()])?;
    Ok(())
}

/// What a migration did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct MigrateReport {
    pub read_models: Vec<&'static str>,
    /// Events replayed while the server kept serving.
    pub replayed: u64,
    /// Events replayed inside the switch.
    pub replayed_at_switch: u64,
    /// How long the switch held the write lock, in milliseconds.
    pub switch_ms: f64,
}

/// Rebuilds every read model beside the live one and switches; `progress` hears
/// (events replayed, head).
pub fn migrate(
    database: &Path,
    mut progress: impl FnMut(u64, i64),
) -> Result<MigrateReport, DbError> {
    let mut conn = crate::db::open_writer(database)?;
    for model in READ_MODELS {
        let next = format!("{}__next", model.name);
        conn.execute_batch(&format!("DROP TABLE IF EXISTS {next};"))?;
        conn.execute_batch(&format!("{};", (model.create)(&next)))?;
    }
    let mut after = 0_i64;
    let mut replayed = 0_u64;
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (count, last) = replay(&tx, after, Some(BATCH))?;
        let head = crate::db::head(&tx)?;
        tx.commit()?;
        replayed += count as u64;
        after = last.unwrap_or(after);
        progress(replayed, head);
        if count < CLOSE_TO_HEAD {
            break;
        }
    }
    // The switch: the last few events and the renames, under the write lock.
    let started = std::time::Instant::now();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (tail, _) = replay(&tx, after, None)?;
    for model in READ_MODELS {
        tx.execute_batch(&format!(
            "DROP TABLE {name}; ALTER TABLE {name}__next RENAME TO {name};",
            name = model.name
        ))?;
    }
    tx.commit()?;
    let switch_ms = started.elapsed().as_secs_f64() * 1000.0;
    progress(replayed + tail as u64, crate::db::head(&conn)?);
    Ok(MigrateReport {
        read_models: READ_MODELS.iter().map(|m| m.name).collect(),
        replayed,
        replayed_at_switch: tail as u64,
        switch_ms,
    })
}

/// Projects the events after `after` (at most `limit`) into every `__next` table; returns
/// how many and the last position.
fn replay(
    conn: &Connection,
    after: i64,
    limit: Option<i64>,
) -> Result<(usize, Option<i64>), DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT position, stream_key, event_type, schema_version, payload FROM events
         WHERE position > ?1 ORDER BY position LIMIT ?2",
    )?;
    let mut rows = stmt.query(params![after, limit.unwrap_or(-1)])?;
    let (mut count, mut last) = (0, None);
    while let Some(row) = rows.next()? {
        let position: i64 = row.get(0)?;
        let key: Vec<u8> = row.get(1)?;
        let stream = StreamId::from_key(&key)
            .map_err(|e| DbError::corrupt(format!("event {position}"), e))?;
        let payload: serde_json::Value = serde_json::from_str(&row.get::<_, String>(4)?)
            .map_err(|e| DbError::corrupt(format!("event {position}"), e))?;
        // An event this build cannot read is kept and skipped, as everywhere else.
        if let Ok(event) =
            DomainEvent::decode(stream.kind, &row.get::<_, String>(2)?, row.get(3)?, payload)
        {
            for model in READ_MODELS {
                (model.project)(conn, &format!("{}__next", model.name), &stream, &event)?;
            }
        }
        count += 1;
        last = Some(position);
    }
    Ok((count, last))
}
