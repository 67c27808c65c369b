//! The unit of work and the in-process cascade: a command's events feed the policies and
//! the registration process manager, whose commands run in the same transaction, until
//! nothing more happens. One door sale (place → reserve → price → pay → confirm → commit →
//! seat assignments) therefore commits, or fails, as one.
use crate::AppError;
use crate::journal::{Journal, Recorded};
use conference_domain::aggregate::{Aggregate, DomainEvent, IntoDomainEvent};
use conference_domain::assignments::{self, SeatAssignments};
use conference_domain::conference::{self, Conference};
use conference_domain::discounts::{self, Promotions};
use conference_domain::order::{self, Order};
use conference_domain::payment::{self, Payment};
use conference_domain::pricing::PriceList;
use conference_domain::process::{Input, Output, RegistrationProcess, Stage};
use conference_domain::seats::{self, SeatsAvailability};
use conference_domain::stream::{Holder, StreamId};
use conference_domain::{ConferenceId, OrderId, PaymentId, Timestamp};
use std::collections::HashMap;
use std::collections::VecDeque;

/// The kind of the scheduled command that expires a reservation.
pub const EXPIRE_REGISTRATION: &str = "expire_registration";

/// A cascade longer than this is a bug (a loop between reactors), not a workload.
const MAX_CASCADE_STEPS: usize = 10_000;

/// What a scheduled expiry carries: the order, and which of its expiries is the live one.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct ExpiryPayload {
    pub order_id: OrderId,
    pub sequence: u32,
}

pub struct Uow<J> {
    pub(crate) journal: J,
    /// Whether this store sells from the conference pool itself (a standalone box office).
    pub(crate) owns_pool: bool,
    /// Process states touched in this unit, written once by `finish`.
    processes: HashMap<OrderId, RegistrationProcess>,
    /// Expiries scheduled in this unit and not yet moot, written once by `finish`. A door
    /// sale schedules and completes in the same unit, so its expiry is never written.
    expiries: Vec<(OrderId, Timestamp, serde_json::Value)>,
}

impl<J: Journal> Uow<J> {
    /// A unit on `journal`; `owns_pool` when the device sells from the conference pool
    /// itself (a store never connected to a sync server).
    pub fn new(journal: J, owns_pool: bool) -> Self {
        Self {
            journal,
            owns_pool,
            processes: HashMap::new(),
            expiries: Vec::new(),
        }
    }

    /// Writes what the cascade kept in memory and hands back the journal.
    pub fn finish(mut self) -> Result<J, AppError> {
        for (order_id, state) in &self.processes {
            // A completed registration is all in its confirmed order: keeping its state
            // would cost every door sale a write for the rare later cancellation.
            if state.stage == Stage::Completed {
                self.journal.forget_process(*order_id)?;
            } else {
                self.journal.save_process(*order_id, state)?;
            }
        }
        for (order_id, due, payload) in &self.expiries {
            self.journal
                .schedule(*due, EXPIRE_REGISTRATION, order_id.as_uuid(), payload)?;
        }
        Ok(self.journal)
    }

    #[must_use]
    pub fn journal(&self) -> &J {
        &self.journal
    }

    pub fn journal_mut(&mut self) -> &mut J {
        &mut self.journal
    }

    /// The time the command runs at.
    #[must_use]
    pub fn now(&self) -> Timestamp {
        self.journal.now()
    }

    /// Runs one command against one aggregate, then everything it causes; how many events
    /// the command itself recorded.
    pub fn exec<A>(&mut self, stream: StreamId, command: &A::Command) -> Result<usize, AppError>
    where
        A: Aggregate,
        A::Event: IntoDomainEvent,
    {
        let recorded = self.journal.execute::<A>(stream, command)?;
        let count = recorded.len();
        self.cascade(recorded)?;
        Ok(count)
    }

    /// Runs one command without reacting to its events (for the cascade itself).
    fn exec_only<A>(
        &mut self,
        stream: StreamId,
        command: &A::Command,
    ) -> Result<Vec<Recorded>, AppError>
    where
        A: Aggregate,
        A::Event: IntoDomainEvent,
    {
        self.journal.execute::<A>(stream, command)
    }

    pub fn load<A: Aggregate>(&mut self, stream: StreamId) -> Result<A, AppError> {
        self.journal.load::<A>(stream)
    }

    /// Feeds a scheduled expiry to the process manager and runs what follows.
    pub(crate) fn expire(
        &mut self,
        payload: &serde_json::Value,
    ) -> Result<Option<OrderId>, AppError> {
        let Ok(p) = serde_json::from_value::<ExpiryPayload>(payload.clone()) else {
            return Err(AppError::Store(format!(
                "a scheduled expiry could not be read: {payload}"
            )));
        };
        let before = self.recorded_len();
        let pending = self.react(&Input::Expire {
            order_id: p.order_id,
            sequence: p.sequence,
        })?;
        self.cascade(pending)?;
        let expired = self.journal.recorded()[before..]
            .iter()
            .any(|r| matches!(r.event, DomainEvent::Order(order::Event::OrderExpired(_))));
        Ok(expired.then_some(p.order_id))
    }

