//! `/__simulator/*`: what tests use to arm faults, release held edits and see exactly what
//! the simulator received. Mounted only in test mode.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Simulator;
use super::faults::{CannedReply, Fault};
use crate::error::ApiError;

/// Enough history for any test; older entries are dropped so a long session stays small.
const MAX_LOG_ENTRIES: usize = 1000;

/// How long `GET /__simulator/held` waits at most.
const HELD_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Serialize)]
pub struct AssetRecord {
    pub path: String,
    pub file_name: String,
    pub content_type: String,
    pub size: usize,
    pub width: u32,
    pub height: u32,
    pub format: String,
    pub api_key: Option<String>,
    /// Names of the request headers, lower case, so tests can prove what a proxy dropped.
    pub header_names: Vec<String>,
    /// The `x-request-id` the request came with (or was given on arrival).
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FeatureRecord {
    /// The body exactly as received (invalid UTF-8 replaced).
    pub body: String,
    pub api_key: Option<String>,
    pub header_names: Vec<String>,
    pub request_id: Option<String>,
}

/// A poll of a record, as received.
#[derive(Debug, Clone, Serialize)]
pub struct PollRecord {
    pub uuid: String,
    pub api_key: Option<String>,
    pub header_names: Vec<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct RequestLog {
    pub assets: VecDeque<AssetRecord>,
    pub features: VecDeque<FeatureRecord>,
    pub polls: VecDeque<PollRecord>,
}

impl RequestLog {
    pub fn record_asset(&mut self, record: AssetRecord) {
        if self.assets.len() >= MAX_LOG_ENTRIES {
            self.assets.pop_front();
        }
        self.assets.push_back(record);
    }

    pub fn record_poll(&mut self, record: PollRecord) {
        if self.polls.len() >= MAX_LOG_ENTRIES {
            self.polls.pop_front();
        }
        self.polls.push_back(record);
    }

    pub fn record_feature(&mut self, record: FeatureRecord) {
        if self.features.len() >= MAX_LOG_ENTRIES {
            self.features.pop_front();
        }
        self.features.push_back(record);
    }
}

/// The request id a request came with.
pub fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get(crate::logging::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

pub fn header_names(headers: &HeaderMap) -> Vec<String> {
    headers
        .keys()
        .map(|name| name.as_str().to_owned())
        .collect()
}

pub fn routes() -> Router<Arc<Simulator>> {
    Router::new()
        .route("/__simulator/fault", post(arm))
        .route("/__simulator/reply", post(arm_reply))
        .route("/__simulator/poll-fault", post(arm_poll))
        .route("/__simulator/finished", get(finished))
        .route("/__simulator/concurrency", get(concurrency))
        .route("/__simulator/release", post(release))
        .route("/__simulator/held", get(held))
        .route("/__simulator/requests", get(requests).delete(clear))
        .route(
            "/__simulator/assets/{*path}",
            get(asset).delete(forget_asset),
        )
}

#[derive(Deserialize)]
struct ArmRequest {
    fault: Option<String>,
}

async fn arm(
    State(simulator): State<Arc<Simulator>>,
    body: Result<Json<ArmRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    match read_fault(body) {
        Ok(fault) => {
            simulator.faults.arm(fault);
            Json(json!({"armed": fault.map(Fault::name)})).into_response()
        }
        Err(refusal) => refusal,
    }
}

/// Arms a fault for the next poll of a record (`GET /api/results/{uuid}`).
async fn arm_poll(
    State(simulator): State<Arc<Simulator>>,
    body: Result<Json<ArmRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    match read_fault(body) {
        Ok(fault) => {
            simulator.faults.arm_poll(fault);
            Json(json!({"armed": fault.map(Fault::name)})).into_response()
        }
        Err(refusal) => refusal,
    }
}

#[derive(Deserialize)]
struct FinishedQuery {
    at_least: Option<u64>,
}

/// How many asynchronous records have finished; with `?at_least=N`, answers once N have
/// (or after 10 s), so a test polls a record it knows is done without sleeping.
async fn finished(
    State(simulator): State<Arc<Simulator>>,
    Query(query): Query<FinishedQuery>,
) -> Json<serde_json::Value> {
    let finished = match query.at_least {
        Some(count) => simulator.book.wait_until_finished(count, HELD_WAIT).await,
        None => simulator.book.finished(),
    };
    Json(json!({"finished": finished}))
}

// The refusal is answered at once by the caller; boxing it would buy nothing.
#[allow(clippy::result_large_err)]
fn read_fault(
    body: Result<Json<ArmRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Option<Fault>, Response> {
    let Ok(Json(request)) = body else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            r#"Send {"fault": "<name>"} or {"fault": null}."#,
        )
        .into_response());
    };
    match request.fault.as_deref().map(str::parse::<Fault>) {
        None => Ok(None),
        Some(Ok(fault)) => Ok(Some(fault)),
        Some(Err(unknown)) => {
            let names: Vec<&str> = Fault::ALL.iter().map(|f| f.name()).collect();
            Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "UNKNOWN_FAULT",
                format!("{unknown}; known faults: {}", names.join(", ")),
            )
            .into_response())
        }
    }
}

