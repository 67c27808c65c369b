//! Setting up the bench's stores: an initialized device, a published conference with
//! enough seats ([`SeatPlan`]), the common door sale, a large store filled with sales, and
//! the raw baseline's bare event log ([`RawStore`]).
use super::{PROGRESS_EVERY, SEATS_PER_TYPE, progress};
use anyhow::{Result, ensure};
use conference_app::{App, Ctx, NewConference, PaymentInput, SaleInput};
use conference_store::{Durability, Store, format_time};
use rusqlite::{Connection, TransactionBehavior, params};
use std::path::Path;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Sets up the store's device: every command needs it.
pub(super) fn initialized(mut app: App) -> Result<App> {
    app.init("bench", chrono::Utc::now())?;
    Ok(app)
}

pub(super) fn now() -> Ctx {
    Ctx::new(chrono::Utc::now())
}

/// A published conference with enough seat types for `seats` one-seat orders.
pub(super) struct SeatPlan {
    pub(super) slug: String,
    seat_types: Vec<String>,
}

impl SeatPlan {
    pub(super) fn create(app: &mut App, slug: &str, seats: u64, price: &str) -> Result<Self> {
        let start = chrono::Utc::now() + chrono::Duration::days(30);
        app.create_conference(
            &now(),
            NewConference {
                slug: slug.into(),
                name: format!("Bench {slug}"),
                location: "Online".into(),
                start: Some(start),
                end: Some(start + chrono::Duration::days(1)),
                owner_name: "Ada Lovelace".into(),
                owner_email: "ada@example.com".into(),
                currency: Some("EUR".into()),
                ..NewConference::default()
            },
        )?;
        let count = seats.div_ceil(SEATS_PER_TYPE);
        let quantity = u32::try_from(SEATS_PER_TYPE)?;
        let seat_types: Vec<String> = (1..=count).map(|n| format!("Pass{n}")).collect();
        for name in &seat_types {
            app.add_seat_type(&now(), slug, name, "", price, quantity)?;
        }
        app.publish(&now(), slug, true)?;
        Ok(Self {
            slug: slug.into(),
            seat_types,
        })
    }

    /// The seat type of the `order`-th one-seat order, filling one type after the other.
    pub(super) fn seat_type_for(&self, order: u64) -> &str {
        let index = usize::try_from(order / SEATS_PER_TYPE).unwrap_or(usize::MAX);
        &self.seat_types[index.min(self.seat_types.len() - 1)]
    }
}

/// One seat, a registrant and cash: the common sale at the door.
pub(super) fn door_sale(seats: &SeatPlan, sale: u64) -> SaleInput {
    SaleInput {
        slug: seats.slug.clone(),
        seats: vec![format!("{}=1", seats.seat_type_for(sale))],
        registrant: Some((
            "Ada".into(),
            "Lovelace".into(),
            format!("ada.{sale}@example.com"),
        )),
        payment: Some(PaymentInput {
            method: "cash".into(),
            ..PaymentInput::default()
        }),
        ..SaleInput::default()
    }
}

/// The conference of the large stores (sections 4 and 8).
pub(super) const BIG_SLUG: &str = "big";

/// Fills a store with door sales until it holds `events` events; returns how many it holds.
pub(super) fn build_large_store(path: &Path, events: u64, events_per_sale: f64) -> Result<u64> {
    let store = Store::open_with(path, Durability::Unsafe)?;
    let mut app = initialized(App::from_store(store))?;
    let sales = (events as f64 / events_per_sale).ceil() as u64;
    let seats = SeatPlan::create(&mut app, BIG_SLUG, sales, "100")?;
    let start = Instant::now();
    for i in 0..sales {
        app.sell(&now(), &door_sale(&seats, i))?;
        if (i + 1) % PROGRESS_EVERY == 0 {
            report_build_progress(i + 1, sales, start.elapsed());
        }
    }
    let written = app.store().event_count()?;
    ensure!(
        written >= events,
        "the large store holds {written} events, not the {events} asked for"
    );
    Ok(written)
}

fn report_build_progress(done: u64, sales: u64, elapsed: Duration) {
    let rate = done as f64 / elapsed.as_secs_f64();
    let left = (sales - done) as f64 / rate;
    progress(format_args!(
        "4/9 large store: {done}/{sales} sales, {rate:.0} sales/s, ~{left:.0} s left"
    ));
}

// ---------------------------------------------------------------- the raw baseline

const RAW_SCHEMA: &str = "
CREATE TABLE events (
    position        INTEGER PRIMARY KEY,
    stream_id       TEXT NOT NULL,
    stream_kind     TEXT NOT NULL,
    stream_version  INTEGER NOT NULL,
    event_type      TEXT NOT NULL,
    schema_version  INTEGER NOT NULL,
    payload         TEXT NOT NULL,
    command_id      BLOB NOT NULL,
    device_id       BLOB NOT NULL,
    recorded_at     TEXT NOT NULL,
    UNIQUE (stream_id, stream_version)
);
CREATE TABLE command_log (
    command_id    BLOB PRIMARY KEY,
    command_type  TEXT NOT NULL,
    succeeded     INTEGER NOT NULL,
    outcome       TEXT NOT NULL,
    recorded_at   TEXT NOT NULL
) WITHOUT ROWID;
";

const INSERT_EVENT: &str = "INSERT INTO events (stream_id, stream_kind, stream_version, event_type, schema_version, payload, command_id, device_id, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

const INSERT_COMMAND: &str = "INSERT INTO command_log (command_id, command_type, succeeded, outcome, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5)";

/// A bare event log: what a sale costs the disk without any domain logic or read model.
pub(super) struct RawStore {
    pub(super) conn: Connection,
    pub(super) device: Uuid,
    pub(super) events_per_sale: u64,
}

impl RawStore {
    pub(super) fn create(path: &Path, events_per_sale: u64) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(RAW_SCHEMA)?;
        Ok(Self {
            conn,
            device: Uuid::now_v7(),
            events_per_sale,
        })
    }

    /// One durable transaction shaped like a sale: its events on a new stream, one outcome.
    pub(super) fn sale(&mut self) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let command = Uuid::now_v7();
        let order = Uuid::now_v7();
        let stream = format!("order/{order}");
        let recorded_at = format_time(chrono::Utc::now());
        {
            let mut insert = tx.prepare_cached(INSERT_EVENT)?;
            for version in 1..=self.events_per_sale {
                let payload = event_payload(order, &recorded_at);
                insert.execute(params![
                    stream,
                    "order",
                    version,
                    "OrderPlaced",
                    1,
                    payload,
                    command,
                    self.device,
                    recorded_at
                ])?;
            }
            let outcome = serde_json::json!({ "kind": "order", "order_id": order }).to_string();
            tx.prepare_cached(INSERT_COMMAND)?.execute(params![
                command,
                "sell",
                true,
                outcome,
                recorded_at
            ])?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// A ~300-byte JSON event payload, like an order placed.
fn event_payload(order: Uuid, now: &str) -> String {
    serde_json::json!({
        "order_id": order,
        "conference_id": Uuid::now_v7(),
        "seats": [{ "seat_type": Uuid::now_v7(), "quantity": 1 }],
        "access_code": "K7M2PX",
        "reservation_auto_expiration": now,
        "promo_codes": [],
        "holder": "pool",
        "allow_override": false,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_payloads_are_about_300_bytes() {
        let payload = event_payload(Uuid::now_v7(), &format_time(chrono::Utc::now()));
        assert!(
            (250..=350).contains(&payload.len()),
            "{} bytes",
            payload.len()
        );
    }
}
