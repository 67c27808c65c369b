//! The UI's state and formatting, with no browser in sight: the door's cart reducer, money
//! arithmetic on the protocol's decimal strings, and how errors read to a person. Tested
//! natively; the components only render it.
use conference_desktop_ipc::protocol::ErrorBody;
use conference_desktop_ipc::{PaymentForm, RegistrantForm, SaleForm, SeatPick};
use rust_decimal::Decimal;
use std::str::FromStr;

// ------------------------------------------------------------------ money

/// `"120.5"` + `"EUR"` → `"EUR 120.50"`, keeping the minor unit the server sent.
#[must_use]
pub fn format_money(amount: &str, currency: &str) -> String {
    let amount = amount.trim();
    match Decimal::from_str(amount) {
        Ok(value) if value.is_sign_negative() && !value.is_zero() => {
            format!("− {currency} {}", amount.trim_start_matches('-'))
        }
        Ok(_) => format!("{currency} {amount}"),
        Err(_) => format!("{currency} {amount}"),
    }
}

/// Money typed by a person (`"250"`, `"250,50"`, `" 99.9 "`).
pub fn parse_amount(text: &str) -> Result<Decimal, String> {
    let cleaned = text.trim().replace(',', ".");
    match Decimal::from_str(&cleaned) {
        Ok(value) if value.is_sign_negative() => Err(format!(
            "{} is negative; enter the cash handed over, like 50",
            text.trim()
        )),
        Ok(value) => Ok(value),
        Err(_) => Err(format!(
            "`{}` is not an amount; enter it like 50 or 49.50",
            text.trim()
        )),
    }
}

/// The change to give for `tendered` cash on `total`, with as many decimals as the total.
/// Empty `tendered` means exactly the total.
pub fn change_due(total: &str, tendered: &str) -> Result<String, String> {
    let total_value = Decimal::from_str(total.trim())
        .map_err(|_| format!("The total {total} could not be read"))?;
    if tendered.trim().is_empty() {
        return Ok(zero_like(total));
    }
    let given = parse_amount(tendered)?;
    if given < total_value {
        return Err(format!(
            "Cash tendered is {} short of the total; ask for at least {}",
            with_scale(total_value - given, total),
            total.trim()
        ));
    }
    Ok(with_scale(given - total_value, total))
}

fn scale_of(reference: &str) -> u32 {
    reference
        .trim()
        .split_once('.')
        .map_or(0, |(_, d)| u32::try_from(d.len()).unwrap_or(2))
}

fn with_scale(value: Decimal, reference: &str) -> String {
    let mut value = value.round_dp(scale_of(reference));
    value.rescale(scale_of(reference));
    value.to_string()
}

fn zero_like(reference: &str) -> String {
    with_scale(Decimal::ZERO, reference)
}

// ------------------------------------------------------------------ errors

/// How an error reads to a person at the desktop. The application layer's messages are
/// shared with the CLI; the few that name command-line flags are said the desktop's way.
#[must_use]
pub fn friendly(error: &ErrorBody) -> String {
    let replacement = match error.code.as_str() {
        "missing_start" => "Pick the day the conference starts",
        "missing_end" => "Pick the day the conference ends",
        "end_before_start" => "The conference ends before it starts; check the start and end days",
        "no_seats" => "Pick at least one seat with the + buttons",
        "discount_kind" => "Choose percent or amount and enter its value",
        "sold_out" => "None of the requested seats are left; pick another seat type",
        "allotment_exhausted" => {
            "This device's allotment has none of these seats left; request more in Settings"
        }
        "conference_not_published" => {
            "This conference is not published, so it cannot sell seats; publish it in Setup"
        }
        "payment_required" => "This order costs money; choose cash or card",
        "order_is_free" => "This order costs nothing, so it takes no payment",
        "server_unreachable" => {
            "The sync server did not answer; sales go on offline and sync tries again later"
        }
        _ => return error.message.clone(),
    };
    replacement.to_string()
}

