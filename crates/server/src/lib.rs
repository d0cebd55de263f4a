//! flexedit-server: hosts the built page (`dist/`), and later the proxy and the simulator.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};

/// What the server needs to know to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// The folder that holds the built page (index.html, the wasm and its loader).
    pub dist: PathBuf,
}

/// The application: static files from `dist`, index.html for unknown paths.
pub fn router(config: &Config) -> Router {
    let index = config.dist.join("index.html");
    let files = ServeDir::new(&config.dist)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(ServeFile::new(index));
    Router::new()
        .fallback_service(files)
        .layer(CompressionLayer::new())
}

/// A server bound to a listener, ready to run.
pub struct Server {
    listener: TcpListener,
    router: Router,
}

impl Server {
    /// Binds to `addr` (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr, config: &Config) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Self {
            listener,
            router: router(config),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves; requests in flight finish first.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}
