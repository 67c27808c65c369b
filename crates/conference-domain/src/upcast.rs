//! Upcasters: small functions that turn an old stored shape of an event into the next one.
//!
//! Stored events are never rewritten. On read, a payload written as (type, version) walks the
//! chain until no upcaster starts at its (type, version); what comes out is the shape this
//! build decodes. Adding V3 means adding an entry here and a frozen fixture of the old JSON;
//! nothing else changes.
use serde_json::Value;

/// One step: an event stored as `from` becomes `to` by `apply`.
#[derive(Clone, Copy)]
pub struct Upcaster {
    pub from: (&'static str, u32),
    pub to: (&'static str, u32),
    pub apply: fn(Value) -> Value,
}

impl std::fmt::Debug for Upcaster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}@v{} -> {}@v{}",
            self.from.0, self.from.1, self.to.0, self.to.1
        )
    }
}

/// V1 confirmed orders with `OrderPaymentConfirmed`; V2 calls it `OrderConfirmed`. V1 knew
/// only paid confirmations and recorded no payment id.
fn order_payment_confirmed_to_order_confirmed(payload: Value) -> Value {
    match payload {
        Value::Object(map) if map.contains_key("payment_id") => Value::Object(map),
        _ => Value::Object(serde_json::Map::new()),
    }
}

/// V1's `OrderTotalsCalculated` had no `is_free_of_charge`: derive it from the total.
fn totals_v1_to_v2(payload: Value) -> Value {
    let mut payload = payload;
    if let Value::Object(map) = &mut payload
        && !map.contains_key("is_free_of_charge")
    {
        let free = map
            .get("total")
            .and_then(|t| match t {
                Value::String(s) => s.parse::<rust_decimal::Decimal>().ok(),
                Value::Number(n) => n.to_string().parse::<rust_decimal::Decimal>().ok(),
                _ => None,
            })
            .is_some_and(|d| d.is_zero());
        map.insert("is_free_of_charge".into(), Value::Bool(free));
    }
    payload
}

/// The chain this build knows.
pub const UPCASTERS: &[Upcaster] = &[
    Upcaster {
        from: ("OrderPaymentConfirmed", 1),
        to: ("OrderConfirmed", 1),
        apply: order_payment_confirmed_to_order_confirmed,
    },
    Upcaster {
        from: ("OrderTotalsCalculated", 1),
        to: ("OrderTotalsCalculated", 2),
        apply: totals_v1_to_v2,
    },
];

/// Walks `chain` from (event_type, version) until no step applies.
#[must_use]
pub fn upcast_with(
    chain: &[Upcaster],
    event_type: &str,
    version: u32,
    payload: Value,
) -> (String, u32, Value) {
    let mut current = (event_type.to_string(), version, payload);
    // Each step must lead somewhere new; a chain can take at most one step per upcaster.
    for _ in 0..=chain.len() {
        let Some(step) = chain
            .iter()
            .find(|u| u.from.0 == current.0 && u.from.1 == current.1)
        else {
            break;
        };
        current = (step.to.0.to_string(), step.to.1, (step.apply)(current.2));
    }
    current
}

/// Walks this build's chain.
#[must_use]
pub fn upcast(event_type: &str, version: u32, payload: Value) -> (String, u32, Value) {
    upcast_with(UPCASTERS, event_type, version, payload)
}

/// One step back, for a device that reads only an older shape (during a rolling upgrade):
/// an event stored as `from` is served as `to`, or not at all when the older shape cannot
/// say it (`apply` gives `None`).
#[derive(Clone, Copy)]
pub struct Downcaster {
    pub from: (&'static str, u32),
    pub to: (&'static str, u32),
    pub apply: fn(Value) -> Option<Value>,
}

/// V1 confirmed only paid orders, with an empty payload; a zero-cost confirmation has no
/// V1 shape.
fn order_confirmed_to_payment_confirmed(payload: Value) -> Option<Value> {
    match payload.get("payment_id") {
        Some(Value::String(_)) => Some(Value::Object(serde_json::Map::new())),
        _ => None,
    }
}

/// V1's totals: no `is_free_of_charge` (V1 derives nothing from it; upcasting derives it
/// back from the total) and lines without `kind`. V1 had no discounts: a discount line has
/// no V1 shape.
fn totals_v2_to_v1(payload: Value) -> Option<Value> {
    let Value::Object(mut map) = payload else {
        return None;
    };
    map.remove("is_free_of_charge");
    if let Some(Value::Array(lines)) = map.get_mut("lines") {
        for line in lines {
            let Value::Object(line) = line else {
                return None;
            };
            if line.get("kind").and_then(Value::as_str) == Some("discount") {
                return None;
            }
            line.remove("kind");
        }
    }
    Some(Value::Object(map))
}

/// V1 knew only the conference pool: seats the pool gives to (or takes back from) a
/// device's allotment are, to V1, seats leaving (or joining) the pool.
fn pool_change(payload: Value, sign: i64) -> Option<Value> {
    let seats = payload.get("seats")?.as_array()?;
    let changed: Option<Vec<Value>> = seats
        .iter()
        .map(|s| {
            Some(serde_json::json!({
                "seat_type": s.get("seat_type")?.clone(),
                "quantity": sign * s.get("quantity")?.as_i64()?,
            }))
        })
        .collect();
    Some(serde_json::json!({ "seats": changed? }))
}

fn seats_allotted_to_pool_change(payload: Value) -> Option<Value> {
    pool_change(payload, -1)
}

fn returned_seats_to_pool_change(payload: Value) -> Option<Value> {
    pool_change(payload, 1)
}

/// The way back this build knows.
pub const DOWNCASTERS: &[Downcaster] = &[
    Downcaster {
        from: ("SeatsAllotted", 1),
        to: ("AvailableSeatsChanged", 1),
        apply: seats_allotted_to_pool_change,
    },
    Downcaster {
        from: ("ReturnedSeatsAccepted", 1),
        to: ("AvailableSeatsChanged", 1),
        apply: returned_seats_to_pool_change,
    },
    Downcaster {
        from: ("OrderConfirmed", 1),
        to: ("OrderPaymentConfirmed", 1),
        apply: order_confirmed_to_payment_confirmed,
    },
    Downcaster {
        from: ("OrderTotalsCalculated", 2),
        to: ("OrderTotalsCalculated", 1),
        apply: totals_v2_to_v1,
    },
];

/// Why an event cannot be served to a reader.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{event_type}` version {version} has no shape this device reads")]
pub struct Unreadable {
    pub event_type: String,
    pub version: u32,
}

/// The event as a reader that reads `reads(event type)` (its highest version, `None` for a
/// type it does not know) can take it: as stored when it reads that, else walked back along
/// `DOWNCASTERS` to a shape it reads.
pub fn for_reader(
    reads: impl Fn(&str) -> Option<u32>,
    event_type: &str,
    version: u32,
    payload: Value,
) -> Result<(String, u32, Value), Unreadable> {
    let unreadable = || Unreadable {
        event_type: event_type.to_string(),
        version,
    };
    let mut current = (event_type.to_string(), version, payload);
    for _ in 0..=DOWNCASTERS.len() {
        if reads(&current.0).is_some_and(|max| max >= current.1) {
            return Ok(current);
        }
        let step = DOWNCASTERS
            .iter()
            .find(|d| d.from.0 == current.0 && d.from.1 == current.1)
            .ok_or_else(unreadable)?;
        let payload = (step.apply)(current.2).ok_or_else(unreadable)?;
        current = (step.to.0.to_string(), step.to.1, payload);
    }
    Err(unreadable())
}
