//! The server's errors: storage failures inside, and the stable JSON error shape outside.
//!
//! Every refusal reaches the device as `conference_protocol::ErrorBody` (or, for a gap in
//! device sequence numbers, `SequenceGap`) with the right HTTP status. Internals are
//! logged, never shown.
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use conference_protocol::ErrorBody;
use conference_protocol::sync::SequenceGap;

/// The name PostgreSQL gave the log's UNIQUE (stream_key, stream_version)
/// (`migrations/server-postgres/0001_initial.sql`).
const POSTGRES_STREAM_VERSION_CONSTRAINT: &str = "events_stream_key_stream_version_key";

/// The server's store failed, or holds something it cannot read.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("the database could not be used: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the PostgreSQL database could not be used: {}", postgres_reason(.0))]
    Postgres(#[from] postgres::Error),
    #[error(
        "could not connect to PostgreSQL at {database}: {reason}; check the URL (postgres://user:password@host:port/database) and that the database server runs"
    )]
    Connect { database: String, reason: String },
    #[error("the database schema could not be migrated: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("the database folder could not be created: {0}")]
    Io(#[from] std::io::Error),
    #[error("stored data could not be read ({what}): {reason}")]
    Corrupt { what: String, reason: String },
}

/// What PostgreSQL said, with the detail the client's own message leaves out.
pub(crate) fn postgres_reason(error: &postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    match std::error::Error::source(error) {
        Some(source) => format!("{error}: {source}"),
        None => error.to_string(),
    }
}

impl DbError {
    /// An insert into the log took a stream version that is already stored: its UNIQUE
    /// (stream_key, stream_version), and no other constraint. Only for errors of inserts
    /// into `events`.
    pub(crate) fn is_stream_version_taken(&self) -> bool {
        match self {
            // The log's only UNIQUE constraint (its position is the primary key, which
            // fails with SQLITE_CONSTRAINT_PRIMARYKEY instead).
            Self::Sqlite(rusqlite::Error::SqliteFailure(error, _)) => {
                error.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            }
            Self::Postgres(error) => error.as_db_error().is_some_and(|db| {
                *db.code() == postgres::error::SqlState::UNIQUE_VIOLATION
                    && db.constraint() == Some(POSTGRES_STREAM_VERSION_CONSTRAINT)
            }),
            _ => false,
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}

/// An answer other than success, as the device sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{message}")]
    Forbidden { code: String, message: String },
    #[error("{message}")]
    NotFound { code: String, message: String },
    #[error("{message}")]
    Conflict { code: String, message: String },
    #[error("the server expects device sequence number {next_expected} next")]
    SequenceGap { next_expected: u64 },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{message}")]
    Unprocessable { code: String, message: String },
    #[error("{0}")]
    UpgradeRequired(String),
    /// Over a limit of open feeds or of requests: try again later.
    #[error("{message}")]
    TooMany { code: String, message: String },
    /// The server failed; the message is logged, the device reads a generic sentence.
    #[error("{0}")]
    Internal(String),
    /// The server is shutting down or its writer stopped.
    #[error("{0}")]
    Unavailable(String),
}

impl ApiError {
    pub(crate) fn forbidden(code: &str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code: code.into(),
            message: message.into(),
        }
    }
    pub(crate) fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::NotFound {
            code: code.into(),
            message: message.into(),
        }
    }
    pub(crate) fn unprocessable(code: &str, message: impl Into<String>) -> Self {
        Self::Unprocessable {
            code: code.into(),
            message: message.into(),
        }
    }

    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Conflict { .. } | Self::SequenceGap { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UpgradeRequired(_) => StatusCode::UPGRADE_REQUIRED,
            Self::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    #[must_use]
    pub fn code(&self) -> &str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized(_) => conference_protocol::sync::UNAUTHORIZED,
            Self::Forbidden { code, .. }
            | Self::NotFound { code, .. }
            | Self::Conflict { code, .. }
            | Self::Unprocessable { code, .. }
            | Self::TooMany { code, .. } => code,
            Self::SequenceGap { .. } => "sequence_gap",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::UpgradeRequired(_) => "upgrade_required",
            Self::Internal(_) => "internal_error",
            Self::Unavailable(_) => "unavailable",
        }
    }

    #[must_use]
    pub fn body(&self) -> ErrorBody {
        let message = match self {
            Self::Internal(_) => {
                "The server failed to handle the request; nothing of it was stored. Try again."
                    .to_string()
            }
            other => other.to_string(),
        };
        ErrorBody {
            code: self.code().to_string(),
            message,
            field: None,
        }
    }
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        Self::Internal(error.to_string())
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Internal(DbError::from(error).to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            tracing::error!(error = %detail, "request failed");
        }
        let status = self.status();
        match self {
            Self::SequenceGap { next_expected } => (
                status,
                Json(SequenceGap {
                    code: "sequence_gap".into(),
                    message: format!(
                        "Commands must arrive in device order without gaps; the server expects device_seq {next_expected} next. Push again from there."
                    ),
                    next_expected,
                }),
            )
                .into_response(),
            other => (status, Json(other.body())).into_response(),
        }
    }
}