/// The form field an error belongs to, so it shows next to that field (`None`: show it
/// above the form).
#[must_use]
pub fn field_of(error: &ErrorBody) -> Option<&'static str> {
    let message = error.message.to_lowercase();
    let field = match error.code.as_str() {
        "slug" | "slug_taken" => "slug",
        "missing_start" | "invalid_start" => "start",
        "missing_end" | "invalid_end" | "end_before_start" => "end",
        "email" => "email",
        "invalid_currency" => "currency",
        "seat_type_name_length" | "seat_type_name_taken" => "name",
        "seat_type_description_too_long" => "description",
        "price_out_of_range" | "invalid_amount" => "price",
        "quantity_out_of_range" | "invalid_quantity" | "quantity_below_taken" => "quantity",
        "promo_code" | "promo_code_already_exists" => "code",
        "percent_out_of_range" | "amount_not_positive" | "invalid_percent" | "discount_kind" => {
            "value"
        }
        "max_uses_zero" | "invalid_max_uses" => "max_uses",
        "unknown_promo_code"
        | "promo_code_not_applicable"
        | "promo_code_not_combinable"
        | "promo_code_exhausted" => "promo",
        "empty" | "too_long" | "required" => {
            return [
                ("conference name", "name"),
                ("owner name", "owner_name"),
                ("first name", "first_name"),
                ("last name", "last_name"),
                ("device name", "device_name"),
                ("seat type name", "name"),
            ]
            .iter()
            .find(|(label, _)| message.starts_with(label))
            .map(|(_, field)| *field);
        }
        _ => return None,
    };
    Some(field)
}

// ------------------------------------------------------------------ the door's cart

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Method {
    #[default]
    Cash,
    Card,
}

impl Method {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cash => "cash",
            Self::Card => "card",
        }
    }
}

/// What the door has picked for the sale being made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cart {
    /// Seat type name → quantity, in the order the cards show.
    pub quantities: Vec<(String, u32)>,
    /// The promo code as being typed.
    pub promo_text: String,
    /// The codes applied to the quote (after Apply or Enter).
    pub promo_codes: Vec<String>,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub method: Method,
    pub tendered: String,
    pub reference: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CartField {
    FirstName,
    LastName,
    Email,
    Tendered,
    Reference,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CartAction {
    /// Seat types offered now (keeps the quantities of names that stay).
    Offer(Vec<String>),
    Increment(String),
    Decrement(String),
    SetQuantity(String, u32),
    TypePromo(String),
    ApplyPromo,
    RemovePromo(String),
    Set(CartField, String),
    Method(Method),
    /// After a sale: a fresh cart with the same seat types.
    Clear,
}

impl Cart {
    #[must_use]
    pub fn reduce(mut self, action: CartAction) -> Self {
        match action {
            CartAction::Offer(names) => {
                let old = std::mem::take(&mut self.quantities);
                self.quantities = names
                    .into_iter()
                    .map(|n| {
                        let q = old.iter().find(|(o, _)| *o == n).map_or(0, |(_, q)| *q);
                        (n, q)
                    })
                    .collect();
            }
            CartAction::Increment(name) => {
                if let Some((_, q)) = self.quantities.iter_mut().find(|(n, _)| *n == name) {
                    *q = q.saturating_add(1);
                }
            }
            CartAction::Decrement(name) => {
                if let Some((_, q)) = self.quantities.iter_mut().find(|(n, _)| *n == name) {
                    *q = q.saturating_sub(1);
                }
            }
            CartAction::SetQuantity(name, quantity) => {
                if let Some((_, q)) = self.quantities.iter_mut().find(|(n, _)| *n == name) {
                    *q = quantity;
                }
            }
            CartAction::TypePromo(text) => self.promo_text = text,
            CartAction::ApplyPromo => {
                let code = self.promo_text.trim().to_uppercase();
                if !code.is_empty() && !self.promo_codes.contains(&code) {
                    self.promo_codes.push(code);
                }
                self.promo_text.clear();
            }
            CartAction::RemovePromo(code) => self.promo_codes.retain(|c| *c != code),
            CartAction::Set(field, value) => match field {
                CartField::FirstName => self.first_name = value,
                CartField::LastName => self.last_name = value,
                CartField::Email => self.email = value,
                CartField::Tendered => self.tendered = value,
                CartField::Reference => self.reference = value,
            },
            CartAction::Method(method) => self.method = method,
            CartAction::Clear => {
                let names = self.quantities.iter().map(|(n, _)| n.clone()).collect();
                self = Self::default().reduce(CartAction::Offer(names));
            }
        }
        self
    }

    #[must_use]
    pub fn quantity(&self, name: &str) -> u32 {
        self.quantities
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, q)| *q)
    }

    #[must_use]
    pub fn picks(&self) -> Vec<SeatPick> {
        self.quantities
            .iter()
            .filter(|(_, q)| *q > 0)
            .map(|(name, quantity)| SeatPick {
                name: name.clone(),
                quantity: *quantity,
            })
            .collect()
    }

    #[must_use]
    pub fn seat_count(&self) -> u32 {
        self.quantities.iter().map(|(_, q)| q).sum()
    }

    /// The sale to send; `free` orders take no payment.
    #[must_use]
    pub fn sale(&self, slug: &str, free: bool) -> SaleForm {
        let registrant = [&self.first_name, &self.last_name, &self.email]
            .iter()
            .any(|f| !f.trim().is_empty())
            .then(|| RegistrantForm {
                first_name: self.first_name.trim().to_string(),
                last_name: self.last_name.trim().to_string(),
                email: self.email.trim().to_string(),
            });
        let payment = (!free).then(|| PaymentForm {
            method: self.method.as_str().to_string(),
            tendered: match self.method {
                Method::Cash => self.tendered.trim().replace(',', "."),
                Method::Card => String::new(),
            },
            reference: match self.method {
                Method::Card => self.reference.trim().to_string(),
                Method::Cash => String::new(),
            },
        });
        SaleForm {
            slug: slug.to_string(),
            seats: self.picks(),
            promo_codes: self.promo_codes.clone(),
            registrant,
            payment,
        }
    }
}

