//! Read models, updated from each event inside the transaction that records it, and
//! rebuildable from the log with the same code. A creation seen twice (a conference, a
//! seat type, a promo code, an order: never from this device's own domain code, but a
//! server can send anything) keeps the first: a repeat never fails the projection.
//!
//! tidy: long because every read model's update from every event is one match, so that an
//! event's effects on the read models are in one place.
use crate::{Recorded, Result, format_time};
use conference_domain::PaymentId;
use conference_domain::aggregate::DomainEvent;
use conference_domain::assignments;
use conference_domain::conference::{self, Publication};
use conference_domain::discounts;
use conference_domain::order;
use conference_domain::payment;
use conference_domain::seats;
use conference_domain::stream::Holder;
use conference_domain::stream::StreamId;
use conference_domain::values::{SeatDelta, SeatQuantity};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use uuid::Uuid;

const TABLES: &[&str] = &[
    "rm_conferences",
    "rm_seat_types",
    "rm_seat_availability",
    "rm_pending_reservations",
    "rm_promo_codes",
    "rm_orders",
];

pub(crate) fn clear(conn: &Connection) -> Result<()> {
    for table in TABLES {
        conn.execute(&format!("DELETE FROM {table}"), [])?;
    }
    Ok(())
}

/// One read model that can be rebuilt on its own: its tables are fed by one kind of event
/// each, so replaying just those events rebuilds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadModel {
    /// Conferences and their seat types (conference events).
    Conferences,
    /// Remaining, reserved and sold seats per holder (seat events).
    Seats,
    /// Promo codes and their use (promo-code events).
    Promos,
    /// Orders with lines, payment and seat assignments (order, payment, assignment events).
    Orders,
}

impl ReadModel {
    pub const ALL: [ReadModel; 4] = [Self::Conferences, Self::Seats, Self::Promos, Self::Orders];

    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Conferences => "conferences",
            Self::Seats => "seats",
            Self::Promos => "promos",
            Self::Orders => "orders",
        }
    }

    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    fn tables(self) -> &'static [&'static str] {
        match self {
            Self::Conferences => &["rm_conferences", "rm_seat_types"],
            Self::Seats => &["rm_seat_availability", "rm_pending_reservations"],
            Self::Promos => &["rm_promo_codes"],
            Self::Orders => &["rm_orders"],
        }
    }

    /// Whether this read model takes `event`.
    pub(crate) fn takes(self, event: &DomainEvent) -> bool {
        matches!(
            (self, event),
            (Self::Conferences, DomainEvent::Conference(_))
                | (Self::Seats, DomainEvent::Seats(_))
                | (Self::Promos, DomainEvent::Promos(_))
                | (
                    Self::Orders,
                    DomainEvent::Order(_) | DomainEvent::Payment(_) | DomainEvent::Assignments(_)
                )
        )
    }

    pub(crate) fn clear(self, conn: &Connection) -> Result<()> {
        for table in self.tables() {
            conn.execute(&format!("DELETE FROM {table}"), [])?;
        }
        Ok(())
    }
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

/// Projects events into the read models. Most tables are written as each event comes;
/// an order's row, its pending reservations and the seat counts are kept in memory for the
/// whole unit of work and written once by [`Projector::flush`], so a door sale (a dozen
/// events on one order) writes its order row once, each seat count it changes once, and
/// never stores a reservation it commits at once.
/// Call `flush` before the transaction commits and before reading those tables in it.
#[derive(Default)]
pub(crate) struct Projector {
    /// Order rows touched since the last flush, as they will be written.
    orders: HashMap<Uuid, OrderRow>,
    /// Pending reservations touched since the last flush, by order.
    pending: HashMap<Uuid, Pending>,
    /// Which order each payment started since the last flush is for.
    payments: HashMap<Uuid, Uuid>,
    /// Seat counts to add, by conference, seat type and holder.
    seats: SeatDeltas,
}

/// An order's pending reservation: the rows to keep, and whether the table has rows for it.
struct Pending {
    rows: Vec<(Uuid, i64)>,
    stored: bool,
}

