//! The built page: files from `dist/` or from the binary itself, precompressed variants
//! when trunk or a deploy step made them, and cache headers that let hashed files live
//! forever and the entry page never.

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::page::{PageFile, PageFiles};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// Serves `dist`; paths without a file extension get index.html so the page can own them.
/// `config`, when given, answers for `config.json` instead of the folder's own.
pub fn router(dist: &Path, config: Option<Arc<PageFile>>) -> Router {
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
    with_config(Router::new(), config)
        .fallback_service(files)
        .layer(middleware::from_fn(cache_headers))
}

/// Serves the page's files held in memory, with the same types, precompressed copies,
/// validators and cache rules as a folder.
pub fn files_router(files: Arc<PageFiles>, config: Option<Arc<PageFile>>) -> Router {
    with_config(Router::new(), config)
        .fallback(serve_page_file)
        .with_state(files)
        .layer(middleware::from_fn(cache_headers))
}

fn with_config<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    config: Option<Arc<PageFile>>,
) -> Router<S> {
    let Some(config) = config else {
        return router;
    };
    router.route(
        "/config.json",
        get(move |request: Request| {
            let config = config.clone();
            async move {
                let mut response = respond(&config, request.headers(), None, "config.json");
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                response
            }
        }),
    )
}

async fn serve_page_file(State(files): State<Arc<PageFiles>>, request: Request) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        let mut response = StatusCode::METHOD_NOT_ALLOWED.into_response();
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET,HEAD"));
        return response;
    }
    let path = request.uri().path();
    let Ok(decoded) = percent_encoding::percent_decode_str(path).decode_utf8() else {
        return not_found();
    };
    let mut name = decoded.trim_start_matches('/').to_owned();
    if name.is_empty() || name.ends_with('/') {
        name.push_str("index.html");
    }
    let name = match files.get(&name) {
        Some(_) => name,
        None if is_page_route(path) => "index.html".to_owned(),
        None => return not_found(),
    };
    let Some(file) = files.get(&name) else {
        return not_found();
    };
    let copies = Precompressed {
        br: files.get(&format!("{name}.br")),
        gzip: files.get(&format!("{name}.gz")),
    };
    let mut response = respond(file, request.headers(), Some(copies), &name);
    if request.method() == Method::HEAD {
        *response.body_mut() = Body::empty();
    }
    response
}

/// The brotli and gzip copies of a file, where the build made them.
struct Precompressed<'a> {
    br: Option<&'a PageFile>,
    gzip: Option<&'a PageFile>,
}

/// The file (or the copy the client accepts best) with its type and validators, or 304
/// when the client's copy is current.
fn respond(
    original: &PageFile,
    request: &HeaderMap,
    copies: Option<Precompressed<'_>>,
    name: &str,
) -> Response {
    let mut vary = false;
    let mut chosen = (original, None);
    if let Some(copies) = copies {
        vary = copies.br.is_some() || copies.gzip.is_some();
        let mut best = 0.0;
        for (coding, copy) in [("br", copies.br), ("gzip", copies.gzip)] {
            let quality = accepted_quality(request, coding);
            if let Some(copy) = copy
                && quality > best
            {
                best = quality;
                chosen = (copy, Some(coding));
            }
        }
    }
    let (file, coding) = chosen;
    let mut headers = HeaderMap::new();
    headers.insert(header::ETAG, file.etag.clone());
    if let Some(modified) = file.modified
        && let Ok(value) = HeaderValue::from_str(&httpdate::fmt_http_date(modified))
    {
        headers.insert(header::LAST_MODIFIED, value);
    }
    if vary {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if is_current(request, file) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    let mime = mime_guess::from_path(name)
        .first_raw()
        .unwrap_or("application/octet-stream");
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Some(coding) = coding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(file.bytes.len()));
    (headers, Body::from(file.bytes.clone())).into_response()
}

/// How much the client wants `coding` (`q` of Accept-Encoding, `*` included); 0 for not at all.
fn accepted_quality(request: &HeaderMap, coding: &str) -> f32 {
    let mut star = 0.0;
    for value in request.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let token = parts.next().unwrap_or_default().trim();
            let quality = parts
                .find_map(|param| {
                    let (key, value) = param.split_once('=')?;
                    (key.trim().eq_ignore_ascii_case("q"))
                        .then(|| value.trim().parse::<f32>().ok())?
                })
                .unwrap_or(1.0);
            if token.eq_ignore_ascii_case(coding) {
                return quality;
            }
            if token == "*" {
                star = quality;
            }
        }
    }
    star
}

/// Whether the client's cached copy is this file: by ETag first, else by date.
fn is_current(request: &HeaderMap, file: &PageFile) -> bool {
    if let Some(tags) = request.get(header::IF_NONE_MATCH) {
        let Ok(tags) = tags.to_str() else {
            return false;
        };
        let ours = file.etag.to_str().unwrap_or_default();
        return tags
            .split(',')
            .map(|tag| tag.trim().trim_start_matches("W/"))
            .any(|tag| tag == "*" || tag == ours);
    }
    let since = request
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| httpdate::parse_http_date(value).ok());
    match (since, file.modified) {
        // HTTP dates have whole seconds; the file's time has more.
        (Some(since), Some(modified)) => {
            modified
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|age| age.as_secs())
                .ok()
                <= since
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map(|age| age.as_secs())
                    .ok()
        }
        _ => false,
    }
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
    let headers = response.headers_mut();
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static(value));
    // Any file may be sent as a compressed copy or compressed on the way, so a shared
    // cache must keep one answer per Accept-Encoding.
    headers
        .entry(header::VARY)
        .or_insert(HeaderValue::from_static("accept-encoding"));
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
