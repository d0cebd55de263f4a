//! The provider's contract answered locally, so the product runs and is tested offline.
//!
//! - [`assets`]: `POST /api/assets`
//! - [`edit`]: `POST /api/features` and the result-fetch route
//! - [`poll`]: `GET /api/results/{uuid}`, the record of an asynchronous edit
//! - [`records`]: those records, kept for a configurable time
//! - [`render`]: the deterministic edit itself
//! - [`faults`]: failures on demand (test mode)
//! - [`control`]: `/__simulator/*`, the test-mode control routes
//! - [`results`]: expiring result URLs under `/__results/`

pub mod assets;
pub mod clock;
pub mod control;
pub mod edit;
pub mod faults;
pub mod poll;
pub mod records;
pub mod render;
pub mod results;
pub mod store;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::{get, post};

use crate::config::SimulatorConfig;
use control::RequestLog;
use faults::{Fault, FaultSwitch};
use results::Signer;
use store::{AssetStore, StoredAsset};

/// The simulator's shared state.
pub struct Simulator {
    config: SimulatorConfig,
    store: Mutex<AssetStore>,
    faults: FaultSwitch,
    log: Mutex<RequestLog>,
    signer: Signer,
    credits_used: AtomicU64,
    records: AtomicU64,
    book: records::RecordBook,
    local_addr: SocketAddr,
    log_prompts: bool,
    body_limit: usize,
}

/// The credit budget the simulator reports, as a team member's cap would be.
pub const CREDIT_LIMIT: u64 = 1_000_000;

impl Simulator {
    pub fn new(
        config: SimulatorConfig,
        local_addr: SocketAddr,
        body_limit: usize,
        log_prompts: bool,
    ) -> Self {
        Self {
            store: Mutex::new(AssetStore::new(config.asset_capacity)),
            book: records::RecordBook::new(config.record_ttl),
            config,
            faults: FaultSwitch::default(),
            log: Mutex::new(RequestLog::default()),
            signer: Signer::new_random(),
            credits_used: AtomicU64::new(0),
            records: AtomicU64::new(0),
            local_addr,
            log_prompts,
            body_limit,
        }
    }

    fn store(&self) -> MutexGuard<'_, AssetStore> {
        // The store holds no invariant a panic elsewhere could break halfway: keep going.
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn log(&self) -> MutexGuard<'_, RequestLog> {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn asset(&self, path: &str) -> Option<Arc<StoredAsset>> {
        self.store().get(path)
    }

    pub fn remove_asset(&self, path: &str) -> Option<Arc<StoredAsset>> {
        self.store().remove(path)
    }

    /// The fault for this request: the header first, then the armed one (edits only).
    fn fault_for(&self, headers: &HeaderMap, take_armed: bool) -> Option<Fault> {
        if !self.config.test_mode {
            return None;
        }
        Fault::from_headers(headers).or_else(|| if take_armed { self.faults.take() } else { None })
    }

    /// In direct mode, the key check the provider makes: an answer when it fails.
    fn check_key(&self, headers: &HeaderMap) -> Option<Response> {
        let expected = self.config.api_key.as_ref()?;
        match api_key(headers) {
            None => Some(faults::unauthorized_missing()),
            Some(sent) if sent != expected.expose() => Some(faults::unauthorized_wrong()),
            Some(_) => None,
        }
    }

    /// A fresh id in the UUID shape the provider uses.
    fn next_uuid(&self) -> String {
        let n = self.records.fetch_add(1, Ordering::Relaxed) + 1;
        let noise = render::stable_hash(&[&n.to_le_bytes(), &self.local_addr.port().to_le_bytes()]);
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            (noise >> 32) as u32,
            (noise >> 16) as u16,
            (noise & 0xfff) as u16,
            (n >> 48) as u16 & 0xfff,
            n & 0xffff_ffff_ffff
        )
    }

    /// A fresh id in the short hex shape the model host gives its requests.
    fn next_request_id(&self) -> String {
        self.next_uuid().chars().take(8).collect()
    }

    /// `http://host:port` as the client reached this server, for absolute result URLs.
    fn origin(&self, headers: &HeaderMap) -> String {
        let host = headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .filter(|host| host.parse::<axum::http::uri::Authority>().is_ok());
        match host {
            Some(host) => format!("http://{host}"),
            None => format!("http://{}", self.local_addr),
        }
    }
}

/// The `API-KEY` header as sent.
pub fn api_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get("api-key")
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

/// The API routes (under `/api`), which get the body cap and CORS of the API.
pub fn api_routes(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route(
            "/api/assets",
            post(assets::upload).fallback(crate::not_found_json),
        )
        .route(
            "/api/features",
            post(edit::features).fallback(crate::not_found_json),
        )
        .route(
            "/api/results/{uuid}",
            get(poll::result).fallback(crate::not_found_json),
        )
        .route(
            "/api/result-image",
            get(edit::result_image).fallback(crate::not_found_json),
        )
        .with_state(simulator)
}

/// Result URLs, and the control routes when in test mode.
pub fn public_routes(simulator: Arc<Simulator>) -> Router {
    let mut router = Router::new().route("/__results/{*path}", get(serve_result));
    if simulator.config.test_mode {
        router = router.merge(control::routes());
    }
    router.with_state(simulator)
}

async fn serve_result(
    State(simulator): State<Arc<Simulator>>,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let asset = simulator.asset(&path);
    results::respond(
        &simulator.signer,
        &path,
        query.as_deref().unwrap_or_default(),
        asset.as_deref(),
    )
}
