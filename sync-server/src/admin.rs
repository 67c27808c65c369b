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
