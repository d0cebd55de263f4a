//! Command-line options; each can also come from an environment variable for containers.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use url::Url;

use crate::config::{
    ApiKey, Config, DEFAULT_RATE_LIMIT_PER_MINUTE, DEFAULT_UPSTREAM, DEFAULT_UPSTREAM_MAX_WAIT,
    DEFAULT_UPSTREAM_PER_MINUTE, Page,
};
use crate::result_hosts::AssetHost;

/// The environment variable that holds the provider key. Read from the environment only:
/// a key on the command line would show in the process list and shell history.
pub const KEY_VARIABLE: &str = "ONEMIN_API_KEY";

/// Which role to play next to hosting the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleChoice {
    /// Proxy when ONEMIN_API_KEY is set, simulator otherwise.
    Auto,
    /// Always simulate the provider, even with a key set.
    Simulator,
    /// Always forward to the provider; fails to start without a key.
    Proxy,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Serves the flexedit page, and either forwards edits to 1min.ai with a key it keeps
/// (proxy) or answers them with a local, offline simulator.
#[derive(Debug, Parser)]
#[command(
    name = "flexedit-server",
    version,
    about,
    after_help = "The provider key is read from the ONEMIN_API_KEY environment variable only, never \
                  from an option. With it set the server is a proxy (unless --role simulator); \
                  without it, a simulator. The key is never printed or logged."
)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "FLEXEDIT_HOST", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "FLEXEDIT_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Serve the page from this folder (trunk's output, e.g. dist) instead of the page
    /// built into the binary.
    #[arg(long, env = "FLEXEDIT_DIST")]
    pub dist: Option<PathBuf>,
    /// Serve this file as the page's config.json, in place of the page's own (read at start).
    #[arg(long, env = "FLEXEDIT_CONFIG", conflicts_with = "no_page")]
    pub config: Option<PathBuf>,
    /// Serve only the API, no page.
    #[arg(long, env = "FLEXEDIT_NO_PAGE")]
    pub no_page: bool,
    /// Force a role instead of choosing by the presence of ONEMIN_API_KEY.
    #[arg(long, env = "FLEXEDIT_ROLE", value_enum, default_value_t = RoleChoice::Auto)]
    pub role: RoleChoice,

    /// Provider base URL the proxy forwards to.
    #[arg(long, env = "FLEXEDIT_UPSTREAM", default_value = DEFAULT_UPSTREAM)]
    pub upstream: Url,
    /// Seconds to wait for the provider before answering 504 (edits are slow).
    #[arg(long, env = "FLEXEDIT_UPSTREAM_TIMEOUT", default_value_t = 300)]
    pub upstream_timeout: u64,
    /// Seconds to wait for a connection to the provider.
    #[arg(long, env = "FLEXEDIT_CONNECT_TIMEOUT", default_value_t = 10)]
    pub connect_timeout: u64,
    /// Requests per minute the proxy sends upstream, for everyone behind it together (the
    /// provider's limit is per key, and polls count); 0: no budget.
    #[arg(long, env = "FLEXEDIT_UPSTREAM_BUDGET", default_value_t = DEFAULT_UPSTREAM_PER_MINUTE)]
    pub upstream_budget: u32,
    /// Seconds a request waits for a slot of the upstream budget before the proxy answers
    /// 429 with Retry-After.
    #[arg(long, env = "FLEXEDIT_UPSTREAM_MAX_WAIT", default_value_t = DEFAULT_UPSTREAM_MAX_WAIT.as_secs())]
    pub upstream_max_wait: u64,
    /// Largest request body on the API, e.g. 25MiB, 500KiB or a byte count.
    #[arg(long, env = "FLEXEDIT_BODY_LIMIT", default_value = "25MiB", value_parser = parse_size)]
    pub body_limit: usize,
    /// API requests per minute per client address in the proxy role (0: unlimited).
    #[arg(long, env = "FLEXEDIT_RATE_LIMIT", default_value_t = DEFAULT_RATE_LIMIT_PER_MINUTE)]
    pub rate_limit: u32,
    /// An origin allowed to call the API from its own page (CORS). Repeat, or separate with commas.
    #[arg(
        long = "allow-origin",
        env = "FLEXEDIT_ALLOW_ORIGINS",
        value_delimiter = ','
    )]
    pub allow_origins: Vec<String>,
    /// Serve the page under this path, e.g. /tools/editor/ (the API stays at /api).
    #[arg(long, env = "FLEXEDIT_BASE_PATH", default_value = "/")]
    pub base_path: String,
    /// Who may embed the page in a frame (CSP frame-ancestors), e.g. https://dash.example.com.
    #[arg(
        long,
        env = "FLEXEDIT_FRAME_ANCESTORS",
        value_delimiter = ',',
        default_value = "'self'"
    )]
    pub frame_ancestors: Vec<String>,
    /// An endpoint the page may call besides its own origin (CSP connect-src), e.g.
    /// https://api.1min.ai for direct mode.
    #[arg(
        long = "connect-src",
        env = "FLEXEDIT_CONNECT_SRC",
        value_delimiter = ','
    )]
    pub connect_src: Vec<String>,
    /// A host the result-fetch route may download from: host, host:port or *.domain,
    /// optionally /bucket. Replaces the defaults (asset.1min.ai and *.amazonaws.com/asset.1min.ai).
    #[arg(
        long = "result-host",
        env = "FLEXEDIT_RESULT_HOSTS",
        value_delimiter = ','
    )]
    pub result_hosts: Vec<AssetHost>,
    /// Largest result image the result-fetch route passes on.
    #[arg(long, env = "FLEXEDIT_RESULT_LIMIT", default_value = "25MiB", value_parser = parse_size)]
    pub result_limit: usize,
    /// How to write logs: text, or json (one object per line, for log shippers).
    #[arg(long, env = "FLEXEDIT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Same as --log-format json.
    #[arg(long, env = "FLEXEDIT_LOG_JSON")]
    pub log_json: bool,
    /// Serve /metrics (Prometheus text format) on this address, e.g. 127.0.0.1:9100,
    /// instead of on the main port.
    #[arg(long, env = "FLEXEDIT_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Seconds to keep serving after SIGTERM or SIGINT while /readyz answers 503, so a load
    /// balancer stops sending requests first; a second signal ends the wait.
    #[arg(long, env = "FLEXEDIT_DRAIN_SECONDS", default_value_t = 0)]
    pub drain_seconds: u64,
    /// Check the server running at --host and --port (GET /healthz) and exit: 0 when it is
    /// healthy. For container health checks, where there is no curl.
    #[arg(long)]
    pub healthcheck: bool,
    /// Write the page built into this binary into DIR (new or empty) and exit, e.g. to edit
    /// its config.json or to serve it from another web server.
    #[arg(long, value_name = "DIR", conflicts_with = "healthcheck")]
    pub export_page: Option<PathBuf>,
    /// Log prompts at debug level (they are people's content: for debugging only).
    #[arg(long, env = "FLEXEDIT_LOG_PROMPTS")]
    pub log_prompts: bool,

    /// Simulator: enable faults and the /__simulator/* control routes. Never on a public server.
    #[arg(long, env = "FLEXEDIT_TEST_MODE")]
    pub test_mode: bool,
    /// Simulator: milliseconds of latency per step (25 steps by default).
    #[arg(long, env = "FLEXEDIT_STEP_LATENCY_MS", default_value_t = 40)]
    pub step_latency_ms: u64,
    /// Simulator: milliseconds the gateway_timeout fault waits before its 504.
    #[arg(long, env = "FLEXEDIT_FAULT_DELAY_MS", default_value_t = 3000)]
    pub fault_delay_ms: u64,
    /// Simulator: seconds a slow edit is held when nobody releases it.
    #[arg(long, env = "FLEXEDIT_SLOW_HOLD", default_value_t = 120)]
    pub slow_hold: u64,
    /// Simulator: memory for uploads and results; the oldest are evicted.
    #[arg(long, env = "FLEXEDIT_ASSET_CAPACITY", default_value = "256MiB", value_parser = parse_size)]
    pub asset_capacity: usize,
    /// Simulator: seconds a result URL stays valid.
    #[arg(long, env = "FLEXEDIT_RESULT_TTL", default_value_t = 3600)]
    pub result_ttl: u64,
    /// Simulator: seconds the record of an asynchronous edit answers polls after its last
    /// change (later polls find {"aiRecord": null}).
    #[arg(long, env = "FLEXEDIT_RECORD_TTL", default_value_t = 24 * 3600)]
    pub record_ttl: u64,
    /// Simulator direct mode: require this API-KEY on every call, as the provider would
    /// from a page that sends its own key.
    #[arg(long, env = "FLEXEDIT_SIMULATOR_KEY", hide_env_values = true)]
    pub simulator_key: Option<String>,
}

