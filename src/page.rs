//! Small helpers over the page itself, shared by the views: whether there is a page at
//! all, the person's first sign of using it, ids unique in the page, and handing a file to
//! the browser's downloads.

use std::cell::Cell;
use std::time::Duration;

use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// How long an object URL handed to a download stays valid: long enough for the browser to
/// start reading it, short enough not to hold the image in memory for the whole session.
const DOWNLOAD_URL_LIFETIME: Duration = Duration::from_secs(60);

/// Whether the views run in a page. Natively they are only rendered to HTML, at build time
/// (src/prerender.rs): nothing is started, listened to or fetched, as there is no browser.
pub(crate) const IN_PAGE: bool = cfg!(target_arch = "wasm32");

/// What counts as a person starting to use the page. Moving the pointer counts: a desktop
/// visitor's parts load while they aim at the drop zone.
const FIRST_USE_EVENTS: [&str; 10] = [
    "pointermove",
    "pointerdown",
    "keydown",
    "touchstart",
    "wheel",
    "focusin",
    "input",
    "change",
    "dragenter",
    "paste",
];

thread_local! {
    /// Resolves at the first of [`FIRST_USE_EVENTS`] on the window, or at [`mark_used`].
    static FIRST_USE: (js_sys::Promise, Option<js_sys::Function>) = {
        let mut resolve = None;
        let promise = js_sys::Promise::new(&mut |yes, _no| resolve = Some(yes));
        (promise, resolve)
    };
    static LISTENING: Cell<bool> = const { Cell::new(false) };
    static NEXT_ID: Cell<u32> = const { Cell::new(0) };
}

/// Resolves once the person shows a sign of using the page (see [`FIRST_USE_EVENTS`]) or
/// the editor has something to show ([`mark_used`]). What the first screen does not show
/// loads then, so a first visit that only looks fetches the form alone.
pub(crate) async fn first_use() {
    if IN_PAGE && !LISTENING.replace(true) {
        listen_for_first_use();
    }
    let promise = FIRST_USE.with(|(promise, _)| promise.clone());
    // Suspend needs a Send future; the page has one thread, so the wrapper never moves.
    let _ = send_wrapper::SendWrapper::new(wasm_bindgen_futures::JsFuture::from(promise)).await;
}

/// The editor has something to show (an image, a run followed again): what waits for the
/// first use loads now.
pub(crate) fn mark_used() {
    if !IN_PAGE {
        return;
    }
    FIRST_USE.with(|(_, resolve)| {
        if let Some(resolve) = resolve {
            let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
        }
    });
}

fn listen_for_first_use() {
    use wasm_bindgen::closure::Closure;
    let Some(window) = web_sys::window() else {
        return mark_used();
    };
    // Called once: the first event resolves the promise, later ones find it resolved. The
    // listeners stay (passive, a few) rather than keeping handles to remove them.
    let used = Closure::<dyn Fn()>::new(mark_used).into_js_value();
    let options = web_sys::AddEventListenerOptions::new();
    options.set_passive(true);
    options.set_capture(true);
    options.set_once(true);
    for name in FIRST_USE_EVENTS {
        let listening = window.add_event_listener_with_callback_and_add_event_listener_options(
            name,
            used.unchecked_ref(),
            &options,
        );
        if listening.is_err() {
            return mark_used();
        }
    }
}

/// The page's localStorage; none where the browser keeps none (private modes, a
/// sandboxed frame), and callers then keep nothing.
pub(crate) fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// index.html's editor is rendered off the page in more than one task, each short, and
/// takes the first screen's place once whole: the editor calls [`Takeover::done`] when its
/// last piece is in. Given as context by the page's mount (`embed::mount`) only.
#[derive(Clone, Copy)]
pub struct Takeover(StoredValue<Option<Box<dyn FnOnce()>>, LocalStorage>);

impl Takeover {
    pub fn new(swap: impl FnOnce() + 'static) -> Self {
        Takeover(StoredValue::new_local(Some(Box::new(swap))))
    }

    /// The editor is whole: it takes the first screen's place, in a task after the one that
    /// rendered its last piece, so that piece is in it.
    pub fn done(self) {
        set_timeout(
            move || {
                if let Some(swap) = self.0.try_update_value(Option::take).flatten() {
                    swap();
                }
            },
            Duration::ZERO,
        );
    }
}

/// A page-unique id, so that several panels can point their labels at their own elements.
pub(crate) fn unique_id(prefix: &str) -> String {
    let n = NEXT_ID.with(|c| {
        let n = c.get();
        c.set(n.wrapping_add(1));
        n
    });
    format!("{prefix}-{n}")
}

/// Saves through a temporary link, which is how a page hands a file to the browser's own
/// download handling.
pub(crate) fn save_blob(blob: &web_sys::Blob, name: &str) -> Result<(), ()> {
    let object_url = web_sys::Url::create_object_url_with_blob(blob).map_err(|_| ())?;
    let saved = click_download_link(&object_url, name);
    set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&object_url);
        },
        DOWNLOAD_URL_LIFETIME,
    );
    saved
}

fn click_download_link(href: &str, name: &str) -> Result<(), ()> {
    let document = window().document().ok_or(())?;
    let body = document.body().ok_or(())?;
    let link: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|_| ())?
        .dyn_into()
        .map_err(|_| ())?;
    link.set_href(href);
    link.set_download(name);
    link.set_hidden(true);
    // In the document, so every browser follows the click.
    body.append_child(&link).map_err(|_| ())?;
    link.click();
    link.remove();
    Ok(())
}
