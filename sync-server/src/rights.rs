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
use crate::verdict::Written;
use conference_domain::ConferenceId;
use conference_domain::stream::{Holder, StreamId, StreamKind};
use uuid::Uuid;

/// One stream a command writes, as the rule sees it.
pub(crate) struct Write {
    pub stream: StreamId,
    /// The write starts the stream (its first event is version 1).
    pub starts: bool,
    /// Every event of it gives seats back from a cancelled order.
    pub gives_back: bool,
}

/// What the rule may need to look up about a write, asked only when it needs it.
pub(crate) trait Lookups {
    type Error;
    /// Who wrote the stream's first event.
    fn first_writer(&mut self) -> Result<Option<Uuid>, Self::Error>;
    /// Whether the author still owns the pool it writes: it created the conference, and
    /// nobody else (the server included) has written the pool since.
    fn owns_pool(&mut self) -> Result<bool, Self::Error>;
}

/// The rule, whoever asks (a push, or `verify` over the stored log): may a device of
/// `role`, `author`, make this write?
pub(crate) fn may_write<L: Lookups>(
    role: Role,
    author: Uuid,
    write: &Write,
    lookups: &mut L,
) -> Result<bool, L::Error> {
    Ok(match (write.stream.kind, write.stream.holder) {
        (StreamKind::Conference | StreamKind::Promos, _) => role == Role::Organizer,
        (StreamKind::Seats, Holder::Pool) => role == Role::Organizer && lookups.owns_pool()?,
        (StreamKind::Seats, Holder::Device(holder)) => {
            holder.as_uuid() == author || (role != Role::Door && write.gives_back)
        }
        (StreamKind::Order | StreamKind::Payment | StreamKind::Assignments, _) => {
            write.starts || role != Role::Door || lookups.first_writer()? == Some(author)
        }
    })
}

/// The server's log, for a pushed command's write.
struct InTheLog<'a, 'u, 'c> {
    unit: &'a mut Unit<'u>,
    device: &'c Device,
    stream: StreamId,
}

impl Lookups for InTheLog<'_, '_, '_> {
    type Error = DbError;

    fn first_writer(&mut self) -> Result<Option<Uuid>, DbError> {
        self.unit.db.stream_first_writer(&self.stream.key())
    }

    fn owns_pool(&mut self) -> Result<bool, DbError> {
        let conference = StreamId::conference(ConferenceId::from_uuid(self.stream.id));
        Ok(
            self.unit.db.stream_first_writer(&conference.key())? == Some(self.device.id)
                && !self
                    .unit
                    .db
                    .stream_written_by_another(&self.stream.key(), self.device.id)?,
        )
    }
}

/// Judges every stream a pushed command's replay wrote.
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
        let write = Write {
            stream,
            starts: event.version == 1,
            gives_back: recorded
                .iter()
                .filter(|r| r.stream == stream)
                .all(|r| r.gives_back),
        };
        let mut lookups = InTheLog {
            unit: &mut *unit,
            device,
            stream,
        };
        let allowed = may_write(device.role, device.id, &write, &mut lookups)?;
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
