//! Serving HTTP (and HTTPS) connections so that slow or numerous clients cannot starve the
//! node:
//!
//! - request headers must arrive within `limits.header_seconds` (also how long an idle
//!   keep-alive connection stays open), bodies within `limits.body_seconds` ([`body`]);
//! - TLS handshakes happen in each connection's own task, within 10 s, so a slow one never
//!   holds up accepting others;
//! - open connections are capped below the process's open-file limit ([`open_files`]),
//!   and at the cap the longest-idle connection makes room ([`registry`]).

pub(crate) mod answers;
pub(crate) mod body;
pub(crate) mod client_address;
pub(crate) mod open_files;
pub(crate) mod problem;
pub(crate) mod registry;

pub(crate) use problem::{error_response, status_of};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use registry::{Connection, Registry};

/// Marks an answer as never to be cached or content-sniffed: what the node sends holds
/// people's words and may pass through shared computers and proxies.
pub(crate) fn private(headers: &mut axum::http::HeaderMap) {
    use axum::http::{HeaderValue, header};
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How the accept loop treats connections.
#[derive(Clone)]
pub(crate) struct ServeSettings {
    /// Longest time to send a request's headers (and to stay idle between requests).
    pub(crate) header_timeout: Duration,
    /// Open connections allowed at once.
    pub(crate) registry: Registry,
    /// Set for HTTPS.
    pub(crate) tls: Option<TlsAcceptor>,
}

/// Serves `app` on `listener` until `shutdown` turns true, then lets open requests finish
/// (at most 10 s) and returns.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    settings: ServeSettings,
    shutdown: tokio_util::sync::CancellationToken,
) -> std::io::Result<()> {
    let (closing_tx, closing) = watch::channel(false);
    let connections = tokio_util::task::TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(connection) = settings.registry.open(peer.ip()) else {
            tracing::warn!(%peer, open = settings.registry.max(), "every connection is busy; turned one away");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        connections.spawn(handle(
            stream,
            peer,
            connection,
            app.clone(),
            settings.clone(),
            closing.clone(),
        ));
    }
    let _ = closing_tx.send(true);
    drop(listener);
    // Let requests in progress finish (at most 10 s); websockets are told to close by the
    // node itself.
    connections.close();
    if tokio::time::timeout(Duration::from_secs(10), connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "connections still open after 10 s; stopping without them"
        );
    }
    Ok(())
}

async fn handle(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    connection: Connection,
    app: Router,
    settings: ServeSettings,
    closing: watch::Receiver<bool>,
) {
    let shed = connection.shed.clone();
    match settings.tls.clone() {
        None => serve_connection(stream, peer, connection, app, &settings, closing).await,
        Some(acceptor) => {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
            let tls = tokio::select! {
                tls = handshake => tls,
                _ = shed.notified() => return,
            };
            match tls {
                Ok(Ok(tls)) => {
                    serve_connection(tls, peer, connection, app, &settings, closing).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
    }
}

async fn serve_connection<S>(
    io: S,
    peer: SocketAddr,
    connection: Connection,
    app: Router,
    settings: &ServeSettings,
    mut closing: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connection = Arc::new(connection);
    let shed = connection.shed.clone();
    let requests = connection.clone();
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        // The connection counts as busy (never shed) only once the request's body is in:
        // [`body::read_body_in_time`] marks it, so a slow upload can be shed like an idle
        // connection.
        req.extensions_mut().insert(requests.clone());
        let app = app.clone();
        async move { app.oneshot(req.map(Body::new)).await }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_timeout)
        .keep_alive(true);
    // The upgraded websocket keeps the socket, and with it this registration (dropped
    // when the socket is).
    let io = Registered {
        inner: io,
        _connection: connection,
    };
    let conn = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        }
        _ = shed.notified() => {}
        () = async { let _ = closing.wait_for(|c| *c).await; } => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// A socket that holds its connection's registration for as long as it is open.
struct Registered<S> {
    inner: S,
    _connection: Arc<Connection>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Registered<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Registered<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A data export as a download: never cached (it is personal data).
pub(crate) fn zip_download(file: crate::node::ExportFile) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    (
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", file.file_name),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        file.bytes,
    )
        .into_response()
}
