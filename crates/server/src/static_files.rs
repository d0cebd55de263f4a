//! The built page: files from `dist/`, precompressed variants when trunk or a deploy step
//! made them, and cache headers that let hashed files live forever and the entry page never.

use std::convert::Infallible;
use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// Serves `dist`; paths without a file extension get index.html so the page can own them.
pub fn router(dist: &Path) -> Router {
    let index = ServeFile::new(dist.join("index.html"))
        .precompressed_br()
        .precompressed_gzip();
    let fallback = tower::service_fn(move |request: Request| {
        let index = index.clone();
        async move {
            if is_page_route(request.uri().path()) {
                let response = match index.oneshot(request).await {
                    Ok(response) => response.map(Body::new),
                    Err(never) => match never {},
                };
                Ok::<_, Infallible>(response)
            } else {
                Ok(not_found())
            }
        }
    });
    let files = ServeDir::new(dist)
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(true)
        .fallback(fallback);
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(cache_headers))
}

/// Under a sub-path, `/` and the sub-path without its slash lead to the page: its relative
/// links (`./config.json`, `./embed.js`) only resolve from the address with the slash.
pub async fn redirect_to_base(
    axum::extract::State(base): axum::extract::State<std::sync::Arc<String>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if path == "/" || path == base.as_str() {
        let query = request
            .uri()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        return axum::response::Redirect::permanent(&format!("{base}/{query}")).into_response();
    }
    next.run(request).await
}

/// What answers when no page was configured.
pub fn router_without_page() -> Router {
    Router::new().fallback(|| async { not_found() })
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not found\n").into_response()
}

fn is_page_route(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or_default();
    !last.contains('.') && !path.starts_with("/api/") && !path.starts_with("/__")
}

/// Whether a file name carries a content hash, like trunk's `app-1a2b3c4d5e6f7a8b_bg.wasm`.
pub fn is_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    name.match_indices('-').any(|(at, _)| {
        let rest = &name[at + 1..];
        let hex = rest.bytes().take_while(|b| b.is_ascii_hexdigit()).count();
        (8..=64).contains(&hex) && matches!(rest.as_bytes().get(hex), Some(b'.' | b'_'))
    })
}

async fn cache_headers(request: Request, next: Next) -> Response {
    let hashed = is_hashed(request.uri().path());
    let mut response = next.run(request).await;
    let value = if hashed && response.status().is_success() {
        IMMUTABLE
    } else {
        // index.html, config.json and anything else without a hash must be checked on
        // every load, or a deploy would leave people on an old page or old settings.
        REVALIDATE
    };
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static(value));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunk_output_names_count_as_hashed() {
        assert!(is_hashed("/flexedit-1a2b3c4d5e6f7a8b_bg.wasm"));
        assert!(is_hashed("/flexedit-1a2b3c4d5e6f7a8b.js"));
        assert!(is_hashed("/sub/main-0123456789abcdef.css"));
        assert!(is_hashed("/flexedit-page-0123456789abcdef.js"));
        assert!(!is_hashed("/index.html"));
        assert!(!is_hashed("/config.json"));
        assert!(!is_hashed("/flex-edit.js"));
        assert!(!is_hashed("/"));
    }

    #[test]
    fn only_extensionless_paths_fall_back_to_the_page() {
        assert!(is_page_route("/"));
        assert!(is_page_route("/history"));
        assert!(!is_page_route("/config.json"));
        assert!(!is_page_route("/api/unknown"));
        assert!(!is_page_route("/__simulator/fault"));
    }
}
