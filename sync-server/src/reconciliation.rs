//! The back office's reconciliation queue: reading it, and marking items resolved.
use crate::device::Device;
use crate::error::{ApiError, DbError};
use conference_protocol::sync::ReconciliationItem;
use rusqlite::{Connection, params};
use uuid::Uuid;

const SELECT: &str = "SELECT id, kind, conference_id, device_id, command_id, detail, created_at, resolved_at FROM reconciliation";

fn read_row(row: &rusqlite::Row<'_>) -> Result<ReconciliationItem, DbError> {
    let id: i64 = row.get(0)?;
    let detail: String = row.get(5)?;
    Ok(ReconciliationItem {
        id,
        kind: row.get(1)?,
        conference_id: row.get(2)?,
        device_id: row.get(3)?,
        command_id: row.get(4)?,
        detail: serde_json::from_str(&detail)
            .map_err(|e| DbError::corrupt(format!("reconciliation item {id}"), e))?,
        created_at: row.get(6)?,
        resolved: row.get::<_, Option<String>>(7)?.is_some(),
    })
}

/// Every item (or only the open ones), oldest first.
pub fn list(conn: &Connection, include_resolved: bool) -> Result<Vec<ReconciliationItem>, DbError> {
    let sql = format!("{SELECT} WHERE resolved_at IS NULL OR ?1 ORDER BY id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([include_resolved])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(read_row(row)?);
    }
    Ok(out)
}

fn get(conn: &Connection, id: i64) -> Result<Option<ReconciliationItem>, DbError> {
    let sql = format!("{SELECT} WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id])?;
    rows.next()?.map(read_row).transpose()
}

fn require_role(device: &Device) -> Result<(), ApiError> {
    if device.role.may_reconcile() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "forbidden_role",
            format!(
                "A {} device does not reconcile; the organizer and the back office do",
                device.role
            ),
        ))
    }
}

/// The items a device may see: all of them, or those of its conferences.
pub(crate) fn list_for(
    conn: &Connection,
    device: &Device,
    include_resolved: bool,
) -> Result<Vec<ReconciliationItem>, ApiError> {
    require_role(device)?;
    let allowed = device.allowed_ids(conn)?;
    Ok(list(conn, include_resolved)?
        .into_iter()
        .filter(|item| visible(allowed.as_ref(), item.conference_id))
        .collect())
}

fn visible(allowed: Option<&std::collections::HashSet<Uuid>>, conference: Option<Uuid>) -> bool {
    match (allowed, conference) {
        (None, _) => true,
        (Some(allowed), Some(id)) => allowed.contains(&id),
        (Some(_), None) => false,
    }
}

/// Marks an item resolved (again is fine) and returns it.
pub(crate) fn resolve(
    conn: &Connection,
    device: &Device,
    id: i64,
    now: &str,
) -> Result<ReconciliationItem, ApiError> {
    require_role(device)?;
    let allowed = device.allowed_ids(conn)?;
    let not_found = || {
        ApiError::not_found(
            "not_found",
            format!("There is no reconciliation item {id}; GET /v1/reconciliation lists them"),
        )
    };
    let item = get(conn, id)?.ok_or_else(not_found)?;
    if !visible(allowed.as_ref(), item.conference_id) {
        return Err(not_found());
    }
    conn.prepare_cached(
        "UPDATE reconciliation SET resolved_at = COALESCE(resolved_at, ?2) WHERE id = ?1",
    )?
    .execute(params![id, now])?;
    get(conn, id)?.ok_or_else(not_found)
}
