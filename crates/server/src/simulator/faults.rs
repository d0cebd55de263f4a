//! Failures on demand, so that every error path of the page can be tested without the
//! provider: chosen per request by a header, or armed for the next edit by a control route.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use flexedit_api::RequestError;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

/// The header that picks a fault for one request (test mode only).
pub const FAULT_HEADER: &str = "x-simulator-fault";

/// The failures the simulator can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// 401, missing or wrong key.
    Unauthorized,
    /// 429 with Retry-After.
    RateLimited,
    /// 500 in the `{"success": false, "error": {...}}` shape.
    ServerError,
    /// 502 with the CDN's HTML page.
    BadGatewayHtml,
    /// 504 with the CDN's HTML page, after a delay.
    GatewayTimeout,
    /// 200 with `status: FAILURE` and `resultObject.code: INSUFFICIENT_CREDITS`.
    InsufficientCredits,
    /// 400 in the provider's wrapper of a refusal by the model host: canned message,
    /// `context.service`, the cause nested in `details` beside the host's internals.
    BadRequestDetails,
    /// 400 `UNSUPPORTED_MODEL` for the model the provider's own docs list.
    UnsupportedModel,
    /// 200 `FAILURE` whose reason is `aiRecordDetail.errorMessage`.
    FailureErrorMessage,
    /// 200 `FAILED` whose reason is a message string as `resultObject[0]`.
    FailureResultMessage,
    /// 200 with the edit done, its status spelled `COMPLETED`.
    Completed,
    /// Cloudflare's 522 page, after a delay, as seen on a synchronous edit.
    CloudflareTimeout,
    /// 200 SUCCESS without any `temporaryUrl`.
    MissingTemporaryUrl,
    /// The connection closes in the middle of the response body.
    DropConnection,
    /// Held until released (or a long timeout), then answered normally. An asynchronous
    /// edit is accepted at once and its record stays `PROCESSING` while held.
    Slow,
    /// Polls only: the record is forgotten, so this poll and every later one answer
    /// `{"aiRecord": null}`, as for a record the provider lost.
    VanishedRecord,
}

impl Fault {
    pub const ALL: [Fault; 16] = [
        Fault::Unauthorized,
        Fault::RateLimited,
        Fault::ServerError,
        Fault::BadGatewayHtml,
        Fault::GatewayTimeout,
        Fault::InsufficientCredits,
        Fault::BadRequestDetails,
        Fault::UnsupportedModel,
        Fault::FailureErrorMessage,
        Fault::FailureResultMessage,
        Fault::Completed,
        Fault::CloudflareTimeout,
        Fault::MissingTemporaryUrl,
        Fault::DropConnection,
        Fault::Slow,
        Fault::VanishedRecord,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::Unauthorized => "unauthorized",
            Fault::RateLimited => "rate_limited",
            Fault::ServerError => "server_error",
            Fault::BadGatewayHtml => "bad_gateway_html",
            Fault::GatewayTimeout => "gateway_timeout",
            Fault::InsufficientCredits => "insufficient_credits",
            Fault::BadRequestDetails => "bad_request_details",
            Fault::UnsupportedModel => "unsupported_model",
            Fault::FailureErrorMessage => "failure_error_message",
            Fault::FailureResultMessage => "failure_result_message",
            Fault::Completed => "completed",
            Fault::CloudflareTimeout => "cloudflare_522",
            Fault::MissingTemporaryUrl => "missing_temporary_url",
            Fault::DropConnection => "drop_connection",
            Fault::Slow => "slow",
            Fault::VanishedRecord => "vanished_record",
        }
    }

    /// The fault named by the request's header, if any and valid.
    pub fn from_headers(headers: &HeaderMap) -> Option<Fault> {
        headers
            .get(FAULT_HEADER)
            .and_then(|value| value.to_str().ok())
            .and_then(|name| name.trim().parse().ok())
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown fault {0:?}")]
pub struct UnknownFault(pub String);

impl FromStr for Fault {
    type Err = UnknownFault;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Fault::ALL
            .into_iter()
            .find(|fault| fault.name() == name)
            .ok_or_else(|| UnknownFault(name.to_owned()))
    }
}

/// The provider's CDN page, as third-party clients have seen it.
pub const BAD_GATEWAY_HTML: &str = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>\n";
pub const GATEWAY_TIMEOUT_HTML: &str = "<!DOCTYPE html>\n<html><head><title>504 Gateway Time-out</title></head>\n<body><center><h1>504 Gateway Time-out</h1></center><hr><center>cloudflare</center></body></html>\n";
/// Cloudflare's own page when the provider's servers did not answer it in time.
pub const CLOUDFLARE_522_HTML: &str = "<!DOCTYPE html>\n<html class=\"no-js\" lang=\"en-US\"><head><title>api.1min.ai | 522: Connection timed out</title><meta charset=\"UTF-8\" /></head>\n<body><div id=\"cf-wrapper\"><div class=\"cf-error-details\"><h1>Connection timed out</h1><p>Error code 522</p><p>Visit <a href=\"https://www.cloudflare.com/5xx-error-landing\">cloudflare.com</a> for more information.</p></div></div></body></html>\n";

