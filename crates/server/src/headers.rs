//! Security headers on every response, and the page's Content-Security-Policy.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::Config;

/// What API answers, images and other non-documents get: they never need to run anything.
const NON_DOCUMENT_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// The page's policy: scripts only from this origin (the page starts from its module file,
/// with no inline script), wasm compiled without `eval`, styles only from files — no
/// `'unsafe-inline'` and no `'unsafe-eval'` anywhere.
pub struct SecurityHeaders {
    policy: HeaderValue,
    frame_options: Option<HeaderValue>,
}

impl SecurityHeaders {
    pub fn new(config: &Config) -> Self {
        let frame_ancestors = frame_ancestors(config);
        let frame_options = match frame_ancestors.as_str() {
            "'self'" => Some(HeaderValue::from_static("SAMEORIGIN")),
            "'none'" => Some(HeaderValue::from_static("DENY")),
            // Embedding by named origins: X-Frame-Options cannot say that, and browsers that
            // know frame-ancestors ignore it anyway.
            _ => None,
        };
        Self {
            policy: HeaderValue::from_str(&page_policy(config))
                .unwrap_or_else(|_| HeaderValue::from_static(NON_DOCUMENT_CSP)),
            frame_options,
        }
    }

    pub fn page_policy(&self) -> HeaderValue {
        self.policy.clone()
    }
}

fn frame_ancestors(config: &Config) -> String {
    if config.frame_ancestors.is_empty() {
        "'none'".to_owned()
    } else {
        config.frame_ancestors.join(" ")
    }
}

/// The Content-Security-Policy the page is served with, as README documents it.
pub fn page_policy(config: &Config) -> String {
    let mut img_src = vec!["'self'".to_owned(), "data:".to_owned(), "blob:".to_owned()];
    img_src.extend(config.result_hosts.iter().map(|host| host.csp_source()));
    img_src.dedup();
    let mut connect_src = vec!["'self'".to_owned(), "blob:".to_owned(), "data:".to_owned()];
    connect_src.extend(config.connect_src.iter().cloned());
    // 'wasm-unsafe-eval' allows compiling the wasm module without allowing eval() of strings.
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src {}; connect-src {}; font-src 'self'; media-src 'self' blob:; \
         worker-src 'self' blob:; manifest-src 'self'; object-src 'none'; base-uri 'self'; \
         form-action 'self'; frame-ancestors {}",
        img_src.join(" "),
        connect_src.join(" "),
        frame_ancestors(config)
    )
}

fn is_document(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|ct| {
            let ct = ct.to_ascii_lowercase();
            ct.starts_with("text/html") || ct.contains("javascript")
        })
}

/// Adds the security header set to every response that does not set its own.
pub async fn add_security_headers(
    State(security): State<Arc<SecurityHeaders>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    // A 304 carries no Content-Type, and the browser merges its headers into the cached
    // page: a non-document policy here would replace the page's on every reload.
    if response.status() == axum::http::StatusCode::NOT_MODIFIED {
        return response;
    }
    let document = is_document(response.headers());
    let headers = response.headers_mut();
    let mut set = |name: HeaderName, value: HeaderValue| {
        headers.entry(name).or_insert(value);
    };
    set(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Result URLs are pre-signed: they must not travel to other sites in a Referer.
    set(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    set(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    );
    if document {
        set(header::CONTENT_SECURITY_POLICY, security.page_policy());
        if let Some(frame_options) = &security.frame_options {
            set(header::X_FRAME_OPTIONS, frame_options.clone());
        }
    } else {
        set(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(NON_DOCUMENT_CSP),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_wasm_and_the_endpoints_and_allows_nothing_inline() {
        let mut config = Config::simulator(None);
        config.connect_src = vec!["https://api.1min.ai".to_owned()];
        config.frame_ancestors = vec!["https://dash.example".to_owned()];
        let security = SecurityHeaders::new(&config);
        assert!(security.frame_options.is_none());
        let policy = page_policy(&config);
        assert!(policy.contains("script-src 'self' 'wasm-unsafe-eval';"));
        assert!(policy.contains("style-src 'self';"));
        // The editor's compositing worker starts from a blob (src/composite.rs).
        assert!(policy.contains("worker-src 'self' blob:;"));
        assert!(policy.contains("connect-src 'self' blob: data: https://api.1min.ai;"));
        assert!(policy.contains("frame-ancestors https://dash.example"));
        assert!(policy.contains("img-src 'self' data: blob: https://asset.1min.ai"));
        assert!(!policy.contains("unsafe-inline"));
        assert!(!policy.contains("'unsafe-eval'"));
        assert!(!policy.contains("sha256-"));
    }
}
