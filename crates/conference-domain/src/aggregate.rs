//! The shape every aggregate and every event enum shares, and the stored form of events.
use crate::stream::{StreamId, StreamKind};
use crate::{CommandId, DeviceId, Timestamp};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An event-sourced aggregate: `handle` holds every rule, `apply` never fails.
pub trait Aggregate:
    Default + Clone + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// Which kind of stream holds this aggregate.
    const KIND: StreamKind;
    /// Bumped whenever the state's shape changes, so a stored snapshot of an older shape is
    /// ignored and the state is folded from the log instead.
    const SNAPSHOT_VERSION: u32;
    type Command;
    type Event: EventEnvelope;
    type Error: std::error::Error + Clone + PartialEq + crate::error_code::ErrorCode;

    /// Decides what happens: the events a command causes, or the rule it breaks.
    fn handle(&self, command: &Self::Command) -> Result<Vec<Self::Event>, Self::Error>;
    /// Folds one event into the state. No rules here: events are facts.
    fn apply(&mut self, event: &Self::Event);

    /// The state after `events`, from the empty state.
    #[must_use]
    fn fold<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self
    where
        Self::Event: 'a,
    {
        let mut state = Self::default();
        for event in events {
            state.apply(event);
        }
        state
    }
}

/// The stored form of an event: an explicit, frozen type name, a schema version and a JSON
/// payload. Names are never derived from Rust type names.
pub trait EventEnvelope: Sized + Clone + std::fmt::Debug + PartialEq {
    /// Every (type, current schema version) this enum writes.
    const EVENT_TYPES: &'static [(&'static str, u32)];
    fn event_type(&self) -> &'static str;
    fn schema_version(&self) -> u32;
    fn to_payload(&self) -> serde_json::Value;
    /// Decodes a payload that is already upcast to the current schema version.
    fn from_payload(event_type: &str, payload: serde_json::Value) -> Result<Self, DecodeError>;
    /// Decodes the JSON text of a payload at the current schema version, without building
    /// a `serde_json::Value` first.
    fn from_payload_text(event_type: &str, payload: &str) -> Result<Self, DecodeError>;
    /// The fields a payload at the current schema version carries that its type does not
    /// know (decoding passes over them), as paths. Fields under a `#[serde(flatten)]` are
    /// not seen (see [`FLATTENED`]).
    fn unknown_fields(event_type: &str, payload: &str) -> Result<Vec<String>, DecodeError>;
}

/// The event types whose payloads flatten a part (`#[serde(flatten)]`): a field unknown to
/// them is not reported by [`EventEnvelope::unknown_fields`], so whoever must refuse
/// unknown fields compares their JSON whole. A test checks the list against every type.
pub const FLATTENED: &[&str] = &[
    "ConferenceCreated",
    "ConferenceUpdated",
    "SeatTypeCreated",
    "SeatTypeUpdated",
    "PromoCodeAdded",
    "OrderRegistrantAssigned",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("event type `{0}` is not known to this build")]
    UnknownType(String),
    #[error("event `{event_type}` has a payload this build cannot read: {reason}")]
    BadPayload { event_type: String, reason: String },
    #[error(
        "event `{event_type}` is stored at schema version {version}, but this build reads version {known}; upgrade to read it"
    )]
    UnknownVersion {
        event_type: String,
        version: u32,
        known: u32,
    },
}

