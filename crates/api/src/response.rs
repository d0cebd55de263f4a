//! What the provider answers, read defensively: every shape in the contract maps to a
//! result or to an [`ApiError`] with a sentence and a next step, never to a panic.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::params::{ImageRef, check_image_ref};
// The wrapper's `message` is canned ("a bit busy… try again shortly"); the cause is in
// `details`.
use crate::request::WRAPPED_HOST_ERROR;
use crate::text::{one_line, sentence, truncate_chars};

/// An asset path as the Asset API returned it, e.g.
/// `development/images/2025_12_04_18_10_29_882_cat.png`. Kept verbatim: the provider
/// expects exactly this string back as `imageUrl`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AssetPath(String);

impl AssetPath {
    pub fn new(path: impl Into<String>) -> Self {
        Self(path.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for AssetPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which step of a run a transport failure happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Stage {
    /// Sending the source image to the Asset API.
    Upload,
    /// Waiting for `POST /api/features`.
    Edit,
    /// Loading the result image after a successful edit.
    Result,
    /// Asking for the record of an asynchronous edit (`GET /api/results/{uuid}`): the edit
    /// was sent and keeps running at the provider whatever happens to the poll.
    Poll,
}

impl Stage {
    /// The stage as part of a sentence: "while uploading the image".
    pub const fn doing(self) -> &'static str {
        match self {
            Self::Upload => "uploading the image",
            Self::Edit => "running the edit",
            Self::Result => "loading the result",
            Self::Poll => "checking on the edit",
        }
    }
}

/// Credits as the response reports them for the key's team member.
///
/// `used` lags one request: the provider reports the total before this edit was charged.
/// A "remaining" figure computed from it would overstate what is left, so none is offered;
/// show `used` labelled as of the previous edit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Credits {
    pub limit: f64,
    pub used: f64,
}

/// A finished edit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditResult {
    pub uuid: Option<String>,
    /// The pre-signed, expiring URL that displays the result: the only displayable one.
    /// Always an absolute http(s) URL or a path on the page's own origin; anything else
    /// in the response is treated as missing.
    pub display_url: String,
    /// Storage paths of the result (not displayable; usable as the next `imageUrl`).
    pub storage_paths: Vec<String>,
    pub credits: Option<Credits>,
    /// When `display_url` stops working, in unix seconds.
    pub expires_at: Option<i64>,
    /// The parameters as the provider echoed them.
    pub prompt_object: Option<Value>,
}

impl EditResult {
    /// Whether the display URL has expired at `now` (unix seconds). Unknown expiry counts
    /// as not expired: the image load will tell.
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }

    /// The storage path to chain the next edit from, without re-uploading.
    pub fn asset_path(&self) -> Option<AssetPath> {
        self.storage_paths.first().cloned().map(AssetPath)
    }
}

/// What an answer of `POST /api/features`, or of a poll of its record, means.
#[derive(Debug, Clone, PartialEq)]
pub enum EditOutcome {
    Succeeded(EditResult),
    /// Accepted but not finished yet.
    Processing {
        uuid: Option<String>,
    },
    /// A failure reported inside a 200 or an HTTP error: the [`ApiError`] says which.
    Failed(ApiError),
}

/// Everything that can go wrong talking to the provider, each with a sentence for a person
/// (`Display`) and a next step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ApiError {
    #[error("The provider refused the API key.")]
    Unauthorized,
    #[error("The provider is getting too many requests from this key right now.")]
    RateLimited,
    #[error("There are not enough 1min.ai credits left for this edit.")]
    InsufficientCredits,
    /// A refusal of the request's content. `details` is the real cause read out of the
    /// provider's `details` (internals such as request ids left out); `service` is the
    /// model host that refused, from `context.service`.
    #[error("{}", bad_request_sentence(.message, .details.as_deref(), .service.as_deref()))]
    BadRequest {
        code: Option<String>,
        message: String,
        details: Option<String>,
        service: Option<String>,
    },
    /// `FAILURE`/`FAILED` inside a 200.
    #[error("{}", provider_failure_sentence(.code.as_deref(), .message.as_deref()))]
    ProviderFailure {
        code: Option<String>,
        message: Option<String>,
    },
    /// The provider refused the model itself (it did so live for a model its docs list).
    /// `message` is its own words.
    #[error("The provider does not accept the Flux 2 Flex model right now.")]
    UnsupportedModel { message: Option<String> },
    /// `message` is the provider's text, or the title of an HTML error page.
    #[error("The provider's server had a problem (HTTP {status}).")]
    Server {
        status: u16,
        message: Option<String>,
    },
    /// The CDN in front of the provider answered for it (Cloudflare's 520–524): its servers
    /// were unreachable or too slow. An edit may still be running, and billing, behind it.
    #[error("{}", gateway_sentence(*.status))]
    Gateway { status: u16, stage: Stage },
    /// A body that could not be read, or lacked what every answer of its kind carries.
    #[error("The provider sent an answer flexedit could not read (HTTP {status}).")]
    Unexpected { status: u16, snippet: String },
    #[error("The provider reported success but sent no image.")]
    MissingResult,
    #[error("The image is too large for the provider.")]
    TooLarge,
    /// A poll answered `{"aiRecord": null}`: the provider knows no record of this id (it
    /// expired, was made with another key, or the id was damaged). The edit may still have
    /// run and been billed.
    #[error("The provider has no record of this edit.")]
    UnknownRecord,
    /// The request failed before any answer: offline, or refused by the browser, which is
    /// what a provider that does not allow cross-origin calls looks like from a page.
    #[error(
        "The request failed while {}: the network is down, or the browser blocked the call.",
        .stage.doing()
    )]
    Network { stage: Stage },
    #[error("No answer came in time while {}.", .stage.doing())]
    Timeout { stage: Stage },
    #[error("Cancelled while {}.", .stage.doing())]
    Cancelled { stage: Stage },
}

const CAUSE_MAX_CHARS: usize = 300;

