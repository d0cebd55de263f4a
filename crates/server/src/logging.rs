//! One access line per request, its request id, and its metrics.
//!
//! A line names the method, the path without its query, the route, the status and the
//! duration, inside a span that carries the request id, so every line a request causes
//! (a proxy's warning included) can be found by it. Never headers or query strings,
//! which can carry a key or a pre-signed result URL.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use prometheus_client::metrics::counter::Counter;
use tracing::Instrument;

use crate::metrics::{InFlight, Metrics, PAGE_ROUTE};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longer ids are replaced: a log line is no place for a client's essay.
const MAX_REQUEST_ID_LEN: usize = 128;
/// Paths are cut here in the log; the rest says nothing an operator needs.
const MAX_LOGGED_PATH_LEN: usize = 512;

/// Routes that load balancers and scrapers call every few seconds: logged at debug level,
/// so they do not bury the requests people make.
const PROBES: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// The request id a client sent, when it is one a log can carry as it is.
fn sent_request_id(headers: &HeaderMap) -> Option<HeaderValue> {
    let value = headers.get(&REQUEST_ID)?;
    let text = value.to_str().ok()?;
    let fits = !text.is_empty()
        && text.len() <= MAX_REQUEST_ID_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    fits.then(|| value.clone())
}

/// A fresh 128-bit id. Only needs to be unique across instances, not unguessable.
fn new_request_id() -> HeaderValue {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let half = |salt: u64| {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(sequence);
        hasher.write_u128(nanos);
        hasher.write_u64(salt);
        hasher.finish()
    };
    let id = format!("{:016x}{:016x}", half(1), half(2));
    HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

fn logged_path(path: &str) -> &str {
    match path.char_indices().nth(MAX_LOGGED_PATH_LEN) {
        Some((at, _)) => &path[..at],
        None => path,
    }
}

/// The route label: the route's pattern, or one label for everything the page answers.
fn route_of(request: &Request) -> String {
    match request.extensions().get::<MatchedPath>() {
        // A page under a base path is a nested service, whose pattern axum makes up.
        Some(matched) if !matched.as_str().contains("__private__") => matched.as_str().to_owned(),
        _ => PAGE_ROUTE.to_owned(),
    }
}

async fn observe(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = sent_request_id(request.headers()).unwrap_or_else(new_request_id);
    let route = route_of(&request);
    let method = request.method().clone();
    let span = tracing::info_span!(
        "request",
        request_id = %id.to_str().unwrap_or_default(),
        method = %method,
        path = %logged_path(request.uri().path()),
    );
    let in_flight = metrics.in_flight();
    let counter = metrics.bytes_in(&route);
    let request = request.map(|body| Body::new(Counted::new(body, counter, None)));

    let response = next.run(request).instrument(span.clone()).await;

    let took = started.elapsed();
    let status = response.status();
    metrics.record_request(&route, &method, status, took);
    let duration_ms = (took.as_secs_f64() * 1_000_000.0).round() / 1000.0;
    span.in_scope(|| {
        if PROBES.contains(&route.as_str()) {
            tracing::debug!(status = status.as_u16(), %route, duration_ms, "served");
        } else {
            tracing::info!(status = status.as_u16(), %route, duration_ms, "served");
        }
    });
    let (mut parts, body) = response.into_parts();
    parts.headers.insert(REQUEST_ID, id);
    let body = Body::new(Counted::new(
        body,
        metrics.bytes_out(&route),
        Some(in_flight),
    ));
    Response::from_parts(parts, body)
}

/// Wraps the whole application (outermost, so it sees what goes on the wire).
pub fn with_request_logs(router: Router, metrics: Arc<Metrics>) -> Router {
    router.layer(from_fn_with_state(metrics, observe))
}

/// A body that counts its bytes as they pass, and holds the request's in-flight count
/// until it is dropped (for a response: when it has been sent or abandoned).
struct Counted {
    inner: Body,
    bytes: Counter,
    _in_flight: Option<InFlight>,
}

impl Counted {
    fn new(inner: Body, bytes: Counter, in_flight: Option<InFlight>) -> Self {
        Self {
            inner,
            bytes,
            _in_flight: in_flight,
        }
    }
}

impl http_body::Body for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(context);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            self.bytes.inc_by(data.len() as u64);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sent_id_is_kept_only_when_a_log_can_carry_it() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(REQUEST_ID, HeaderValue::from_str(value).unwrap());
            sent_request_id(&headers)
        };
        assert_eq!(with("edit-42.upload").unwrap(), "edit-42.upload");
        assert!(with("two words").is_none());
        assert!(with("a\"quote").is_none());
        assert!(with(&"x".repeat(MAX_REQUEST_ID_LEN + 1)).is_none());
        assert!(sent_request_id(&HeaderMap::new()).is_none());
    }

    #[test]
    fn fresh_ids_differ() {
        let first = new_request_id();
        let second = new_request_id();
        assert_ne!(first, second);
        assert_eq!(first.len(), 32);
    }
}
