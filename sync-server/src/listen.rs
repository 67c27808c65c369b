//! Accepting connections (DESIGN.md §7 Transport and Limits): TLS or, when the operator
//! chose it, plain HTTP/1.1, each connection within bounds so a client that connects and
//! stalls holds only its own socket, and never for long.
//!
//! - at most [`Limits::max_connections`] connections at once, and at most
//!   [`Limits::max_connections_per_ip`] from one address; past either a new one is closed
//!   at once, before any byte is read (so one client's idle sockets leave room for every
//!   other device, and each of them times out below);
//! - the TLS handshake must end within [`Limits::handshake_timeout`];
//! - a request's head must arrive within [`Limits::header_read_timeout`] of the connection
//!   opening or of the previous response (hyper's header-read timer), so an idle
//!   keep-alive connection or a half-sent head (slowloris) is closed;
//! - shutting down stops accepting, lets the requests in flight finish (live feeds end at
//!   once: they watch the shutdown signal), then returns.
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// How connections are bounded. Every field is a `conference-sync serve` flag.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Connections open at once, idle or not.
    pub max_connections: u32,
    /// Connections open at once from one IP address (a venue's devices behind one NAT
    /// share it).
    pub max_connections_per_ip: u32,
    /// From accepting a connection to the end of its TLS handshake.
    pub handshake_timeout: Duration,
    /// To receive a request's whole head, counted from the connection's start or the end
    /// of the previous response (so also how long a keep-alive connection may idle).
    pub header_read_timeout: Duration,
    /// To receive a request's whole body once its head arrived (slow bodies).
    pub body_timeout: Duration,
    /// How long the requests in flight may take to finish once shutdown begins.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            max_connections_per_ip: 64,
            handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(20),
            body_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// A connection's byte stream, encrypted or not.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Serves `router` on `listener` until `shutdown` completes, then waits for the requests
/// in flight (at most `limits.shutdown_grace`).
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    router: Router,
    limits: Limits,
    on_refused: impl Fn() + Send + Sync + 'static,
    shutdown: impl Future<Output = ()> + Send,
) {
    let tls = tls.map(TlsAcceptor::from);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1) as usize));
    let per_ip = Arc::new(PerIp {
        open: std::sync::Mutex::new(std::collections::HashMap::new()),
        max: limits.max_connections_per_ip.max(1),
    });
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let on_refused = Arc::new(on_refused);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: the sockets open now close within the
                    // timeouts above; try again after a short pause instead of spinning.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(100)) => continue,
                        () = &mut shutdown => break,
                    }
                }
            },
            () = &mut shutdown => break,
        };
        let Some(from_ip) = PerIp::take(&per_ip, peer.ip()) else {
            on_refused();
            drop(tcp);
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            on_refused();
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let http = http.clone();
        let tls = tls.clone();
        let watcher = graceful.watcher();
        let handshake = limits.handshake_timeout;
        tokio::spawn(async move {
            let _slot = (slot, from_ip);
            let io: Box<dyn Io> = match tls {
                Some(acceptor) => {
                    match tokio::time::timeout(handshake, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => Box::new(stream),
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, "a TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!("a TLS handshake took too long");
                            return;
                        }
                    }
                }
                None => Box::new(tcp),
            };
            let connection = http.serve_connection(TokioIo::new(io), service);
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!(error = %e, "a connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!("requests still in flight after the shutdown grace period; stopping anyway");
        }
    }
}

/// Connections open per IP address.
struct PerIp {
    open: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, u32>>,
    max: u32,
}

/// One connection from an address; given back when dropped.
struct FromIp {
    per_ip: Arc<PerIp>,
    ip: std::net::IpAddr,
}

impl PerIp {
    fn take(per_ip: &Arc<PerIp>, ip: std::net::IpAddr) -> Option<FromIp> {
        let mut open = per_ip.open.lock().ok()?;
        let count = open.entry(ip).or_insert(0);
        if *count >= per_ip.max {
            return None;
        }
        *count += 1;
        Some(FromIp {
            per_ip: Arc::clone(per_ip),
            ip,
        })
    }
}

impl Drop for FromIp {
    fn drop(&mut self) {
        if let Ok(mut open) = self.per_ip.open.lock()
            && let Some(count) = open.get_mut(&self.ip)
        {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}
