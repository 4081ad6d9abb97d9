//! The HTTP server: connections accepted one task each, requests handed to the router,
//! and slow clients cut off so that none holds a connection (and what it has read)
//! unbounded:
//!
//! - a request's headers must arrive within `header_read`, on a new connection and after
//!   each response on a kept-alive one (so it is the keep-alive idle time too): the
//!   connection is closed otherwise;
//! - a request body must keep coming (`body_idle` between two pieces) and be whole within
//!   `body_total`: reading it fails otherwise, and the client gets 408 and a closed
//!   connection (`read_limited` in `body.rs` answers);
//! - a handler that panics (a bug) is answered 500 in the API's error shape, never with a
//!   dropped connection.
//!
//! On shutdown the listener closes, and the connections finish the requests they carry.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::time::{Instant, Sleep};

/// How long clients may take.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// To send a request's headers, or to start the next request on a kept-alive
    /// connection.
    pub header_read: Duration,
    /// Between two pieces of a request body.
    pub body_idle: Duration,
    /// For a whole request body.
    pub body_total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header_read: Duration::from_secs(10),
            body_idle: Duration::from_secs(10),
            body_total: Duration::from_secs(60),
        }
    }
}

/// Serves `app` (`router` for an API node, `health_router` for a worker-only one) until
/// `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    timeouts: Timeouts,
) -> std::io::Result<()> {
    let app = app
        .layer(axum::middleware::map_request(move |request: Request| {
            std::future::ready(with_timed_body(request, timeouts))
        }))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            crate::error::answer_panic,
        ));
    let mut connections = hyper::server::conn::http1::Builder::new();
    connections
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, most likely: wait for some to close.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Answers are small and often alone on the wire: send them without waiting.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let service = TowerToHyperService::new(app.clone());
        let connection = connections.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "a connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The request, its body (if it has one) read under the body timeouts.
fn with_timed_body(request: Request, timeouts: Timeouts) -> Request {
    if request.body().is_end_stream() {
        return request;
    }
    request.map(|body| Body::new(TimedBody::new(body, timeouts)))
}

/// Reading a request body took too long.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyTimedOut {
    #[error("no part of the request body came for {} s", .0.as_secs())]
    Idle(Duration),
    #[error("the request body did not arrive whole within {} s", .0.as_secs())]
    Total(Duration),
}

/// A body that fails once it stalls for `body_idle`, or runs past `body_total`.
struct TimedBody {
    inner: Body,
    idle: Duration,
    stalled: Pin<Box<Sleep>>,
    total: Duration,
    overdue: Pin<Box<Sleep>>,
}

impl TimedBody {
    fn new(inner: Body, timeouts: Timeouts) -> Self {
        let now = Instant::now();
        TimedBody {
            inner,
            idle: timeouts.body_idle,
            stalled: Box::pin(tokio::time::sleep_until(now + timeouts.body_idle)),
            total: timeouts.body_total,
            overdue: Box::pin(tokio::time::sleep_until(now + timeouts.body_total)),
        }
    }
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    /// Boxed as is, so that `read_limited` finds a `BodyTimedOut` by downcasting.
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.stalled.as_mut().reset(Instant::now() + this.idle);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(other) => Poll::Ready(other.map(|read| read.map_err(Into::into))),
            Poll::Pending => {
                let timed_out = if this.overdue.as_mut().poll(cx).is_ready() {
                    BodyTimedOut::Total(this.total)
                } else if this.stalled.as_mut().poll(cx).is_ready() {
                    BodyTimedOut::Idle(this.idle)
                } else {
                    return Poll::Pending;
                };
                Poll::Ready(Some(Err(Box::new(timed_out))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
