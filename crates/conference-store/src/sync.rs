//! The device side of sync, as storage: the outbox read for pushing, what the server said
//! about each pushed command, events pulled from the server, and the sync settings.
//!
//! Local events start tentative (`server_position` NULL). A push that the server applies
//! as sent confirms them; a pull brings everyone else's events. Only the tentative events
//! of a command the server rebased or rejected are ever removed: the server's outcome
//! replaces them, and the read models are rebuilt from the log afterwards.
//!
//! tidy: long because the outbox, the server's outcomes and pulled events keep one set of
//! tables (tentative and confirmed events) that each part changes, with their tests.
use crate::{Durability, Recorded, Result, Store, StoreError, format_time, projections};
use conference_domain::aggregate::{DomainEvent, StoredEvent};
use conference_domain::stream::StreamId;
use conference_domain::{CommandId, DeviceId, Timestamp, neutralise};
use conference_protocol::sync::{
    PullResponse, PulledEvent, PushCommand, PushResult, PushStatus, WireEvent,
};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

/// Where this device syncs and how it trusts the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerLink {
    /// Like `https://10.0.0.5:8443`, without a trailing slash.
    pub url: String,
    pub token: String,
    /// The SHA-256 (hex) of the server certificate pinned at enrollment.
    pub pin: Option<String>,
    /// Plain HTTP beyond this machine was allowed by the person who enrolled it.
    pub insecure_http: bool,
}

/// Where this device syncs, and how far it has pulled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncState {
    pub link: ServerLink,
    pub pulled_after: i64,
    pub last_sync_at: Option<String>,
    pub last_error: Option<String>,
}

pub use conference_protocol::{Rejection, SetAside};

/// What applying a pull did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Events new to this store, as recorded here.
    pub inserted: Vec<Recorded>,
    /// The server's position of each of `inserted`.
    pub inserted_at: Vec<i64>,
    /// Own tentative events that the server confirmed as they were.
    pub confirmed: usize,
    /// Whether tentative events were replaced, so the read models were rebuilt.
    pub rebuilt: bool,
    /// Events set aside: kept, or not even that, but not shown (see `set_aside`).
    pub set_aside: usize,
    /// Events the server's admin neutralised (see `conference_domain::neutralise`): left
    /// out of the state from now on, so the read models were rebuilt.
    pub neutralised: usize,
}

/// device_seq, command id, command type, command JSON, first and last event position.
/// A queued command as `pending_pushes` reads it.
struct OutboxRow {
    seq: i64,
    command_id: Uuid,
    command_type: String,
    command: String,
    first: Option<i64>,
    last: Option<i64>,
    created_at: String,
    reads: Option<String>,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what: what.to_string(),
        reason: e.to_string(),
    }
}

impl Store {
    pub fn sync_state(&self) -> Result<Option<SyncState>> {
        Ok(self
            .conn
            .prepare_cached("SELECT server_url, token, pulled_after, last_sync_at, last_error, server_pin, insecure_http FROM sync_state WHERE singleton = 1")?
            .query_row([], |r| {
                Ok(SyncState {
                    link: ServerLink {
                        url: r.get(0)?,
                        token: r.get(1)?,
                        pin: r.get(5)?,
                        insecure_http: r.get(6)?,
                    },
                    pulled_after: r.get(2)?,
                    last_sync_at: r.get(3)?,
                    last_error: r.get(4)?,
                })
            })
            .optional()?)
    }