/// Declares an event enum whose variants each wrap a payload struct, with the stored type
/// name and schema version of each variant spelled out.
#[macro_export]
macro_rules! events {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $variant:ident($payload:ty) = $tag:literal v $ver:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        $vis enum $name {
            $( $variant($payload), )+
        }

        impl $crate::aggregate::EventEnvelope for $name {
            const EVENT_TYPES: &'static [(&'static str, u32)] = &[ $( ($tag, $ver) ),+ ];

            fn event_type(&self) -> &'static str {
                match self { $( Self::$variant(_) => $tag, )+ }
            }

            fn schema_version(&self) -> u32 {
                match self { $( Self::$variant(_) => $ver, )+ }
            }

            fn to_payload(&self) -> serde_json::Value {
                match self {
                    $( Self::$variant(payload) => serde_json::to_value(payload)
                        .expect("event payloads are plain data and always serialize"), )+
                }
            }

            fn from_payload(
                event_type: &str,
                payload: serde_json::Value,
            ) -> Result<Self, $crate::aggregate::DecodeError> {
                match event_type {
                    $( $tag => serde_json::from_value::<$payload>(payload)
                        .map(Self::$variant)
                        .map_err(|e| $crate::aggregate::DecodeError::BadPayload {
                            event_type: event_type.to_string(),
                            reason: e.to_string(),
                        }), )+
                    other => Err($crate::aggregate::DecodeError::UnknownType(other.to_string())),
                }
            }

            fn unknown_fields(
                event_type: &str,
                payload: &str,
            ) -> Result<Vec<String>, $crate::aggregate::DecodeError> {
                match event_type {
                    $( $tag => {
                        let mut unknown = Vec::new();
                        let mut json = serde_json::Deserializer::from_str(payload);
                        $crate::__serde_ignored::deserialize(&mut json, |path| {
                            unknown.push(path.to_string())
                        })
                        .map(|_: $payload| unknown)
                        .map_err(|e| $crate::aggregate::DecodeError::BadPayload {
                            event_type: event_type.to_string(),
                            reason: e.to_string(),
                        })
                    } )+
                    other => Err($crate::aggregate::DecodeError::UnknownType(other.to_string())),
                }
            }

            fn from_payload_text(
                event_type: &str,
                payload: &str,
            ) -> Result<Self, $crate::aggregate::DecodeError> {
                match event_type {
                    $( $tag => serde_json::from_str::<$payload>(payload)
                        .map(Self::$variant)
                        .map_err(|e| $crate::aggregate::DecodeError::BadPayload {
                            event_type: event_type.to_string(),
                            reason: e.to_string(),
                        }), )+
                    other => Err($crate::aggregate::DecodeError::UnknownType(other.to_string())),
                }
            }
        }

        $(
            impl From<$payload> for $name {
                fn from(payload: $payload) -> Self {
                    Self::$variant(payload)
                }
            }
        )+
    };
}

/// An event as the log holds it, with its metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent<E> {
    /// Position in this store's global order (1, 2, 3, ... with no gaps among committed rows).
    pub position: i64,
    pub stream: StreamId,
    /// Version of the stream after this event; the first event of a stream is version 1.
    pub version: u64,
    pub command_id: CommandId,
    pub device_id: DeviceId,
    pub recorded_at: Timestamp,
    pub event: E,
}

/// Any event of the domain, for the code that looks across aggregates (read models and the
/// process manager).
#[derive(Clone, Debug, PartialEq)]
pub enum DomainEvent {
    Conference(crate::conference::Event),
    Seats(crate::seats::Event),
    Promos(crate::discounts::Event),
    Order(crate::order::Event),
    Payment(crate::payment::Event),
    Assignments(crate::assignments::Event),
}

impl DomainEvent {
    /// Decodes a stored event: upcasts it along the chain, then reads it as the event enum of
    /// its stream's kind.
    pub fn decode(
        kind: StreamKind,
        event_type: &str,
        schema_version: u32,
        payload: serde_json::Value,
    ) -> Result<Self, DecodeError> {
        Ok(match kind {
            StreamKind::Conference => {
                Self::Conference(decode_event(event_type, schema_version, payload)?)
            }
            StreamKind::Seats => Self::Seats(decode_event(event_type, schema_version, payload)?),
            StreamKind::Promos => Self::Promos(decode_event(event_type, schema_version, payload)?),
            StreamKind::Order => Self::Order(decode_event(event_type, schema_version, payload)?),
            StreamKind::Payment => {
                Self::Payment(decode_event(event_type, schema_version, payload)?)
            }
            StreamKind::Assignments => {
                Self::Assignments(decode_event(event_type, schema_version, payload)?)
            }
        })
    }

