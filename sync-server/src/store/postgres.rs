//! The PostgreSQL backend: several server instances behind one database.
//!
//! The global order: every writer transaction takes the log's advisory lock
//! (`pg_advisory_xact_lock`) before it reads the head, takes the next positions itself
//! (no sequence, so a rolled-back transaction leaves no hole), and holds the lock until it
//! commits. So transactions that append commit one after another in position order, and a
//! reader that pulls after position N can never later find an event committed under a
//! position at or below N. The same lock serializes the idempotency and allotment checks:
//! two instances taking the same push, or granting from the same pool, see each other's
//! committed work.
//!
//! The head's moves reach every instance's live feed through `NOTIFY conference_log`
//! (sent by the writer inside its transaction, so only on commit) and one `LISTEN`
//! connection per instance.
//!
//! Connections are `postgres::Client`s (the synchronous client): the writer thread owns
//! one, readers take one each from a small pool, all off the async executor.
//!
//! tidy: long because it implements the whole `store::Db` trait for PostgreSQL, one method
//! per operation beside its twin `sqlite.rs`; a split would part methods sharing one
//! transaction's locking.
use super::{
    CommandInsert, CommandRow, Conn, Db, DeviceInsert, DeviceRow, EventInsert, EventRow,
    ListenForHeads, Listening, Opened, ReconciliationInsert, WriterConn,
};
use crate::error::{ApiError, DbError};
use conference_protocol::sync::ReconciliationItem;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, GenericClient, Row, Statement};
use std::collections::HashMap;
use std::sync::mpsc;
use std::time::Duration;
use uuid::Uuid;

/// The log's advisory lock: held by a writer from before it reads the head until it
/// commits.
const LOG_LOCK: i64 = 0x636f_6e66_6c6f_6701;
/// Held while an instance migrates the schema, so instances starting at once take turns.
const MIGRATE_LOCK: i64 = 0x636f_6e66_6c6f_6702;
/// The channel the writers notify when the head moved.
const CHANNEL: &str = "conference_log";

const MIGRATIONS: &[&str] = &[include_str!(
    "../../../migrations/server-postgres/0001_initial.sql"
)];

/// The URL with its password hidden, for logs and messages.
#[must_use]
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// The PEM file of the certificate authority that signed the database server's
/// certificate: set, the server's certificate and host name are checked against it.
pub const CA_VAR: &str = "CONFERENCE_SYNC_POSTGRES_CA";

/// Connects as `conference-sync` (so `pg_stat_activity` shows which connections are the
/// server's), over TLS as the URL's `sslmode` asks: `prefer` (the default) when the
/// database offers it, `require` or no connection, `disable` never. With
/// `CONFERENCE_SYNC_POSTGRES_CA` set, the database's certificate must be signed by that
/// authority for the host in the URL; without it, as libpq's `require`, the connection is
/// encrypted but whoever holds the certificate is not checked.
fn connect(url: &str) -> Result<Client, DbError> {
    let failed = |reason: String| DbError::Connect {
        database: redact(url),
        reason,
    };
    let mut config: postgres::Config = url
        .parse()
        .map_err(|e| failed(crate::error::postgres_reason(&e)))?;
    if config.get_application_name().is_none() {
        config.application_name("conference-sync");
    }
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config().map_err(failed)?);
    config
        .connect(tls)
        .map_err(|e| failed(crate::error::postgres_reason(&e)))
}

/// The TLS settings of database connections (see [`connect`]).
fn tls_config() -> Result<rustls::ClientConfig, String> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    match std::env::var_os(CA_VAR) {
        Some(path) => {
            use rustls::pki_types::pem::PemObject as _;
            let mut roots = rustls::RootCertStore::empty();
            let certificates = rustls::pki_types::CertificateDer::pem_file_iter(&path)
                .map_err(|e| format!("{CA_VAR}={}: {e}", path.to_string_lossy()))?;
            for certificate in certificates {
                let certificate =
                    certificate.map_err(|e| format!("{CA_VAR}={}: {e}", path.to_string_lossy()))?;
                roots
                    .add(certificate)
                    .map_err(|e| format!("{CA_VAR}={}: {e}", path.to_string_lossy()))?;
            }
            Ok(builder.with_root_certificates(roots).with_no_client_auth())
        }
        None => Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(std::sync::Arc::new(EncryptOnly(
                provider.signature_verification_algorithms,
            )))
            .with_no_client_auth()),
    }
}