fn bad_request_sentence(message: &str, details: Option<&str>, service: Option<&str>) -> String {
    let who = match service.map(one_line).filter(|s| !s.is_empty()) {
        Some(service) => format!(
            "The model's host ({}) refused the request",
            truncate_chars(&service, 60)
        ),
        None => "The provider refused the request".to_owned(),
    };
    let cause = one_line(details.filter(|d| !d.trim().is_empty()).unwrap_or(message));
    if cause.is_empty() {
        format!("{who}.")
    } else {
        format!(
            "{who}: {}",
            sentence(&truncate_chars(&cause, CAUSE_MAX_CHARS))
        )
    }
}

fn gateway_sentence(status: u16) -> String {
    match status {
        522 | 524 => {
            format!("The provider's gateway timed out waiting for its servers (HTTP {status}).")
        }
        _ => format!("The provider's gateway could not reach its servers (HTTP {status})."),
    }
}

fn provider_failure_sentence(code: Option<&str>, message: Option<&str>) -> String {
    match (message.map(one_line).filter(|m| !m.is_empty()), code) {
        (Some(m), _) => format!(
            "The provider could not complete the edit: {}",
            sentence(&truncate_chars(&m, CAUSE_MAX_CHARS))
        ),
        (None, Some(c)) if !c.is_empty() => format!(
            "The provider could not complete the edit ({}).",
            truncate_chars(&one_line(c), 60)
        ),
        _ => "The provider could not complete the edit.".to_owned(),
    }
}

impl ApiError {
    /// A stable machine name, for tests and history.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::RateLimited => "rate_limited",
            Self::InsufficientCredits => "insufficient_credits",
            Self::BadRequest { .. } => "bad_request",
            Self::ProviderFailure { .. } => "provider_failure",
            Self::UnsupportedModel { .. } => "unsupported_model",
            Self::Server { .. } => "server",
            Self::Gateway { .. } => "gateway",
            Self::Unexpected { .. } => "unexpected",
            Self::MissingResult => "missing_result",
            Self::TooLarge => "too_large",
            Self::UnknownRecord => "unknown_record",
            Self::Network { .. } => "network",
            Self::Timeout { .. } => "timeout",
            Self::Cancelled { .. } => "cancelled",
        }
    }

    /// What the person can do about it.
    pub fn next_step(&self) -> &'static str {
        match self {
            Self::Unauthorized => {
                "Check the API key in Settings, or switch to proxy mode so the server supplies the key."
            }
            Self::RateLimited => "Wait a minute, then try again.",
            Self::InsufficientCredits => {
                "Top up your 1min.ai credits, or ask your team admin to raise your credit limit, then try again."
            }
            Self::BadRequest {
                code,
                message,
                details,
                ..
            } => {
                let words = format!("{message} {}", details.as_deref().unwrap_or_default())
                    .to_ascii_lowercase();
                if code.as_deref() == Some("MISSING_REQUIRED_FIELDS") {
                    "Fill in the missing fields, then run again."
                } else if ["megapixel", "too large", "larger than", "too big"]
                    .iter()
                    .any(|w| words.contains(w))
                {
                    "Use a smaller image (about 4 megapixels or less), then run again."
                } else if words.contains("aspect") || words.contains("size") {
                    "Try “Match input image” as the aspect ratio, or a smaller image, then run again."
                } else {
                    "Change what the message points at, then run again."
                }
            }
            Self::ProviderFailure { .. } => {
                "Try again; if it keeps failing, reword the prompt or try another image."
            }
            Self::UnsupportedModel { .. } => {
                "This is on the provider's side, not in your settings: try again later, or ask 1min.ai whether black-forest-labs/flux-2-flex is available to your account."
            }
            Self::Server { .. } => "Wait a moment, then try again.",
            Self::Gateway {
                stage: Stage::Edit, ..
            } => {
                "The edit may still be running behind the gateway and be billed: check your 1min.ai history before running it again."
            }
            Self::Gateway {
                stage: Stage::Poll, ..
            } => {
                "Wait a moment: the edit keeps running at the provider, and checking on it again fetches the result."
            }
            Self::Gateway { .. } => "Wait a moment, then try again.",
            Self::Unexpected { .. } => {
                "Check the endpoint in Settings; if it is right, try again later."
            }
            Self::MissingResult => {
                "Try again; if it keeps happening, look for the result in your 1min.ai history."
            }
            Self::TooLarge => "Use a smaller image (about 4 megapixels or less), then try again.",
            Self::UnknownRecord => {
                "Look for the result in your 1min.ai history: the record may have expired or belong to another key. Running the edit again may cost again."
            }
            Self::Network {
                stage: Stage::Result,
            } => "Check your connection, then load the result again; the edit itself is done.",
            Self::Network { stage: Stage::Poll } | Self::Timeout { stage: Stage::Poll } => {
                "Check your connection: the edit keeps running at the provider, and checking on it again fetches the result."
            }
            Self::Network { .. } => {
                "Check your connection. If the page calls the API directly, switch to proxy mode in Settings: the provider may not accept calls from web pages."
            }
            Self::Timeout {
                stage: Stage::Upload,
            } => "Check your connection or use a smaller image, then try again.",
            Self::Timeout { stage: Stage::Edit } => {
                "The edit may still finish and be billed: check your 1min.ai history before running it again."
            }
            Self::Timeout {
                stage: Stage::Result,
            }
            | Self::Cancelled {
                stage: Stage::Result,
            } => "Load the result again; the edit itself is done.",
            Self::Cancelled { stage: Stage::Edit } => {
                "The edit was already sent and may still be billed; run it again when you are ready."
            }
            Self::Cancelled {
                stage: Stage::Upload,
            } => "Run again when you are ready.",
            Self::Cancelled { stage: Stage::Poll } => {
                "The provider may still finish and bill the edit; check again later to fetch its result."
            }
        }
    }

    /// The provider's own words, verbatim, to show beside our sentence.
    pub fn provider_words(&self) -> Option<String> {
        match self {
            // The sentence already quotes the cause found in `details`; beside it, only a
            // top-level message that says something else. The wrapper's canned "busy, try
            // again" message is left out: it contradicts the cause.
            Self::BadRequest {
                code,
                message,
                details,
                ..
            } => {
                let canned = details.is_some() && code.as_deref() == Some(WRAPPED_HOST_ERROR);
                let repeated = details
                    .as_deref()
                    .is_some_and(|d| d.contains(message.as_str()));
                (!canned && !repeated && !message.trim().is_empty()).then(|| message.clone())
            }
            Self::ProviderFailure { code, message } => message.clone().or_else(|| code.clone()),
            Self::UnsupportedModel { message } => message.clone(),
            Self::Server { message, .. } => message.clone(),
            Self::Unexpected { snippet, .. } => Some(snippet.clone()).filter(|s| !s.is_empty()),
            _ => None,
        }
    }

    /// Whether the provider may have charged for this attempt, so that running it again
    /// may cost again. Only meaningful for errors of an edit: upload errors never bill.
    pub fn may_have_billed(&self) -> bool {
        match self {
            Self::Network { stage } | Self::Timeout { stage } | Self::Cancelled { stage } => {
                *stage != Stage::Upload
            }
            Self::Server { .. } | Self::MissingResult | Self::UnknownRecord => true,
            Self::Gateway { stage, .. } => *stage != Stage::Upload,
            // A 2xx that could not be read most likely carried a finished edit.
            Self::Unexpected { status, .. } => !(400..500).contains(status),
            _ => false,
        }
    }

    /// Whether the same request could succeed later. Edits are still never retried
    /// automatically; this decides whether to offer a retry button.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unauthorized
            | Self::InsufficientCredits
            | Self::BadRequest { .. }
            | Self::UnsupportedModel { .. }
            | Self::TooLarge => false,
            Self::Unexpected { status, .. } => !(400..500).contains(status),
            Self::RateLimited
            | Self::ProviderFailure { .. }
            | Self::Server { .. }
            | Self::Gateway { .. }
            | Self::MissingResult
            | Self::UnknownRecord
            | Self::Network { .. }
            | Self::Timeout { .. }
            | Self::Cancelled { .. } => true,
        }
    }

    /// After a poll, whether this error says nothing definite about the record, so asking
    /// again is right: a lost connection, a timeout, a rate limit, a 5xx or a gateway's
    /// page, an answer that could not be read. Only the other errors (and a finished
    /// record) end a run; a cancelled poll ends it because the person chose so.
    pub fn poll_again(&self) -> bool {
        match self {
            Self::Network { .. }
            | Self::Timeout { .. }
            | Self::RateLimited
            | Self::Server { .. }
            | Self::Gateway { .. } => true,
            Self::Unexpected { status, .. } => !(400..500).contains(status),
            _ => false,
        }
    }

    /// The stage of a transport failure.
    pub fn stage(&self) -> Option<Stage> {
        match self {
            Self::Network { stage } | Self::Timeout { stage } | Self::Cancelled { stage } => {
                Some(*stage)
            }
            _ => None,
        }
    }
}

