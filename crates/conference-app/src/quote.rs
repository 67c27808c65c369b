//! The price of what the door has picked, before it sells: the same aggregates and domain
//! code the sale uses — the conference's price list, the promo codes' rules
//! ([`Promotions::validate`]), the seats this device may sell from (the pool, or its own
//! allotment) and [`pricing::price`] — loaded from the store, not rebuilt from read models.
//!
//! It never writes: the unit of work it reads in is dropped, so nothing is committed, and
//! the sale itself decides for good.
use crate::{App, AppError, Result, new_command_id};
use conference_domain::conference::Conference;
use conference_domain::discounts::{self, Promotions};
use conference_domain::pricing::{self, LineKind};
use conference_domain::seats::SeatsAvailability;
use conference_domain::stream::StreamId;
use conference_domain::values::{PromoCode, SeatQuantity};
use conference_protocol::{OrderLineView, Quote, QuoteShortage};

impl App {
    /// Prices `picks` (seat type name, quantity) with `codes` as a sale by this device would
    /// be priced now. An unknown seat type or a malformed code is an error; a refused promo
    /// code is part of the answer.
    pub fn quote(
        &mut self,
        slug: &str,
        picks: &[(String, u32)],
        codes: &[String],
    ) -> Result<Quote> {
        let conference_id = self.conference_id(slug)?;
        let holder = self.holder()?;
        let owns_pool = self.device()?.owns_pool;
        let codes: Vec<PromoCode> = codes
            .iter()
            .filter(|c| !c.trim().is_empty())
            .map(|c| PromoCode::parse(c).map_err(AppError::from))
            .collect::<Result<_>>()?;
        // A unit of work only to read the aggregates; dropping it commits nothing.
        let tx = self.store.begin(new_command_id(), chrono::Utc::now())?;
        let conference: Conference = tx.load(StreamId::conference(conference_id))?.state;
        let seats: SeatsAvailability = tx.load(StreamId::seats(conference_id, holder))?.state;
        let promotions: Promotions = if codes.is_empty() {
            Promotions::default()
        } else {
            tx.load(StreamId::promos(conference_id))?.state
        };
        drop(tx);
        let data = conference.data().ok_or_else(|| {
            AppError::not_found("unknown_conference", "The conference does not exist")
        })?;

        let mut requested = Vec::new();
        let mut reservable = Vec::new();
        let mut shortages = Vec::new();
        for (name, quantity) in picks.iter().filter(|(_, q)| *q > 0) {
            let seat_type = data.seat_type_named(name.trim()).ok_or_else(|| {
                AppError::invalid(
                    "unknown_seat_type",
                    format!(
                        "Conference `{}` has no seat type `{}`",
                        data.details.slug,
                        name.trim()
                    ),
                )
                .with_field("seat_type")
            })?;
            let available = u32::try_from(seats.remaining(seat_type.id).max(0)).unwrap_or(u32::MAX);
            if available < *quantity {
                shortages.push(QuoteShortage {
                    seat_type: seat_type.name.clone(),
                    requested: *quantity,
                    available,
                });
            }
            requested.push(seat_type.id);
            reservable.push(SeatQuantity::new(seat_type.id, (*quantity).min(available)));
        }

        // The sale's own checks: a connected device only validates the codes (the server
        // counts limited codes); a store that owns its pool also holds a redemption, which
        // an exhausted code cannot give.
        let checked = promotions
            .validate(&codes, &requested)
            .map_err(AppError::domain)
            .and_then(|definitions| {
                if owns_pool
                    && let Some(used_up) = definitions.iter().find(|d| {
                        promotions
                            .codes
                            .get(&d.code)
                            .is_some_and(|s| s.uses_left() == Some(0))
                    })
                {
                    return Err(AppError::domain(discounts::Error::PromoCodeExhausted(
                        used_up.code.clone(),
                    )));
                }
                Ok(definitions)
            });
        let (definitions, promo_error) = match checked {
            Ok(definitions) => (definitions, None),
            Err(error) => (Vec::new(), Some(error.body())),
        };

        let list = data.price_list();
        let totals = pricing::price(&list, &reservable, &definitions)
            .map_err(|e| AppError::Store(e.to_string()))?;
        Ok(Quote {
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
            currency: data.currency.to_string(),
            is_free_of_charge: totals.is_free_of_charge,
            promo_error,
            shortages,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{App, Ctx, NewConference, NewPromoCode, PaymentInput, SaleInput};

    fn now() -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }

    /// A standalone box office with DevConf: Full 120.00 × 50, Student 40.00 × 2,
    /// Speaker free × 5; EARLY 15 % on everything, STUDENT10 10.00 off Student only.
    fn box_office(dir: &tempfile::TempDir) -> App {
        let mut app = App::open(dir.path().join("store.db")).unwrap();
        app.init("Door", now()).unwrap();
        let day = |d: u32| {
            chrono::NaiveDate::from_ymd_opt(2026, 12, d)
                .unwrap()
                .and_hms_opt(9, 0, 0)
                .unwrap()
                .and_utc()
        };
        app.create_conference(
            &Ctx::new(now()),
            NewConference {
                slug: "devconf".into(),
                name: "DevConf".into(),
                start: Some(day(1)),
                end: Some(day(2)),
                owner_name: "Ada Lovelace".into(),
                owner_email: "ada@example.com".into(),
                currency: Some("EUR".into()),
                ..NewConference::default()
            },
        )
        .unwrap();
        for (name, price, quantity) in [
            ("Full", "120", 50),
            ("Student", "40", 2),
            ("Speaker", "0", 5),
        ] {
            app.add_seat_type(&Ctx::new(now()), "devconf", name, "", price, quantity)
                .unwrap();
        }
        let codes = [
            NewPromoCode {
                code: "EARLY".into(),
                percent: Some("15".into()),
                ..NewPromoCode::default()
            },
            NewPromoCode {
                code: "STUDENT10".into(),
                amount: Some("10".into()),
                scope: vec!["Student".into()],
                ..NewPromoCode::default()
            },
            NewPromoCode {
                code: "ONCE".into(),
                percent: Some("50".into()),
                max_uses: Some(1),
                ..NewPromoCode::default()
            },
        ];
        for code in &codes {
            app.add_promo_code(&Ctx::new(now()), "devconf", code)
                .unwrap();
        }
        app.publish(&Ctx::new(now()), "devconf", true).unwrap();
        app
    }

    fn pick(name: &str, quantity: u32) -> (String, u32) {
        (name.into(), quantity)
    }

    #[test]
    fn a_percent_code_adds_one_discount_line_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = box_office(&dir);
        let pending = app.store().pending_count().unwrap();
        let q = app
            .quote("devconf", &[pick("Full", 2)], &["early".into()])
            .unwrap();
        assert_eq!(q.total, "204.00");
        assert_eq!(q.currency, "EUR");
        assert_eq!(q.lines.len(), 2);
        assert_eq!(q.lines[1].kind, "discount");
        assert_eq!(q.lines[1].total, "-36.00");
        assert!(q.promo_error.is_none());
        assert!(q.shortages.is_empty());
        assert_eq!(app.store().pending_count().unwrap(), pending);
        assert!(app.orders(None).unwrap().is_empty());
    }

    #[test]
    fn a_refused_code_says_why_and_the_total_stays() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = box_office(&dir);
        let q = app
            .quote("devconf", &[pick("Full", 1)], &["STUDENT10".into()])
            .unwrap();
        assert_eq!(q.total, "120.00");
        assert_eq!(q.promo_error.unwrap().code, "promo_code_not_applicable");
        let q = app
            .quote("devconf", &[pick("Full", 1)], &["NOPE".into()])
            .unwrap();
        assert_eq!(q.promo_error.unwrap().code, "unknown_promo_code");
    }

