//! Cross-origin rules for the API: CORS only for configured origins, and, where the server
//! spends its own key, a refusal of browser requests from any other page.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::error::{ApiError, ServerError};

/// Reads `https://dash.example.com` style origins; a trailing slash is forgiven.
pub fn parse_origins(origins: &[String]) -> Result<Vec<HeaderValue>, ServerError> {
    origins
        .iter()
        .map(|origin| {
            let trimmed = origin.trim().trim_end_matches('/');
            let valid = url::Url::parse(trimmed).is_ok_and(|url| {
                matches!(url.scheme(), "http" | "https")
                    && url.host_str().is_some()
                    && url.path() == "/"
                    && url.query().is_none()
                    && url.origin().ascii_serialization() == trimmed.to_ascii_lowercase()
            });
            if !valid {
                return Err(ServerError::Origin(origin.clone()));
            }
            HeaderValue::from_str(&trimmed.to_ascii_lowercase())
                .map_err(|_| ServerError::Origin(origin.clone()))
        })
        .collect()
}

/// CORS for the API routes: the page may send `Content-Type`, in direct mode its key, and
/// a request id of its own, and may read the id back to quote it in an error report.
pub fn layer(origins: Vec<HeaderValue>) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            HeaderName::from_static("api-key"),
            crate::logging::REQUEST_ID,
        ])
        .expose_headers([crate::logging::REQUEST_ID])
        .max_age(Duration::from_secs(600))
}

/// Refuses requests that a browser sent from a page of another origin that is not
/// allowed: without this, any site a person visits could spend the proxy's key through
/// a plain form post, which needs no CORS.
pub async fn refuse_foreign_pages(
    State(allowed): State<Arc<Vec<HeaderValue>>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(origin) = request.headers().get(header::ORIGIN) else {
        return next.run(request).await;
    };
    let same_origin = request
        .headers()
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .zip(origin.to_str().ok())
        .is_some_and(|(host, origin)| {
            origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                .is_some_and(|rest| rest.eq_ignore_ascii_case(host))
        });
    let listed = origin.to_str().is_ok_and(|origin| {
        allowed
            .iter()
            .any(|a| a == origin.to_ascii_lowercase().as_str())
    });
    if same_origin || listed {
        next.run(request).await
    } else {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "ORIGIN_NOT_ALLOWED",
            "This server does not accept requests from pages of other sites.",
        )
        .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_checked_and_normalised() {
        let parsed = parse_origins(&["https://Dash.Example.com/".to_owned()]).unwrap();
        assert_eq!(parsed[0], "https://dash.example.com");
        for bad in [
            "dash.example.com",
            "https://x.example/path",
            "ftp://x.example",
            "*",
        ] {
            assert!(parse_origins(&[bad.to_owned()]).is_err(), "{bad}");
        }
    }
}