/// Reads the answer of `POST /api/assets`: the asset path from `fileContent.path`, else
/// `asset.key`.
pub fn parse_asset_upload(status: u16, body: &str) -> Result<AssetPath, ApiError> {
    if !(200..300).contains(&status) {
        return Err(error_for_status(status, body, Stage::Upload));
    }
    let parsed = read_body(body);
    let Body::Json(value) = &parsed else {
        return Err(ApiError::Unexpected {
            status,
            snippet: parsed.snippet(),
        });
    };
    let path = non_empty_str(value.pointer("/fileContent/path"))
        .or_else(|| non_empty_str(value.pointer("/asset/key")));
    match path {
        Some(p) => Ok(AssetPath(p.to_owned())),
        None => {
            let shape = ErrorShape::read(value);
            Err(if shape.is_error(value) {
                error_in_success(&shape)
            } else {
                ApiError::Unexpected {
                    status,
                    snippet: parsed.snippet(),
                }
            })
        }
    }
}

/// Reads the answer of `POST /api/features`. `aiRecord.status` decides, even on a 200.
///
/// Also the first answer of an asynchronous submit: `Processing` with the record's uuid
/// is the usual answer, but a provider that ignores `async` answers with the finished
/// record, and that is the outcome at once, with nothing to poll.
pub fn parse_edit_response(status: u16, body: &str) -> EditOutcome {
    parse_record(status, body, Stage::Edit)
}

/// Reads the answer of a poll, `GET /api/results/{uuid}`: the same record as a synchronous
/// edit (`PROCESSING`, success, failure, read by the same reader), every error shape of
/// the features call, and `{"aiRecord": null}` for a record the provider does not know.
/// Errors carry [`Stage::Poll`]; [`ApiError::poll_again`] tells a lost poll from an end.
pub fn parse_result_response(status: u16, body: &str) -> EditOutcome {
    if (200..300).contains(&status)
        && let Body::Json(value) = read_body(body)
        && value.get("aiRecord").is_some_and(Value::is_null)
    {
        return EditOutcome::Failed(ApiError::UnknownRecord);
    }
    parse_record(status, body, Stage::Poll)
}

fn parse_record(status: u16, body: &str, stage: Stage) -> EditOutcome {
    if !(200..300).contains(&status) {
        return EditOutcome::Failed(error_for_status(status, body, stage));
    }
    let parsed = read_body(body);
    let Body::Json(value) = &parsed else {
        return EditOutcome::Failed(ApiError::Unexpected {
            status,
            snippet: parsed.snippet(),
        });
    };
    let unexpected = || {
        EditOutcome::Failed(ApiError::Unexpected {
            status,
            snippet: parsed.snippet(),
        })
    };
    let Some(record) = value.get("aiRecord").filter(|r| r.is_object()) else {
        let shape = ErrorShape::read(value);
        return if shape.is_error(value) {
            EditOutcome::Failed(error_in_success(&shape))
        } else {
            unexpected()
        };
    };
    let uuid = non_empty_str(record.get("uuid")).map(str::to_owned);
    let state = record
        .get("status")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_ascii_uppercase());
    match state.as_deref() {
        Some("SUCCESS" | "SUCCEEDED" | "COMPLETED" | "COMPLETE" | "DONE") => {
            success(value, record, uuid)
        }
        Some("FAILURE" | "FAILED" | "ERROR" | "CANCELLED" | "CANCELED") => {
            EditOutcome::Failed(failure(record))
        }
        Some(
            "PROCESSING" | "PENDING" | "QUEUED" | "RUNNING" | "IN_PROGRESS" | "STARTING"
            | "CREATED",
        ) => EditOutcome::Processing { uuid },
        // Without a status, a result URL is the only evidence of success worth trusting.
        None if display_url(value, record).is_some() => success(value, record, uuid),
        _ => unexpected(),
    }
}

