//! The stored form of every event: frozen names and versions, and a round trip through
//! `to_payload`/`from_payload` and through `DomainEvent::decode` (the read path).
use crate::arb;
use conference_domain::aggregate::{
    DecodeError, DomainEvent, EventEnvelope, FLATTENED, IntoDomainEvent,
};
use conference_domain::{StreamKind, assignments, conference, discounts, order, payment, seats};
use proptest::prelude::*;
use serde_json::json;

/// Stores the event as the log would (JSON text), reads it back both ways, and checks both.
fn round_trip<E: EventEnvelope + IntoDomainEvent>(
    kind: StreamKind,
    event: E,
) -> Result<(), TestCaseError> {
    let event_type = event.event_type();
    let version = event.schema_version();
    prop_assert!(
        E::EVENT_TYPES.contains(&(event_type, version)),
        "{event_type} v{version} is not declared"
    );
    let stored = serde_json::to_string(&event.to_payload()).expect("payloads serialize");
    let payload: serde_json::Value = serde_json::from_str(&stored).expect("stored JSON parses");
    let back = E::from_payload(event_type, payload.clone());
    prop_assert_eq!(back.as_ref(), Ok(&event), "stored as {}", stored);
    let decoded = DomainEvent::decode(kind, event_type, version, payload.clone());
    prop_assert_eq!(decoded, Ok(event.clone().into_domain()));
    // A field the type does not know is found, except under a flatten (those types are
    // listed, so their readers compare the JSON whole), and a payload as written has none.
    prop_assert_eq!(E::unknown_fields(event_type, &stored), Ok(vec![]));
    if let serde_json::Value::Object(mut fields) = payload.clone() {
        fields.insert("not_a_field".into(), json!(1));
        let unknown = E::unknown_fields(event_type, &serde_json::Value::Object(fields).to_string());
        if FLATTENED.contains(&event_type) {
            prop_assert_eq!(unknown, Ok(vec![]), "{} is listed as flattened", event_type);
        } else {
            prop_assert_eq!(
                unknown,
                Ok(vec!["not_a_field".to_string()]),
                "{}",
                event_type
            );
        }
    }
    // Any event says the same of itself (the sync server writes what its replay made).
    let domain = event.clone().into_domain();
    prop_assert_eq!(domain.schema_version(), version);
    prop_assert_eq!(domain.to_payload(), event.to_payload());
    prop_assert_eq!(event.into_domain().event_type(), event_type);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn conference_events_round_trip(event in arb::events::conference()) {
        round_trip(StreamKind::Conference, event)?;
    }

    #[test]
    fn seat_events_round_trip(event in arb::events::seats()) {
        round_trip(StreamKind::Seats, event)?;
    }

    #[test]
    fn order_events_round_trip(event in arb::events::order()) {
        round_trip(StreamKind::Order, event)?;
    }

    #[test]
    fn payment_events_round_trip(event in arb::events::payment()) {
        round_trip(StreamKind::Payment, event)?;
    }

    #[test]
    fn promo_events_round_trip(event in arb::events::promos()) {
        round_trip(StreamKind::Promos, event)?;
    }

    #[test]
    fn assignment_events_round_trip(event in arb::events::assignments()) {
        round_trip(StreamKind::Assignments, event)?;
    }
}

/// Stored names are frozen: renaming a Rust type must not rename what is in the log.
#[test]
fn event_names_and_versions_are_frozen() {
    assert_eq!(
        conference::Event::EVENT_TYPES,
        [
            ("ConferenceCreated", 1),
            ("ConferenceUpdated", 1),
            ("SeatTypeCreated", 1),
            ("SeatTypeUpdated", 1),
            ("ConferencePublished", 1),
            ("ConferenceUnpublished", 1),
        ]
    );
    assert_eq!(
        seats::Event::EVENT_TYPES,
        [
            ("AvailableSeatsChanged", 1),
            ("SeatsReserved", 1),
            ("SeatsReservationCommitted", 1),
            ("SeatsReservationCancelled", 1),
            ("CommittedSeatsReleased", 1),
            ("SeatsAllotted", 1),
            ("AllotmentReceived", 1),
            ("AllotmentReturned", 1),
            ("ReturnedSeatsAccepted", 1),
        ]
    );
    assert_eq!(
        order::Event::EVENT_TYPES,
        [
            ("OrderPlaced", 1),
            ("OrderUpdated", 1),
            ("OrderPartiallyReserved", 1),
            ("OrderReservationCompleted", 1),
            ("OrderTotalsCalculated", 2),
            ("OrderExpired", 1),
            ("OrderRegistrantAssigned", 1),
            ("OrderConfirmed", 1),
            ("OrderCancelled", 1),
        ]
    );
    assert_eq!(
        payment::Event::EVENT_TYPES,
        [
            ("PaymentInitiated", 1),
            ("PaymentCompleted", 1),
            ("PaymentRejected", 1),
            ("PaymentRefunded", 1),
        ]
    );
    assert_eq!(
        discounts::Event::EVENT_TYPES,
        [
            ("PromoCodeAdded", 1),
            ("PromoRedemptionsHeld", 1),
            ("PromoRedemptionsCommitted", 1),
            ("PromoRedemptionsReleased", 1),
        ]
    );
    assert_eq!(
        assignments::Event::EVENT_TYPES,
        [
            ("SeatAssignmentsCreated", 1),
            ("SeatAssigned", 1),
            ("SeatUnassigned", 1),
            ("SeatAssignmentUpdated", 1),
        ]
    );
}