impl Projector {
    pub(crate) fn project(&mut self, conn: &Connection, e: &Recorded) -> Result<()> {
        let id = e.stream.id;
        let at = format_time(e.recorded_at);
        match &e.event {
            DomainEvent::Conference(event) => project_conference(conn, id, e.position, event),
            DomainEvent::Seats(event) => {
                self.project_seats(conn, id, &holder_key(e.stream.holder), event)
            }
            DomainEvent::Promos(event) => project_promos(conn, id, e.position, event),
            DomainEvent::Order(event) => self.project_order(conn, id, e, &at, event),
            DomainEvent::Payment(event) => self.project_payment(conn, id, &at, event),
            DomainEvent::Assignments(event) => self.project_assignments(conn, id, event),
        }
    }

    /// Writes what is held in memory.
    pub(crate) fn flush(&mut self, conn: &Connection) -> Result<()> {
        for (id, row) in self.orders.drain() {
            row.write(conn, id)?;
        }
        for (order, pending) in self.pending.drain() {
            if pending.stored {
                conn.prepare_cached("DELETE FROM rm_pending_reservations WHERE order_id = ?1")?
                    .execute([order])?;
            }
            for (seat_type, quantity) in pending.rows {
                conn.prepare_cached("INSERT INTO rm_pending_reservations (order_id, seat_type_id, quantity) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING")?
                    .execute(params![order, seat_type, quantity])?;
            }
        }
        self.payments.clear();
        self.seats.flush(conn)?;
        Ok(())
    }

    /// The order's row, read once per unit; `None` if the order is unknown here.
    fn order_row(&mut self, conn: &Connection, id: Uuid) -> Result<Option<&mut OrderRow>> {
        Ok(match self.orders.entry(id) {
            Entry::Occupied(row) => Some(row.into_mut()),
            Entry::Vacant(slot) => OrderRow::read(conn, id)?.map(|row| slot.insert(row)),
        })
    }

