//! Reads of the persisted read models, shaped as the protocol's views. Nothing here folds
//! events: every answer comes from tables kept current by the projections.
use crate::Result;
use conference_protocol as p;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

mod orders;
pub use orders::{
    OrderGroup, access_code, order_groups, orders, sales_buckets, sales_span, search_orders,
};

/// The id of the conference with this slug.
pub fn conference_id_by_slug(conn: &Connection, slug: &str) -> Result<Option<Uuid>> {
    Ok(conn
        .prepare_cached("SELECT id FROM rm_conferences WHERE slug = ?1")?
        .query_row([slug.trim().to_ascii_lowercase()], |r| r.get(0))
        .optional()?)
}

fn seat_type_name(conn: &Connection, id: Uuid) -> Result<String> {
    Ok(conn
        .prepare_cached("SELECT name FROM rm_seat_types WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?
        .unwrap_or_else(|| id.to_string()))
}

pub fn conference(conn: &Connection, id: Uuid) -> Result<Option<p::ConferenceView>> {
    let row = conn
        .prepare_cached(
            "SELECT slug, name, description, location, start_at, end_at, owner_name, owner_email, currency, publication FROM rm_conferences WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok(p::ConferenceView {
                id,
                slug: r.get(0)?,
                name: r.get(1)?,
                description: r.get(2)?,
                location: r.get(3)?,
                start: r.get(4)?,
                end: r.get(5)?,
                owner_name: r.get(6)?,
                owner_email: r.get(7)?,
                currency: r.get(8)?,
                published: r.get::<_, String>(9)? == "published",
                publication: r.get(9)?,
                seat_types: vec![],
                promo_codes: vec![],
            })
        })
        .optional()?;
    let Some(mut view) = row else { return Ok(None) };
    view.seat_types = conn
        .prepare_cached("SELECT id, name, description, price, quantity FROM rm_seat_types WHERE conference_id = ?1 ORDER BY created_seq")?
        .query_map([id], |r| {
            Ok(p::SeatTypeView {
                id: r.get(0)?,
                name: r.get(1)?,
                description: r.get(2)?,
                price: r.get(3)?,
                quantity: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    view.promo_codes = promo_codes(conn, id)?;
    Ok(Some(view))
}

pub fn promo_codes(conn: &Connection, conference: Uuid) -> Result<Vec<p::PromoCodeView>> {
    let rows: Vec<(String, u32, u32)> = conn
        .prepare_cached("SELECT definition, held, redeemed FROM rm_promo_codes WHERE conference_id = ?1 ORDER BY created_seq")?
        .query_map([conference], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for (definition, held, redeemed) in rows {
        let d: conference_domain::discounts::PromoCodeDefinition =
            serde_json::from_str(&definition).map_err(|e| crate::StoreError::Corrupt {
                what: "promo code definition".into(),
                reason: e.to_string(),
            })?;
        let (kind, value) = match &d.discount {
            conference_domain::discounts::DiscountKind::Percent(v) => {
                ("percent", v.normalize().to_string())
            }
            conference_domain::discounts::DiscountKind::Amount(a) => ("amount", a.to_string()),
        };
        let scope = match &d.scope {
            conference_domain::discounts::Scope::All => vec![],
            conference_domain::discounts::Scope::SeatTypes(types) => types
                .iter()
                .map(|t| seat_type_name(conn, t.as_uuid()))
                .collect::<Result<_>>()?,
        };
        out.push(p::PromoCodeView {
            code: d.code.to_string(),
            kind: kind.into(),
            value,
            scope,
            max_uses: d.max_uses,
            redeemed,
            held,
            exclusive: d.exclusive,
        });
    }
    Ok(out)
}

pub fn conferences(conn: &Connection) -> Result<Vec<p::ConferenceView>> {
    let ids: Vec<Uuid> = conn
        .prepare_cached("SELECT id FROM rm_conferences ORDER BY start_at, slug")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for id in ids {
        if let Some(view) = conference(conn, id)? {
            out.push(view);
        }
    }
    Ok(out)
}

/// Remaining seats per seat type; `device` adds that device's allotment column.
pub fn seats(
    conn: &Connection,
    conference: Uuid,
    device: Option<Uuid>,
) -> Result<Option<p::SeatsView>> {
    let head: Option<(String, String)> = conn
        .prepare_cached("SELECT slug, currency FROM rm_conferences WHERE id = ?1")?
        .query_row([conference], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((slug, currency)) = head else {
        return Ok(None);
    };
    let device_key = device.map(|d| d.to_string()).unwrap_or_default();
    let rows = conn
        .prepare_cached(
            "SELECT t.id, t.name, t.price, t.quantity,
                    COALESCE(SUM(a.reserved), 0), COALESCE(SUM(a.sold), 0), COALESCE(SUM(a.remaining), 0),
                    SUM(CASE WHEN a.holder = ?2 THEN a.remaining END), COALESCE(SUM(a.overridden), 0)
             FROM rm_seat_types t
             LEFT JOIN rm_seat_availability a ON a.conference_id = t.conference_id AND a.seat_type_id = t.id
             WHERE t.conference_id = ?1
             GROUP BY t.id ORDER BY t.created_seq",
        )?
        .query_map(params![conference, device_key], |r| {
            Ok(p::SeatAvailabilityView {
                seat_type_id: r.get(0)?,
                name: r.get(1)?,
                price: r.get(2)?,
                quantity: r.get(3)?,
                reserved: r.get(4)?,
                sold: r.get(5)?,
                remaining: r.get(6)?,
                allotment_remaining: r.get(7)?,
                overridden: r.get(8)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(Some(p::SeatsView {
        conference: slug,
        currency,
        seat_types: rows,
    }))
}

fn person(
    first: Option<String>,
    last: Option<String>,
    email: Option<String>,
) -> Option<p::PersonView> {
    Some(p::PersonView {
        first_name: first?,
        last_name: last?,
        email: email?,
    })
}

/// The order's payment from its `rm_orders` row: `payment_id` in column 13, the payment
/// columns from 18 on.
fn payment_view(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<p::PaymentView>> {
    let id: Option<Uuid> = r.get(13)?;
    let method: Option<String> = r.get(18)?;
    let (Some(id), Some(method)) = (id, method) else {
        return Ok(None);
    };
    Ok(Some(p::PaymentView {
        id,
        method,
        status: r.get::<_, Option<String>>(19)?.unwrap_or_default(),
        amount: r.get::<_, Option<String>>(20)?.unwrap_or_default(),
        tendered: r.get(21)?,
        change: r.get(22)?,
        reference: r.get(23)?,
        reason: r.get(24)?,
    }))
}

pub fn order(conn: &Connection, id: Uuid) -> Result<Option<p::OrderView>> {
    type Head = (
        Uuid,
        String,
        String,
        String,
        bool,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        String,
        Uuid,
        bool,
        Option<String>,
        String,
        String,
        String,
        Option<p::PaymentView>,
    );
    let head: Option<Head> = conn
        .prepare_cached(
            "SELECT conference_id, access_code, status, total, is_free_of_charge, promo_codes, registrant_first, registrant_last, registrant_email,
                    expires_at, placed_at, device_id, allow_override, payment_id, cancel_reason,
                    seats, lines, assignments,
                    payment_method, payment_status, payment_amount, payment_tendered, payment_change, payment_reference, payment_reason
             FROM rm_orders WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get(10)?,
                r.get(11)?,
                r.get(12)?,
                r.get(14)?,
                r.get(15)?,
                r.get(16)?,
                r.get(17)?,
                payment_view(r)?,
            ))
        })
        .optional()?;
    let Some((
        conference_id,
        access_code,
        status,
        total,
        free,
        promos,
        first,
        last,
        email,
        expires,
        placed,
        device,
        over,
        cancel_reason,
        seats_json,
        lines_json,
        assignments_json,
        payment,
    )) = head
    else {
        return Ok(None);
    };
    let (slug, currency): (String, String) = conn
        .prepare_cached("SELECT slug, currency FROM rm_conferences WHERE id = ?1")?
        .query_row([conference_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .unwrap_or_else(|| (conference_id.to_string(), String::new()));
    let corrupt = |what: &str, e: serde_json::Error| crate::StoreError::Corrupt {
        what: format!("{what} of order {id}"),
        reason: e.to_string(),
    };
    let stored: Vec<crate::projections::OrderSeat> =
        serde_json::from_str(&seats_json).map_err(|e| corrupt("seats", e))?;
    let mut seats = Vec::with_capacity(stored.len());
    for seat in stored {
        let (name, seq): (String, i64) = conn
            .prepare_cached("SELECT name, created_seq FROM rm_seat_types WHERE id = ?1")?
            .query_row([seat.seat_type_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .unwrap_or_default();
        seats.push((
            seq,
            p::OrderSeatView {
                seat_type_id: seat.seat_type_id,
                seat_type: name,
                requested: seat.requested,
                reserved: seat.reserved,
            },
        ));
    }
    seats.sort_by_key(|(seq, _)| *seq);
    let seats = seats.into_iter().map(|(_, view)| view).collect();
    let lines: Vec<p::OrderLineView> =
        serde_json::from_str(&lines_json).map_err(|e| corrupt("lines", e))?;
    let stored: Vec<crate::projections::OrderAssignment> =
        serde_json::from_str(&assignments_json).map_err(|e| corrupt("assignments", e))?;
    let mut assignments = Vec::with_capacity(stored.len());
    for seat in stored {
        let name: String = conn
            .prepare_cached("SELECT name FROM rm_seat_types WHERE id = ?1")?
            .query_row([seat.seat_type_id], |r| r.get(0))
            .optional()?
            .unwrap_or_default();
        assignments.push(p::AssignmentView {
            position: seat.position,
            seat_type: name,
            attendee: seat.attendee,
        });
    }
    let cancellable = conference_domain::order::OrderStatus::parse(&status)
        .is_some_and(conference_domain::order::OrderStatus::can_cancel);
    let refund_on_cancel = cancellable
        && payment
            .as_ref()
            .is_some_and(|p| p.status == crate::projections::PAYMENT_COMPLETED);
    Ok(Some(p::OrderView {
        id,
        conference: slug,
        access_code,
        status,
        seats,
        lines,
        total,
        currency,
        is_free_of_charge: free,
        promo_codes: serde_json::from_str(&promos).unwrap_or_default(),
        registrant: person(first, last, email),
        payment,
        assignments,
        reservation_expires_at: expires,
        placed_at: placed,
        device_id: device,
        over_allotment: over,
        cancel_reason,
        cancellable,
        refund_on_cancel,
    }))
}

/// The order with this registrant email and access code.
pub fn find_order(conn: &Connection, email: &str, access_code: &str) -> Result<Option<Uuid>> {
    Ok(conn
        .prepare_cached("SELECT id FROM rm_orders WHERE access_code = ?2 AND registrant_email = ?1 COLLATE NOCASE")?
        .query_row(params![email.trim(), access_code.trim().to_ascii_uppercase()], |r| r.get(0))
        .optional()?)
}

/// Every order of a conference, complete, oldest first (for export).
pub fn orders_full(conn: &Connection, conference: Uuid) -> Result<Vec<p::OrderView>> {
    orders_full_with(conn, conference, &mut |_, _| {})
}

/// [`orders_full`], telling `progress` (orders read, orders in all) after each order.
pub fn orders_full_with(
    conn: &Connection,
    conference: Uuid,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Vec<p::OrderView>> {
    let ids: Vec<Uuid> = conn
        .prepare_cached("SELECT id FROM rm_orders WHERE conference_id = ?1 ORDER BY placed_at, id")?
        .query_map([conference], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let total = ids.len() as u64;
    let mut out = Vec::with_capacity(ids.len());
    for (done, id) in ids.into_iter().enumerate() {
        if let Some(o) = order(conn, id)? {
            out.push(o);
        }
        progress(done as u64 + 1, total);
    }
    Ok(out)
}

/// A dump of every read-model table in a fixed order, for comparing a store with a rebuild.
pub fn dump_read_models(conn: &Connection) -> Result<Vec<String>> {
    let tables: &[(&str, &str)] = &[
        ("rm_conferences", "id"),
        ("rm_seat_types", "id"),
        (
            "rm_seat_availability",
            "conference_id, seat_type_id, holder",
        ),
        ("rm_pending_reservations", "order_id, seat_type_id"),
        ("rm_promo_codes", "conference_id, code"),
        ("rm_orders", "id"),
    ];
    let mut out = Vec::new();
    for (table, order_by) in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY {order_by}"))?;
        let columns = stmt.column_count();
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let mut line = format!("{table}:");
            for i in 0..columns {
                let v: rusqlite::types::Value = row.get(i)?;
                line.push_str(&format!(" {v:?}"));
            }
            out.push(line);
        }
    }
    Ok(out)
}

/// Orders with this access code (at most two, to tell unique from ambiguous).
pub fn orders_with_access_code(conn: &Connection, code: &str) -> Result<Vec<Uuid>> {
    Ok(conn
        .prepare_cached("SELECT id FROM rm_orders WHERE access_code = ?1 LIMIT 2")?
        .query_map([code], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}
