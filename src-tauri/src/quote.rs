//! The price of what the door has picked, before it sells: the same domain code that prices
//! the order ([`pricing::price`]) and checks promo codes ([`Promotions::validate`]), fed
//! from the read models. It writes nothing; the sale itself decides for good.
//!
//! It only converts views into the domain's inputs: every rule stays in the domain.
use conference_app::AppError;
use conference_app::conference_domain::discounts::{
    self, DiscountKind, PromoCodeDefinition, PromoState, Promotions, Scope,
};
use conference_app::conference_domain::pricing::{self, LineKind, PriceList, PricedSeatType};
use conference_app::conference_domain::values::{PromoCode, SeatQuantity};
use conference_app::conference_domain::{Currency, Money, SeatTypeId};
use conference_app::conference_protocol::{ConferenceView, OrderLineView, SeatsView};
use conference_desktop_ipc::{QuoteView, SeatPick, Shortage};
use rust_decimal::Decimal;
use std::collections::BTreeSet;
use std::str::FromStr;

/// Redemptions still free per code (`None`: unlimited).
type UsesLeft = Vec<(PromoCode, Option<u32>)>;

fn broken_view(what: &str) -> AppError {
    AppError::Store(format!("The stored {what} could not be read"))
}

fn price_list(conference: &ConferenceView, minor_units: u32) -> Result<PriceList, AppError> {
    let seat_types = conference
        .seat_types
        .iter()
        .map(|s| {
            Ok(PricedSeatType {
                id: SeatTypeId::from_uuid(s.id),
                name: s.name.clone(),
                price: Money::parse(&s.price).map_err(|_| broken_view("seat price"))?,
            })
        })
        .collect::<Result<_, AppError>>()?;
    Ok(PriceList {
        minor_units,
        seat_types,
    })
}

fn promotions(conference: &ConferenceView) -> Result<(Promotions, UsesLeft), AppError> {
    let mut promotions = Promotions::default();
    let mut uses_left = Vec::new();
    for view in &conference.promo_codes {
        let code = PromoCode::parse(&view.code).map_err(|_| broken_view("promo code"))?;
        let discount = match view.kind.as_str() {
            "percent" => DiscountKind::Percent(
                Decimal::from_str(&view.value).map_err(|_| broken_view("promo code"))?,
            ),
            _ => DiscountKind::Amount(
                Money::parse(&view.value).map_err(|_| broken_view("promo code"))?,
            ),
        };
        let scope = if view.scope.is_empty() {
            Scope::All
        } else {
            Scope::SeatTypes(
                view.scope
                    .iter()
                    .filter_map(|name| conference.seat_types.iter().find(|s| &s.name == name))
                    .map(|s| SeatTypeId::from_uuid(s.id))
                    .collect(),
            )
        };
        uses_left.push((
            code.clone(),
            view.max_uses
                .map(|max| max.saturating_sub(view.redeemed).saturating_sub(view.held)),
        ));
        promotions.codes.insert(
            code.clone(),
            PromoState {
                definition: PromoCodeDefinition {
                    code,
                    discount,
                    scope,
                    max_uses: view.max_uses,
                    exclusive: view.exclusive,
                },
                held: BTreeSet::new(),
                redeemed: view.redeemed,
            },
        );
    }
    Ok((promotions, uses_left))
}

