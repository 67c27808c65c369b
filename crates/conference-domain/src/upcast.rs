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
