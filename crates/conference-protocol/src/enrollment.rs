//! The enrollment code: everything a device needs to reach its sync server safely, in one
//! string an admin copies (or shows as a QR code) from `conference-sync device add`.
//!
//! `CONF1-` then, in unpadded URL-safe base64, the JSON `{"server", "token", "sha256"}`:
//! the server's address, the device's token, and the SHA-256 of the server's TLS
//! certificate (hex), which the device pins: a server presenting any other certificate is
//! refused, whoever signed it. No fingerprint only for plain HTTP on loopback, or an
//! address whose certificate a public authority signed.
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

const PREFIX: &str = "CONF1-";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enrollment {
    /// Like `https://10.0.0.5:8443`.
    pub server: String,
    pub token: String,
    /// The SHA-256 of the server certificate's DER bytes, lowercase hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// Why a code cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadCode(pub String);

impl std::fmt::Display for BadCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "This is not an enrollment code ({}); copy the whole code `conference-sync device add` printed, starting with {PREFIX}",
            self.0
        )
    }
}

impl std::error::Error for BadCode {}

impl Enrollment {
    /// The code to print.
    #[must_use]
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(json))
    }

    /// Reads a code as pasted (spaces and line breaks around or inside it are ignored).
    ///
    /// # Errors
    /// Anything but a whole code.
    pub fn decode(code: &str) -> Result<Self, BadCode> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let Some(body) = code.strip_prefix(PREFIX) else {
            return Err(BadCode(format!("it does not start with {PREFIX}")));
        };
        let json = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| BadCode("it is cut short or mistyped".into()))?;
        let enrollment: Self = serde_json::from_slice(&json)
            .map_err(|_| BadCode("it is cut short or mistyped".into()))?;
        if !(enrollment.server.starts_with("https://") || enrollment.server.starts_with("http://"))
        {
            return Err(BadCode("its server address is not an http(s) URL".into()));
        }
        if enrollment.token.trim().is_empty() {
            return Err(BadCode("it carries no token".into()));
        }
        if let Some(pin) = &enrollment.sha256
            && !is_fingerprint(pin)
        {
            return Err(BadCode(
                "its certificate fingerprint is not a SHA-256".into(),
            ));
        }
        Ok(enrollment)
    }
}

/// The fingerprint devices pin: SHA-256 of a certificate's DER bytes, lowercase hex.
#[must_use]
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(der))
}

/// Whether `text` is a fingerprint as [`fingerprint`] writes it.
#[must_use]
pub fn is_fingerprint(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_reads_back_as_written_even_wrapped() {
        let enrollment = Enrollment {
            server: "https://10.0.0.5:8443".into(),
            token: "t0ken".into(),
            sha256: Some(fingerprint(b"certificate")),
        };
        let code = enrollment.encode();
        assert!(code.starts_with(PREFIX));
        let wrapped: String = code
            .chars()
            .enumerate()
            .flat_map(|(i, c)| if i % 20 == 19 { vec![c, '\n'] } else { vec![c] })
            .collect();
        assert_eq!(Enrollment::decode(&format!("  {wrapped} ")), Ok(enrollment));
    }

    #[test]
    fn anything_but_a_whole_code_is_refused_with_why() {
        let good = Enrollment {
            server: "https://10.0.0.5:8443".into(),
            token: "t0ken".into(),
            sha256: None,
        }
        .encode();
        let encode = |json: &str| format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(json));
        for (code, why) in [
            ("t0ken".to_string(), "does not start"),
            (good[..good.len() - 5].to_string(), "cut short"),
            (
                encode(r#"{"server":"ftp://x","token":"t"}"#),
                "not an http(s) URL",
            ),
            (encode(r#"{"server":"https://x","token":" "}"#), "no token"),
            (
                encode(r#"{"server":"https://x","token":"t","sha256":"abc"}"#),
                "not a SHA-256",
            ),
            (
                encode(r#"{"server":"https://x","token":"t","extra":1}"#),
                "cut short",
            ),
        ] {
            let error = Enrollment::decode(&code).expect_err(&code).to_string();
            assert!(error.contains(why), "{code}: {error}");
        }
    }
}