/// Prices `picks` with `codes` as the sale would, from what this device can sell now.
pub fn quote(
    conference: &ConferenceView,
    seats: &SeatsView,
    picks: &[SeatPick],
    codes: &[String],
) -> Result<QuoteView, AppError> {
    let minor_units = Currency::parse(&conference.currency).map_or(2, |c| c.minor_units());
    let list = price_list(conference, minor_units)?;
    let mut requested = Vec::new();
    let mut reservable = Vec::new();
    let mut shortages = Vec::new();
    for pick in picks.iter().filter(|p| p.quantity > 0) {
        let Some(seat_type) = conference
            .seat_types
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(pick.name.trim()))
        else {
            return Err(AppError::invalid(
                "unknown_seat_type",
                format!(
                    "Conference `{}` has no seat type `{}`",
                    conference.slug, pick.name
                ),
            ));
        };
        let id = SeatTypeId::from_uuid(seat_type.id);
        let available = seats
            .seat_types
            .iter()
            .find(|s| s.seat_type_id == seat_type.id)
            .map_or(0, |s| s.allotment_remaining.unwrap_or(s.remaining).max(0));
        let available = u32::try_from(available).unwrap_or(u32::MAX);
        if available < pick.quantity {
            shortages.push(Shortage {
                seat_type: seat_type.name.clone(),
                requested: pick.quantity,
                available,
            });
        }
        requested.push(id);
        reservable.push(SeatQuantity::new(id, pick.quantity.min(available)));
    }
    let codes: Vec<PromoCode> = codes
        .iter()
        .filter(|c| !c.trim().is_empty())
        .map(|c| PromoCode::parse(c).map_err(AppError::from))
        .collect::<Result<_, _>>()?;
    let (promotions, uses_left) = promotions(conference)?;
    let checked = promotions
        .validate(&codes, &requested)
        .map_err(AppError::domain)
        .and_then(|definitions| {
            for definition in &definitions {
                let exhausted = uses_left
                    .iter()
                    .any(|(code, left)| *code == definition.code && *left == Some(0));
                if exhausted {
                    return Err(AppError::domain(discounts::Error::PromoCodeExhausted(
                        definition.code.clone(),
                    )));
                }
            }
            Ok(definitions)
        });
    let (definitions, promo_error) = match checked {
        Ok(definitions) => (definitions, None),
        Err(error) => (Vec::new(), Some(error.body())),
    };
    let totals =
        pricing::price(&list, &reservable, &definitions).map_err(|_| broken_view("seat price"))?;
    Ok(QuoteView {
        lines: totals
            .lines
            .iter()
            .map(|l| OrderLineView {
                kind: match l.kind {
                    LineKind::Seat => "seat",
                    LineKind::Discount => "discount",
                }
                .into(),
                description: l.description.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price.to_string(),
                total: l.total.to_string(),
            })
            .collect(),
        total: totals.total.to_string(),
        currency: conference.currency.clone(),
        is_free_of_charge: totals.is_free_of_charge,
        promo_error,
        shortages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use conference_app::conference_protocol::{PromoCodeView, SeatAvailabilityView, SeatTypeView};

    fn id(n: u8) -> uuid::Uuid {
        let mut bytes = [0u8; 16];
        bytes[15] = n;
        uuid::Uuid::from_bytes(bytes)
    }

    fn seat_type(n: u8, name: &str, price: &str, quantity: u32) -> SeatTypeView {
        SeatTypeView {
            id: id(n),
            name: name.into(),
            description: String::new(),
            price: price.into(),
            quantity,
        }
    }

    fn promo(code: &str, kind: &str, value: &str, scope: &[&str]) -> PromoCodeView {
        PromoCodeView {
            code: code.into(),
            kind: kind.into(),
            value: value.into(),
            scope: scope.iter().map(|s| (*s).to_string()).collect(),
            max_uses: None,
            redeemed: 0,
            held: 0,
            exclusive: false,
        }
    }

    fn conference() -> ConferenceView {
        ConferenceView {
            id: id(1),
            slug: "devconf".into(),
            name: "DevConf".into(),
            description: String::new(),
            location: String::new(),
            start: String::new(),
            end: String::new(),
            owner_name: String::new(),
            owner_email: String::new(),
            currency: "EUR".into(),
            publication: "published".into(),
            published: true,
            seat_types: vec![
                seat_type(2, "Full", "120.00", 50),
                seat_type(3, "Student", "40.00", 2),
                seat_type(4, "Speaker", "0.00", 5),
            ],
            promo_codes: vec![
                promo("EARLY", "percent", "15", &[]),
                promo("STUDENT10", "amount", "10.00", &["Student"]),
            ],
        }
    }

    fn seats(conference: &ConferenceView, remaining: &[i64]) -> SeatsView {
        SeatsView {
            conference: conference.slug.clone(),
            currency: conference.currency.clone(),
            seat_types: conference
                .seat_types
                .iter()
                .zip(remaining)
                .map(|(s, r)| SeatAvailabilityView {
                    seat_type_id: s.id,
                    name: s.name.clone(),
                    price: s.price.clone(),
                    quantity: s.quantity,
                    reserved: 0,
                    sold: 0,
                    remaining: *r,
                    allotment_remaining: None,
                    overridden: 0,
                })
                .collect(),
        }
    }

    fn pick(name: &str, quantity: u32) -> SeatPick {
        SeatPick {
            name: name.into(),
            quantity,
        }
    }

    #[test]
    fn a_percent_code_adds_one_discount_line() {
        let c = conference();
        let q = quote(
            &c,
            &seats(&c, &[50, 2, 5]),
            &[pick("Full", 2)],
            &["early".into()],
        )
        .unwrap();
        assert_eq!(q.total, "204.00");
        assert_eq!(q.lines.len(), 2);
        assert_eq!(q.lines[1].kind, "discount");
        assert_eq!(q.lines[1].total, "-36.00");
        assert!(q.promo_error.is_none());
        assert!(q.shortages.is_empty());
    }

    #[test]
    fn a_code_that_fits_no_seat_is_refused_and_the_total_stays() {
        let c = conference();
        let q = quote(
            &c,
            &seats(&c, &[50, 2, 5]),
            &[pick("Full", 1)],
            &["STUDENT10".into()],
        )
        .unwrap();
        assert_eq!(q.total, "120.00");
        let error = q.promo_error.unwrap();
        assert_eq!(error.code, "promo_code_not_applicable");
        let q = quote(
            &c,
            &seats(&c, &[50, 2, 5]),
            &[pick("Full", 1)],
            &["NOPE".into()],
        )
        .unwrap();
        assert_eq!(q.promo_error.unwrap().code, "unknown_promo_code");
    }

    #[test]
    fn an_exhausted_code_is_refused() {
        let mut c = conference();
        c.promo_codes[0].max_uses = Some(2);
        c.promo_codes[0].redeemed = 1;
        c.promo_codes[0].held = 1;
        let q = quote(
            &c,
            &seats(&c, &[50, 2, 5]),
            &[pick("Full", 1)],
            &["EARLY".into()],
        )
        .unwrap();
        assert_eq!(q.promo_error.unwrap().code, "promo_code_exhausted");
        assert_eq!(q.total, "120.00");
    }

    #[test]
    fn short_supply_prices_what_can_be_reserved_and_says_so() {
        let c = conference();
        let q = quote(&c, &seats(&c, &[50, 2, 5]), &[pick("Student", 3)], &[]).unwrap();
        assert_eq!(q.total, "80.00");
        assert_eq!(
            q.shortages,
            vec![Shortage {
                seat_type: "Student".into(),
                requested: 3,
                available: 2
            }]
        );
    }

    #[test]
    fn free_seats_make_a_free_order() {
        let c = conference();
        let q = quote(&c, &seats(&c, &[50, 2, 5]), &[pick("Speaker", 1)], &[]).unwrap();
        assert!(q.is_free_of_charge);
        assert_eq!(q.total, "0.00");
    }

    #[test]
    fn an_unknown_seat_type_names_the_conference() {
        let c = conference();
        let error = quote(&c, &seats(&c, &[50, 2, 5]), &[pick("VIP", 1)], &[]).unwrap_err();
        assert_eq!(error.code(), "unknown_seat_type");
    }
}
