//! What the server's admin does from the command line, straight on the database (also
//! while the server runs: SQLite's WAL lets both work, and the server reads devices fresh
//! on every request, so a revoked token stops working at once).
use crate::db;
use crate::device::{self, Role};
use crate::error::DbError;
use crate::store::{self, Database, DeviceInsert};
use conference_protocol::sync::{DeviceRecord, ReconciliationItem};
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
}

/// A new device's id and token. The token is shown once: the server keeps only its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NewDevice {
    pub device_id: Uuid,
    pub token: String,
}

/// Registers a device with a fresh id. `conferences` are slugs; empty means every
/// conference.
pub fn add_device(
    database: &Database,
    name: &str,
    role: Role,
    conferences: &[String],
) -> Result<NewDevice, AdminError> {
    add_device_with_id(database, None, name, role, conferences)
}

/// Registers a device under the id its own store already has (`conference device` shows
/// it), so the server's grants and the device's allotment stream name the same device.
pub fn add_device_with_id(
    database: &Database,
    device_id: Option<Uuid>,
    name: &str,
    role: Role,
    conferences: &[String],
) -> Result<NewDevice, AdminError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AdminError::Invalid(
            "Give the device a name of 1 to 100 characters with --name".into(),
        ));
    }
    let mut slugs = Vec::new();
    for slug in conferences {
        let slug = conference_domain::values::Slug::parse(slug)
            .map_err(|e| AdminError::Invalid(format!("--conference {slug}: {e}")))?;
        if !slugs.contains(&slug.as_str().to_string()) {
            slugs.push(slug.as_str().to_string());
        }
    }
    let mut conn = store::open_admin(database)?;
    let device = NewDevice {
        device_id: device_id.unwrap_or_else(Uuid::now_v7),
        token: device::new_token(),
    };
    let taken = store::with(conn.as_mut(), |db| db.device_exists(device.device_id))?;
    if taken {
        return Err(AdminError::Invalid(format!(
            "Device {} is already registered; `conference-sync device list` shows it",
            device.device_id
        )));
    }
    let list = serde_json::to_string(&slugs)
        .map_err(|e| AdminError::Invalid(format!("the conference list did not serialize: {e}")))?;
    let hash = device::token_hash(&device.token);
    let now = db::now_text();
    store::with(conn.as_mut(), |db| {
        db.insert_device(&DeviceInsert {
            device_id: device.device_id,
            name,
            role: role.as_str(),
            token_hash: &hash,
            conferences: &list,
            created_at: &now,
        })
    })?;
    Ok(device)
}

pub fn list_devices(database: &Database) -> Result<Vec<DeviceRecord>, AdminError> {
    let mut conn = store::open_admin(database)?;
    Ok(store::with(conn.as_mut(), device::list)?)
}

/// Revokes a device: its token stops working at once. Revoking twice is fine.
pub fn revoke_device(database: &Database, device_id: Uuid) -> Result<DeviceRecord, AdminError> {
    let mut conn = store::open_admin(database)?;
    let now = db::now_text();
    let changed = store::with(conn.as_mut(), |db| db.revoke_device(device_id, &now))?;
    if !changed {
        return Err(AdminError::NotFound(format!(
            "No device has the id {device_id}; `conference-sync device list` shows them"
        )));
    }
    store::with(conn.as_mut(), device::list)?
        .into_iter()
        .find(|d| d.device_id == device_id)
        .ok_or_else(|| AdminError::NotFound(format!("device {device_id} vanished")))
}

/// The reconciliation queue (open items, or all of them).
pub fn list_reconciliation(
    database: &Database,
    include_resolved: bool,
) -> Result<Vec<ReconciliationItem>, AdminError> {
    let mut conn = store::open_admin(database)?;
    Ok(store::with(conn.as_mut(), |db| {
        crate::reconciliation::list(db, include_resolved)
    })?)
}

