//! Orders' use cases: place, change, register, pay, confirm, cancel, assign seats, the
//! door's one-shot sale, and the scheduled expiry (`tick`).
use crate::command::{Outcome, UserCommand};
use crate::{App, AppError, Ctx, PaymentInput, Result, SaleInput};
use conference_domain::OrderId;
use conference_domain::values::PersonalInfo;
use conference_protocol as p;

impl App {
    pub fn place_order(
        &mut self,
        ctx: &Ctx,
        slug: &str,
        seats: &[String],
        codes: &[String],
    ) -> Result<p::OrderView> {
        let order = self.new_order(ctx, slug, seats, codes, false)?;
        let outcome = self.execute(ctx, &UserCommand::PlaceOrder(order))?;
        self.order_outcome(outcome)
    }

    pub fn update_order(
        &mut self,
        ctx: &Ctx,
        id: &str,
        seats: &[String],
        codes: &[String],
    ) -> Result<p::OrderView> {
        let order_id = self.order_id(id)?;
        let current = self.order(order_id)?;
        let conference_id = self.conference_id(&current.conference)?;
        let conference = self.conference_view(conference_id)?;
        let seats = self.resolve_seats(&conference, seats)?;
        let outcome = self.execute(
            ctx,
            &UserCommand::UpdateOrder {
                order_id,
                seats,
                promo_codes: Self::parse_codes(codes)?,
            },
        )?;
        self.order_outcome(outcome)
    }

    pub fn assign_registrant(
        &mut self,
        ctx: &Ctx,
        id: &str,
        first: &str,
        last: &str,
        email: &str,
    ) -> Result<p::OrderView> {
        let order_id = self.order_id(id)?;
        let person = PersonalInfo::parse(first, last, email)?;
        let outcome = self.execute(ctx, &UserCommand::AssignRegistrant { order_id, person })?;
        self.order_outcome(outcome)
    }

    pub fn pay(&mut self, ctx: &Ctx, id: &str, payment: &PaymentInput) -> Result<p::OrderView> {
        let order_id = self.order_id(id)?;
        let payment = Self::payment_details(payment)?;
        let outcome = self.execute(ctx, &UserCommand::PayOrder { order_id, payment })?;
        self.order_outcome(outcome)
    }

    pub fn confirm(&mut self, ctx: &Ctx, id: &str) -> Result<p::OrderView> {
        let order_id = self.order_id(id)?;
        let outcome = self.execute(ctx, &UserCommand::ConfirmOrder { order_id })?;
        self.order_outcome(outcome)
    }

    pub fn cancel(&mut self, ctx: &Ctx, id: &str, reason: Option<&str>) -> Result<p::OrderView> {
        let order_id = self.order_id(id)?;
        let reason = reason
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .unwrap_or("cancelled at the desk")
            .to_string();
        let outcome = self.execute(ctx, &UserCommand::CancelOrder { order_id, reason })?;
        self.order_outcome(outcome)
    }

    pub fn assign_seat(
        &mut self,
        ctx: &Ctx,
        id: &str,
        position: u32,
        first: &str,
        last: &str,
        email: &str,
    ) -> Result<p::OrderView> {
        let order_id = self.order_id(id)?;
        let attendee = PersonalInfo::parse(first, last, email)?;
        let outcome = self.execute(
            ctx,
            &UserCommand::AssignSeat {
                order_id,
                position,
                attendee,
            },
        )?;
        self.order_outcome(outcome)
    }

    pub fn unassign_seat(&mut self, ctx: &Ctx, id: &str, position: u32) -> Result<p::OrderView> {
        let order_id = self.order_id(id)?;
        let outcome = self.execute(ctx, &UserCommand::UnassignSeat { order_id, position })?;
        self.order_outcome(outcome)
    }

    /// The door's one-shot sale.
    pub fn sell(&mut self, ctx: &Ctx, sale: &SaleInput) -> Result<p::OrderView> {
        let order = self.new_order(
            ctx,
            &sale.slug,
            &sale.seats,
            &sale.promo_codes,
            sale.allow_override,
        )?;
        let registrant = sale
            .registrant
            .as_ref()
            .map(|(f, l, e)| PersonalInfo::parse(f, l, e))
            .transpose()?;
        let payment = sale
            .payment
            .as_ref()
            .map(Self::payment_details)
            .transpose()?;
        let outcome = self.execute(
            ctx,
            &UserCommand::Sell {
                order,
                registrant,
                payment,
            },
        )?;
        self.order_outcome(outcome)
    }

    /// Runs every scheduled command due at `ctx.now` (reservation expiry).
    pub fn tick(&mut self, ctx: &Ctx) -> Result<p::TickReport> {
        match self.execute(ctx, &UserCommand::Tick)? {
            Outcome::Tick {
                ran,
                expired_orders,
            } => Ok(p::TickReport {
                ran,
                expired_orders: expired_orders.iter().map(OrderId::as_uuid).collect(),
            }),
            other => Err(AppError::Store(format!("unexpected outcome {other:?}"))),
        }
    }
}