    fn recorded_len(&self) -> usize {
        self.journal.recorded().len()
    }

    fn cascade(&mut self, first: Vec<Recorded>) -> Result<(), AppError> {
        let mut queue: VecDeque<Recorded> = first.into();
        let mut steps = 0;
        while let Some(event) = queue.pop_front() {
            steps += 1;
            if steps > MAX_CASCADE_STEPS {
                return Err(AppError::Store(
                    "a command caused an endless cascade of events; nothing was written".into(),
                ));
            }
            let more = self.policies(&event)?;
            queue.extend(more);
            let input = match &event.event {
                DomainEvent::Order(e) => Some(Input::Order(OrderId::from_uuid(event.stream.id), e)),
                DomainEvent::Seats(e @ seats::Event::SeatsReserved(_)) => Some(Input::Seats(e)),
                DomainEvent::Payment(e @ payment::Event::PaymentCompleted(_)) => {
                    Some(Input::Payment(PaymentId::from_uuid(event.stream.id), e))
                }
                _ => None,
            };
            if let Some(input) = input {
                let more = self.react(&input)?;
                queue.extend(more);
            }
        }
        Ok(())
    }

    /// Conference management feeds the seat pool: new seat types add seats, quantity
    /// changes add or remove the difference. Only the pool's owner does this.
    fn policies(&mut self, event: &Recorded) -> Result<Vec<Recorded>, AppError> {
        if !self.owns_pool {
            return Ok(vec![]);
        }
        let DomainEvent::Conference(e) = &event.event else {
            return Ok(vec![]);
        };
        let conference_id = ConferenceId::from_uuid(event.stream.id);
        let pool = StreamId::seats(conference_id, Holder::Pool);
        match pool_policy(e) {
            Some(command) => self.exec_only::<SeatsAvailability>(pool, &command),
            None => Ok(vec![]),
        }
    }

    fn react(&mut self, input: &Input<'_>) -> Result<Vec<Recorded>, AppError> {
        let Some(order_id) = input.order_id() else {
            return Ok(vec![]);
        };
        let state = match self.processes.get(&order_id) {
            Some(state) => state.clone(),
            None => self.stored_process(order_id)?,
        };
        let reaction = state.react(input);
        if reaction.state == state && reaction.commands.is_empty() {
            return Ok(vec![]);
        }
        let ended = matches!(
            reaction.state.stage,
            Stage::Completed | Stage::Cancelled | Stage::Expired
        );
        if ended && reaction.state.stage != state.stage {
            self.drop_expiry(order_id)?;
        }
        self.processes.insert(order_id, reaction.state);
        let mut recorded = Vec::new();
        for command in reaction.commands {
            recorded.extend(self.run_output(command)?);
        }
        Ok(recorded)
    }

    /// A process's stored state, or the completed state its confirmed order implies (a
    /// completed process is not stored).
    fn stored_process(&mut self, order_id: OrderId) -> Result<RegistrationProcess, AppError> {
        let stored = self.journal.load_process(order_id)?;
        if stored.stage != Stage::NotStarted {
            return Ok(stored);
        }
        let order: Order = self.load(StreamId::order(order_id))?;
        Ok(match order.data() {
            Some(data) if data.was_confirmed => RegistrationProcess {
                stage: Stage::Completed,
                ..RegistrationProcess::resume(order_id, data)
            },
            _ => stored,
        })
    }

    /// The order's process ended: its pending expiry is moot.
    fn drop_expiry(&mut self, order_id: OrderId) -> Result<(), AppError> {
        let before = self.expiries.len();
        self.expiries.retain(|(id, _, _)| *id != order_id);
        if self.expiries.len() == before {
            self.journal.cancel_scheduled(order_id.as_uuid())?;
        }
        Ok(())
    }

