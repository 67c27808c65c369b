//! What a replay of a pushed command found (`replay` makes these; the pushed command
//! carries one from the request's thread to the writer; write rights read what it wrote).
//! A module of its own so the decoding of a push (`wire`) and the replay (`replay`) do not
//! depend on each other.
use crate::error::DbError;
use conference_domain::aggregate::DomainEvent;
use conference_domain::seats;
use conference_domain::stream::StreamId;
use conference_exec::{AppError, Recorded};

/// Why a replay did not come out as a list of events.
#[derive(Debug)]
pub(crate) enum Failed {
    /// The command itself was refused by a rule, or named something the server lacks.
    Refused(AppError),
    /// The server could not read its own log.
    Db(DbError),
}

/// An event a replay appended, as write rights judge it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Written {
    pub stream: StreamId,
    pub version: u64,
    /// Seats leaving a device's allotment because an order on it was cancelled.
    pub gives_back: bool,
}

impl Written {
    pub(crate) fn of(recorded: &[Recorded]) -> Vec<Self> {
        recorded
            .iter()
            .map(|r| Self {
                stream: r.stream,
                version: r.version,
                gives_back: matches!(
                    r.event,
                    DomainEvent::Seats(
                        seats::Event::SeatsReservationCancelled(_)
                            | seats::Event::CommittedSeatsReleased(_)
                    )
                ),
            })
            .collect()
    }
}

/// A command replayed ahead of the writer, on a reading connection (see `replay::ahead_of_writer`).
pub(crate) struct Ahead {
    /// What the replay wrote, in brief (the events themselves stay with the request's
    /// thread, which frees them), or why it did not run through.
    pub outcome: Result<Vec<Written>, Failed>,
    /// How the replayed events differ from the pushed ones, when the replay ran through.
    pub difference: Option<String>,
    /// It read what earlier commands of the same request wrote: it holds only if the
    /// writer applies every one of them as pushed.
    pub used_earlier: bool,
    /// It read something that may still change before the writer takes it (a stream at
    /// the newest version, as devices that send no `reads` ask, or at a version the log
    /// did not have yet): the writer replays it itself.
    pub unsettled: bool,
}
