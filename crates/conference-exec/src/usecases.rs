//! What each user command does to the domain: the aggregates it runs, in order, and the
//! checks a use case makes on top of them. The device runs it on its store, the sync server
//! on its log when it replays a pushed command: one home for every rule.
use crate::AppError;
use crate::command::{NewOrder, OrganizerCommand, Outcome, PaymentDetails, UserCommand};
use crate::journal::Journal;
use crate::runner::{self, Uow};
use conference_domain::assignments::{self, SeatAssignments};
use conference_domain::conference::{self, Conference};
use conference_domain::discounts::Promotions;
use conference_domain::order::{self, ConfirmationBasis, Order, OrderStatus};
use conference_domain::payment::{self, Payment};
use conference_domain::seats::{self, SeatsAvailability};
use conference_domain::stream::{Holder, StreamId};
use conference_domain::{Aggregate, OrderId};

type Result<T, E = AppError> = std::result::Result<T, E>;

/// Runs `command` and everything it causes in `uow`.
pub fn run<J: Journal>(uow: &mut Uow<J>, command: &UserCommand) -> Result<Outcome> {
    use UserCommand as C;
    if let Some(organizer) = command.organizer_command() {
        return run_organizer(uow, organizer);
    }
    match command {
        C::CreateConference { .. }
        | C::UpdateConference { .. }
        | C::PublishConference { .. }
        | C::UnpublishConference { .. }
        | C::AddSeatType { .. }
        | C::UpdateSeatType { .. }
        | C::AddPromoCode { .. } => unreachable!("organizer commands run above"),
        C::PlaceOrder(new) => {
            place(uow, new)?;
            Ok(Outcome::Order {
                order_id: new.order_id,
            })
        }
        C::UpdateOrder {
            order_id,
            seats,
            promo_codes,
        } => {
            uow.exec::<Order>(
                StreamId::order(*order_id),
                &order::Command::Update {
                    seats: seats.clone(),
                    promo_codes: promo_codes.clone(),
                },
            )?;
            ensure_reserved(uow, *order_id)?;
            Ok(Outcome::Order {
                order_id: *order_id,
            })
        }
        C::AssignRegistrant { order_id, person } => {
            uow.exec::<Order>(
                StreamId::order(*order_id),
                &order::Command::AssignRegistrantDetails(person.clone()),
            )?;
            Ok(Outcome::Order {
                order_id: *order_id,
            })
        }
        C::PayOrder { order_id, payment } => {
            pay(uow, *order_id, payment)?;
            Ok(Outcome::Order {
                order_id: *order_id,
            })
        }
        C::ConfirmOrder { order_id } => {
            let now = uow.now();
            uow.exec::<Order>(
                StreamId::order(*order_id),
                &order::Command::Confirm {
                    basis: ConfirmationBasis::FreeOfCharge,
                    now,
                },
            )?;
            Ok(Outcome::Order {
                order_id: *order_id,
            })
        }
        C::CancelOrder { order_id, reason } => {
            uow.exec::<Order>(
                StreamId::order(*order_id),
                &order::Command::Cancel {
                    reason: reason.clone(),
                },
            )?;
            Ok(Outcome::Order {
                order_id: *order_id,
            })
        }
        C::AssignSeat {
            order_id,
            position,
            attendee,
        } => {
            uow.exec::<SeatAssignments>(
                StreamId::assignments(*order_id),
                &assignments::Command::Assign {
                    position: *position,
                    attendee: attendee.clone(),
                },
            )?;
            Ok(Outcome::Order {
                order_id: *order_id,
            })
        }
        C::UnassignSeat { order_id, position } => {
            uow.exec::<SeatAssignments>(
                StreamId::assignments(*order_id),
                &assignments::Command::Unassign {
                    position: *position,
                },
            )?;
            Ok(Outcome::Order {
                order_id: *order_id,
            })
        }
        C::Sell {
            order: new,
            registrant,
            payment,
        } => {
            place(uow, new)?;
            if let Some(person) = registrant {
                uow.exec::<Order>(
                    StreamId::order(new.order_id),
                    &order::Command::AssignRegistrantDetails(person.clone()),
                )?;
            }
            let placed = load_order(uow, new.order_id)?;
            if placed.is_free_of_charge() {
                let now = uow.now();
                uow.exec::<Order>(
                    StreamId::order(new.order_id),
                    &order::Command::Confirm {
                        basis: ConfirmationBasis::FreeOfCharge,
                        now,
                    },
                )?;
            } else {
                let Some(payment) = payment else {
                    return Err(AppError::rejected(
                        "payment_required",
                        format!(
                            "The order costs {}; take payment in cash or by card",
                            placed.total()
                        ),
                    )
                    .with_field("payment"));
                };
                pay(uow, new.order_id, payment)?;
            }
            Ok(Outcome::Order {
                order_id: new.order_id,
            })
        }
        C::ReceiveAllotment {
            conference_id,
            seats,
        } => {
            let me = Holder::Device(uow.journal().device_id());
            uow.exec::<SeatsAvailability>(
                StreamId::seats(*conference_id, me),
                &conference_domain::seats::Command::ReceiveAllotment {
                    seats: seats.clone(),
                },
            )?;
            Ok(Outcome::Conference {
                conference_id: *conference_id,
            })
        }
        C::ReturnAllotment {
            conference_id,
            seats,
        } => {
            let me = Holder::Device(uow.journal().device_id());
            let nothing = || {
                AppError::rejected(
                    "nothing_to_return",
                    "This device's allotment has none of those seats left to return",
                )
            };
            let stream = StreamId::seats(*conference_id, me);
            let command = seats::Command::ReturnAllotment {
                seats: seats.clone(),
            };
            // A seat type the allotment never had: there is nothing of it to give back.
            let allotment: SeatsAvailability = uow.load(stream)?;
            if let Err(seats::Error::UnknownSeatType(_)) = allotment.handle(&command) {
                return Err(nothing());
            }
            if uow.exec::<SeatsAvailability>(stream, &command)? == 0 {
                return Err(nothing());
            }
            Ok(Outcome::Conference {
                conference_id: *conference_id,
            })
        }
        C::Tick => {
            let now = uow.now();
            let mut ran = 0;
            let mut expired_orders = Vec::new();
            loop {
                let due = uow.journal_mut().due_commands(now, 500)?;
                if due.is_empty() {
                    break;
                }
                for scheduled in due {
                    if scheduled.kind == runner::EXPIRE_REGISTRATION
                        && let Some(order_id) = uow.expire(&scheduled.payload)?
                    {
                        expired_orders.push(order_id);
                    }
                    uow.journal_mut().mark_done(scheduled.id)?;
                    ran += 1;
                }
            }
            Ok(Outcome::Tick {
                ran,
                expired_orders,
            })
        }
    }
}