    fn run_output(&mut self, output: Output) -> Result<Vec<Recorded>, AppError> {
        use Output as O;
        match output {
            O::MakeSeatReservation {
                conference_id,
                holder,
                order_id,
                seats,
                allow_override,
            } => self.exec_only::<SeatsAvailability>(
                StreamId::seats(conference_id, holder),
                &seats::Command::MakeSeatReservation {
                    reservation_id: order_id,
                    seats,
                    allow_override,
                },
            ),
            // A connected device does not write the conference's promo codes (a stream it
            // shares with every other device): it checks the codes, and the server counts
            // limited codes' redemptions when the confirmed order arrives.
            O::HoldPromoRedemptions {
                conference_id,
                codes,
                seat_types,
                ..
            } if !self.owns_pool => {
                let promotions: Promotions = self.load(StreamId::promos(conference_id))?;
                promotions
                    .validate(&codes, &seat_types)
                    .map_err(AppError::domain)?;
                Ok(vec![])
            }
            O::CommitPromoRedemptions { .. } | O::ReleasePromoRedemptions { .. }
                if !self.owns_pool =>
            {
                Ok(vec![])
            }
            O::HoldPromoRedemptions {
                conference_id,
                order_id,
                codes,
                seat_types,
            } => self.exec_only::<Promotions>(
                StreamId::promos(conference_id),
                &discounts::Command::HoldRedemptions {
                    order_id,
                    codes,
                    seat_types,
                },
            ),
            O::ScheduleExpiry {
                order_id,
                sequence,
                due,
            } => {
                let payload = serde_json::to_value(ExpiryPayload { order_id, sequence })
                    .map_err(|e| AppError::Store(e.to_string()))?;
                self.expiries.push((order_id, due, payload));
                Ok(vec![])
            }
            O::MarkSeatsAsReserved {
                order_id,
                seats,
                expiration,
            } => {
                let order: Order = self.load(StreamId::order(order_id))?;
                let Some(data) = order.data() else {
                    return Ok(vec![]);
                };
                let (price_list, discounts) =
                    self.pricing_for(data.conference_id, &data.promo_codes)?;
                self.exec_only::<Order>(
                    StreamId::order(order_id),
                    &order::Command::MarkSeatsAsReserved {
                        seats,
                        expiration,
                        price_list,
                        discounts,
                    },
                )
            }
            O::ConfirmOrder { order_id, basis } => self.exec_only::<Order>(
                StreamId::order(order_id),
                &order::Command::Confirm {
                    basis,
                    now: self.journal.now(),
                },
            ),
            O::CommitSeatReservation {
                conference_id,
                holder,
                order_id,
            } => self.exec_only::<SeatsAvailability>(
                StreamId::seats(conference_id, holder),
                &seats::Command::CommitSeatReservation {
                    reservation_id: order_id,
                },
            ),
            O::CommitPromoRedemptions {
                conference_id,
                order_id,
            } => self.exec_only::<Promotions>(
                StreamId::promos(conference_id),
                &discounts::Command::CommitRedemptions { order_id },
            ),
            O::CreateSeatAssignments { order_id, seats } => self.exec_only::<SeatAssignments>(
                StreamId::assignments(order_id),
                &assignments::Command::Create { order_id, seats },
            ),
            O::CancelSeatReservation {
                conference_id,
                holder,
                order_id,
            } => self.exec_only::<SeatsAvailability>(
                StreamId::seats(conference_id, holder),
                &seats::Command::CancelSeatReservation {
                    reservation_id: order_id,
                },
            ),
            O::ReleaseCommittedSeats {
                conference_id,
                holder,
                order_id,
                seats,
            } => self.exec_only::<SeatsAvailability>(
                StreamId::seats(conference_id, holder),
                &seats::Command::ReleaseCommittedSeats {
                    reservation_id: order_id,
                    seats,
                },
            ),
            O::ReleasePromoRedemptions {
                conference_id,
                order_id,
                codes,
                committed,
            } => self.exec_only::<Promotions>(
                StreamId::promos(conference_id),
                &discounts::Command::ReleaseRedemptions {
                    order_id,
                    codes,
                    committed,
                },
            ),
            O::RejectOrder { order_id } => {
                self.exec_only::<Order>(StreamId::order(order_id), &order::Command::Reject)
            }
            O::RefundPayment { payment_id, reason } => self.exec_only::<Payment>(
                StreamId::payment(payment_id),
                &payment::Command::Refund { reason },
            ),
        }
    }

    /// The price list and discount definitions an order of `conference_id` is priced with.
    pub fn pricing_for(
        &mut self,
        conference_id: ConferenceId,
        codes: &[conference_domain::PromoCode],
    ) -> Result<(PriceList, Vec<discounts::PromoCodeDefinition>), AppError> {
        let conference: Conference = self.load(StreamId::conference(conference_id))?;
        let data = conference.data().ok_or_else(|| {
            AppError::not_found(
                "unknown_conference",
                "the order's conference does not exist",
            )
        })?;
        let price_list = data.price_list();
        let discounts = if codes.is_empty() {
            vec![]
        } else {
            let promotions: Promotions = self.load(StreamId::promos(conference_id))?;
            codes
                .iter()
                .filter_map(|c| promotions.codes.get(c).map(|s| s.definition.clone()))
                .collect()
        };
        Ok((price_list, discounts))
    }
}

/// The pool's owner keeps it in step with conference management: a new seat type adds its
/// seats, a quantity change adds or removes the difference. The device that owns its pool
/// runs it in its cascade; the sync server, which owns every connected pool, after a
/// pushed command.
#[must_use]
pub fn pool_policy(event: &conference::Event) -> Option<seats::Command> {
    match event {
        conference::Event::SeatTypeCreated(c) => Some(seats::Command::AddSeats {
            seat_type: c.seat_type.id,
            quantity: c.seat_type.quantity,
        }),
        conference::Event::SeatTypeUpdated(u) if u.seat_type.quantity > u.previous_quantity => {
            Some(seats::Command::AddSeats {
                seat_type: u.seat_type.id,
                quantity: u.seat_type.quantity - u.previous_quantity,
            })
        }
        conference::Event::SeatTypeUpdated(u) if u.seat_type.quantity < u.previous_quantity => {
            Some(seats::Command::RemoveSeats {
                seat_type: u.seat_type.id,
                quantity: u.previous_quantity - u.seat_type.quantity,
            })
        }
        _ => None,
    }
}
