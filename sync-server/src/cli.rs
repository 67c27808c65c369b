//! The `conference-sync` command line: run the sync server, and manage its devices. It
//! lives in the library so tests can build the same binary as a process they can kill.
use crate::{Database, Role, Settings, admin};
use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::Write;

#[derive(Parser)]
#[command(
    name = "conference-sync",
    version,
    about = "The conference sync server and its admin tasks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct DatabaseArg {
    /// The server's SQLite file (created on first use), or a PostgreSQL database as
    /// `postgres://user:password@host:port/database` (migrated on first use).
    #[arg(long, env = "CONFERENCE_SYNC_DATABASE")]
    database: Database,
}

/// Where the server's certificate comes from, or plain HTTP.
#[derive(Args, Clone)]
struct TlsArgs {
    /// The server's certificate (PEM; its chain may follow). With --tls-key. Without
    /// both, the server makes a self-signed certificate on its first start and keeps it
    /// in --tls-dir; devices pin it through their enrollment code either way.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// Where the self-signed certificate is kept (default: beside the SQLite file; the
    /// current folder for PostgreSQL).
    #[arg(long, value_name = "DIR")]
    tls_dir: Option<std::path::PathBuf>,
    /// Serve plain HTTP, on a loopback address only (tests, or TLS ended by a proxy on
    /// this machine).
    #[arg(long, conflicts_with_all = ["tls_cert", "insecure_http"])]
    plain_http: bool,
    /// Serve plain HTTP on any address: every token, name and email crosses the network
    /// readable by anyone on it. Only where the network is yours alone.
    #[arg(long, conflicts_with = "tls_cert")]
    insecure_http: bool,
}

/// How connections are bounded (see `Limits`).
#[derive(Args, Clone)]
struct LimitArgs {
    /// Connections open at once; more are closed on arrival.
    #[arg(long, default_value_t = crate::Limits::default().max_connections, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_connections: u32,
    /// Connections open at once from one IP address.
    #[arg(long, default_value_t = crate::Limits::default().max_connections_per_ip, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_connections_per_ip: u32,
    /// Seconds a client has to send a request's whole body.
    #[arg(long, value_name = "SECONDS", default_value_t = crate::Limits::default().body_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
    body_timeout: u64,
    /// Seconds a client may take none of what the server writes before it is dropped (a
    /// reader stalled halfway through a page, a live feed no longer read).
    #[arg(long, value_name = "SECONDS", default_value_t = crate::Limits::default().write_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
    write_timeout: u64,
    /// Seconds between a live feed's keep-alive comments; each also looks whether the
    /// feed's device was revoked (its feed ends then).
    #[arg(long, value_name = "SECONDS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=300))]
    keep_alive: u64,
    /// Live feeds one device may hold open at once.
    #[arg(long, default_value_t = crate::state::MAX_FEEDS_PER_DEVICE, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    max_feeds_per_device: u32,
    /// Live feeds the server holds open at once, in all.
    #[arg(long, default_value_t = crate::state::MAX_FEEDS, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_feeds: u32,
    /// Requests one device may make per second (429 `rate_limited` past it; devices wait
    /// and send again).
    #[arg(long, default_value_t = crate::state::REQUESTS_PER_SECOND, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    requests_per_second: u32,
    /// Requests one device may make at once before its rate applies.
    #[arg(long, default_value_t = crate::state::REQUEST_BURST, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    request_burst: u32,
    /// Events one device may push per second (429 `push_volume` past it).
    #[arg(long, default_value_t = crate::state::PUSHED_EVENTS_PER_SECOND, value_parser = clap::value_parser!(u32).range(1..=100_000_000))]
    pushed_events_per_second: u32,
    /// Events one device may push at once before its rate applies.
    #[arg(long, default_value_t = crate::state::PUSHED_EVENT_BURST, value_parser = clap::value_parser!(u32).range(1..=100_000_000))]
    pushed_event_burst: u32,
    /// Seconds a client has to finish its TLS handshake.
    #[arg(long, value_name = "SECONDS", default_value_t = crate::Limits::default().handshake_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
    handshake_timeout: u64,
    /// Seconds a client has to send a request's head, from connecting or from the end of
    /// its previous response (also how long an idle connection stays open).
    #[arg(long, value_name = "SECONDS", default_value_t = crate::Limits::default().header_read_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_timeout: u64,
}

impl LimitArgs {
    fn apply(&self, settings: &mut Settings) {
        settings.limits = self.limits();
        settings.max_feeds_per_device = self.max_feeds_per_device;
        settings.max_feeds = self.max_feeds;
        settings.keep_alive = std::time::Duration::from_secs(self.keep_alive);
        settings.requests_per_second = self.requests_per_second;
        settings.request_burst = self.request_burst;
        settings.pushed_events_per_second = self.pushed_events_per_second;
        settings.pushed_event_burst = self.pushed_event_burst;
    }

