//! What the browser tests of a mounted editor do to the page: find, type, wait.
#![allow(dead_code)]

use wasm_bindgen::JsCast;

/// An image address for the intake that is refused at once (nothing listens on port 9), so
/// its wait for the image's size ends without depending on how long a name lookup takes to
/// fail on the machine. Still a valid https URL for flexedit-api.
pub const IMAGE_URL: &str = "https://127.0.0.1:9/shop.png";

pub fn document() -> web_sys::Document {
    web_sys::window()
        .and_then(|w| w.document())
        .expect("a document")
}

pub fn find(root: &web_sys::HtmlElement, selector: &str) -> Option<web_sys::HtmlElement> {
    root.query_selector(selector)
        .ok()
        .flatten()
        .map(|e| e.unchecked_into())
}

/// Lets pending effects, microtasks and timers run.
pub async fn settle() {
    for _ in 0..3 {
        let tick = js_sys::Promise::new(&mut |resolve, _| {
            let _ = web_sys::window()
                .expect("window")
                .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
        });
        let _ = wasm_bindgen_futures::JsFuture::from(tick).await;
    }
}

/// Waits (bounded) until `check` holds, letting the page work in between.
pub async fn until(what: &str, check: impl Fn() -> bool) {
    for _ in 0..300 {
        if check() {
            return;
        }
        settle().await;
    }
    panic!("never happened: {what}");
}

/// Types `text` into the field as a person would: its value, then an input event.
pub fn type_into(root: &web_sys::HtmlElement, selector: &str, text: &str) {
    let element = find(root, selector).unwrap_or_else(|| panic!("no {selector}"));
    if let Some(input) = element.dyn_ref::<web_sys::HtmlInputElement>() {
        input.set_value(text);
    } else if let Some(area) = element.dyn_ref::<web_sys::HtmlTextAreaElement>() {
        area.set_value(text);
    }
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    let event = web_sys::Event::new_with_event_init_dict("input", &init).expect("input event");
    element.dispatch_event(&event).expect("dispatch input");
}