/// Takes any certificate the database presents (still checking that it holds its key), as
/// libpq's `sslmode=require` does: encryption, not authentication (set [`CA_VAR`] for that).
#[derive(Debug)]
struct EncryptOnly(rustls::crypto::WebPkiSupportedAlgorithms);

impl rustls::client::danger::ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_schemes()
    }
}

fn signed(value: u64, what: &str) -> Result<i64, DbError> {
    i64::try_from(value).map_err(|e| DbError::corrupt(what, e))
}

fn unsigned(value: i64, what: &str) -> Result<u64, DbError> {
    u64::try_from(value).map_err(|e| DbError::corrupt(what, e))
}

/// Statements prepared on one connection, by their SQL.
#[derive(Default)]
struct Statements(HashMap<&'static str, Statement>);

/// [`Db`] over a client or a transaction on one.
struct Pg<'a, C: GenericClient> {
    client: &'a mut C,
    statements: &'a mut Statements,
    changes: u64,
    /// The next position this transaction appends at (read once under the lock).
    next_position: Option<i64>,
    /// Whether this transaction appended (even if a savepoint took it back since).
    appended: bool,
}

impl<'a, C: GenericClient> Pg<'a, C> {
    fn new(client: &'a mut C, statements: &'a mut Statements) -> Self {
        Self {
            client,
            statements,
            changes: 0,
            next_position: None,
            appended: false,
        }
    }

    fn statement(&mut self, sql: &'static str) -> Result<Statement, DbError> {
        if let Some(statement) = self.statements.0.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.statements.0.insert(sql, statement.clone());
        Ok(statement)
    }

    fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, DbError> {
        let statement = self.statement(sql)?;
        Ok(self.client.query(&statement, params)?)
    }

    fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, DbError> {
        let statement = self.statement(sql)?;
        Ok(self.client.query_opt(&statement, params)?)
    }

    fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, DbError> {
        let statement = self.statement(sql)?;
        let changed = self.client.execute(&statement, params)?;
        self.changes += changed;
        Ok(changed)
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.client.batch_execute(sql)?)
    }
}

fn reconciliation_row(row: &Row) -> Result<ReconciliationItem, DbError> {
    let detail: String = row.try_get(5)?;
    super::reconciliation_item(
        row.try_get(0)?,
        row.try_get(1)?,
        row.try_get(2)?,
        row.try_get(3)?,
        row.try_get(4)?,
        &detail,
        row.try_get(6)?,
        row.try_get::<_, Option<String>>(7)?.is_some(),
    )
}

fn device_row(row: &Row) -> Result<DeviceRow, DbError> {
    Ok(DeviceRow {
        device_id: row.try_get(0)?,
        name: row.try_get(1)?,
        role: row.try_get(2)?,
        conferences: row.try_get(3)?,
        revoked: row.try_get(4)?,
        next_seq: unsigned(row.try_get(5)?, "a device's next sequence number")?,
    })
}

fn event_row(row: &Row) -> Result<EventRow, DbError> {
    let position: i64 = row.try_get(0)?;
    let schema_version: i32 = row.try_get(4)?;
    Ok(EventRow {
        position,
        stream_key: row.try_get(1)?,
        stream_version: unsigned(row.try_get(2)?, "a stream version")?,
        event_type: row.try_get(3)?,
        schema_version: u32::try_from(schema_version)
            .map_err(|e| DbError::corrupt(format!("event {position}"), e))?,
        payload: row.try_get(5)?,
        command_id: row.try_get(6)?,
        device_id: row.try_get(7)?,
        recorded_at: row.try_get(8)?,
        conference_id: row.try_get(9)?,
    })
}

