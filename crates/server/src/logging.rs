//! One log line per request: method, route, status and duration. Never headers or query
//! strings, which can carry a key or a pre-signed result URL.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::MatchedPath;
use axum::http::{Request, Response};
use tower_http::trace::TraceLayer;
use tracing::Span;

fn make_span(request: &Request<Body>) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("(static)", MatchedPath::as_str);
    tracing::info_span!("request", method = %request.method(), route = %route)
}

fn on_response(response: &Response<Body>, latency: Duration, _span: &Span) {
    tracing::info!(
        status = response.status().as_u16(),
        duration_ms = (latency.as_secs_f64() * 1_000_000.0).round() / 1000.0,
        "served"
    );
}

pub fn with_request_logs(router: Router) -> Router {
    router.layer(
        TraceLayer::new_for_http()
            .make_span_with(make_span as fn(&Request<Body>) -> Span)
            .on_request(())
            .on_response(on_response as fn(&Response<Body>, Duration, &Span))
            .on_failure(()),
    )
}
