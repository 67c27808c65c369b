//! What the server does after a pushed command's events are stored, in the same
//! transaction, as the author of its own events (the server's device id, fresh command ids):
//!
//! - pool policy: a new seat type, or a changed quantity, adds or removes seats in the
//!   conference pool, unless the command wrote the pool itself (a device that still owned
//!   its pool);
//! - over-allotment cover: seats a door sold past its allotment by explicit override are
//!   granted to it from the free pool; what the pool cannot give goes to reconciliation;
//! - returns: seats a device gave back from its allotment join the pool again;
//! - promo codes: a confirmed order's limited codes are counted here (connected devices do
//!   not write the shared promo-code stream); a code already used up sends the order to
//!   reconciliation as `promo_overuse` — the sale stands.
use crate::log::{Appended, Author, Refusal, Stored, Unit};
use conference_domain::aggregate::DomainEvent;
use conference_domain::discounts::{self, Promotions};
use conference_domain::order::{self, Order};
use conference_domain::seats::{self, SeatsAvailability};
use conference_domain::stream::{Holder, StreamId, StreamKind};
use conference_domain::values::SeatQuantity;
use conference_domain::{ConferenceId, DeviceId, OrderId, SeatTypeId};
use std::collections::{BTreeMap, HashSet};
use uuid::Uuid;