    /// Remembers the server, the token and how to trust the server. The first time, the
    /// store stops owning its seat pool: from now on the server does, and this device
    /// sells from its allotment.
    pub fn connect(&mut self, link: &ServerLink) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO sync_state (singleton, server_url, token, server_pin, insecure_http) VALUES (1, ?1, ?2, ?3, ?4)
             ON CONFLICT (singleton) DO UPDATE SET server_url = excluded.server_url, token = excluded.token,
                 server_pin = excluded.server_pin, insecure_http = excluded.insecure_http",
            params![link.url, link.token, link.pin, link.insecure_http],
        )?;
        tx.execute("UPDATE device SET owns_pool = 0", [])?;
        tx.commit()?;
        self.device = crate::read_device(&self.conn)?;
        Ok(())
    }

    /// Whether the server has told this store which device it is.
    pub fn identified(&self) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT identified FROM sync_state WHERE singleton = 1",
                [],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(false))
    }

    /// Takes the device id the server knows this device by. A store that has never had
    /// anything confirmed by a server takes the id over, together with its tentative events;
    /// one that has is refused (its token belongs to another device).
    pub fn adopt_device_id(&mut self, server_id: DeviceId) -> Result<bool> {
        let current = self.device()?.ok_or(StoreError::NotInitialized)?.device_id;
        if current == server_id {
            self.conn
                .execute("UPDATE sync_state SET identified = 1", [])?;
            return Ok(false);
        }
        let confirmed: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM events WHERE server_position IS NOT NULL",
            [],
            |r| r.get(0),
        )?;
        if confirmed > 0 {
            return Err(StoreError::Corrupt {
                what: "device identity".into(),
                reason: format!(
                    "this store is device {current}, but the token belongs to device {server_id}; use this device's own token"
                ),
            });
        }
        let tx = self.conn.transaction()?;
        tx.execute("UPDATE device SET device_id = ?1", [server_id.as_uuid()])?;
        tx.execute(
            "UPDATE events SET device_id = ?1 WHERE device_id = ?2 AND server_position IS NULL",
            params![server_id.as_uuid(), current.as_uuid()],
        )?;
        tx.execute("UPDATE sync_state SET identified = 1", [])?;
        tx.commit()?;
        self.states.clear();
        self.device = crate::read_device(&self.conn)?;
        self.rebuild_read_models(|_, _| {})?;
        Ok(true)
    }

    pub fn record_sync(&mut self, now: Timestamp, error: Option<&str>) -> Result<()> {
        self.conn.execute(
            "UPDATE sync_state SET last_sync_at = CASE WHEN ?2 IS NULL THEN ?1 ELSE last_sync_at END, last_error = ?2",
            params![format_time(now), error],
        )?;
        Ok(())
    }

    /// Commands not yet taken by the server, oldest first, with their events.
    pub fn pending_pushes(&self, limit: usize) -> Result<Vec<PushCommand>> {
        let rows: Vec<OutboxRow> = self
            .conn
            .prepare_cached(
                "SELECT device_seq, command_id, command_type, command, first_position, last_position, created_at, reads
                 FROM outbox WHERE device_seq > (SELECT COALESCE(MAX(pushed_seq), 0) FROM sync_state)
                   AND status = 'pending' ORDER BY device_seq LIMIT ?1",
            )?
            .query_map([limit as i64], |r| {
                Ok(OutboxRow {
                    seq: r.get(0)?,
                    command_id: r.get(1)?,
                    command_type: r.get(2)?,
                    command: r.get(3)?,
                    first: r.get(4)?,
                    last: r.get(5)?,
                    created_at: r.get(6)?,
                    reads: r.get(7)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let events = match (row.first, row.last) {
                (Some(first), Some(last)) => self.wire_events(row.command_id, first, last)?,
                _ => vec![],
            };
            let reads = match row.reads {
                Some(text) => {
                    serde_json::from_str(&text).map_err(|e| corrupt("outbox reads", e))?
                }
                None => vec![],
            };
            out.push(PushCommand {
                device_seq: u64::try_from(row.seq).unwrap_or(0),
                command_id: row.command_id,
                command_type: row.command_type,
                command: serde_json::value::RawValue::from_string(row.command)
                    .map_err(|e| corrupt("outbox command", e))?,
                events,
                now: Some(row.created_at),
                reads,
            });
        }
        Ok(out)
    }

    fn wire_events(&self, command_id: Uuid, first: i64, last: i64) -> Result<Vec<WireEvent>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT stream_key, stream_version, event_type, schema_version, payload, recorded_at FROM events
             WHERE position BETWEEN ?1 AND ?2 AND command_id = ?3 ORDER BY position",
        )?;
        let rows = stmt.query_map(params![first, last, command_id], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, u64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, u32>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (key, version, event_type, schema_version, payload, recorded_at) = row?;
            out.push(WireEvent {
                stream: StreamId::from_key(&key)
                    .map_err(|e| corrupt("stream key", e))?
                    .to_string(),
                version,
                event_type,
                schema_version,
                payload: serde_json::value::RawValue::from_string(payload)
                    .map_err(|e| corrupt("event payload", e))?,
                recorded_at,
            });
        }
        Ok(out)
    }

    /// Records what the server did with pushed commands. Applied commands' events get their
    /// server positions; rebased or rejected commands' tentative events are removed (the
    /// server's outcome arrives by pull) and rejections are kept for the person to read.
    /// Returns whether anything tentative was removed (read models need a rebuild).
    pub fn record_push_results(&mut self, results: &[PushResult], now: Timestamp) -> Result<bool> {
        self.server_told(|store| store.record_push_results_now(results, now))
    }

    /// Runs `work`, whose commits hold only what the server can tell this device again
    /// (push results, pulled pages), with `synchronous=NORMAL`: they do not wait for the
    /// disk. The WAL keeps commits in order, so the next durable commit (any sale) makes
    /// them durable too; power lost before that loses only this bookkeeping, and the next
    /// sync pushes or pulls the same again (every request is safe to repeat, and a pushed
    /// command id is answered with its stored result). Nothing a person did is ever in
    /// such a commit: reactions to pulled events run in units of their own.
    fn server_told<T>(&mut self, work: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.durability != Durability::Full {
            return work(self);
        }
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        // FULL comes back however `work` ends, a panic included: the store may be used
        // again after one (the desktop app recovers a poisoned lock).
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(self)));
        let restored = self.conn.pragma_update(None, "synchronous", "FULL");
        let value = match result {
            Ok(result) => result?,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        restored?;
        Ok(value)
    }

    fn record_push_results_now(&mut self, results: &[PushResult], now: Timestamp) -> Result<bool> {
        let tx = self.conn.transaction()?;
        let mut removed = false;
        let mut pushed_seq: Option<u64> = None;
        for result in results {
            let row: Option<(String, String, Option<i64>, Option<i64>)> = tx
                .prepare_cached(
                    "SELECT status, command_type, first_position, last_position FROM outbox WHERE device_seq = ?1 AND command_id = ?2",
                )?
                .query_row(params![result.device_seq, result.command_id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()?;
            let Some((status, command_type, first, last)) = row else {
                continue;
            };
            if status != "pending" {
                continue;
            }
            let (new_status, text) = match result.status {
                PushStatus::Applied => ("applied", None),
                PushStatus::Rebased => ("rebased", None),
                PushStatus::Rejected => (
                    "rejected",
                    result.reason.as_ref().map(|r| r.message.clone()),
                ),
            };
            let positions: Vec<i64> = match (first, last) {
                // The server applied as many events as the command's range holds: the
                // range is the command's events alone (it pushed them all), so there is
                // nothing to look up.
                (Some(first), Some(last))
                    if result.status == PushStatus::Applied
                        && usize::try_from(last - first + 1).ok()
                            == Some(result.positions.len()) =>
                {
                    (first..=last).collect()
                }
                (Some(first), Some(last)) => tx
                    .prepare_cached("SELECT position FROM events WHERE position BETWEEN ?1 AND ?2 AND command_id = ?3 ORDER BY position")?
                    .query_map(params![first, last, result.command_id], |r| r.get(0))?
                    .collect::<Result<_, _>>()?,
                _ => vec![],
            };
            if result.status == PushStatus::Applied && positions.len() == result.positions.len() {
                let contiguous = |p: &[i64]| p.windows(2).all(|w| w[1] == w[0] + 1);
                match (
                    positions.first(),
                    positions.last(),
                    result.positions.first(),
                ) {
                    // A command's events are one run of positions here and one on the
                    // server (its writer appends them together): one statement for all.
                    (Some(first), Some(last), Some(server_first))
                        if contiguous(&positions) && contiguous(&result.positions) =>
                    {
                        tx.prepare_cached(
                            "UPDATE events SET server_position = position + ?3 WHERE position BETWEEN ?1 AND ?2",
                        )?
                        .execute(params![first, last, server_first - first])?;
                    }
                    _ => {
                        for (local, server) in positions.iter().zip(&result.positions) {
                            tx.prepare_cached(
                                "UPDATE events SET server_position = ?2 WHERE position = ?1",
                            )?
                            .execute(params![local, server])?;
                        }
                    }
                }
            } else if !positions.is_empty() {
                remove_events(&tx, &positions)?;
                removed = true;
            }
            if let (PushStatus::Rejected, Some(reason)) = (result.status, &result.reason) {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO rejections (command_id, command_type, code, message, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![result.command_id, command_type, reason.code, reason.message, format_time(now)])?;
            }
            pushed_seq = pushed_seq.max(Some(result.device_seq));
            tx.prepare_cached(
                "UPDATE outbox SET status = ?2, result = ?3, pushed_at = ?4 WHERE device_seq = ?1",
            )?
            .execute(params![
                result.device_seq,
                new_status,
                text.or_else(|| serde_json::to_string(result).ok()),
                format_time(now)
            ])?;
        }
        if let Some(seq) = pushed_seq {
            tx.prepare_cached("UPDATE sync_state SET pushed_seq = MAX(pushed_seq, ?1)")?
                .execute([seq])?;
        }
        tx.commit()?;
        // Tentative events may have gone: cached states of their streams are stale.
        self.states.clear();
        if removed {
            self.rebuild_read_models(|_, _| {})?;
        }
        Ok(removed)
    }

    /// Applies one page of a pull: confirms own events, inserts everyone else's (projecting
    /// them), and moves the pull cursor, all in one transaction. A tentative local event in
    /// the way of a server event (another writer got there first) is removed with the rest
    /// of its command; the command stays in the outbox, and the read models are rebuilt.
    pub fn apply_pull(&mut self, page: &PullResponse) -> Result<Applied> {
        self.server_told(|store| store.apply_pull_now(page))
    }

    fn apply_pull_now(&mut self, page: &PullResponse) -> Result<Applied> {
        let tx = self.conn.transaction()?;
        let mut applied = Applied::default();
        let mut projector = projections::Projector::default();
        for pulled in &page.events {
            // Each event on its own: one this device cannot take is set aside with why,
            // and the page goes on (nothing a server sends stops a device's sync).
            tx.execute_batch("SAVEPOINT pulled")?;
            let taken = applied.inserted.len();
            match apply_one(&tx, pulled, &mut applied, &mut projector) {
                Ok(()) => tx.execute_batch("RELEASE pulled")?,
                Err(error) if sets_aside(&error) => {
                    tx.execute_batch("ROLLBACK TO pulled; RELEASE pulled")?;
                    applied.inserted.truncate(taken);
                    applied.inserted_at.truncate(taken);
                    set_aside(&tx, pulled, &error.to_string())?;
                    applied.set_aside += 1;
                }
                Err(error) => return Err(error),
            }
        }
        projector.flush(&tx)?;
        for outcome in &page.outcomes {
            if outcome.status == PushStatus::Rejected
                && let Some(reason) = &outcome.reason
            {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO rejections (command_id, command_type, code, message, recorded_at)
                     SELECT command_id, command_type, ?2, ?3, created_at FROM outbox WHERE command_id = ?1",
                )?
                .execute(params![outcome.command_id, reason.code, reason.message])?;
            }
        }
        tx.execute(
            "UPDATE sync_state SET pulled_after = MAX(pulled_after, ?1)",
            [page.next_after],
        )?;
        tx.commit()?;
        self.states.clear();
        if applied.rebuilt {
            self.rebuild_read_models(|_, _| {})?;
        }
        Ok(applied)
    }

    pub fn rejections(&self, unseen_only: bool) -> Result<Vec<Rejection>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT command_id, command_type, code, message, recorded_at, seen FROM rejections
                 WHERE seen = 0 OR ?1 = 0 ORDER BY recorded_at",
            )?
            .query_map([unseen_only], |r| {
                Ok(Rejection {
                    command_id: r.get(0)?,
                    command_type: r.get(1)?,
                    code: r.get(2)?,
                    message: r.get(3)?,
                    recorded_at: r.get(4)?,
                    seen: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?)
    }

    /// Events pulled from the server that this device does not show, oldest first.
    pub fn set_aside(&self) -> Result<Vec<SetAside>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT server_position, stream, event_type, reason, set_aside_at FROM set_aside ORDER BY server_position",
            )?
            .query_map([], |r| {
                Ok(SetAside {
                    server_position: r.get(0)?,
                    stream: r.get(1)?,
                    event_type: r.get(2)?,
                    reason: r.get(3)?,
                    set_aside_at: r.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?)
    }

    pub fn mark_rejections_seen(&mut self) -> Result<usize> {
        Ok(self
            .conn
            .execute("UPDATE rejections SET seen = 1 WHERE seen = 0", [])?)
    }

    /// Commands waiting for the server.
    pub fn pending_count(&self) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE device_seq > (SELECT COALESCE(MAX(pushed_seq), 0) FROM sync_state)
               AND status = 'pending'",
            [],
            |r| r.get(0),
        )?)
    }
}

