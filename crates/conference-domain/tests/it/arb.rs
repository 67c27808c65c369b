//! proptest strategies for the domain's values and every event.
use chrono::DateTime;
use conference_domain::discounts::{DiscountKind, PromoCodeDefinition, Scope};
use conference_domain::pricing::{LineKind, OrderLine};
use conference_domain::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

pub fn uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

pub fn seat_type() -> impl Strategy<Value = SeatTypeId> {
    uuid().prop_map(SeatTypeId::from_uuid)
}
pub fn order_id() -> impl Strategy<Value = OrderId> {
    uuid().prop_map(OrderId::from_uuid)
}
pub fn conference_id() -> impl Strategy<Value = ConferenceId> {
    uuid().prop_map(ConferenceId::from_uuid)
}
pub fn device_id() -> impl Strategy<Value = DeviceId> {
    uuid().prop_map(DeviceId::from_uuid)
}
pub fn payment_id() -> impl Strategy<Value = PaymentId> {
    uuid().prop_map(PaymentId::from_uuid)
}

/// Non-negative amounts with 0 to 4 decimals.
pub fn money() -> impl Strategy<Value = Money> {
    (0i64..100_000_000, 0u32..=4).prop_map(|(m, scale)| Money::new(Decimal::new(m, scale)))
}

/// Any amount, also negative (discount lines are negative).
pub fn signed_money() -> impl Strategy<Value = Money> {
    (-100_000_000i64..100_000_000, 0u32..=4)
        .prop_map(|(m, scale)| Money::new(Decimal::new(m, scale)))
}

pub fn timestamp() -> impl Strategy<Value = Timestamp> {
    (0i64..5_000_000_000, 0u32..1_000_000_000)
        .prop_map(|(s, n)| DateTime::from_timestamp(s, n).expect("in range"))
}

pub fn text() -> impl Strategy<Value = String> {
    "\\PC{0,24}"
}

pub fn email() -> impl Strategy<Value = Email> {
    "[a-z0-9._+-]{1,12}@[a-z0-9-]{1,10}\\.[a-z]{2,6}".prop_map(|s| Email::parse(&s).unwrap())
}

pub fn slug() -> impl Strategy<Value = Slug> {
    "[a-z0-9_-]{1,40}".prop_map(|s| Slug::parse(&s).unwrap())
}

pub fn promo_code() -> impl Strategy<Value = PromoCode> {
    "[A-Z0-9_-]{2,16}".prop_map(|s| PromoCode::parse(&s).unwrap())
}

pub fn access_code() -> impl Strategy<Value = AccessCode> {
    any::<[u8; 6]>().prop_map(AccessCode::from_indices)
}

pub fn currency() -> impl Strategy<Value = Currency> {
    "[A-Z]{3}".prop_map(|s| Currency::parse(&s).unwrap())
}

pub fn person() -> impl Strategy<Value = PersonalInfo> {
    (text(), text(), email()).prop_map(|(first_name, last_name, email)| PersonalInfo {
        first_name,
        last_name,
        email,
    })
}

pub fn seat_quantities() -> impl Strategy<Value = Vec<SeatQuantity>> {
    vec(
        (seat_type(), any::<u32>()).prop_map(|(t, q)| SeatQuantity::new(t, q)),
        0..4,
    )
}

pub fn seat_deltas() -> impl Strategy<Value = Vec<SeatDelta>> {
    vec(
        (seat_type(), any::<i64>()).prop_map(|(seat_type, quantity)| SeatDelta {
            seat_type,
            quantity,
        }),
        0..4,
    )
}

pub fn holder() -> impl Strategy<Value = Holder> {
    prop_oneof![Just(Holder::Pool), device_id().prop_map(Holder::Device)]
}

pub fn percent() -> impl Strategy<Value = Decimal> {
    (1i64..=10_000).prop_map(|p| Decimal::new(p, 2))
}

pub fn discount_kind() -> impl Strategy<Value = DiscountKind> {
    prop_oneof![
        percent().prop_map(DiscountKind::Percent),
        money().prop_map(DiscountKind::Amount),
    ]
}

pub fn scope() -> impl Strategy<Value = Scope> {
    prop_oneof![
        Just(Scope::All),
        vec(seat_type(), 1..3).prop_map(Scope::SeatTypes)
    ]
}

