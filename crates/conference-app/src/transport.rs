//! How a device talks to its sync server: the [`Transport`] trait (tests put faults
//! between device and server through it; `http::HttpTransport` is the real one)
//! and what can go wrong on the way. A module of its own so the sync logic (`sync`) and
//! the HTTP transport (`http`) do not depend on each other.
use conference_protocol::ErrorBody;
use conference_protocol::sync::{
    AllotmentRequest, AllotmentResponse, DeviceRecord, PullResponse, PushRequest, PushResponse,
    ReconciliationItem,
};

/// Why talking to the server failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SyncError {
    /// No answer (network down, server stopped, timeout): try again later.
    #[error("the sync server did not answer ({0}); sales go on offline and sync resumes later")]
    Unreachable(String),
    /// The server expects another device sequence number.
    #[error("the server expects command number {next_expected} from this device next")]
    SequenceGap { next_expected: u64 },
    /// The server refused the request.
    #[error("the sync server refused the request ({status}): {}", body.message)]
    Refused { status: u16, body: ErrorBody },
    /// The server cannot be trusted as it is reached (another certificate than the one
    /// pinned, plain HTTP to another machine): retrying cannot help.
    #[error("{0}")]
    Untrusted(String),
}

/// How a device talks to the sync server. Every call must be safe to repeat.
pub trait Transport {
    fn push(&self, request: &PushRequest) -> Result<PushResponse, SyncError>;
    fn pull(&self, after: i64, limit: u32) -> Result<PullResponse, SyncError>;
    fn request_allotment(&self, request: &AllotmentRequest)
    -> Result<AllotmentResponse, SyncError>;
    /// Which device the token belongs to.
    fn me(&self) -> Result<DeviceRecord, SyncError>;
    /// The back office's reconciliation queue (organizer and back-office devices).
    fn reconciliation(&self) -> Result<Vec<ReconciliationItem>, SyncError>;
    /// Marks a reconciliation item resolved (again is fine). A transport that cannot reach
    /// the back-office endpoints refuses.
    fn resolve_reconciliation(&self, id: i64) -> Result<ReconciliationItem, SyncError> {
        Err(SyncError::Refused {
            status: 501,
            body: ErrorBody {
                code: "not_supported".into(),
                message: format!("This connection cannot resolve reconciliation item {id}"),
                field: None,
            },
        })
    }
}
