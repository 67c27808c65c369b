//! The application's error: what went wrong, with a stable code and a sentence that says
//! what to do. Domain rejections, bad input, missing things and store failures stay apart.
//! (The device store's errors convert into it in `conference-store`, the sync server's in
//! the server.)
use conference_domain::ErrorCode;
use conference_protocol::ErrorBody;
use std::fmt::Display;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// The input itself is wrong (a bad email, zero seats, an unknown seat type name).
    #[error("{message}")]
    Invalid {
        code: String,
        message: String,
        /// The input it is about (`email`, `quantity`), when it is about one.
        field: Option<String>,
    },
    /// Something named does not exist.
    #[error("{message}")]
    NotFound {
        code: String,
        message: String,
        field: Option<String>,
    },
    /// A domain rule refused the command.
    #[error("{message}")]
    Rejected {
        code: String,
        message: String,
        field: Option<String>,
    },
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
            field: None,
        }
    }
    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::NotFound {
            code: code.into(),
            message: message.into(),
            field: None,
        }
    }
    pub fn rejected(code: &str, message: impl Into<String>) -> Self {
        Self::Rejected {
            code: code.into(),
            message: message.into(),
            field: None,
        }
    }

    /// The same error, about the input `field` (`Invalid`, `NotFound` and `Rejected` only:
    /// a conflict or a store failure is about no input).
    #[must_use]
    pub fn with_field(mut self, field: &str) -> Self {
        match &mut self {
            Self::Invalid { field: f, .. }
            | Self::NotFound { field: f, .. }
            | Self::Rejected { field: f, .. } => *f = Some(field.to_string()),
            Self::Conflict(_) | Self::Store(_) => {}
        }
        self
    }

    /// A domain rule's refusal, with the rule's own code and field.
    pub fn domain<E: ErrorCode + Display>(error: E) -> Self {
        Self::Rejected {
            code: error.code().to_string(),
            message: sentence(&error.to_string()),
            field: error.field().map(String::from),
        }
    }

    /// A value the domain would not take as input (an email, a slug, an amount), with the
    /// value's own code and field.
    pub fn input<E: ErrorCode + Display>(error: E) -> Self {
        Self::Invalid {
            code: error.code().to_string(),
            message: sentence(&error.to_string()),
            field: error.field().map(String::from),
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

    /// The input the error is about, when it is about one.
    #[must_use]
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid { field, .. }
            | Self::NotFound { field, .. }
            | Self::Rejected { field, .. } => field.as_deref(),
            Self::Conflict(_) | Self::Store(_) => None,
        }
    }

    #[must_use]
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code().to_string(),
            message: self.to_string(),
            field: self.field().map(String::from),
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

impl From<conference_domain::values::InvalidValue> for AppError {
    fn from(e: conference_domain::values::InvalidValue) -> Self {
        Self::input(e)
    }
}

impl From<conference_domain::money::InvalidCurrency> for AppError {
    fn from(e: conference_domain::money::InvalidCurrency) -> Self {
        Self::input(e)
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
        assert_eq!(e.field(), Some("name"));
    }

    #[test]
    fn fields_reach_the_body_and_old_bodies_have_none() {
        let e = AppError::from(conference_domain::values::Email::parse("nope").unwrap_err());
        assert_eq!(e.code(), "email");
        assert!(matches!(e, AppError::Invalid { .. }));
        let body = e.body();
        assert_eq!(body.field.as_deref(), Some("email"));
        let e = AppError::invalid("invalid_quantity", "x").with_field("quantity");
        assert_eq!(e.field(), Some("quantity"));
        assert_eq!(AppError::rejected("x", "y").field(), None);
        assert_eq!(AppError::Conflict("c".into()).with_field("f").field(), None);
        assert_eq!(AppError::Store("s".into()).body().field, None);
    }
}