    fn limits(&self) -> crate::Limits {
        crate::Limits {
            max_connections: self.max_connections,
            max_connections_per_ip: self.max_connections_per_ip,
            body_timeout: std::time::Duration::from_secs(self.body_timeout),
            write_timeout: std::time::Duration::from_secs(self.write_timeout),
            handshake_timeout: std::time::Duration::from_secs(self.handshake_timeout),
            header_read_timeout: std::time::Duration::from_secs(self.header_timeout),
            ..crate::Limits::default()
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve devices until SIGTERM or Ctrl-C.
    Serve {
        #[command(flatten)]
        db: DatabaseArg,
        /// Address to listen on; port 0 picks a free one (printed on the first line).
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: String,
        #[command(flatten)]
        tls: TlsArgs,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Register, list and revoke devices.
    Device {
        #[command(subcommand)]
        command: DeviceCommand,
    },
    /// What the back office must look at.
    Reconciliation {
        #[command(subcommand)]
        command: ReconciliationCommand,
    },
    /// List every stored event the server would refuse if it were pushed now (a database
    /// written before the server replayed commands may hold some); reads only.
    Verify {
        #[command(flatten)]
        db: DatabaseArg,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Take a stored event (one `verify` lists) out of every fold and read model, on the
    /// server and on every device, without rewriting it: appends a marker to its stream.
    Neutralise {
        #[command(flatten)]
        db: DatabaseArg,
        /// The event's position (the first column of `verify`).
        #[arg(long)]
        position: i64,
        /// Why: the back office and the devices' people read it.
        #[arg(long)]
        reason: String,
        /// Print what was appended as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Rebuild the server's read models from the log while the server keeps serving, then
    /// switch to them atomically (run once after deploying a release that changes them).
    Migrate {
        #[command(flatten)]
        db: DatabaseArg,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Organizer,
    Door,
    BackOffice,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Organizer => Role::Organizer,
            RoleArg::Door => Role::Door,
            RoleArg::BackOffice => Role::BackOffice,
        }
    }
}

#[derive(Subcommand)]
enum DeviceCommand {
    /// Register a device and print its token (shown only this once).
    Add {
        #[command(flatten)]
        db: DatabaseArg,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// A conference (slug) the device may see; repeat for more. None means all.
        #[arg(long = "conference")]
        conferences: Vec<String>,
        /// Register the id the device's store already has (`conference device` shows it);
        /// a new one is made otherwise.
        #[arg(long)]
        device_id: Option<uuid::Uuid>,
        /// The address devices reach the server at, like https://10.0.0.5:8443: prints the
        /// enrollment code (address, token and certificate fingerprint in one string, and as
        /// a QR code) the device enrolls with (`conference enroll`).
        #[arg(long, value_name = "URL")]
        server: Option<String>,
        /// The server's certificate (PEM), when it serves one it was given (--tls-cert);
        /// else the one it made in --tls-dir.
        #[arg(long, value_name = "PEM")]
        tls_cert: Option<std::path::PathBuf>,
        /// Where the server keeps the certificate it made (default: beside the SQLite
        /// file; the current folder for PostgreSQL).
        #[arg(long, value_name = "DIR")]
        tls_dir: Option<std::path::PathBuf>,
        /// Print `{"device_id", "token", "enrollment_code"}`.
        #[arg(long)]
        json: bool,
    },
    /// List devices.
    List {
        #[command(flatten)]
        db: DatabaseArg,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a device: its token stops working at once.
    Revoke {
        #[command(flatten)]
        db: DatabaseArg,
        device_id: uuid::Uuid,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ReconciliationCommand {
    /// List open items (all with --all).
    List {
        #[command(flatten)]
        db: DatabaseArg,
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
}

/// Runs the command line on the process's arguments.
pub fn run() -> Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match cli.command {
        Command::Serve {
            db,
            listen,
            tls,
            limits,
        } => serve(db.database, &listen, &tls, &limits),
        Command::Device { command } => device(command),
        Command::Migrate { db, json } => {
            let Some(path) = db.database.sqlite_path() else {
                anyhow::bail!(
                    "`migrate` rebuilds the read models of a SQLite file; on PostgreSQL every instance brings the schema up to date when it starts (migrations/server-postgres), so there is nothing to run"
                );
            };
            let report = crate::migrate::migrate(path, |done, head| {
                eprint!("\rmigrating read models: {done} events replayed (head {head})");
            })
            .with_context(|| format!("could not migrate {}", path.display()))?;
            eprintln!();
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "Switched to new read models ({}): {} events replayed while serving, {} during the switch, which held writes for {:.1} ms.",
                    report.read_models.join(", "),
                    report.replayed,
                    report.replayed_at_switch,
                    report.switch_ms
                );
            }
            Ok(())
        }
        Command::Verify { db, json } => {
            let report = crate::verify::verify(&db.database, |read, head| {
                eprint!("\rverifying: {read} of {head} events read");
            })?;
            eprintln!();
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else if report.findings.is_empty() {
                println!(
                    "All {} stored events pass the checks a push gets now.",
                    report.events
                );
            } else {
                println!(
                    "{} of {} stored events would be refused if pushed now (`conference-sync neutralise --position N --reason ...` takes one out):",
                    report.findings.len(),
                    report.events
                );
                for f in &report.findings {
                    println!(
                        "position {}\t{}\t{}\tdevice {}\t{}: {}",
                        f.position, f.event_type, f.stream, f.device_id, f.code, f.reason
                    );
                }
            }
            if !report.neutralised.is_empty() {
                println!(
                    "{} event(s) neutralised by an admin (kept, left out of every fold): positions {}",
                    report.neutralised.len(),
                    report
                        .neutralised
                        .iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            Ok(())
        }
        Command::Neutralise {
            db,
            position,
            reason,
            json,
        } => {
            let done = admin::neutralise(&db.database, position, &reason)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&done)?);
            } else {
                println!(
                    "Neutralised {} at position {} ({} version {}): marker stored at position {}. Devices leave it out once they sync; it stays in the log.",
                    done.event_type, done.position, done.stream, done.version, done.marker_position
                );
            }
            Ok(())
        }
        Command::Reconciliation {
            command: ReconciliationCommand::List { db, all, json },
        } => {
            let items = admin::list_reconciliation(&db.database, all)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&items)?);
            } else if items.is_empty() {
                println!("nothing to reconcile");
            } else {
                for item in items {
                    println!(
                        "{}\t{}\t{}\tdevice {}\t{}{}",
                        item.id,
                        item.created_at,
                        item.kind,
                        item.device_id,
                        item.detail,
                        if item.resolved { "\t(resolved)" } else { "" }
                    );
                }
            }
            Ok(())
        }
    }
}

fn serve(database: Database, listen: &str, tls: &TlsArgs, limits: &LimitArgs) -> Result<()> {
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    // One core is the single writer's. The async workers only speak HTTP and JSON
    // (database reads run on the blocking pool): they take the other cores, so they do
    // not preempt the writer that every push waits for (on 2 cores, ingest went up by
    // about a sixth). `TOKIO_WORKER_THREADS` still decides when it is set.
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        runtime.worker_threads(async_workers(cores));
    }
    let runtime = runtime
        .build()
        .context("could not start the async runtime")?;
    crate::prepare_database(&database)
        .with_context(|| format!("could not open the database {database}"))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("could not listen on {listen}"))?;
        let address = listener.local_addr()?;
        let identity = identity(&database, address, tls)?;
        // The signal handlers go in before anyone learns the address: a SIGTERM sent right
        // after the first line must stop the server gracefully, not kill it.
        let shutdown = shutdown_signal().context("could not listen for SIGTERM and Ctrl-C")?;
        let mut stdout = std::io::stdout();
        let mut settings = Settings::new(database);
        limits.apply(&mut settings);
        match identity {
            Some(identity) => {
                writeln!(
                    stdout,
                    "listening on https://{address} certificate-sha256 {}",
                    identity.fingerprint
                )?;
                if identity.created {
                    tracing::info!(certificate = %identity.cert_path.display(), "made a self-signed certificate; devices pin it through their enrollment codes");
                }
                settings.tls = Some(identity.config);
            }
            None => writeln!(stdout, "listening on http://{address}")?,
        }
        stdout.flush()?;
        crate::serve(settings, listener, shutdown)
            .await
            .context("the sync server failed")
    })
}

