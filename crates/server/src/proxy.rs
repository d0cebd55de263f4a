//! The key-holding proxy: forwards the calls the page makes to the provider (upload, edit,
//! and the poll of an edit's record), adds the server's key, passes nothing else the
//! browser sent that could identify or authorise it, streams uploads so a large one never
//! sits in memory, checks an edit with flexedit-api before it spends upstream budget, and
//! keeps all of it within the key's budget.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use flexedit_api::{EditRequest, RecordId};
use futures_util::TryStreamExt;
use url::Url;

use crate::budget::{OverBudget, UpstreamBudget};
use crate::config::ProxyConfig;
use crate::error::{ApiError, ServerError};
use crate::limits::is_over_limit;
use crate::metrics::{Metrics, RateLimitReason};

/// Request headers passed upstream; everything else (cookies, `Authorization`, a key
/// the page sent, forwarding headers) stays behind.
const FORWARDED_REQUEST_HEADERS: [HeaderName; 3] =
    [header::CONTENT_TYPE, header::CONTENT_LENGTH, header::ACCEPT];

/// Response headers passed back; cookies the provider may set are not for the browser.
const FORWARDED_RESPONSE_HEADERS: [HeaderName; 3] = [
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::RETRY_AFTER,
];

pub struct Proxy {
    client: reqwest::Client,
    upstream: Url,
    api_key: HeaderValue,
    upstream_timeout: Duration,
    body_limit: usize,
    log_prompts: bool,
    budget: Option<Arc<UpstreamBudget>>,
    metrics: Arc<Metrics>,
}

impl Proxy {
    pub fn new(
        config: &ProxyConfig,
        body_limit: usize,
        log_prompts: bool,
        metrics: Arc<Metrics>,
    ) -> Result<Self, ServerError> {
        let budget = (config.upstream_per_minute > 0).then(|| {
            Arc::new(UpstreamBudget::new(
                config.upstream_per_minute,
                config.upstream_max_wait,
            ))
        });
        if let Some(budget) = &budget {
            // Metrics and readiness read it where it is spent.
            metrics.watch_budget(budget.clone());
        }
        let mut api_key =
            HeaderValue::from_str(config.api_key.expose()).map_err(|_| ServerError::InvalidKey)?;
        api_key.set_sensitive(true);
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            // The provider's answers are relayed as they are, redirects included.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("flexedit-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ServerError::HttpClient)?;
        Ok(Self {
            client,
            upstream: config.upstream.clone(),
            api_key,
            upstream_timeout: config.upstream_timeout,
            body_limit,
            log_prompts,
            budget,
            metrics,
        })
    }

    fn upstream_url(&self, path: &str) -> String {
        format!("{}{path}", self.upstream.as_str().trim_end_matches('/'))
    }
}

pub fn routes(proxy: Arc<Proxy>) -> Router {
    Router::new()
        .route("/api/assets", post(forward).fallback(crate::not_found_json))
        .route(
            "/api/features",
            post(forward).fallback(crate::not_found_json),
        )
        // Other paths under /api/results fall through to the API's 404: only one record's
        // route, with an id that can be nothing but an id, is ever sent upstream.
        .route(
            "/api/results/{uuid}",
            get(forward_poll).fallback(crate::not_found_json),
        )
        .with_state(proxy)
}

/// `GET /api/results/{uuid}` with the key, for a canonical uuid only.
async fn forward_poll(
    State(proxy): State<Arc<Proxy>>,
    Path(uuid): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Ok(id) = RecordId::parse(&uuid) else {
        return crate::not_found_json().await;
    };
    if let Err(over) = proxy.spend().await {
        proxy.metrics.rate_limited(RateLimitReason::Budget);
        return over_budget(over);
    }
    let upstream = proxy
        .client
        .get(proxy.upstream_url(&format!("{}{id}", flexedit_api::RESULTS_ROUTE)))
        .timeout(proxy.upstream_timeout)
        .headers(forwarded(&headers, &[header::ACCEPT]))
        .header("API-KEY", proxy.api_key.clone());
    let started = Instant::now();
    let sent = upstream.send().await;
    relay(&proxy, "/api/results", started, sent)
}

impl Proxy {
    /// Waits for a slot of the upstream budget, if there is one.
    async fn spend(&self) -> Result<(), OverBudget> {
        match &self.budget {
            Some(budget) => budget.acquire().await,
            None => Ok(()),
        }
    }
}

/// 429 in the provider's own shape, so the page treats the proxy's refusal like the
/// provider's: wait `Retry-After`, then try again.
fn over_budget(over: OverBudget) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(serde_json::json!({
            "errorCode": "RATE_LIMIT_EXCEEDED",
            "message": "Too many requests, please try again later",
        })),
    )
        .into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(over.retry_after.as_secs().max(1)),
    );
    response
}

