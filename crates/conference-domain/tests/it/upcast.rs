//! Upcasters, each checked against frozen JSON of the shape V1 wrote.
use conference_domain::aggregate::{DecodeError, DomainEvent, EventEnvelope};
use conference_domain::order::{self, OrderConfirmed};
use conference_domain::pricing::LineKind;
use conference_domain::upcast::{UPCASTERS, Upcaster, upcast, upcast_with};
use conference_domain::{StreamKind, assignments, conference, discounts, payment, seats};
use serde_json::{Value, json};

/// V1's `OrderPaymentConfirmed`, exactly as a V1 store holds it.
const V1_ORDER_PAYMENT_CONFIRMED: &str = "{}";

/// V1's `OrderTotalsCalculated` (no `is_free_of_charge`; lines without `kind`).
fn v1_totals(total: &str) -> Value {
    let text = format!(
        r#"{{
            "total": "{total}",
            "lines": [
                {{"description": "General", "seat_type": "00000000-0000-0000-0000-0000000000a1",
                  "quantity": 2, "unit_price": "{total}", "total": "{total}"}}
            ]
        }}"#
    );
    serde_json::from_str(&text).expect("the fixture is JSON")
}

fn decode_order(event_type: &str, version: u32, payload: Value) -> order::Event {
    match DomainEvent::decode(StreamKind::Order, event_type, version, payload) {
        Ok(DomainEvent::Order(e)) => e,
        other => panic!("{event_type} v{version} did not decode as an order event: {other:?}"),
    }
}

#[test]
fn v1_order_payment_confirmed_reads_as_order_confirmed() {
    let payload: Value = serde_json::from_str(V1_ORDER_PAYMENT_CONFIRMED).unwrap();
    assert_eq!(
        upcast("OrderPaymentConfirmed", 1, payload.clone()),
        ("OrderConfirmed".to_string(), 1, json!({}))
    );
    let event = decode_order("OrderPaymentConfirmed", 1, payload);
    assert_eq!(event, OrderConfirmed { payment_id: None }.into());
    assert_eq!(event.event_type(), "OrderConfirmed");
    // What V1 stored as JSON null is read the same way.
    assert_eq!(
        decode_order("OrderPaymentConfirmed", 1, Value::Null),
        OrderConfirmed { payment_id: None }.into()
    );
}

#[test]
fn v1_totals_get_is_free_of_charge_from_their_total() {
    for (total, free) in [("0", true), ("0.00", true), ("120", false), ("0.01", false)] {
        let order::Event::OrderTotalsCalculated(t) =
            decode_order("OrderTotalsCalculated", 1, v1_totals(total))
        else {
            panic!("not totals")
        };
        assert_eq!(t.is_free_of_charge, free, "total {total}");
        assert_eq!(t.total.to_string(), total);
        assert_eq!(t.lines.len(), 1);
        assert_eq!(
            t.lines[0].kind,
            LineKind::Seat,
            "V1 lines were all seat lines"
        );
    }
    // A total written as a JSON number is read too; no total at all is not free.
    let (_, version, numeric) =
        upcast("OrderTotalsCalculated", 1, json!({"total": 0, "lines": []}));
    assert_eq!((version, &numeric["is_free_of_charge"]), (2, &json!(true)));
    let (_, _, missing) = upcast("OrderTotalsCalculated", 1, json!({"lines": []}));
    assert_eq!(missing["is_free_of_charge"], json!(false));
}

#[test]
fn current_versions_pass_through_unchanged() {
    // A V2 payload keeps what it says, even where V1 would have derived something else.
    let v2 = json!({"total": "0", "lines": [], "is_free_of_charge": false});
    assert_eq!(
        upcast("OrderTotalsCalculated", 2, v2.clone()),
        ("OrderTotalsCalculated".to_string(), 2, v2)
    );
    let confirmed = json!({"payment_id": "00000000-0000-0000-0000-0000000000fa"});
    assert_eq!(
        upcast("OrderConfirmed", 1, confirmed.clone()),
        ("OrderConfirmed".to_string(), 1, confirmed)
    );
    let unknown = json!({"anything": [1, 2]});
    assert_eq!(
        upcast("FromTheFuture", 9, unknown.clone()),
        ("FromTheFuture".to_string(), 9, unknown)
    );
}