impl<C: GenericClient> Db for Pg<'_, C> {
    fn head(&mut self) -> Result<i64, DbError> {
        let row = self.query_opt("SELECT COALESCE(MAX(position), 0) FROM events", &[])?;
        Ok(row.map_or(Ok(0), |r| r.try_get(0))?)
    }

    fn stream_version(&mut self, stream_key: &[u8]) -> Result<u64, DbError> {
        let row = self.query_opt(
            "SELECT COALESCE(MAX(stream_version), 0) FROM events WHERE stream_key = $1",
            &[&stream_key],
        )?;
        unsigned(row.map_or(Ok(0), |r| r.try_get(0))?, "a stream version")
    }

    fn stream_versions(&mut self, stream_keys: &[&[u8]]) -> Result<Vec<u64>, DbError> {
        if stream_keys.len() < 2 {
            return stream_keys
                .iter()
                .map(|key| self.stream_version(key))
                .collect();
        }
        let rows = self.query(
            "SELECT (SELECT COALESCE(MAX(stream_version), 0) FROM events WHERE stream_key = k.key)
             FROM UNNEST($1::bytea[]) WITH ORDINALITY AS k(key, n) ORDER BY k.n",
            &[&stream_keys],
        )?;
        rows.iter()
            .map(|row| unsigned(row.try_get(0)?, "a stream version"))
            .collect()
    }

    fn stream_conference(&mut self, stream_key: &[u8]) -> Result<Option<Uuid>, DbError> {
        let row = self.query_opt(
            "SELECT conference_id FROM events WHERE stream_key = $1
             ORDER BY stream_version LIMIT 1",
            &[&stream_key],
        )?;
        Ok(match row {
            Some(row) => row.try_get(0)?,
            None => None,
        })
    }

    fn stream_first_writer(&mut self, stream_key: &[u8]) -> Result<Option<Uuid>, DbError> {
        let row = self.query_opt(
            "SELECT device_id FROM events WHERE stream_key = $1 ORDER BY stream_version LIMIT 1",
            &[&stream_key],
        )?;
        Ok(match row {
            Some(row) => Some(row.try_get(0)?),
            None => None,
        })
    }

    fn stream_written_by_another(
        &mut self,
        stream_key: &[u8],
        device: Uuid,
    ) -> Result<bool, DbError> {
        let row = self.query_opt(
            "SELECT EXISTS (SELECT 1 FROM events WHERE stream_key = $1 AND device_id <> $2)",
            &[&stream_key, &device],
        )?;
        Ok(match row {
            Some(row) => row.try_get(0)?,
            None => false,
        })
    }

    fn stream_events_after(
        &mut self,
        stream_key: &[u8],
        after: u64,
        each: &mut dyn FnMut(&str, u32, &str) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        let after = signed(after, "a stream version")?;
        let rows = self.query(
            "SELECT event_type, schema_version, payload FROM events
             WHERE stream_key = $1 AND stream_version > $2 ORDER BY stream_version",
            &[&stream_key, &after],
        )?;
        for row in rows {
            let version: i32 = row.try_get(1)?;
            let version =
                u32::try_from(version).map_err(|e| DbError::corrupt("a schema version", e))?;
            each(row.try_get(0)?, version, row.try_get(2)?)?;
        }
        Ok(())
    }

    fn insert_event(&mut self, e: &EventInsert<'_>) -> Result<i64, DbError> {
        let position = match self.next_position {
            Some(position) => position,
            None => self.head()? + 1,
        };
        let version = signed(e.stream_version, "a stream version")?;
        let schema_version = i32::try_from(e.schema_version)
            .map_err(|err| DbError::corrupt("a schema version", err))?;
        self.execute(
            "INSERT INTO events (position, stream_key, stream_version, conference_id, event_type, schema_version, payload, command_id, device_id, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &position,
                &e.stream_key,
                &version,
                &e.conference_id,
                &e.event_type,
                &schema_version,
                &e.payload,
                &e.command_id,
                &e.device_id,
                &e.recorded_at,
            ],
        )?;
        self.next_position = Some(position + 1);
        self.appended = true;
        Ok(position)
    }

    fn insert_events(&mut self, events: &[EventInsert<'_>]) -> Result<Vec<i64>, DbError> {
        if events.len() < 2 {
            return events.iter().map(|e| self.insert_event(e)).collect();
        }
        let first = match self.next_position {
            Some(position) => position,
            None => self.head()? + 1,
        };
        let count = i64::try_from(events.len()).map_err(|e| DbError::corrupt("a batch", e))?;
        let positions: Vec<i64> = (first..first + count).collect();
        let mut keys = Vec::with_capacity(events.len());
        let mut versions = Vec::with_capacity(events.len());
        let mut conferences = Vec::with_capacity(events.len());
        let mut types = Vec::with_capacity(events.len());
        let mut schemas = Vec::with_capacity(events.len());
        let mut payloads = Vec::with_capacity(events.len());
        let mut commands = Vec::with_capacity(events.len());
        let mut devices = Vec::with_capacity(events.len());
        let mut times = Vec::with_capacity(events.len());
        for e in events {
            keys.push(e.stream_key);
            versions.push(signed(e.stream_version, "a stream version")?);
            conferences.push(e.conference_id);
            types.push(e.event_type);
            schemas.push(
                i32::try_from(e.schema_version)
                    .map_err(|err| DbError::corrupt("a schema version", err))?,
            );
            payloads.push(e.payload);
            commands.push(e.command_id);
            devices.push(e.device_id);
            times.push(e.recorded_at);
        }
        self.execute(
            "INSERT INTO events (position, stream_key, stream_version, conference_id, event_type, schema_version, payload, command_id, device_id, recorded_at)
             SELECT * FROM UNNEST($1::bigint[], $2::bytea[], $3::bigint[], $4::uuid[], $5::text[], $6::integer[], $7::text[], $8::uuid[], $9::uuid[], $10::text[])",
            &[
                &positions,
                &keys,
                &versions,
                &conferences,
                &types,
                &schemas,
                &payloads,
                &commands,
                &devices,
                &times,
            ],
        )?;
        self.next_position = Some(first + count);
        self.appended = true;
        Ok(positions)
    }

    fn events_page(
        &mut self,
        after: i64,
        limit: u32,
        conferences: Option<&[Uuid]>,
    ) -> Result<Vec<EventRow>, DbError> {
        let limit = i64::from(limit);
        let rows = match conferences {
            None => self.query(
                "SELECT position, stream_key, stream_version, event_type, schema_version, payload, command_id, device_id, recorded_at, conference_id
                 FROM events WHERE position > $1 ORDER BY position LIMIT $2",
                &[&after, &limit],
            )?,
            Some(ids) => self.query(
                "SELECT position, stream_key, stream_version, event_type, schema_version, payload, command_id, device_id, recorded_at, conference_id
                 FROM events WHERE conference_id = ANY($3) AND position > $1 ORDER BY position LIMIT $2",
                &[&after, &limit, &ids],
            )?,
        };
        rows.iter().map(event_row).collect()
    }

    fn conference_by_slug(&mut self, slug: &str) -> Result<Option<Uuid>, DbError> {
        let row = self.query_opt("SELECT id FROM conferences WHERE slug = $1", &[&slug])?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    fn conference_known(&mut self, id: Uuid) -> Result<bool, DbError> {
        Ok(self
            .query_opt("SELECT 1 FROM conferences WHERE id = $1", &[&id])?
            .is_some())
    }

    fn set_conference_slug(&mut self, id: Uuid, slug: &str) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO conferences (id, slug) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET slug = excluded.slug",
            &[&id, &slug],
        )?;
        Ok(())
    }

    fn device_by_token(&mut self, token_hash: &[u8]) -> Result<Option<DeviceRow>, DbError> {
        self.query_opt(
            "SELECT device_id, name, role, conferences, revoked_at IS NOT NULL, next_seq
             FROM devices WHERE token_hash = $1",
            &[&token_hash],
        )?
        .as_ref()
        .map(device_row)
        .transpose()
    }

    fn devices(&mut self) -> Result<Vec<DeviceRow>, DbError> {
        self.query(
            "SELECT device_id, name, role, conferences, revoked_at IS NOT NULL, next_seq
             FROM devices ORDER BY created_at, device_id",
            &[],
        )?
        .iter()
        .map(device_row)
        .collect()
    }

    fn device_exists(&mut self, id: Uuid) -> Result<bool, DbError> {
        Ok(self
            .query_opt("SELECT 1 FROM devices WHERE device_id = $1", &[&id])?
            .is_some())
    }

    fn insert_device(&mut self, d: &DeviceInsert<'_>) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO devices (device_id, name, role, token_hash, conferences, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &d.device_id,
                &d.name,
                &d.role,
                &d.token_hash,
                &d.conferences,
                &d.created_at,
            ],
        )?;
        Ok(())
    }

    fn revoke_device(&mut self, id: Uuid, now: &str) -> Result<bool, DbError> {
        Ok(self.execute(
            "UPDATE devices SET revoked_at = COALESCE(revoked_at, $2) WHERE device_id = $1",
            &[&id, &now],
        )? > 0)
    }

    fn device_next_seq(&mut self, id: Uuid) -> Result<u64, DbError> {
        let row = self
            .query_opt("SELECT next_seq FROM devices WHERE device_id = $1", &[&id])?
            .ok_or_else(|| DbError::corrupt(format!("device {id}"), "it is not registered"))?;
        unsigned(row.try_get(0)?, "a device's next sequence number")
    }

    fn set_device_next_seq(&mut self, id: Uuid, next_seq: u64) -> Result<(), DbError> {
        let next_seq = signed(next_seq, "a device sequence number")?;
        self.execute(
            "UPDATE devices SET next_seq = $2 WHERE device_id = $1",
            &[&id, &next_seq],
        )?;
        Ok(())
    }

    fn command(&mut self, command_id: Uuid) -> Result<Option<CommandRow>, DbError> {
        let row = self.query_opt(
            "SELECT status, result, device_id FROM commands WHERE command_id = $1",
            &[&command_id],
        )?;
        row.map(|r| {
            Ok(CommandRow {
                status: r.try_get(0)?,
                result: r.try_get(1)?,
                device_id: r.try_get(2)?,
            })
        })
        .transpose()
    }

    fn insert_command(&mut self, c: &CommandInsert<'_>) -> Result<(), DbError> {
        let device_seq = c
            .device_seq
            .map(|seq| signed(seq, "a device sequence number"))
            .transpose()?;
        self.execute(
            "INSERT INTO commands (command_id, device_id, device_seq, status, result, recorded_position, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &c.command_id,
                &c.device_id,
                &device_seq,
                &c.status,
                &c.result,
                &c.recorded_position,
                &c.recorded_at,
            ],
        )?;
        Ok(())
    }

    fn outcomes(
        &mut self,
        device_id: Uuid,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(Uuid, String)>, DbError> {
        self.query(
            "SELECT command_id, result FROM commands
             WHERE device_id = $1 AND status IN ('rebased', 'rejected') AND recorded_position > $2
             ORDER BY recorded_position, device_seq LIMIT $3",
            &[&device_id, &after, &limit],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
    }

    fn insert_reconciliation(&mut self, item: &ReconciliationInsert<'_>) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO reconciliation (kind, conference_id, device_id, command_id, detail, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &item.kind,
                &item.conference_id,
                &item.device_id,
                &item.command_id,
                &item.detail,
                &item.created_at,
            ],
        )?;
        Ok(())
    }

    fn reconciliation_items(
        &mut self,
        include_resolved: bool,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ReconciliationItem>, DbError> {
        self.query(
            "SELECT id, kind, conference_id, device_id, command_id, detail, created_at, resolved_at
             FROM reconciliation WHERE (resolved_at IS NULL OR $1) AND id > $2 ORDER BY id LIMIT $3",
            &[&include_resolved, &after, &i64::from(limit)],
        )?
        .iter()
        .map(reconciliation_row)
        .collect()
    }

    fn reconciliation_item(&mut self, id: i64) -> Result<Option<ReconciliationItem>, DbError> {
        self.query_opt(
            "SELECT id, kind, conference_id, device_id, command_id, detail, created_at, resolved_at
             FROM reconciliation WHERE id = $1",
            &[&id],
        )?
        .as_ref()
        .map(reconciliation_row)
        .transpose()
    }

    fn resolve_reconciliation(&mut self, id: i64, now: &str) -> Result<(), DbError> {
        self.execute(
            "UPDATE reconciliation SET resolved_at = COALESCE(resolved_at, $2) WHERE id = $1",
            &[&id, &now],
        )?;
        Ok(())
    }

    fn savepoint(&mut self, name: &str) -> Result<(), DbError> {
        self.batch(&format!("SAVEPOINT {name}"))
    }

    fn release(&mut self, name: &str) -> Result<(), DbError> {
        self.batch(&format!("RELEASE SAVEPOINT {name}"))
    }

    fn rollback_to(&mut self, name: &str) -> Result<(), DbError> {
        self.batch(&format!(
            "ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}"
        ))?;
        // What was appended since is gone: the next position is the head's again.
        self.next_position = None;
        Ok(())
    }

    fn changes(&self) -> u64 {
        self.changes
    }

    fn begin_snapshot(&mut self) -> Result<(), DbError> {
        self.batch("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    }

    fn end_snapshot(&mut self) -> Result<(), DbError> {
        self.batch("COMMIT")
    }
}

/// A reading (or admin) connection.
struct PgConn {
    /// Always there until dropped.
    client: Option<Client>,
    statements: Statements,
}

impl PgConn {
    fn new(client: Client) -> Self {
        Self {
            client: Some(client),
            statements: Statements::default(),
        }
    }
}

impl Conn for PgConn {
    fn run(&mut self, f: &mut dyn FnMut(&mut dyn Db)) {
        if let Some(client) = self.client.as_mut() {
            f(&mut Pg::new(client, &mut self.statements));
        }
    }

    fn is_usable(&self) -> bool {
        self.client.as_ref().is_some_and(|c| !c.is_closed())
    }
}

impl Drop for PgConn {
    /// Closing a client blocks on its own runtime, which may not happen on an async
    /// worker (the pool can be dropped there): it closes on a thread of its own.
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = std::thread::Builder::new()
                .name("sync-pg-close".into())
                .spawn(move || drop(client));
        }
    }
}

