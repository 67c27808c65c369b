//! Read models, updated from each event inside the transaction that records it, and
//! rebuildable from the log with the same code.
use crate::{Recorded, Result, format_time};
use conference_domain::aggregate::DomainEvent;
use conference_domain::assignments;
use conference_domain::conference::{self, Publication};
use conference_domain::discounts;
use conference_domain::order;
use conference_domain::payment;
use conference_domain::seats;
use conference_domain::stream::Holder;
use conference_domain::values::{SeatDelta, SeatQuantity};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

const TABLES: &[&str] = &[
    "rm_conferences",
    "rm_seat_types",
    "rm_seat_availability",
    "rm_pending_reservations",
    "rm_promo_codes",
    "rm_orders",
    "rm_payments",
];

pub(crate) fn clear(conn: &Connection) -> Result<()> {
    for table in TABLES {
        conn.execute(&format!("DELETE FROM {table}"), [])?;
    }
    Ok(())
}

/// The text form of a holder in read models.
#[must_use]
pub fn holder_key(holder: Holder) -> String {
    match holder {
        Holder::Pool => "pool".to_string(),
        Holder::Device(d) => d.to_string(),
    }
}

pub(crate) fn publication_key(p: Publication) -> &'static str {
    match p {
        Publication::Draft => "draft",
        Publication::Published => "published",
        Publication::Unpublished => "unpublished",
    }
}

pub(crate) fn project(conn: &Connection, e: &Recorded) -> Result<()> {
    let id = e.stream.id;
    let at = format_time(e.recorded_at);
    match &e.event {
        DomainEvent::Conference(event) => project_conference(conn, id, e.position, event),
        DomainEvent::Seats(event) => project_seats(conn, id, holder_key(e.stream.holder), event),
        DomainEvent::Promos(event) => project_promos(conn, id, e.position, event),
        DomainEvent::Order(event) => project_order(conn, id, e, &at, event),
        DomainEvent::Payment(event) => project_payment(conn, id, e, &at, event),
        DomainEvent::Assignments(event) => project_assignments(conn, id, event),
    }
}

fn project_conference(
    conn: &Connection,
    id: Uuid,
    position: i64,
    event: &conference::Event,
) -> Result<()> {
    use conference::Event as E;
    match event {
        E::ConferenceCreated(e) => {
            let d = &e.details;
            conn.prepare_cached(
                "INSERT INTO rm_conferences (id, slug, name, description, location, start_at, end_at, owner_name, owner_email, currency, publication)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'draft')",
            )?
            .execute(params![
                id,
                d.slug.as_str(),
                d.name,
                d.description,
                d.location,
                format_time(d.start),
                format_time(d.end),
                d.owner_name,
                d.owner_email.as_str(),
                e.currency.code()
            ])?;
        }
        E::ConferenceUpdated(e) => {
            let d = &e.details;
            conn.prepare_cached(
                "UPDATE rm_conferences SET slug = ?2, name = ?3, description = ?4, location = ?5, start_at = ?6, end_at = ?7, owner_name = ?8, owner_email = ?9 WHERE id = ?1",
            )?
            .execute(params![
                id,
                d.slug.as_str(),
                d.name,
                d.description,
                d.location,
                format_time(d.start),
                format_time(d.end),
                d.owner_name,
                d.owner_email.as_str()
            ])?;
        }
        E::SeatTypeCreated(e) => {
            let s = &e.seat_type;
            conn.prepare_cached(
                "INSERT INTO rm_seat_types (id, conference_id, name, description, price, quantity, created_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![s.id.as_uuid(), id, s.name, s.description, s.price.to_string(), s.quantity, position])?;
        }
        E::SeatTypeUpdated(e) => {
            let s = &e.seat_type;
            conn.prepare_cached("UPDATE rm_seat_types SET name = ?2, description = ?3, price = ?4, quantity = ?5 WHERE id = ?1")?
                .execute(params![s.id.as_uuid(), s.name, s.description, s.price.to_string(), s.quantity])?;
        }
        E::ConferencePublished(_) => set_publication(conn, id, Publication::Published)?,
        E::ConferenceUnpublished(_) => set_publication(conn, id, Publication::Unpublished)?,
    }
    Ok(())
}

fn set_publication(conn: &Connection, id: Uuid, p: Publication) -> Result<()> {
    conn.prepare_cached("UPDATE rm_conferences SET publication = ?2 WHERE id = ?1")?
        .execute(params![id, publication_key(p)])?;
    Ok(())
}

fn bump(
    conn: &Connection,
    conference: Uuid,
    holder: &str,
    seat_type: Uuid,
    remaining: i64,
    reserved: i64,
    sold: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO rm_seat_availability (conference_id, seat_type_id, holder, remaining, reserved, sold) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (conference_id, seat_type_id, holder) DO UPDATE SET
           remaining = remaining + excluded.remaining, reserved = reserved + excluded.reserved, sold = sold + excluded.sold",
    )?
    .execute(params![conference, seat_type, holder, remaining, reserved, sold])?;
    Ok(())
}