fn load_order<J: Journal>(uow: &mut Uow<J>, order_id: OrderId) -> Result<order::OrderData> {
    let order: Order = uow.load(StreamId::order(order_id))?;
    order.data().cloned().ok_or_else(|| {
        AppError::not_found("unknown_order", format!("No order has the id {order_id}"))
    })
}

fn place<J: Journal>(uow: &mut Uow<J>, new: &NewOrder) -> Result<()> {
    let conference: Conference = uow.load(StreamId::conference(new.conference_id))?;
    let data = conference.data().ok_or_else(|| {
        AppError::not_found("unknown_conference", "The conference does not exist")
    })?;
    data.check_on_sale().map_err(AppError::domain)?;
    uow.exec::<Order>(
        StreamId::order(new.order_id),
        &order::Command::Place {
            conference_id: new.conference_id,
            seats: new.seats.clone(),
            promo_codes: new.promo_codes.clone(),
            access_code: new.access_code.clone(),
            holder: new.holder,
            allow_override: new.allow_override,
            reservation_expires_at: new.reservation_expires_at,
        },
    )?;
    ensure_reserved(uow, new.order_id)
}

/// An order that got no seat at all is refused whole: nothing is written.
fn ensure_reserved<J: Journal>(uow: &mut Uow<J>, order_id: OrderId) -> Result<()> {
    let data = load_order(uow, order_id)?;
    if !data.reserved.is_empty() {
        return Ok(());
    }
    Err(match data.holder {
        Holder::Pool => AppError::rejected(
            "sold_out",
            "None of the requested seats are left; `seats SLUG` shows what remains",
        ),
        Holder::Device(_) => AppError::rejected(
            "allotment_exhausted",
            "This device's allotment has none of the requested seats left; request more with \
             `conference allotment request SLUG --seat NAME=QTY`, or sell beyond it with --override \
             (the back office reconciles it)",
        ),
    })
}

fn pay<J: Journal>(uow: &mut Uow<J>, order_id: OrderId, details: &PaymentDetails) -> Result<()> {
    let data = load_order(uow, order_id)?;
    data.check_payable(uow.now()).map_err(AppError::domain)?;
    let conference: Conference = uow.load(StreamId::conference(data.conference_id))?;
    let description = format!(
        "Registration for {}",
        conference
            .data()
            .map_or("the conference", |c| c.details.name.as_str())
    );
    let stream = StreamId::payment(details.payment_id);
    uow.exec::<Payment>(
        stream,
        &payment::Command::Initiate {
            order_id,
            conference_id: data.conference_id,
            amount: data.total(),
            method: details.method,
            description,
        },
    )?;
    uow.exec::<Payment>(
        stream,
        &payment::Command::Complete {
            tendered: details.tendered,
            reference: details.reference.clone(),
        },
    )?;
    let after = load_order(uow, order_id)?;
    if after.status != OrderStatus::Confirmed {
        return Err(AppError::rejected(
            "payment_not_applied",
            "The payment completed but the order could not be confirmed; nothing was charged",
        ));
    }
    Ok(())
}

/// Runs an organizer's command. A store that owns its pool also checks that a lower
/// quantity only removes free seats (otherwise the server, which owns the pool, does).
fn run_organizer<J: Journal>(uow: &mut Uow<J>, command: OrganizerCommand) -> Result<Outcome> {
    let conference_id = command.conference_id();
    match command {
        OrganizerCommand::Conference(id, command) => {
            if let conference::Command::UpdateSeatType {
                seat_type,
                quantity: Some(quantity),
                ..
            } = &command
                && uow.owns_pool
            {
                let conference: Conference = uow.load(StreamId::conference(id))?;
                let pool: SeatsAvailability = uow.load(StreamId::seats(id, Holder::Pool))?;
                if let Some(current) = conference.data().and_then(|c| c.seat_type(*seat_type)) {
                    conference_domain::seats::check_quantity_cut(current, &pool, *quantity)
                        .map_err(AppError::domain)?;
                }
            }
            uow.exec::<Conference>(StreamId::conference(id), &command)?;
        }
        OrganizerCommand::Promos(id, command) => {
            let conference: Conference = uow.load(StreamId::conference(id))?;
            if conference.data().is_none() {
                return Err(AppError::not_found(
                    "unknown_conference",
                    "The conference does not exist",
                ));
            }
            uow.exec::<Promotions>(StreamId::promos(id), &command)?;
        }
    }
    Ok(Outcome::Conference { conference_id })
}