/// The writer's connection; it connects again when the database dropped it.
struct PgWriter {
    url: String,
    client: Client,
    statements: Statements,
}

impl WriterConn for PgWriter {
    fn transaction(
        &mut self,
        f: &mut dyn FnMut(&mut dyn Db) -> Result<(), ApiError>,
    ) -> Result<(), ApiError> {
        if self.client.is_closed() {
            tracing::warn!("the connection to PostgreSQL was lost; connecting again");
            self.client = connect(&self.url)?;
            self.statements = Statements::default();
        }
        let mut tx = self.client.transaction().map_err(DbError::from)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOG_LOCK])
            .map_err(DbError::from)?;
        let appended = {
            let mut db = Pg::new(&mut tx, &mut self.statements);
            f(&mut db)?;
            if db.appended { Some(db.head()?) } else { None }
        };
        if let Some(head) = appended {
            tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &head.to_string()])
                .map_err(DbError::from)?;
        }
        tx.commit().map_err(DbError::from)?;
        Ok(())
    }

    fn head(&mut self) -> Result<i64, DbError> {
        Pg::new(&mut self.client, &mut self.statements).head()
    }
}

/// How long the listener waits for a notification before it looks whether it must stop.
const LISTEN_TICK: Duration = Duration::from_millis(200);

