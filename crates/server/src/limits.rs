//! Limits on the API routes: request body size and requests per client.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{LengthLimitError, Limited};

use crate::error::ApiError;
use crate::metrics::{Metrics, RateLimitReason};

/// Refuses a body whose declared length is over `limit` before reading any of it, and caps
/// the rest while it streams, so neither the simulator nor the proxy ever holds more.
pub async fn cap_request_body(
    State(limit): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return ApiError::payload_too_large(limit).into_response();
    }
    let request = request.map(|body| Body::new(Limited::new(body, limit)));
    next.run(request).await
}

/// Whether an error (at any depth) is the body cap being hit.
pub fn is_over_limit(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.is::<LengthLimitError>() {
            return true;
        }
        current = error.source();
    }
    false
}

/// A token bucket per client address: `per_minute` requests in a burst, refilled evenly.
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
    metrics: Option<Arc<Metrics>>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Above this many clients, buckets that have refilled are forgotten.
const MAX_TRACKED_CLIENTS: usize = 4096;

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: per_minute.max(1),
            buckets: Mutex::new(HashMap::new()),
            metrics: None,
        }
    }

    /// Counts each refusal in `metrics`.
    pub fn counted_in(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Takes one token for `client`, or says how many seconds until one is there.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), u64> {
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let Ok(mut buckets) = self.buckets.lock() else {
            // A poisoned lock only means another request panicked; limiting is best effort.
            return Ok(());
        };
        if buckets.len() > MAX_TRACKED_CLIENTS {
            buckets.retain(|_, bucket| {
                let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
                bucket.tokens + elapsed * per_second < capacity
            });
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / per_second;
            Err(wait.ceil().max(1.0) as u64)
        }
    }
}

pub async fn rate_limit(
    State(limiter): State<Arc<RateLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    match limiter.check(client, Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(retry_after) => {
            if let Some(metrics) = &limiter.metrics {
                metrics.rate_limited(RateLimitReason::Client);
            }
            ApiError::rate_limited(retry_after).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_client_gets_its_burst_then_waits_while_others_go_on() {
        let limiter = RateLimiter::new(3);
        let now = Instant::now();
        let a = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        for _ in 0..3 {
            assert_eq!(limiter.check(a, now), Ok(()));
        }
        assert_eq!(limiter.check(a, now), Err(20));
        assert_eq!(limiter.check(b, now), Ok(()));
        assert_eq!(limiter.check(a, now + Duration::from_secs(20)), Ok(()));
    }
}
