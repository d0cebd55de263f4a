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

/// Sources beyond this are refused before decoding: a small file can claim huge
/// dimensions, and the edit would then allocate for all of them.
const MAX_SOURCE_PIXELS: u64 = 64_000_000;

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
            request_id: super::control::request_id(&headers),
        });
    }

    if simulator.config.test_mode
        && let Some(reply) = simulator.faults.take_reply()
    {
        return reply.into_response();
    }
    let asynchronous = flexedit_api::wants_async(&text);
    let fault = simulator.fault_for(&headers, true);
    if let Some(fault) = fault {
        match fault {
            Fault::GatewayTimeout | Fault::CloudflareTimeout => {
                tokio::time::sleep(simulator.config.fault_delay).await;
            }
            // An asynchronous edit is accepted at once; its record is what is held.
            Fault::Slow if !asynchronous => {
                simulator.faults.gate.hold(simulator.config.slow_hold).await;
            }
            _ => {}
        }
        if let Some(response) = faults::immediate_response_waiting(
            fault,
            &simulator.next_request_id(),
            simulator.config.retry_after.as_secs(),
        ) {
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

    let job = match fault {
        Some(Fault::InsufficientCredits) => {
            Job::Fail("FAILURE", Reason::Code("INSUFFICIENT_CREDITS"))
        }
        Some(Fault::FailureErrorMessage) => {
            Job::Fail("FAILURE", Reason::ErrorMessage(MODERATION_MESSAGE))
        }
        Some(Fault::FailureResultMessage) => {
            Job::Fail("FAILED", Reason::ResultMessage(NO_IMAGE_MESSAGE))
        }
        _ => {
            let source = match resolve_source(&simulator, &request.prompt_object.image_url) {
                Ok(source) => source,
                Err(err) => return err.into_response(&simulator),
            };
            let pixels = u64::from(source.width) * u64::from(source.height);
            if pixels > MAX_SOURCE_PIXELS {
                return faults::host_refusal(
                    "InvalidParameter",
                    &format!(
                        "Input image is {}x{}; images larger than {} megapixels are not accepted.",
                        source.width,
                        source.height,
                        MAX_SOURCE_PIXELS / 1_000_000
                    ),
                    &simulator.next_request_id(),
                );
            }
            Job::Edit {
                source,
                request: Box::new(request),
            }
        }
    };
    let work = Work {
        uuid: simulator.next_uuid(),
        echoed,
        fault,
        origin: simulator.origin(&headers),
    };

    if !asynchronous {
        return match run(&simulator, job, &work).await {
            Ok(body) => Json(body).into_response(),
            Err(refusal) => faults::host_refusal(
                refusal.host_code,
                refusal.cause,
                &simulator.next_request_id(),
            ),
        };
    }
    // As upstream, the record lives on its own: the task is not tied to this request, so a
    // client that goes away (a closed tab, a dropped connection) cancels nothing.
    let accepted = processing_body(&work);
    simulator.book.accept(&work.uuid, accepted.clone());
    let held = fault == Some(Fault::Slow);
    let owner = simulator.clone();
    tokio::spawn(async move {
        if held {
            owner.faults.gate.hold(owner.config.slow_hold).await;
        }
        let body = match run(&owner, job, &work).await {
            Ok(body) => body,
            Err(refusal) => failure_body(
                &owner,
                &work,
                "FAILURE",
                Reason::ErrorMessage(refusal.cause),
            ),
        };
        owner.book.finish(&work.uuid, body);
    });
    Json(accepted).into_response()
}

/// What an accepted edit does.
enum Job {
    /// A failed record with this status and reason (the faults that make one).
    Fail(&'static str, Reason<'static>),
    /// The edit itself.
    Edit {
        source: Arc<StoredAsset>,
        request: Box<EditRequest>,
    },
}

/// What the answer of an accepted edit names, whichever way it ends.
struct Work {
    uuid: String,
    /// The `promptObject` as sent, echoed in the record.
    echoed: Value,
    fault: Option<Fault>,
    /// Where the result URL points.
    origin: String,
}

/// A refusal by the model host after the edit was accepted: the synchronous call answers
/// it as the wrapper's 400, a record carries its cause as `errorMessage`.
struct Refusal {
    host_code: &'static str,
    cause: &'static str,
}

/// The edit: rendered off the async threads, answered after the latency its steps give.
async fn run(simulator: &Simulator, job: Job, work: &Work) -> Result<Value, Refusal> {
    let (source, request) = match job {
        Job::Fail(status, reason) => return Ok(failure_body(simulator, work, status, reason)),
        Job::Edit { source, request } => (source, request),
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
            // Upstream, a file that is no image is stored by the Asset API and refused
            // only here, by the model host.
            let cause = match err {
                render::RenderError::Decode(_) => {
                    "The input image could not be decoded; send a PNG, JPEG or WebP image."
                }
                _ => "The image could not be processed.",
            };
            return Err(Refusal {
                host_code: "InvalidInput",
                cause,
            });
        }
        Err(_) => {
            return Err(Refusal {
                host_code: "Interrupted",
                cause: "The edit was interrupted.",
            });
        }
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
    // As upstream, `usedCredit` lags one request: the total before this edit was charged.
    let used_before = simulator.credits_used.fetch_add(cost, Ordering::Relaxed);
    let temporary_url = (work.fault != Some(Fault::MissingTemporaryUrl)).then(|| {
        simulator
            .signer
            .url(&work.origin, &path, &at, simulator.config.result_ttl)
    });
    let status = if work.fault == Some(Fault::Completed) {
        "COMPLETED"
    } else {
        "SUCCESS"
    };
    Ok(success_body(
        work,
        Finished {
            status,
            path: &path,
            at: &at,
            temporary_url,
            used: used_before,
        },
    ))
}

/// The first answer of an asynchronous edit (`fixtures/edit-async-accepted.json`).
fn processing_body(work: &Work) -> Value {
    json!({
        "aiRecord": {
            "uuid": work.uuid,
            "model": flexedit_api::MODEL,
            "type": flexedit_api::FEATURE_TYPE,
            "status": "PROCESSING",
            "createdAt": Utc::now().iso(),
            "aiRecordDetail": {
                "promptObject": work.echoed,
                "resultObject": [],
            },
        }
    })
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

/// Why `image_url` names no stored image.
enum SourceError {
    /// An address on another site, which the simulator cannot download.
    Foreign,
    /// An asset path that was never uploaded (or was evicted).
    Missing(String),
}

impl SourceError {
    /// The provider's answer: a foreign address is the host's refusal, a missing asset the
    /// provider's own.
    fn into_response(self, simulator: &Simulator) -> Response {
        match self {
            SourceError::Foreign => faults::host_refusal(
                "InvalidInput",
                "The simulator works offline and cannot download images from other sites; upload the file instead",
                &simulator.next_request_id(),
            ),
            SourceError::Missing(path) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "ASSET_NOT_FOUND",
                format!("No uploaded image has the path {path}; upload the image again"),
            )
            .into_response(),
        }
    }
}

/// The stored image `image_url` names: an asset path, or one of this simulator's own
/// result URLs.
fn resolve_source(simulator: &Simulator, image_url: &str) -> Result<Arc<StoredAsset>, SourceError> {
    let lower = image_url.to_ascii_lowercase();
    let path = if lower.starts_with("http://") || lower.starts_with("https://") {
        url::Url::parse(image_url)
            .ok()
            .and_then(|url| url.path().strip_prefix(RESULTS_PREFIX).map(str::to_owned))
            .ok_or(SourceError::Foreign)?
    } else {
        image_url.to_owned()
    };
    simulator.asset(&path).ok_or(SourceError::Missing(path))
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

/// A finished edit as the record reports it.
struct Finished<'a> {
    /// `SUCCESS`, or `COMPLETED` as some answers spell it.
    status: &'a str,
    path: &'a str,
    at: &'a Utc,
    temporary_url: Option<String>,
    /// The credits used before this edit was charged.
    used: u64,
}

fn success_body(work: &Work, done: Finished<'_>) -> Value {
    let mut record = json!({
        "uuid": work.uuid,
        "model": flexedit_api::MODEL,
        "type": flexedit_api::FEATURE_TYPE,
        "metadata": null,
        "rating": null,
        "feedback": null,
        "conversationId": null,
        "status": done.status,
        "createdAt": done.at.iso(),
        "teamUser": team_user(done.used),
        "aiRecordDetail": {
            "promptObject": work.echoed,
            "resultObject": [done.path],
            "responseObject": {},
        },
    });
    if let (Some(url), Some(object)) = (done.temporary_url, record.as_object_mut()) {
        object.insert("temporaryUrl".to_owned(), Value::String(url));
    }
    json!({ "aiRecord": record })
}

/// Where a failed record carries its reason; each place has been seen from the provider.
enum Reason<'a> {
    /// `resultObject.code`.
    Code(&'a str),
    /// `aiRecordDetail.errorMessage`.
    ErrorMessage(&'a str),
    /// A message string as `resultObject[0]`.
    ResultMessage(&'a str),
}

const MODERATION_MESSAGE: &str = "The request was flagged by the content moderation filter.";
const NO_IMAGE_MESSAGE: &str =
    "Image generation failed: the model returned no image for this prompt.";

fn failure_body(simulator: &Simulator, work: &Work, status: &str, reason: Reason<'_>) -> Value {
    let used = simulator.credits_used.load(Ordering::Relaxed);
    let mut detail = json!({ "promptObject": work.echoed });
    let (result, error_message) = match reason {
        Reason::Code(code) => (json!({ "code": code }), None),
        Reason::ErrorMessage(message) => (json!([]), Some(message)),
        Reason::ResultMessage(message) => (json!([message]), None),
    };
    if let Some(fields) = detail.as_object_mut() {
        fields.insert("resultObject".to_owned(), result);
        if let Some(message) = error_message {
            fields.insert("errorMessage".to_owned(), Value::from(message));
        }
    }
    json!({
        "aiRecord": {
            "uuid": work.uuid,
            "model": flexedit_api::MODEL,
            "type": flexedit_api::FEATURE_TYPE,
            "status": status,
            "createdAt": Utc::now().iso(),
            "teamUser": team_user(used),
            "aiRecordDetail": detail,
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
