//! Errors: the server's own (start-up) and those answered to clients in the provider's shape.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen: {0}")]
    Bind(#[source] std::io::Error),
    #[error("cannot listen on the metrics address: {0}")]
    BindMetrics(#[source] std::io::Error),
    #[error("cannot serve {path} as the page's config.json: {reason}")]
    PageConfig { path: String, reason: String },
    #[error("cannot build the HTTP client for the provider: {0}")]
    HttpClient(#[source] reqwest::Error),
    #[error("cannot read the page in {path}: {source}")]
    Dist {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid allowed origin {0:?}")]
    Origin(String),
    #[error("the API key contains characters that cannot be sent in an HTTP header")]
    InvalidKey,
}

impl From<ServerError> for std::io::Error {
    fn from(err: ServerError) -> Self {
        match err {
            ServerError::Bind(io) => io,
            other => std::io::Error::other(other),
        }
    }
}

/// An error answered as `{"errorCode", "message", "details"?}`, the provider's 400 shape,
/// so the page's one error parser understands the server's own refusals too.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<String>,
    pub retry_after_secs: Option<u64>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "errorCode")]
    error_code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after_secs: None,
        }
    }

    pub fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "There is nothing at this address.",
        )
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!(
                "The upload is larger than {}. Use a smaller image.",
                human_size(limit)
            ),
        )
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMIT_EXCEEDED",
                "Too many requests. Wait a moment and try again.",
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error_code: self.code,
            message: &self.message,
            details: self.details.as_deref(),
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// `26214400` → `25 MiB`, for messages people read.
pub fn human_size(bytes: usize) -> String {
    const MIB: usize = 1024 * 1024;
    const KIB: usize = 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else if bytes >= KIB {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_size(25 * 1024 * 1024), "25 MiB");
        assert_eq!(human_size(1536 * 1024), "1.5 MiB");
        assert_eq!(human_size(2048), "2 KiB");
        assert_eq!(human_size(10), "10 bytes");
    }
}