fn success(value: &Value, record: &Value, uuid: Option<String>) -> EditOutcome {
    let Some(display_url) = display_url(value, record) else {
        return EditOutcome::Failed(ApiError::MissingResult);
    };
    let detail = record.get("aiRecordDetail");
    let storage_paths = match detail.and_then(|d| d.get("resultObject")) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| non_empty_str(Some(i)))
            .map(str::to_owned)
            .collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    };
    let credits = record.get("teamUser").and_then(|team| {
        Some(Credits {
            limit: team.get("creditLimit")?.as_f64()?,
            used: team.get("usedCredit")?.as_f64()?,
        })
    });
    EditOutcome::Succeeded(EditResult {
        uuid,
        expires_at: presigned_expiry(&display_url),
        display_url,
        storage_paths,
        credits,
        prompt_object: detail.and_then(|d| d.get("promptObject")).cloned(),
    })
}

/// A failed record's reason, wherever the provider put it: `resultObject.code`, a message in
/// `aiRecordDetail.errorMessage`, a message string as `resultObject[0]`, or the usual
/// error fields on the record.
fn failure(record: &Value) -> ApiError {
    let detail = record.get("aiRecordDetail");
    let result = detail.and_then(|d| d.get("resultObject"));
    let code = ["/code", "/errorCode", "/error/code"].iter().find_map(|p| {
        code_word(result.and_then(|r| r.pointer(p))).or_else(|| code_word(record.pointer(p)))
    });
    // Every place is read as a message position, so that a string there is the reason and
    // an object there is searched for one.
    let places = [
        detail.and_then(|d| d.get("errorMessage")),
        record.get("errorMessage"),
        result,
        record.get("message"),
        record.get("error"),
    ];
    let message = places
        .into_iter()
        .flatten()
        .find_map(|place| causes(place, true));
    let shape = ErrorShape {
        code,
        message,
        details: None,
        service: None,
    };
    known_error(&shape).unwrap_or(ApiError::ProviderFailure {
        code: shape.code,
        message: shape.message,
    })
}

/// `aiRecord.temporaryUrl`, else the top-level `temporaryUrl`; empty or non-displayable
/// values count as missing.
fn display_url(value: &Value, record: &Value) -> Option<String> {
    [record.get("temporaryUrl"), value.get("temporaryUrl")]
        .into_iter()
        .filter_map(non_empty_str)
        .find(|u| is_displayable(u))
        .map(str::to_owned)
}

/// The page puts this URL into `src` and `href`: anything but http(s) or a same-origin
/// path (the simulator's results) could run script or leak the page.
fn is_displayable(url: &str) -> bool {
    if url.starts_with('/') {
        return !url.starts_with("//") && !url.contains('\\') && !url.chars().any(char::is_control);
    }
    matches!(check_image_ref(url), Ok(ImageRef::Url(_)))
}

/// The expiry of a pre-signed URL in unix seconds: `X-Amz-Date` (`YYYYMMDDTHHMMSSZ`) plus
/// `X-Amz-Expires` (seconds), both read from the query.
pub fn presigned_expiry(url: &str) -> Option<i64> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or_default();
    let mut date = None;
    let mut expires = None;
    for pair in query.split('&') {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        if key.eq_ignore_ascii_case("X-Amz-Date") {
            date = Some(value);
        } else if key.eq_ignore_ascii_case("X-Amz-Expires") {
            expires = Some(value);
        }
    }
    let expires = expires?;
    if expires.is_empty() || expires.len() > 12 || !expires.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    parse_amz_date(date?)?.checked_add(expires.parse::<i64>().ok()?)
}

/// The wait a `Retry-After` header asks for, in seconds from `now` (unix seconds): either
/// a number of seconds or an HTTP date (`Wed, 21 Oct 2026 07:28:00 GMT`). A date already
/// past is no wait; anything else unreadable is `None`, and the caller keeps its own pace.
pub fn retry_after_seconds(value: &str, now: i64) -> Option<u64> {
    let value = value.trim();
    if !value.is_empty() && value.len() <= 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse().ok();
    }
    let at = parse_http_date(value)?;
    Some(u64::try_from(at.saturating_sub(now)).unwrap_or(0))
}

/// `Wed, 21 Oct 2026 07:28:00 GMT` (the IMF-fixdate every HTTP server sends) → unix
/// seconds. The weekday is not checked: a wrong one changes nothing about the time.
fn parse_http_date(text: &str) -> Option<i64> {
    let rest = text.split_once(", ")?.1;
    let mut parts = rest.split(' ');
    let (day, month, year, time, zone) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if parts.next().is_some() || zone != "GMT" || day.len() != 2 || year.len() != 4 {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)?;
    let clock: Vec<&str> = time.split(':').collect();
    let [hour, minute, second] = clock.as_slice() else {
        return None;
    };
    if [hour, minute, second].iter().any(|p| p.len() != 2) {
        return None;
    }
    // The same checks as the S3 date: one reader of calendar dates.
    parse_amz_date(&format!(
        "{year}{:02}{day}T{hour}{minute}{second}Z",
        month + 1
    ))
}

/// `20260327T100003Z` → unix seconds.
fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0i64, |acc, d| {
            d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
        })
    };
    let (year, month, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hour, minute, second) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn non_empty_str(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).filter(|s| !s.trim().is_empty())
}

