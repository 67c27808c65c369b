//! Stream ids: which aggregate instance a stream holds. Their text form is stored, so it is
//! frozen: `order/<uuid>`, `seats/<conference>` (the pool), `seats/<conference>/<device>`
//! (a device's allotment).
use crate::ids::{ConferenceId, DeviceId, OrderId, PaymentId};
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamKind {
    Conference,
    Seats,
    Promos,
    Order,
    Payment,
    Assignments,
}

impl StreamKind {
    pub const ALL: [StreamKind; 6] = [
        Self::Conference,
        Self::Seats,
        Self::Promos,
        Self::Order,
        Self::Payment,
        Self::Assignments,
    ];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Conference => "conference",
            Self::Seats => "seats",
            Self::Promos => "promos",
            Self::Order => "order",
            Self::Payment => "payment",
            Self::Assignments => "assignments",
        }
    }

    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The stored one-byte code of the kind, part of every stream key. Frozen.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Self::Conference => 1,
            Self::Seats => 2,
            Self::Promos => 3,
            Self::Order => 4,
            Self::Payment => 5,
            Self::Assignments => 6,
        }
    }

    #[must_use]
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// Who holds a set of seats: the conference's pool, or one device's allotment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "device", rename_all = "snake_case")]
pub enum Holder {
    Pool,
    Device(DeviceId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId {
    pub kind: StreamKind,
    pub id: Uuid,
    /// Only for seat streams: whose seats they are.
    pub holder: Holder,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a stream id")]
pub struct InvalidStreamId(pub String);

impl StreamId {
    #[must_use]
    pub fn conference(id: ConferenceId) -> Self {
        Self::plain(StreamKind::Conference, id.as_uuid())
    }
    #[must_use]
    pub fn seats(conference: ConferenceId, holder: Holder) -> Self {
        Self {
            kind: StreamKind::Seats,
            id: conference.as_uuid(),
            holder,
        }
    }
    #[must_use]
    pub fn promos(conference: ConferenceId) -> Self {
        Self::plain(StreamKind::Promos, conference.as_uuid())
    }
    #[must_use]
    pub fn order(id: OrderId) -> Self {
        Self::plain(StreamKind::Order, id.as_uuid())
    }
    #[must_use]
    pub fn payment(id: PaymentId) -> Self {
        Self::plain(StreamKind::Payment, id.as_uuid())
    }
    #[must_use]
    pub fn assignments(order: OrderId) -> Self {
        Self::plain(StreamKind::Assignments, order.as_uuid())
    }
    const fn plain(kind: StreamKind, id: Uuid) -> Self {
        Self {
            kind,
            id,
            holder: Holder::Pool,
        }
    }

    /// The stored key: the aggregate's UUID first, then the kind, then the device of a seat
    /// allotment. UUIDv7 ids put the streams one command creates (an order, its payment,
    /// its assignments) side by side in the index, so an append touches few pages.
    #[must_use]
    pub fn key(&self) -> Vec<u8> {
        let mut key = Vec::with_capacity(33);
        key.extend_from_slice(self.id.as_bytes());
        key.push(self.kind.code());
        if let Holder::Device(device) = self.holder {
            key.extend_from_slice(device.as_uuid().as_bytes());
        }
        key
    }

    pub fn from_key(key: &[u8]) -> Result<Self, InvalidStreamId> {
        let bad = || InvalidStreamId(format!("{key:02x?}"));
        let (id, rest) = key.split_at_checked(16).ok_or_else(bad)?;
        let id = Uuid::from_slice(id).map_err(|_| bad())?;
        let (&code, device) = rest.split_first().ok_or_else(bad)?;
        let kind = StreamKind::from_code(code).ok_or_else(bad)?;
        let holder = match device {
            [] => Holder::Pool,
            bytes if kind == StreamKind::Seats => Holder::Device(DeviceId::from_uuid(
                Uuid::from_slice(bytes).map_err(|_| bad())?,
            )),
            _ => return Err(bad()),
        };
        Ok(Self { kind, id, holder })
    }

    pub fn parse(text: &str) -> Result<Self, InvalidStreamId> {
        let bad = || InvalidStreamId(text.to_string());
        let mut parts = text.split('/');
        let kind = parts.next().and_then(StreamKind::parse).ok_or_else(bad)?;
        let id = parts
            .next()
            .and_then(|p| Uuid::parse_str(p).ok())
            .ok_or_else(bad)?;
        let holder = match parts.next() {
            None => Holder::Pool,
            Some(device) if kind == StreamKind::Seats => {
                Holder::Device(DeviceId::parse(device).map_err(|_| bad())?)
            }
            Some(_) => return Err(bad()),
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Self { kind, id, holder })
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind.as_str(), self.id)?;
        if let Holder::Device(device) = self.holder {
            write!(f, "/{device}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_round_trip_through_text() {
        let conf = ConferenceId::from_uuid(Uuid::from_u128(1));
        let dev = DeviceId::from_uuid(Uuid::from_u128(2));
        for id in [
            StreamId::conference(conf),
            StreamId::seats(conf, Holder::Pool),
            StreamId::seats(conf, Holder::Device(dev)),
            StreamId::order(OrderId::from_uuid(Uuid::from_u128(3))),
        ] {
            assert_eq!(StreamId::parse(&id.to_string()).unwrap(), id);
            assert_eq!(StreamId::from_key(&id.key()).unwrap(), id);
        }
        assert_eq!(
            StreamId::seats(conf, Holder::Device(dev)).to_string(),
            "seats/00000000-0000-0000-0000-000000000001/00000000-0000-0000-0000-000000000002"
        );
        assert!(StreamId::parse("order/x").is_err());
        assert!(StreamId::from_key(&[1, 2, 3]).is_err());
        let mut order_key = StreamId::order(OrderId::from_uuid(Uuid::from_u128(3))).key();
        order_key.extend_from_slice(&[0; 16]);
        assert!(
            StreamId::from_key(&order_key).is_err(),
            "only seat streams have a device"
        );
        assert!(
            StreamId::parse(
                "order/00000000-0000-0000-0000-000000000001/00000000-0000-0000-0000-000000000002"
            )
            .is_err()
        );
    }
}
