//! Security headers on every response, and the page's Content-Security-Policy.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::config::Config;

/// What API answers, images and other non-documents get: they never need to run anything.
const NON_DOCUMENT_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// The page's policy. Inline scripts (trunk's loader) are allowed by their hash, read from
/// index.html and re-read when the file changes, so a rebuilt page keeps working.
pub struct SecurityHeaders {
    index: Option<PathBuf>,
    before_hashes: String,
    after_hashes: String,
    frame_options: Option<HeaderValue>,
    cache: Mutex<Option<(SystemTime, HeaderValue)>>,
}

impl SecurityHeaders {
    pub fn new(config: &Config) -> Self {
        let mut img_src = vec!["'self'".to_owned(), "data:".to_owned(), "blob:".to_owned()];
        img_src.extend(config.result_hosts.iter().map(|host| host.csp_source()));
        img_src.dedup();
        let mut connect_src = vec!["'self'".to_owned(), "blob:".to_owned(), "data:".to_owned()];
        connect_src.extend(config.connect_src.iter().cloned());
        let frame_ancestors = if config.frame_ancestors.is_empty() {
            "'none'".to_owned()
        } else {
            config.frame_ancestors.join(" ")
        };
        // The app is a wasm module started by a module script: 'wasm-unsafe-eval' allows
        // compiling it without allowing eval() of strings.
        let before_hashes = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'".to_owned();
        // Inline style attributes are allowed: they cannot run code, and the views set them.
        let after_hashes = format!(
            "; style-src 'self' 'unsafe-inline'; img-src {}; connect-src {}; font-src 'self'; \
             media-src 'self' blob:; worker-src 'self' blob:; manifest-src 'self'; \
             object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors {}",
            img_src.join(" "),
            connect_src.join(" "),
            frame_ancestors
        );
        let frame_options = match frame_ancestors.as_str() {
            "'self'" => Some(HeaderValue::from_static("SAMEORIGIN")),
            "'none'" => Some(HeaderValue::from_static("DENY")),
            // Embedding by named origins: X-Frame-Options cannot say that, and browsers that
            // know frame-ancestors ignore it anyway.
            _ => None,
        };
        Self {
            index: config.dist.as_ref().map(|dist| dist.join("index.html")),
            before_hashes,
            after_hashes,
            frame_options,
            cache: Mutex::new(None),
        }
    }

    /// The policy for the page as it is on disk now.
    pub fn page_policy(&self) -> HeaderValue {
        let modified = self
            .index
            .as_ref()
            .and_then(|path| std::fs::metadata(path).ok())
            .and_then(|meta| meta.modified().ok());
        if let (Some(modified), Ok(cache)) = (modified, self.cache.lock())
            && let Some((at, policy)) = cache.as_ref()
            && *at == modified
        {
            return policy.clone();
        }
        let html = self
            .index
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default();
        let policy = self.policy_for(&html);
        if let (Some(modified), Ok(mut cache)) = (modified, self.cache.lock()) {
            *cache = Some((modified, policy.clone()));
        }
        policy
    }

    fn policy_for(&self, html: &str) -> HeaderValue {
        let mut policy = self.before_hashes.clone();
        for hash in inline_script_hashes(html) {
            policy.push_str(" 'sha256-");
            policy.push_str(&hash);
            policy.push('\'');
        }
        policy.push_str(&self.after_hashes);
        HeaderValue::from_str(&policy)
            .unwrap_or_else(|_| HeaderValue::from_static(NON_DOCUMENT_CSP))
    }
}

/// Base64 SHA-256 of the text of every `<script>` without `src`, as CSP hashes them.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut hashes = Vec::new();
    let mut from = 0;
    while let Some(start) = lower[from..].find("<script").map(|i| i + from) {
        let Some(tag_end) = lower[start..].find('>').map(|i| i + start) else {
            break;
        };
        let tag = &lower[start..tag_end];
        let Some(close) = lower[tag_end..].find("</script").map(|i| i + tag_end) else {
            break;
        };
        let has_src = tag
            .split(|c: char| c.is_ascii_whitespace())
            .any(|attr| attr.starts_with("src="));
        if !has_src {
            // `lower` and `html` share byte offsets: lowercasing ASCII keeps lengths.
            let text = &html[tag_end + 1..close];
            let digest = Sha256::digest(text.as_bytes());
            hashes.push(base64::engine::general_purpose::STANDARD.encode(digest));
        }
        from = close;
    }
    hashes
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

    const TRUNK_PAGE: &str = r#"<!DOCTYPE html><html><head>
<link rel="modulepreload" href="./flexedit-1a2b3c4d5e6f7a8b.js" crossorigin="anonymous" integrity="sha384-x">
<script type="module">
import init, * as bindings from './flexedit-1a2b3c4d5e6f7a8b.js';
const wasm = await init({ module_or_path: './flexedit-1a2b3c4d5e6f7a8b_bg.wasm' });
window.wasmBindings = bindings;
dispatchEvent(new CustomEvent("TrunkApplicationStarted", {detail: {wasm}}));
</script>
<SCRIPT src="./other.js"></SCRIPT>
</head><body></body></html>"#;

    #[test]
    fn the_loader_script_is_allowed_by_its_hash() {
        let hashes = inline_script_hashes(TRUNK_PAGE);
        assert_eq!(hashes.len(), 1);
        let start = TRUNK_PAGE.find("<script type=\"module\">").unwrap() + 22;
        let end = TRUNK_PAGE.find("</script>").unwrap();
        let expected = base64::engine::general_purpose::STANDARD
            .encode(Sha256::digest(&TRUNK_PAGE.as_bytes()[start..end]));
        assert_eq!(hashes[0], expected);
    }

    #[test]
    fn the_policy_names_wasm_the_hashes_and_the_endpoints() {
        let mut config = Config::simulator(None);
        config.connect_src = vec!["https://api.1min.ai".to_owned()];
        config.frame_ancestors = vec!["https://dash.example".to_owned()];
        let security = SecurityHeaders::new(&config);
        assert!(security.frame_options.is_none());
        let policy = security.policy_for(TRUNK_PAGE);
        let policy = policy.to_str().unwrap();
        assert!(policy.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"));
        assert!(policy.contains("connect-src 'self' blob: data: https://api.1min.ai;"));
        assert!(policy.contains("frame-ancestors https://dash.example"));
        assert!(policy.contains("img-src 'self' data: blob: https://asset.1min.ai"));
        assert!(!policy.contains("unsafe-eval'") || policy.contains("wasm-unsafe-eval"));
    }
}
