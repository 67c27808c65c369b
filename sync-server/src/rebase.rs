//! Rebase: an organizer command whose streams moved on since the device wrote it runs
//! again against the server's state, with the same domain code the device ran. The new
//! events replace the device's (it learns them on pull); a domain refusal becomes the
//! command's rejection, with the error variant as its code.
//!
//! This mirrors `conference_app`'s use cases for the organizer commands, minus the pool
//! policy (a follow-up here, see `follow`). It must never decide a rule itself.
use crate::device::Device;
use crate::log::{Author, Refusal, Stored, Unit};
use crate::push::forbidden_conference;
use crate::wire::CommandBody;
use conference_app::AppError;
use conference_app::command::{OrganizerCommand, UserCommand};
use conference_domain::conference::{self, Conference};
use conference_domain::discounts::Promotions;
use conference_domain::seats::{self, SeatsAvailability};
use conference_domain::stream::{Holder, StreamId};
use conference_domain::{ConferenceId, SeatTypeId};
use std::collections::HashSet;
use uuid::Uuid;

pub(crate) fn rebase(
    unit: &mut Unit<'_>,
    device: &Device,
    allowed: Option<&HashSet<Uuid>>,
    push: &CommandBody,
) -> Result<Vec<Stored>, Refusal> {
    let command: UserCommand = serde_json::from_value(push.command_value()).map_err(|e| {
        Refusal::reject(
            "bad_command",
            format!("The server cannot read the command to re-run it: {e}"),
        )
    })?;
    if command.name() != push.command_type {
        return Err(Refusal::reject(
            "bad_command",
            format!(
                "The command is a `{}`, but was pushed as `{}`",
                command.name(),
                push.command_type
            ),
        ));
    }
    let organizer = command.organizer_command().ok_or_else(|| {
        Refusal::reject(
            "bad_command",
            format!(
                "`{}` is not a command the server re-runs",
                push.command_type
            ),
        )
    })?;
    let conference_id = organizer.conference_id();
    if let Some(allowed) = allowed {
        let creates_allowed = matches!(&command, UserCommand::CreateConference { details, .. }
            if device.may_see_slug(details.slug.as_str()));
        if !allowed.contains(&conference_id.as_uuid()) && !creates_allowed {
            return Err(Refusal::Request(forbidden_conference(
                device,
                conference_id.as_uuid(),
            )));
        }
    }
    let author = Author {
        command_id: push.command_id,
        device_id: device.id,
    };
    match organizer {
        OrganizerCommand::Conference(id, command) => {
            if let conference::Command::UpdateSeatType {
                seat_type,
                quantity: Some(quantity),
                ..
            } = &command
            {
                check_quantity_cut(unit, id, *seat_type, *quantity)?;
            }
            unit.execute::<Conference>(StreamId::conference(id), &command, author)?
                .map_err(|e| rejected(AppError::domain(e)))
        }
        OrganizerCommand::Promos(id, command) => {
            let (conference, _) = unit.load::<Conference>(StreamId::conference(id))?;
            if conference.data().is_none() {
                return Err(rejected(AppError::not_found(
                    "unknown_conference",
                    "The conference does not exist",
                )));
            }
            unit.execute::<Promotions>(StreamId::promos(id), &command, author)?
                .map_err(|e| rejected(AppError::domain(e)))
        }
    }
}

fn rejected(error: AppError) -> Refusal {
    let body = error.body();
    Refusal::reject(&body.code, body.message)
}

/// Lowering a seat type's quantity may only remove seats nobody holds (the server owns
/// the pool, so it checks what the device could not).
pub(crate) fn check_quantity_cut(
    unit: &mut Unit<'_>,
    conference_id: ConferenceId,
    seat_type: SeatTypeId,
    new_quantity: u32,
) -> Result<(), Refusal> {
    let (conference, _) = unit.load::<Conference>(StreamId::conference(conference_id))?;
    let Some(current) = conference.data().and_then(|c| c.seat_type(seat_type)) else {
        return Ok(());
    };
    let (pool, _) = unit.load::<SeatsAvailability>(StreamId::seats(conference_id, Holder::Pool))?;
    seats::check_quantity_cut(current, &pool, new_quantity)
        .map_err(|e| rejected(AppError::rejected("quantity_below_taken", e.to_string())))
}
