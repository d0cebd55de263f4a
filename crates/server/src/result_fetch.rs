//! `GET /api/result-image?url=...` in the proxy role: downloads a result image for the page
//! when the provider's bucket refuses CORS, but only from the provider's asset hosts, only
//! over https, never following a redirect elsewhere, and never more than the size cap.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use futures_util::StreamExt;
use url::Url;

use crate::error::{ApiError, ServerError};
use crate::metrics::Metrics;
use crate::result_hosts::{AssetHost, is_allowed};
use crate::simulator::edit::ResultQuery;

/// Result images are a few MB; anything slower than this is not worth waiting for.
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_REDIRECTS: usize = 3;

pub struct ResultFetcher {
    client: reqwest::Client,
    hosts: Arc<Vec<AssetHost>>,
    allow_http: bool,
    size_limit: usize,
    metrics: Arc<Metrics>,
}

impl ResultFetcher {
    pub fn new(
        hosts: Vec<AssetHost>,
        allow_http: bool,
        size_limit: usize,
        connect_timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Result<Self, ServerError> {
        let hosts = Arc::new(hosts);
        let redirect_hosts = hosts.clone();
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS
                || !is_allowed(&redirect_hosts, attempt.url(), allow_http)
            {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .redirect(policy)
            .connect_timeout(connect_timeout)
            .timeout(FETCH_TIMEOUT)
            .user_agent(concat!("flexedit-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ServerError::HttpClient)?;
        Ok(Self {
            client,
            hosts,
            allow_http,
            size_limit,
            metrics,
        })
    }
}

pub fn routes(fetcher: Arc<ResultFetcher>) -> Router {
    Router::new()
        .route(
            "/api/result-image",
            get(fetch_result).fallback(crate::not_found_json),
        )
        .with_state(fetcher)
}

fn refused(message: &str) -> Response {
    ApiError::new(StatusCode::FORBIDDEN, "RESULT_HOST_NOT_ALLOWED", message).into_response()
}

fn unavailable(message: impl Into<String>) -> Response {
    ApiError::new(StatusCode::BAD_GATEWAY, "RESULT_UNAVAILABLE", message).into_response()
}

async fn fetch_result(
    State(fetcher): State<Arc<ResultFetcher>>,
    query: Result<Query<ResultQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "Give the result's address as ?url=...",
        )
        .into_response();
    };
    let Ok(url) = Url::parse(&query.url) else {
        return refused("The result address is not a URL.");
    };
    if !is_allowed(&fetcher.hosts, &url, fetcher.allow_http) {
        return refused("Only result images on the provider's asset hosts can be fetched here.");
    }
    let started = Instant::now();
    let sent = fetcher.client.get(url).send().await;
    let outcome = match &sent {
        Ok(response) => response.status().as_u16().to_string(),
        Err(err) => crate::proxy::failure_outcome(err).to_owned(),
    };
    fetcher
        .metrics
        .record_upstream("/api/result-image", &outcome, started.elapsed());
    let response = match sent {
        Ok(response) => response,
        Err(err) if err.is_timeout() => return unavailable("The result image took too long."),
        Err(_) => return unavailable("The result image could not be loaded."),
    };
    let status = response.status();
    if status.is_redirection() {
        return refused("The result image redirects to a host that is not allowed.");
    }
    if matches!(status.as_u16(), 403 | 404 | 410) {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "RESULT_EXPIRED",
            "The result link has expired or is gone. Run the edit again to get a new one.",
        )
        .into_response();
    }
    if !status.is_success() {
        return unavailable(format!("The result host answered {}.", status.as_u16()));
    }
    if response
        .content_length()
        .is_some_and(|length| length > fetcher.size_limit as u64)
    {
        return unavailable("The result image is larger than this server passes on.");
    }
    let content_type = image_content_type(
        response.headers().get(header::CONTENT_TYPE),
        response.url().path(),
    );
    let Some(content_type) = content_type else {
        return unavailable("The result address does not hold an image.");
    };
    let length = response.content_length();
    let limit = fetcher.size_limit;
    let mut seen = 0usize;
    let stream = response.bytes_stream().map(move |chunk| {
        let chunk: Bytes = chunk.map_err(std::io::Error::other)?;
        seen += chunk.len();
        if seen > limit {
            // Without a declared length the cap can only cut the body off midway.
            return Err(std::io::Error::other("result image over the size cap"));
        }
        Ok(chunk)
    });
    let mut relayed = Response::new(Body::from_stream(stream));
    let headers = relayed.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    if let Some(length) = length {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=600"),
    );
    relayed
}

/// The image type to answer with: the host's own when it says image/*, else guessed from
/// the path (S3 often stores `application/octet-stream`). Anything else is refused, so the
/// route can never serve a page or script from another origin as this one's.
fn image_content_type(declared: Option<&HeaderValue>, path: &str) -> Option<HeaderValue> {
    let declared = declared
        .and_then(|value| value.to_str().ok())
        .map(|value| value.to_ascii_lowercase());
    match declared.as_deref() {
        Some(ct) if ct.starts_with("image/") && !ct.starts_with("image/svg") => {
            HeaderValue::from_str(ct).ok()
        }
        None | Some("application/octet-stream" | "binary/octet-stream") => {
            let extension = path.rsplit_once('.')?.1.to_ascii_lowercase();
            let guessed = match extension.as_str() {
                "png" => "image/png",
                "jpg" | "jpeg" => "image/jpeg",
                "webp" => "image/webp",
                _ => return None,
            };
            Some(HeaderValue::from_static(guessed))
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_images_are_passed_on() {
        let ct = |declared: Option<&'static str>, path| {
            image_content_type(declared.map(HeaderValue::from_static).as_ref(), path)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        assert_eq!(ct(Some("image/png"), "/a"), Some("image/png".into()));
        assert_eq!(
            ct(Some("application/octet-stream"), "/a.JPG"),
            Some("image/jpeg".into())
        );
        assert_eq!(ct(None, "/a.webp"), Some("image/webp".into()));
        assert_eq!(ct(Some("text/html"), "/a.png"), None);
        assert_eq!(ct(Some("image/svg+xml"), "/a.svg"), None);
        assert_eq!(ct(Some("application/octet-stream"), "/a.html"), None);
    }
}
