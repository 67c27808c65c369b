//! The application's error: what went wrong, with a stable code and a sentence that says
//! what to do. Domain rejections, bad input, missing things and store failures stay apart.
//! (The device store's errors convert into it in `conference-store`, the sync server's in
//! the server.)
use conference_protocol::ErrorBody;
use std::fmt::Debug;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// The input itself is wrong (a bad email, zero seats, an unknown seat type name).
    #[error("{message}")]
    Invalid { code: String, message: String },
    /// Something named does not exist.
    #[error("{message}")]
    NotFound { code: String, message: String },
    /// A domain rule refused the command.
    #[error("{message}")]
    Rejected { code: String, message: String },
    /// Another writer changed a stream first.
    #[error("{0}")]
    Conflict(String),
    /// The store failed; nothing was written.
    #[error("{0}")]
    Store(String),
}

impl AppError {
    pub fn invalid(code: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            code: code.into(),
            message: message.into(),
        }
    }
    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::NotFound {
            code: code.into(),
            message: message.into(),
        }
    }
    pub fn rejected(code: &str, message: impl Into<String>) -> Self {
        Self::Rejected {
            code: code.into(),
            message: message.into(),
        }
    }

    /// A domain error, coded by its variant name in snake case (`OrderExpired` →
    /// `order_expired`). Variant names are part of the API for that reason.
    pub fn domain<E: std::error::Error + Debug>(error: E) -> Self {
        Self::Rejected {
            code: variant_code(&error),
            message: sentence(&error.to_string()),
        }
    }

    #[must_use]
    pub fn code(&self) -> &str {
        match self {
            Self::Invalid { code, .. }
            | Self::NotFound { code, .. }
            | Self::Rejected { code, .. } => code,
            Self::Conflict(_) => "conflict",
            Self::Store(_) => "store_error",
        }
    }

    #[must_use]
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code().to_string(),
            message: self.to_string(),
        }
    }

    /// Whether the command's first outcome should be remembered under its id. Only rule
    /// rejections are: a store failure or a conflict may well succeed when retried.
    #[must_use]
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::Rejected { .. } | Self::Invalid { .. } | Self::NotFound { .. }
        )
    }
}

/// `text` with its first letter upper-cased, as a sentence starts.
#[must_use]
pub fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `SeatTypeNameTaken("x")` → `seat_type_name_taken`.
fn variant_code(error: &impl Debug) -> String {
    let debug = format!("{error:?}");
    let name: String = debug
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let mut code = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                code.push('_');
            }
            code.push(c.to_ascii_lowercase());
        } else {
            code.push(c);
        }
    }
    code
}

impl From<conference_domain::values::InvalidValue> for AppError {
    fn from(e: conference_domain::values::InvalidValue) -> Self {
        Self::invalid(&variant_code(&e), sentence(&e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use conference_domain::order;

    #[test]
    fn domain_errors_get_snake_case_codes_and_sentences() {
        let e = AppError::domain(order::Error::OrderAlreadyConfirmed);
        assert_eq!(e.code(), "order_already_confirmed");
        assert_eq!(e.to_string(), "The order is already confirmed");
        let e = AppError::domain(conference_domain::conference::Error::SeatTypeNameTaken(
            "Full".into(),
        ));
        assert_eq!(e.code(), "seat_type_name_taken");
    }
}