fn bump_deltas(
    conn: &Connection,
    conference: Uuid,
    holder: &str,
    changes: &[SeatDelta],
) -> Result<()> {
    for c in changes {
        bump(
            conn,
            conference,
            holder,
            c.seat_type.as_uuid(),
            c.quantity,
            0,
            0,
        )?;
    }
    Ok(())
}

fn bump_seats(
    conn: &Connection,
    conference: Uuid,
    holder: &str,
    seats: &[SeatQuantity],
    sign: i64,
) -> Result<()> {
    for s in seats {
        bump(
            conn,
            conference,
            holder,
            s.seat_type.as_uuid(),
            sign * i64::from(s.quantity),
            0,
            0,
        )?;
    }
    Ok(())
}

/// Takes a reservation's pending rows out, moving them from `reserved` (to `sold` if
/// `sell`), and returns them.
fn take_pending(
    conn: &Connection,
    conference: Uuid,
    holder: &str,
    order: Uuid,
    sell: bool,
) -> Result<()> {
    let pending: Vec<(Uuid, i64)> = conn
        .prepare_cached(
            "SELECT seat_type_id, quantity FROM rm_pending_reservations WHERE order_id = ?1",
        )?
        .query_map([order], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (seat_type, quantity) in pending {
        bump(
            conn,
            conference,
            holder,
            seat_type,
            0,
            -quantity,
            if sell { quantity } else { 0 },
        )?;
    }
    conn.prepare_cached("DELETE FROM rm_pending_reservations WHERE order_id = ?1")?
        .execute([order])?;
    Ok(())
}

fn project_seats(
    conn: &Connection,
    conference: Uuid,
    holder: String,
    event: &seats::Event,
) -> Result<()> {
    use seats::Event as E;
    let holder = holder.as_str();
    match event {
        E::AvailableSeatsChanged(e) => bump_deltas(conn, conference, holder, &e.seats)?,
        E::SeatsReserved(e) => {
            let order = e.reservation_id.as_uuid();
            take_pending(conn, conference, holder, order, false)?;
            for s in &e.details {
                conn.prepare_cached("INSERT INTO rm_pending_reservations (order_id, seat_type_id, quantity) VALUES (?1, ?2, ?3)")?
                    .execute(params![order, s.seat_type.as_uuid(), s.quantity])?;
                bump(
                    conn,
                    conference,
                    holder,
                    s.seat_type.as_uuid(),
                    0,
                    i64::from(s.quantity),
                    0,
                )?;
            }
            bump_deltas(conn, conference, holder, &e.available_changed)?;
            for s in &e.overridden {
                conn.prepare_cached(
                    "UPDATE rm_seat_availability SET overridden = overridden + ?4 WHERE conference_id = ?1 AND seat_type_id = ?2 AND holder = ?3",
                )?
                .execute(params![conference, s.seat_type.as_uuid(), holder, s.quantity])?;
            }
        }
        E::SeatsReservationCommitted(e) => {
            take_pending(conn, conference, holder, e.reservation_id.as_uuid(), true)?
        }
        E::SeatsReservationCancelled(e) => {
            take_pending(conn, conference, holder, e.reservation_id.as_uuid(), false)?;
            bump_deltas(conn, conference, holder, &e.available_changed)?;
        }
        E::CommittedSeatsReleased(e) => {
            for c in &e.available_changed {
                bump(
                    conn,
                    conference,
                    holder,
                    c.seat_type.as_uuid(),
                    c.quantity,
                    0,
                    -c.quantity,
                )?;
            }
        }
        E::SeatsAllotted(e) => bump_seats(conn, conference, holder, &e.seats, -1)?,
        E::AllotmentReceived(e) => bump_seats(conn, conference, holder, &e.seats, 1)?,
        E::AllotmentReturned(e) => bump_seats(conn, conference, holder, &e.seats, -1)?,
        E::ReturnedSeatsAccepted(e) => bump_seats(conn, conference, holder, &e.seats, 1)?,
    }
    Ok(())
}

fn project_promos(
    conn: &Connection,
    conference: Uuid,
    position: i64,
    event: &discounts::Event,
) -> Result<()> {
    use discounts::Event as E;
    let change = |codes: &[conference_domain::PromoCode], held: i64, redeemed: i64| -> Result<()> {
        for code in codes {
            conn.prepare_cached(
                "UPDATE rm_promo_codes SET held = held + ?3, redeemed = redeemed + ?4 WHERE conference_id = ?1 AND code = ?2",
            )?
            .execute(params![conference, code.as_str(), held, redeemed])?;
        }
        Ok(())
    };
    match event {
        E::PromoCodeAdded(e) => {
            let d = &e.definition;
            conn.prepare_cached(
                "INSERT INTO rm_promo_codes (conference_id, code, definition, max_uses, created_seq) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                conference,
                d.code.as_str(),
                serde_json::to_string(d).unwrap_or_default(),
                d.max_uses,
                position
            ])?;
        }
        E::PromoRedemptionsHeld(e) => change(&e.codes, 1, 0)?,
        E::PromoRedemptionsCommitted(e) => change(&e.codes, -1, 1)?,
        E::PromoRedemptionsReleased(e) if e.committed => change(&e.codes, 0, -1)?,
        E::PromoRedemptionsReleased(e) => change(&e.codes, -1, 0)?,
    }
    Ok(())
}

