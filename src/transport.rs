//! The one seam between the editor and the network. Components never touch fetch or XHR:
//! they call a [`Transport`] from context, which tests replace with a fake.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use flexedit_api::{ApiError, AssetPath, EditOutcome, Mode, RESULTS_ROUTE, RecordId, Stage};

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

pub type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// Where requests go and with what credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Base URL without a trailing slash; empty means the page's own origin.
    pub endpoint: String,
    pub mode: Mode,
    /// The person's key; sent only in direct mode.
    pub key: Option<String>,
    /// Sent as `x-request-id` with every request of one edit, so the proxy's log lines of
    /// that edit can be found together. Only through a proxy: a custom header would make a
    /// browser ask the provider's permission first (a preflight) in direct mode.
    pub request_id: Option<String>,
}

impl Connection {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.endpoint.trim_end_matches('/'), path)
    }

    /// The same connection, tagging its requests with `id` when it goes through a proxy.
    pub fn tagged(mut self, id: &str) -> Self {
        self.request_id = (self.mode == Mode::Proxy).then(|| id.to_owned());
        self
    }

    /// The `x-request-id` header value, if this connection sends one.
    pub fn request_id_header(&self) -> Option<&str> {
        match self.mode {
            Mode::Proxy => self.request_id.as_deref(),
            Mode::Direct => None,
        }
    }

    /// The `API-KEY` header value, if this connection sends one.
    pub fn key_header(&self) -> Option<&str> {
        match self.mode {
            Mode::Direct => self.key.as_deref().map(str::trim).filter(|k| !k.is_empty()),
            Mode::Proxy => None,
        }
    }
}

/// What one poll of a record gave: the outcome, and how long the provider asked to wait.
#[derive(Debug, Clone, PartialEq)]
pub struct Polled {
    pub outcome: EditOutcome,
    pub retry_after_ms: Option<f64>,
}

impl From<EditOutcome> for Polled {
    fn from(outcome: EditOutcome) -> Self {
        Self {
            outcome,
            retry_after_ms: None,
        }
    }
}

/// The prepared image to upload.
#[derive(Clone)]
pub struct Upload {
    pub blob: web_sys::Blob,
    pub file_name: String,
}

/// Cancels whatever request it was given to, and remembers that it did.
#[derive(Clone)]
pub struct Cancel {
    controller: Option<web_sys::AbortController>,
    cancelled: Rc<Cell<bool>>,
}

impl Default for Cancel {
    fn default() -> Self {
        Self::new()
    }
}

impl Cancel {
    pub fn new() -> Self {
        Self {
            controller: web_sys::AbortController::new().ok(),
            cancelled: Rc::new(Cell::new(false)),
        }
    }

    pub fn cancel(&self) {
        self.cancelled.set(true);
        if let Some(controller) = &self.controller {
            controller.abort();
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.get()
    }

    pub fn signal(&self) -> Option<web_sys::AbortSignal> {
        self.controller.as_ref().map(|c| c.signal())
    }
}

pub type Progress = Rc<dyn Fn(u8)>;

pub trait Transport {
    /// `POST {endpoint}/api/assets`, multipart field `asset`, reporting percent sent.
    fn upload(
        &self,
        connection: &Connection,
        upload: Upload,
        progress: Progress,
        cancel: &Cancel,
    ) -> LocalFuture<Result<AssetPath, ApiError>>;

    /// `POST {endpoint}/api/features` with `body`, exactly as built by flexedit-api.
    fn edit(
        &self,
        connection: &Connection,
        body: String,
        cancel: &Cancel,
    ) -> LocalFuture<EditOutcome>;

    /// `GET {endpoint}/api/results/{uuid}`: where an asynchronous edit's record stands.
    fn poll(
        &self,
        connection: &Connection,
        record: &RecordId,
        cancel: &Cancel,
    ) -> LocalFuture<Polled>;

    /// The bytes of a result image: straight from its URL, or through the proxy's
    /// result route when the image's host refuses the page.
    fn fetch_image(
        &self,
        connection: &Connection,
        url: &str,
    ) -> LocalFuture<Result<web_sys::Blob, ApiError>>;
}

/// The real network: XMLHttpRequest for uploads (fetch reports no upload progress), fetch
/// for everything else.
#[derive(Debug, Clone, Copy, Default)]
pub struct BrowserTransport;

impl Transport for BrowserTransport {
    fn upload(
        &self,
        connection: &Connection,
        upload: Upload,
        progress: Progress,
        cancel: &Cancel,
    ) -> LocalFuture<Result<AssetPath, ApiError>> {
        let url = connection.url("/api/assets");
        let headers = Headers::of(connection);
        let cancel = cancel.clone();
        Box::pin(async move {
            let (status, body) = xhr_upload(&url, &headers, &upload, progress, &cancel)
                .await
                .map_err(|failure| failure.into_error(Stage::Upload))?;
            flexedit_api::parse_asset_upload(status, &body)
        })
    }

