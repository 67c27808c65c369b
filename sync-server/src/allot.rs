//! `POST /v1/allotments`: seats move from a conference's pool to the asking device. A
//! grant never exceeds the free pool. The request is idempotent by its command id: a retry
//! returns the first answer and grants nothing more.
use crate::device::Device;
use crate::error::{ApiError, DbError};
use crate::log::{Author, Refusal, Unit};
use crate::push::forbidden_conference;
use crate::store::CommandInsert;
use conference_domain::aggregate::DomainEvent;
use conference_domain::seats::{self, SeatsAvailability};
use conference_domain::stream::{Holder, StreamId};
use conference_domain::values::SeatQuantity;
use conference_domain::{ConferenceId, DeviceId, SeatTypeId};
use conference_exec::AppError;
use conference_protocol::sync::{AllotmentRequest, AllotmentResponse, SeatCount};

pub(crate) fn grant(
    unit: &mut Unit<'_>,
    device: &Device,
    request: &AllotmentRequest,
) -> Result<AllotmentResponse, ApiError> {
    if !device.role.may_request_allotments() {
        return Err(ApiError::forbidden(
            "forbidden_role",
            format!(
                "A {} device does not sell seats, so it gets no allotment",
                device.role
            ),
        ));
    }
    let known = unit
        .db
        .command(request.command_id)?
        .map(|c| (c.status, c.result));
    if let Some((status, text)) = known {
        if status != "granted" {
            return Err(ApiError::Conflict {
                code: "command_id_reused".into(),
                message: format!(
                    "Command id {} was already used for a pushed command; every request needs its own id",
                    request.command_id
                ),
            });
        }
        return serde_json::from_str(&text).map_err(|e| {
            DbError::corrupt(format!("the answer to allotment {}", request.command_id), e).into()
        });
    }
    if let Some(allowed) = device.allowed_ids(&mut *unit.db)?
        && !allowed.contains(&request.conference_id)
    {
        return Err(forbidden_conference(device, request.conference_id));
    }
    if !unit.db.conference_known(request.conference_id)? {
        return Err(ApiError::not_found(
            "unknown_conference",
            format!(
                "The server has no conference {}; push it first",
                request.conference_id
            ),
        ));
    }
    let conference_id = ConferenceId::from_uuid(request.conference_id);
    let seats: Vec<SeatQuantity> = request
        .seats
        .iter()
        .map(|s| SeatQuantity::new(SeatTypeId::from_uuid(s.seat_type_id), s.quantity))
        .collect();
    let author = Author {
        command_id: request.command_id,
        device_id: device.id,
    };
    let outcome = unit
        .execute::<SeatsAvailability>(
            StreamId::seats(conference_id, Holder::Pool),
            &seats::Command::GrantAllotment {
                device: DeviceId::from_uuid(device.id),
                seats,
            },
            author,
        )
        .map_err(|refusal| match refusal {
            Refusal::Request(e) => e,
            Refusal::Reject(r) => ApiError::unprocessable(&r.reason.code, r.reason.message),
            Refusal::VersionTaken => {
                ApiError::Internal("the pool's next version was already stored".into())
            }
        })?;
    let stored = outcome.map_err(|e| {
        let body = AppError::domain(e).body();
        ApiError::unprocessable(&body.code, body.message)
    })?;
    let mut granted = Vec::new();
    let mut position = unit.db.head()?;
    for s in &stored {
        position = s.position;
        if let DomainEvent::Seats(seats::Event::SeatsAllotted(allotted)) = &s.event {
            granted.extend(allotted.seats.iter().map(|seat| SeatCount {
                seat_type_id: seat.seat_type.as_uuid(),
                quantity: seat.quantity,
            }));
        }
    }
    let response = AllotmentResponse {
        seats: granted,
        position,
    };
    let text = serde_json::to_string(&response)
        .map_err(|e| ApiError::Internal(format!("an allotment answer did not serialize: {e}")))?;
    unit.db.insert_command(&CommandInsert {
        command_id: request.command_id,
        device_id: device.id,
        device_seq: None,
        status: "granted",
        result: &text,
        recorded_position: position,
        recorded_at: &unit.now,
    })?;
    unit.stats.allotments += 1;
    Ok(response)
}
