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

/// config.json as the page reads it: the browser's JSON.parse, then flexedit-api's reader.
#[wasm_bindgen_test]
fn config_json_is_read_through_the_browser() {
    use flexedit::config::ConfigAnswer;
    use flexedit_api::Mode;
    let answer = |text: &str| {
        ConfigAnswer {
            status: 200,
            text: Some(text.to_owned()),
        }
        .resolve()
    };
    let (config, notice) = answer(
        r#"{"endpoint": "https://api.example.com/", "mode": "direct", "lockMode": true,
            "maxUploadPixels": 2000000, "defaults": {"prompt": "Add a hat", "steps": 8}}"#,
    );
    assert_eq!(notice, None);
    assert_eq!(config.endpoint, "https://api.example.com");
    assert_eq!(config.mode, Mode::Direct);
    assert!(!config.allow_mode_change);
    assert_eq!(config.max_upload_pixels, 2_000_000);
    assert_eq!(config.defaults.prompt, "Add a hat");
    assert_eq!(config.defaults.steps, Some(8.0));

    for (text, said) in [
        (
            r#"{"endpont": "https://x"}"#,
            "config.json could not be read (unknown field `endpont`); using the defaults.",
        ),
        (
            r#"{"mode": "proxied"}"#,
            r#"config.json could not be read (`mode`: "proxied" is not a mode; use "direct" or "proxy"); using the defaults."#,
        ),
        (
            r#"{"maxSourceBytes": 1.5}"#,
            "config.json could not be read (`maxSourceBytes`: 1.5 is not a whole number from 0 up); using the defaults.",
        ),
        (
            r#"{"defaults": {"steps": "8"}}"#,
            "config.json could not be read (`defaults`: `steps` must be a number, not \"8\"); using the defaults.",
        ),
    ] {
        assert_eq!(answer(text).1.as_deref(), Some(said), "{text}");
    }
    // A syntax error: the browser's own words, inside the same sentence.
    let notice = answer(r#"{"mode": "direct",}"#).1.unwrap_or_default();
    assert!(
        notice.starts_with("config.json could not be read (") && notice.contains("JSON"),
        "{notice}"
    );
}

/// Values cross between the page and flexedit-api's JSON as JSON.stringify would write them.
#[wasm_bindgen_test]
fn javascript_values_cross_as_json() {
    use flexedit_api::Json;
    let value = js_sys::JSON::parse(r#"{"a": [1, "two", true, null], "b": {"c": 2.5}}"#)
        .expect("valid JSON");
    let json = flexedit::json::from_js(&value);
    assert_eq!(
        json,
        Json::Object(vec![
            (
                "a".into(),
                Json::Array(vec![
                    Json::Number(1.0),
                    "two".into(),
                    Json::Bool(true),
                    Json::Null
                ])
            ),
            (
                "b".into(),
                Json::Object(vec![("c".into(), Json::Number(2.5))])
            ),
        ])
    );
    assert_eq!(
        flexedit::json::stringify(&json).as_deref(),
        Some(r#"{"a":[1,"two",true,null],"b":{"c":2.5}}"#)
    );
    // What JSON has no word for: left out of objects, null in arrays, as JSON.stringify does.
    let odd = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&odd, &"gone".into(), &wasm_bindgen::JsValue::UNDEFINED);
    let _ = js_sys::Reflect::set(&odd, &"nan".into(), &f64::NAN.into());
    let read = flexedit::json::from_js_as_json(&odd).expect("stringifies");
    assert_eq!(read, Json::Object(vec![("nan".into(), Json::Null)]));
}

/// The saved settings keep the text earlier versions wrote, so a person's choices survive
/// an update.
#[wasm_bindgen_test]
fn saved_settings_read_and_write_the_same_text() {
    use flexedit::config::ModeName;
    use flexedit::settings::Choices;
    let choices = Choices {
        endpoint: None,
        mode: Some(ModeName::Direct),
    };
    let text = flexedit::json::stringify(&choices.to_json());
    assert_eq!(
        text.as_deref(),
        Some(r#"{"endpoint":null,"mode":"direct"}"#)
    );
    let read = flexedit::json::parse(r#"{"endpoint":"https://p.example","mode":"proxy"}"#)
        .map(|json| Choices::from_json(&json));
    assert_eq!(
        read,
        Ok(Choices {
            endpoint: Some("https://p.example".into()),
            mode: Some(ModeName::Proxy),
        })
    );
    // Anything else is no choice, not an error.
    let odd = flexedit::json::parse(r#"{"mode":"sideways","endpoint":3}"#)
        .map(|json| Choices::from_json(&json));
    assert_eq!(odd, Ok(Choices::default()));
}
