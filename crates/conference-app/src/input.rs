//! Parsing what people type, with messages that say what to type instead. Shared by the
//! CLI and the desktop app.
use crate::AppError;
use conference_domain::Money;
use conference_domain::payment::PaymentMethod;
use rust_decimal::Decimal;
use std::str::FromStr;

/// `"Full=2"` → `("Full", 2)`. A bare name means one seat.
pub fn parse_seat_spec(spec: &str) -> Result<(String, u32), AppError> {
    let (name, quantity) = match spec.rsplit_once('=') {
        Some((name, quantity)) => (name.trim(), quantity.trim()),
        None => (spec.trim(), "1"),
    };
    if name.is_empty() {
        return Err(AppError::invalid(
            "invalid_seat",
            format!("`{spec}` names no seat type; write it like \"Full=2\""),
        )
        .with_field("seats"));
    }
    let quantity: i64 = quantity.parse().map_err(|_| {
        AppError::invalid(
            "invalid_seat",
            format!(
                "`{quantity}` in `{spec}` is not a number of seats; write it like \"{name}=2\""
            ),
        )
        .with_field("seats")
    })?;
    if quantity < 0 {
        return Err(AppError::invalid(
            "negative_quantity",
            format!("{quantity} seats of {name} is a negative quantity; ask for 1 or more"),
        )
        .with_field("quantity"));
    }
    let quantity = u32::try_from(quantity).map_err(|_| {
        AppError::invalid(
            "invalid_seat",
            format!("{quantity} seats of {name} is more than can be sold"),
        )
        .with_field("quantity")
    })?;
    Ok((name.to_string(), quantity))
}

/// A seat type's price.
pub fn parse_price(text: &str) -> Result<Money, AppError> {
    parse_money(text, "price")
}

/// An amount of money typed into the input `field` (`price`, `amount`, `tendered`).
pub fn parse_money(text: &str, field: &str) -> Result<Money, AppError> {
    Money::parse(text).map_err(|e| AppError::input(e).with_field(field))
}

pub fn parse_percent(text: &str) -> Result<Decimal, AppError> {
    let trimmed = text.trim().trim_end_matches('%');
    Decimal::from_str(trimmed).map_err(|_| {
        AppError::invalid(
            "invalid_percent",
            format!("`{text}` is not a percentage; write it like 10 or 12.5"),
        )
        .with_field("percent")
    })
}

pub fn parse_method(text: &str) -> Result<PaymentMethod, AppError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "cash" => Ok(PaymentMethod::Cash),
        "card" => Ok(PaymentMethod::Card),
        "invoice" => Ok(PaymentMethod::Invoice),
        other => Err(AppError::invalid(
            "invalid_payment_method",
            format!("`{other}` is not a payment method; use cash, card or invoice"),
        )
        .with_field("method")),
    }
}

/// A time as people type it: a day (`2026-12-01`, midnight UTC) or a full RFC 3339 time
/// (`2026-12-01T09:00:00Z`). `None` when it is neither; each adapter says how to write it
/// in its own terms (a flag, a field).
#[must_use]
pub fn parse_time(text: &str) -> Option<conference_domain::Timestamp> {
    let text = text.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_days_or_rfc3339() {
        let day = parse_time(" 2026-12-01 ").expect("a day");
        assert_eq!(day.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        let time = parse_time("2026-12-01T09:30:00+01:00").expect("a time");
        assert_eq!(time.to_rfc3339(), "2026-12-01T08:30:00+00:00");
        assert_eq!(parse_time("12/01/2026"), None);
        assert_eq!(parse_time(""), None);
    }

    #[test]
    fn seat_specs() {
        assert_eq!(parse_seat_spec("Full=2").unwrap(), ("Full".into(), 2));
        assert_eq!(
            parse_seat_spec(" Day pass = 3 ").unwrap(),
            ("Day pass".into(), 3)
        );
        assert_eq!(parse_seat_spec("Student").unwrap(), ("Student".into(), 1));
        assert_eq!(
            parse_seat_spec("Full=-1").unwrap_err().code(),
            "negative_quantity"
        );
        assert_eq!(
            parse_seat_spec("Full=two").unwrap_err().code(),
            "invalid_seat"
        );
        assert_eq!(parse_seat_spec("=2").unwrap_err().code(), "invalid_seat");
    }

    #[test]
    fn methods_and_percent() {
        assert_eq!(parse_method("CASH").unwrap(), PaymentMethod::Cash);
        assert_eq!(
            parse_method("cheque").unwrap_err().code(),
            "invalid_payment_method"
        );
        assert_eq!(parse_percent("12.5%").unwrap().to_string(), "12.5");
        assert!(parse_percent("lots").is_err());
    }

    #[test]
    fn errors_name_the_input_they_are_about() {
        let field = |e: AppError| (e.code().to_string(), e.field().map(String::from));
        let of = |code: &str, field: &str| (code.to_string(), Some(field.to_string()));
        assert_eq!(
            field(parse_seat_spec("=2").unwrap_err()),
            of("invalid_seat", "seats")
        );
        assert_eq!(
            field(parse_seat_spec("Full=two").unwrap_err()),
            of("invalid_seat", "seats")
        );
        assert_eq!(
            field(parse_seat_spec("Full=-1").unwrap_err()),
            of("negative_quantity", "quantity")
        );
        assert_eq!(
            field(parse_seat_spec("Full=99999999999").unwrap_err()),
            of("invalid_seat", "quantity")
        );
        assert_eq!(
            field(parse_price("ten").unwrap_err()),
            of("invalid_amount", "price")
        );
        assert_eq!(
            field(parse_money("-5", "tendered").unwrap_err()),
            of("invalid_amount", "tendered")
        );
        assert_eq!(
            field(parse_percent("lots").unwrap_err()),
            of("invalid_percent", "percent")
        );
        assert_eq!(
            field(parse_method("cheque").unwrap_err()),
            of("invalid_payment_method", "method")
        );
    }
}
