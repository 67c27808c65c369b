//! Newtypes for every id. Ids are made outside the domain (UUIDv7 in the application
//! layer) and passed in; the domain never makes one.
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            #[must_use]
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }
            #[must_use]
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
            /// Parses the hyphenated or simple text form of a UUID.
            pub fn parse(text: &str) -> Result<Self, uuid::Error> {
                Uuid::parse_str(text.trim()).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

id_type!(
    /// A conference; also names its seat pool and its promo codes.
    ConferenceId
);
id_type!(
    /// A seat type within a conference.
    SeatTypeId
);
id_type!(
    /// An order. Its seat reservation and seat assignments use the same id.
    OrderId
);
id_type!(
    /// A payment for an order.
    PaymentId
);
id_type!(
    /// A device (a laptop at the door, an organizer's machine, the back office).
    DeviceId
);
id_type!(
    /// The client-made id of a command; executing it twice returns the first outcome.
    CommandId
);
