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
//! - a write the client does not take within [`Limits::write_timeout`] (a reader that
//!   stalls halfway through a pull page, or stops reading its live feed) closes the
//!   connection, so the page's turn and its memory come back;
//! - shutting down stops accepting, lets the requests in flight finish (live feeds end at
//!   once: they watch the shutdown signal), then returns.
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
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
    /// For the client to take any of what the server writes.
    pub write_timeout: Duration,
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
            write_timeout: Duration::from_secs(30),
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
    metrics: Arc<crate::metrics::Metrics>,
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
            metrics.connection_refused();
            drop(tcp);
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics.connection_refused();
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let http = http.clone();
        let tls = tls.clone();
        let watcher = graceful.watcher();
        let handshake = limits.handshake_timeout;
        let write_timeout = limits.write_timeout;
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            let _slot = (slot, from_ip);
            let io: Box<dyn Io> = match tls {
                Some(acceptor) => {
                    match tokio::time::timeout(handshake, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            Box::new(WriteDeadline::new(stream, write_timeout, Some(metrics)))
                        }
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
                None => Box::new(WriteDeadline::new(tcp, write_timeout, Some(metrics))),
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

/// A connection's stream that fails a write the peer has not taken for `timeout`: a client
/// that stops reading (a pull page half sent, a live feed it no longer reads) loses its
/// connection, and with it the page's turn and memory, instead of holding them forever.
struct WriteDeadline<T> {
    inner: T,
    timeout: Duration,
    /// Set while a write waits for the peer.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Told when the deadline passes.
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

impl<T> WriteDeadline<T> {
    fn new(inner: T, timeout: Duration, metrics: Option<Arc<crate::metrics::Metrics>>) -> Self {
        Self {
            inner,
            timeout,
            stalled: None,
            metrics,
        }
    }

    /// After the inner write answered `poll`: starts or checks the deadline while it waits.
    fn watch<R>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<std::io::Result<R>>,
    ) -> Poll<std::io::Result<R>> {
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let timeout = self.timeout;
        let deadline = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => {
                if let Some(metrics) = self.metrics.take() {
                    metrics.write_timed_out();
                }
                Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the client took nothing for the write timeout",
                )))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteDeadline<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// A peer that stops reading: the write waits, and fails once the deadline passes; a
    /// peer that reads lets every write through.
    #[tokio::test(start_paused = true)]
    async fn a_write_the_peer_never_takes_fails_at_the_deadline() {
        let (server, mut client) = tokio::io::duplex(64);
        let mut guarded = WriteDeadline::new(server, Duration::from_secs(30), None);
        let page = vec![b'x'; 1024];
        let error = guarded
            .write_all(&page)
            .await
            .expect_err("the peer took only 64 bytes");
        assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);

        let (server, mut client_reading) = tokio::io::duplex(64);
        let mut guarded = WriteDeadline::new(server, Duration::from_secs(30), None);
        let reader = tokio::spawn(async move {
            let mut all = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut client_reading, &mut all)
                .await
                .map(|_| all.len())
        });
        guarded.write_all(&page).await.expect("a reading peer");
        guarded.shutdown().await.expect("shutdown");
        assert_eq!(reader.await.unwrap().unwrap(), 1024);
        let _ = client.shutdown().await;
    }
}
