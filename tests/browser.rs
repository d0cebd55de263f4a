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

/// config.json as the page reads it: the browser's JSON.parse, then the serde types' reader.
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

    // JSON.parse gives every number as a float: a whole one is a count, others are not.
    let (config, notice) = answer(r#"{"maxSourceBytes": 4.0, "maxVariations": 3}"#);
    assert_eq!(notice, None);
    assert_eq!((config.max_source_bytes, config.max_variations), (4, 3));
    for (text, said) in [
        (
            r#"{"endpont": "https://x"}"#,
            "config.json could not be read (unknown field `endpont`, expected one of",
        ),
        (
            r#"{"mode": "proxied"}"#,
            "config.json could not be read (`mode`: unknown variant `proxied`, expected `direct` or `proxy`); using the defaults.",
        ),
        (
            r#"{"maxSourceBytes": 1.5}"#,
            "config.json could not be read (`maxSourceBytes`: 1.5 is not a whole number from 0 up); using the defaults.",
        ),
        (
            r#"{"maxInFlight": -1}"#,
            "config.json could not be read (`maxInFlight`: -1 is not a whole number from 0 up); using the defaults.",
        ),
        (
            r#"{"maxVariations": "many"}"#,
            "config.json could not be read (`maxVariations`: invalid type: string \"many\", expected",
        ),
        (
            r#"{"defaults": {"steps": "8"}}"#,
            "config.json could not be read (`defaults.steps`: invalid type: string \"8\", expected",
        ),
        (
            r#"{"recipes": [{"name": "a"}, {"name": "b", "params": {"stpes": 3}}]}"#,
            "config.json could not be read (`recipes[1].params`: unknown field `stpes`",
        ),
        (
            r#"{"recipes": [{"name": " "}]}"#,
            "config.json could not be read (`recipes[0]`: Give the recipe a name.); using the defaults.",
        ),
    ] {
        let notice = answer(text).1.unwrap_or_default();
        assert!(notice.starts_with(said), "{text}: {notice}");
        assert!(notice.ends_with("; using the defaults."), "{notice}");
    }
    // A syntax error: the browser's own words, inside the same sentence.
    let notice = answer(r#"{"mode": "direct",}"#).1.unwrap_or_default();
    assert!(
        notice.starts_with("config.json could not be read (") && notice.contains("JSON"),
        "{notice}"
    );
}

/// An embedding page's options are read straight from its JavaScript values into
/// config.json's type, with the same sentences.
#[wasm_bindgen_test]
fn mount_options_are_read_into_the_config_file() {
    use flexedit::embed::parse_options;
    let options = |text: &str| {
        let value = js_sys::JSON::parse(text).expect("valid JSON");
        parse_options(&value).map_err(|e| e.to_string())
    };
    let file = options(r#"{"mode": "proxy", "maxVariations": 4.0, "defaults": {"steps": 8}}"#)
        .expect("the options are read");
    assert_eq!(file.max_variations, Some(4));
    assert_eq!(file.defaults.map(|d| d.steps), Some(Some(8.0)));
    // A field left undefined is left out, as JSON would leave it.
    let odd = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&odd, &"endpoint".into(), &wasm_bindgen::JsValue::UNDEFINED);
    assert_eq!(parse_options(&odd).map(|f| f.endpoint), Ok(None));
    for (text, said) in [
        (
            r#"{"maxVariations": 4.5}"#,
            "`maxVariations`: 4.5 is not a whole number from 0 up",
        ),
        (
            r#"{"maxInFlight": -1}"#,
            "`maxInFlight`: -1 is not a whole number from 0 up",
        ),
        (r#"{"steps": 8}"#, "unknown field `steps`, expected one of"),
        (
            r#"{"defaults": {"stpes": 8}}"#,
            "`defaults`: unknown field `stpes`, expected one of",
        ),
        (
            r#"{"mode": "sideways"}"#,
            "`mode`: unknown variant `sideways`",
        ),
        (
            r#"{"lockMode": "yes"}"#,
            "`lockMode`: invalid type: string \"yes\", expected",
        ),
        (r#"[1]"#, "they must be an object"),
    ] {
        let err = options(text).unwrap_err();
        assert!(
            err.starts_with("flexedit: the options could not be used: ") && err.contains(said),
            "{text}: {err}"
        );
        assert!(
            err.contains("Options take the fields of config.json"),
            "{err}"
        );
    }
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
    let text = choices.save_text();
    assert_eq!(
        text.as_deref(),
        Some(r#"{"endpoint":null,"mode":"direct"}"#)
    );
    let read = Choices::from_saved(r#"{"endpoint":"https://p.example","mode":"proxy"}"#);
    assert_eq!(
        read,
        Choices {
            endpoint: Some("https://p.example".into()),
            mode: Some(ModeName::Proxy),
        }
    );
    // Anything else is no choice, not an error.
    for odd in [r#"{"mode":"sideways","endpoint":3}"#, "[]", "not JSON"] {
        assert_eq!(Choices::from_saved(odd), Choices::default(), "{odd}");
    }
}
