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
pub mod health;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod page;
pub mod proxy;
pub mod result_fetch;
pub mod result_hosts;
pub mod simulator;
pub mod static_files;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::Method;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::serve::{ListenerExt, TapIo};
use tokio::net::{TcpListener, TcpStream};
use tower_http::compression::CompressionLayer;

pub use config::{ApiKey, Config, Page, ProxyConfig, Role, SimulatorConfig};
pub use error::ServerError;
pub use health::Readiness;
pub use page::PageFiles;
pub use result_hosts::AssetHost;
pub use simulator::faults::Fault;
pub use url::Url;

use headers::SecurityHeaders;
use health::Health;
use limits::RateLimiter;
use metrics::Metrics;
use page::PageFile;
use proxy::Proxy;
use result_fetch::ResultFetcher;
use simulator::Simulator;

/// The answer for any address the API does not have: refusing is what keeps the proxy
/// from being an open one.
pub(crate) async fn not_found_json() -> Response {
    error::ApiError::not_found().into_response()
}

/// The whole application for `config`, as served at `local_addr` (with `metrics_addr`
/// set, `/metrics` is not part of it: [`Server::bind`] serves it on that address).
pub fn app(config: &Config, local_addr: SocketAddr) -> Result<Router, ServerError> {
    Ok(Application::build(config, local_addr, Readiness::default())?.main)
}

/// The routers of one server, sharing its metrics and readiness.
struct Application {
    main: Router,
    /// `/metrics` alone, when it has an address of its own.
    metrics: Option<Router>,
}

impl Application {
    fn build(
        config: &Config,
        local_addr: SocketAddr,
        readiness: Readiness,
    ) -> Result<Self, ServerError> {
        let metrics = Arc::new(Metrics::new(config.role_name()));
        let health = Arc::new(Health {
            readiness,
            role: config.role_name(),
            page: config.page.kind(),
            metrics: metrics.clone(),
        });
        let mut operations = Router::new()
            .route("/healthz", get(health::healthz))
            .route("/readyz", get(health::readyz).with_state(health));
        let scrape =
            Router::new().route("/metrics", get(metrics::scrape).with_state(metrics.clone()));
        let separate = match config.metrics_addr {
            Some(_) => {
                // Named so the page does not answer for it with index.html.
                operations = operations.route("/metrics", any(not_found_json));
                Some(scrape.layer(CompressionLayer::new()))
            }
            None => {
                operations = operations.merge(scrape);
                None
            }
        };
        let main = routes(config, local_addr, &metrics, operations)?;
        let main = finish(main, config, metrics);
        Ok(Self {
            main,
            metrics: separate,
        })
    }
}

