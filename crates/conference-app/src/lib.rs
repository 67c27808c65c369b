//! The application layer: every use case and query of the product, over the local store.
//!
//! The CLI, the desktop app and the sync server are thin adapters over [`App`]: they turn
//! their input into calls here and print or send what comes back. A use case resolves what
//! a person typed (slugs, seat type names, codes) into a [`UserCommand`] with every id and
//! time chosen, then [`App::execute`] runs it in one transaction with its whole cascade,
//! remembers its outcome under its command id, and queues it for sync.
//!
//! tidy: long because `App` has every use case as a method (the ones that grew a module of
//! their own, quote, back office, export, feed, already moved out).
#![forbid(unsafe_code)]

mod back_office;
pub use conference_exec::command;
mod device_name;
pub mod error;
mod export;
#[cfg(feature = "http")]
pub mod feed;
#[cfg(feature = "http")]
pub mod http;
pub mod input;
mod order_search;
mod quote;
pub mod sync;
mod transport;

pub use back_office::ReconciliationEntry;
use command::{NewOrder, Outcome, PaymentDetails, UserCommand};
use conference_domain::conference::ConferenceDetails;
use conference_domain::discounts::{self};
use conference_domain::order::{self};
use conference_domain::stream::Holder;
use conference_domain::values::{AccessCode, PersonalInfo, PromoCode, SeatQuantity};
use conference_domain::{
    CommandId, ConferenceId, Currency, DeviceId, OrderId, PaymentId, SeatTypeId, Timestamp,
};
use conference_exec::Uow;
use conference_protocol as p;
pub use conference_store::sync::ServerLink;
use conference_store::{Store, queries};
pub use error::AppError;
use std::path::Path;
use uuid::Uuid;

pub use conference_domain;
pub use conference_protocol;
pub use conference_store;

pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// Who is asking and when: the command id (for idempotency) and the clock reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ctx {
    pub command_id: CommandId,
    pub now: Timestamp,
}

impl Ctx {
    /// A fresh, time-ordered command id at `now`.
    #[must_use]
    pub fn new(now: Timestamp) -> Self {
        Self {
            command_id: new_command_id(),
            now,
        }
    }
}

#[must_use]
pub fn new_command_id() -> CommandId {
    CommandId::from_uuid(Uuid::now_v7())
}

fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// A fresh access code (the only randomness in the product, drawn here, not in the domain).
fn new_access_code() -> AccessCode {
    use rand::Rng;
    let mut rng = rand::rng();
    let mut indices = [0u8; 6];
    for i in &mut indices {
        *i = rng.random_range(0..AccessCode::ALPHABET.len() as u8);
    }
    AccessCode::from_indices(indices)
}

/// What an organizer types to create a conference.
#[derive(Clone, Debug, Default)]
pub struct NewConference {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub location: String,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub owner_name: String,
    pub owner_email: String,
    pub currency: Option<String>,
}

/// What a promo code is, as typed.
#[derive(Clone, Debug, Default)]
pub struct NewPromoCode {
    pub code: String,
    pub percent: Option<String>,
    pub amount: Option<String>,
    pub scope: Vec<String>,
    pub max_uses: Option<u32>,
    pub exclusive: bool,
}

/// How an order is paid, as typed.
#[derive(Clone, Debug, Default)]
pub struct PaymentInput {
    pub method: String,
    pub tendered: Option<String>,
    pub reference: Option<String>,
}

/// A door sale, as typed.
#[derive(Clone, Debug, Default)]
pub struct SaleInput {
    pub slug: String,
    pub seats: Vec<String>,
    pub promo_codes: Vec<String>,
    pub registrant: Option<(String, String, String)>,
    pub payment: Option<PaymentInput>,
    pub allow_override: bool,
}

pub struct App {
    store: Store,
}

