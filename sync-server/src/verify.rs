//! `conference-sync verify`: the stored log against the checks the server makes of a push
//! now (DESIGN.md §7). A database written before the server replayed commands may hold
//! events it would refuse today; this lists them, event by event, so an admin knows what
//! to look at. It reads only, and can run while the server serves.
//!
//! Pushed commands are not stored, so old events cannot be replayed; each is judged on
//! what it says and who wrote it: whether this build reads it, whether its amounts and
//! counts are ones the domain writes (`limits`), whether its author's role may write its
//! stream (as `rights` judges pushes), and whether it creates again what its stream
//! already created (a conference, a promo code, an order).
use crate::admin::AdminError;
use crate::device::Role;
use crate::rights;
use crate::store::{self, Database};
use conference_domain::aggregate::DomainEvent;
use conference_domain::neutralise::{self, Neutralised};
use conference_domain::stream::{Holder, StreamId, StreamKind};
use conference_domain::{ConferenceId, conference, discounts, limits, order, seats};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::convert::Infallible;
use uuid::Uuid;

/// A stored event the server would refuse if it were pushed now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub position: i64,
    pub stream: String,
    pub event_type: String,
    /// Who wrote it.
    pub device_id: Uuid,
    /// The refusal code a push would get.
    pub code: String,
    pub reason: String,
}

/// What `verify` found, and how much it read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    pub events: u64,
    /// What would be refused now and is not neutralised.
    pub findings: Vec<Finding>,
    /// The positions of the events an admin neutralised (`conference-sync neutralise`):
    /// stored, left out of every fold, not listed again.
    pub neutralised: Vec<i64>,
}

const PAGE: u32 = 5_000;

/// Reads the whole log in order; `progress(read, head)` after each page.
pub fn verify(
    database: &Database,
    mut progress: impl FnMut(i64, i64),
) -> Result<Report, AdminError> {
    let mut conn = store::open_admin(database)?;
    Ok(store::with(conn.as_mut(), |db| {
        let head = db.head()?;
        let roles: HashMap<Uuid, Role> = db
            .devices()?
            .into_iter()
            .filter_map(|d| Some((d.device_id, Role::parse(&d.role)?)))
            .collect();
        let mut check = Checks {
            roles,
            ..Checks::default()
        };
        let mut report = Report {
            events: 0,
            findings: Vec::new(),
            neutralised: Vec::new(),
        };
        let mut after = 0;
        loop {
            let page = db.events_page(after, PAGE, None)?;
            let Some(last) = page.last() else { break };
            after = last.position;
            for row in &page {
                report.events += 1;
                if let Some((code, reason)) = check.event(row) {
                    report.findings.push(Finding {
                        position: row.position,
                        stream: StreamId::from_key(&row.stream_key)
                            .map_or_else(|_| hex::encode(&row.stream_key), |s| s.to_string()),
                        event_type: row.event_type.clone(),
                        device_id: row.device_id,
                        code: code.into(),
                        reason,
                    });
                }
            }
            progress(after, head);
        }
        report.neutralised = check.neutralised.into_iter().collect();
        report
            .findings
            .retain(|f| report.neutralised.binary_search(&f.position).is_err());
        Ok::<_, crate::error::DbError>(report)
    })?)
}

/// What the log has shown so far, for the checks that look back.
#[derive(Default)]
struct Checks {
    roles: HashMap<Uuid, Role>,
    /// Who wrote each stream first.
    first_writer: HashMap<Vec<u8>, Uuid>,
    /// Pools someone other than the conference's creator has written.
    pools_taken_over: HashSet<Vec<u8>>,
    conferences_created: HashSet<Vec<u8>>,
    promo_codes: HashSet<(Uuid, String)>,
    orders_placed: HashSet<Vec<u8>>,
    /// Positions the server's markers neutralised.
    neutralised: BTreeSet<i64>,
}