/// Whether an error taking one pulled event is about that event (it contradicts this
/// store's log, or breaks a constraint), not about the store (a full disk, a lock): the
/// event is set aside and the page goes on.
fn sets_aside(error: &StoreError) -> bool {
    match error {
        StoreError::Corrupt { .. } | StoreError::Conflict(_) => true,
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
            e.code == rusqlite::ErrorCode::ConstraintViolation
        }
        _ => false,
    }
}

/// Notes a pulled event this device does not show, and why.
fn set_aside(tx: &rusqlite::Transaction<'_>, pulled: &PulledEvent, reason: &str) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO set_aside (server_position, stream, event_type, reason, set_aside_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
    )?
    .execute(params![
        pulled.position,
        pulled.event.stream,
        pulled.event.event_type,
        reason,
        crate::format_time(chrono::Utc::now())
    ])?;
    Ok(())
}

fn remove_events(tx: &rusqlite::Transaction<'_>, positions: &[i64]) -> Result<()> {
    for position in positions {
        let key: Option<Vec<u8>> = tx
            .prepare_cached(
                "SELECT stream_key FROM events WHERE position = ?1 AND server_position IS NULL",
            )?
            .query_row([position], |r| r.get(0))
            .optional()?;
        if let Some(key) = key {
            tx.prepare_cached("DELETE FROM snapshots WHERE stream_key = ?1")?
                .execute([&key])?;
            tx.prepare_cached(
                "DELETE FROM events WHERE position = ?1 AND server_position IS NULL",
            )?
            .execute([position])?;
        }
    }
    Ok(())
}

