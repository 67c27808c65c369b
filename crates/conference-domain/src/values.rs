//! Validated values. Each has private fields and a `parse` that says what was wrong.
use crate::error_code::ErrorCode;
use crate::ids::SeatTypeId;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidValue {
    #[error("`{0}` is not an email address; write it like name@example.com")]
    Email(String),
    #[error(
        "`{0}` is not a valid slug; use 1 to 64 letters, digits, `-` or `_` (it becomes part of addresses)"
    )]
    Slug(String),
    #[error(
        "`{0}` is not an access code; access codes are 6 characters from A-Z (without I, L, O) and 1-9"
    )]
    AccessCode(String),
    #[error("`{0}` is not a promo code; use 2 to 32 letters, digits, `-` or `_`")]
    PromoCode(String),
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} is too long ({len} characters; at most {max})")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
}

impl ErrorCode for InvalidValue {
    fn code(&self) -> &'static str {
        match self {
            Self::Email(_) => "email",
            Self::Slug(_) => "slug",
            Self::AccessCode(_) => "access_code",
            Self::PromoCode(_) => "promo_code",
            Self::Empty { .. } => "empty",
            Self::TooLong { .. } => "too_long",
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Self::Email(_) => Some("email"),
            Self::Slug(_) => Some("slug"),
            Self::AccessCode(_) => Some("access_code"),
            Self::PromoCode(_) => Some("promo_code"),
            Self::Empty { field } | Self::TooLong { field, .. } => field_of_label(field),
        }
    }
}

/// The input a text's label in a message names (`"owner name"` → `owner_name`); `None`
/// for a label no input has.
#[must_use]
pub fn field_of_label(label: &str) -> Option<&'static str> {
    Some(match label {
        "conference name" => "name",
        "owner name" => "owner_name",
        "first name" => "first_name",
        "last name" => "last_name",
        "device name" => "device_name",
        _ => return None,
    })
}

/// Non-empty trimmed text of at most `max` characters.
pub fn required_text(field: &'static str, text: &str, max: usize) -> Result<String, InvalidValue> {
    let text = text.trim();
    if text.is_empty() {
        return Err(InvalidValue::Empty { field });
    }
    let len = text.chars().count();
    if len > max {
        return Err(InvalidValue::TooLong { field, len, max });
    }
    Ok(text.to_string())
}

macro_rules! string_value {
    ($name:ident) => {
        impl $name {
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl TryFrom<String> for $name {
            type Error = InvalidValue;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }
        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

/// An email address, kept as typed but compared case-insensitively.
#[derive(Clone, Debug, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);
string_value!(Email);

impl Email {
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let text = text.trim();
        let valid = match text.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
                    && !text.chars().any(char::is_whitespace)
                    && text.len() <= 254
            }
            None => false,
        };
        if valid {
            Ok(Self(text.to_string()))
        } else {
            Err(InvalidValue::Email(text.to_string()))
        }
    }
}

impl PartialEq for Email {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

/// The short name of a conference used in commands and addresses.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);
string_value!(Slug);

impl Slug {
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let text = text.trim();
        if !text.is_empty()
            && text.len() <= 64
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            Ok(Self(text.to_ascii_lowercase()))
        } else {
            Err(InvalidValue::Slug(text.to_string()))
        }
    }
}

/// The 6-character code an attendee uses with their email to find an order.
/// The alphabet leaves out the characters people mix up (I, L, O and 0).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccessCode(String);
string_value!(AccessCode);

impl AccessCode {
    pub const ALPHABET: &'static [u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ123456789";
    pub const LEN: usize = 6;

    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let text = text.trim().to_ascii_uppercase();
        if text.len() == Self::LEN && text.bytes().all(|b| Self::ALPHABET.contains(&b)) {
            Ok(Self(text))
        } else {
            Err(InvalidValue::AccessCode(text))
        }
    }

    /// Builds a code from six numbers chosen by the caller (the application layer draws them).
    #[must_use]
    pub fn from_indices(indices: [u8; 6]) -> Self {
        let code = indices
            .iter()
            .map(|i| Self::ALPHABET[*i as usize % Self::ALPHABET.len()] as char)
            .collect();
        Self(code)
    }
}

/// A promo code as people type it; stored upper-case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PromoCode(String);
string_value!(PromoCode);

impl PromoCode {
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let text = text.trim();
        if (2..=32).contains(&text.len())
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            Ok(Self(text.to_ascii_uppercase()))
        } else {
            Err(InvalidValue::PromoCode(text.to_string()))
        }
    }
}

/// A person's name and email: a registrant or an attendee.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalInfo {
    pub first_name: String,
    pub last_name: String,
    pub email: Email,
}

impl PersonalInfo {
    pub fn parse(first: &str, last: &str, email: &str) -> Result<Self, InvalidValue> {
        Ok(Self {
            first_name: required_text("first name", first, 100)?,
            last_name: required_text("last name", last, 100)?,
            email: Email::parse(email)?,
        })
    }
}

/// A number of seats of one seat type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatQuantity {
    pub seat_type: SeatTypeId,
    pub quantity: u32,
}

impl SeatQuantity {
    #[must_use]
    pub const fn new(seat_type: SeatTypeId, quantity: u32) -> Self {
        Self {
            seat_type,
            quantity,
        }
    }
}

/// A signed change in the seats of one seat type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatDelta {
    pub seat_type: SeatTypeId,
    pub quantity: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_rules() {
        assert!(Email::parse("a@b.co").is_ok());
        for bad in ["", "a", "a@", "@b.co", "a@b", "a b@c.de", "a@.de", "a@b.c."] {
            assert!(Email::parse(bad).is_err(), "{bad} should be rejected");
        }
        assert_eq!(
            Email::parse("A@B.CO").unwrap(),
            Email::parse("a@b.co").unwrap()
        );
    }

    #[test]
    fn access_code_alphabet_leaves_out_ambiguous_characters() {
        for c in ["I", "L", "O", "0"] {
            assert!(!AccessCode::ALPHABET.contains(&c.as_bytes()[0]));
        }
        let code = AccessCode::from_indices([0, 1, 2, 3, 4, 31]);
        assert_eq!(code.as_str(), "ABCDE9");
        assert_eq!(AccessCode::parse("abcde9").unwrap(), code);
        assert!(AccessCode::parse("ABCDEI").is_err());
        assert!(AccessCode::parse("ABCDE").is_err());
    }

    #[test]
    fn slug_and_promo_code_rules() {
        assert_eq!(
            Slug::parse("DevConf-2026").unwrap().as_str(),
            "devconf-2026"
        );
        assert!(Slug::parse("dev conf").is_err());
        assert_eq!(
            PromoCode::parse("early_bird").unwrap().as_str(),
            "EARLY_BIRD"
        );
        assert!(PromoCode::parse("x").is_err());
    }

    #[test]
    fn required_text_takes_up_to_its_limit_and_names_its_input() {
        let at_limit = "x".repeat(100);
        assert_eq!(required_text("device name", &at_limit, 100), Ok(at_limit));
        let over = required_text("device name", &"x".repeat(101), 100).unwrap_err();
        assert_eq!(
            over,
            InvalidValue::TooLong {
                field: "device name",
                len: 101,
                max: 100
            }
        );
        assert_eq!(
            (over.code(), over.field()),
            ("too_long", Some("device_name"))
        );
        let empty = required_text("first name", "  ", 100).unwrap_err();
        assert_eq!((empty.code(), empty.field()), ("empty", Some("first_name")));
    }
}