impl App {
    /// Opens (and migrates) the store at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self {
            store: Store::open(path)?,
        })
    }

    /// Opens the store at `path`; a store written by V1 is upgraded in place first, with
    /// `progress` told how far it is.
    pub fn open_upgrading(
        path: impl AsRef<Path>,
        progress: &mut dyn FnMut(conference_store::UpgradeProgress),
    ) -> Result<Self> {
        Ok(Self {
            store: Store::open_upgrading(path, conference_store::Durability::Full, progress)?,
        })
    }

    #[must_use]
    pub fn from_store(store: Store) -> Self {
        Self { store }
    }

    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// Sets up a new store for this device. Safe to call twice: the second call says so.
    pub fn init(&mut self, name: &str, now: Timestamp) -> Result<p::DeviceView> {
        let name = conference_domain::values::required_text("device name", name, 100)?;
        self.store
            .init_device(DeviceId::from_uuid(new_id()), &name, now)?;
        self.device()
    }

    /// Sets up a new store for this device, or, when it is set up already, says which
    /// device it is.
    pub fn init_or_open(&mut self, name: &str, now: Timestamp) -> Result<p::DeviceView> {
        let name = conference_domain::values::required_text("device name", name, 100)?;
        match self
            .store
            .init_device(DeviceId::from_uuid(new_id()), &name, now)
        {
            Ok(_) | Err(conference_store::StoreError::AlreadyInitialized(_)) => self.device(),
            Err(e) => Err(e.into()),
        }
    }

    pub fn device(&self) -> Result<p::DeviceView> {
        let d = self.store.device()?.ok_or_else(|| {
            AppError::invalid(
                "not_initialized",
                format!(
                    "The store {} is not set up yet; run `conference init` first",
                    self.store.path().display()
                ),
            )
        })?;
        Ok(p::DeviceView {
            device_id: d.device_id.as_uuid(),
            name: d.name,
            owns_pool: d.owns_pool,
            store: self.store.path().display().to_string(),
        })
    }

    fn holder(&self) -> Result<Holder> {
        let d = self.device()?;
        Ok(if d.owns_pool {
            Holder::Pool
        } else {
            Holder::Device(DeviceId::from_uuid(d.device_id))
        })
    }

    // ---------------------------------------------------------------- execution

    /// Runs a command with everything it causes in one transaction. The same command id
    /// returns the first outcome (or the first rejection) and writes nothing new.
    pub fn execute(&mut self, ctx: &Ctx, command: &UserCommand) -> Result<Outcome> {
        let span = tracing::info_span!("command", name = command.name(), id = %ctx.command_id);
        let _entered = span.enter();
        let owns_pool = self.device()?.owns_pool;
        let tx = self.store.begin(ctx.command_id, ctx.now)?;
        if let Some((succeeded, outcome)) = tx.command_outcome(ctx.command_id)? {
            drop(tx);
            tracing::info!("command id seen before; returning its first outcome");
            return if succeeded {
                serde_json::from_value(outcome).map_err(|e| AppError::Store(e.to_string()))
            } else {
                let body: p::ErrorBody =
                    serde_json::from_value(outcome).map_err(|e| AppError::Store(e.to_string()))?;
                Err(AppError::Rejected {
                    code: body.code,
                    message: body.message,
                    field: body.field,
                })
            };
        }
        let mut uow = Uow::new(tx, owns_pool);
        match conference_exec::run(&mut uow, command) {
            Ok(outcome) => {
                let mut tx = uow.finish()?;
                let json =
                    serde_json::to_value(&outcome).map_err(|e| AppError::Store(e.to_string()))?;
                tx.record_outcome(command.name(), true, &json)?;
                let command_json =
                    serde_json::to_value(command).map_err(|e| AppError::Store(e.to_string()))?;
                tx.push_outbox(command.name(), &command_json)?;
                tx.commit()?;
                Ok(outcome)
            }
            Err(error) => {
                drop(uow);
                if error.is_final() {
                    let mut tx = self.store.begin(ctx.command_id, ctx.now)?;
                    let body = serde_json::to_value(error.body())
                        .map_err(|e| AppError::Store(e.to_string()))?;
                    tx.record_outcome(command.name(), false, &body)?;
                    tx.commit()?;
                }
                tracing::info!(code = error.code(), "command refused");
                Err(error)
            }
        }
    }

    // ---------------------------------------------------------------- resolving input

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

    fn minor_units(&self, id: ConferenceId) -> Result<u32> {
        let view = self.conference_view(id)?;
        Ok(Currency::parse(&view.currency).map_or(2, |c| c.minor_units()))
    }

    fn conference_view(&self, id: ConferenceId) -> Result<p::ConferenceView> {
        queries::conference(self.store.reader(), id.as_uuid())?.ok_or_else(|| {
            AppError::not_found("unknown_conference", "The conference does not exist")
        })
    }

    fn seat_type_id(&self, conference: &p::ConferenceView, name: &str) -> Result<SeatTypeId> {
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
    fn resolve_seats(
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

    fn parse_codes(codes: &[String]) -> Result<Vec<PromoCode>> {
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

    fn new_order(
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

    fn payment_details(input: &PaymentInput) -> Result<PaymentDetails> {
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

    // ---------------------------------------------------------------- use cases

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

    fn seen(&self, ctx: &Ctx) -> Result<bool> {
        Ok(self.store.command_seen(ctx.command_id)?)
    }

    fn conference_outcome(&self, outcome: Outcome) -> Result<p::ConferenceView> {
        match outcome {
            Outcome::Conference { conference_id } => self.conference_view(conference_id),
            other => Err(AppError::Store(format!("unexpected outcome {other:?}"))),
        }
    }

    fn order_outcome(&self, outcome: Outcome) -> Result<p::OrderView> {
        match outcome {
            Outcome::Order { order_id } => self.order(order_id),
            other => Err(AppError::Store(format!("unexpected outcome {other:?}"))),
        }
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

    // ---------------------------------------------------------------- queries

    pub fn conferences(&self) -> Result<Vec<p::ConferenceView>> {
        Ok(queries::conferences(self.store.reader())?)
    }

    pub fn conference(&self, slug: &str) -> Result<p::ConferenceView> {
        self.conference_view(self.conference_id(slug)?)
    }

    /// Remaining seats per seat type: what every selling screen shows.
    pub fn seats(&self, slug: &str) -> Result<p::SeatsView> {
        let id = self.conference_id(slug)?;
        let device = self
            .store
            .device()?
            .filter(|d| !d.owns_pool)
            .map(|d| d.device_id.as_uuid());
        let mut view =
            queries::seats(self.store.reader(), id.as_uuid(), device)?.ok_or_else(|| {
                AppError::not_found("unknown_conference", "The conference does not exist")
            })?;
        if device.is_some() {
            // A device that sells from an allotment has one, even if it is still empty.
            for row in &mut view.seat_types {
                row.allotment_remaining.get_or_insert(0);
            }
        }
        Ok(view)
    }

    pub fn order(&self, id: OrderId) -> Result<p::OrderView> {
        queries::order(self.store.reader(), id.as_uuid())?.ok_or_else(|| {
            AppError::not_found(
                "unknown_order",
                format!("No order has the id {id}; `orders` lists them"),
            )
        })
    }

    pub fn order_by_text(&self, id: &str) -> Result<p::OrderView> {
        self.order(self.order_id(id)?)
    }

    pub fn find_order(&self, email: &str, access_code: &str) -> Result<p::OrderView> {
        let id = queries::find_order(self.store.reader(), email, access_code)?.ok_or_else(|| {
            AppError::not_found(
                "order_not_found",
                "No order has that email and access code; check both (access codes are 6 characters, like K7M2PX)",
            )
        })?;
        self.order(OrderId::from_uuid(id))
    }

    pub fn orders(&self, slug: Option<&str>) -> Result<Vec<p::OrderSummary>> {
        let conference = slug.map(|s| self.conference_id(s)).transpose()?;
        Ok(queries::orders(
            self.store.reader(),
            conference.map(|c| c.as_uuid()),
        )?)
    }

    /// Every order of a conference as CSV, one row per order line.
    pub fn export_orders_csv(&self, slug: &str) -> Result<String> {
        self.export_orders_csv_with(slug, &mut |_, _| {})
    }

    /// [`App::export_orders_csv`], telling `progress` (orders read, orders in all) as it goes.
    pub fn export_orders_csv_with(
        &self,
        slug: &str,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<String> {
        let id = self.conference_id(slug)?;
        let orders = queries::orders_full_with(self.store.reader(), id.as_uuid(), progress)?;
        Ok(export::orders_csv(&orders))
    }

    /// Rebuilds every read model from the log.
    pub fn rebuild(&mut self, progress: impl FnMut(u64, u64)) -> Result<u64> {
        Ok(self.store.rebuild_read_models(progress)?)
    }

    /// Rebuilds one read model by name (`conferences`, `seats`, `promos`, `orders`).
    pub fn rebuild_one(&mut self, name: &str, progress: impl FnMut(u64, u64)) -> Result<u64> {
        let model = conference_store::ReadModel::parse(name).ok_or_else(|| {
            AppError::invalid(
                "unknown_read_model",
                format!(
                    "There is no read model `{name}`; rebuild one of {}, or all with no name",
                    conference_store::ReadModel::ALL
                        .iter()
                        .map(|m| format!("`{}`", m.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        Ok(self.store.rebuild_read_model(model, progress)?)
    }
}