/// Calls `moved(head)` whenever a writer on any instance commits new events.
fn listen_for_heads(url: String) -> ListenForHeads {
    Box::new(move |moved| {
        Listening::spawn("sync-head-listener", move |stop| {
            listen(&url, stop, moved.as_ref());
        })
    })
}

fn listen(url: &str, stop: &mpsc::Receiver<()>, moved: &dyn Fn(i64)) {
    let mut client: Option<Client> = None;
    loop {
        if !matches!(stop.try_recv(), Err(mpsc::TryRecvError::Empty)) {
            return;
        }
        let Some(connected) = client.as_mut().filter(|c| !c.is_closed()) else {
            match connect(url).and_then(|mut c| {
                c.batch_execute(&format!("LISTEN {CHANNEL}"))?;
                // What committed while nobody listened.
                let head: i64 = c
                    .query_one("SELECT COALESCE(MAX(position), 0) FROM events", &[])?
                    .try_get(0)?;
                moved(head);
                Ok(c)
            }) {
                Ok(c) => client = Some(c),
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for new events; trying again");
                    if super::stopped(stop, LISTEN_TICK * 5) {
                        return;
                    }
                }
            }
            continue;
        };
        let mut notifications = connected.notifications();
        let mut iter = notifications.timeout_iter(LISTEN_TICK);
        loop {
            match iter.next() {
                Ok(Some(notification)) => {
                    if let Ok(head) = notification.payload().parse::<i64>() {
                        moved(head);
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(%error, "lost the notification connection");
                    break;
                }
            }
        }
    }
}