fn set_order_status(
    conn: &Connection,
    order: Uuid,
    status: order::OrderStatus,
    at: &str,
) -> Result<()> {
    conn.prepare_cached("UPDATE rm_orders SET status = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![order, status.as_str(), at])?;
    Ok(())
}

/// One seat type of an order, as the `rm_orders.seats` JSON holds it.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct OrderSeat {
    pub(crate) seat_type_id: Uuid,
    pub(crate) requested: u32,
    pub(crate) reserved: u32,
}

fn read_seats(conn: &Connection, order: Uuid) -> Result<Vec<OrderSeat>> {
    let text: String = conn
        .prepare_cached("SELECT seats FROM rm_orders WHERE id = ?1")?
        .query_row([order], |r| r.get(0))?;
    serde_json::from_str(&text).map_err(|e| crate::StoreError::Corrupt {
        what: format!("seats of order {order}"),
        reason: e.to_string(),
    })
}

fn write_seats(conn: &Connection, order: Uuid, seats: &[OrderSeat]) -> Result<()> {
    conn.prepare_cached("UPDATE rm_orders SET seats = ?2 WHERE id = ?1")?
        .execute(params![
            order,
            serde_json::to_string(seats).unwrap_or_default()
        ])?;
    Ok(())
}

fn set_reserved(conn: &Connection, order: Uuid, reserved: &[SeatQuantity]) -> Result<()> {
    let mut seats = read_seats(conn, order)?;
    for seat in &mut seats {
        seat.reserved = 0;
    }
    for r in reserved {
        match seats
            .iter_mut()
            .find(|s| s.seat_type_id == r.seat_type.as_uuid())
        {
            Some(seat) => seat.reserved = r.quantity,
            None => seats.push(OrderSeat {
                seat_type_id: r.seat_type.as_uuid(),
                requested: 0,
                reserved: r.quantity,
            }),
        }
    }
    write_seats(conn, order, &seats)
}

fn requested(seats: &[SeatQuantity]) -> Vec<OrderSeat> {
    seats
        .iter()
        .map(|s| OrderSeat {
            seat_type_id: s.seat_type.as_uuid(),
            requested: s.quantity,
            reserved: 0,
        })
        .collect()
}

