//! `POST /api/assets`: one multipart file field named `asset`, answered in the provider's
//! shape (`asset{...}` and `fileContent{path,...}`).

use std::io::Cursor;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use flexedit_api::{ImageKind, sniff};
use serde_json::json;

use super::Simulator;
use super::clock::{self, Utc};
use super::control::{AssetRecord, header_names};
use super::faults::{self, Fault};
use super::store::{AssetKind, StoredAsset, clean_file_name};
use crate::error::ApiError;
use crate::limits::is_over_limit;

pub async fn upload(
    State(simulator): State<Arc<Simulator>>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    if let Some(fault) = simulator.fault_for(&headers, false)
        && let Some(response) = generic_fault(&simulator, fault).await
    {
        return response;
    }
    if let Some(refusal) = simulator.check_key(&headers) {
        return refusal;
    }
    let mut multipart = match multipart {
        Ok(multipart) => multipart,
        Err(_) => {
            return bad_request(
                "INVALID_REQUEST",
                "Send the image as multipart/form-data with a file field named \"asset\".",
            );
        }
    };
    let (original_name, bytes) = match read_asset_field(&mut multipart).await {
        Ok(Some(field)) => field,
        Ok(None) => {
            return bad_request("MISSING_REQUIRED_FIELDS", "Missing required fields: asset");
        }
        Err(err) if err.status() == StatusCode::PAYLOAD_TOO_LARGE || is_over_limit(&err) => {
            return ApiError::payload_too_large(simulator.body_limit).into_response();
        }
        Err(_) => return bad_request("INVALID_REQUEST", "The upload was cut off or malformed."),
    };
    match store_upload(&simulator, &headers, &original_name, bytes) {
        Ok(body) => Json(body).into_response(),
        Err(err) => err.into_response(),
    }
}

/// Faults that make sense for an upload; the edit-specific ones do not apply.
async fn generic_fault(simulator: &Simulator, fault: Fault) -> Option<Response> {
    match fault {
        Fault::Slow => {
            simulator.faults.gate.hold(simulator.config.slow_hold).await;
            None
        }
        Fault::GatewayTimeout | Fault::CloudflareTimeout => {
            tokio::time::sleep(simulator.config.fault_delay).await;
            faults::immediate_response(fault, "")
        }
        // The refusals and records of an edit have no counterpart in an upload.
        Fault::InsufficientCredits
        | Fault::MissingTemporaryUrl
        | Fault::BadRequestDetails
        | Fault::UnsupportedModel
        | Fault::FailureErrorMessage
        | Fault::FailureResultMessage
        | Fault::Completed => None,
        _ => faults::immediate_response(fault, ""),
    }
}

async fn read_asset_field(
    multipart: &mut Multipart,
) -> Result<Option<(String, Bytes)>, MultipartError> {
    while let Some(field) = multipart.next_field().await? {
        if field.name() == Some("asset") {
            let name = field.file_name().unwrap_or_default().to_owned();
            let bytes = field.bytes().await?;
            return Ok(Some((name, bytes)));
        }
    }
    Ok(None)
}

fn bad_request(code: &'static str, message: &str) -> Response {
    ApiError::new(StatusCode::BAD_REQUEST, code, message).into_response()
}

fn store_upload(
    simulator: &Simulator,
    headers: &HeaderMap,
    original_name: &str,
    bytes: Bytes,
) -> Result<serde_json::Value, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_FILE",
            "The file is empty.",
        ));
    }
    // The Asset API stores any file (images, PDFs, documents): a file the model cannot
    // edit fails at the edit, as it does upstream.
    let kind = match sniff(&bytes) {
        ImageKind::Png => AssetKind::Png,
        ImageKind::Jpeg => AssetKind::Jpeg,
        ImageKind::Webp => AssetKind::Webp,
        _ => AssetKind::Other,
    };
    let (width, height) = match kind {
        AssetKind::Other => (0, 0),
        _ => image::ImageReader::new(Cursor::new(&bytes))
            .with_guessed_format()
            .ok()
            .and_then(|reader| reader.into_dimensions().ok())
            .unwrap_or((0, 0)),
    };
    let file_name = clean_file_name(original_name, kind);
    let size = bytes.len();
    let (path, at) = simulator
        .store()
        .new_path(clock::unix_millis(std::time::SystemTime::now()), &file_name);
    let stored = StoredAsset {
        path: path.clone(),
        file_name: file_name.clone(),
        kind,
        width,
        height,
        bytes,
    };
    let stored = simulator.store().insert(stored);
    if simulator.config.test_mode {
        simulator.log().record_asset(AssetRecord {
            path: path.clone(),
            file_name: file_name.clone(),
            content_type: kind.mime().to_owned(),
            size,
            width,
            height,
            format: kind.name().to_owned(),
            api_key: super::api_key(headers),
            header_names: header_names(headers),
            request_id: super::control::request_id(headers),
        });
    }
    Ok(upload_body(simulator, &stored, original_name, &at))
}

fn upload_body(
    simulator: &Simulator,
    stored: &StoredAsset,
    original_name: &str,
    at: &Utc,
) -> serde_json::Value {
    let path = stored.path.as_str();
    let kind = stored.kind;
    let stored_name = path.rsplit('/').next().unwrap_or(&stored.file_name);
    let etag = format!("\"{:016x}\"", super::render::stable_hash(&[&stored.bytes]));
    json!({
        "asset": {
            "fieldname": "asset",
            "originalname": original_name,
            "encoding": "7bit",
            "mimetype": kind.mime(),
            "size": stored.bytes.len(),
            "bucket": crate::result_hosts::PROVIDER_BUCKET,
            "key": path,
            "acl": "private",
            "contentType": "application/octet-stream",
            "metadata": {"team-id": "simulator-team", "user-id": "simulator-user"},
            // The provider's bucket is private: this address is never fetched or shown.
            "location": format!("https://asset.1min.ai.s3.us-east-1.amazonaws.com/{path}"),
            "etag": etag,
        },
        "fileContent": {
            "uuid": simulator.next_uuid(),
            "path": path,
            "type": kind.extension(),
            "name": stored_name,
            "status": "ACTIVE",
            "createdAt": at.iso(),
        }
    })
}