    /// The order's pending reservation rows (read from the table once per unit).
    fn pending(&mut self, conn: &Connection, order: Uuid) -> Result<&mut Pending> {
        Ok(match self.pending.entry(order) {
            Entry::Occupied(pending) => pending.into_mut(),
            Entry::Vacant(slot) => {
                let rows: Vec<(Uuid, i64)> = conn
                    .prepare_cached(
                        "SELECT seat_type_id, quantity FROM rm_pending_reservations WHERE order_id = ?1",
                    )?
                    .query_map([order], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                let stored = !rows.is_empty();
                slot.insert(Pending { rows, stored })
            }
        })
    }

    /// Takes a reservation's pending rows out, moving them from `reserved` (to `sold` if
    /// `sell`).
    fn take_pending(
        &mut self,
        conn: &Connection,
        conference: Uuid,
        holder: &str,
        order: Uuid,
        sell: bool,
    ) -> Result<()> {
        let pending = std::mem::take(&mut self.pending(conn, order)?.rows);
        for (seat_type, quantity) in pending {
            self.seats.bump(
                conference,
                holder,
                seat_type,
                0,
                -quantity,
                if sell { quantity } else { 0 },
            )?;
        }
        Ok(())
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
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'draft') ON CONFLICT DO NOTHING",
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
                "INSERT INTO rm_seat_types (id, conference_id, name, description, price, quantity, created_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
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

/// Changes to `rm_seat_availability` rows held until the flush: a unit's reservations,
/// commits and releases of one seat type become one write.
#[derive(Default)]
struct SeatDeltas(HashMap<(Uuid, Uuid, String), [i64; 4]>);

impl SeatDeltas {
    /// Adds to a row's remaining, reserved and sold counts.
    fn bump(
        &mut self,
        conference: Uuid,
        holder: &str,
        seat_type: Uuid,
        remaining: i64,
        reserved: i64,
        sold: i64,
    ) -> Result<()> {
        let row = self
            .0
            .entry((conference, seat_type, holder.to_string()))
            .or_default();
        row[0] += remaining;
        row[1] += reserved;
        row[2] += sold;
        Ok(())
    }

    fn overridden(&mut self, conference: Uuid, holder: &str, seat_type: Uuid, quantity: u32) {
        self.0
            .entry((conference, seat_type, holder.to_string()))
            .or_default()[3] += i64::from(quantity);
    }

    fn bump_deltas(&mut self, conference: Uuid, holder: &str, changes: &[SeatDelta]) -> Result<()> {
        for c in changes {
            self.bump(conference, holder, c.seat_type.as_uuid(), c.quantity, 0, 0)?;
        }
        Ok(())
    }

    fn bump_seats(
        &mut self,
        conference: Uuid,
        holder: &str,
        seats: &[SeatQuantity],
        sign: i64,
    ) -> Result<()> {
        for s in seats {
            self.bump(
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

    fn flush(&mut self, conn: &Connection) -> Result<()> {
        for ((conference, seat_type, holder), [remaining, reserved, sold, overridden]) in
            self.0.drain()
        {
            conn.prepare_cached(
                "INSERT INTO rm_seat_availability (conference_id, seat_type_id, holder, remaining, reserved, sold, overridden) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (conference_id, seat_type_id, holder) DO UPDATE SET
                   remaining = remaining + excluded.remaining, reserved = reserved + excluded.reserved,
                   sold = sold + excluded.sold, overridden = overridden + excluded.overridden",
            )?
            .execute(params![conference, seat_type, holder, remaining, reserved, sold, overridden])?;
        }
        Ok(())
    }
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
                "INSERT INTO rm_promo_codes (conference_id, code, definition, max_uses, created_seq) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
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
impl Projector {
    fn project_seats(
        &mut self,
        conn: &Connection,
        conference: Uuid,
        holder: &str,
        event: &seats::Event,
    ) -> Result<()> {
        use seats::Event as E;
        match event {
            E::AvailableSeatsChanged(e) => self.seats.bump_deltas(conference, holder, &e.seats)?,
            E::SeatsReserved(e) => {
                let order = e.reservation_id.as_uuid();
                self.take_pending(conn, conference, holder, order, false)?;
                for s in &e.details {
                    self.seats.bump(
                        conference,
                        holder,
                        s.seat_type.as_uuid(),
                        0,
                        i64::from(s.quantity),
                        0,
                    )?;
                }
                self.pending(conn, order)?.rows = e
                    .details
                    .iter()
                    .map(|s| (s.seat_type.as_uuid(), i64::from(s.quantity)))
                    .collect();
                self.seats
                    .bump_deltas(conference, holder, &e.available_changed)?;
                for s in &e.overridden {
                    self.seats
                        .overridden(conference, holder, s.seat_type.as_uuid(), s.quantity);
                }
            }
            E::SeatsReservationCommitted(e) => {
                self.take_pending(conn, conference, holder, e.reservation_id.as_uuid(), true)?;
            }
            E::SeatsReservationCancelled(e) => {
                self.take_pending(conn, conference, holder, e.reservation_id.as_uuid(), false)?;
                self.seats
                    .bump_deltas(conference, holder, &e.available_changed)?;
            }
            E::CommittedSeatsReleased(e) => {
                for c in &e.available_changed {
                    self.seats.bump(
                        conference,
                        holder,
                        c.seat_type.as_uuid(),
                        c.quantity,
                        0,
                        -c.quantity,
                    )?;
                }
            }
            E::SeatsAllotted(e) => self.seats.bump_seats(conference, holder, &e.seats, -1)?,
            E::AllotmentReceived(e) => self.seats.bump_seats(conference, holder, &e.seats, 1)?,
            E::AllotmentReturned(e) => self.seats.bump_seats(conference, holder, &e.seats, -1)?,
            E::ReturnedSeatsAccepted(e) => {
                self.seats.bump_seats(conference, holder, &e.seats, 1)?
            }
        }
        Ok(())
    }

    fn project_order(
        &mut self,
        conn: &Connection,
        order: Uuid,
        e: &Recorded,
        at: &str,
        event: &order::Event,
    ) -> Result<()> {
        use order::Event as E;
        use order::OrderStatus as S;
        if let E::OrderPlaced(p) = event {
            let expires_at = format_time(p.reservation_auto_expiration);
            self.orders.insert(
                order,
                OrderRow {
                    conference_id: p.conference_id.as_uuid(),
                    access_code: p.access_code.as_str().to_string(),
                    status: S::PendingReservation.as_str().to_string(),
                    total: "0".into(),
                    is_free_of_charge: false,
                    promo_codes: serde_json::to_string(&p.promo_codes).unwrap_or_default(),
                    registrant: None,
                    expires_at,
                    placed_at: at.to_string(),
                    updated_at: at.to_string(),
                    device_id: e.device_id.as_uuid(),
                    holder: holder_key(p.holder),
                    allow_override: p.allow_override,
                    payment_id: None,
                    cancel_reason: None,
                    seats: requested(&p.seats),
                    lines: "[]".into(),
                    assignments: Vec::new(),
                    payment: PaymentColumns::default(),
                    new: true,
                },
            );
            return Ok(());
        }
        let Some(row) = self.order_row(conn, order)? else {
            return Ok(());
        };
        let status = |row: &mut OrderRow, status: S| {
            row.status = status.as_str().to_string();
            row.updated_at = at.to_string();
        };
        match event {
            E::OrderPlaced(_) => {}
            E::OrderUpdated(u) => {
                status(row, S::PendingReservation);
                row.promo_codes = serde_json::to_string(&u.promo_codes).unwrap_or_default();
                row.seats = requested(&u.seats);
            }
            E::OrderPartiallyReserved(r) => {
                row.set_reserved(&r.seats);
                row.expires_at = format_time(r.reservation_expiration);
                status(row, S::PartiallyReserved);
            }
            E::OrderReservationCompleted(r) => {
                row.set_reserved(&r.seats);
                row.expires_at = format_time(r.reservation_expiration);
                status(row, S::ReservationCompleted);
            }
            E::OrderTotalsCalculated(t) => {
                row.total = t.total.to_string();
                row.is_free_of_charge = t.is_free_of_charge;
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
                row.lines = serde_json::to_string(&lines).unwrap_or_default();
            }
            E::OrderExpired(_) => status(row, S::Expired),
            E::OrderRegistrantAssigned(r) => {
                row.registrant = Some((
                    r.person.first_name.clone(),
                    r.person.last_name.clone(),
                    r.person.email.as_str().to_string(),
                ));
                row.updated_at = at.to_string();
            }
            E::OrderConfirmed(c) => {
                if let Some(payment) = c.payment_id {
                    row.payment_id = Some(payment.as_uuid());
                }
                status(row, S::Confirmed);
            }
            E::OrderCancelled(c) => {
                row.cancel_reason = Some(c.reason.clone());
                status(row, S::Cancelled);
            }
        }
        Ok(())
    }

    /// A payment shows on its order's row; its later events find the order through the
    /// payment's first event.
    fn project_payment(
        &mut self,
        conn: &Connection,
        payment: Uuid,
        at: &str,
        event: &payment::Event,
    ) -> Result<()> {
        use payment::Event as E;
        let order = match event {
            E::PaymentInitiated(p) => {
                let order = p.order_id.as_uuid();
                self.payments.insert(payment, order);
                order
            }
            _ => match self.payments.get(&payment) {
                Some(order) => *order,
                None => match payment_order(conn, payment)? {
                    Some(order) => order,
                    None => return Ok(()),
                },
            },
        };
        let Some(row) = self.order_row(conn, order)? else {
            return Ok(());
        };
        if let E::PaymentInitiated(p) = event {
            row.payment_id = Some(payment);
            row.payment = PaymentColumns {
                method: Some(p.method.as_str().to_string()),
                status: Some("initiated".into()),
                amount: Some(p.amount.to_string()),
                ..PaymentColumns::default()
            };
            return Ok(());
        }
        if row.payment_id != Some(payment) {
            // An earlier payment of the order; the row shows the latest one.
            return Ok(());
        }
        let columns = &mut row.payment;
        match event {
            E::PaymentInitiated(_) => {}
            E::PaymentCompleted(p) => {
                columns.status = Some(PAYMENT_COMPLETED.into());
                columns.tendered = p.tendered.map(|m| m.to_string());
                columns.change = p.change.map(|m| m.to_string());
                columns.reference.clone_from(&p.reference);
            }
            E::PaymentRejected(p) => {
                columns.status = Some("rejected".into());
                columns.reason = Some(p.reason.clone());
            }
            E::PaymentRefunded(p) => {
                columns.status = Some("refunded".into());
                columns.reason = Some(p.reason.clone());
            }
        }
        row.updated_at = at.to_string();
        Ok(())
    }

    fn project_assignments(
        &mut self,
        conn: &Connection,
        order: Uuid,
        event: &assignments::Event,
    ) -> Result<()> {
        use assignments::Event as E;
        let Some(row) = self.order_row(conn, order)? else {
            return Ok(());
        };
        let mut set = |position: u32, person: Option<&conference_domain::PersonalInfo>| {
            if let Some(seat) = row.assignments.iter_mut().find(|s| s.position == position) {
                seat.attendee = person.map(|p| conference_protocol::PersonView {
                    first_name: p.first_name.clone(),
                    last_name: p.last_name.clone(),
                    email: p.email.as_str().to_string(),
                });
            }
        };
        match event {
            E::SeatAssignmentsCreated(c) => {
                row.assignments = c
                    .seats
                    .iter()
                    .map(|s| OrderAssignment {
                        position: s.position,
                        seat_type_id: s.seat_type.as_uuid(),
                        attendee: None,
                    })
                    .collect();
            }
            E::SeatAssigned(a) => set(a.position, Some(&a.attendee)),
            E::SeatAssignmentUpdated(a) => set(a.position, Some(&a.attendee)),
            E::SeatUnassigned(a) => set(a.position, None),
        }
        Ok(())
    }
}

/// The order a payment is for, from the payment stream's first event.
fn payment_order(conn: &Connection, payment: Uuid) -> Result<Option<Uuid>> {
    let key = StreamId::payment(PaymentId::from_uuid(payment)).key();
    let payload: Option<String> = conn
        .prepare_cached("SELECT payload FROM events WHERE stream_key = ?1 AND stream_version = 1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    #[derive(serde::Deserialize)]
    struct First {
        order_id: Uuid,
    }
    Ok(payload
        .and_then(|text| serde_json::from_str::<First>(&text).ok())
        .map(|first| first.order_id))
}

/// A payment's status once its money was taken (`rm_orders.payment_status`).
pub(crate) const PAYMENT_COMPLETED: &str = "completed";

/// One seat type of an order, as the `rm_orders.seats` JSON holds it.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct OrderSeat {
    pub(crate) seat_type_id: Uuid,
    pub(crate) requested: u32,
    pub(crate) reserved: u32,
}

/// One seat of a confirmed order, as the `rm_orders.assignments` JSON holds it.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct OrderAssignment {
    pub(crate) position: u32,
    pub(crate) seat_type_id: Uuid,
    pub(crate) attendee: Option<conference_protocol::PersonView>,
}

/// The order's latest payment, as columns of its row.
#[derive(Clone, Default)]
struct PaymentColumns {
    method: Option<String>,
    status: Option<String>,
    amount: Option<String>,
    tendered: Option<String>,
    change: Option<String>,
    reference: Option<String>,
    reason: Option<String>,
}

/// One row of `rm_orders`, held in memory while a unit of work changes it.
struct OrderRow {
    conference_id: Uuid,
    access_code: String,
    status: String,
    total: String,
    is_free_of_charge: bool,
    promo_codes: String,
    registrant: Option<(String, String, String)>,
    expires_at: String,
    placed_at: String,
    updated_at: String,
    device_id: Uuid,
    holder: String,
    allow_override: bool,
    payment_id: Option<Uuid>,
    cancel_reason: Option<String>,
    seats: Vec<OrderSeat>,
    lines: String,
    assignments: Vec<OrderAssignment>,
    payment: PaymentColumns,
    /// Not in the table yet.
    new: bool,
}

const ORDER_COLUMNS: &str = "conference_id, access_code, status, total, is_free_of_charge, promo_codes, registrant_first, registrant_last, registrant_email, expires_at, placed_at, updated_at, device_id, holder, allow_override, payment_id, cancel_reason, seats, lines, assignments, payment_method, payment_status, payment_amount, payment_tendered, payment_change, payment_reference, payment_reason";

impl OrderRow {
    fn read(conn: &Connection, id: Uuid) -> Result<Option<Self>> {
        let corrupt = |what: &str, e: serde_json::Error| crate::StoreError::Corrupt {
            what: format!("{what} of order {id}"),
            reason: e.to_string(),
        };
        type Raw = (OrderRow, String, String);
        let raw: Option<Raw> = conn
            .prepare_cached(&format!(
                "SELECT {ORDER_COLUMNS} FROM rm_orders WHERE id = ?1"
            ))?
            .query_row([id], |r| {
                let first: Option<String> = r.get(6)?;
                let last: Option<String> = r.get(7)?;
                let email: Option<String> = r.get(8)?;
                Ok((
                    OrderRow {
                        conference_id: r.get(0)?,
                        access_code: r.get(1)?,
                        status: r.get(2)?,
                        total: r.get(3)?,
                        is_free_of_charge: r.get(4)?,
                        promo_codes: r.get(5)?,
                        registrant: first.zip(last).zip(email).map(|((f, l), e)| (f, l, e)),
                        expires_at: r.get(9)?,
                        placed_at: r.get(10)?,
                        updated_at: r.get(11)?,
                        device_id: r.get(12)?,
                        holder: r.get(13)?,
                        allow_override: r.get(14)?,
                        payment_id: r.get(15)?,
                        cancel_reason: r.get(16)?,
                        seats: Vec::new(),
                        lines: r.get(18)?,
                        assignments: Vec::new(),
                        payment: PaymentColumns {
                            method: r.get(20)?,
                            status: r.get(21)?,
                            amount: r.get(22)?,
                            tendered: r.get(23)?,
                            change: r.get(24)?,
                            reference: r.get(25)?,
                            reason: r.get(26)?,
                        },
                        new: false,
                    },
                    r.get(17)?,
                    r.get(19)?,
                ))
            })
            .optional()?;
        let Some((mut row, seats, assignments)) = raw else {
            return Ok(None);
        };
        row.seats = serde_json::from_str(&seats).map_err(|e| corrupt("seats", e))?;
        row.assignments =
            serde_json::from_str(&assignments).map_err(|e| corrupt("assignments", e))?;
        Ok(Some(row))
    }

    fn write(&self, conn: &Connection, id: Uuid) -> Result<()> {
        let (first, last, email) = match &self.registrant {
            Some((f, l, e)) => (Some(f.as_str()), Some(l.as_str()), Some(e.as_str())),
            None => (None, None, None),
        };
        let sql = if self.new {
            "INSERT INTO rm_orders (id, conference_id, access_code, status, total, is_free_of_charge, promo_codes, registrant_first, registrant_last, registrant_email, expires_at, placed_at, updated_at, device_id, holder, allow_override, payment_id, cancel_reason, seats, lines, assignments, payment_method, payment_status, payment_amount, payment_tendered, payment_change, payment_reference, payment_reason, seat_count)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29)
             ON CONFLICT DO NOTHING"
        } else {
            "UPDATE rm_orders SET conference_id = ?2, access_code = ?3, status = ?4, total = ?5, is_free_of_charge = ?6, promo_codes = ?7, registrant_first = ?8, registrant_last = ?9, registrant_email = ?10, expires_at = ?11, placed_at = ?12, updated_at = ?13, device_id = ?14, holder = ?15, allow_override = ?16, payment_id = ?17, cancel_reason = ?18, seats = ?19, lines = ?20, assignments = ?21, payment_method = ?22, payment_status = ?23, payment_amount = ?24, payment_tendered = ?25, payment_change = ?26, payment_reference = ?27, payment_reason = ?28, seat_count = ?29
             WHERE id = ?1"
        };
        let p = &self.payment;
        conn.prepare_cached(sql)?.execute(params![
            id,
            self.conference_id,
            self.access_code,
            self.status,
            self.total,
            self.is_free_of_charge,
            self.promo_codes,
            first,
            last,
            email,
            self.expires_at,
            self.placed_at,
            self.updated_at,
            self.device_id,
            self.holder,
            self.allow_override,
            self.payment_id,
            self.cancel_reason,
            serde_json::to_string(&self.seats).unwrap_or_default(),
            self.lines,
            serde_json::to_string(&self.assignments).unwrap_or_default(),
            p.method,
            p.status,
            p.amount,
            p.tendered,
            p.change,
            p.reference,
            p.reason,
            seat_count(&self.seats),
        ])?;
        Ok(())
    }

    fn set_reserved(&mut self, reserved: &[SeatQuantity]) {
        for seat in &mut self.seats {
            seat.reserved = 0;
        }
        for r in reserved {
            match self
                .seats
                .iter_mut()
                .find(|s| s.seat_type_id == r.seat_type.as_uuid())
            {
                Some(seat) => seat.reserved = r.quantity,
                None => self.seats.push(OrderSeat {
                    seat_type_id: r.seat_type.as_uuid(),
                    requested: 0,
                    reserved: r.quantity,
                }),
            }
        }
    }
}

/// Per seat type the seats reserved, or those asked for before anything is reserved.
fn seat_count(seats: &[OrderSeat]) -> u32 {
    seats
        .iter()
        .map(|s| {
            if s.reserved > 0 {
                s.reserved
            } else {
                s.requested
            }
        })
        .sum()
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
