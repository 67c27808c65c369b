//! The back office's reconciliation queue: reading it, and marking items resolved.
use crate::device::Device;
use crate::error::{ApiError, DbError};
use crate::store::Db;
use conference_protocol::sync::ReconciliationItem;
use uuid::Uuid;

/// Every open item (and resolved ones with `include_resolved`), oldest first.
/// Items a page holds by default, and at most.
pub(crate) const PAGE: u32 = 500;
pub(crate) const MAX_PAGE: u32 = 1_000;

/// Every item (open ones, or all), page by page.
pub(crate) fn list(
    db: &mut dyn Db,
    include_resolved: bool,
) -> Result<Vec<ReconciliationItem>, DbError> {
    let mut items = Vec::new();
    loop {
        let after = items.last().map_or(0, |i: &ReconciliationItem| i.id);
        let page = db.reconciliation_items(include_resolved, after, MAX_PAGE)?;
        let done = page.len() < MAX_PAGE as usize;
        items.extend(page);
        if done {
            return Ok(items);
        }
    }
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
/// Up to `limit` of them after item `after`, oldest first: a device pages through the
/// queue (`after` = the last id it got) until a page comes back short.
pub(crate) fn list_for(
    db: &mut dyn Db,
    device: &Device,
    include_resolved: bool,
    after: i64,
    limit: u32,
) -> Result<Vec<ReconciliationItem>, ApiError> {
    require_role(device)?;
    let allowed = device.allowed_ids(db)?;
    let mut items = Vec::new();
    let mut from = after;
    while items.len() < limit as usize {
        let page = db.reconciliation_items(include_resolved, from, limit)?;
        let done = page.len() < limit as usize;
        if let Some(last) = page.last() {
            from = last.id;
        }
        items.extend(
            page.into_iter()
                .filter(|item| visible(allowed.as_ref(), item.conference_id)),
        );
        if done {
            break;
        }
    }
    items.truncate(limit as usize);
    Ok(items)
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
    db: &mut dyn Db,
    device: &Device,
    id: i64,
    now: &str,
) -> Result<ReconciliationItem, ApiError> {
    require_role(device)?;
    let allowed = device.allowed_ids(db)?;
    let not_found = || {
        ApiError::not_found(
            "not_found",
            format!("There is no reconciliation item {id}; GET /v1/reconciliation lists them"),
        )
    };
    let item = db.reconciliation_item(id)?.ok_or_else(not_found)?;
    if !visible(allowed.as_ref(), item.conference_id) {
        return Err(not_found());
    }
    db.resolve_reconciliation(id, now)?;
    db.reconciliation_item(id)?.ok_or_else(not_found)
}