    /// [`DomainEvent::decode`] from the payload's JSON text: an event at its current schema
    /// version is read straight from the text; an older one is upcast first.
    pub fn decode_text(
        kind: StreamKind,
        event_type: &str,
        schema_version: u32,
        payload: &str,
    ) -> Result<Self, DecodeError> {
        Ok(match kind {
            StreamKind::Conference => {
                Self::Conference(decode_event_text(event_type, schema_version, payload)?)
            }
            StreamKind::Seats => {
                Self::Seats(decode_event_text(event_type, schema_version, payload)?)
            }
            StreamKind::Promos => {
                Self::Promos(decode_event_text(event_type, schema_version, payload)?)
            }
            StreamKind::Order => {
                Self::Order(decode_event_text(event_type, schema_version, payload)?)
            }
            StreamKind::Payment => {
                Self::Payment(decode_event_text(event_type, schema_version, payload)?)
            }
            StreamKind::Assignments => {
                Self::Assignments(decode_event_text(event_type, schema_version, payload)?)
            }
        })
    }

    #[must_use]
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Conference(e) => e.event_type(),
            Self::Seats(e) => e.event_type(),
            Self::Promos(e) => e.event_type(),
            Self::Order(e) => e.event_type(),
            Self::Payment(e) => e.event_type(),
            Self::Assignments(e) => e.event_type(),
        }
    }

    /// The fields a payload carries that its event type does not know, when it is in the
    /// current shape of `event_type` (an older shape is upcast, and checked by its reader).
    pub fn unknown_fields(
        kind: StreamKind,
        event_type: &str,
        version: u32,
        payload: &str,
    ) -> Result<Vec<String>, DecodeError> {
        fn of<E: EventEnvelope>(
            event_type: &str,
            version: u32,
            payload: &str,
        ) -> Result<Vec<String>, DecodeError> {
            if E::EVENT_TYPES.contains(&(event_type, version)) {
                E::unknown_fields(event_type, payload)
            } else {
                Ok(vec![])
            }
        }
        match kind {
            StreamKind::Conference => of::<crate::conference::Event>(event_type, version, payload),
            StreamKind::Seats => of::<crate::seats::Event>(event_type, version, payload),
            StreamKind::Promos => of::<crate::discounts::Event>(event_type, version, payload),
            StreamKind::Order => of::<crate::order::Event>(event_type, version, payload),
            StreamKind::Payment => of::<crate::payment::Event>(event_type, version, payload),
            StreamKind::Assignments => {
                of::<crate::assignments::Event>(event_type, version, payload)
            }
        }
    }

    /// The schema version this build writes the event at.
    #[must_use]
    pub fn schema_version(&self) -> u32 {
        match self {
            Self::Conference(e) => e.schema_version(),
            Self::Seats(e) => e.schema_version(),
            Self::Promos(e) => e.schema_version(),
            Self::Order(e) => e.schema_version(),
            Self::Payment(e) => e.schema_version(),
            Self::Assignments(e) => e.schema_version(),
        }
    }

    /// The payload as this build stores it.
    #[must_use]
    pub fn to_payload(&self) -> serde_json::Value {
        match self {
            Self::Conference(e) => e.to_payload(),
            Self::Seats(e) => e.to_payload(),
            Self::Promos(e) => e.to_payload(),
            Self::Order(e) => e.to_payload(),
            Self::Payment(e) => e.to_payload(),
            Self::Assignments(e) => e.to_payload(),
        }
    }
}

/// Every event type this build reads, with the newest schema version it reads: the types it
/// writes, and the old ones its upcasters turn into them (V1's `OrderPaymentConfirmed`).
/// What a device tells the sync server (the `x-conference-schema` header).
#[must_use]
pub fn schema_versions() -> std::collections::BTreeMap<&'static str, u32> {
    let mut reads: std::collections::BTreeMap<&'static str, u32> = [
        crate::conference::Event::EVENT_TYPES,
        crate::seats::Event::EVENT_TYPES,
        crate::discounts::Event::EVENT_TYPES,
        crate::order::Event::EVENT_TYPES,
        crate::payment::Event::EVENT_TYPES,
        crate::assignments::Event::EVENT_TYPES,
    ]
    .into_iter()
    .flatten()
    .copied()
    .collect();
    for step in crate::upcast::UPCASTERS {
        let version = reads.entry(step.from.0).or_insert(step.from.1);
        *version = (*version).max(step.from.1);
    }
    reads.insert(
        crate::neutralise::EVENT_TYPE,
        crate::neutralise::SCHEMA_VERSION,
    );
    reads
}

