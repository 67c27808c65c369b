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
        ));
    }
    let quantity: i64 = quantity.parse().map_err(|_| {
        AppError::invalid(
            "invalid_seat",
            format!(
                "`{quantity}` in `{spec}` is not a number of seats; write it like \"{name}=2\""
            ),
        )
    })?;
    if quantity < 0 {
        return Err(AppError::invalid(
            "negative_quantity",
            format!("{quantity} seats of {name} is a negative quantity; ask for 1 or more"),
        ));
    }
    let quantity = u32::try_from(quantity).map_err(|_| {
        AppError::invalid(
            "invalid_seat",
            format!("{quantity} seats of {name} is more than can be sold"),
        )
    })?;
    Ok((name.to_string(), quantity))
}

pub fn parse_price(text: &str) -> Result<Money, AppError> {
    Money::parse(text)
        .map_err(|e| AppError::invalid("invalid_amount", crate::sentence(&e.to_string())))
}

pub fn parse_percent(text: &str) -> Result<Decimal, AppError> {
    let trimmed = text.trim().trim_end_matches('%');
    Decimal::from_str(trimmed).map_err(|_| {
        AppError::invalid(
            "invalid_percent",
            format!("`{text}` is not a percentage; write it like 10 or 12.5"),
        )
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
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