fn project_order(
    conn: &Connection,
    order: Uuid,
    e: &Recorded,
    at: &str,
    event: &order::Event,
) -> Result<()> {
    use order::Event as E;
    use order::OrderStatus as S;
    match event {
        E::OrderPlaced(p) => {
            conn.prepare_cached(
                "INSERT INTO rm_orders (id, conference_id, access_code, status, promo_codes, expires_at, placed_at, updated_at, device_id, holder, allow_override, seats)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                order,
                p.conference_id.as_uuid(),
                p.access_code.as_str(),
                S::PendingReservation.as_str(),
                serde_json::to_string(&p.promo_codes).unwrap_or_default(),
                format_time(p.reservation_auto_expiration),
                at,
                e.device_id.as_uuid(),
                holder_key(p.holder),
                p.allow_override,
                serde_json::to_string(&requested(&p.seats)).unwrap_or_default()
            ])?;
        }
        E::OrderUpdated(u) => {
            conn.prepare_cached(
                "UPDATE rm_orders SET status = ?2, promo_codes = ?3, updated_at = ?4 WHERE id = ?1",
            )?
            .execute(params![
                order,
                S::PendingReservation.as_str(),
                serde_json::to_string(&u.promo_codes).unwrap_or_default(),
                at
            ])?;
            write_seats(conn, order, &requested(&u.seats))?;
        }
        E::OrderPartiallyReserved(r) => {
            set_reserved(conn, order, &r.seats)?;
            conn.prepare_cached("UPDATE rm_orders SET expires_at = ?2 WHERE id = ?1")?
                .execute(params![order, format_time(r.reservation_expiration)])?;
            set_order_status(conn, order, S::PartiallyReserved, at)?;
        }
        E::OrderReservationCompleted(r) => {
            set_reserved(conn, order, &r.seats)?;
            conn.prepare_cached("UPDATE rm_orders SET expires_at = ?2 WHERE id = ?1")?
                .execute(params![order, format_time(r.reservation_expiration)])?;
            set_order_status(conn, order, S::ReservationCompleted, at)?;
        }
        E::OrderTotalsCalculated(t) => {
            conn.prepare_cached(
                "UPDATE rm_orders SET total = ?2, is_free_of_charge = ?3 WHERE id = ?1",
            )?
            .execute(params![order, t.total.to_string(), t.is_free_of_charge])?;
            let lines: Vec<conference_protocol::OrderLineView> = t
                .lines
                .iter()
                .map(|line| conference_protocol::OrderLineView {
                    kind: match line.kind {
                        conference_domain::pricing::LineKind::Seat => "seat",
                        conference_domain::pricing::LineKind::Discount => "discount",
                    }
                    .into(),
                    description: line.description.clone(),
                    quantity: line.quantity,
                    unit_price: line.unit_price.to_string(),
                    total: line.total.to_string(),
                })
                .collect();
            conn.prepare_cached("UPDATE rm_orders SET lines = ?2 WHERE id = ?1")?
                .execute(params![
                    order,
                    serde_json::to_string(&lines).unwrap_or_default()
                ])?;
        }
        E::OrderExpired(_) => set_order_status(conn, order, S::Expired, at)?,
        E::OrderRegistrantAssigned(r) => {
            conn.prepare_cached(
                "UPDATE rm_orders SET registrant_first = ?2, registrant_last = ?3, registrant_email = ?4, updated_at = ?5 WHERE id = ?1",
            )?
            .execute(params![order, r.person.first_name, r.person.last_name, r.person.email.as_str(), at])?;
        }
        E::OrderConfirmed(c) => {
            conn.prepare_cached(
                "UPDATE rm_orders SET payment_id = COALESCE(?2, payment_id) WHERE id = ?1",
            )?
            .execute(params![order, c.payment_id.map(|p| p.as_uuid())])?;
            set_order_status(conn, order, S::Confirmed, at)?;
        }
        E::OrderCancelled(c) => {
            conn.prepare_cached("UPDATE rm_orders SET cancel_reason = ?2 WHERE id = ?1")?
                .execute(params![order, c.reason])?;
            set_order_status(conn, order, S::Cancelled, at)?;
        }
    }
    Ok(())
}

