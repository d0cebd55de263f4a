//! `POST /api/features`: checked with flexedit-api like the provider checks it, then a real
//! edit of the uploaded asset or of an earlier result, answered in the provider's shape.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use flexedit_api::{EditRequest, OutputFormat, RequestError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::clock::{self, Utc};
use super::control::{FeatureRecord, header_names};
use super::faults::{self, Fault};
use super::render::{self, EditParams, Encoding};
use super::results::{self, RESULTS_PREFIX};
use super::store::{StoredAsset, source_stem};
use super::{CREDIT_LIMIT, Simulator};
use crate::error::ApiError;
use crate::limits::is_over_limit;

/// The provider's default when `steps` is not given.
const DEFAULT_STEPS: u32 = 25;

pub async fn features(
    State(simulator): State<Arc<Simulator>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            return if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE
                || is_over_limit(&rejection)
            {
                ApiError::payload_too_large(simulator.body_limit).into_response()
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "INVALID_REQUEST",
                    "The request body could not be read.",
                )
                .into_response()
            };
        }
    };
    let text = String::from_utf8_lossy(&body);
    if simulator.config.test_mode {
        simulator.log().record_feature(FeatureRecord {
            body: text.clone().into_owned(),
            api_key: super::api_key(&headers),
            header_names: header_names(&headers),
        });
    }

    let fault = simulator.fault_for(&headers, true);
    if let Some(fault) = fault {
        match fault {
            Fault::GatewayTimeout => tokio::time::sleep(simulator.config.fault_delay).await,
            Fault::Slow => simulator.faults.gate.hold(simulator.config.slow_hold).await,
            _ => {}
        }
        if let Some(response) = faults::immediate_response(fault) {
            return response;
        }
    }
    if let Some(refusal) = simulator.check_key(&headers) {
        return refusal;
    }

    let request = match EditRequest::from_json(&text) {
        Ok(request) => request,
        Err(err) => return request_error(&err),
    };
    if simulator.log_prompts {
        tracing::debug!(prompt = %request.prompt_object.prompt, "simulated edit");
    }
    let echoed = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|value| value.get("promptObject").cloned())
        .unwrap_or(Value::Null);

    if fault == Some(Fault::InsufficientCredits) {
        return Json(failure_body(&simulator, &echoed, "INSUFFICIENT_CREDITS")).into_response();
    }

    let source = match resolve_source(&simulator, &request.prompt_object.image_url) {
        Ok(source) => source,
        Err(err) => return err.into_response(),
    };
    let steps = request.prompt_object.steps.unwrap_or(DEFAULT_STEPS);
    let latency = simulator.config.latency_per_step.saturating_mul(steps);
    let started = tokio::time::Instant::now();

    let prompt = request.prompt_object.prompt.clone();
    let format = request.prompt_object.output_format.unwrap_or_default();
    let encoding = match format {
        OutputFormat::Jpg => Encoding::Jpeg,
        OutputFormat::Png => Encoding::Png,
    };
    let quality = request.prompt_object.output_quality.unwrap_or(80);
    let aspect_ratio = request.prompt_object.aspect_ratio.and_then(|a| a.ratio());
    // No seed means "random" upstream; here it is derived from the inputs, so that the
    // simulator stays reproducible even then.
    let seed = request.prompt_object.seed.map_or_else(
        || render::stable_hash(&[source.path.as_bytes(), prompt.as_bytes()]),
        u64::from,
    );
    let bytes = source.bytes.clone();
    let rendered = tokio::task::spawn_blocking(move || {
        render::render(
            &bytes,
            &EditParams {
                prompt: &prompt,
                aspect_ratio,
                encoding,
                quality,
                seed,
            },
        )
    })
    .await;
    let rendered = match rendered {
        Ok(Ok(rendered)) => rendered,
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "simulated edit failed");
            return provider_busy("The image could not be processed").into_response();
        }
        Err(_) => return provider_busy("The edit was interrupted").into_response(),
    };
    tokio::time::sleep_until(started + latency).await;

    let file_name = format!("{}_edit.{}", source_stem(&source.path), format.extension());
    let (path, at) = simulator
        .store()
        .new_path(clock::unix_millis(SystemTime::now()), &file_name);
    simulator.store().insert(StoredAsset {
        path: path.clone(),
        file_name,
        kind: match encoding {
            Encoding::Png => super::store::AssetKind::Png,
            Encoding::Jpeg => super::store::AssetKind::Jpeg,
        },
        width: rendered.width,
        height: rendered.height,
        bytes: Bytes::from(rendered.bytes),
    });
    let cost = 1000 + u64::from(steps) * 40;
    let used = simulator.credits_used.fetch_add(cost, Ordering::Relaxed) + cost;
    let temporary_url = (fault != Some(Fault::MissingTemporaryUrl)).then(|| {
        simulator.signer.url(
            &simulator.origin(&headers),
            &path,
            &at,
            simulator.config.result_ttl,
        )
    });
    Json(success_body(
        &simulator,
        &echoed,
        &path,
        &at,
        temporary_url,
        used,
    ))
    .into_response()
}

