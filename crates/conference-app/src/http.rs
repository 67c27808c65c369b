//! The real transport: JSON over HTTP(S) with reqwest (rustls), retried with backoff when
//! the server does not answer. Every request is safe to repeat, so retrying is always right.
use crate::transport::{SyncError, Transport};
use conference_protocol::ErrorBody;
use conference_protocol::sync::{
    AllotmentRequest, AllotmentResponse, DeviceRecord, PullResponse, PushRequest, PushResponse,
    ReconciliationItem, SequenceGap,
};
use conference_store::sync::ServerLink;
use std::time::Duration;

pub struct HttpTransport {
    base: String,
    token: String,
    client: reqwest::blocking::Client,
    attempts: u32,
    /// The `x-conference-schema` header: the event schema versions this device reads.
    reads: String,
}

/// An HTTP client for the server of `link`, trusting only what the link says (DESIGN.md
/// §7): the certificate pinned at enrollment when there is one (whoever signed it;
/// any other is refused), else the public authorities; plain HTTP only to this machine,
/// unless the person who enrolled the device allowed it beyond.
///
/// # Errors
/// Plain HTTP to another machine without that permission, or a client that cannot be
/// built.
pub fn client(
    link: &ServerLink,
    builder: reqwest::blocking::ClientBuilder,
) -> Result<reqwest::blocking::Client, SyncError> {
    let builder = match (trust(link)?, &link.pin) {
        (Trust::Https, Some(pin)) => builder.use_preconfigured_tls(pinned(&link.url, pin)?),
        (Trust::Https, None) => builder.https_only(true),
        (Trust::Http, _) => builder,
    };
    builder
        .build()
        .map_err(|e| SyncError::Unreachable(e.to_string()))
}

/// How a link's server is reached.
enum Trust {
    Https,
    Http,
}

/// Whether `link` may be used as it is: an http(s) address, plain HTTP only to this
/// machine unless the link allows it beyond.
///
/// # Errors
/// [`SyncError::Untrusted`], saying why and what to do.
pub fn check(link: &ServerLink) -> Result<(), SyncError> {
    trust(link).map(drop)
}

