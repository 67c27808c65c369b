//! TLS for the sync server (DESIGN.md §7): a certificate the operator gives, or one the
//! server makes on its first start and keeps beside its database. Devices pin the
//! certificate's SHA-256 (the enrollment code carries it), so a self-signed one is as good
//! as any: no authority is asked.
use conference_protocol::enrollment::fingerprint;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("could not read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("could not write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("{0}")]
    Invalid(String),
}

/// The server's certificate, ready to serve.
pub struct Identity {
    pub config: Arc<rustls::ServerConfig>,
    /// SHA-256 of the certificate (what devices pin), lowercase hex.
    pub fingerprint: String,
    pub cert_path: PathBuf,
    /// Made on this start (the first).
    pub created: bool,
}

/// Where the server keeps the certificate it makes: `<dir>/conference-sync-cert.pem` and
/// `-key.pem` (readable by its owner only).
#[must_use]
pub fn self_signed_paths(dir: &Path) -> (PathBuf, PathBuf) {
    (
        dir.join("conference-sync-cert.pem"),
        dir.join("conference-sync-key.pem"),
    )
}

/// The certificate in `cert` (PEM, the server's first, then any chain) and its key.
///
/// # Errors
/// A file that cannot be read or holds no certificate or key rustls takes.
pub fn from_files(cert: &Path, key: &Path) -> Result<Identity, TlsError> {
    let chain = read_chain(cert)?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Read {
        path: key.to_path_buf(),
        reason: format!("{e} (a PEM private key: PKCS#8, PKCS#1 or SEC1)"),
    })?;
    identity(chain, key, cert, false)
}

/// The certificate this server made in `dir` before, or a new self-signed one for `names`
/// (host names and IP addresses devices may use) kept there for the next start.
///
/// # Errors
/// A folder that cannot be written, or files there that cannot be read.
pub fn self_signed_in(dir: &Path, names: &[String]) -> Result<Identity, TlsError> {
    let (cert, key) = self_signed_paths(dir);
    if cert.exists() && key.exists() {
        return from_files(&cert, &key);
    }
    let mut names: Vec<String> = names.to_vec();
    names.push("localhost".into());
    names.sort();
    names.dedup();
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| TlsError::Invalid(format!("could not make a certificate: {e}")))?;
    write_private(&key, made.signing_key.serialize_pem().as_bytes())?;
    write_private(&cert, made.cert.pem().as_bytes())?;
    let mut identity = from_files(&cert, &key)?;
    identity.created = true;
    Ok(identity)
}

/// The fingerprint of the certificate in `cert` (PEM), for enrollment codes.
///
/// # Errors
/// A file that cannot be read or holds no certificate.
pub fn fingerprint_of(cert: &Path) -> Result<String, TlsError> {
    let chain = read_chain(cert)?;
    Ok(fingerprint(&chain[0]))
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let read = |reason: String| TlsError::Read {
        path: path.to_path_buf(),
        reason,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| read(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| read(e.to_string()))?;
    if chain.is_empty() {
        return Err(read("it holds no PEM certificate".into()));
    }
    Ok(chain)
}

fn identity(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    cert_path: &Path,
    created: bool,
) -> Result<Identity, TlsError> {
    let fingerprint = fingerprint(&chain[0]);
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| TlsError::Invalid(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| {
        TlsError::Invalid(format!(
            "the certificate in {} and its key do not go together: {e}",
            cert_path.display()
        ))
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Identity {
        config: Arc::new(config),
        fingerprint,
        cert_path: cert_path.to_path_buf(),
        created,
    })
}

/// Writes a file only its owner may read, whole or not at all.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    use std::io::Write as _;
    let write = |e: std::io::Error| TlsError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(write)?;
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(write)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(write)?;
    }
    file.write_all(bytes).map_err(write)?;
    file.as_file().sync_all().map_err(write)?;
    file.persist(path).map_err(|e| write(e.error))?;
    Ok(())
}