/// The API, `operations` (health and metrics) and the page, before the layers every
/// response gets.
fn routes(
    config: &Config,
    local_addr: SocketAddr,
    metrics: &Arc<Metrics>,
    operations: Router,
) -> Result<Router, ServerError> {
    let origins = cors::parse_origins(&config.allowed_origins)?;
    let (api, public) = match &config.role {
        Role::Simulator(simulator_config) => {
            let simulator = Arc::new(Simulator::new(
                simulator_config.clone(),
                local_addr,
                config.body_limit,
                config.log_prompts,
            ));
            let api = simulator::api_routes(simulator.clone())
                .route_layer(from_fn_with_state(metrics.clone(), time_simulated_edits));
            (api, Some(simulator::public_routes(simulator)))
        }
        Role::Proxy(proxy_config) => {
            let proxy = Arc::new(Proxy::new(
                proxy_config,
                config.body_limit,
                config.log_prompts,
                metrics.clone(),
            )?);
            let fetcher = Arc::new(ResultFetcher::new(
                config.result_hosts.clone(),
                proxy_config.allow_insecure_result_urls,
                config.result_size_limit,
                proxy_config.connect_timeout,
                metrics.clone(),
            )?);
            let mut api = proxy::routes(proxy).merge(result_fetch::routes(fetcher));
            if let Some(per_minute) = config.rate_limit_per_minute.filter(|n| *n > 0) {
                api = api.layer(from_fn_with_state(
                    Arc::new(RateLimiter::new(per_minute).counted_in(metrics.clone())),
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

    let mut app = Router::new().merge(api).merge(operations);
    if let Some(public) = public {
        app = app.merge(public);
    }
    let page_config = match &config.page_config {
        Some(path) => Some(Arc::new(read_page_config(path)?)),
        None => None,
    };
    let page = match &config.page {
        Page::Folder(dist) => static_files::router(dist, page_config),
        Page::Files(files) => static_files::files_router(files.clone(), page_config),
        Page::None => static_files::router_without_page(),
    };
    Ok(match config.base_path.trim_end_matches('/') {
        "" => app.merge(page),
        base => app.nest_service(base, page).layer(from_fn_with_state(
            Arc::new(base.to_owned()),
            static_files::redirect_to_base,
        )),
    })
}

/// The layers every response of the main address gets, the outermost last.
fn finish(app: Router, config: &Config, metrics: Arc<Metrics>) -> Router {
    let security = Arc::new(SecurityHeaders::new(config));
    let app = app
        .layer(from_fn_with_state(security, headers::add_security_headers))
        .layer(CompressionLayer::new());
    logging::with_request_logs(app, metrics)
}

/// An operator's `config.json`: it must at least be a JSON object, or every page load
/// would fall back to the defaults with only the page to say why.
fn read_page_config(path: &std::path::Path) -> Result<PageFile, ServerError> {
    let failed = |reason: String| ServerError::PageConfig {
        path: path.display().to_string(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|error| failed(error.to_string()))?;
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(_)) => {}
        Ok(_) => return Err(failed("it is JSON but not an object".to_owned())),
        Err(error) => return Err(failed(error.to_string())),
    }
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    Ok(PageFile::from_bytes(bytes.into(), modified))
}

/// The simulator's edit latency, as the proxy's upstream latency is measured: until the
/// answer's headers.
async fn time_simulated_edits(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let is_edit = request.method() == Method::POST && request.uri().path() == "/api/features";
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    if is_edit {
        metrics.record_simulated_edit(response.status(), started.elapsed());
    }
    response
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

/// A server bound to its listeners, ready to run.
pub struct Server {
    listener: TcpListener,
    router: Router,
    local_addr: SocketAddr,
    metrics: Option<(TcpListener, Router)>,
    readiness: Readiness,
}

impl Server {
    /// Binds to `addr` (port 0 picks a free port), and to the metrics address when the
    /// configuration has one, and builds the application.
    pub async fn bind(addr: SocketAddr, config: &Config) -> Result<Self, ServerError> {
        let listener = TcpListener::bind(addr).await.map_err(ServerError::Bind)?;
        let local_addr = listener.local_addr().map_err(ServerError::Bind)?;
        let readiness = Readiness::default();
        let application = Application::build(config, local_addr, readiness.clone())?;
        let metrics = match (config.metrics_addr, application.metrics) {
            (Some(metrics_addr), Some(router)) => {
                let listener = TcpListener::bind(metrics_addr)
                    .await
                    .map_err(ServerError::BindMetrics)?;
                Some((listener, router))
            }
            _ => None,
        };
        Ok(Self {
            listener,
            router: application.main,
            local_addr,
            metrics,
            readiness,
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

    /// `http://ADDR/metrics` when metrics have an address of their own.
    pub fn metrics_url(&self) -> Option<String> {
        let (listener, _) = self.metrics.as_ref()?;
        let addr = listener.local_addr().ok()?;
        Some(format!("http://{addr}/metrics"))
    }

    /// The handle that takes this server out of a load balancer's rotation (`/readyz`
    /// answers 503) while it keeps serving.
    pub fn readiness(&self) -> Readiness {
        self.readiness.clone()
    }

    /// Serves until `shutdown` resolves; requests in flight finish first.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let signal = async move {
            shutdown.await;
            let _ = stop.send(true);
        };
        let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
            // An error means the sender is gone, which only happens once it has sent.
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        let main = axum::serve(
            without_delay(self.listener),
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(until_stopped(stopped.clone()));
        let metrics = async {
            match self.metrics {
                Some((listener, router)) => {
                    axum::serve(without_delay(listener), router)
                        .with_graceful_shutdown(until_stopped(stopped.clone()))
                        .await
                }
                None => Ok(()),
            }
        };
        let ((), main, metrics) = tokio::join!(signal, main, metrics);
        main.and(metrics)
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
