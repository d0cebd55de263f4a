//! `GET /healthz` (the process serves) and `GET /readyz` (send it traffic), for load
//! balancers and orchestrators; and the client behind `--healthcheck`, for container
//! images that have no curl.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::Notify;

use crate::metrics::Metrics;

/// Whether the server still wants new requests. Cloning shares the state.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<ReadinessState>);

#[derive(Debug, Default)]
struct ReadinessState {
    draining: AtomicBool,
    changed: Notify,
}

impl Readiness {
    /// From now on `/readyz` answers 503, while every route keeps serving: a load balancer
    /// stops sending requests before the server stops taking them.
    pub fn start_draining(&self) {
        self.0.draining.store(true, Ordering::SeqCst);
        self.0.changed.notify_waiters();
    }

    pub fn is_draining(&self) -> bool {
        self.0.draining.load(Ordering::SeqCst)
    }

    /// Resolves once draining has started.
    pub async fn draining(&self) {
        loop {
            let changed = self.0.changed.notified();
            if self.is_draining() {
                return;
            }
            changed.await;
        }
    }
}

/// What `/readyz` reports besides draining: fixed at start, since the configuration is
/// loaded once and a server that could not load it never starts.
pub struct Health {
    pub readiness: Readiness,
    pub role: &'static str,
    pub page: &'static str,
    /// Where the proxy's upstream budget is reported.
    pub metrics: Arc<Metrics>,
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /healthz`: answering at all is the answer.
pub async fn healthz() -> Response {
    no_store(Json(json!({"status": "ok"})).into_response())
}

/// `GET /readyz`: 200 while this instance wants traffic; 503 while it drains, or while the
/// proxy's upstream budget has no slot free, so a balancer sends the next request to an
/// instance that can forward it now.
pub async fn readyz(State(health): State<Arc<Health>>) -> Response {
    let draining = health.readiness.is_draining();
    let budget = health
        .metrics
        .budget()
        .map(|b| (b.per_minute(), b.available()));
    let exhausted = budget.is_some_and(|(_, available)| available == 0);
    let ready = !draining && !exhausted;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body = json!({
        "ready": ready,
        "role": health.role,
        "page": health.page,
        "configuration": "loaded",
    });
    if let Some((per_minute, available)) = budget {
        body["upstreamBudget"] = json!({"perMinute": per_minute, "available": available});
    }
    if draining {
        body["reason"] = json!("draining");
    } else if exhausted {
        body["reason"] = json!("upstream budget exhausted");
    }
    no_store((status, Json(body)).into_response())
}

/// Why `--healthcheck` found the server unhealthy.
#[derive(Debug, thiserror::Error)]
pub enum HealthcheckError {
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("no answer from {url}: {reason}")]
    NoAnswer { url: String, reason: String },
    #[error("{url} answered {status}")]
    Status { url: String, status: u16 },
}

/// The address to check a server listening on `addr` at: a server on all interfaces is
/// reached on loopback, as a container's health check runs beside it.
pub fn probe_address(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

/// GETs `/healthz` of the server at `addr`; `Ok` when it answers 200.
pub async fn check(addr: SocketAddr, timeout: Duration) -> Result<(), HealthcheckError> {
    let url = format!("http://{}/healthz", probe_address(addr));
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .map_err(HealthcheckError::Client)?;
    let response = client
        .get(&url)
        .send()
        .await
        .map_err(|error| HealthcheckError::NoAnswer {
            url: url.clone(),
            reason: error.without_url().to_string(),
        })?;
    if response.status() == StatusCode::OK {
        Ok(())
    } else {
        Err(HealthcheckError::Status {
            url,
            status: response.status().as_u16(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_on_every_interface_is_checked_on_loopback() {
        assert_eq!(
            probe_address("0.0.0.0:8080".parse().unwrap()),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(
            probe_address("[::]:80".parse().unwrap()),
            "[::1]:80".parse().unwrap()
        );
        assert_eq!(
            probe_address("10.0.0.5:9".parse().unwrap()),
            "10.0.0.5:9".parse().unwrap()
        );
    }

    #[tokio::test]
    async fn waiting_for_draining_ends_when_it_starts() {
        let readiness = Readiness::default();
        let waiter = tokio::spawn({
            let readiness = readiness.clone();
            async move { readiness.draining().await }
        });
        readiness.start_draining();
        waiter.await.unwrap();
        assert!(readiness.is_draining());
        readiness.draining().await;
    }
}