/// A body as far as it could be read.
enum Body {
    Json(Value),
    Html { title: Option<String> },
    Text(String),
    Empty,
}

const SNIPPET_MAX_CHARS: usize = 200;

fn read_body(body: &str) -> Body {
    let trimmed = body.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Body::Empty;
    }
    if let Ok(value) = serde_json::from_str::<Value>(trimmed) {
        return Body::Json(value);
    }
    if holds_html_document(&head_lowercase(trimmed, 2048)) {
        return Body::Html {
            title: html_title(trimmed),
        };
    }
    Body::Text(truncate_chars(&one_line(trimmed), SNIPPET_MAX_CHARS))
}

impl Body {
    /// What of the body may be shown to a person: never HTML markup.
    fn snippet(&self) -> String {
        match self {
            Self::Json(v) => {
                without_markup(&truncate_chars(&redacted(v).to_string(), SNIPPET_MAX_CHARS))
                    .unwrap_or_else(|| "a JSON document".to_owned())
            }
            Self::Html { title: Some(t) } => t.clone(),
            Self::Html { title: None } => "an HTML page".to_owned(),
            Self::Text(t) => t.clone(),
            Self::Empty => String::new(),
        }
    }
}

/// The first `max` bytes, lowercased, cut on a character boundary.
fn head_lowercase(s: &str, max: usize) -> String {
    let end = s
        .char_indices()
        .map(|(i, c)| i + c.len_utf8())
        .take_while(|end| *end <= max)
        .last()
        .unwrap_or(0);
    s.get(..end).unwrap_or_default().to_ascii_lowercase()
}

/// Whether lowercased text holds an HTML document (a CDN's or proxy's error page).
fn holds_html_document(lower: &str) -> bool {
    lower.contains("<html") || lower.contains("<!doctype")
}

/// Provider text as it may be shown: an HTML document inside it (an error page quoted in a
/// JSON field) becomes that page's title, or nothing when it has none.
fn without_markup(text: &str) -> Option<String> {
    if holds_html_document(&text.to_ascii_lowercase()) {
        html_title(text)
    } else {
        Some(text.to_owned())
    }
}

fn html_title(html: &str) -> Option<String> {
    // Lowercasing ASCII keeps byte offsets, so positions found in `lower` index `html`.
    let lower = html.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower.get(open..)?.find('>')? + 1;
    let end = start + lower.get(start..)?.find("</title")?;
    let title = one_line(&decode_entities(html.get(start..end)?));
    (!title.is_empty() && !holds_html_document(&title.to_ascii_lowercase()))
        .then(|| truncate_chars(&title, 120))
}

