//! Properties over random command sequences: seats are never over-reserved, replay equals
//! fold (also through the stored JSON form), and order totals are never negative.
use crate::arb;
use crate::support::*;
use conference_domain::aggregate::{Aggregate, EventEnvelope};
use conference_domain::discounts::{DiscountKind, PromoCodeDefinition, Scope};
use conference_domain::order::{self, ConfirmationBasis, Order, OrderStatus};
use conference_domain::pricing::{self, LineKind, PriceList, PricedSeatType};
use conference_domain::seats::{self, SeatsAvailability};
use conference_domain::{Holder, Money, OrderId, SeatQuantity, SeatTypeId};
use proptest::collection::vec;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// Replay equals fold: the state built by applying events as they were made equals the fold
/// of the log, the fold of the log read back from its stored JSON, and its own snapshot.
fn check_replay<A>(state: &A, log: &[A::Event]) -> Result<(), TestCaseError>
where
    A: Aggregate + PartialEq + std::fmt::Debug,
{
    prop_assert_eq!(state, &A::fold(log));
    let stored: Vec<A::Event> = log
        .iter()
        .map(|e| {
            let text = serde_json::to_string(&e.to_payload()).unwrap();
            A::Event::from_payload(e.event_type(), serde_json::from_str(&text).unwrap())
                .expect("every stored event reads back")
        })
        .collect();
    prop_assert_eq!(state, &A::fold(&stored));
    let snapshot = serde_json::to_string(state).unwrap();
    prop_assert_eq!(state, &serde_json::from_str::<A>(&snapshot).unwrap());
    Ok(())
}

// ---- SeatsAvailability ----

/// Seat types by index: A and B exist from the start, C only once added.
fn seat_type(i: usize) -> SeatTypeId {
    [seat_a(), seat_b(), seat_c()][i % 3]
}

fn reservation(i: usize) -> OrderId {
    OrderId::from_uuid(uuid(0x100 + i as u128))
}

#[derive(Clone, Debug)]
enum SeatOp {
    Add(usize, u32),
    Remove(usize, u32),
    Reserve(usize, Vec<(usize, u32)>, bool),
    Cancel(usize),
    Commit(usize),
    /// Releases what reservation `i` committed, if anything.
    Release(usize),
    Grant(Vec<(usize, u32)>),
}

fn seat_ops(max_quantity: u32) -> impl Strategy<Value = Vec<SeatOp>> {
    let wanted = vec((0usize..3, 0..=max_quantity), 0..4);
    let op = prop_oneof![
        2 => (0usize..3, 0..=max_quantity).prop_map(|(t, q)| SeatOp::Add(t, q)),
        1 => (0usize..3, 0..=max_quantity).prop_map(|(t, q)| SeatOp::Remove(t, q)),
        6 => (0usize..4, wanted.clone(), any::<bool>()).prop_map(|(r, w, o)| SeatOp::Reserve(r, w, o)),
        2 => (0usize..4).prop_map(SeatOp::Cancel),
        2 => (0usize..4).prop_map(SeatOp::Commit),
        1 => (0usize..4).prop_map(SeatOp::Release),
        1 => wanted.prop_map(SeatOp::Grant),
    ];
    vec(op, 1..40)
}

#[derive(Default)]
struct SeatModel {
    added: BTreeMap<SeatTypeId, i64>,
    removed: BTreeMap<SeatTypeId, i64>,
    allotted: BTreeMap<SeatTypeId, i64>,
    overridden: BTreeMap<SeatTypeId, i64>,
    /// Each commit on its own: one reservation id may be committed, reserved and committed
    /// again.
    committed: Vec<(OrderId, BTreeMap<SeatTypeId, u32>)>,
}

fn quantities(list: &[(usize, u32)]) -> Vec<SeatQuantity> {
    list.iter()
        .map(|(t, q)| SeatQuantity::new(seat_type(*t), *q))
        .collect()
}