/// The cause the `bad_request_details` fault nests, as the model host words a refusal.
pub const BAD_REQUEST_CAUSE: &str = "The size does not match the required aspect ratio";

fn html(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
        body,
    )
        .into_response()
}

fn json_body(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// The answer of a fault that does not depend on the edit. `None` for the faults that
/// let the edit run (`slow`, `missing_temporary_url`, `completed`) or that need the
/// request's details (the failed records). `request_id` is what the model host would
/// call the request in a refusal it passes on.
pub fn immediate_response(fault: Fault, request_id: &str) -> Option<Response> {
    immediate_response_waiting(fault, request_id, 60)
}

/// [`immediate_response`], with a rate limit asking to wait `retry_after` seconds.
pub fn immediate_response_waiting(
    fault: Fault,
    request_id: &str,
    retry_after: u64,
) -> Option<Response> {
    Some(match fault {
        Fault::Unauthorized => unauthorized_missing(),
        Fault::RateLimited => {
            let mut response = json_body(
                StatusCode::TOO_MANY_REQUESTS,
                json!({"errorCode": "RATE_LIMIT_EXCEEDED", "message": "Too many requests, please try again later"}),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            response
        }
        Fault::ServerError => json_body(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"success": false, "error": {"message": "Internal server error"}}),
        ),
        Fault::BadGatewayHtml => html(StatusCode::BAD_GATEWAY, BAD_GATEWAY_HTML),
        Fault::GatewayTimeout => html(StatusCode::GATEWAY_TIMEOUT, GATEWAY_TIMEOUT_HTML),
        Fault::BadRequestDetails => host_refusal("InvalidParameter", BAD_REQUEST_CAUSE, request_id),
        Fault::UnsupportedModel => raw_json(
            StatusCode::BAD_REQUEST,
            RequestError::UnsupportedModel(flexedit_api::MODEL.to_owned()).error_body(),
        ),
        Fault::CloudflareTimeout => html(
            StatusCode::from_u16(522).unwrap_or(StatusCode::GATEWAY_TIMEOUT),
            CLOUDFLARE_522_HTML,
        ),
        Fault::DropConnection => dropped_connection(),
        Fault::InsufficientCredits
        | Fault::FailureErrorMessage
        | Fault::FailureResultMessage
        | Fault::MissingTemporaryUrl
        | Fault::Completed
        | Fault::Slow
        | Fault::VanishedRecord => return None,
    })
}

/// A JSON body already written, with the provider's content type.
fn raw_json(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

/// 400 in the provider's wrapper of a refusal by the model host behind it (see
/// `flexedit_api::host_error_body`).
pub fn host_refusal(host_code: &str, cause: &str, request_id: &str) -> Response {
    raw_json(
        StatusCode::BAD_REQUEST,
        flexedit_api::host_error_body(host_code, cause, request_id),
    )
}

/// 401 for a request without a key.
pub fn unauthorized_missing() -> Response {
    json_body(StatusCode::UNAUTHORIZED, json!({"message": "Unauthorized"}))
}

/// 401 for a request with a key that is not the right one.
pub fn unauthorized_wrong() -> Response {
    json_body(
        StatusCode::UNAUTHORIZED,
        json!({"success": false, "error": {"message": "Invalid API key"}}),
    )
}

/// A 200 whose body stops after its first bytes: the declared length is never reached,
/// so the server closes the connection and the client sees a broken response.
fn dropped_connection() -> Response {
    let head = futures_util::stream::once(async {
        Ok::<_, std::io::Error>(Bytes::from_static(b"{\"aiRecord\":{\"uuid\":\""))
    });
    // The pause lets the status line and the first bytes go out before the break, so the
    // client sees a response that starts and then stops, not a refused connection.
    let cut = futures_util::stream::once(async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by the simulator",
        ))
    });
    let chunks = futures_util::StreamExt::chain(head, cut);
    let mut response = Response::new(Body::from_stream(chunks));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("2048"));
    // Compression would hide the declared length; the broken body is the point.
    headers.insert(
        header::CONTENT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    response
}

/// A body the next edit is answered with, exactly: a test can put any shape the provider
/// has been seen to send (the contract's fixtures, with other values) in front of the page.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CannedReply {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl CannedReply {
    pub fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        let content_type = HeaderValue::from_str(&self.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        (status, [(header::CONTENT_TYPE, content_type)], self.body).into_response()
    }
}

/// The armed fault, the armed canned reply, and the gate that holds `slow` edits.
#[derive(Default)]
pub struct FaultSwitch {
    armed: Mutex<Option<Fault>>,
    armed_poll: Mutex<Option<Fault>>,
    reply: Mutex<Option<CannedReply>>,
    pub gate: SlowGate,
}

