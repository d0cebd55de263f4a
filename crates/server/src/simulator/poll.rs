//! `GET /api/results/{uuid}`: the record of an asynchronous edit, in the provider's
//! shapes: `PROCESSING` until done, then the same record a synchronous edit answers with;
//! `{"aiRecord": null}` for an id it does not know (or no longer keeps).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Simulator;
use super::control::{PollRecord, header_names};
use super::faults::{self, Fault};

pub async fn result(
    State(simulator): State<Arc<Simulator>>,
    Path(uuid): Path<String>,
    headers: HeaderMap,
) -> Response {
    if simulator.config.test_mode {
        simulator.log().record_poll(PollRecord {
            uuid: uuid.clone(),
            api_key: super::api_key(&headers),
            header_names: header_names(&headers),
            request_id: super::control::request_id(&headers),
        });
    }
    let fault = if simulator.config.test_mode {
        Fault::from_headers(&headers).or_else(|| simulator.faults.take_poll())
    } else {
        None
    };
    match fault {
        Some(Fault::VanishedRecord) => {
            simulator.book.forget(&uuid);
        }
        Some(fault) => {
            if let Some(response) = faults::immediate_response_waiting(
                fault,
                &simulator.next_request_id(),
                simulator.config.retry_after.as_secs(),
            ) {
                return response;
            }
        }
        None => {}
    }
    if let Some(refusal) = simulator.check_key(&headers) {
        return refusal;
    }
    // Any id the provider does not keep, well-formed or not, is the same unknown record.
    let body = simulator
        .book
        .get(&uuid)
        .unwrap_or_else(|| json!({ "aiRecord": Value::Null }));
    Json(body).into_response()
}
