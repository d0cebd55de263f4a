//! Everything the server needs to know to start, with the defaults of a real deployment.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::page::PageFiles;
use crate::result_hosts::AssetHost;

/// 25 MiB: comfortably above a 4-megapixel PNG, the largest input the provider is known to take.
pub const DEFAULT_BODY_LIMIT: usize = 25 * 1024 * 1024;
/// The provider's documented default is 180 requests per minute per key.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 180;
/// The provider's limit per key, which every person behind one proxy shares.
pub const DEFAULT_UPSTREAM_PER_MINUTE: u32 = 180;
/// Long enough to ride out a burst of polls, short against an edit's own duration.
pub const DEFAULT_UPSTREAM_MAX_WAIT: Duration = Duration::from_secs(10);
/// The provider's own base URL.
pub const DEFAULT_UPSTREAM: &str = "https://api.1min.ai";

/// A secret API key. Its `Debug` never shows the value, so a logged config cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl From<String> for ApiKey {
    fn from(key: String) -> Self {
        Self(key)
    }
}

impl From<&str> for ApiKey {
    fn from(key: &str) -> Self {
        Self(key.to_owned())
    }
}

/// Which of the two API roles the server plays next to hosting the page.
#[derive(Debug, Clone)]
pub enum Role {
    /// The upstream contract answered locally.
    Simulator(SimulatorConfig),
    /// Forwarding to the provider with the server's own key.
    Proxy(ProxyConfig),
}

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// Enables faults and the `/__simulator/*` control routes. Off for real use, because
    /// anyone who can reach the server could otherwise break other people's edits.
    pub test_mode: bool,
    /// Added latency per diffusion step, so that `steps` feels like it does upstream.
    pub latency_per_step: Duration,
    /// How long the `gateway_timeout` fault waits before answering 504.
    pub fault_delay: Duration,
    /// The longest a `slow` edit is held when nobody releases it.
    pub slow_hold: Duration,
    /// Total bytes of uploads and results kept in memory; the oldest go first.
    pub asset_capacity: usize,
    /// How long a result's temporary URL stays valid.
    pub result_ttl: Duration,
    /// How long the record of an asynchronous edit answers its polls after its last
    /// change; afterwards a poll finds `{"aiRecord": null}`, as for an unknown id.
    pub record_ttl: Duration,
    /// The `Retry-After` of a simulated rate limit on an edit or a poll.
    pub retry_after: Duration,
    /// Direct mode: when set, every API call must carry exactly this `API-KEY`, as a page
    /// served from elsewhere that sends its own key would have to upstream.
    pub api_key: Option<ApiKey>,
}

impl SimulatorConfig {
    /// Settings for tests: no added latency, faults and control routes on.
    pub fn testing() -> Self {
        Self {
            test_mode: true,
            latency_per_step: Duration::ZERO,
            fault_delay: Duration::from_millis(50),
            slow_hold: Duration::from_secs(120),
            ..Self::default()
        }
    }
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            test_mode: false,
            // 25 steps (the default) take one second: slow enough to see the phases.
            latency_per_step: Duration::from_millis(40),
            fault_delay: Duration::from_secs(3),
            slow_hold: Duration::from_secs(120),
            asset_capacity: 256 * 1024 * 1024,
            result_ttl: Duration::from_secs(3600),
            // A day: a person who closed the laptop mid-edit comes back the next morning at
            // the latest to find it still answerable.
            record_ttl: Duration::from_secs(24 * 3600),
            retry_after: Duration::from_secs(60),
            api_key: None,
        }
    }
}

/// How the proxy reaches the provider.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Base URL of the provider (or of a simulator standing in for it).
    pub upstream: Url,
    /// The key added to every forwarded call.
    pub api_key: ApiKey,
    /// Edits are synchronous and typically take 15–60 s; allow far more before giving up.
    pub upstream_timeout: Duration,
    pub connect_timeout: Duration,
    /// Requests the proxy sends upstream in any minute, for every person behind it
    /// together: the provider's limit is per key, and polls count. `0`: no budget.
    pub upstream_per_minute: u32,
    /// The longest a request waits for a slot of that budget before it is refused with
    /// 429 and `Retry-After`.
    pub upstream_max_wait: Duration,
    /// Lets the result-fetch route use plain http. Only for tests on loopback, where no TLS
    /// endpoint exists; a real deployment never needs it.
    pub allow_insecure_result_urls: bool,
}

/// Where the page comes from.
#[derive(Clone, Default)]
pub enum Page {
    /// No page: the API only.
    #[default]
    None,
    /// A built page in a folder (trunk's `dist/`), read on every request, so an edit to
    /// one of its files shows at once.
    Folder(PathBuf),
    /// Files held in memory: the page built into the binary ([`PageFiles::embedded`]).
    Files(Arc<PageFiles>),
}

impl Page {
    /// The page built into this binary.
    pub fn embedded() -> Self {
        Self::Files(Arc::new(PageFiles::embedded()))
    }

    /// A short name for `/readyz` and the start-up line.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Folder(_) => "folder",
            Self::Files(_) => "built-in",
        }
    }
}

impl fmt::Debug for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Folder(path) => f.debug_tuple("Folder").field(path).finish(),
            Self::Files(files) => write!(f, "Files({} files)", files.len()),
        }
    }
}