    fn edit(
        &self,
        connection: &Connection,
        body: String,
        cancel: &Cancel,
    ) -> LocalFuture<EditOutcome> {
        let url = connection.url("/api/features");
        let headers = Headers::of(connection);
        let cancel = cancel.clone();
        Box::pin(send_edit(url, headers, body, cancel))
    }

    fn poll(
        &self,
        connection: &Connection,
        record: &RecordId,
        cancel: &Cancel,
    ) -> LocalFuture<Polled> {
        let url = connection.url(&format!("{RESULTS_ROUTE}{record}"));
        let headers = Headers::of(connection);
        let cancel = cancel.clone();
        Box::pin(send_poll(url, headers, cancel))
    }

    fn fetch_image(
        &self,
        connection: &Connection,
        url: &str,
    ) -> LocalFuture<Result<web_sys::Blob, ApiError>> {
        let direct = url.to_owned();
        let via_proxy = connection.url(&format!(
            "/api/result-image?url={}",
            String::from(js_sys::encode_uri_component(url))
        ));
        Box::pin(fetch_image_from(direct, via_proxy))
    }
}

/// The headers every API request of a connection carries besides its own.
struct Headers {
    key: Option<String>,
    request_id: Option<String>,
}

impl Headers {
    fn of(connection: &Connection) -> Self {
        Self {
            key: connection.key_header().map(str::to_owned),
            request_id: connection.request_id_header().map(str::to_owned),
        }
    }

    fn pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [("API-KEY", &self.key), ("x-request-id", &self.request_id)]
            .into_iter()
            .filter_map(|(name, value)| Some((name, value.as_deref()?)))
    }

    fn on(&self, mut request: gloo_net::http::RequestBuilder) -> gloo_net::http::RequestBuilder {
        for (name, value) in self.pairs() {
            request = request.header(name, value);
        }
        request
    }
}

async fn send_edit(url: String, headers: Headers, body: String, cancel: Cancel) -> EditOutcome {
    let request = gloo_net::http::Request::post(&url)
        .header("Content-Type", "application/json")
        .abort_signal(cancel.signal().as_ref());
    let request = headers.on(request);
    let stage = Stage::Edit;
    let failed = |cancel: &Cancel| {
        EditOutcome::Failed(if cancel.is_cancelled() {
            ApiError::Cancelled { stage }
        } else {
            ApiError::Network { stage }
        })
    };
    let Ok(request) = request.body(body) else {
        return failed(&cancel);
    };
    let Ok(response) = request.send().await else {
        return failed(&cancel);
    };
    match response.text().await {
        Ok(text) => flexedit_api::parse_edit_response(response.status(), &text),
        // The connection dropped after the headers: the edit may have run.
        Err(_) => failed(&cancel),
    }
}

async fn send_poll(url: String, headers: Headers, cancel: Cancel) -> Polled {
    let request =
        headers.on(gloo_net::http::Request::get(&url).abort_signal(cancel.signal().as_ref()));
    let stage = Stage::Poll;
    let lost = |cancel: &Cancel| {
        Polled::from(EditOutcome::Failed(if cancel.is_cancelled() {
            ApiError::Cancelled { stage }
        } else {
            ApiError::Network { stage }
        }))
    };
    let Ok(response) = request.send().await else {
        return lost(&cancel);
    };
    let retry_after_ms = response.headers().get("retry-after").and_then(|value| {
        let now = (js_sys::Date::now() / 1000.0) as i64;
        flexedit_api::retry_after_seconds(&value, now).map(|s| s as f64 * 1000.0)
    });
    match response.text().await {
        Ok(text) => Polled {
            outcome: flexedit_api::parse_result_response(response.status(), &text),
            retry_after_ms,
        },
        Err(_) => lost(&cancel),
    }
}

async fn fetch_image_from(direct: String, via_proxy: String) -> Result<web_sys::Blob, ApiError> {
    if let Some(blob) = fetch_blob(&direct).await {
        return Ok(blob);
    }
    fetch_blob(&via_proxy).await.ok_or(ApiError::Network {
        stage: Stage::Result,
    })
}

async fn fetch_blob(url: &str) -> Option<web_sys::Blob> {
    let response = gloo_net::http::Request::get(url).send().await.ok()?;
    if !response.ok() {
        return None;
    }
    let bytes = response.binary().await.ok()?;
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes.as_slice()));
    let options = web_sys::BlobPropertyBag::new();
    if let Some(kind) = response.headers().get("content-type") {
        options.set_type(&kind);
    }
    web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).ok()
}

enum XhrFailure {
    Network,
    Timeout,
    Cancelled,
}

