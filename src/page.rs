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

/// What a person did to index.html's first screen before the editor took it over. Its
/// fields take input from the moment the HTML paints, while the page's module still loads;
/// when the live editor takes the screen's place, it takes their values and the focus into
/// its own controls, as if the person had typed there.
pub(crate) struct Carried {
    changed: Vec<(Control, Change)>,
    focus: Option<(Control, Option<Selection>)>,
}

/// A control found alike in both renders: its tag, type, id, name, test id and label, and
/// which of the controls so named it is. Both renders come from the same components, so
/// they hold the same controls in the same order; one the other lacks is not carried.
#[derive(Clone, PartialEq)]
struct Control(String, usize);

enum Change {
    Value(String),
    Checked(bool),
}

struct Selection {
    start: u32,
    end: u32,
    direction: String,
    scroll_top: i32,
}

impl Carried {
    /// Reads what differs from the first screen's defaults, and where the focus is.
    pub(crate) fn take(screen: &web_sys::Element) -> Carried {
        let controls = controls(screen);
        let changed = controls
            .iter()
            .filter_map(|(control, element)| Some((control.clone(), change_of(element)?)))
            .collect();
        let active = screen.owner_document().and_then(|d| d.active_element());
        let focus = active.and_then(|active| {
            let (control, element) = controls.into_iter().find(|(_, e)| *e == active)?;
            Some((control, selection_of(&element)))
        });
        Carried { changed, focus }
    }

    /// Puts the carried values into the live editor's controls, each followed by the input
    /// and change events a person's typing gives, so the editor's state takes them; then
    /// the focus, with the caret where it was.
    pub(crate) fn apply(self, editor: &web_sys::Element) {
        if self.changed.is_empty() && self.focus.is_none() {
            return;
        }
        let controls = controls(editor);
        let find = |wanted: &Control| {
            controls
                .iter()
                .find(|(control, _)| control == wanted)
                .map(|(_, element)| element)
        };
        for (control, change) in &self.changed {
            if let Some(element) = find(control) {
                set(element, change);
            }
        }
        let Some((control, selection)) = self.focus else {
            return;
        };
        let Some(element) = find(&control) else {
            return;
        };
        if let Some(element) = element.dyn_ref::<web_sys::HtmlElement>() {
            let _ = element.focus();
        }
        if let Some(s) = selection {
            if let Some(input) = element.dyn_ref::<web_sys::HtmlInputElement>() {
                let _ = input.set_selection_range_with_direction(s.start, s.end, &s.direction);
            } else if let Some(area) = element.dyn_ref::<web_sys::HtmlTextAreaElement>() {
                let _ = area.set_selection_range_with_direction(s.start, s.end, &s.direction);
                area.set_scroll_top(s.scroll_top);
            }
        }
    }
}

fn controls(root: &web_sys::Element) -> Vec<(Control, web_sys::Element)> {
    let Ok(list) = root.query_selector_all("input, textarea, select") else {
        return Vec::new();
    };
    let mut seen = std::collections::HashMap::<String, usize>::new();
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<web_sys::Element>().ok())
        .map(|element| {
            let attribute = |name| element.get_attribute(name).unwrap_or_default();
            let name = [
                element.tag_name(),
                attribute("type"),
                element.id(),
                attribute("name"),
                attribute("data-testid"),
                attribute("aria-label"),
            ]
            .join("\u{1f}");
            let count = seen.entry(name.clone()).or_default();
            let control = Control(name, *count);
            *count += 1;
            (control, element)
        })
        .collect()
}

/// How a control differs from what the HTML gave it, if it does.
fn change_of(element: &web_sys::Element) -> Option<Change> {
    use web_sys::{HtmlInputElement, HtmlOptionElement, HtmlSelectElement, HtmlTextAreaElement};
    if let Some(input) = element.dyn_ref::<HtmlInputElement>() {
        match input.type_().as_str() {
            // Chosen files are kept by the page's start (web/boot.js) and dropped on the
            // live drop zone.
            "file" => None,
            "checkbox" | "radio" => (input.checked() != input.default_checked())
                .then(|| Change::Checked(input.checked())),
            _ => (input.value() != input.default_value()).then(|| Change::Value(input.value())),
        }
    } else if let Some(area) = element.dyn_ref::<HtmlTextAreaElement>() {
        let default = area.default_value().unwrap_or_default();
        (area.value() != default).then(|| Change::Value(area.value()))
    } else if let Some(select) = element.dyn_ref::<HtmlSelectElement>() {
        // The HTML's choice is the option marked selected, else the first.
        let default = select
            .query_selector("option[selected]")
            .ok()
            .flatten()
            .or_else(|| select.query_selector("option").ok().flatten())
            .and_then(|option| option.dyn_into::<HtmlOptionElement>().ok())
            .map(|option| option.value());
        (default.as_deref() != Some(select.value().as_str())).then(|| Change::Value(select.value()))
    } else {
        None
    }
}

fn selection_of(element: &web_sys::Element) -> Option<Selection> {
    if let Some(input) = element.dyn_ref::<web_sys::HtmlInputElement>() {
        // Types without a caret (checkboxes, numbers) answer none.
        Some(Selection {
            start: input.selection_start().ok().flatten()?,
            end: input.selection_end().ok().flatten()?,
            direction: input.selection_direction().ok().flatten()?,
            scroll_top: 0,
        })
    } else {
        let area = element.dyn_ref::<web_sys::HtmlTextAreaElement>()?;
        Some(Selection {
            start: area.selection_start().ok().flatten()?,
            end: area.selection_end().ok().flatten()?,
            direction: area.selection_direction().ok().flatten()?,
            scroll_top: area.scroll_top(),
        })
    }
}

fn set(element: &web_sys::Element, change: &Change) {
    match change {
        Change::Checked(on) => {
            if let Some(input) = element.dyn_ref::<web_sys::HtmlInputElement>() {
                input.set_checked(*on);
            }
        }
        Change::Value(value) => {
            if let Some(input) = element.dyn_ref::<web_sys::HtmlInputElement>() {
                input.set_value(value);
            } else if let Some(area) = element.dyn_ref::<web_sys::HtmlTextAreaElement>() {
                area.set_value(value);
            } else if let Some(select) = element.dyn_ref::<web_sys::HtmlSelectElement>() {
                select.set_value(value);
            }
        }
    }
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    for name in ["input", "change"] {
        if let Ok(event) = web_sys::Event::new_with_event_init_dict(name, &init) {
            let _ = element.dispatch_event(&event);
        }
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
