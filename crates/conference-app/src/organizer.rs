//! The organizer's use cases: create and publish a conference, add and change seat types,
//! add promo codes.
use crate::command::UserCommand;
use crate::{App, AppError, Ctx, NewConference, NewPromoCode, Result};
use crate::{input, new_id};
use conference_domain::conference::ConferenceDetails;
use conference_domain::discounts;
use conference_domain::values::PromoCode;
use conference_domain::{ConferenceId, Currency, SeatTypeId};
use conference_protocol as p;
use conference_store::queries;

impl App {
    pub fn create_conference(
        &mut self,
        ctx: &Ctx,
        input: NewConference,
    ) -> Result<p::ConferenceView> {
        let slug = conference_domain::values::Slug::parse(&input.slug)?;
        let details = ConferenceDetails {
            name: conference_domain::values::required_text("conference name", &input.name, 200)?,
            description: input.description.trim().to_string(),
            location: input.location.trim().to_string(),
            start: input.start.ok_or_else(|| {
                AppError::invalid("missing_start", "Say when the conference starts")
                    .with_field("start")
            })?,
            end: input.end.ok_or_else(|| {
                AppError::invalid("missing_end", "Say when the conference ends").with_field("end")
            })?,
            owner_name: conference_domain::values::required_text(
                "owner name",
                &input.owner_name,
                200,
            )?,
            owner_email: conference_domain::values::Email::parse(&input.owner_email)?,
            slug,
        };
        let currency = match input.currency.as_deref() {
            None => Currency::default(),
            Some(c) => Currency::parse(c)?,
        };
        let existing = queries::conference_id_by_slug(self.store.reader(), details.slug.as_str())?;
        let conference_id = match existing {
            // A retry of the same command finds its own conference and returns it.
            Some(id) if self.seen(ctx)? => ConferenceId::from_uuid(id),
            Some(_) => {
                return Err(AppError::rejected(
                    "slug_taken",
                    format!(
                        "The slug `{}` is already taken; choose another one",
                        details.slug
                    ),
                )
                .with_field("slug"));
            }
            None => ConferenceId::from_uuid(new_id()),
        };
        let outcome = self.execute(
            ctx,
            &UserCommand::CreateConference {
                conference_id,
                details,
                currency,
            },
        )?;
        self.conference_outcome(outcome)
    }

    pub fn publish(&mut self, ctx: &Ctx, slug: &str, publish: bool) -> Result<p::ConferenceView> {
        let conference_id = self.conference_id(slug)?;
        let command = if publish {
            UserCommand::PublishConference { conference_id }
        } else {
            UserCommand::UnpublishConference { conference_id }
        };
        let outcome = self.execute(ctx, &command)?;
        self.conference_outcome(outcome)
    }

    pub fn add_seat_type(
        &mut self,
        ctx: &Ctx,
        slug: &str,
        name: &str,
        description: &str,
        price: &str,
        quantity: u32,
    ) -> Result<p::ConferenceView> {
        let conference_id = self.conference_id(slug)?;
        let minor = self.minor_units(conference_id)?;
        let price = input::parse_price(price)?.round(minor);
        let outcome = self.execute(
            ctx,
            &UserCommand::AddSeatType {
                conference_id,
                seat_type_id: SeatTypeId::from_uuid(new_id()),
                name: name.to_string(),
                description: description.to_string(),
                price,
                quantity,
            },
        )?;
        self.conference_outcome(outcome)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn update_seat_type(
        &mut self,
        ctx: &Ctx,
        slug: &str,
        name: &str,
        new_name: Option<String>,
        description: Option<String>,
        price: Option<&str>,
        quantity: Option<u32>,
    ) -> Result<p::ConferenceView> {
        let conference_id = self.conference_id(slug)?;
        let conference = self.conference_view(conference_id)?;
        let seat_type_id = self.seat_type_id(&conference, name)?;
        let minor = self.minor_units(conference_id)?;
        let price = price
            .map(input::parse_price)
            .transpose()?
            .map(|p| p.round(minor));
        let outcome = self.execute(
            ctx,
            &UserCommand::UpdateSeatType {
                conference_id,
                seat_type_id,
                name: new_name,
                description,
                price,
                quantity,
            },
        )?;
        self.conference_outcome(outcome)
    }

    pub fn add_promo_code(
        &mut self,
        ctx: &Ctx,
        slug: &str,
        input: &NewPromoCode,
    ) -> Result<p::ConferenceView> {
        let conference_id = self.conference_id(slug)?;
        let conference = self.conference_view(conference_id)?;
        let discount = match (&input.percent, &input.amount) {
            (Some(p), None) => discounts::DiscountKind::Percent(input::parse_percent(p)?),
            (None, Some(a)) => discounts::DiscountKind::Amount(
                input::parse_money(a, "amount")?.round(self.minor_units(conference_id)?),
            ),
            _ => {
                return Err(AppError::invalid(
                    "discount_kind",
                    "A promo code is either a percentage or an amount; give exactly one of them",
                )
                .with_field("discount"));
            }
        };
        let scope = if input.scope.is_empty() {
            discounts::Scope::All
        } else {
            discounts::Scope::SeatTypes(
                input
                    .scope
                    .iter()
                    .map(|n| self.seat_type_id(&conference, n))
                    .collect::<Result<_>>()?,
            )
        };
        let definition = discounts::PromoCodeDefinition {
            code: PromoCode::parse(&input.code)?,
            discount,
            scope,
            max_uses: input.max_uses,
            exclusive: input.exclusive,
        };
        let outcome = self.execute(
            ctx,
            &UserCommand::AddPromoCode {
                conference_id,
                definition,
            },
        )?;
        self.conference_outcome(outcome)
    }
}