fn apply_one(
    tx: &rusqlite::Transaction<'_>,
    pulled: &PulledEvent,
    applied: &mut Applied,
    projector: &mut projections::Projector,
) -> Result<()> {
    let known: Option<i64> = tx
        .prepare_cached("SELECT position FROM events WHERE server_position = ?1")?
        .query_row([pulled.position], |r| r.get(0))
        .optional()?;
    if known.is_some() {
        return Ok(());
    }
    let stream = StreamId::parse(&pulled.event.stream).map_err(|e| corrupt("pulled stream", e))?;
    let key = stream.key();
    let local: Option<(i64, Uuid, Option<i64>, String, String)> = tx
        .prepare_cached(
            "SELECT position, command_id, server_position, event_type, payload FROM events WHERE stream_key = ?1 AND stream_version = ?2",
        )?
        .query_row(params![key, pulled.event.version], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    let same_as_pulled = |event_type: &str, payload: &str| {
        event_type == pulled.event.event_type
            && (payload == pulled.event.payload.get()
                || serde_json::from_str::<serde_json::Value>(payload).ok()
                    == Some(pulled.event.payload_value()))
    };
    let local = local.map(|(position, command_id, server, event_type, payload)| {
        let same = command_id == pulled.command_id && same_as_pulled(&event_type, &payload);
        (position, command_id, server, same)
    });
    match local {
        Some((position, _, None, true)) => {
            // Our own event, as we wrote it: now confirmed.
            tx.prepare_cached("UPDATE events SET server_position = ?2 WHERE position = ?1")?
                .execute(params![position, pulled.position])?;
            applied.confirmed += 1;
            return Ok(());
        }
        Some((_, command_id, None, false)) => {
            // A tentative event of ours holds the version the server gave to something else
            // (another writer, or our own command re-executed by the server): ours go, and
            // the outbox still has the command if the server has not taken it yet.
            let positions: Vec<i64> = tx
                .prepare_cached(
                    "SELECT position FROM events WHERE command_id = ?1 AND server_position IS NULL",
                )?
                .query_map([command_id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            remove_events(tx, &positions)?;
            applied.rebuilt = true;
        }
        Some((_, _, Some(_), _)) => {
            return Err(corrupt(
                "pulled event",
                format!(
                    "{} version {} is already confirmed with another position",
                    pulled.event.stream, pulled.event.version
                ),
            ));
        }
        None => {}
    }
    let payload = pulled.event.payload.get();
    tx.prepare_cached(
        "INSERT INTO events (stream_key, stream_version, event_type, schema_version, payload, command_id, device_id, recorded_at, server_position)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        key,
        pulled.event.version,
        pulled.event.event_type,
        pulled.event.schema_version,
        payload,
        pulled.command_id,
        pulled.device_id,
        pulled.event.recorded_at,
        pulled.position
    ])?;
    let position = tx.last_insert_rowid();
    if neutralise::is_marker(&pulled.event.event_type) {
        // The server's admin takes an earlier event of this stream out: every load of the
        // stream folds without it from now on, and the read models are built again.
        return match neutralise::Neutralised::decode(
            pulled.event.version,
            pulled.event.schema_version,
            pulled.event.payload.get(),
        ) {
            Ok(_) => {
                tx.prepare_cached("DELETE FROM snapshots WHERE stream_key = ?1")?
                    .execute([&key])?;
                applied.neutralised += 1;
                applied.rebuilt = true;
                Ok(())
            }
            Err(e) => {
                set_aside(tx, pulled, &e.to_string())?;
                applied.set_aside += 1;
                Ok(())
            }
        };
    }
    // An event this build cannot read is kept as it is (never dropped); it only skips the
    // read models until an upgrade can read it.
    // An event that carries values the domain never writes (a server that misbehaves) is
    // kept the same way, so it can never make this device's arithmetic fail.
    let decoded = DomainEvent::decode_text(
        stream.kind,
        &pulled.event.event_type,
        pulled.event.schema_version,
        pulled.event.payload.get(),
    )
    .map_err(|e| e.to_string())
    .and_then(|event| {
        conference_domain::limits::check(&event)
            .map(|()| event)
            .map_err(|e| e.to_string())
    })
    .and_then(|event| {
        // Fields the domain does not write are refused here as the server refuses them in
        // a push (those under a flattened part are not seen: they are ignored, unused).
        let unknown = DomainEvent::unknown_fields(
            stream.kind,
            &pulled.event.event_type,
            pulled.event.schema_version,
            pulled.event.payload.get(),
        )
        .map_err(|e| e.to_string())?;
        if unknown.is_empty() {
            Ok(event)
        } else {
            Err(format!(
                "it carries fields the domain does not write: {}",
                unknown.join(", ")
            ))
        }
    });
    match decoded {
        Ok(event) => {
            let recorded = StoredEvent {
                position,
                stream,
                version: pulled.event.version,
                command_id: CommandId::from_uuid(pulled.command_id),
                device_id: DeviceId::from_uuid(pulled.device_id),
                recorded_at: crate::parse_time(&pulled.event.recorded_at)?,
                event,
            };
            if !applied.rebuilt {
                projector.project(tx, &recorded)?;
            }
            applied.inserted.push(recorded);
            applied.inserted_at.push(pulled.position);
        }
        Err(e) => {
            tracing::warn!(position = pulled.position, error = %e, "kept an event this build cannot show");
            set_aside(tx, pulled, &e)?;
            applied.set_aside += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use conference_protocol::sync::{PulledEvent, WireEvent, raw_payload};

    fn synchronous(store: &Store) -> i64 {
        store
            .conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .expect("synchronous")
    }

    /// `PRAGMA synchronous` reads 2 for FULL.
    const FULL: i64 = 2;

    #[test]
    fn push_results_and_pulled_pages_leave_the_store_as_durable_as_before() {
        let dir = tempfile::tempdir().expect("folder");
        let mut store = Store::open(dir.path().join("door.db")).expect("store");
        assert_eq!(synchronous(&store), FULL);
        store
            .record_push_results(&[], chrono::Utc::now())
            .expect("push results");
        assert_eq!(synchronous(&store), FULL);
        let page = |events| PullResponse {
            events,
            next_after: 1,
            head: 1,
            outcomes: vec![],
        };
        store.apply_pull(&page(vec![])).expect("an empty page");
        assert_eq!(synchronous(&store), FULL);
        // A page with an event the store cannot take sets it aside, and leaves the store
        // durable too.
        let unreadable = PulledEvent {
            position: 1,
            device_id: Uuid::from_u128(1),
            command_id: Uuid::from_u128(2),
            event: WireEvent {
                stream: "no such stream".into(),
                version: 1,
                event_type: "OrderPlaced".into(),
                schema_version: 1,
                payload: raw_payload(&serde_json::json!({})),
                recorded_at: "2026-11-27T00:00:00.000000Z".into(),
            },
        };
        let applied = store
            .apply_pull(&page(vec![unreadable]))
            .expect("set aside");
        assert_eq!(applied.set_aside, 1);
        assert_eq!(synchronous(&store), FULL);
        // Work that fails leaves it durable.
        let failed = store.server_told(|_| -> Result<()> { Err(StoreError::NotInitialized) });
        assert!(failed.is_err());
        assert_eq!(synchronous(&store), FULL);
        // And so does a panic inside.
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.server_told(|_| -> Result<()> { panic!("a bug while syncing") })
        }));
        assert!(panicked.is_err());
        assert_eq!(synchronous(&store), FULL);
    }
}