/// What the server needs to know to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// The built page (index.html, the wasm and its loader).
    pub page: Page,
    /// A file served as the page's `config.json` in place of the page's own; read once at
    /// start, so a broken one stops the server there instead of the page later.
    pub page_config: Option<PathBuf>,
    /// Serve `/metrics` on this address instead of the main one, which then has none:
    /// operators often keep metrics off the public port.
    pub metrics_addr: Option<SocketAddr>,
    /// Where the page is served: `/`, or a sub-path such as `/tools/editor/` (always with
    /// a leading and a trailing slash; see [`normalize_base_path`]). The API stays at `/api`.
    pub base_path: String,
    pub role: Role,
    /// Largest request body accepted on the API routes.
    pub body_limit: usize,
    /// Requests per minute per client address on the API routes; `None` for no limit.
    pub rate_limit_per_minute: Option<u32>,
    /// Origins allowed to call the API from a page served elsewhere (CORS).
    pub allowed_origins: Vec<String>,
    /// Who may embed the page in a frame (`frame-ancestors`).
    pub frame_ancestors: Vec<String>,
    /// Endpoints the page may call besides its own origin (`connect-src`).
    pub connect_src: Vec<String>,
    /// Hosts the result-fetch route may download from in the proxy role.
    pub result_hosts: Vec<AssetHost>,
    /// Largest result image the result-fetch route passes on.
    pub result_size_limit: usize,
    /// Log prompts (debug only: prompts are the users' content).
    pub log_prompts: bool,
}

impl Config {
    fn with_role(dist: Option<PathBuf>, role: Role) -> Self {
        Self {
            page: dist.map_or(Page::None, Page::Folder),
            page_config: None,
            metrics_addr: None,
            base_path: "/".to_owned(),
            role,
            body_limit: DEFAULT_BODY_LIMIT,
            rate_limit_per_minute: Some(DEFAULT_RATE_LIMIT_PER_MINUTE),
            allowed_origins: Vec::new(),
            frame_ancestors: vec!["'self'".to_owned()],
            connect_src: Vec::new(),
            result_hosts: AssetHost::provider_defaults(),
            result_size_limit: DEFAULT_BODY_LIMIT,
            log_prompts: false,
        }
    }

    /// A simulator in test mode with near-zero latency: what tests start in-process.
    pub fn simulator(dist: Option<PathBuf>) -> Self {
        Self::with_role(dist, Role::Simulator(SimulatorConfig::testing()))
    }

    /// A proxy to `upstream_base_url` that adds `key` to every call.
    pub fn proxy(dist: Option<PathBuf>, upstream_base_url: Url, key: impl Into<ApiKey>) -> Self {
        Self::with_role(
            dist,
            Role::Proxy(ProxyConfig {
                upstream: upstream_base_url,
                api_key: key.into(),
                upstream_timeout: Duration::from_secs(300),
                connect_timeout: Duration::from_secs(10),
                upstream_per_minute: DEFAULT_UPSTREAM_PER_MINUTE,
                upstream_max_wait: DEFAULT_UPSTREAM_MAX_WAIT,
                allow_insecure_result_urls: false,
            }),
        )
    }

    /// The simulator's settings, when it is the role.
    pub fn simulator_mut(&mut self) -> Option<&mut SimulatorConfig> {
        match &mut self.role {
            Role::Simulator(sim) => Some(sim),
            Role::Proxy(_) => None,
        }
    }

    /// The proxy's settings, when it is the role.
    pub fn proxy_mut(&mut self) -> Option<&mut ProxyConfig> {
        match &mut self.role {
            Role::Proxy(proxy) => Some(proxy),
            Role::Simulator(_) => None,
        }
    }

    /// A short name of the role for the start-up line and logs.
    pub fn role_name(&self) -> &'static str {
        match self.role {
            Role::Simulator(_) => "simulator",
            Role::Proxy(_) => "proxy",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_key() {
        let config = Config::proxy(
            None,
            Url::parse("https://api.example").unwrap(),
            "sk-very-secret",
        );
        let shown = format!("{config:?}");
        assert!(!shown.contains("sk-very-secret"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}

/// `tools/editor`, `/tools/editor` and `/tools/editor/` all mean `/tools/editor/`; empty
/// means `/`. `None` for a path that cannot serve the page (a query, `..`, or under `/api`).
pub fn normalize_base_path(raw: &str) -> Option<String> {
    let trimmed = raw.trim().trim_matches('/');
    if trimmed.is_empty() {
        return Some("/".to_owned());
    }
    let valid = trimmed.split('/').all(|segment| {
        !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
    });
    let reserved = trimmed == "api" || trimmed.starts_with("api/") || trimmed.starts_with("__");
    (valid && !reserved).then(|| format!("/{trimmed}/"))
}

#[cfg(test)]
mod base_path_tests {
    use super::normalize_base_path;

    #[test]
    fn base_paths_get_one_leading_and_one_trailing_slash() {
        assert_eq!(normalize_base_path("").as_deref(), Some("/"));
        assert_eq!(normalize_base_path("/").as_deref(), Some("/"));
        assert_eq!(
            normalize_base_path("tools/editor").as_deref(),
            Some("/tools/editor/")
        );
        assert_eq!(
            normalize_base_path("/tools/editor/").as_deref(),
            Some("/tools/editor/")
        );
        assert_eq!(normalize_base_path("/a/../b"), None);
        assert_eq!(normalize_base_path("/a?b"), None);
        assert_eq!(normalize_base_path("/api/x"), None);
        assert_eq!(normalize_base_path("/a//b"), None);
    }
}