/// Creates the schema or brings it up to date, one instance at a time.
fn migrate(client: &mut Client) -> Result<(), DbError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])?;
    // "already exists, skipping" is no news.
    tx.batch_execute("SET LOCAL client_min_messages = warning")?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version     INTEGER PRIMARY KEY,
             applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )?;
    let applied: i32 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )?
        .try_get(0)?;
    let applied = usize::try_from(applied).map_err(|e| DbError::corrupt("schema_migrations", e))?;
    if applied > MIGRATIONS.len() {
        return Err(DbError::corrupt(
            "schema_migrations",
            format!(
                "the database is at schema {applied}, newer than this server ({}); run the newer server",
                MIGRATIONS.len()
            ),
        ));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let version = i32::try_from(index + 1).map_err(|e| DbError::corrupt("a migration", e))?;
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&version],
        )?;
        tracing::info!(version, "migrated the PostgreSQL schema");
    }
    tx.commit()?;
    Ok(())
}

/// The server's own device id, the same for every instance (the first one makes it).
fn server_device_id(client: &mut Client) -> Result<Uuid, DbError> {
    client.execute(
        "INSERT INTO server (singleton, server_device_id, created_at) VALUES (1, $1, $2)
         ON CONFLICT (singleton) DO NOTHING",
        &[&Uuid::now_v7(), &crate::db::now_text()],
    )?;
    Ok(client
        .query_one(
            "SELECT server_device_id FROM server WHERE singleton = 1",
            &[],
        )?
        .try_get(0)?)
}

