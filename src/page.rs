//! Small helpers over the page itself, shared by the views: whether there is a page at
//! all, ids unique in the page, and handing a file to the browser's downloads.

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

thread_local! {
    static NEXT_ID: Cell<u32> = const { Cell::new(0) };
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