/// The certificate to serve with, or none for plain HTTP where the flags allow it.
fn identity(
    database: &Database,
    address: std::net::SocketAddr,
    tls: &TlsArgs,
) -> Result<Option<crate::tls::Identity>> {
    if tls.plain_http && !address.ip().is_loopback() {
        anyhow::bail!(
            "--plain-http serves only on a loopback address, and {address} is not one: serve TLS (the default), or say --insecure-http if every device's token may cross this network in clear text"
        );
    }
    if tls.plain_http || tls.insecure_http {
        if !address.ip().is_loopback() {
            tracing::warn!(%address, "serving plain HTTP beyond this machine (--insecure-http): tokens, names and emails cross the network in clear text");
        }
        return Ok(None);
    }
    let identity = match (&tls.tls_cert, &tls.tls_key) {
        (Some(cert), Some(key)) => crate::tls::from_files(cert, key)?,
        _ => {
            let dir = tls_dir_of(database, tls.tls_dir.as_deref());
            let mut names = vec![address.ip().to_string()];
            if let Ok(host) = std::env::var("HOSTNAME") {
                names.push(host);
            }
            names.retain(|n| n != "0.0.0.0" && n != "::");
            crate::tls::self_signed_in(&dir, &names)?
        }
    };
    Ok(Some(identity))
}