impl XhrFailure {
    fn into_error(self, stage: Stage) -> ApiError {
        match self {
            XhrFailure::Network => ApiError::Network { stage },
            XhrFailure::Timeout => ApiError::Timeout { stage },
            XhrFailure::Cancelled => ApiError::Cancelled { stage },
        }
    }
}

/// Uploads in the upload stage may take minutes on a slow line; past this, give up.
const UPLOAD_TIMEOUT_MS: u32 = 5 * 60 * 1000;

async fn xhr_upload(
    url: &str,
    headers: &Headers,
    upload: &Upload,
    progress: Progress,
    cancel: &Cancel,
) -> Result<(u16, String), XhrFailure> {
    if cancel.is_cancelled() {
        return Err(XhrFailure::Cancelled);
    }
    let xhr = web_sys::XmlHttpRequest::new().map_err(|_| XhrFailure::Network)?;
    xhr.open("POST", url).map_err(|_| XhrFailure::Network)?;
    for (name, value) in headers.pairs() {
        xhr.set_request_header(name, value)
            .map_err(|_| XhrFailure::Network)?;
    }
    xhr.set_timeout(UPLOAD_TIMEOUT_MS);
    let form = web_sys::FormData::new().map_err(|_| XhrFailure::Network)?;
    form.append_with_blob_and_filename("asset", &upload.blob, &upload.file_name)
        .map_err(|_| XhrFailure::Network)?;

    let on_progress =
        Closure::<dyn Fn(web_sys::ProgressEvent)>::new(move |event: web_sys::ProgressEvent| {
            if event.length_computable() && event.total() > 0.0 {
                let percent = (event.loaded() / event.total() * 100.0).clamp(0.0, 100.0);
                progress(percent as u8);
            }
        });
    if let Ok(target) = xhr.upload() {
        target.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }

    // Settles with the name of the event that ended the request.
    let ended = js_sys::Promise::new(&mut |resolve, _reject| {
        for name in ["load", "error", "timeout", "abort"] {
            let resolve = resolve.clone();
            let settle = Closure::once_into_js(move || {
                let _ = resolve.call1(&JsValue::NULL, &JsValue::from_str(name));
            });
            let _ = xhr.add_event_listener_with_callback(name, settle.unchecked_ref());
        }
    });

    let abort_xhr = {
        let xhr = xhr.clone();
        Closure::<dyn Fn()>::new(move || {
            let _ = xhr.abort();
        })
    };
    let signal = cancel.signal();
    if let Some(signal) = &signal {
        let _ =
            signal.add_event_listener_with_callback("abort", abort_xhr.as_ref().unchecked_ref());
    }

    xhr.send_with_opt_form_data(Some(&form))
        .map_err(|_| XhrFailure::Network)?;
    let how = wasm_bindgen_futures::JsFuture::from(ended)
        .await
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default();

    if let Some(signal) = &signal {
        let _ =
            signal.remove_event_listener_with_callback("abort", abort_xhr.as_ref().unchecked_ref());
    }
    if let Ok(target) = xhr.upload() {
        target.set_onprogress(None);
    }
    drop(on_progress);

    match how.as_str() {
        "load" => {
            let status = xhr.status().unwrap_or(0);
            let body = xhr.response_text().ok().flatten().unwrap_or_default();
            if status == 0 {
                Err(XhrFailure::Network)
            } else {
                Ok((status, body))
            }
        }
        "timeout" => Err(XhrFailure::Timeout),
        "abort" => Err(XhrFailure::Cancelled),
        _ if cancel.is_cancelled() => Err(XhrFailure::Cancelled),
        _ => Err(XhrFailure::Network),
    }
}

/// The transport an editor talks through: the browser's network, or the one a test gives.
///
/// The browser's is made only where a request is sent, in the parts that send them
/// (src/split.rs), so its code loads with them instead of with the form.
#[derive(Clone, Default)]
pub struct Net(Option<Rc<dyn Transport>>);

impl Net {
    /// The transport to send through now.
    pub fn transport(&self) -> Rc<dyn Transport> {
        match &self.0 {
            Some(transport) => transport.clone(),
            None => Rc::new(BrowserTransport),
        }
    }
}

impl From<Rc<dyn Transport>> for Net {
    fn from(transport: Rc<dyn Transport>) -> Self {
        Self(Some(transport))
    }
}

/// What components reach the network through, from context.
#[derive(Clone)]
pub struct Network {
    /// Context values must be `Send`; the page has one thread, so the wrapper never moves.
    pub net: send_wrapper::SendWrapper<Net>,
    pub connection: leptos::prelude::Signal<Connection>,
}

impl Network {
    pub fn new(net: impl Into<Net>, connection: leptos::prelude::Signal<Connection>) -> Self {
        Self {
            net: send_wrapper::SendWrapper::new(net.into()),
            connection,
        }
    }
}