/// Why the options do not make a configuration.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CliError {
    #[error("--role proxy needs the provider key in the {KEY_VARIABLE} environment variable")]
    ProxyWithoutKey,
    #[error(
        "--base-path {0:?} cannot serve the page: use a path such as /tools/editor/ (letters, digits, - _ . ~; not under /api)"
    )]
    BasePath(String),
}

impl Args {
    pub fn address(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }

    pub fn log_format(&self) -> LogFormat {
        if self.log_json {
            LogFormat::Json
        } else {
            self.log_format
        }
    }

    /// The configuration these options describe, given the key from the environment.
    pub fn into_config(self, key: Option<String>) -> Result<Config, CliError> {
        let key = key.filter(|key| !key.trim().is_empty());
        let dist = if self.no_page {
            None
        } else {
            self.dist.clone()
        };
        let built_in_page = dist.is_none() && !self.no_page;
        let mut config = match (self.role, key) {
            (RoleChoice::Proxy, None) => return Err(CliError::ProxyWithoutKey),
            (RoleChoice::Proxy | RoleChoice::Auto, Some(key)) => {
                let mut config = Config::proxy(dist, self.upstream.clone(), ApiKey::new(key));
                if let Some(proxy) = config.proxy_mut() {
                    proxy.upstream_timeout = Duration::from_secs(self.upstream_timeout);
                    proxy.connect_timeout = Duration::from_secs(self.connect_timeout);
                    proxy.upstream_per_minute = self.upstream_budget;
                    proxy.upstream_max_wait = Duration::from_secs(self.upstream_max_wait);
                }
                config
            }
            (RoleChoice::Simulator | RoleChoice::Auto, _) => {
                let mut config = Config::simulator(dist);
                if let Some(simulator) = config.simulator_mut() {
                    simulator.test_mode = self.test_mode;
                    simulator.latency_per_step = Duration::from_millis(self.step_latency_ms);
                    simulator.fault_delay = Duration::from_millis(self.fault_delay_ms);
                    simulator.slow_hold = Duration::from_secs(self.slow_hold);
                    simulator.asset_capacity = self.asset_capacity;
                    simulator.result_ttl = Duration::from_secs(self.result_ttl);
                    simulator.record_ttl = Duration::from_secs(self.record_ttl);
                    simulator.api_key = self.simulator_key.clone().map(ApiKey::new);
                }
                config
            }
        };
        config.body_limit = self.body_limit;
        config.rate_limit_per_minute = (self.rate_limit > 0).then_some(self.rate_limit);
        config.allowed_origins = self.allow_origins;
        config.base_path = crate::config::normalize_base_path(&self.base_path)
            .ok_or(CliError::BasePath(self.base_path))?;
        config.frame_ancestors = self.frame_ancestors;
        config.connect_src = self.connect_src;
        if !self.result_hosts.is_empty() {
            config.result_hosts = self.result_hosts;
        }
        config.result_size_limit = self.result_limit;
        config.log_prompts = self.log_prompts;
        if built_in_page {
            config.page = Page::embedded();
        }
        config.page_config = self.config;
        config.metrics_addr = self.metrics_addr;
        Ok(config)
    }
}