fn decode_entities(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#039;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// The error fields of the shapes the provider and the CDN in front of it use.
#[derive(Default)]
struct ErrorShape {
    code: Option<String>,
    message: Option<String>,
    details: Option<String>,
    service: Option<String>,
}

impl ErrorShape {
    fn read(value: &Value) -> Self {
        let first = |paths: &[&str]| {
            paths
                .iter()
                .find_map(|p| value.pointer(p).and_then(|v| causes(v, true)))
        };
        let word = |paths: &[&str]| paths.iter().find_map(|p| code_word(value.pointer(p)));
        Self {
            code: word(&["/errorCode", "/code", "/error/code", "/error/errorCode"]),
            message: first(&["/message", "/error/message", "/error", "/msg"]),
            details: first(&["/details", "/error/details"]),
            service: word(&["/context/service"]),
        }
    }

    fn is_error(&self, value: &Value) -> bool {
        value.get("success") == Some(&Value::Bool(false))
            || value.get("error").is_some_and(|e| !e.is_null())
            || self.code.is_some()
            || self.message.is_some()
    }
}

/// A code or a name (`errorCode`, `context.service`) as it may be shown: one short line of
/// text; a document in its place (JSON or an HTML page) is no code.
fn code_word(value: Option<&Value>) -> Option<String> {
    let text = non_empty_str(value)?;
    if inner_json(text).is_some() || holds_html_document(&text.to_ascii_lowercase()) {
        return None;
    }
    Some(truncate_chars(&one_line(text), 80))
}

/// Keys under which the provider, or the host behind it, keeps what a person must never
/// see: request ids, the host's own request (method, internal URL, headers), stack traces.
/// Compared without case, `_` or `-`.
const INTERNAL_KEYS: [&str; 10] = [
    "requestid",
    "request",
    "traceid",
    "correlationid",
    "headers",
    "config",
    "stack",
    "stacktrace",
    "url",
    "path",
];

/// Keys that hold a message for people, in the order they are preferred.
const MESSAGE_KEYS: [&str; 8] = [
    "message",
    "errormessage",
    "msg",
    "error",
    "detail",
    "details",
    "description",
    "reason",
];

fn key_is(key: &str, list: &[&str]) -> bool {
    let folded: String = key
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    list.contains(&folded.as_str())
}

/// Strings that hold JSON are read as far down as this; deeper is not a message any more,
/// and the bound keeps a hostile body from exhausting the stack.
const MAX_DEPTH: u8 = 24;

/// The messages for people in a value from the provider, each once, joined with "; ":
/// one walk over any JSON, strings that hold JSON included. In a message position (the
/// value of `message`, `details`, …, or the place a caller names) a string is a message;
/// elsewhere only the message keys count, and internals are never entered. An object's
/// own messages win over those deeper inside it.
fn causes(value: &Value, message_position: bool) -> Option<String> {
    let mut found = Vec::new();
    walk(value, message_position, 0, &mut found);
    let mut unique: Vec<String> = Vec::new();
    for message in found {
        if let Some(clean) = without_markup(&one_line(&message)).filter(|m| !m.is_empty())
            && !unique.contains(&clean)
        {
            unique.push(clean);
        }
    }
    (!unique.is_empty()).then(|| unique.join("; "))
}

fn walk(value: &Value, message_position: bool, depth: u8, found: &mut Vec<String>) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::String(text) => match inner_json(text) {
            Some(inner) => walk(&inner, message_position, depth + 1, found),
            None if message_position && !text.trim().is_empty() => found.push(text.clone()),
            None => {}
        },
        Value::Array(items) => {
            for item in items {
                walk(item, message_position, depth + 1, found);
            }
        }
        Value::Object(fields) => {
            let before = found.len();
            for key in MESSAGE_KEYS {
                for (name, inner) in fields {
                    if key_is(name, &[key]) {
                        walk(inner, true, depth + 1, found);
                    }
                }
            }
            if found.len() == before {
                for (name, inner) in fields {
                    if !key_is(name, &INTERNAL_KEYS) && !key_is(name, &MESSAGE_KEYS) {
                        walk(inner, false, depth + 1, found);
                    }
                }
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// A JSON document held in a string, as the provider nests its host's errors: an object,
/// an array, or a string encoded once more (which may hold the next document).
fn inner_json(text: &str) -> Option<Value> {
    let trimmed = text.trim();
    if !trimmed.starts_with(['{', '[', '"']) {
        return None;
    }
    serde_json::from_str::<Value>(trimmed)
        .ok()
        .filter(|v| v.is_object() || v.is_array() || v.is_string())
}

/// The value without what lies under internal keys, nested JSON strings included, for the
/// snippet of an answer that could not be read otherwise.
fn redacted(value: &Value) -> Value {
    redacted_from(value, 0)
}

fn redacted_from(value: &Value, depth: u8) -> Value {
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    match value {
        Value::String(text) => match inner_json(text) {
            Some(inner) => Value::String(redacted_from(&inner, depth + 1).to_string()),
            None => value.clone(),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| redacted_from(item, depth + 1))
                .collect(),
        ),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .filter(|(name, _)| !key_is(name, &INTERNAL_KEYS))
                .map(|(name, inner)| (name.clone(), redacted_from(inner, depth + 1)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Errors recognised by their code or words, whatever the status.
fn known_error(shape: &ErrorShape) -> Option<ApiError> {
    let code = shape
        .code
        .as_deref()
        .unwrap_or_default()
        .to_ascii_uppercase();
    let words = shape
        .message
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if code.contains("CREDIT")
        || words.contains("insufficient credit")
        || words.contains("not enough credit")
    {
        return Some(ApiError::InsufficientCredits);
    }
    if code == "UNSUPPORTED_MODEL" {
        return Some(ApiError::UnsupportedModel {
            message: shape.message.clone(),
        });
    }
    if matches!(
        code.as_str(),
        "UNAUTHORIZED" | "UNAUTHENTICATED" | "FORBIDDEN"
    ) || code.contains("API_KEY")
        || [
            "api key",
            "api-key",
            "apikey",
            "unauthorized",
            "unauthorised",
        ]
        .iter()
        .any(|w| words.contains(w))
    {
        return Some(ApiError::Unauthorized);
    }
    if code.contains("RATE_LIMIT") || code == "TOO_MANY_REQUESTS" {
        return Some(ApiError::RateLimited);
    }
    None
}

/// An error shape that arrived with a 2xx.
fn error_in_success(shape: &ErrorShape) -> ApiError {
    // `details` holds the cause when there is one; the message beside it may be canned.
    known_error(shape).unwrap_or_else(|| ApiError::ProviderFailure {
        code: shape.code.clone(),
        message: shape.details.clone().or_else(|| shape.message.clone()),
    })
}

/// Maps an HTTP error status and its body, whatever shape the body has. `stage` is the call
/// it answered, which decides whether an edit may still be running behind a gateway.
fn error_for_status(status: u16, body: &str, stage: Stage) -> ApiError {
    let parsed = read_body(body);
    let shape = match &parsed {
        Body::Json(v) => ErrorShape::read(v),
        Body::Text(t) => ErrorShape {
            message: Some(t.clone()),
            ..ErrorShape::default()
        },
        Body::Html { .. } | Body::Empty => ErrorShape::default(),
    };
    // Behind a 5xx the words may be anyone's (a gateway, a crashed handler), so only the
    // provider's business codes count there; below it, its words count too.
    let business_code = shape.code.as_deref().is_some_and(|c| {
        c.eq_ignore_ascii_case("INSUFFICIENT_CREDITS")
            || c.eq_ignore_ascii_case("UNSUPPORTED_MODEL")
    });
    if let Some(known) = known_error(&shape)
        && (business_code || !(500..600).contains(&status))
    {
        return known;
    }
    match status {
        401 => ApiError::Unauthorized,
        403 if !matches!(parsed, Body::Html { .. }) => ApiError::Unauthorized,
        402 => ApiError::InsufficientCredits,
        413 => ApiError::TooLarge,
        429 => ApiError::RateLimited,
        // Cloudflare's own statuses: its page says nothing the provider said.
        520..=524 => ApiError::Gateway { status, stage },
        500..=599 => ApiError::Server {
            status,
            message: match &parsed {
                Body::Html { title } => title.clone(),
                _ => shape.message.clone(),
            },
        },
        400..=499
            if matches!(parsed, Body::Json(_))
                && (shape.message.is_some() || shape.code.is_some() || shape.details.is_some()) =>
        {
            ApiError::BadRequest {
                message: shape
                    .message
                    .clone()
                    .or_else(|| shape.code.clone())
                    .unwrap_or_default(),
                code: shape.code,
                details: shape.details,
                service: shape.service,
            }
        }
        _ => ApiError::Unexpected {
            status,
            snippet: parsed.snippet(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_dates() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("20260327T100003Z"), Some(1_774_605_603));
        assert_eq!(parse_amz_date("20000229T000000Z"), Some(951_782_400));
        assert_eq!(parse_amz_date("19000229T000000Z"), None);
        assert_eq!(parse_amz_date("20261301T000000Z"), None);
        assert_eq!(parse_amz_date("20260100T000000Z"), None);
        assert_eq!(parse_amz_date("20260101T240000Z"), None);
        assert_eq!(parse_amz_date("2026010T1000000Z"), None);
        assert_eq!(parse_amz_date("20260101T00000Z"), None);
        assert_eq!(parse_amz_date("2026-1-01T000000Z"), None);
        assert_eq!(parse_amz_date("20260101T00000éZ"), None);
        assert_eq!(parse_amz_date("19691231T235959Z"), Some(-1));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(retry_after_seconds("60", 0), Some(60));
        assert_eq!(retry_after_seconds(" 0 ", 0), Some(0));
        let at = 1_774_605_603; // 2026-03-27T10:00:03Z
        assert_eq!(
            retry_after_seconds("Fri, 27 Mar 2026 10:00:33 GMT", at),
            Some(30)
        );
        assert_eq!(
            retry_after_seconds("Fri, 27 Mar 2026 10:00:03 GMT", at + 5),
            Some(0)
        );
        for bad in [
            "",
            "-5",
            "1.5",
            "soon",
            "99999999999999999999",
            "Fri, 27 Mar 2026 10:00:33 UTC",
            "Fri, 31 Feb 2026 10:00:33 GMT",
            "Fri, 27 Mar 2026 10:0:33 GMT",
            "Fri, 27 Mär 2026 10:00:33 GMT",
            "Fri, 27 Mar 2026 10:00:33 GMT x",
        ] {
            assert_eq!(retry_after_seconds(bad, at), None, "{bad}");
        }
    }

    #[test]
    fn presigned_expiry_reads_the_query() {
        assert_eq!(
            presigned_expiry("https://x/a.png?X-Amz-Date=20260327T100003Z&X-Amz-Expires=604800"),
            Some(1_774_605_603 + 604_800)
        );
        assert_eq!(
            presigned_expiry("https://x/a.png?x-amz-expires=60&x-amz-date=19700101T000000Z#f"),
            Some(60)
        );
        assert_eq!(presigned_expiry("https://x/a.png"), None);
        assert_eq!(
            presigned_expiry("https://x/a.png?X-Amz-Date=20260327T100003Z"),
            None
        );
        assert_eq!(
            presigned_expiry("https://x/a.png?X-Amz-Date=20260327T100003Z&X-Amz-Expires=-5"),
            None
        );
        assert_eq!(
            presigned_expiry(
                "https://x/a.png?X-Amz-Date=20260327T100003Z&X-Amz-Expires=99999999999999999999"
            ),
            None
        );
    }

    #[test]
    fn html_titles() {
        assert_eq!(
            html_title("<HTML><Title>504 Gateway &amp; Time-out</TITLE>"),
            Some("504 Gateway & Time-out".into())
        );
        assert_eq!(html_title("<html><title></title>"), None);
        assert_eq!(html_title("<html><title>unterminated"), None);
        assert_eq!(html_title("<title"), None);
        assert_eq!(head_lowercase("ÄB", 1), "");
        assert_eq!(head_lowercase("ÄB", 3), "Äb");
    }

    #[test]
    fn html_quoted_in_json_fields_is_never_shown() {
        // What a person may see of an error: its sentence and the provider's words.
        let shown = |status, body: &str| match parse_edit_response(status, body) {
            EditOutcome::Failed(e) => format!("{e} {}", e.provider_words().unwrap_or_default()),
            other => panic!("expected an error, got {other:?}"),
        };
        let error_page = r#"{"code":"<html><title>x</title>"}"#;
        assert!(!shown(200, error_page).contains('<'));
        let message = r#"{"message":"<!DOCTYPE html><html><title>502 Bad Gateway</title></html>"}"#;
        let text = shown(500, message);
        assert!(text.contains("502 Bad Gateway"), "{text}");
        assert!(!text.contains('<'), "{text}");
        let untitled = r#"{"error":{"message":"<html><body>down</body></html>"}}"#;
        assert!(!shown(502, untitled).to_ascii_lowercase().contains("<html"));
        let titled_markup = "<html><title>&lt;html&gt;</title>";
        assert_eq!(html_title(titled_markup), None);
    }

    #[test]
    fn status_codes_map_to_errors() {
        assert_eq!(
            error_for_status(401, "", Stage::Edit),
            ApiError::Unauthorized
        );
        assert_eq!(
            error_for_status(403, "{}", Stage::Edit),
            ApiError::Unauthorized
        );
        assert_eq!(
            error_for_status(402, "", Stage::Edit),
            ApiError::InsufficientCredits
        );
        assert_eq!(
            error_for_status(413, "<html>too big</html>", Stage::Edit),
            ApiError::TooLarge
        );
        assert_eq!(
            error_for_status(429, "slow down", Stage::Edit),
            ApiError::RateLimited
        );
        assert_eq!(
            error_for_status(429, r#"{"errorCode":"INSUFFICIENT_CREDITS"}"#, Stage::Edit),
            ApiError::InsufficientCredits
        );
        assert_eq!(
            error_for_status(503, "Service Unavailable", Stage::Edit),
            ApiError::Server {
                status: 503,
                message: Some("Service Unavailable".into())
            }
        );
        assert_eq!(
            error_for_status(404, "<!doctype html><title>Not Found</title>", Stage::Edit),
            ApiError::Unexpected {
                status: 404,
                snippet: "Not Found".into()
            }
        );
        assert_eq!(
            error_for_status(400, r#"{"message":"Invalid API key"}"#, Stage::Edit),
            ApiError::Unauthorized
        );
        assert_eq!(
            error_for_status(500, r#"{"message":"Invalid API key"}"#, Stage::Edit),
            ApiError::Server {
                status: 500,
                message: Some("Invalid API key".into())
            }
        );
        assert_eq!(
            error_for_status(418, "no", Stage::Edit),
            ApiError::Unexpected {
                status: 418,
                snippet: "no".into()
            }
        );
        assert_eq!(
            error_for_status(302, "", Stage::Edit),
            ApiError::Unexpected {
                status: 302,
                snippet: String::new()
            }
        );
    }

    #[test]
    fn details_nested_in_strings() {
        let d = |s: &str| causes(&serde_json::from_str::<Value>(s).unwrap(), true);
        assert_eq!(d(r#""plain words""#), Some("plain words".into()));
        assert_eq!(d(r#""{\"message\":\"inner\"}""#), Some("inner".into()));
        // JSON without any message says nothing a person can use.
        assert_eq!(d(r#""{\"status\":400}""#), None);
        assert_eq!(
            d(r#""[{\"message\":\"a\"},{\"message\":\"b\"},{\"message\":\"a\"}]""#),
            Some("a; b".into())
        );
        assert_eq!(
            d(r#""{\"error\":{\"message\":\"deep\"}}""#),
            Some("deep".into())
        );
        assert_eq!(d(r#"{"message":"object"}"#), Some("object".into()));
        assert_eq!(d(r#""""#), None);
        assert_eq!(d("null"), None);
        // Strings holding JSON holding strings holding JSON, internals skipped on the way.
        let inner = r#"{"request_id":"r-1","data":{"message":"the cause"}}"#;
        let middle = serde_json::json!({"request": {"url": "/internal"}, "response": inner});
        let outer = Value::String(middle.to_string());
        assert_eq!(causes(&outer, true), Some("the cause".into()));
        // An object's own message wins over what lies deeper.
        assert_eq!(
            d(r#"{"message":"top","data":{"message":"deep"}}"#),
            Some("top".into())
        );
        // A message quoted as an HTML page shows its title only.
        assert_eq!(
            d(r#""<html><title>522 Connection timed out</title></html>""#),
            Some("522 Connection timed out".into())
        );
    }

    #[test]
    fn snippets_leave_internals_out() {
        let body = r#"{"weird":true,"request_id":"r-7","nested":"{\"request\":{\"url\":\"/secret\"},\"ok\":1}"}"#;
        let EditOutcome::Failed(ApiError::Unexpected { snippet, .. }) =
            parse_edit_response(200, body)
        else {
            panic!("expected an unreadable answer")
        };
        assert!(!snippet.contains("r-7"), "{snippet}");
        assert!(!snippet.contains("/secret"), "{snippet}");
        assert!(snippet.contains("weird"), "{snippet}");
    }

    #[test]
    fn cloudflare_pages_read_as_the_gateway() {
        let page = "<!DOCTYPE html><html><head><title>api.1min.ai | 522: Connection timed out</title></head><body>cloudflare</body></html>";
        let EditOutcome::Failed(edit) = parse_edit_response(522, page) else {
            panic!("expected failure")
        };
        assert_eq!(
            edit,
            ApiError::Gateway {
                status: 522,
                stage: Stage::Edit
            }
        );
        assert_eq!(
            edit.to_string(),
            "The provider's gateway timed out waiting for its servers (HTTP 522)."
        );
        assert!(edit.may_have_billed());
        assert!(edit.next_step().contains("may still be running"));
        let upload = parse_asset_upload(521, page).unwrap_err();
        assert_eq!(
            upload.to_string(),
            "The provider's gateway could not reach its servers (HTTP 521)."
        );
        assert!(!upload.may_have_billed());
        assert!(!upload.next_step().contains("billed"));
    }

    #[test]
    fn sentences_and_next_steps() {
        let e = ApiError::BadRequest {
            code: None,
            message: "Bad".into(),
            details: Some("The size does not match the required aspect ratio".into()),
            service: None,
        };
        assert_eq!(
            e.to_string(),
            "The provider refused the request: The size does not match the required aspect ratio."
        );
        assert!(e.next_step().contains("aspect ratio"));
        assert_eq!(e.provider_words().unwrap(), "Bad");
        let all = [
            ApiError::Unauthorized,
            ApiError::RateLimited,
            ApiError::InsufficientCredits,
            e,
            ApiError::ProviderFailure {
                code: Some("X".into()),
                message: None,
            },
            ApiError::UnsupportedModel { message: None },
            ApiError::Server {
                status: 502,
                message: None,
            },
            ApiError::Gateway {
                status: 524,
                stage: Stage::Edit,
            },
            ApiError::Unexpected {
                status: 200,
                snippet: String::new(),
            },
            ApiError::MissingResult,
            ApiError::TooLarge,
            ApiError::Network {
                stage: Stage::Upload,
            },
            ApiError::Timeout { stage: Stage::Edit },
            ApiError::Cancelled {
                stage: Stage::Result,
            },
        ];
        let mut kinds: Vec<_> = all.iter().map(ApiError::kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), all.len());
        for e in &all {
            let sentence = e.to_string();
            assert!(sentence.ends_with('.'), "{sentence}");
            assert!(!e.next_step().is_empty());
        }
        assert_eq!(
            all[4].to_string(),
            "The provider could not complete the edit (X)."
        );
    }

    #[test]
    fn billing_and_retry() {
        use Stage::*;
        for stage in [Edit, Result] {
            assert!(ApiError::Network { stage }.may_have_billed());
            assert!(ApiError::Timeout { stage }.may_have_billed());
            assert!(ApiError::Cancelled { stage }.may_have_billed());
        }
        assert!(!ApiError::Network { stage: Upload }.may_have_billed());
        assert!(!ApiError::Timeout { stage: Upload }.may_have_billed());
        assert!(
            ApiError::Server {
                status: 502,
                message: None
            }
            .may_have_billed()
        );
        assert!(!ApiError::Unauthorized.may_have_billed());
        assert!(!ApiError::TooLarge.may_have_billed());
        assert!(
            !ApiError::BadRequest {
                code: None,
                message: String::new(),
                details: None,
                service: None,
            }
            .may_have_billed()
        );
        assert!(ApiError::RateLimited.is_retryable());
        assert!(!ApiError::Unauthorized.is_retryable());
        assert!(!ApiError::InsufficientCredits.is_retryable());
        assert_eq!(ApiError::Timeout { stage: Edit }.stage(), Some(Stage::Edit));
    }

    #[test]
    fn display_urls_must_be_safe() {
        assert!(is_displayable("https://a.example/x.png"));
        assert!(is_displayable("/results/x.png"));
        assert!(!is_displayable("//evil.example/x.png"));
        assert!(!is_displayable("javascript:alert(1)"));
        assert!(!is_displayable("data:image/png;base64,AAAA"));
        assert!(!is_displayable("images/x.png"));
    }
}