/// What `neutralise` appended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NeutralisedEvent {
    /// The event left out from now on (it stays stored).
    pub position: i64,
    pub stream: String,
    pub event_type: String,
    pub version: u64,
    /// Where the marker was stored.
    pub marker_position: i64,
}

/// Takes the event at `position` out of every fold and read model, on the server and on
/// every device that pulls its conference, without rewriting it: the server appends an
/// `EventNeutralised` marker to the event's stream (see `conference_domain::neutralise`),
/// and the back office hears of it. For the events `conference-sync verify` lists.
///
/// Appends through a writer of its own, as a server instance does (SQLite's write lock or
/// PostgreSQL's log lock), so it can run while the server serves.
pub fn neutralise(
    database: &Database,
    position: i64,
    reason: &str,
) -> Result<NeutralisedEvent, AdminError> {
    use conference_domain::neutralise::{self, Neutralised};
    use conference_domain::stream::StreamId;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AdminError::Invalid(
            "Say why with --reason (1 to 500 characters): the devices' people and the back office read it".into(),
        ));
    }
    let mut opened = store::open(database)?;
    let server_device = opened.server_device;
    let mut outcome: Option<Result<NeutralisedEvent, AdminError>> = None;
    let written = opened.writer.transaction(&mut |db| {
        let refuse = |e: AdminError| Some(Err(e));
        let row = db
            .events_page(position.saturating_sub(1), 1, None)?
            .into_iter()
            .find(|row| row.position == position);
        let Some(row) = row else {
            outcome = refuse(AdminError::NotFound(format!(
                "No event is stored at position {position}; `conference-sync verify` lists positions"
            )));
            return Ok(());
        };
        let stream = StreamId::from_key(&row.stream_key)
            .map_err(|e| DbError::corrupt(format!("event {position}"), e))?;
        if neutralise::is_marker(&row.event_type) {
            outcome = refuse(AdminError::Invalid(format!(
                "The event at position {position} is itself a neutralisation; it cannot be taken back"
            )));
            return Ok(());
        }
        let mut at = 0;
        let mut already = false;
        db.stream_events_after(&row.stream_key, 0, &mut |event_type, schema, payload| {
            at += 1;
            if neutralise::is_marker(event_type)
                && Neutralised::decode(at, schema, payload)
                    .is_ok_and(|m| m.version == row.stream_version)
            {
                already = true;
            }
            Ok(())
        })?;
        if already {
            outcome = refuse(AdminError::Invalid(format!(
                "The event at position {position} ({} version {}) is already neutralised",
                stream, row.stream_version
            )));
            return Ok(());
        }
        let marker = Neutralised {
            version: row.stream_version,
            position,
            reason: reason.to_string(),
        };
        let payload = marker.to_payload();
        let now = db::now_text();
        let marker_position = db.insert_event(&store::EventInsert {
            stream_key: &row.stream_key,
            stream_version: at + 1,
            conference_id: row.conference_id,
            event_type: neutralise::EVENT_TYPE,
            schema_version: neutralise::SCHEMA_VERSION,
            payload: &payload,
            command_id: Uuid::now_v7(),
            device_id: server_device,
            recorded_at: &now,
        })?;
        let detail = serde_json::json!({
            "position": position,
            "stream": stream.to_string(),
            "event_type": row.event_type,
            "written_by": row.device_id,
            "reason": reason,
            "marker_position": marker_position,
        })
        .to_string();
        db.insert_reconciliation(&store::ReconciliationInsert {
            kind: "event_neutralised",
            conference_id: row.conference_id,
            device_id: row.device_id,
            command_id: Some(row.command_id),
            detail: &detail,
            created_at: &now,
        })?;
        outcome = Some(Ok(NeutralisedEvent {
            position,
            stream: stream.to_string(),
            event_type: row.event_type.clone(),
            version: row.stream_version,
            marker_position,
        }));
        Ok(())
    });
    written.map_err(|e| AdminError::Invalid(format!("The marker was not stored: {e}")))?;
    outcome.unwrap_or_else(|| Err(AdminError::Invalid("nothing was done".into())))
}