#[test]
fn every_chain_ends_at_a_shape_this_build_reads() {
    let known: Vec<(&str, u32)> = [
        conference::Event::EVENT_TYPES,
        seats::Event::EVENT_TYPES,
        order::Event::EVENT_TYPES,
        payment::Event::EVENT_TYPES,
        discounts::Event::EVENT_TYPES,
        assignments::Event::EVENT_TYPES,
    ]
    .concat();
    for step in UPCASTERS {
        let (event_type, version, _) = upcast(step.from.0, step.from.1, json!({}));
        assert!(
            known.contains(&(event_type.as_str(), version)),
            "{step:?} ends at {event_type} v{version}, which nothing decodes"
        );
        assert!(
            !known.contains(&step.from),
            "{step:?} starts at a shape this build still writes"
        );
    }
    assert_eq!(
        format!("{:?}", UPCASTERS[0]),
        "OrderPaymentConfirmed@v1 -> OrderConfirmed@v1"
    );
}

// A made-up event that changed twice, to show that steps compose: v1 had `name`, v2 split it
// into `first` and `last`, v3 renamed the event and added a `greeting`.
fn split_name(payload: Value) -> Value {
    let name = payload["name"].as_str().unwrap_or_default().to_string();
    let (first, last) = name.split_once(' ').unwrap_or((&name, ""));
    json!({"first": first, "last": last})
}

fn add_greeting(mut payload: Value) -> Value {
    payload["greeting"] = json!(format!(
        "Hello, {}",
        payload["first"].as_str().unwrap_or("")
    ));
    payload
}

const TEST_CHAIN: &[Upcaster] = &[
    // Listed out of order on purpose: the walk follows (type, version), not the list.
    Upcaster {
        from: ("PersonNamed", 2),
        to: ("PersonGreeted", 3),
        apply: add_greeting,
    },
    Upcaster {
        from: ("PersonNamed", 1),
        to: ("PersonNamed", 2),
        apply: split_name,
    },
];

#[test]
fn a_chain_of_two_upcasters_composes() {
    assert_eq!(
        upcast_with(
            TEST_CHAIN,
            "PersonNamed",
            1,
            json!({"name": "Ada Lovelace"})
        ),
        (
            "PersonGreeted".to_string(),
            3,
            json!({"first": "Ada", "last": "Lovelace", "greeting": "Hello, Ada"})
        )
    );
    // Starting from v2 runs only the last step; v3 is already current.
    assert_eq!(
        upcast_with(
            TEST_CHAIN,
            "PersonNamed",
            2,
            json!({"first": "Grace", "last": "Hopper"})
        ),
        (
            "PersonGreeted".to_string(),
            3,
            json!({"first": "Grace", "last": "Hopper", "greeting": "Hello, Grace"})
        )
    );
    let current = json!({"first": "A", "last": "B", "greeting": "Hi"});
    assert_eq!(
        upcast_with(TEST_CHAIN, "PersonGreeted", 3, current.clone()),
        ("PersonGreeted".to_string(), 3, current)
    );
    // This build's chain knows nothing of it, and the test chain nothing of V1 orders.
    assert_eq!(
        upcast_with(TEST_CHAIN, "OrderPaymentConfirmed", 1, json!({})).0,
        "OrderPaymentConfirmed"
    );
}

#[test]
fn a_cycle_in_a_chain_cannot_hang_a_read() {
    fn same(payload: Value) -> Value {
        payload
    }
    let cycle = [
        Upcaster {
            from: ("A", 1),
            to: ("B", 1),
            apply: same,
        },
        Upcaster {
            from: ("B", 1),
            to: ("A", 1),
            apply: same,
        },
    ];
    let (event_type, version, _) = upcast_with(&cycle, "A", 1, json!({}));
    assert!(["A", "B"].contains(&event_type.as_str()) && version == 1);
}

