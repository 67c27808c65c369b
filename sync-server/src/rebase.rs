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
use conference_app::AppError;
use conference_app::command::UserCommand;
use conference_domain::conference::{self, Conference};
use conference_domain::discounts::{self, Promotions};
use conference_domain::seats::SeatsAvailability;
use conference_domain::stream::{Holder, StreamId};
use conference_domain::{ConferenceId, SeatTypeId};
use conference_protocol::sync::PushCommand;
use std::collections::HashSet;
use uuid::Uuid;

pub(crate) fn rebase(
    unit: &mut Unit<'_>,
    device: &Device,
    allowed: Option<&HashSet<Uuid>>,
    push: &PushCommand,
) -> Result<Vec<Stored>, Refusal> {
    let command: UserCommand = serde_json::from_value(push.command.clone()).map_err(|e| {
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
    let conference_id = organizer_conference(&command).ok_or_else(|| {
        Refusal::reject(
            "bad_command",
            format!(
                "`{}` is not a command the server re-runs",
                push.command_type
            ),
        )
    })?;
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
    let stream = StreamId::conference(conference_id);
    let outcome = match command {
        UserCommand::CreateConference {
            conference_id,
            details,
            currency,
        } => unit.execute::<Conference>(
            stream,
            &conference::Command::Create {
                id: conference_id,
                details,
                currency,
            },
            author,
        )?,
        UserCommand::UpdateConference { details, .. } => {
            unit.execute::<Conference>(stream, &conference::Command::Update { details }, author)?
        }
        UserCommand::PublishConference { .. } => {
            unit.execute::<Conference>(stream, &conference::Command::Publish, author)?
        }
        UserCommand::UnpublishConference { .. } => {
            unit.execute::<Conference>(stream, &conference::Command::Unpublish, author)?
        }
        UserCommand::AddSeatType {
            seat_type_id,
            name,
            description,
            price,
            quantity,
            ..
        } => unit.execute::<Conference>(
            stream,
            &conference::Command::AddSeatType {
                seat_type: seat_type_id,
                name,
                description,
                price,
                quantity,
            },
            author,
        )?,
        UserCommand::UpdateSeatType {
            seat_type_id,
            name,
            description,
            price,
            quantity,
            ..
        } => {
            if let Some(quantity) = quantity {
                check_quantity_cut(unit, conference_id, seat_type_id, quantity)?;
            }
            unit.execute::<Conference>(
                stream,
                &conference::Command::UpdateSeatType {
                    seat_type: seat_type_id,
                    name,
                    description,
                    price,
                    quantity,
                },
                author,
            )?
        }
        UserCommand::AddPromoCode { definition, .. } => {
            let (conference, _) = unit.load::<Conference>(stream)?;
            if conference.data().is_none() {
                return Err(rejected(AppError::not_found(
                    "unknown_conference",
                    "The conference does not exist",
                )));
            }
            return unit
                .execute::<Promotions>(
                    StreamId::promos(conference_id),
                    &discounts::Command::AddPromoCode(definition),
                    author,
                )?
                .map_err(|e| rejected(AppError::domain(e)));
        }
        _ => unreachable!("organizer_conference() only accepts organizer commands"),
    };
    outcome.map_err(|e| rejected(AppError::domain(e)))
}

fn rejected(error: AppError) -> Refusal {
    let body = error.body();
    Refusal::reject(&body.code, body.message)
}

/// The conference of an organizer command; `None` for every other command.
fn organizer_conference(command: &UserCommand) -> Option<ConferenceId> {
    match command {
        UserCommand::CreateConference { conference_id, .. }
        | UserCommand::UpdateConference { conference_id, .. }
        | UserCommand::PublishConference { conference_id }
        | UserCommand::UnpublishConference { conference_id }
        | UserCommand::AddSeatType { conference_id, .. }
        | UserCommand::UpdateSeatType { conference_id, .. }
        | UserCommand::AddPromoCode { conference_id, .. } => Some(*conference_id),
        _ => None,
    }
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
    if new_quantity >= current.quantity {
        return Ok(());
    }
    let (pool, _) = unit.load::<SeatsAvailability>(StreamId::seats(conference_id, Holder::Pool))?;
    let free = pool.remaining(seat_type).max(0);
    let cut = i64::from(current.quantity - new_quantity);
    if cut > free {
        let taken = i64::from(current.quantity) - free;
        return Err(rejected(AppError::rejected(
            "quantity_below_taken",
            format!(
                "{} seats of {} are already sold, reserved or allotted, so the quantity cannot go below {}",
                taken, current.name, taken
            ),
        )));
    }
    Ok(())
}