pub(crate) fn follow_ups(
    unit: &mut Unit<'_>,
    stored: &[Appended<'_>],
    command_id: Uuid,
    device_id: Uuid,
) -> Result<(), Refusal> {
    let wrote_pool: HashSet<Uuid> = stored
        .iter()
        .filter(|s| s.stream.kind == StreamKind::Seats && s.stream.holder == Holder::Pool)
        .map(|s| s.stream.id)
        .collect();
    let wrote_promos: HashSet<Uuid> = stored
        .iter()
        .filter(|s| s.stream.kind == StreamKind::Promos)
        .map(|s| s.stream.id)
        .collect();
    for s in stored {
        match (s.event, s.stream.holder) {
            (DomainEvent::Conference(event), _) if !wrote_pool.contains(&s.stream.id) => {
                if let Some(command) = conference_exec::pool_policy(event) {
                    run_on_pool(unit, ConferenceId::from_uuid(s.stream.id), &command)?;
                }
            }
            (DomainEvent::Seats(seats::Event::SeatsReserved(reserved)), Holder::Device(device))
                if !reserved.overridden.is_empty() =>
            {
                cover_override(unit, s, device, reserved, command_id)?;
            }
            (DomainEvent::Order(order::Event::OrderConfirmed(_)), _) => {
                redeem_promo_codes(unit, s, &wrote_promos, command_id, device_id)?;
            }
            (
                DomainEvent::Seats(seats::Event::AllotmentReturned(returned)),
                Holder::Device(device),
            ) => {
                run_on_pool(
                    unit,
                    ConferenceId::from_uuid(s.stream.id),
                    &seats::Command::AcceptReturnedSeats {
                        device,
                        seats: returned.seats.clone(),
                    },
                )?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn server_author(unit: &Unit<'_>) -> Author {
    Author {
        command_id: Uuid::now_v7(),
        device_id: unit.server_device,
    }
}

/// Runs a pool command that cannot be refused (adding, removing, taking back seats).
fn run_on_pool(
    unit: &mut Unit<'_>,
    conference_id: ConferenceId,
    command: &seats::Command,
) -> Result<Vec<Stored>, Refusal> {
    let author = server_author(unit);
    let pool = StreamId::seats(conference_id, Holder::Pool);
    unit.execute::<SeatsAvailability>(pool, command, author)?
        .map_err(|e| {
            Refusal::Request(crate::error::ApiError::Internal(format!(
                "the pool of conference {} refused {command:?}: {e}",
                conference_id
            )))
        })
}

fn cover_override(
    unit: &mut Unit<'_>,
    sale: &Appended<'_>,
    device: DeviceId,
    reserved: &seats::SeatsReserved,
    command_id: Uuid,
) -> Result<(), Refusal> {
    let conference_id = ConferenceId::from_uuid(sale.stream.id);
    let author = server_author(unit);
    let grant = unit.execute::<SeatsAvailability>(
        StreamId::seats(conference_id, Holder::Pool),
        &seats::Command::GrantAllotment {
            device,
            seats: reserved.overridden.clone(),
        },
        author,
    )?;
    let mut covered: BTreeMap<SeatTypeId, u32> = BTreeMap::new();
    match grant {
        Ok(stored) => {
            for s in stored {
                if let DomainEvent::Seats(seats::Event::SeatsAllotted(allotted)) = s.event {
                    for seat in allotted.seats {
                        *covered.entry(seat.seat_type).or_default() += seat.quantity;
                    }
                }
            }
        }
        // The pool does not sell that seat type at all: nothing could be covered.
        Err(e) => tracing::warn!(error = %e, "over-allotment could not be covered"),
    }
    let mut overridden: BTreeMap<SeatTypeId, u32> = BTreeMap::new();
    for SeatQuantity {
        seat_type,
        quantity,
    } in &reserved.overridden
    {
        *overridden.entry(*seat_type).or_default() += quantity;
    }
    for (seat_type, quantity) in overridden {
        let got = covered.get(&seat_type).copied().unwrap_or(0).min(quantity);
        let uncovered = quantity - got;
        tracing::info!(%seat_type, overridden = quantity, covered = got, "over-allotment sale");
        if uncovered > 0 {
            unit.reconcile(
                "over_allotment",
                Some(conference_id.as_uuid()),
                device.as_uuid(),
                Some(command_id),
                &serde_json::json!({
                    "order_id": reserved.reservation_id,
                    "seat_type_id": seat_type,
                    "overridden": quantity,
                    "covered": got,
                    "uncovered": uncovered,
                }),
            )?;
        }
    }
    Ok(())
}

/// Counts a confirmed order's limited promo codes, one code at a time so that one used-up
/// code does not keep the others from counting.
fn redeem_promo_codes(
    unit: &mut Unit<'_>,
    confirmed: &Appended<'_>,
    wrote_promos: &HashSet<Uuid>,
    command_id: Uuid,
    device_id: Uuid,
) -> Result<(), Refusal> {
    // Most conferences have no limited code: then there is nothing to count, and the
    // order's stream need not be folded to find its codes.
    if let Some(conference) = confirmed.conference_id {
        let (limited, _) = unit.with_state(
            StreamId::promos(ConferenceId::from_uuid(conference)),
            |promotions: &Promotions| {
                promotions
                    .codes
                    .values()
                    .any(|s| s.definition.max_uses.is_some())
            },
        )?;
        if !limited {
            return Ok(());
        }
    }
    let (order, _) = unit.load::<Order>(confirmed.stream)?;
    let Some(data) = order.data() else {
        return Ok(());
    };
    let conference = data.conference_id;
    if data.promo_codes.is_empty() || wrote_promos.contains(&conference.as_uuid()) {
        return Ok(());
    }
    let stream = StreamId::promos(conference);
    let (promotions, _) = unit.load::<Promotions>(stream)?;
    let order_id = OrderId::from_uuid(confirmed.stream.id);
    let seat_types: Vec<SeatTypeId> = data.seats.iter().map(|s| s.seat_type).collect();
    for code in &data.promo_codes {
        let limited = promotions
            .codes
            .get(code)
            .is_some_and(|s| s.definition.max_uses.is_some());
        if !limited {
            continue;
        }
        let author = server_author(unit);
        let hold = discounts::Command::HoldRedemptions {
            order_id,
            codes: vec![code.clone()],
            seat_types: seat_types.clone(),
        };
        match unit.execute::<Promotions>(stream, &hold, author)? {
            Ok(_) => {
                let author = server_author(unit);
                let commit = discounts::Command::CommitRedemptions { order_id };
                if let Err(e) = unit.execute::<Promotions>(stream, &commit, author)? {
                    tracing::warn!(error = %e, "a held redemption could not be counted");
                }
            }
            Err(refused) => {
                unit.reconcile(
                    "promo_overuse",
                    Some(conference.as_uuid()),
                    device_id,
                    Some(command_id),
                    &serde_json::json!({
                        "order_id": order_id,
                        "code": code,
                        "reason": refused.to_string(),
                    }),
                )?;
            }
        }
    }
    Ok(())
}
