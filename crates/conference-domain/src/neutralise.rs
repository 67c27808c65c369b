//! Taking a stored event out of the state without rewriting history (DESIGN.md §3, §7).
//!
//! A log written before the server replayed every command may hold events it would refuse
//! now (`conference-sync verify` lists them). An admin neutralises one: the server appends
//! an `EventNeutralised` marker to the event's own stream, naming its version. From the
//! marker's version on, every fold of that stream leaves the event out, on the server and
//! on every device, and devices rebuild their read models without it. The event itself
//! stays stored, as it was; a fold to a version before the marker still sees it, as every
//! device did then (so a command a device made before it heard of the marker replays the
//! same).
//!
//! The marker is no aggregate's event: no command produces it and no device may push it.
use crate::aggregate::{Aggregate, DecodeError, decode_event_text};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The marker's stored type name.
pub const EVENT_TYPE: &str = "EventNeutralised";
/// The marker's schema version.
pub const SCHEMA_VERSION: u32 = 1;

/// The marker's payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Neutralised {
    /// The stream version of the event left out; below the marker's own.
    pub version: u64,
    /// The event's global position on the server.
    pub position: i64,
    /// Why, in the admin's words.
    pub reason: String,
}

impl Neutralised {
    /// Reads a marker stored at `at` in its stream.
    ///
    /// # Errors
    /// A version this build does not read, a payload of another shape, or a marker that
    /// names itself or a later event.
    pub fn decode(at: u64, schema_version: u32, payload: &str) -> Result<Self, DecodeError> {
        let bad = |reason: String| DecodeError::BadPayload {
            event_type: EVENT_TYPE.into(),
            reason,
        };
        if schema_version != SCHEMA_VERSION {
            return Err(DecodeError::UnknownVersion {
                event_type: EVENT_TYPE.into(),
                version: schema_version,
                known: SCHEMA_VERSION,
            });
        }
        let marker: Self = serde_json::from_str(payload).map_err(|e| bad(e.to_string()))?;
        if marker.version == 0 || marker.version >= at {
            return Err(bad(format!(
                "a marker at version {at} cannot neutralise version {}",
                marker.version
            )));
        }
        Ok(marker)
    }

    /// The payload to store.
    #[must_use]
    pub fn to_payload(&self) -> String {
        serde_json::json!(self).to_string()
    }
}

/// One stored event of a stream, as a fold reads it.
#[derive(Clone, Copy, Debug)]
pub struct Row<'a> {
    pub version: u64,
    pub event_type: &'a str,
    pub schema_version: u32,
    pub payload: &'a str,
}

/// Whether a stored event is a marker.
#[must_use]
pub fn is_marker(event_type: &str) -> bool {
    event_type == EVENT_TYPE
}

/// The versions the markers among `rows` leave out. A marker that cannot be read leaves
/// out nothing (a device sets it aside and says so; the server writes none).
#[must_use]
pub fn left_out<'a>(rows: impl IntoIterator<Item = Row<'a>>) -> BTreeSet<u64> {
    rows.into_iter()
        .filter(|row| is_marker(row.event_type))
        .filter_map(|row| {
            Neutralised::decode(row.version, row.schema_version, row.payload)
                .ok()
                .map(|m| m.version)
        })
        .collect()
}

/// The state after `rows` (a stream's events from its first, in order): every event but
/// the markers and the events they name.
///
/// # Errors
/// An event that cannot be read.
pub fn fold<A: Aggregate>(rows: &[Row<'_>]) -> Result<A, DecodeError> {
    let out = left_out(rows.iter().copied());
    let mut state = A::default();
    for row in rows {
        if is_marker(row.event_type) || out.contains(&row.version) {
            continue;
        }
        let event = decode_event_text::<A::Event>(row.event_type, row.schema_version, row.payload)?;
        state.apply(&event);
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeatTypeId;
    use crate::aggregate::EventEnvelope;
    use crate::seats::{self, SeatsAvailability};
    use crate::values::SeatDelta;

    fn stored(event: &seats::Event) -> (String, u32, String) {
        (
            event.event_type().to_string(),
            event.schema_version(),
            event.to_payload().to_string(),
        )
    }

    fn rows(stored: &[(String, u32, String)]) -> Vec<Row<'_>> {
        stored
            .iter()
            .enumerate()
            .map(|(i, (event_type, schema_version, payload))| Row {
                version: i as u64 + 1,
                event_type,
                schema_version: *schema_version,
                payload,
            })
            .collect()
    }

    fn marker(version: u64) -> (String, u32, String) {
        (
            EVENT_TYPE.into(),
            SCHEMA_VERSION,
            Neutralised {
                version,
                position: 42,
                reason: "forged".into(),
            }
            .to_payload(),
        )
    }

    #[test]
    fn a_fold_leaves_out_the_named_event_and_the_marker_only() {
        let seat_type = SeatTypeId::from_uuid(uuid::Uuid::from_u128(7));
        let changed = |quantity: i64| {
            stored(&seats::Event::AvailableSeatsChanged(
                seats::AvailableSeatsChanged {
                    seats: vec![SeatDelta {
                        seat_type,
                        quantity,
                    }],
                },
            ))
        };
        let log = vec![changed(100), changed(50_000), changed(5), marker(2)];
        let state: SeatsAvailability = fold(&rows(&log)).unwrap();
        let all: SeatsAvailability = fold(&rows(&log[..3])).unwrap();
        assert_eq!(state.remaining(seat_type), 105);
        assert_eq!(all.remaining(seat_type), 50_105);
        assert_eq!(left_out(rows(&log)), BTreeSet::from([2]));
        // A marker that cannot be read takes nothing out.
        let mut unreadable = log.clone();
        unreadable[3].2 = "{}".into();
        let kept: SeatsAvailability = fold(&rows(&unreadable)).unwrap();
        assert_eq!(kept.remaining(seat_type), 50_105);
    }

    #[test]
    fn a_marker_names_an_earlier_event_of_its_stream_in_its_own_shape() {
        let good = marker(1).2;
        assert!(Neutralised::decode(2, 1, &good).is_ok());
        for (at, schema, payload) in [
            (1, 1, good.clone()),
            (2, 2, good.clone()),
            (5, 1, marker(0).2),
            (5, 1, good.replace("}", ",\"more\":1}")),
            (5, 1, "{}".into()),
        ] {
            assert!(
                Neutralised::decode(at, schema, &payload).is_err(),
                "{at} {schema} {payload}"
            );
        }
    }
}