fn trust(link: &ServerLink) -> Result<Trust, SyncError> {
    let url = reqwest::Url::parse(&link.url).map_err(|e| {
        SyncError::Untrusted(format!("`{}` is not a server address: {e}", link.url))
    })?;
    match url.scheme() {
        "https" => Ok(Trust::Https),
        "http" if is_loopback(&url) || link.insecure_http => Ok(Trust::Http),
        "http" => Err(SyncError::Untrusted(format!(
            "{} is plain HTTP to another machine: this device's token and every registrant's name would cross the network readable by anyone on it. Enroll with the server's code (`conference enroll CODE`, it pins the server's certificate), or allow plain HTTP with --insecure-http where the network is yours alone",
            link.url
        ))),
        other => Err(SyncError::Untrusted(format!(
            "`{}` is not an http(s) address ({other})",
            link.url
        ))),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A TLS configuration that takes exactly the certificate whose SHA-256 is `pin` (and
/// checks that the server holds its key: the handshake's signature is verified).
fn pinned(url: &str, pin: &str) -> Result<rustls::ClientConfig, SyncError> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Pinned {
        url: url.to_string(),
        pin: pin.to_ascii_lowercase(),
        algorithms: provider.signature_verification_algorithms,
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SyncError::Untrusted(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// What a pin mismatch says, so it can be told from other connection errors.
const NOT_PINNED: &str = "presented a certificate other than the one this device was enrolled with";

#[derive(Debug)]
struct Pinned {
    url: String,
    pin: String,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl rustls::client::danger::ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let seen = conference_protocol::enrollment::fingerprint(end_entity.as_ref());
        if seen == self.pin {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "{} {NOT_PINNED} (sha256 {seen}, enrolled with {}); if the server's certificate was replaced on purpose, ask its admin for a new enrollment code",
                self.url, self.pin
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A request that failed before an answer: a pin mismatch is said as such (retrying
/// cannot help), anything else is the network's.
pub fn not_sent(error: &reqwest::Error) -> SyncError {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = source {
        let text = e.to_string();
        if let Some(at) = text.find("https://")
            && text.contains(NOT_PINNED)
        {
            return SyncError::Untrusted(text[at..].to_string());
        }
        source = e.source();
    }
    SyncError::Unreachable(error.to_string())
}

impl HttpTransport {
    pub fn new(link: &ServerLink) -> Result<Self, SyncError> {
        let client = client(
            link,
            reqwest::blocking::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(30)),
        )?;
        Ok(Self {
            base: link.url.trim_end_matches('/').to_string(),
            token: link.token.clone(),
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
                Ok(response) if response.status().is_success() => {
                    match read_capped(response, MAX_RESPONSE_BYTES) {
                        Ok(Some(body)) => {
                            // A whole answer that is not what the protocol says is the
                            // server's fault: asking again would get the same.
                            return serde_json::from_slice::<T>(&body).map_err(|e| {
                                SyncError::Untrusted(format!(
                                    "The server at {} sent an answer this device cannot read ({e}); nothing of it was taken. Tell the server's admin",
                                    self.base
                                ))
                            });
                        }
                        Ok(None) => {
                            return Err(SyncError::Untrusted(format!(
                                "The server at {} sent an answer over {} MiB, more than any this release sends; this device stopped reading it and took nothing of it. Tell the server's admin",
                                self.base,
                                MAX_RESPONSE_BYTES / (1024 * 1024)
                            )));
                        }
                        Err(e) => last = e.to_string(),
                    }
                }
                // A server error, or a server asking this device to slow down: again,
                // after the pause.
                Ok(response)
                    if response.status().is_server_error()
                        || response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS =>
                {
                    last = format!("status {}", response.status());
                }
                Ok(response) => return Err(refusal(response)),
                Err(e) => match not_sent(&e) {
                    SyncError::Unreachable(text) => last = text,
                    untrusted => return Err(untrusted),
                },
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

/// The most a device reads of one answer: a pull page holds at most 4 MiB of payloads,
/// so anything near this is a server that misbehaves.
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// The body, or `None` when it is longer than `cap` (read no further).
fn read_capped(
    response: reqwest::blocking::Response,
    cap: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read as _;
    let mut body = Vec::new();
    response.take(cap as u64 + 1).read_to_end(&mut body)?;
    Ok((body.len() <= cap).then_some(body))
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
        field: None,
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

    /// The whole queue, page by page.
    fn reconciliation(&self) -> Result<Vec<ReconciliationItem>, SyncError> {
        const PAGE: usize = 500;
        let mut items: Vec<ReconciliationItem> = Vec::new();
        loop {
            let after = items.last().map_or(0, |i| i.id);
            let url = format!("{}/v1/reconciliation?after={after}&limit={PAGE}", self.base);
            let page: Vec<ReconciliationItem> = self.send(|| self.client.get(&url))?;
            let done = page.len() < PAGE;
            items.extend(page);
            if done {
                return Ok(items);
            }
        }
    }

    fn resolve_reconciliation(&self, id: i64) -> Result<ReconciliationItem, SyncError> {
        let url = format!("{}/v1/reconciliation/{id}/resolve", self.base);
        self.send(|| self.client.post(&url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::App;

    fn link(url: &str, insecure_http: bool) -> ServerLink {
        ServerLink {
            url: url.into(),
            token: "t".into(),
            pin: None,
            insecure_http,
        }
    }

    #[test]
    fn plain_http_reaches_this_machine_only_unless_allowed() {
        let builder = reqwest::blocking::Client::builder;
        for url in [
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
        ] {
            assert!(client(&link(url, false), builder()).is_ok(), "{url}");
        }
        for url in ["http://10.0.0.5:8080", "http://venue.example:8080"] {
            let refused = client(&link(url, false), builder()).expect_err(url);
            assert!(
                matches!(&refused, SyncError::Untrusted(why) if why.contains("--insecure-http")),
                "{refused:?}"
            );
            assert!(client(&link(url, true), builder()).is_ok(), "{url}");
        }
        assert!(client(&link("ftp://10.0.0.5", true), builder()).is_err());
    }

    #[test]
    fn a_device_enrolls_with_a_code_and_keeps_its_pin_and_its_store_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("door.db");
        let mut app = App::open(&path).unwrap();
        app.init("Door", chrono::Utc::now()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(
                mode & 0o777,
                0o600,
                "the store holds a token and registrants"
            );
        }
        let code = |server: &str, sha256: Option<String>| {
            conference_protocol::enrollment::Enrollment {
                server: server.into(),
                token: "t0ken".into(),
                sha256,
            }
            .encode()
        };
        let pin = conference_protocol::enrollment::fingerprint(b"a certificate");
        let link = app
            .enroll(&code("https://10.0.0.5:8443/", Some(pin.clone())), false)
            .unwrap();
        assert_eq!(app.sync_settings().unwrap(), Some(link.clone()));
        assert_eq!(link.url, "https://10.0.0.5:8443");
        assert_eq!(link.pin, Some(pin));

        // Plain HTTP beyond this machine only when the person allows it; nothing changes
        // otherwise.
        let plain = code("http://10.0.0.5:8080", None);
        let refused = app.enroll(&plain, false).expect_err("plain HTTP");
        assert_eq!(refused.code(), "server_untrusted");
        assert_eq!(app.sync_settings().unwrap(), Some(link));
        let allowed = app.enroll(&plain, true).unwrap();
        assert!(allowed.insecure_http);
        assert_eq!(
            app.enroll("not a code", false).expect_err("garbage").code(),
            "invalid_enrollment_code"
        );
    }
}