    #[test]
    fn a_used_up_code_is_refused_where_the_sale_would_refuse_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = box_office(&dir);
        assert!(
            app.quote("devconf", &[pick("Full", 1)], &["ONCE".into()])
                .unwrap()
                .promo_error
                .is_none()
        );
        app.sell(
            &Ctx::new(now()),
            &SaleInput {
                slug: "devconf".into(),
                seats: vec!["Full=1".into()],
                promo_codes: vec!["ONCE".into()],
                payment: Some(PaymentInput {
                    method: "card".into(),
                    reference: Some("T-1".into()),
                    ..PaymentInput::default()
                }),
                ..SaleInput::default()
            },
        )
        .unwrap();
        let q = app
            .quote("devconf", &[pick("Full", 1)], &["ONCE".into()])
            .unwrap();
        assert_eq!(q.promo_error.unwrap().code, "promo_code_exhausted");
        assert_eq!(q.total, "120.00");
    }

    #[test]
    fn short_supply_prices_what_can_be_reserved_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = box_office(&dir);
        let q = app.quote("devconf", &[pick("Student", 3)], &[]).unwrap();
        assert_eq!(q.total, "80.00");
        assert_eq!(
            q.shortages,
            vec![super::QuoteShortage {
                seat_type: "Student".into(),
                requested: 3,
                available: 2
            }]
        );
    }

    #[test]
    fn free_seats_make_a_free_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = box_office(&dir);
        let q = app.quote("devconf", &[pick("speaker", 1)], &[]).unwrap();
        assert!(q.is_free_of_charge);
        assert_eq!(q.total, "0.00");
    }

    #[test]
    fn unknown_names_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = box_office(&dir);
        let error = app.quote("devconf", &[pick("VIP", 1)], &[]).unwrap_err();
        assert_eq!(error.code(), "unknown_seat_type");
        let error = app.quote("nope", &[pick("Full", 1)], &[]).unwrap_err();
        assert_eq!(error.code(), "unknown_conference");
    }
}
