//! What an operator scrapes at `/metrics`: requests, latencies, bytes and refusals, in the
//! Prometheus text format. Each server has its own registry, so an instance (and each test
//! server in one process) counts only what it served.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use crate::budget::UpstreamBudget;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

/// The route label of everything the page answers (files, page routes, missing files):
/// one label instead of one per path keeps the number of series bounded.
pub const PAGE_ROUTE: &str = "(page)";

/// Why a request was refused for its rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitReason {
    /// This server's per-client limit (`--rate-limit`).
    Client,
    /// The provider answered 429 to a forwarded call.
    Provider,
    /// The per-key upstream budget had no slot within the wait allowed.
    Budget,
}

impl RateLimitReason {
    fn label(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Provider => "provider",
            Self::Budget => "budget",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteMethodLabels {
    route: String,
    method: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    route: &'static str,
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    role: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// From 5 ms to about three minutes: files and uploads take milliseconds, edits upstream
/// take tens of seconds.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 16))
}

/// The server's metrics; cheap to share, each handle counts into the same registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Histograms<RouteMethodLabels>,
    in_flight: Gauge,
    bytes_in: Family<RouteLabels, Counter>,
    bytes_out: Family<RouteLabels, Counter>,
    upstream: Histograms<UpstreamLabels>,
    simulated_edits: Histograms<StatusLabels>,
    rate_limited: Family<ReasonLabels, Counter>,
    budget_per_minute: Gauge,
    budget_available: Gauge,
    /// The proxy's upstream budget, read at each scrape so the figures are current.
    budget: OnceLock<Arc<UpstreamBudget>>,
}

impl Metrics {
    pub fn new(role: &'static str) -> Self {
        let mut registry = Registry::with_prefix("flexedit");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "Requests answered, by route, method and status",
            requests.clone(),
        );
        let durations: Histograms<RouteMethodLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time from a request's arrival to its response's headers",
            Unit::Seconds,
            durations.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "http_requests_in_flight",
            "Requests being answered, their bodies included",
            in_flight.clone(),
        );
        let bytes_in = Family::<RouteLabels, Counter>::default();
        registry.register_with_unit(
            "http_request_body",
            "Request body bytes read, by route",
            Unit::Bytes,
            bytes_in.clone(),
        );
        let bytes_out = Family::<RouteLabels, Counter>::default();
        registry.register_with_unit(
            "http_response_body",
            "Response body bytes sent (as sent: compressed when compressed), by route",
            Unit::Bytes,
            bytes_out.clone(),
        );
        let upstream: Histograms<UpstreamLabels> = Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "upstream_request_duration",
            "Proxy: time until the provider (or a result host) answered with headers, by route and outcome (status, timeout, unreachable, error)",
            Unit::Seconds,
            upstream.clone(),
        );
        let simulated_edits: Histograms<StatusLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "simulator_edit_duration",
            "Simulator: time to answer an edit, by status",
            Unit::Seconds,
            simulated_edits.clone(),
        );
        let rate_limited = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "rate_limit_refusals",
            "Requests refused for their rate: client (this server's per-client limit), provider (the provider answered 429) or budget (the per-key upstream budget had no slot in time)",
            rate_limited.clone(),
        );
        // Present from the start, so a rate of refusals is defined before the first one.
        for reason in [
            RateLimitReason::Client,
            RateLimitReason::Provider,
            RateLimitReason::Budget,
        ] {
            let _ = rate_limited.get_or_create(&ReasonLabels {
                reason: reason.label(),
            });
        }
        registry.register(
            "build",
            "The running version and role",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
                role,
            }),
        );
        let budget_per_minute = Gauge::default();
        registry.register(
            "upstream_budget_per_minute",
            "Requests a minute the proxy's per-key upstream budget allows (0: no budget, or no proxy)",
            budget_per_minute.clone(),
        );
        let budget_available = Gauge::default();
        registry.register(
            "upstream_budget_available",
            "Slots of the upstream budget free now, for requests that need not wait",
            budget_available.clone(),
        );
        Self {
            registry,
            requests,
            durations,
            in_flight,
            bytes_in,
            bytes_out,
            upstream,
            simulated_edits,
            rate_limited,
            budget_per_minute,
            budget_available,
            budget: OnceLock::new(),
        }
    }

    /// The proxy's upstream budget, when it has one.
    pub fn budget(&self) -> Option<&UpstreamBudget> {
        self.budget.get().map(Arc::as_ref)
    }

    /// Reports `budget` from now on (the proxy's, set once at start).
    pub fn watch_budget(&self, budget: Arc<UpstreamBudget>) {
        let _ = self.budget.set(budget);
    }

    pub fn record_request(&self, route: &str, method: &Method, status: StatusCode, took: Duration) {
        let method = method_label(method);
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method,
                status: status.as_u16(),
            })
            .inc();
        self.durations
            .get_or_create(&RouteMethodLabels {
                route: route.to_owned(),
                method,
            })
            .observe(took.as_secs_f64());
    }

    /// Counts one request in flight until the returned guard is dropped.
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    pub fn bytes_in(&self, route: &str) -> Counter {
        self.bytes_in
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .clone()
    }

    pub fn bytes_out(&self, route: &str) -> Counter {
        self.bytes_out
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .clone()
    }

    /// One call of the proxy to the provider or a result host; `outcome` is the status
    /// answered, or what went wrong before one came.
    pub fn record_upstream(&self, route: &'static str, outcome: &str, took: Duration) {
        self.upstream
            .get_or_create(&UpstreamLabels {
                route,
                outcome: outcome.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    pub fn record_simulated_edit(&self, status: StatusCode, took: Duration) {
        self.simulated_edits
            .get_or_create(&StatusLabels {
                status: status.as_u16(),
            })
            .observe(took.as_secs_f64());
    }

    pub fn rate_limited(&self, reason: RateLimitReason) {
        self.rate_limited
            .get_or_create(&ReasonLabels {
                reason: reason.label(),
            })
            .inc();
    }

    /// The text a scrape gets.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        if let Some(budget) = self.budget.get() {
            let as_gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
            self.budget_per_minute.set(as_gauge(budget.per_minute()));
            self.budget_available.set(as_gauge(budget.available()));
        }
        let mut text = String::new();
        prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// A request counted in flight; dropping it ends the count.
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Methods outside the known ones share one label, so a client cannot add series at will.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// `GET /metrics`.
pub async fn scrape(State(metrics): State<Arc<Metrics>>) -> Response {
    match metrics.render() {
        Ok(text) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(prometheus_text::CONTENT_TYPE),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_names_every_family_with_its_unit() {
        let metrics = Metrics::new("proxy");
        metrics.record_request(
            "/api/features",
            &Method::POST,
            StatusCode::OK,
            Duration::ZERO,
        );
        metrics.record_upstream("/api/features", "200", Duration::from_millis(20));
        metrics.rate_limited(RateLimitReason::Client);
        let text = metrics.render().unwrap();
        for line in [
            "flexedit_http_requests_total{route=\"/api/features\",method=\"POST\",status=\"200\"} 1",
            "flexedit_http_request_duration_seconds_count{route=\"/api/features\",method=\"POST\"} 1",
            "flexedit_upstream_request_duration_seconds_count{route=\"/api/features\",outcome=\"200\"} 1",
            "flexedit_rate_limit_refusals_total{reason=\"client\"} 1",
            "flexedit_rate_limit_refusals_total{reason=\"provider\"} 0",
            "flexedit_http_requests_in_flight 0",
            "flexedit_build_info{version=\"",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }
}