/// Where the self-signed certificate is kept.
fn tls_dir_of(database: &Database, given: Option<&std::path::Path>) -> std::path::PathBuf {
    given.map_or_else(
        || {
            database
                .sqlite_path()
                .and_then(std::path::Path::parent)
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(
                    || std::path::PathBuf::from("."),
                    std::path::Path::to_path_buf,
                )
        },
        std::path::Path::to_path_buf,
    )
}

/// Async worker threads on a machine of `cores` cores: all but the writer's, at least one.
fn async_workers(cores: usize) -> usize {
    cores.saturating_sub(1).max(1)
}

/// Ctrl-C or SIGTERM. The handlers are registered when this is called, not when the
/// returned future is first polled.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

fn device(command: DeviceCommand) -> Result<()> {
    match command {
        DeviceCommand::Add {
            db,
            name,
            role,
            conferences,
            device_id,
            server,
            tls_cert,
            tls_dir,
            json,
        } => {
            // What the code would carry is checked before the device is registered.
            let pin = match server.as_deref() {
                Some(url) if url.starts_with("https://") => {
                    let cert = tls_cert.unwrap_or_else(|| {
                        crate::tls::self_signed_paths(&tls_dir_of(&db.database, tls_dir.as_deref()))
                            .0
                    });
                    if !cert.exists() {
                        anyhow::bail!(
                            "No certificate at {}: start the server once (it makes its certificate there), or name the one it serves with --tls-cert",
                            cert.display()
                        );
                    }
                    Some(crate::tls::fingerprint_of(&cert)?)
                }
                Some(url) if url.starts_with("http://") => None,
                Some(url) => anyhow::bail!(
                    "--server {url}: write the address devices use, like https://10.0.0.5:8443"
                ),
                None => None,
            };
            let device = admin::add_device_with_id(
                &db.database,
                device_id,
                &name,
                role.into(),
                &conferences,
            )?;
            let code = server.map(|url| {
                conference_protocol::enrollment::Enrollment {
                    server: url.trim_end_matches('/').to_string(),
                    token: device.token.clone(),
                    sha256: pin,
                }
                .encode()
            });
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "device_id": device.device_id,
                        "token": device.token,
                        "enrollment_code": code,
                    })
                );
            } else {
                println!("device id: {}", device.device_id);
                match code {
                    Some(code) => {
                        println!(
                            "enrollment code (shown only now; on the device: `conference enroll`, or paste it in the desktop's Settings):"
                        );
                        println!("{code}");
                        if let Ok(qr) = qrcode::QrCode::new(code.as_bytes()) {
                            use qrcode::render::unicode::Dense1x2;
                            println!(
                                "{}",
                                qr.render::<Dense1x2>()
                                    .dark_color(Dense1x2::Light)
                                    .light_color(Dense1x2::Dark)
                                    .build()
                            );
                        }
                    }
                    None => {
                        println!("token:     {}", device.token);
                        println!(
                            "The token is shown only now. Add --server https://ADDRESS:PORT to print the enrollment code devices use (`conference enroll`)."
                        );
                    }
                }
            }
        }
        DeviceCommand::List { db, json } => {
            let devices = admin::list_devices(&db.database)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&devices)?);
            } else {
                for d in devices {
                    println!(
                        "{}\t{}\t{}\t{}\tnext_seq {}{}",
                        d.device_id,
                        d.name,
                        d.role,
                        if d.conferences.is_empty() {
                            "all conferences".to_string()
                        } else {
                            d.conferences.join(",")
                        },
                        d.next_seq,
                        if d.revoked { "\trevoked" } else { "" }
                    );
                }
            }
        }
        DeviceCommand::Revoke {
            db,
            device_id,
            json,
        } => {
            let record = admin::revoke_device(&db.database, device_id)?;
            if json {
                println!("{}", serde_json::to_string(&record)?);
            } else {
                println!("revoked {} ({})", record.device_id, record.name);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::async_workers;

    #[test]
    fn the_async_workers_leave_one_core_to_the_writer() {
        assert_eq!(async_workers(1), 1);
        assert_eq!(async_workers(2), 1);
        assert_eq!(async_workers(8), 7);
    }
}