/// "3 of 5 Student" lines for seats the sale could not get.
#[must_use]
pub fn shortage_text(seat_type: &str, requested: u32, available: u32) -> String {
    match available {
        0 => format!("No {seat_type} seats are left; none of the {requested} can be sold"),
        n => format!("Only {n} of the {requested} {seat_type} seats are left; the sale takes {n}"),
    }
}

/// A timestamp as people read it: `2026-11-27T10:00:00.123Z` → `2026-11-27 10:00`.
#[must_use]
pub fn short_time(rfc3339: &str) -> String {
    let text = rfc3339.replace('T', " ");
    text.get(..16).map_or(text.clone(), str::to_string)
}

/// The QR code of an access code, as an SVG document.
#[must_use]
pub fn qr_svg(text: &str) -> Option<String> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<svg::Color>()
            .min_dimensions(160, 160)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: &str, message: &str) -> ErrorBody {
        ErrorBody {
            code: code.into(),
            message: message.into(),
        }
    }

    #[test]
    fn money_reads_with_its_currency() {
        assert_eq!(format_money("120.00", "EUR"), "EUR 120.00");
        assert_eq!(format_money("-18.00", "EUR"), "− EUR 18.00");
        assert_eq!(format_money("0.00", "USD"), "USD 0.00");
    }

    #[test]
    fn change_keeps_the_totals_decimals() {
        assert_eq!(change_due("204.00", "250").unwrap(), "46.00");
        assert_eq!(change_due("204.00", "").unwrap(), "0.00");
        assert_eq!(change_due("99.95", "100,5").unwrap(), "0.55");
        assert_eq!(change_due("120", "120").unwrap(), "0");
        let short = change_due("204.00", "200").unwrap_err();
        assert!(short.contains("4.00 short"), "{short}");
        assert!(
            change_due("204.00", "lots")
                .unwrap_err()
                .contains("not an amount")
        );
        assert!(change_due("10.00", "-5").unwrap_err().contains("negative"));
    }

    #[test]
    fn cli_flavoured_messages_are_said_the_desktop_way() {
        let e = err(
            "missing_start",
            "Say when the conference starts with --start",
        );
        assert_eq!(friendly(&e), "Pick the day the conference starts");
        let e = err(
            "seat_type_name_taken",
            "A seat type named `Full` already exists",
        );
        assert_eq!(friendly(&e), "A seat type named `Full` already exists");
    }

    #[test]
    fn errors_find_their_field() {
        assert_eq!(
            field_of(&err("slug", "`a b` is not a valid slug")),
            Some("slug")
        );
        assert_eq!(
            field_of(&err("empty", "Conference name must not be empty")),
            Some("name")
        );
        assert_eq!(
            field_of(&err("empty", "Owner name must not be empty")),
            Some("owner_name")
        );
        assert_eq!(field_of(&err("invalid_quantity", "x")), Some("quantity"));
        assert_eq!(field_of(&err("promo_code_exhausted", "x")), Some("promo"));
        assert_eq!(field_of(&err("store_error", "disk full")), None);
    }

    fn cart() -> Cart {
        Cart::default().reduce(CartAction::Offer(vec!["Full".into(), "Student".into()]))
    }

    #[test]
    fn quantities_go_up_and_down_but_not_below_zero() {
        let c = cart()
            .reduce(CartAction::Increment("Full".into()))
            .reduce(CartAction::Increment("Full".into()))
            .reduce(CartAction::Decrement("Student".into()));
        assert_eq!(c.quantity("Full"), 2);
        assert_eq!(c.quantity("Student"), 0);
        assert_eq!(c.seat_count(), 2);
        let c = c.reduce(CartAction::SetQuantity("Student".into(), 3));
        assert_eq!(c.picks().len(), 2);
        let c = c.reduce(CartAction::Offer(vec!["Student".into(), "Speaker".into()]));
        assert_eq!(
            c.quantities,
            vec![("Student".into(), 3), ("Speaker".into(), 0)]
        );
    }

    #[test]
    fn promo_codes_apply_once_in_capitals() {
        let c = cart()
            .reduce(CartAction::TypePromo(" early ".into()))
            .reduce(CartAction::ApplyPromo)
            .reduce(CartAction::TypePromo("EARLY".into()))
            .reduce(CartAction::ApplyPromo);
        assert_eq!(c.promo_codes, vec!["EARLY".to_string()]);
        assert!(c.promo_text.is_empty());
        let c = c.reduce(CartAction::RemovePromo("EARLY".into()));
        assert!(c.promo_codes.is_empty());
    }

    #[test]
    fn a_sale_carries_payment_only_when_it_costs_money() {
        let c = cart()
            .reduce(CartAction::Increment("Full".into()))
            .reduce(CartAction::Set(CartField::Tendered, "150,00".into()))
            .reduce(CartAction::Set(
                CartField::Reference,
                "ignored for cash".into(),
            ));
        let sale = c.sale("devconf", false);
        assert_eq!(sale.registrant, None);
        let payment = sale.payment.unwrap();
        assert_eq!(payment.method, "cash");
        assert_eq!(payment.tendered, "150.00");
        assert_eq!(payment.reference, "");
        let free = c
            .clone()
            .reduce(CartAction::Set(CartField::Email, "ada@example.com".into()))
            .sale("devconf", true);
        assert_eq!(free.payment, None);
        assert_eq!(free.registrant.unwrap().email, "ada@example.com");
        let card = c
            .reduce(CartAction::Method(Method::Card))
            .reduce(CartAction::Set(CartField::Reference, " T-1 ".into()))
            .sale("devconf", false)
            .payment
            .unwrap();
        assert_eq!(
            (
                card.method.as_str(),
                card.reference.as_str(),
                card.tendered.as_str()
            ),
            ("card", "T-1", "")
        );
    }

    #[test]
    fn clearing_keeps_the_seat_types() {
        let c = cart()
            .reduce(CartAction::Increment("Full".into()))
            .reduce(CartAction::Set(CartField::FirstName, "Ada".into()))
            .reduce(CartAction::Clear);
        assert_eq!(c, cart());
    }

    #[test]
    fn shortages_say_what_the_sale_takes() {
        assert_eq!(
            shortage_text("Student", 3, 2),
            "Only 2 of the 3 Student seats are left; the sale takes 2"
        );
        assert!(shortage_text("Student", 3, 0).starts_with("No Student seats"));
    }

    #[test]
    fn times_and_qr_codes() {
        assert_eq!(short_time("2026-11-27T10:00:00.123Z"), "2026-11-27 10:00");
        let svg = qr_svg("K7M2PX").unwrap();
        assert!(svg.contains("<svg"));
    }
}
