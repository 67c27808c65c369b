//! Devices, their roles and their tokens: who may push which commands and see which
//! conferences.
use crate::error::{ApiError, DbError};
use crate::store::{Db, DeviceRow};
use conference_protocol::sync::DeviceRecord;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use uuid::Uuid;

/// What a device is for; it limits the commands it may push.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Organizer,
    Door,
    BackOffice,
}

const DOOR_COMMANDS: &[&str] = &[
    "place_order",
    "update_order",
    "assign_registrant",
    "pay_order",
    "confirm_order",
    "cancel_order",
    "assign_seat",
    "unassign_seat",
    "sell",
    "tick",
    "receive_allotment",
    "return_allotment",
];

const BACK_OFFICE_COMMANDS: &[&str] = &[
    "cancel_order",
    "assign_registrant",
    "assign_seat",
    "unassign_seat",
    "pay_order",
    "confirm_order",
    "tick",
];

/// Commands of the first release (V1) under their V2 names: a V1 device pushing during a
/// rolling upgrade is judged by what its command is now.
const V1_COMMANDS: &[(&str, &str)] = &[("confirm_order_payment", "confirm_order")];

/// A pushed command's current name (V1 names are mapped, others kept).
#[must_use]
pub fn current_command_type(command_type: &str) -> &str {
    V1_COMMANDS
        .iter()
        .find(|(v1, _)| *v1 == command_type)
        .map_or(command_type, |(_, now)| now)
}

impl Role {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Organizer => "organizer",
            Self::Door => "door",
            Self::BackOffice => "back_office",
        }
    }

    /// `organizer`, `door`, `back_office` (or `back-office`).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "organizer" => Some(Self::Organizer),
            "door" => Some(Self::Door),
            "back_office" | "back-office" => Some(Self::BackOffice),
            _ => None,
        }
    }

    /// Whether a device of this role may push commands of `command_type`.
    #[must_use]
    pub fn may_push(self, command_type: &str) -> bool {
        match self {
            Self::Organizer => true,
            Self::Door => DOOR_COMMANDS.contains(&current_command_type(command_type)),
            Self::BackOffice => BACK_OFFICE_COMMANDS.contains(&current_command_type(command_type)),
        }
    }

    #[must_use]
    pub fn may_request_allotments(self) -> bool {
        matches!(self, Self::Organizer | Self::Door)
    }

    #[must_use]
    pub fn may_reconcile(self) -> bool {
        matches!(self, Self::Organizer | Self::BackOffice)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A device as a request sees it, after its token checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    /// Slugs of the conferences the device may see; empty means all.
    pub conferences: Vec<String>,
}

impl Device {
    #[must_use]
    pub fn is_scoped(&self) -> bool {
        !self.conferences.is_empty()
    }

    /// The ids of the conferences this device may see, or `None` for all of them.
    pub(crate) fn allowed_ids(&self, db: &mut dyn Db) -> Result<Option<HashSet<Uuid>>, DbError> {
        if !self.is_scoped() {
            return Ok(None);
        }
        let mut ids = HashSet::new();
        for slug in &self.conferences {
            if let Some(id) = db.conference_by_slug(slug)? {
                ids.insert(id);
            }
        }
        Ok(Some(ids))
    }

    pub(crate) fn may_see_slug(&self, slug: &str) -> bool {
        !self.is_scoped() || self.conferences.iter().any(|c| c == slug)
    }
}

/// A fresh token: 32 random bytes as 64 hex characters.
#[must_use]
pub fn new_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the server stores of a token.
#[must_use]
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

pub(crate) fn parse_conferences(text: &str) -> Result<Vec<String>, DbError> {
    serde_json::from_str(text).map_err(|e| DbError::corrupt("a device's conference list", e))
}

/// The device holding `token`, if it is known and not revoked.
pub(crate) fn authenticate(db: &mut dyn Db, token: &str) -> Result<Device, ApiError> {
    let Some(row) = db.device_by_token(&token_hash(token))? else {
        return Err(ApiError::Unauthorized(
            "This token is not known to the server; ask the server's admin for a device token"
                .into(),
        ));
    };
    if row.revoked {
        return Err(ApiError::Unauthorized(format!(
            "Device `{}` was revoked; ask the server's admin for a new token",
            row.name
        )));
    }
    let role = Role::parse(&row.role).ok_or_else(|| {
        DbError::corrupt(format!("the role of device {}", row.device_id), &row.role)
    })?;
    Ok(Device {
        id: row.device_id,
        name: row.name,
        role,
        conferences: parse_conferences(&row.conferences)?,
    })
}

fn record(row: DeviceRow) -> Result<DeviceRecord, DbError> {
    Ok(DeviceRecord {
        device_id: row.device_id,
        conferences: parse_conferences(&row.conferences)?,
        name: row.name,
        role: row.role,
        revoked: row.revoked,
        next_seq: row.next_seq,
    })
}

pub(crate) fn list(db: &mut dyn Db) -> Result<Vec<DeviceRecord>, DbError> {
    db.devices()?.into_iter().map(record).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_limit_command_types() {
        assert!(Role::Organizer.may_push("add_seat_type"));
        assert!(Role::Organizer.may_push("sell"));
        assert!(Role::Door.may_push("sell"));
        assert!(!Role::Door.may_push("add_seat_type"));
        assert!(Role::BackOffice.may_push("cancel_order"));
        assert!(!Role::BackOffice.may_push("sell"));
        assert!(!Role::BackOffice.may_push("place_order"));
        // V1's name for confirming an order is judged as V2's.
        assert_eq!(
            current_command_type("confirm_order_payment"),
            "confirm_order"
        );
        assert!(Role::Door.may_push("confirm_order_payment"));
        assert!(Role::BackOffice.may_push("confirm_order_payment"));
        assert_eq!(current_command_type("sell"), "sell");
        assert_eq!(Role::parse("back-office"), Some(Role::BackOffice));
        assert_eq!(Role::parse("admin"), None);
    }

    #[test]
    fn tokens_are_64_hex_characters_and_hash_to_32_bytes() {
        let token = new_token();
        assert_eq!(token.len(), 64);
        assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(token, new_token());
        assert_eq!(token_hash(&token).len(), 32);
    }
}
