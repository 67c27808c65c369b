//! Who may write which stream (DESIGN.md §7), judged on the events the server's replay of
//! a command produced, so a device cannot name its way past it:
//!
//! - a conference's definition and its promo codes: organizers;
//! - a conference's seat pool: the server, and the organizer device that created the
//!   conference while it still owns the pool (its history from before its first sync,
//!   which no other writer has touched);
//! - an order, its payment and its seat assignments: whoever starts them; once started,
//!   the device that started them, and organizers and back offices (they cancel and
//!   refund);
//! - a device's seat allotment: that device; another device's only to give back the seats
//!   of an order it cancelled (organizers and back offices).
//!
//! Which conferences a device may touch at all is checked before (`push`).
use crate::device::{Device, Role};
use crate::error::DbError;
use crate::log::{Refusal, Rejection, Unit};
use crate::replay::Written;
use conference_domain::ConferenceId;
use conference_domain::stream::{Holder, StreamId, StreamKind};

pub(crate) fn check(
    unit: &mut Unit<'_>,
    device: &Device,
    recorded: &[Written],
) -> Result<(), Refusal> {
    let mut seen: Vec<StreamId> = Vec::new();
    for event in recorded {
        if seen.contains(&event.stream) {
            continue;
        }
        seen.push(event.stream);
        let stream = event.stream;
        let events = recorded.iter().filter(|r| r.stream == stream);
        let starts = event.version == 1;
        let allowed = match (stream.kind, stream.holder) {
            (StreamKind::Conference | StreamKind::Promos, _) => device.role == Role::Organizer,
            (StreamKind::Seats, Holder::Pool) => {
                device.role == Role::Organizer && owns_pool(unit, device, stream)?
            }
            (StreamKind::Seats, Holder::Device(holder)) => {
                holder.as_uuid() == device.id
                    || (device.role != Role::Door && events.into_iter().all(|r| r.gives_back))
            }
            (StreamKind::Order | StreamKind::Payment | StreamKind::Assignments, _) => {
                starts
                    || device.role != Role::Door
                    || unit.db.stream_first_writer(&stream.key())? == Some(device.id)
            }
        };
        if !allowed {
            return Err(Refusal::Reject(Rejection::new(
                "forbidden_stream",
                format!(
                    "A {} device may not write {stream} ({}); nothing of the command was stored",
                    device.role,
                    what_may(stream)
                ),
            )));
        }
    }
    Ok(())
}

/// Whether `device` still owns the pool it writes: it created the conference, and nobody
/// else (the server included) has written the pool since.
fn owns_pool(unit: &mut Unit<'_>, device: &Device, pool: StreamId) -> Result<bool, DbError> {
    let conference = StreamId::conference(ConferenceId::from_uuid(pool.id));
    Ok(
        unit.db.stream_first_writer(&conference.key())? == Some(device.id)
            && !unit.db.stream_written_by_another(&pool.key(), device.id)?,
    )
}

fn what_may(stream: StreamId) -> &'static str {
    match (stream.kind, stream.holder) {
        (StreamKind::Conference | StreamKind::Promos, _) => {
            "only organizers change a conference and its promo codes"
        }
        (StreamKind::Seats, Holder::Pool) => "only the server hands out a conference's seat pool",
        (StreamKind::Seats, Holder::Device(_)) => "a device's allotment is its own",
        (StreamKind::Order | StreamKind::Payment | StreamKind::Assignments, _) => {
            "a door changes only the orders it sold"
        }
    }
}