/// Decodes a stored event as `E`: upcasts it along the chain, then checks that the shape it
/// reached is the one this build writes. An event from a newer build is refused with
/// [`DecodeError::UnknownVersion`] (it stays stored, untouched), never misread.
pub fn decode_event<E: EventEnvelope>(
    event_type: &str,
    schema_version: u32,
    payload: serde_json::Value,
) -> Result<E, DecodeError> {
    let (event_type, version, payload) = crate::upcast::upcast(event_type, schema_version, payload);
    let known = E::EVENT_TYPES
        .iter()
        .find(|(name, _)| *name == event_type)
        .map(|(_, v)| *v)
        .ok_or_else(|| DecodeError::UnknownType(event_type.clone()))?;
    if version != known {
        return Err(DecodeError::UnknownVersion {
            event_type,
            version,
            known,
        });
    }
    E::from_payload(&event_type, payload)
}

/// [`decode_event`] from JSON text: at the current schema version the payload is read
/// straight from the text; an older shape goes through the upcasters as a value.
pub fn decode_event_text<E: EventEnvelope>(
    event_type: &str,
    schema_version: u32,
    payload: &str,
) -> Result<E, DecodeError> {
    if E::EVENT_TYPES.contains(&(event_type, schema_version)) {
        return E::from_payload_text(event_type, payload);
    }
    let value = serde_json::from_str(payload).map_err(|e| DecodeError::BadPayload {
        event_type: event_type.to_string(),
        reason: e.to_string(),
    })?;
    decode_event(event_type, schema_version, value)
}

/// Lets generic code wrap an aggregate's event into a [`DomainEvent`].
pub trait IntoDomainEvent {
    fn into_domain(self) -> DomainEvent;
}

macro_rules! into_domain {
    ($($module:ident => $variant:ident),+) => {
        $(impl IntoDomainEvent for crate::$module::Event {
            fn into_domain(self) -> DomainEvent {
                DomainEvent::$variant(self)
            }
        })+
    };
}
into_domain!(conference => Conference, seats => Seats, discounts => Promos, order => Order, payment => Payment, assignments => Assignments);

#[cfg(test)]
mod text_decoding {
    use super::*;

    fn current_types() -> Vec<(&'static str, u32)> {
        [
            crate::conference::Event::EVENT_TYPES,
            crate::seats::Event::EVENT_TYPES,
            crate::discounts::Event::EVENT_TYPES,
            crate::order::Event::EVENT_TYPES,
            crate::payment::Event::EVENT_TYPES,
            crate::assignments::Event::EVENT_TYPES,
        ]
        .into_iter()
        .flatten()
        .copied()
        .collect()
    }

    /// Reading a current event straight from its text skips the upcasters: that is only the
    /// same as upcasting first while no upcaster starts at a current type and version.
    #[test]
    fn no_upcaster_starts_at_a_current_event_version() {
        let current = current_types();
        for upcaster in crate::upcast::UPCASTERS {
            assert!(
                !current.contains(&upcaster.from),
                "{upcaster:?} starts at a current version; decode_event_text would skip it"
            );
        }
    }

    #[test]
    fn text_and_value_decoding_agree_and_old_shapes_are_upcast() {
        let payment = "01a21d50-1815-7310-a96b-c86c85434804";
        let text = format!(r#"{{"payment_id": "{payment}"}}"#);
        let (name, version) = ("OrderConfirmed", 1);
        assert!(crate::order::Event::EVENT_TYPES.contains(&(name, version)));
        let from_value = decode_event::<crate::order::Event>(
            name,
            version,
            serde_json::from_str(&text).expect("json"),
        )
        .expect("decodes as a value");
        let from_text = decode_event_text::<crate::order::Event>(name, version, &text)
            .expect("decodes as text");
        assert_eq!(from_value, from_text);
        assert_eq!(from_text.to_payload()["payment_id"], payment);
        // V1's confirmation, an older type, still reads through the upcasters.
        let v1 = decode_event_text::<crate::order::Event>("OrderPaymentConfirmed", 1, "{}")
            .expect("V1 shape");
        assert_eq!(v1.event_type(), "OrderConfirmed");
        let bad = decode_event_text::<crate::order::Event>(name, version, r#"{"payment_id": 7}"#);
        assert!(
            matches!(bad, Err(DecodeError::BadPayload { .. })),
            "{bad:?}"
        );
    }
}