async fn arm_reply(
    State(simulator): State<Arc<Simulator>>,
    body: Result<Json<CannedReply>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(reply)) = body else {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            r#"Send {"status": 400, "contentType": "application/json", "body": "..."}."#,
        )
        .into_response();
    };
    if StatusCode::from_u16(reply.status).is_err() {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "The status must be between 100 and 999.",
        )
        .into_response();
    }
    let status = reply.status;
    simulator.faults.arm_reply(reply);
    Json(json!({"armed": "reply", "status": status})).into_response()
}

/// Asynchronous edits at work now, and the most there were at once.
async fn concurrency(State(simulator): State<Arc<Simulator>>) -> Json<serde_json::Value> {
    let (now, most) = simulator.book.concurrency();
    Json(json!({"now": now, "max": most}))
}

async fn release(State(simulator): State<Arc<Simulator>>) -> Json<serde_json::Value> {
    let released = simulator.faults.gate.release();
    Json(json!({"released": released}))
}

#[derive(Deserialize)]
struct HeldQuery {
    at_least: Option<usize>,
}

/// With `?at_least=N`, answers once N edits are held (or after 10 s): a test can wait for
/// its edit to arrive without sleeping.
async fn held(
    State(simulator): State<Arc<Simulator>>,
    Query(query): Query<HeldQuery>,
) -> Json<serde_json::Value> {
    let held = match query.at_least {
        Some(count) => {
            simulator
                .faults
                .gate
                .wait_until_held(count, HELD_WAIT)
                .await
        }
        None => simulator.faults.gate.held(),
    };
    Json(json!({"held": held}))
}

async fn requests(State(simulator): State<Arc<Simulator>>) -> Response {
    let body = serde_json::to_value(&*simulator.log()).unwrap_or_else(|_| json!({}));
    Json(body).into_response()
}

async fn clear(State(simulator): State<Arc<Simulator>>) -> StatusCode {
    let mut log = simulator.log();
    log.assets.clear();
    log.features.clear();
    log.polls.clear();
    StatusCode::NO_CONTENT
}

async fn asset(State(simulator): State<Arc<Simulator>>, Path(path): Path<String>) -> Response {
    match simulator.asset(&path) {
        Some(asset) => (
            [(header::CONTENT_TYPE, asset.kind.mime())],
            asset.bytes.clone(),
        )
            .into_response(),
        None => ApiError::not_found().into_response(),
    }
}

/// Makes an upload or result unreachable, as an expired or deleted file upstream is: its
/// result URL answers S3's `NoSuchKey` from then on.
async fn forget_asset(
    State(simulator): State<Arc<Simulator>>,
    Path(path): Path<String>,
) -> Response {
    match simulator.remove_asset(&path) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => ApiError::not_found().into_response(),
    }
}