fn project_payment(
    conn: &Connection,
    payment: Uuid,
    e: &Recorded,
    at: &str,
    event: &payment::Event,
) -> Result<()> {
    use payment::Event as E;
    let status = |status: &str, reason: Option<&str>| -> Result<()> {
        conn.prepare_cached("UPDATE rm_payments SET status = ?2, reason = COALESCE(?3, reason), updated_at = ?4 WHERE id = ?1")?
            .execute(params![payment, status, reason, at])?;
        Ok(())
    };
    match event {
        E::PaymentInitiated(p) => {
            conn.prepare_cached(
                "INSERT INTO rm_payments (id, order_id, method, status, amount, device_id, updated_at) VALUES (?1, ?2, ?3, 'initiated', ?4, ?5, ?6)",
            )?
            .execute(params![payment, p.order_id.as_uuid(), p.method.as_str(), p.amount.to_string(), e.device_id.as_uuid(), at])?;
            conn.prepare_cached("UPDATE rm_orders SET payment_id = ?2 WHERE id = ?1")?
                .execute(params![p.order_id.as_uuid(), payment])?;
        }
        E::PaymentCompleted(p) => {
            conn.prepare_cached(
                "UPDATE rm_payments SET status = 'completed', tendered = ?2, change_given = ?3, reference = ?4, updated_at = ?5 WHERE id = ?1",
            )?
            .execute(params![
                payment,
                p.tendered.map(|m| m.to_string()),
                p.change.map(|m| m.to_string()),
                p.reference,
                at
            ])?;
        }
        E::PaymentRejected(p) => status("rejected", Some(&p.reason))?,
        E::PaymentRefunded(p) => status("refunded", Some(&p.reason))?,
    }
    Ok(())
}

/// One seat of a confirmed order, as the `rm_orders.assignments` JSON holds it.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct OrderAssignment {
    pub(crate) position: u32,
    pub(crate) seat_type_id: Uuid,
    pub(crate) attendee: Option<conference_protocol::PersonView>,
}

fn write_assignments(conn: &Connection, order: Uuid, seats: &[OrderAssignment]) -> Result<()> {
    conn.prepare_cached("UPDATE rm_orders SET assignments = ?2 WHERE id = ?1")?
        .execute(params![
            order,
            serde_json::to_string(seats).unwrap_or_default()
        ])?;
    Ok(())
}

fn project_assignments(conn: &Connection, order: Uuid, event: &assignments::Event) -> Result<()> {
    use assignments::Event as E;
    let set = |position: u32, person: Option<&conference_domain::PersonalInfo>| -> Result<()> {
        let text: Option<String> = conn
            .prepare_cached("SELECT assignments FROM rm_orders WHERE id = ?1")?
            .query_row([order], |r| r.get(0))
            .optional()?;
        let Some(text) = text else { return Ok(()) };
        let mut seats: Vec<OrderAssignment> =
            serde_json::from_str(&text).map_err(|e| crate::StoreError::Corrupt {
                what: format!("assignments of order {order}"),
                reason: e.to_string(),
            })?;
        if let Some(seat) = seats.iter_mut().find(|s| s.position == position) {
            seat.attendee = person.map(|p| conference_protocol::PersonView {
                first_name: p.first_name.clone(),
                last_name: p.last_name.clone(),
                email: p.email.as_str().to_string(),
            });
        }
        write_assignments(conn, order, &seats)
    };
    match event {
        E::SeatAssignmentsCreated(c) => {
            let seats: Vec<OrderAssignment> = c
                .seats
                .iter()
                .map(|s| OrderAssignment {
                    position: s.position,
                    seat_type_id: s.seat_type.as_uuid(),
                    attendee: None,
                })
                .collect();
            write_assignments(conn, order, &seats)?;
        }
        E::SeatAssigned(a) => set(a.position, Some(&a.attendee))?,
        E::SeatAssignmentUpdated(a) => set(a.position, Some(&a.attendee))?,
        E::SeatUnassigned(a) => set(a.position, None)?,
    }
    Ok(())
}