pub fn promo_definition() -> impl Strategy<Value = PromoCodeDefinition> {
    (
        promo_code(),
        discount_kind(),
        scope(),
        option::of(1u32..1000),
        any::<bool>(),
    )
        .prop_map(
            |(code, discount, scope, max_uses, exclusive)| PromoCodeDefinition {
                code,
                discount,
                scope,
                max_uses,
                exclusive,
            },
        )
}

pub fn order_line() -> impl Strategy<Value = OrderLine> {
    (
        prop_oneof![Just(LineKind::Seat), Just(LineKind::Discount)],
        text(),
        option::of(seat_type()),
        option::of(promo_code()),
        any::<u32>(),
        signed_money(),
        signed_money(),
    )
        .prop_map(
            |(kind, description, seat_type, promo_code, quantity, unit_price, total)| OrderLine {
                kind,
                description,
                seat_type,
                promo_code,
                quantity,
                unit_price,
                total,
            },
        )
}

pub mod events {
    use super::*;
    use conference_domain::{assignments, conference, discounts, order, payment, seats};

    fn details() -> impl Strategy<Value = conference::ConferenceDetails> {
        (
            slug(),
            text(),
            text(),
            text(),
            timestamp(),
            timestamp(),
            text(),
            email(),
        )
            .prop_map(
                |(slug, name, description, location, start, end, owner_name, owner_email)| {
                    conference::ConferenceDetails {
                        slug,
                        name,
                        description,
                        location,
                        start,
                        end,
                        owner_name,
                        owner_email,
                    }
                },
            )
    }

    fn seat_type_def() -> impl Strategy<Value = conference::SeatType> {
        (seat_type(), text(), text(), money(), any::<u32>()).prop_map(
            |(id, name, description, price, quantity)| conference::SeatType {
                id,
                name,
                description,
                price,
                quantity,
            },
        )
    }

    pub fn conference() -> impl Strategy<Value = conference::Event> {
        use conference::*;
        prop_oneof![
            (conference_id(), details(), currency()).prop_map(|(id, details, currency)| {
                ConferenceCreated {
                    id,
                    details,
                    currency,
                }
                .into()
            }),
            details().prop_map(|details| ConferenceUpdated { details }.into()),
            seat_type_def().prop_map(|seat_type| SeatTypeCreated { seat_type }.into()),
            (seat_type_def(), any::<u32>()).prop_map(|(seat_type, previous_quantity)| {
                SeatTypeUpdated {
                    seat_type,
                    previous_quantity,
                }
                .into()
            }),
            Just(ConferencePublished {}.into()),
            Just(ConferenceUnpublished {}.into()),
        ]
    }

    pub fn seats() -> impl Strategy<Value = seats::Event> {
        use seats::*;
        prop_oneof![
            seat_deltas().prop_map(|seats| AvailableSeatsChanged { seats }.into()),
            (
                order_id(),
                seat_quantities(),
                seat_deltas(),
                seat_quantities()
            )
                .prop_map(
                    |(reservation_id, details, available_changed, overridden)| {
                        SeatsReserved {
                            reservation_id,
                            details,
                            available_changed,
                            overridden,
                        }
                        .into()
                    }
                ),
            order_id()
                .prop_map(|reservation_id| SeatsReservationCommitted { reservation_id }.into()),
            (order_id(), seat_deltas()).prop_map(|(reservation_id, available_changed)| {
                SeatsReservationCancelled {
                    reservation_id,
                    available_changed,
                }
                .into()
            }),
            (order_id(), seat_deltas()).prop_map(|(reservation_id, available_changed)| {
                CommittedSeatsReleased {
                    reservation_id,
                    available_changed,
                }
                .into()
            }),
            (device_id(), seat_quantities()).prop_map(|(device, seats)| SeatsAllotted {
                device,
                seats
            }
            .into()),
            seat_quantities().prop_map(|seats| AllotmentReceived { seats }.into()),
            seat_quantities().prop_map(|seats| AllotmentReturned { seats }.into()),
            (device_id(), seat_quantities()).prop_map(|(device, seats)| ReturnedSeatsAccepted {
                device,
                seats
            }
            .into()),
        ]
    }

