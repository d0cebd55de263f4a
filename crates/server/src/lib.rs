//! flexedit-server: one binary, three roles.
//!
//! - a static host for the built page (`dist/`), always;
//! - a key-holding proxy to the provider, when a key is configured ([`Config::proxy`]);
//! - an offline simulator of the provider's contract otherwise ([`Config::simulator`]).
//!
//! ```no_run
//! # async fn start() -> std::io::Result<()> {
//! use flexedit_server::{Config, Server};
//! let server = Server::bind("127.0.0.1:0".parse().unwrap(), &Config::simulator(None)).await?;
//! println!("listening on {}", server.url());
//! server.run(std::future::pending()).await
//! # }
//! ```

pub mod budget;
pub mod cli;
pub mod config;
pub mod cors;
pub mod error;
pub mod headers;
pub mod limits;
pub mod logging;
pub mod proxy;
pub mod result_fetch;
pub mod result_hosts;
pub mod simulator;
pub mod static_files;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::serve::{ListenerExt, TapIo};
use tokio::net::{TcpListener, TcpStream};
use tower_http::compression::CompressionLayer;

pub use config::{ApiKey, Config, ProxyConfig, Role, SimulatorConfig};
pub use error::ServerError;
pub use result_hosts::AssetHost;
pub use simulator::faults::Fault;
pub use url::Url;

use headers::SecurityHeaders;
use limits::RateLimiter;
use proxy::Proxy;
use result_fetch::ResultFetcher;
use simulator::Simulator;

/// The answer for any address the API does not have: refusing is what keeps the proxy
/// from being an open one.
pub(crate) async fn not_found_json() -> Response {
    error::ApiError::not_found().into_response()
}

/// The whole application for `config`, as served at `local_addr`.
pub fn app(config: &Config, local_addr: SocketAddr) -> Result<Router, ServerError> {
    let origins = cors::parse_origins(&config.allowed_origins)?;
    let (api, public) = match &config.role {
        Role::Simulator(simulator_config) => {
            let simulator = Arc::new(Simulator::new(
                simulator_config.clone(),
                local_addr,
                config.body_limit,
                config.log_prompts,
            ));
            (
                simulator::api_routes(simulator.clone()),
                Some(simulator::public_routes(simulator)),
            )
        }
        Role::Proxy(proxy_config) => {
            let proxy = Arc::new(Proxy::new(
                proxy_config,
                config.body_limit,
                config.log_prompts,
            )?);
            let fetcher = Arc::new(ResultFetcher::new(
                config.result_hosts.clone(),
                proxy_config.allow_insecure_result_urls,
                config.result_size_limit,
                proxy_config.connect_timeout,
            )?);
            let mut api = proxy::routes(proxy).merge(result_fetch::routes(fetcher));
            if let Some(per_minute) = config.rate_limit_per_minute.filter(|n| *n > 0) {
                api = api.layer(from_fn_with_state(
                    Arc::new(RateLimiter::new(per_minute)),
                    limits::rate_limit,
                ));
            }
            api = api.layer(from_fn_with_state(
                Arc::new(origins.clone()),
                cors::refuse_foreign_pages,
            ));
            (api, None)
        }
    };
    let mut api = api
        .route("/api/{*rest}", any(not_found_json))
        .route("/api", any(not_found_json))
        .layer(from_fn_with_state(
            config.body_limit,
            limits::cap_request_body,
        ))
        .layer(DefaultBodyLimit::max(config.body_limit));
    if !origins.is_empty() {
        api = api.layer(cors::layer(origins));
    }

    let mut app = Router::new().merge(api);
    if let Some(public) = public {
        app = app.merge(public);
    }
    let page = match &config.dist {
        Some(dist) => static_files::router(dist),
        None => static_files::router_without_page(),
    };
    app = match config.base_path.trim_end_matches('/') {
        "" => app.merge(page),
        base => app.nest_service(base, page).layer(from_fn_with_state(
            Arc::new(base.to_owned()),
            static_files::redirect_to_base,
        )),
    };
    let security = Arc::new(SecurityHeaders::new(config));
    let app = app
        .layer(from_fn_with_state(security, headers::add_security_headers))
        .layer(CompressionLayer::new());
    Ok(logging::with_request_logs(app))
}

/// The listener whose connections send each write at once (TCP_NODELAY). Otherwise a
/// small body written after its headers waits for the browser's delayed acknowledgement
/// of them, about 40 ms on Linux: that held back the page's stylesheet and scripts on
/// every first load.
fn without_delay(listener: TcpListener) -> TapIo<TcpListener, fn(&mut TcpStream)> {
    fn send_at_once(stream: &mut TcpStream) {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not send this connection's writes at once");
        }
    }
    listener.tap_io(send_at_once)
}

/// A server bound to a listener, ready to run.
pub struct Server {
    listener: TcpListener,
    router: Router,
    local_addr: SocketAddr,
}

impl Server {
    /// Binds to `addr` (port 0 picks a free port) and builds the application.
    pub async fn bind(addr: SocketAddr, config: &Config) -> Result<Self, ServerError> {
        let listener = TcpListener::bind(addr).await.map_err(ServerError::Bind)?;
        let local_addr = listener.local_addr().map_err(ServerError::Bind)?;
        let router = app(config, local_addr)?;
        Ok(Self {
            listener,
            router,
            local_addr,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local_addr)
    }

    /// `http://127.0.0.1:PORT` — the base URL of the bound server, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// Serves until `shutdown` resolves; requests in flight finish first.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(
            without_delay(self.listener),
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }
}

#[cfg(test)]
mod tests {
    use axum::serve::Listener;

    #[tokio::test]
    async fn connections_send_each_write_at_once() -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let mut listener = super::without_delay(listener);
        let client = tokio::net::TcpStream::connect(address);
        let ((stream, _), client) = tokio::join!(listener.accept(), client);
        client?;
        assert!(stream.nodelay()?);
        Ok(())
    }
}