fn sum(map: &BTreeMap<SeatTypeId, i64>, t: SeatTypeId) -> i64 {
    map.get(&t).copied().unwrap_or(0)
}

/// Runs `ops` and checks the seat rules after every step.
fn run_seats(
    ops: Vec<SeatOp>,
    allow_override: bool,
    allow_remove: bool,
) -> Result<(), TestCaseError> {
    let mut state = SeatsAvailability::default();
    let mut log: Vec<seats::Event> = vec![];
    let mut model = SeatModel::default();
    for t in [seat_a(), seat_b()] {
        let events = state
            .handle(&seats::Command::AddSeats {
                seat_type: t,
                quantity: 10,
            })
            .unwrap();
        for e in events {
            state.apply(&e);
            log.push(e);
        }
        model.added.insert(t, 10);
    }

    for op in ops {
        let before = state.clone();
        let command = match &op {
            SeatOp::Add(t, q) => seats::Command::AddSeats {
                seat_type: seat_type(*t),
                quantity: *q,
            },
            SeatOp::Remove(t, q) if allow_remove => seats::Command::RemoveSeats {
                seat_type: seat_type(*t),
                quantity: *q,
            },
            SeatOp::Remove(..) => continue,
            SeatOp::Reserve(r, wanted, over) => seats::Command::MakeSeatReservation {
                reservation_id: reservation(*r),
                seats: quantities(wanted),
                allow_override: *over && allow_override,
            },
            SeatOp::Cancel(r) => seats::Command::CancelSeatReservation {
                reservation_id: reservation(*r),
            },
            SeatOp::Commit(r) => seats::Command::CommitSeatReservation {
                reservation_id: reservation(*r),
            },
            SeatOp::Release(r) => match model
                .committed
                .iter()
                .find(|(id, _)| *id == reservation(*r))
            {
                Some((_, held)) => seats::Command::ReleaseCommittedSeats {
                    reservation_id: reservation(*r),
                    seats: held
                        .iter()
                        .map(|(t, q)| SeatQuantity::new(*t, *q))
                        .collect(),
                },
                None => continue,
            },
            SeatOp::Grant(wanted) => seats::Command::GrantAllotment {
                device: device(),
                seats: quantities(wanted),
            },
        };
        let result = state.handle(&command);

        // Which commands are refused, and why, is fully predictable.
        let expected_error = match &op {
            SeatOp::Reserve(_, wanted, _) | SeatOp::Grant(wanted) => {
                let asked = quantities(wanted);
                let nothing = asked.iter().all(|s| s.quantity == 0);
                let unknown = asked
                    .iter()
                    .find(|s| !before.remaining.contains_key(&s.seat_type));
                match (&op, nothing, unknown) {
                    (SeatOp::Reserve(..), true, _) => Some(seats::Error::NoSeatsRequested),
                    // A reservation of a seat type never held gets none of it (or all of it
                    // by override); only grants refuse unknown seat types.
                    (SeatOp::Grant(_), _, Some(s)) => {
                        Some(seats::Error::UnknownSeatType(s.seat_type))
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        let events = match (result, expected_error) {
            (Err(e), Some(expected)) => {
                prop_assert_eq!(e, expected);
                continue;
            }
            (Err(e), None) => return Err(TestCaseError::fail(format!("{op:?} refused: {e}"))),
            (Ok(events), Some(expected)) => {
                return Err(TestCaseError::fail(format!(
                    "{op:?} gave {events:?}, not {expected}"
                )));
            }
            (Ok(events), None) => events,
        };
        for e in &events {
            state.apply(e);
            log.push(e.clone());
        }

        // Keep the model of where every seat is.
        match &op {
            SeatOp::Add(t, q) => *model.added.entry(seat_type(*t)).or_default() += i64::from(*q),
            SeatOp::Remove(t, q) => {
                *model.removed.entry(seat_type(*t)).or_default() += i64::from(*q)
            }
            SeatOp::Commit(r) => {
                if let Some(held) = before.pending.get(&reservation(*r)) {
                    model.committed.push((reservation(*r), held.clone()));
                }
            }
            SeatOp::Release(r) => {
                let i = model
                    .committed
                    .iter()
                    .position(|(id, _)| *id == reservation(*r))
                    .unwrap();
                model.committed.remove(i);
            }
            SeatOp::Grant(_) => {
                for e in &events {
                    if let seats::Event::SeatsAllotted(a) = e {
                        for s in &a.seats {
                            *model.allotted.entry(s.seat_type).or_default() +=
                                i64::from(s.quantity);
                        }
                    }
                }
            }
            SeatOp::Reserve(r, wanted, over) => {
                // Every reservation request is answered, with exactly what the rule gives.
                prop_assert_eq!(events.len(), 1);
                let seats::Event::SeatsReserved(reserved) = &events[0] else {
                    return Err(TestCaseError::fail("not SeatsReserved"));
                };
                let over = *over && allow_override;
                let held_before = before
                    .pending
                    .get(&reservation(*r))
                    .cloned()
                    .unwrap_or_default();
                let mut want: BTreeMap<SeatTypeId, u32> = BTreeMap::new();
                for s in quantities(wanted) {
                    let w = want.entry(s.seat_type).or_default();
                    *w = w.saturating_add(s.quantity);
                }
                let held_after = state
                    .pending
                    .get(&reservation(*r))
                    .cloned()
                    .unwrap_or_default();
                for t in want.keys().chain(held_before.keys()) {
                    let w = i64::from(want.get(t).copied().unwrap_or(0));
                    let h = i64::from(held_before.get(t).copied().unwrap_or(0));
                    let free = before.remaining(*t).max(0) + h;
                    let expected = if over { w } else { w.min(free) };
                    prop_assert_eq!(
                        i64::from(held_after.get(t).copied().unwrap_or(0)),
                        expected,
                        "{:?}",
                        t
                    );
                }
                if !over {
                    prop_assert!(reserved.overridden.is_empty());
                }
                for s in &reserved.overridden {
                    *model.overridden.entry(s.seat_type).or_default() += i64::from(s.quantity);
                }
            }
            SeatOp::Cancel(_) => {}
        }

        // Conservation: every seat added is remaining, held, sold or allotted.
        for t in [seat_a(), seat_b(), seat_c()] {
            let remaining = state.remaining(t);
            let pending: i64 = state
                .pending
                .values()
                .map(|p| i64::from(p.get(&t).copied().unwrap_or(0)))
                .sum();
            let committed: i64 = model
                .committed
                .iter()
                .map(|(_, p)| i64::from(p.get(&t).copied().unwrap_or(0)))
                .sum();
            prop_assert_eq!(
                remaining + pending + committed + sum(&model.allotted, t),
                sum(&model.added, t) - sum(&model.removed, t),
                "seats of {:?} are not conserved after {:?}",
                t,
                op
            );
            if !allow_override && !allow_remove {
                prop_assert!(remaining >= 0, "remaining {} after {:?}", remaining, op);
                prop_assert!(pending + remaining <= sum(&model.added, t));
            }
            if !allow_remove {
                prop_assert!(
                    remaining >= -sum(&model.overridden, t),
                    "only an override goes below zero"
                );
            }
        }
    }
    check_replay(&state, &log)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn seats_are_never_over_reserved_without_override(ops in seat_ops(15)) {
        run_seats(ops, false, false)?;
    }

    #[test]
    fn seats_are_conserved_with_overrides_and_removals(ops in seat_ops(15)) {
        run_seats(ops, true, true)?;
    }

    #[test]
    fn huge_quantities_neither_panic_nor_lose_seats(ops in seat_ops(u32::MAX)) {
        run_seats(ops, true, false)?;
    }
}

// ---- Order ----

fn price_list(prices: &[Money], minor_units: u32) -> PriceList {
    PriceList {
        minor_units,
        seat_types: prices
            .iter()
            .enumerate()
            .map(|(i, price)| PricedSeatType {
                id: seat_type(i),
                name: format!("Seat {i}"),
                price: *price,
            })
            .collect(),
    }
}

fn discount(i: usize, kind: DiscountKind, scope: Option<usize>) -> PromoCodeDefinition {
    PromoCodeDefinition {
        code: code(&format!("CODE{i}")),
        discount: kind,
        scope: scope.map_or(Scope::All, |t| Scope::SeatTypes(vec![seat_type(t)])),
        max_uses: None,
        exclusive: false,
    }
}

fn discounts() -> impl Strategy<Value = Vec<PromoCodeDefinition>> {
    vec(
        (arb::discount_kind(), proptest::option::of(0usize..3)),
        0..4,
    )
    .prop_map(|list| {
        list.into_iter()
            .enumerate()
            .map(|(i, (kind, scope))| discount(i, kind, scope))
            .collect()
    })
}

/// Prices with 0 to 3 decimals, up to 50000.
fn price() -> impl Strategy<Value = Money> {
    (0i64..=50_000_000, 0u32..=3).prop_map(|(m, scale)| {
        let amount = Decimal::new(m, scale).min(Decimal::from(50_000));
        Money::new(amount)
    })
}

#[derive(Clone, Debug)]
enum OrderOp {
    Place(Vec<(usize, u32)>),
    Update(Vec<(usize, u32)>),
    Mark(Vec<(usize, u32)>, Vec<PromoCodeDefinition>, i64),
    Reject,
    Register(bool),
    Confirm(bool, i64),
    Cancel,
}

fn order_ops() -> impl Strategy<Value = Vec<OrderOp>> {
    let wanted = || vec((0usize..2, 0u32..5), 0..3);
    let op = prop_oneof![
        2 => wanted().prop_map(OrderOp::Place),
        1 => wanted().prop_map(OrderOp::Update),
        3 => (wanted(), discounts(), 0i64..40).prop_map(|(w, d, e)| OrderOp::Mark(w, d, e)),
        1 => Just(OrderOp::Reject),
        1 => any::<bool>().prop_map(OrderOp::Register),
        3 => (any::<bool>(), 0i64..40).prop_map(|(paid, now)| OrderOp::Confirm(paid, now)),
        1 => Just(OrderOp::Cancel),
    ];
    vec(op, 1..25)
}

fn order_command(op: &OrderOp, prices: &PriceList) -> order::Command {
    match op {
        OrderOp::Place(wanted) => order::Command::Place {
            conference_id: conference_id(),
            seats: quantities(wanted),
            promo_codes: vec![],
            access_code: access_code(),
            holder: Holder::Pool,
            allow_override: false,
            reservation_expires_at: at(15),
        },
        OrderOp::Update(wanted) => order::Command::Update {
            seats: quantities(wanted),
            promo_codes: vec![],
        },
        OrderOp::Mark(reserved, discounts, expires) => order::Command::MarkSeatsAsReserved {
            seats: quantities(reserved),
            expiration: at(*expires),
            price_list: prices.clone(),
            discounts: discounts.clone(),
        },
        OrderOp::Reject => order::Command::Reject,
        OrderOp::Register(first) => order::Command::AssignRegistrantDetails(if *first {
            person("Ada", "Lovelace", "ada@example.org")
        } else {
            person("Grace", "Hopper", "grace@example.org")
        }),
        OrderOp::Confirm(paid, now) => order::Command::Confirm {
            basis: if *paid {
                ConfirmationBasis::Paid(payment_id())
            } else {
                ConfirmationBasis::FreeOfCharge
            },
            now: at(*now),
        },
        OrderOp::Cancel => order::Command::Cancel {
            reason: "test".into(),
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn orders_replay_equals_fold_and_keep_their_lifecycle(
        ops in order_ops(),
        prices in vec(price(), 2),
    ) {
        let prices = price_list(&prices, 2);
        let mut state = Order::default();
        let mut log = vec![];
        let (mut ever_confirmed, mut ever_expired) = (false, false);
        for op in &ops {
            let status_before = state.data().map(|d| d.status);
            let Ok(events) = state.handle(&order_command(op, &prices)) else { continue };
            if matches!(status_before, Some(OrderStatus::Expired | OrderStatus::Cancelled)) {
                prop_assert!(events.is_empty(), "{:?} changed a closed order: {:?}", op, events);
            }
            for e in &events {
                state.apply(e);
                log.push(e.clone());
                match e {
                    order::Event::OrderConfirmed(_) => ever_confirmed = true,
                    order::Event::OrderExpired(_) => ever_expired = true,
                    order::Event::OrderTotalsCalculated(t) => {
                        prop_assert!(!t.total.is_negative());
                        prop_assert_eq!(t.is_free_of_charge, t.total.is_zero());
                    }
                    _ => {}
                }
            }
            prop_assert!(!(ever_confirmed && ever_expired), "an order both confirmed and expired");
            if let Some(data) = state.data()
                && data.status == OrderStatus::Confirmed
            {
                prop_assert!(!data.reserved.is_empty(), "confirmed with nothing reserved");
            }
        }
        check_replay(&state, &log)?;
    }

    #[test]
    fn order_totals_are_never_negative(
        prices in vec(price(), 3),
        minor_units in prop_oneof![Just(0u32), Just(2), Just(3)],
        wanted in vec((0usize..3, 0u32..50), 0..5),
        discounts in discounts(),
    ) {
        let list = price_list(&prices, minor_units);
        let seats = quantities(&wanted);
        let totals = pricing::price(&list, &seats, &discounts).unwrap();
        let seat_lines: Vec<_> = totals.lines.iter().filter(|l| l.kind == LineKind::Seat).collect();
        let discount_lines: Vec<_> = totals.lines.iter().filter(|l| l.kind == LineKind::Discount).collect();
        let subtotal: Money = seat_lines.iter().map(|l| l.total).sum();

        prop_assert!(!totals.total.is_negative(), "total {}", totals.total);
        prop_assert!(totals.total <= subtotal);
        prop_assert_eq!(totals.total.amount().scale(), minor_units);
        prop_assert_eq!(totals.is_free_of_charge, totals.total.is_zero());
        // The lines a buyer sees add up to what they pay.
        let lines: Money = totals.lines.iter().map(|l| l.total).sum();
        prop_assert_eq!(lines, totals.total, "lines {:?}", totals.lines);
        for (line, s) in seat_lines.iter().zip(seats.iter().filter(|s| s.quantity > 0)) {
            prop_assert_eq!(line.seat_type, Some(s.seat_type));
            prop_assert_eq!(line.total, line.unit_price.times(s.quantity).round(minor_units));
        }
        // At most one line per code, in the order given, each taking something.
        prop_assert!(discount_lines.len() <= discounts.len());
        let mut given = discounts.iter().map(|d| &d.code);
        for line in &discount_lines {
            prop_assert!(line.total.is_negative());
            let code = line.promo_code.as_ref().unwrap();
            prop_assert!(given.any(|c| c == code), "{} out of order", code);
        }

        // The order aggregate records the same totals.
        let placed = Order::fold(&[order::OrderPlaced {
            conference_id: conference_id(),
            seats: vec![SeatQuantity::new(seat_a(), 1)],
            access_code: access_code(),
            reservation_auto_expiration: at(15),
            promo_codes: vec![],
            holder: Holder::Pool,
            allow_override: false,
        }.into()]);
        let events = placed.handle(&order::Command::MarkSeatsAsReserved {
            seats: seats.clone(),
            expiration: at(15),
            price_list: list,
            discounts,
        }).unwrap();
        let order::Event::OrderTotalsCalculated(t) = &events[1] else {
            return Err(TestCaseError::fail("no totals"));
        };
        prop_assert_eq!((&t.total, &t.lines, t.is_free_of_charge), (&totals.total, &totals.lines, totals.is_free_of_charge));
    }
}
