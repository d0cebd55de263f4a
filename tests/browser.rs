//! Browser tests: components mounted in headless Chromium by wasm-bindgen-test.
#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn mount_in_fresh_container<F, N>(view: F) -> web_sys::HtmlElement
where
    F: FnOnce() -> N + 'static,
    N: IntoView,
{
    let document = leptos::prelude::document();
    let container: web_sys::HtmlElement = document
        .create_element("div")
        .expect("create a container")
        .unchecked_into();
    document
        .body()
        .expect("the test page has a body")
        .append_child(&container)
        .expect("attach the container");
    leptos::mount::mount_to(container.clone(), view).forget();
    container
}

fn by_test_id(root: &web_sys::HtmlElement, id: &str) -> Option<web_sys::Element> {
    root.query_selector(&format!("[data-testid='{id}']"))
        .ok()
        .flatten()
}

#[wasm_bindgen_test]
fn the_shell_shows_the_version_and_an_editor_region() {
    let root = mount_in_fresh_container(|| view! { <flexedit::App page=true/> });
    let version = by_test_id(&root, "version").expect("the version is shown");
    assert_eq!(
        version.text_content().as_deref(),
        Some(concat!("flexedit ", env!("CARGO_PKG_VERSION")))
    );
    let editor = by_test_id(&root, "editor").expect("the editor region is shown");
    assert_eq!(
        editor.get_attribute("aria-label").as_deref(),
        Some("Editor")
    );
}