async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let (parts, body) = request.into_parts();
    let mut upstream = proxy
        .client
        .post(proxy.upstream_url(&path))
        .timeout(proxy.upstream_timeout)
        .headers(forwarded(&parts.headers, &FORWARDED_REQUEST_HEADERS))
        .header("API-KEY", proxy.api_key.clone());

    let over_limit = Arc::new(AtomicBool::new(false));
    if path == "/api/features" {
        // An edit's body is small JSON: read whole and checked as the provider would check
        // it, so a refused edit costs no upstream request.
        let bytes = match axum::body::to_bytes(body, proxy.body_limit).await {
            Ok(bytes) => bytes,
            Err(err) if is_over_limit(&err) => {
                return ApiError::payload_too_large(proxy.body_limit).into_response();
            }
            Err(_) => return client_went_away(),
        };
        if let Err(refusal) = EditRequest::from_json(&String::from_utf8_lossy(&bytes)) {
            let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST);
            return (
                status,
                [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
                refusal.error_body(),
            )
                .into_response();
        }
        if proxy.log_prompts {
            log_prompt(&bytes);
        }
        upstream = upstream.body(bytes);
    } else {
        let flag = over_limit.clone();
        let stream = body.into_data_stream().map_err(move |err| {
            if is_over_limit(&err) {
                flag.store(true, Ordering::Relaxed);
            }
            err
        });
        upstream = upstream.body(reqwest::Body::wrap_stream(stream));
    }

    if let Err(over) = proxy.spend().await {
        proxy.metrics.rate_limited(RateLimitReason::Budget);
        return over_budget(over);
    }
    let route = if path == "/api/assets" {
        "/api/assets"
    } else {
        "/api/features"
    };
    let started = Instant::now();
    let sent = upstream.send().await;
    if sent.is_err() && over_limit.load(Ordering::Relaxed) {
        proxy
            .metrics
            .record_upstream(route, "body_too_large", started.elapsed());
        return ApiError::payload_too_large(proxy.body_limit).into_response();
    }
    relay(&proxy, route, started, sent)
}

/// The provider's answer, relayed as it came, and counted.
fn relay(
    proxy: &Proxy,
    route: &'static str,
    started: Instant,
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Response {
    let outcome = match &sent {
        Ok(response) => response.status().as_u16().to_string(),
        Err(err) => failure_outcome(err).to_owned(),
    };
    proxy
        .metrics
        .record_upstream(route, &outcome, started.elapsed());
    let timeout = proxy.upstream_timeout;
    let response = match sent {
        Ok(response) => response,
        Err(err) => return upstream_error(err, timeout),
    };
    let status = response.status();
    if status == StatusCode::TOO_MANY_REQUESTS {
        proxy.metrics.rate_limited(RateLimitReason::Provider);
    }
    let headers = forwarded(response.headers(), &FORWARDED_RESPONSE_HEADERS);
    let mut relayed = Response::new(Body::from_stream(response.bytes_stream()));
    *relayed.status_mut() = status;
    *relayed.headers_mut() = headers;
    relayed
}

fn forwarded(from: &HeaderMap, names: &[HeaderName]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for name in names {
        for value in from.get_all(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    headers
}

fn log_prompt(body: &[u8]) {
    let prompt = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| {
            value
                .pointer("/promptObject/prompt")
                .and_then(|prompt| prompt.as_str().map(str::to_owned))
        });
    if let Some(prompt) = prompt {
        tracing::debug!(%prompt, "forwarding edit");
    }
}

fn client_went_away() -> Response {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST",
        "The request body could not be read.",
    )
    .into_response()
}

/// The outcome label of a call that got no answer.
pub(crate) fn failure_outcome(err: &reqwest::Error) -> &'static str {
    if err.is_timeout() {
        "timeout"
    } else if err.is_connect() {
        "unreachable"
    } else {
        "error"
    }
}

fn upstream_error(err: reqwest::Error, timeout: Duration) -> Response {
    if err.is_timeout() {
        ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "UPSTREAM_TIMEOUT",
            format!(
                "The provider did not answer within {} s. An edit may still have been billed.",
                timeout.as_secs()
            ),
        )
        .into_response()
    } else if err.is_connect() {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "UPSTREAM_UNREACHABLE",
            "The provider cannot be reached right now. Try again in a moment.",
        )
        .into_response()
    } else {
        tracing::warn!(error = %err.without_url(), "forwarding failed");
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "UPSTREAM_ERROR",
            "The connection to the provider broke. An edit may still have been billed.",
        )
        .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_allowed_headers_are_forwarded() {
        let mut from = HeaderMap::new();
        from.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        from.insert(header::COOKIE, HeaderValue::from_static("session=1"));
        from.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        from.insert("api-key", HeaderValue::from_static("browser-key"));
        let kept = forwarded(&from, &FORWARDED_REQUEST_HEADERS);
        assert_eq!(kept.len(), 1);
        assert!(kept.contains_key(header::CONTENT_TYPE));
    }

    #[test]
    fn the_upstream_base_may_have_a_path_and_slash() {
        let config = crate::config::Config::proxy(
            None,
            Url::parse("http://127.0.0.1:9/base/").unwrap(),
            "k",
        );
        let crate::config::Role::Proxy(proxy_config) = &config.role else {
            panic!()
        };
        let metrics = Arc::new(Metrics::new("proxy"));
        let proxy = Proxy::new(proxy_config, 10, false, metrics).unwrap();
        assert_eq!(
            proxy.upstream_url("/api/assets"),
            "http://127.0.0.1:9/base/api/assets"
        );
    }
}
