//! The real transport: JSON over HTTP(S) with reqwest (rustls), retried with backoff when
//! the server does not answer. Every request is safe to repeat, so retrying is always right.
use crate::sync::{SyncError, Transport};
use conference_protocol::ErrorBody;
use conference_protocol::sync::{
    AllotmentRequest, AllotmentResponse, DeviceRecord, PullResponse, PushRequest, PushResponse,
    ReconciliationItem, SequenceGap,
};
use std::time::Duration;

pub struct HttpTransport {
    base: String,
    token: String,
    client: reqwest::blocking::Client,
    attempts: u32,
    /// The `x-conference-schema` header: the event schema versions this device reads.
    reads: String,
}

impl HttpTransport {
    pub fn new(base: &str, token: &str) -> Result<Self, SyncError> {
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| SyncError::Unreachable(e.to_string()))?;
        Ok(Self {
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            client,
            attempts: 5,
            reads: serde_json::to_string(&conference_domain::aggregate::schema_versions())
                .unwrap_or_default(),
        })
    }

    /// Says the device reads only these event versions (a device of an older release, for
    /// tests of a rolling upgrade); the server then serves older shapes or refuses with 426.
    #[must_use]
    pub fn reading(mut self, reads: &std::collections::BTreeMap<String, u32>) -> Self {
        self.reads = serde_json::to_string(reads).unwrap_or_default();
        self
    }

    /// How many times a request is tried before the server counts as unreachable.
    #[must_use]
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    fn send<T: serde::de::DeserializeOwned>(
        &self,
        request: impl Fn() -> reqwest::blocking::RequestBuilder,
    ) -> Result<T, SyncError> {
        let mut delay = Duration::from_millis(100);
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            match request()
                .bearer_auth(&self.token)
                .header(conference_protocol::sync::SCHEMA_HEADER, &self.reads)
                .send()
            {
                // A body cut off on the way is as good as no answer: read it whole before
                // decoding, and retry when it does not arrive.
                Ok(response) if response.status().is_success() => match response.bytes() {
                    Ok(body) => {
                        return serde_json::from_slice::<T>(&body)
                            .map_err(|e| SyncError::Unreachable(e.to_string()));
                    }
                    Err(e) => last = e.to_string(),
                },
                Ok(response) if response.status().is_server_error() => {
                    last = format!("status {}", response.status());
                }
                Ok(response) => return Err(refusal(response)),
                Err(e) => last = e.to_string(),
            }
            if attempt < self.attempts {
                tracing::info!(attempt, error = %last, "sync request failed; retrying");
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
        Err(SyncError::Unreachable(last))
    }
}

fn refusal(response: reqwest::blocking::Response) -> SyncError {
    let status = response.status().as_u16();
    let text = response.text().unwrap_or_default();
    if status == 409
        && let Ok(gap) = serde_json::from_str::<SequenceGap>(&text)
    {
        return SyncError::SequenceGap {
            next_expected: gap.next_expected,
        };
    }
    let body = serde_json::from_str::<ErrorBody>(&text).unwrap_or(ErrorBody {
        code: format!("http_{status}"),
        message: text,
    });
    SyncError::Refused { status, body }
}

impl Transport for HttpTransport {
    fn push(&self, request: &PushRequest) -> Result<PushResponse, SyncError> {
        let url = format!("{}/v1/push", self.base);
        self.send(|| self.client.post(&url).json(request))
    }

    fn pull(&self, after: i64, limit: u32) -> Result<PullResponse, SyncError> {
        let url = format!("{}/v1/pull?after={after}&limit={limit}", self.base);
        self.send(|| self.client.get(&url))
    }

    fn request_allotment(
        &self,
        request: &AllotmentRequest,
    ) -> Result<AllotmentResponse, SyncError> {
        let url = format!("{}/v1/allotments", self.base);
        self.send(|| self.client.post(&url).json(request))
    }

    fn me(&self) -> Result<DeviceRecord, SyncError> {
        let url = format!("{}/v1/me", self.base);
        self.send(|| self.client.get(&url))
    }

    fn reconciliation(&self) -> Result<Vec<ReconciliationItem>, SyncError> {
        let url = format!("{}/v1/reconciliation", self.base);
        self.send(|| self.client.get(&url))
    }

    fn resolve_reconciliation(&self, id: i64) -> Result<ReconciliationItem, SyncError> {
        let url = format!("{}/v1/reconciliation/{id}/resolve", self.base);
        self.send(|| self.client.post(&url))
    }
}