fn request_error(err: &RequestError) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        err.error_body(),
    )
        .into_response()
}

/// The provider wraps failures of the model behind it in this shape, the real cause in
/// `details` as a JSON string.
fn provider_busy(cause: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "EXTERNAL_API_RESPONSE_WITH_ERROR",
        "The service is a bit busy right now, please try again shortly",
    )
    .with_details(json!({"status": 400, "message": cause}).to_string())
}

/// The stored image `image_url` names: an asset path, or one of this simulator's own
/// result URLs.
fn resolve_source(simulator: &Simulator, image_url: &str) -> Result<Arc<StoredAsset>, ApiError> {
    let lower = image_url.to_ascii_lowercase();
    let path = if lower.starts_with("http://") || lower.starts_with("https://") {
        let own = url::Url::parse(image_url)
            .ok()
            .and_then(|url| url.path().strip_prefix(RESULTS_PREFIX).map(str::to_owned));
        match own {
            Some(path) => path,
            None => {
                return Err(provider_busy(
                    "The simulator works offline and cannot download images from other sites; upload the file instead",
                ));
            }
        }
    } else {
        image_url.to_owned()
    };
    simulator.asset(&path).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "ASSET_NOT_FOUND",
            format!("No uploaded image has the path {path}; upload the image again"),
        )
    })
}

fn team_user(used: u64) -> Value {
    json!({
        "teamId": "simulator-team",
        "userId": "simulator-user",
        "creditLimit": CREDIT_LIMIT,
        "usedCredit": used,
        "status": "ACTIVE",
    })
}

fn success_body(
    simulator: &Simulator,
    prompt_object: &Value,
    path: &str,
    at: &Utc,
    temporary_url: Option<String>,
    used: u64,
) -> Value {
    let mut record = json!({
        "uuid": simulator.next_uuid(),
        "model": flexedit_api::MODEL,
        "type": flexedit_api::FEATURE_TYPE,
        "metadata": null,
        "rating": null,
        "feedback": null,
        "conversationId": null,
        "status": "SUCCESS",
        "createdAt": at.iso(),
        "teamUser": team_user(used),
        "aiRecordDetail": {
            "promptObject": prompt_object,
            "resultObject": [path],
            "responseObject": {},
        },
    });
    if let (Some(url), Some(object)) = (temporary_url, record.as_object_mut()) {
        object.insert("temporaryUrl".to_owned(), Value::String(url));
    }
    json!({ "aiRecord": record })
}

fn failure_body(simulator: &Simulator, prompt_object: &Value, code: &str) -> Value {
    let used = simulator.credits_used.load(Ordering::Relaxed);
    json!({
        "aiRecord": {
            "uuid": simulator.next_uuid(),
            "model": flexedit_api::MODEL,
            "type": flexedit_api::FEATURE_TYPE,
            "status": "FAILURE",
            "createdAt": Utc::now().iso(),
            "teamUser": team_user(used),
            "aiRecordDetail": {
                "promptObject": prompt_object,
                "resultObject": {"code": code},
            },
        }
    })
}

#[derive(Deserialize)]
pub struct ResultQuery {
    pub url: String,
}

/// `GET /api/result-image?url=...`: in the simulator, only its own result URLs.
pub async fn result_image(
    State(simulator): State<Arc<Simulator>>,
    headers: HeaderMap,
    query: Result<Query<ResultQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "Give the result's address as ?url=...",
        )
        .into_response();
    };
    let refused = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "RESULT_HOST_NOT_ALLOWED",
            "Only result images of this server can be fetched here.",
        )
        .into_response()
    };
    let Ok(url) = url::Url::parse(&query.url) else {
        return refused();
    };
    let own_origin = simulator.origin(&headers);
    let origin = url.origin().ascii_serialization();
    let local = format!("http://{}", simulator.local_addr);
    if origin != own_origin && origin != local {
        return refused();
    }
    let Some(path) = url.path().strip_prefix(RESULTS_PREFIX) else {
        return refused();
    };
    let asset = simulator.asset(path);
    results::respond(
        &simulator.signer,
        path,
        url.query().unwrap_or_default(),
        asset.as_deref(),
    )
}