#[test]
fn an_event_from_a_newer_build_is_refused_not_misread() {
    let newer = DomainEvent::decode(
        StreamKind::Order,
        "OrderTotalsCalculated",
        3,
        json!({"total": "1"}),
    );
    assert_eq!(
        newer,
        Err(DecodeError::UnknownVersion {
            event_type: "OrderTotalsCalculated".into(),
            version: 3,
            known: 2
        })
    );
    let unknown = DomainEvent::decode(StreamKind::Order, "OrderTeleported", 1, json!({}));
    assert_eq!(
        unknown,
        Err(DecodeError::UnknownType("OrderTeleported".into()))
    );
}

/// What a V1 device says it reads (no promo codes, no `OrderConfirmed`, totals v1).
fn v1_reads(event_type: &str) -> Option<u32> {
    match event_type {
        "OrderPlaced"
        | "OrderReservationCompleted"
        | "OrderPaymentConfirmed"
        | "OrderTotalsCalculated"
        | "PaymentInitiated"
        | "PaymentCompleted" => Some(1),
        _ => None,
    }
}

#[test]
fn a_v2_reader_gets_every_event_as_stored() {
    let reads = conference_domain::aggregate::schema_versions();
    let totals = json!({"total": "0.00", "is_free_of_charge": true, "lines": []});
    let served = conference_domain::upcast::for_reader(
        |t| reads.get(t).copied(),
        "OrderTotalsCalculated",
        2,
        totals.clone(),
    )
    .unwrap();
    assert_eq!(served, ("OrderTotalsCalculated".to_string(), 2, totals));
    assert_eq!(reads.get("OrderConfirmed"), Some(&1));
    assert_eq!(reads.get("PromoCodeAdded"), Some(&1));
    // Old shapes it reads through its upcasters count too.
    assert_eq!(reads.get("OrderPaymentConfirmed"), Some(&1));
    assert_eq!(reads.get("OrderTotalsCalculated"), Some(&2));
}

#[test]
fn a_v1_reader_gets_v2_events_in_v1_shapes_that_upcast_back() {
    use conference_domain::upcast::{for_reader, upcast};
    let paid = json!({"payment_id": "01a21cf1-2678-7158-80e6-21d84efa8f93"});
    let (t, v, p) = for_reader(v1_reads, "OrderConfirmed", 1, paid).unwrap();
    assert_eq!(
        (t.as_str(), v, &p),
        ("OrderPaymentConfirmed", 1, &json!({}))
    );
    assert_eq!(upcast(&t, v, p).0, "OrderConfirmed");

    let totals = json!({
        "total": "240.00",
        "is_free_of_charge": false,
        "lines": [{"kind": "seat", "description": "Workshop", "seat_type": "01a21cf1-20cd-75b0-8ef8-e5755b86bd97", "quantity": 2, "unit_price": "120.00", "total": "240.00"}]
    });
    let (t, v, p) = for_reader(v1_reads, "OrderTotalsCalculated", 2, totals.clone()).unwrap();
    assert_eq!((t.as_str(), v), ("OrderTotalsCalculated", 1));
    assert!(p.get("is_free_of_charge").is_none());
    assert!(p["lines"][0].get("kind").is_none());
    // Back through the upcaster, V2 code reads what was stored (the line kind defaults).
    let (t, v, back) = upcast(&t, v, p);
    assert_eq!((t.as_str(), v), ("OrderTotalsCalculated", 2));
    assert_eq!(back["is_free_of_charge"], totals["is_free_of_charge"]);
}

#[test]
fn what_v1_cannot_say_is_refused_not_bent() {
    use conference_domain::upcast::for_reader;
    // A zero-cost confirmation, a discount line, an event type V1 never had.
    assert!(for_reader(v1_reads, "OrderConfirmed", 1, json!({"payment_id": null})).is_err());
    let discounted = json!({
        "total": "90.00", "is_free_of_charge": false,
        "lines": [
            {"kind": "seat", "description": "Full", "quantity": 1, "unit_price": "100.00", "total": "100.00"},
            {"kind": "discount", "description": "SAVE10", "quantity": 1, "unit_price": "-10.00", "total": "-10.00"}
        ]
    });
    assert!(for_reader(v1_reads, "OrderTotalsCalculated", 2, discounted).is_err());
    let error = for_reader(v1_reads, "PromoCodeAdded", 1, json!({})).unwrap_err();
    assert_eq!(error.event_type, "PromoCodeAdded");
    assert!(error.to_string().contains("no shape this device reads"));
}
