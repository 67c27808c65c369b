//! Resolving what people type into the ids and values a command carries: a slug to its
//! conference, seat type names to seat types, codes, an order's id or access code, a new
//! order's ids and expiry, a payment's details.
use crate::command::{NewOrder, PaymentDetails};
use crate::{App, AppError, Ctx, PaymentInput, Result};
use crate::{input, new_access_code, new_id};
use conference_domain::order;
use conference_domain::values::{AccessCode, PromoCode, SeatQuantity};
use conference_domain::{ConferenceId, Currency, OrderId, PaymentId, SeatTypeId};
use conference_protocol as p;
use conference_store::queries;

impl App {
    /// The conference with this slug, or an error that says how to find the right one.
    pub fn conference_id(&self, slug: &str) -> Result<ConferenceId> {
        queries::conference_id_by_slug(self.store.reader(), slug)?
            .map(ConferenceId::from_uuid)
            .ok_or_else(|| {
                AppError::not_found(
                    "unknown_conference",
                    format!(
                        "No conference has the slug `{}`; `conference list` shows the conferences",
                        slug.trim()
                    ),
                )
            })
    }

    pub(crate) fn minor_units(&self, id: ConferenceId) -> Result<u32> {
        let view = self.conference_view(id)?;
        Ok(Currency::parse(&view.currency).map_or(2, |c| c.minor_units()))
    }

    pub(crate) fn conference_view(&self, id: ConferenceId) -> Result<p::ConferenceView> {
        queries::conference(self.store.reader(), id.as_uuid())?.ok_or_else(|| {
            AppError::not_found("unknown_conference", "The conference does not exist")
        })
    }

    pub(crate) fn seat_type_id(
        &self,
        conference: &p::ConferenceView,
        name: &str,
    ) -> Result<SeatTypeId> {
        conference
            .seat_types
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name.trim()))
            .map(|s| SeatTypeId::from_uuid(s.id))
            .ok_or_else(|| {
                let known: Vec<_> = conference
                    .seat_types
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect();
                AppError::invalid(
                    "unknown_seat_type",
                    if known.is_empty() {
                        format!(
                            "Conference `{}` has no seat types yet; add one first",
                            conference.slug
                        )
                    } else {
                        format!(
                            "Conference `{}` has no seat type `{}`; its seat types are: {}",
                            conference.slug,
                            name.trim(),
                            known.join(", ")
                        )
                    },
                )
                .with_field("seat_type")
            })
    }

    /// `["Full=2", "Student=1"]` → seat quantities, with names checked against the conference.
    pub(crate) fn resolve_seats(
        &self,
        conference: &p::ConferenceView,
        specs: &[String],
    ) -> Result<Vec<SeatQuantity>> {
        if specs.is_empty() {
            return Err(
                AppError::invalid("no_seats", "An order needs at least one seat")
                    .with_field("seats"),
            );
        }
        let mut seats: Vec<SeatQuantity> = Vec::new();
        for spec in specs {
            let (name, quantity) = input::parse_seat_spec(spec)?;
            let id = self.seat_type_id(conference, &name)?;
            match seats.iter_mut().find(|s| s.seat_type == id) {
                Some(s) => s.quantity += quantity,
                None => seats.push(SeatQuantity::new(id, quantity)),
            }
        }
        if seats.iter().all(|s| s.quantity == 0) {
            return Err(AppError::invalid(
                "no_seats",
                "An order needs at least one seat; ask for a quantity above 0",
            )
            .with_field("seats"));
        }
        Ok(seats)
    }

    pub(crate) fn parse_codes(codes: &[String]) -> Result<Vec<PromoCode>> {
        codes
            .iter()
            .map(|c| PromoCode::parse(c).map_err(AppError::from))
            .collect()
    }

    /// An order id from its UUID or, for people at the door, its access code.
    pub fn order_id(&self, text: &str) -> Result<OrderId> {
        if let Ok(id) = OrderId::parse(text) {
            return Ok(id);
        }
        if let Ok(code) = AccessCode::parse(text)
            && let [id] = queries::orders_with_access_code(self.store.reader(), code.as_str())?[..]
        {
            return Ok(OrderId::from_uuid(id));
        }
        Err(AppError::not_found(
            "unknown_order",
            format!(
                "No order has the id or access code `{}`; `orders` lists them",
                text.trim()
            ),
        ))
    }

    pub(crate) fn new_order(
        &self,
        ctx: &Ctx,
        slug: &str,
        seats: &[String],
        codes: &[String],
        allow_override: bool,
    ) -> Result<NewOrder> {
        let conference_id = self.conference_id(slug)?;
        let conference = self.conference_view(conference_id)?;
        let seats = self.resolve_seats(&conference, seats)?;
        Ok(NewOrder {
            order_id: OrderId::from_uuid(new_id()),
            conference_id,
            seats,
            promo_codes: Self::parse_codes(codes)?,
            access_code: new_access_code(),
            holder: self.holder()?,
            allow_override,
            reservation_expires_at: ctx.now
                + chrono::Duration::minutes(order::DEFAULT_RESERVATION_MINUTES),
        })
    }

    pub(crate) fn payment_details(input: &PaymentInput) -> Result<PaymentDetails> {
        let method = input::parse_method(&input.method)?;
        let tendered = input
            .tendered
            .as_deref()
            .map(|t| input::parse_money(t, "tendered"))
            .transpose()?;
        Ok(PaymentDetails {
            payment_id: PaymentId::from_uuid(new_id()),
            method,
            tendered,
            reference: input.reference.clone(),
        })
    }
}