/// `25MiB`, `25M`, `500KiB`, `1GiB` or a plain byte count.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: usize = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size such as 25MiB"))?;
    let factor: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        "g" | "gb" | "gib" => 1024 * 1024 * 1024,
        _ => return Err(format!("{text:?} has an unknown unit; use KiB, MiB or GiB")),
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;
    use crate::config::{DEFAULT_BODY_LIMIT, Role};

    fn parse(args: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("flexedit-server").chain(args.iter().copied()))
            .unwrap()
    }

    #[test]
    fn the_options_are_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn a_key_makes_a_proxy_unless_the_simulator_is_forced() {
        let config = parse(&[]).into_config(Some("k".into())).unwrap();
        assert!(matches!(config.role, Role::Proxy(_)));
        let config = parse(&["--role", "simulator"])
            .into_config(Some("k".into()))
            .unwrap();
        assert!(matches!(config.role, Role::Simulator(_)));
        let config = parse(&[]).into_config(None).unwrap();
        let Role::Simulator(simulator) = &config.role else {
            panic!("{config:?}")
        };
        assert!(!simulator.test_mode, "faults must be off unless asked for");
        assert_eq!(simulator.record_ttl, Duration::from_secs(24 * 3600));
        let config = parse(&["--record-ttl", "60"]).into_config(None).unwrap();
        let Role::Simulator(simulator) = &config.role else {
            panic!("{config:?}")
        };
        assert_eq!(simulator.record_ttl, Duration::from_secs(60));
        assert_eq!(
            parse(&["--role", "proxy"])
                .into_config(Some("  ".into()))
                .unwrap_err(),
            CliError::ProxyWithoutKey
        );
    }

    #[test]
    fn options_reach_the_config() {
        let config = parse(&[
            "--body-limit",
            "1MiB",
            "--rate-limit",
            "0",
            "--allow-origin",
            "https://a.example,https://b.example",
            "--result-host",
            "127.0.0.1:9000",
            "--no-page",
            "--upstream-timeout",
            "5",
            "--upstream-budget",
            "90",
            "--upstream-max-wait",
            "3",
        ])
        .into_config(Some("k".into()))
        .unwrap();
        assert_eq!(config.body_limit, 1024 * 1024);
        assert_eq!(config.rate_limit_per_minute, None);
        assert_eq!(config.allowed_origins.len(), 2);
        assert_eq!(config.result_hosts.len(), 1);
        assert!(matches!(config.page, Page::None));
        let Role::Proxy(proxy) = &config.role else {
            panic!()
        };
        assert_eq!(proxy.upstream_timeout, Duration::from_secs(5));
        assert_eq!(proxy.upstream_per_minute, 90);
        assert_eq!(proxy.upstream_max_wait, Duration::from_secs(3));
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("25MiB"), Ok(DEFAULT_BODY_LIMIT));
        assert_eq!(parse_size("25M"), Ok(DEFAULT_BODY_LIMIT));
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("2 KiB"), Ok(2048));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5 parsecs").is_err());
    }
}