pub(super) fn open(url: &str) -> Result<Opened, DbError> {
    let mut client = connect(url)?;
    migrate(&mut client)?;
    let server_device = server_device_id(&mut client)?;
    let mut statements = Statements::default();
    let head = Pg::new(&mut client, &mut statements).head()?;
    let readers_url = url.to_string();
    Ok(Opened {
        writer: Box::new(PgWriter {
            url: url.to_string(),
            client,
            statements,
        }),
        open_reader: Box::new(move || {
            Ok(Box::new(PgConn::new(connect(&readers_url)?)) as Box<dyn Conn>)
        }),
        server_device,
        head,
        listen_for_heads: listen_for_heads(url.to_string()),
    })
}

pub(super) fn open_admin(url: &str) -> Result<Box<dyn Conn>, DbError> {
    let mut client = connect(url)?;
    migrate(&mut client)?;
    Ok(Box::new(PgConn::new(client)))
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact("postgres://sync:s3cret@db.example:5432/conference"),
            "postgres://sync:***@db.example:5432/conference"
        );
        assert_eq!(
            redact("postgres://sync@127.0.0.1/conference"),
            "postgres://sync@127.0.0.1/conference"
        );
        assert_eq!(redact("/var/lib/sync.db"), "/var/lib/sync.db");
    }
}
