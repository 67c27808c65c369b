//! Conference management: a conference, its seat types and whether it is published.
//! Registration is only possible for a published conference.
use crate::Timestamp;
use crate::aggregate::Aggregate;
use crate::error_code::ErrorCode;
use crate::events;
use crate::ids::{ConferenceId, SeatTypeId};
use crate::money::{Currency, Money};
use crate::stream::StreamKind;
use crate::values::{Email, Slug, field_of_label};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub const MAX_SEAT_PRICE: u32 = 50_000;
pub const MAX_SEAT_QUANTITY: u32 = 100_000;

/// What an organizer says about a conference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConferenceDetails {
    pub slug: Slug,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub location: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub owner_name: String,
    pub owner_email: Email,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatType {
    pub id: SeatTypeId,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub price: Money,
    pub quantity: u32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Publication {
    #[default]
    Draft,
    Published,
    Unpublished,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConferenceData {
    pub id: ConferenceId,
    pub details: ConferenceDetails,
    pub currency: Currency,
    pub publication: Publication,
    pub seat_types: Vec<SeatType>,
}

impl ConferenceData {
    /// What pricing needs: the currency's minor units and each seat type's price.
    #[must_use]
    pub fn price_list(&self) -> crate::pricing::PriceList {
        crate::pricing::PriceList {
            minor_units: self.currency.minor_units(),
            seat_types: self
                .seat_types
                .iter()
                .map(|s| crate::pricing::PricedSeatType {
                    id: s.id,
                    name: s.name.clone(),
                    price: s.price,
                })
                .collect(),
        }
    }

    #[must_use]
    pub fn is_published(&self) -> bool {
        self.publication == Publication::Published
    }

    /// Whether the conference sells seats: only once it is published.
    pub fn check_on_sale(&self) -> Result<(), Error> {
        if self.is_published() {
            Ok(())
        } else {
            Err(Error::NotOnSale(self.details.slug.to_string()))
        }
    }
    #[must_use]
    pub fn seat_type(&self, id: SeatTypeId) -> Option<&SeatType> {
        self.seat_types.iter().find(|s| s.id == id)
    }
    #[must_use]
    pub fn seat_type_named(&self, name: &str) -> Option<&SeatType> {
        let name = name.trim();
        self.seat_types
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Conference {
    #[default]
    NotCreated,
    Created(ConferenceData),
}

impl Conference {
    #[must_use]
    pub fn data(&self) -> Option<&ConferenceData> {
        match self {
            Self::NotCreated => None,
            Self::Created(data) => Some(data),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Create {
        id: ConferenceId,
        details: ConferenceDetails,
        currency: Currency,
    },
    Update {
        details: ConferenceDetails,
    },
    AddSeatType {
        seat_type: SeatTypeId,
        name: String,
        description: String,
        price: Money,
        quantity: u32,
    },
    UpdateSeatType {
        seat_type: SeatTypeId,
        name: Option<String>,
        description: Option<String>,
        price: Option<Money>,
        quantity: Option<u32>,
    },
    Publish,
    Unpublish,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConferenceCreated {
    pub id: ConferenceId,
    #[serde(flatten)]
    pub details: ConferenceDetails,
    pub currency: Currency,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConferenceUpdated {
    #[serde(flatten)]
    pub details: ConferenceDetails,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeatTypeCreated {
    #[serde(flatten)]
    pub seat_type: SeatType,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeatTypeUpdated {
    #[serde(flatten)]
    pub seat_type: SeatType,
    /// The quantity before this change, so the seat pool can add or remove the difference.
    pub previous_quantity: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConferencePublished {}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConferenceUnpublished {}

events! {
    pub enum Event {
        ConferenceCreated(ConferenceCreated) = "ConferenceCreated" v 1,
        ConferenceUpdated(ConferenceUpdated) = "ConferenceUpdated" v 1,
        SeatTypeCreated(SeatTypeCreated) = "SeatTypeCreated" v 1,
        SeatTypeUpdated(SeatTypeUpdated) = "SeatTypeUpdated" v 1,
        ConferencePublished(ConferencePublished) = "ConferencePublished" v 1,
        ConferenceUnpublished(ConferenceUnpublished) = "ConferenceUnpublished" v 1,
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("this conference already exists")]
    ConferenceAlreadyExists,
    #[error("the conference does not exist; create it first")]
    ConferenceNotFound,
    #[error("the conference ends before it starts; check its start and end")]
    EndBeforeStart,
    #[error("{field} must not be empty")]
    Required { field: &'static str },
    #[error("the seat type name must be 2 to 70 characters, not {0}")]
    SeatTypeNameLength(usize),
    #[error("the seat type description must be at most 250 characters")]
    SeatTypeDescriptionTooLong,
    #[error("a seat type named `{0}` already exists in this conference")]
    SeatTypeNameTaken(String),
    #[error("the conference has no such seat type")]
    SeatTypeNotFound,
    #[error("the price {0} is out of range; prices go from 0 to 50000")]
    PriceOutOfRange(Money),
    #[error("the quantity {0} is out of range; quantities go from 0 to 100000")]
    QuantityOutOfRange(u32),
    #[error("the conference is already published")]
    AlreadyPublished,
    #[error("the conference is not published")]
    NotPublished,
    #[error("conference `{0}` is not published, so it cannot sell seats; publish it first")]
    NotOnSale(String),
}

impl ErrorCode for Error {
    fn code(&self) -> &'static str {
        match self {
            Self::ConferenceAlreadyExists => "conference_already_exists",
            Self::ConferenceNotFound => "conference_not_found",
            Self::EndBeforeStart => "end_before_start",
            Self::Required { .. } => "required",
            Self::SeatTypeNameLength(_) => "seat_type_name_length",
            Self::SeatTypeDescriptionTooLong => "seat_type_description_too_long",
            Self::SeatTypeNameTaken(_) => "seat_type_name_taken",
            Self::SeatTypeNotFound => "seat_type_not_found",
            Self::PriceOutOfRange(_) => "price_out_of_range",
            Self::QuantityOutOfRange(_) => "quantity_out_of_range",
            Self::AlreadyPublished => "already_published",
            Self::NotPublished => "not_published",
            Self::NotOnSale(_) => "conference_not_published",
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Self::EndBeforeStart => Some("end"),
            Self::Required { field } => field_of_label(field),
            Self::SeatTypeNameLength(_) | Self::SeatTypeNameTaken(_) => Some("name"),
            Self::SeatTypeDescriptionTooLong => Some("description"),
            Self::SeatTypeNotFound => Some("seat_type"),
            Self::PriceOutOfRange(_) => Some("price"),
            Self::QuantityOutOfRange(_) => Some("quantity"),
            Self::ConferenceAlreadyExists
            | Self::ConferenceNotFound
            | Self::AlreadyPublished
            | Self::NotPublished
            | Self::NotOnSale(_) => None,
        }
    }
}

fn check_details(details: &ConferenceDetails) -> Result<(), Error> {
    if details.name.trim().is_empty() {
        return Err(Error::Required {
            field: "conference name",
        });
    }
    if details.owner_name.trim().is_empty() {
        return Err(Error::Required {
            field: "owner name",
        });
    }
    if details.end < details.start {
        return Err(Error::EndBeforeStart);
    }
    Ok(())
}

fn check_seat_type(
    name: &str,
    description: &str,
    price: Money,
    quantity: u32,
) -> Result<(), Error> {
    let len = name.trim().chars().count();
    if !(2..=70).contains(&len) {
        return Err(Error::SeatTypeNameLength(len));
    }
    if description.chars().count() > 250 {
        return Err(Error::SeatTypeDescriptionTooLong);
    }
    if price.is_negative() || price.amount() > Decimal::from(MAX_SEAT_PRICE) {
        return Err(Error::PriceOutOfRange(price));
    }
    if quantity > MAX_SEAT_QUANTITY {
        return Err(Error::QuantityOutOfRange(quantity));
    }
    Ok(())
}

impl Aggregate for Conference {
    const KIND: StreamKind = StreamKind::Conference;
    const SNAPSHOT_VERSION: u32 = 1;
    type Command = Command;
    type Event = Event;
    type Error = Error;

    fn handle(&self, command: &Command) -> Result<Vec<Event>, Error> {
        let data = match (self, command) {
            (
                Self::NotCreated,
                Command::Create {
                    id,
                    details,
                    currency,
                },
            ) => {
                check_details(details)?;
                return Ok(vec![
                    ConferenceCreated {
                        id: *id,
                        details: details.clone(),
                        currency: currency.clone(),
                    }
                    .into(),
                ]);
            }
            (Self::Created(_), Command::Create { .. }) => {
                return Err(Error::ConferenceAlreadyExists);
            }
            (Self::NotCreated, _) => return Err(Error::ConferenceNotFound),
            (Self::Created(data), _) => data,
        };
        match command {
            Command::Create { .. } => unreachable!("handled above"),
            Command::Update { details } => {
                check_details(details)?;
                Ok(vec![
                    ConferenceUpdated {
                        details: details.clone(),
                    }
                    .into(),
                ])
            }
            Command::AddSeatType {
                seat_type,
                name,
                description,
                price,
                quantity,
            } => {
                check_seat_type(name, description, *price, *quantity)?;
                if data.seat_type_named(name).is_some() {
                    return Err(Error::SeatTypeNameTaken(name.trim().to_string()));
                }
                Ok(vec![
                    SeatTypeCreated {
                        seat_type: SeatType {
                            id: *seat_type,
                            name: name.trim().to_string(),
                            description: description.trim().to_string(),
                            price: *price,
                            quantity: *quantity,
                        },
                    }
                    .into(),
                ])
            }
            Command::UpdateSeatType {
                seat_type,
                name,
                description,
                price,
                quantity,
            } => {
                let current = data.seat_type(*seat_type).ok_or(Error::SeatTypeNotFound)?;
                let updated = SeatType {
                    id: current.id,
                    name: name
                        .as_deref()
                        .map_or(current.name.clone(), |n| n.trim().to_string()),
                    description: description
                        .as_deref()
                        .map_or(current.description.clone(), |d| d.trim().to_string()),
                    price: price.unwrap_or(current.price),
                    quantity: quantity.unwrap_or(current.quantity),
                };
                check_seat_type(
                    &updated.name,
                    &updated.description,
                    updated.price,
                    updated.quantity,
                )?;
                if let Some(other) = data.seat_type_named(&updated.name)
                    && other.id != current.id
                {
                    return Err(Error::SeatTypeNameTaken(updated.name));
                }
                if &updated == current {
                    return Ok(vec![]);
                }
                Ok(vec![
                    SeatTypeUpdated {
                        previous_quantity: current.quantity,
                        seat_type: updated,
                    }
                    .into(),
                ])
            }
            Command::Publish => {
                if data.is_published() {
                    return Err(Error::AlreadyPublished);
                }
                Ok(vec![ConferencePublished {}.into()])
            }
            Command::Unpublish => {
                if !data.is_published() {
                    return Err(Error::NotPublished);
                }
                Ok(vec![ConferenceUnpublished {}.into()])
            }
        }
    }

    fn apply(&mut self, event: &Event) {
        match (self, event) {
            (this @ Self::NotCreated, Event::ConferenceCreated(e)) => {
                *this = Self::Created(ConferenceData {
                    id: e.id,
                    details: e.details.clone(),
                    currency: e.currency.clone(),
                    publication: Publication::Draft,
                    seat_types: vec![],
                });
            }
            (Self::NotCreated, _) | (Self::Created(_), Event::ConferenceCreated(_)) => {}
            (Self::Created(data), Event::ConferenceUpdated(e)) => data.details = e.details.clone(),
            (Self::Created(data), Event::SeatTypeCreated(e)) => {
                data.seat_types.push(e.seat_type.clone());
            }
            (Self::Created(data), Event::SeatTypeUpdated(e)) => {
                if let Some(s) = data.seat_types.iter_mut().find(|s| s.id == e.seat_type.id) {
                    *s = e.seat_type.clone();
                }
            }
            (Self::Created(data), Event::ConferencePublished(_)) => {
                data.publication = Publication::Published;
            }
            (Self::Created(data), Event::ConferenceUnpublished(_)) => {
                data.publication = Publication::Unpublished;
            }
        }
    }
}