impl Checks {
    /// The refusal a push of this event would get now, if any.
    fn event(&mut self, row: &store::EventRow) -> Option<(&'static str, String)> {
        let Ok(stream) = StreamId::from_key(&row.stream_key) else {
            return Some(("unknown_event", "its stream cannot be read".into()));
        };
        let first = *self
            .first_writer
            .entry(row.stream_key.clone())
            .or_insert(row.device_id);
        if neutralise::is_marker(&row.event_type) {
            return self.marker(row);
        }
        let event = match DomainEvent::decode_text(
            stream.kind,
            &row.event_type,
            row.schema_version,
            &row.payload,
        ) {
            Ok(event) => event,
            Err(e) => return Some(("unknown_event", e.to_string())),
        };
        if let Err(e) = limits::check(&event) {
            return Some(("invalid_event", e.to_string()));
        }
        if let Some(repeat) = self.repeat(&stream, &event) {
            return Some(("events_do_not_match_command", repeat));
        }
        let author = row.device_id;
        let creator = self
            .first_writer
            .get(&StreamId::conference(ConferenceId::from_uuid(stream.id)).key())
            .copied();
        let is_pool = stream.kind == StreamKind::Seats && stream.holder == Holder::Pool;
        let pool_was_taken_over = self.pools_taken_over.contains(&row.stream_key);
        if is_pool && creator != Some(author) {
            self.pools_taken_over.insert(row.stream_key.clone());
        }
        // The server's own events (its author is no registered device) are its to write.
        let role = self.roles.get(&author).copied()?;
        // The server grants seats on a device's request under that device's id.
        let granted_on_request = is_pool
            && matches!(
                &event,
                DomainEvent::Seats(seats::Event::SeatsAllotted(grant))
                    if grant.device.as_uuid() == author
            );
        let write = rights::Write {
            stream,
            starts: row.stream_version == 1,
            gives_back: matches!(
                event,
                DomainEvent::Seats(
                    seats::Event::SeatsReservationCancelled(_)
                        | seats::Event::CommittedSeatsReleased(_)
                )
            ),
        };
        let mut lookups = Known {
            first_writer: first,
            owns_pool: creator == Some(author) && !pool_was_taken_over,
        };
        let allowed = granted_on_request
            || rights::may_write(role, author, &write, &mut lookups)
                .unwrap_or_else(|never| match never {});
        (!allowed).then(|| {
            (
                "forbidden_stream",
                format!("a {role} device may not write {stream}"),
            )
        })
    }

    /// A neutralisation marker: the server's admin writes them, no device.
    fn marker(&mut self, row: &store::EventRow) -> Option<(&'static str, String)> {
        if self.roles.contains_key(&row.device_id) {
            return Some((
                "forbidden_stream",
                "only the server's admin neutralises events".into(),
            ));
        }
        match Neutralised::decode(row.stream_version, row.schema_version, &row.payload) {
            Ok(marker) => {
                self.neutralised.insert(marker.position);
                None
            }
            Err(e) => Some(("invalid_event", e.to_string())),
        }
    }

    /// What the event creates again, if its stream created it already.
    fn repeat(&mut self, stream: &StreamId, event: &DomainEvent) -> Option<String> {
        let key = stream.key();
        match event {
            DomainEvent::Conference(conference::Event::ConferenceCreated(_))
                if !self.conferences_created.insert(key.clone()) =>
            {
                Some(format!("{stream} was created already"))
            }
            DomainEvent::Promos(discounts::Event::PromoCodeAdded(added))
                if !self
                    .promo_codes
                    .insert((stream.id, added.definition.code.as_str().to_string())) =>
            {
                Some(format!(
                    "promo code {} was added to {stream} already",
                    added.definition.code
                ))
            }
            DomainEvent::Order(order::Event::OrderPlaced(_)) if !self.orders_placed.insert(key) => {
                Some(format!("{stream} was placed already"))
            }
            _ => None,
        }
    }
}

/// What `verify` knows of a write already, having read the log in order.
struct Known {
    first_writer: Uuid,
    owns_pool: bool,
}

impl rights::Lookups for Known {
    type Error = Infallible;

    fn first_writer(&mut self) -> Result<Option<Uuid>, Infallible> {
        Ok(Some(self.first_writer))
    }

    fn owns_pool(&mut self) -> Result<bool, Infallible> {
        Ok(self.owns_pool)
    }
}