#[test]
fn event_names_are_unique_across_the_domain() {
    let all: Vec<&str> = [
        conference::Event::EVENT_TYPES,
        seats::Event::EVENT_TYPES,
        order::Event::EVENT_TYPES,
        payment::Event::EVENT_TYPES,
        discounts::Event::EVENT_TYPES,
        assignments::Event::EVENT_TYPES,
    ]
    .concat()
    .into_iter()
    .map(|(name, _)| name)
    .collect();
    let unique: std::collections::BTreeSet<_> = all.iter().collect();
    assert_eq!(unique.len(), all.len());
}

#[test]
fn unknown_types_and_bad_payloads_are_typed_errors() {
    assert_eq!(
        DomainEvent::decode(StreamKind::Order, "OrderTeleported", 1, json!({})),
        Err(DecodeError::UnknownType("OrderTeleported".into()))
    );
    // A seat event read from an order stream is unknown there.
    assert_eq!(
        DomainEvent::decode(StreamKind::Order, "SeatsReserved", 1, json!({})),
        Err(DecodeError::UnknownType("SeatsReserved".into()))
    );
    let bad = DomainEvent::decode(StreamKind::Order, "OrderCancelled", 1, json!({"reason": 7}));
    assert!(
        matches!(&bad, Err(DecodeError::BadPayload { event_type, .. }) if event_type == "OrderCancelled"),
        "{bad:?}"
    );
    let bad_email = json!({"first_name": "A", "last_name": "B", "email": "not-an-email"});
    assert!(matches!(
        order::Event::from_payload("OrderRegistrantAssigned", bad_email),
        Err(DecodeError::BadPayload { .. })
    ));
}

/// The current shapes, frozen: a change here is a new schema version and an upcaster.
#[test]
fn current_payload_shapes_are_frozen() {
    let order_id = "00000000-0000-0000-0000-00000000000d";
    let seat = "00000000-0000-0000-0000-0000000000a1";
    let device = "00000000-0000-0000-0000-0000000000de";
    let placed = json!({
        "conference_id": "00000000-0000-0000-0000-0000000000c0",
        "seats": [{"seat_type": seat, "quantity": 2}],
        "access_code": "ABCDEF",
        "reservation_auto_expiration": "2026-03-01T09:15:00Z",
        "promo_codes": ["EARLY"],
        "holder": {"kind": "device", "device": device},
        "allow_override": true
    });
    let event = order::Event::from_payload("OrderPlaced", placed.clone()).unwrap();
    assert_eq!(event.to_payload(), placed);

    let reserved = json!({
        "reservation_id": order_id,
        "details": [{"seat_type": seat, "quantity": 2}],
        "available_changed": [{"seat_type": seat, "quantity": -2}]
    });
    let event = seats::Event::from_payload("SeatsReserved", reserved.clone()).unwrap();
    assert_eq!(
        event.to_payload(),
        reserved,
        "no `overridden` key when nothing was"
    );

    let totals = json!({
        "total": "90.00",
        "lines": [
            {"kind": "seat", "description": "General", "seat_type": seat, "quantity": 1,
             "unit_price": "100", "total": "100.00"},
            {"kind": "discount", "description": "Promo code TEN (10% off)", "promo_code": "TEN",
             "quantity": 1, "unit_price": "-10.00", "total": "-10.00"}
        ],
        "is_free_of_charge": false
    });
    let event = order::Event::from_payload("OrderTotalsCalculated", totals.clone()).unwrap();
    assert_eq!(event.to_payload(), totals);

    let promo = json!({
        "code": "TEN",
        "discount": {"kind": "percent", "value": "10"},
        "scope": {"kind": "seat_types", "seat_types": [seat]},
        "max_uses": 5,
        "exclusive": false
    });
    let event = discounts::Event::from_payload("PromoCodeAdded", promo.clone()).unwrap();
    assert_eq!(event.to_payload(), promo);

    let pool_order = json!({
        "conference_id": "00000000-0000-0000-0000-0000000000c0",
        "seats": [{"seat_type": seat, "quantity": 1}],
        "access_code": "ABCDEF",
        "reservation_auto_expiration": "2026-03-01T09:15:00Z"
    });
    // Fields added after the first shape default: pool holder, no codes, no override.
    let order::Event::OrderPlaced(p) =
        order::Event::from_payload("OrderPlaced", pool_order).unwrap()
    else {
        panic!("not OrderPlaced")
    };
    assert_eq!(p.holder, conference_domain::Holder::Pool);
    assert!(p.promo_codes.is_empty() && !p.allow_override);
}