    pub fn order() -> impl Strategy<Value = order::Event> {
        use order::*;
        let codes = || vec(promo_code(), 0..3);
        prop_oneof![
            (
                conference_id(),
                seat_quantities(),
                access_code(),
                timestamp(),
                codes(),
                holder(),
                any::<bool>()
            )
                .prop_map(
                    |(conference_id, seats, access_code, expiry, promo_codes, holder, over)| {
                        OrderPlaced {
                            conference_id,
                            seats,
                            access_code,
                            reservation_auto_expiration: expiry,
                            promo_codes,
                            holder,
                            allow_override: over,
                        }
                        .into()
                    }
                ),
            (seat_quantities(), codes()).prop_map(|(seats, promo_codes)| OrderUpdated {
                seats,
                promo_codes
            }
            .into()),
            (timestamp(), seat_quantities()).prop_map(|(reservation_expiration, seats)| {
                OrderPartiallyReserved {
                    reservation_expiration,
                    seats,
                }
                .into()
            }),
            (timestamp(), seat_quantities()).prop_map(|(reservation_expiration, seats)| {
                OrderReservationCompleted {
                    reservation_expiration,
                    seats,
                }
                .into()
            }),
            (money(), vec(order_line(), 0..4), any::<bool>()).prop_map(
                |(total, lines, is_free_of_charge)| OrderTotalsCalculated {
                    total,
                    lines,
                    is_free_of_charge,
                }
                .into()
            ),
            Just(OrderExpired {}.into()),
            person().prop_map(|person| OrderRegistrantAssigned { person }.into()),
            option::of(payment_id()).prop_map(|payment_id| OrderConfirmed { payment_id }.into()),
            text().prop_map(|reason| OrderCancelled { reason }.into()),
        ]
    }

    fn method() -> impl Strategy<Value = payment::PaymentMethod> {
        use payment::PaymentMethod::*;
        prop_oneof![Just(Cash), Just(Card), Just(Invoice)]
    }

    pub fn payment() -> impl Strategy<Value = payment::Event> {
        use payment::*;
        prop_oneof![
            (order_id(), conference_id(), money(), method(), text()).prop_map(
                |(order_id, conference_id, amount, method, description)| PaymentInitiated {
                    order_id,
                    conference_id,
                    amount,
                    method,
                    description,
                }
                .into()
            ),
            (
                order_id(),
                method(),
                money(),
                option::of(money()),
                option::of(money()),
                option::of(text())
            )
                .prop_map(|(order_id, method, amount, tendered, change, reference)| {
                    PaymentCompleted {
                        order_id,
                        method,
                        amount,
                        tendered,
                        change,
                        reference,
                    }
                    .into()
                }),
            (order_id(), text()).prop_map(|(order_id, reason)| PaymentRejected {
                order_id,
                reason
            }
            .into()),
            (order_id(), money(), text()).prop_map(|(order_id, amount, reason)| {
                PaymentRefunded {
                    order_id,
                    amount,
                    reason,
                }
                .into()
            }),
        ]
    }

    pub fn promos() -> impl Strategy<Value = discounts::Event> {
        use discounts::*;
        let codes = || vec(promo_code(), 0..3);
        prop_oneof![
            promo_definition().prop_map(|definition| PromoCodeAdded { definition }.into()),
            (order_id(), codes()).prop_map(|(order_id, codes)| PromoRedemptionsHeld {
                order_id,
                codes
            }
            .into()),
            (order_id(), codes()).prop_map(|(order_id, codes)| {
                PromoRedemptionsCommitted { order_id, codes }.into()
            }),
            (order_id(), codes(), any::<bool>()).prop_map(|(order_id, codes, committed)| {
                PromoRedemptionsReleased {
                    order_id,
                    codes,
                    committed,
                }
                .into()
            }),
        ]
    }

    pub fn assignments() -> impl Strategy<Value = assignments::Event> {
        use assignments::*;
        let positions = vec(
            (any::<u32>(), seat_type()).prop_map(|(position, seat_type)| SeatPosition {
                position,
                seat_type,
            }),
            0..5,
        );
        prop_oneof![
            (order_id(), positions).prop_map(|(order_id, seats)| SeatAssignmentsCreated {
                order_id,
                seats
            }
            .into()),
            (any::<u32>(), seat_type(), person()).prop_map(|(position, seat_type, attendee)| {
                SeatAssigned {
                    position,
                    seat_type,
                    attendee,
                }
                .into()
            }),
            any::<u32>().prop_map(|position| SeatUnassigned { position }.into()),
            (any::<u32>(), person()).prop_map(|(position, attendee)| {
                SeatAssignmentUpdated { position, attendee }.into()
            }),
        ]
    }
}