impl FaultSwitch {
    /// Arms `reply` as the whole answer of the next edit.
    pub fn arm_reply(&self, reply: CannedReply) {
        if let Ok(mut armed) = self.reply.lock() {
            *armed = Some(reply);
        }
    }

    /// Takes the armed reply: it applies to one edit only.
    pub fn take_reply(&self) -> Option<CannedReply> {
        self.reply.lock().ok().and_then(|mut armed| armed.take())
    }

    /// Arms `fault` for the next edit, or disarms with `None`.
    pub fn arm(&self, fault: Option<Fault>) {
        if let Ok(mut armed) = self.armed.lock() {
            *armed = fault;
        }
        // A release sent before this arming belongs to an earlier test step.
        self.gate.forget_early_release();
    }

    /// Takes the armed fault: it applies to one edit only.
    pub fn take(&self) -> Option<Fault> {
        self.armed.lock().ok().and_then(|mut armed| armed.take())
    }

    /// Arms `fault` for the next poll of a record, or disarms with `None`. Apart from the
    /// edit's, so a test can fail a poll without touching the edit it polls.
    pub fn arm_poll(&self, fault: Option<Fault>) {
        if let Ok(mut armed) = self.armed_poll.lock() {
            *armed = fault;
        }
    }

    /// Takes the fault armed for polls: it applies to one poll only.
    pub fn take_poll(&self) -> Option<Fault> {
        self.armed_poll
            .lock()
            .ok()
            .and_then(|mut armed| armed.take())
    }
}

/// Holds `slow` edits until released. A release that comes before any edit is held is
/// kept for the next one, so a test need not know whether its edit has arrived yet.
pub struct SlowGate {
    state: Mutex<GateState>,
    held: watch::Sender<usize>,
    released: watch::Sender<u64>,
}

#[derive(Default)]
struct GateState {
    held: usize,
    early_release: bool,
}

impl Default for SlowGate {
    fn default() -> Self {
        Self {
            state: Mutex::new(GateState::default()),
            held: watch::Sender::new(0),
            released: watch::Sender::new(0),
        }
    }
}

/// Counts a held edit down again however its future ends, cancelled included.
struct HeldGuard<'a>(&'a SlowGate);

impl Drop for HeldGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut state) = self.0.state.lock() {
            state.held = state.held.saturating_sub(1);
            self.0.held.send_replace(state.held);
        }
    }
}

impl SlowGate {
    /// Waits until released or until `longest` has passed.
    pub async fn hold(&self, longest: Duration) {
        let mut released = self.released.subscribe();
        let guard = {
            let Ok(mut state) = self.state.lock() else {
                return;
            };
            if state.early_release {
                state.early_release = false;
                return;
            }
            state.held += 1;
            self.held.send_replace(state.held);
            HeldGuard(self)
        };
        let _ = tokio::time::timeout(longest, released.changed()).await;
        drop(guard);
    }

    /// Releases every held edit; with none held, lets the next one through at once.
    pub fn release(&self) -> usize {
        let Ok(mut state) = self.state.lock() else {
            return 0;
        };
        if state.held == 0 {
            state.early_release = true;
        } else {
            self.released.send_modify(|generation| *generation += 1);
        }
        state.held
    }

    fn forget_early_release(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.early_release = false;
        }
    }

    pub fn held(&self) -> usize {
        *self.held.borrow()
    }

    /// Waits until at least `count` edits are held, or `longest` has passed.
    pub async fn wait_until_held(&self, count: usize, longest: Duration) -> usize {
        let mut held = self.held.subscribe();
        let _ = tokio::time::timeout(longest, held.wait_for(|n| *n >= count)).await;
        self.held()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn names_round_trip() {
        for fault in Fault::ALL {
            assert_eq!(fault.name().parse::<Fault>(), Ok(fault));
        }
        assert!("teapot".parse::<Fault>().is_err());
    }

    #[test]
    fn an_armed_fault_applies_once() {
        let switch = FaultSwitch::default();
        switch.arm(Some(Fault::Slow));
        assert_eq!(switch.take(), Some(Fault::Slow));
        assert_eq!(switch.take(), None);
    }

    #[tokio::test]
    async fn a_release_frees_held_edits_and_an_early_one_is_kept() {
        let gate = Arc::new(SlowGate::default());
        let held = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.hold(Duration::from_secs(60)).await })
        };
        assert_eq!(gate.wait_until_held(1, Duration::from_secs(10)).await, 1);
        assert_eq!(gate.release(), 1);
        held.await.unwrap();
        assert_eq!(gate.held(), 0);

        assert_eq!(gate.release(), 0);
        tokio::time::timeout(Duration::from_secs(10), gate.hold(Duration::from_secs(60)))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_cancelled_edit_is_no_longer_counted() {
        let gate = Arc::new(SlowGate::default());
        let held = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.hold(Duration::from_secs(60)).await })
        };
        gate.wait_until_held(1, Duration::from_secs(10)).await;
        held.abort();
        let _ = held.await;
        assert_eq!(gate.held(), 0);
    }
}
