//! Browser tests of the editor with a fake transport: validation as the person types,
//! why the run button is disabled, the phases of a run, every error kind, and settings.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use flexedit::config::Config;
use flexedit::editor::Editor;
use flexedit::transport::{Cancel, Connection, LocalFuture, Progress, Transport, Upload};
use flexedit_api::{ApiError, AssetPath, EditOutcome, EditParams, EditResult, Field, Stage};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

mod dom;
use dom::{IMAGE_URL, document, find, settle, type_into, until};

wasm_bindgen_test_configure!(run_in_browser);

/// A 1×1 PNG, so the result image really loads.
const PIXEL: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

#[derive(Default)]
struct Fake {
    outcome: RefCell<Option<EditOutcome>>,
    /// While set, edits wait until the test calls `release`.
    hold: RefCell<bool>,
    waiting: RefCell<Option<js_sys::Function>>,
    bodies: RefCell<Vec<String>>,
    keys: RefCell<Vec<Option<String>>>,
}

impl Fake {
    fn release(&self) {
        if let Some(resolve) = self.waiting.borrow_mut().take() {
            let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
        }
    }
}

#[derive(Clone)]
struct FakeTransport(Rc<Fake>);

impl Transport for FakeTransport {
    fn upload(
        &self,
        connection: &Connection,
        _upload: Upload,
        progress: Progress,
        _cancel: &Cancel,
    ) -> LocalFuture<Result<AssetPath, ApiError>> {
        self.0
            .keys
            .borrow_mut()
            .push(connection.key_header().map(str::to_owned));
        progress(100);
        Box::pin(async { Ok(AssetPath::new("images/uploaded.png")) })
    }

    fn edit(
        &self,
        connection: &Connection,
        body: String,
        _cancel: &Cancel,
    ) -> LocalFuture<EditOutcome> {
        self.0.bodies.borrow_mut().push(body);
        self.0
            .keys
            .borrow_mut()
            .push(connection.key_header().map(str::to_owned));
        let fake = self.0.clone();
        Box::pin(async move {
            if *fake.hold.borrow() {
                let gate = js_sys::Promise::new(&mut |resolve, _| {
                    *fake.waiting.borrow_mut() = Some(resolve);
                });
                let _ = wasm_bindgen_futures::JsFuture::from(gate).await;
            }
            fake.outcome
                .borrow_mut()
                .take()
                .unwrap_or_else(|| EditOutcome::Succeeded(success()))
        })
    }

    fn poll(
        &self,
        _connection: &Connection,
        _record: &flexedit_api::RecordId,
        _cancel: &Cancel,
    ) -> LocalFuture<flexedit::run::poll::Polled> {
        // Its edits answer with the finished record at once: there is nothing to follow.
        Box::pin(async {
            flexedit_api::EditOutcome::Failed(flexedit_api::ApiError::UnknownRecord).into()
        })
    }

    fn fetch_image(
        &self,
        _c: &Connection,
        _url: &str,
    ) -> LocalFuture<Result<web_sys::Blob, ApiError>> {
        Box::pin(async {
            Err(ApiError::Network {
                stage: Stage::Result,
            })
        })
    }
}

fn success() -> EditResult {
    EditResult {
        uuid: Some("u-1".into()),
        display_url: PIXEL.into(),
        storage_paths: vec!["images/result.png".into()],
        credits: None,
        expires_at: None,
        prompt_object: None,
    }
}

fn mount(config: Config) -> (web_sys::HtmlElement, Rc<Fake>) {
    let fake = Rc::new(Fake::default());
    let transport: Rc<dyn Transport> = Rc::new(FakeTransport(fake.clone()));
    let container: web_sys::HtmlElement = document()
        .create_element("div")
        .expect("div")
        .unchecked_into();
    document()
        .body()
        .expect("body")
        .append_child(&container)
        .expect("attach");
    leptos::mount::mount_to(
        container.clone(),
        move || view! { <Editor config transport/> },
    )
    .forget();
    (container, fake)
}

fn text_of(root: &web_sys::HtmlElement, selector: &str) -> String {
    find(root, selector)
        .and_then(|e| e.text_content())
        .unwrap_or_default()
}

fn click(root: &web_sys::HtmlElement, selector: &str) {
    find(root, selector)
        .unwrap_or_else(|| panic!("no {selector}"))
        .click();
}

/// Gives the editor an image by URL, as a person does in the intake.
async fn use_url(root: &web_sys::HtmlElement) {
    type_into(root, "[data-testid='image-url']", IMAGE_URL);
    click(root, "[data-testid='use-url']");
    until("the URL became the source", || {
        find(root, "[data-testid='source-preview']").is_some()
    })
    .await;
}

/// The page's localStorage, emptied: what earlier tests saved there would count.
fn cleared_storage() -> web_sys::Storage {
    let storage = web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .expect("storage");
    let _ = storage.clear();
    storage
}

/// Runs an edit to its end; the key it sent, if any.
async fn run_to_done(root: &web_sys::HtmlElement, fake: &Fake) -> Option<String> {
    click(root, "[data-testid='run']");
    until("done", || text_of(root, "[data-testid='phase']") == "Done.").await;
    fake.keys.borrow().last().cloned().flatten()
}

fn problem_for(params: EditParams, field: Field) -> String {
    let params = EditParams {
        image_url: "images/x.png".into(),
        prompt: if params.prompt.is_empty() {
            "p".into()
        } else {
            params.prompt.clone()
        },
        ..params
    };
    params
        .validate()
        .err()
        .and_then(|p| p.for_field(field).map(|p| p.message.clone()))
        .expect("flexedit-api reports a problem")
}

#[wasm_bindgen_test]
async fn without_an_image_the_run_button_says_to_choose_one() {
    let (root, _) = mount(Config::default());
    settle().await;
    let run = find(&root, "[data-testid='run']").expect("the run button");
    assert_eq!(run.text_content().as_deref(), Some("Edit image"));
    assert!(run.has_attribute("disabled"));
    assert_eq!(
        text_of(&root, "[data-testid='run-disabled-reason']"),
        "Choose an image to edit first."
    );
}

#[wasm_bindgen_test]
async fn every_problem_is_shown_next_to_its_control_as_the_person_types() {
    let (root, _) = mount(Config::default());
    use_url(&root).await;
    type_into(&root, "#field-steps", "0");
    type_into(&root, "#field-guidance", "abc");
    type_into(&root, "#field-seed", "1.5");
    settle().await;

    let steps = problem_for(
        EditParams {
            steps: Some(0.0),
            ..Default::default()
        },
        Field::Steps,
    );
    let guidance = problem_for(
        EditParams {
            guidance: Some(f64::NAN),
            ..Default::default()
        },
        Field::Guidance,
    );
    let seed = problem_for(
        EditParams {
            seed: Some(1.5),
            ..Default::default()
        },
        Field::Seed,
    );
    assert_eq!(text_of(&root, "[data-testid='problem-steps']"), steps);
    assert_eq!(text_of(&root, "[data-testid='problem-guidance']"), guidance);
    assert_eq!(text_of(&root, "[data-testid='problem-seed']"), seed);
    // The prompt is blank too: four problems, all named.
    assert_eq!(
        text_of(&root, "[data-testid='run-disabled-reason']"),
        "Fix 4 problems first: Prompt, Steps, Guidance, Seed."
    );
    assert!(
        find(&root, "[data-testid='run']")
            .expect("run")
            .has_attribute("disabled")
    );

    type_into(&root, "#field-steps", "30");
    type_into(&root, "#field-guidance", "4");
    type_into(&root, "#field-seed", "7");
    type_into(&root, "#field-prompt", "make it blue");
    settle().await;
    assert!(find(&root, "[data-testid='problem-steps']").is_none());
    assert!(
        !find(&root, "[data-testid='run']")
            .expect("run")
            .has_attribute("disabled")
    );
}

#[wasm_bindgen_test]
async fn typed_numbers_are_read_as_decimal_numbers_only() {
    use flexedit::form::{parse_number, show_number};
    assert_eq!(parse_number(""), None);
    assert_eq!(parse_number("   "), None);
    assert_eq!(parse_number(" 28 "), Some(28.0));
    assert_eq!(parse_number("4.5"), Some(4.5));
    assert_eq!(parse_number(".5"), Some(0.5));
    assert_eq!(parse_number("+3"), Some(3.0));
    assert_eq!(parse_number("-2"), Some(-2.0));
    assert_eq!(parse_number("1e3"), Some(1000.0));
    assert_eq!(parse_number("4294967295"), Some(4_294_967_295.0));
    for text in [
        "abc", "0x10", "Infinity", "1,5", "4.5.1", "1e", "--1", "\u{bd}",
    ] {
        assert!(parse_number(text).is_some_and(f64::is_nan), "{text}");
    }
    // What the form shows reads back as the same number.
    for v in [0.1, 2.75, 3.3, 1.0 / 3.0, 123_456.789, 7.0, 0.000_123] {
        assert_eq!(parse_number(&show_number(Some(v))), Some(v), "{v}");
    }
    assert_eq!(show_number(Some(30.0)), "30");
    assert_eq!(show_number(Some(2.75)), "2.75");
    assert_eq!(show_number(Some(f64::NAN)), "");
    assert_eq!(show_number(None), "");

    // In the form: a hexadecimal number is not a number to a person; a decimal one is.
    let (root, _) = mount(Config::default());
    use_url(&root).await;
    type_into(&root, "#field-steps", "0x10");
    type_into(&root, "#field-guidance", "2.75");
    settle().await;
    let steps = problem_for(
        EditParams {
            steps: Some(f64::NAN),
            ..Default::default()
        },
        Field::Steps,
    );
    assert_eq!(text_of(&root, "[data-testid='problem-steps']"), steps);
    assert!(find(&root, "[data-testid='problem-guidance']").is_none());
}

#[wasm_bindgen_test]
async fn a_run_goes_through_its_phases_and_shows_the_result() {
    let (root, fake) = mount(Config::default());
    *fake.hold.borrow_mut() = true;
    use_url(&root).await;
    type_into(&root, "#field-prompt", "make it blue");
    settle().await;
    click(&root, "[data-testid='run']");
    until("editing", || {
        text_of(&root, "[data-testid='phase']").starts_with("Editing… 0 s")
    })
    .await;
    assert_eq!(
        find(&root, "[data-testid='phase']")
            .and_then(|p| p.get_attribute("aria-live"))
            .as_deref(),
        Some("polite")
    );
    // The form is free while an edit runs: another press adds edits to the queue.
    assert!(
        !find(&root, "[data-testid='run']")
            .expect("run")
            .has_attribute("disabled")
    );
    assert_eq!(
        text_of(&root, "[data-testid='run-disabled-reason']"),
        "Ctrl+Enter runs, Esc cancels."
    );
    fake.release();
    until("done", || {
        text_of(&root, "[data-testid='phase']") == "Done."
    })
    .await;
    assert!(find(&root, "[data-testid='result']").is_some());

    // The body is exactly what flexedit-api builds, with the URL as the image.
    let body: serde_json::Value = serde_json::from_str(&fake.bodies.borrow()[0]).expect("json");
    assert_eq!(body["promptObject"]["imageUrl"], IMAGE_URL);
    assert_eq!(body["promptObject"]["prompt"], "make it blue");
    assert!(
        body["promptObject"]["seed"].is_u64(),
        "a random seed is chosen and sent"
    );
}

#[wasm_bindgen_test]
async fn cancelling_after_the_edit_was_sent_warns_about_billing() {
    let (root, fake) = mount(Config::default());
    *fake.hold.borrow_mut() = true;
    use_url(&root).await;
    type_into(&root, "#field-prompt", "slow");
    settle().await;
    click(&root, "[data-testid='run']");
    until("editing", || {
        text_of(&root, "[data-testid='phase']").starts_with("Editing")
    })
    .await;
    click(&root, "[data-testid='cancel']");
    settle().await;
    assert_eq!(
        text_of(&root, "[data-testid='phase']"),
        "Cancelled. The edit had already been sent, so it may still be billed."
    );
    fake.release();
    settle().await;
    // The late answer does not overwrite the cancellation.
    assert!(text_of(&root, "[data-testid='phase']").starts_with("Cancelled."));
}

#[wasm_bindgen_test]
async fn every_error_kind_is_shown_with_its_sentence_and_next_step() {
    let errors = vec![
        ApiError::Unauthorized,
        ApiError::RateLimited,
        ApiError::InsufficientCredits,
        ApiError::BadRequest {
            code: Some("X".into()),
            message: "busy".into(),
            details: Some("The size does not match".into()),
            service: Some("black-forest-labs".into()),
        },
        ApiError::ProviderFailure {
            code: Some("NSFW".into()),
            message: None,
        },
        ApiError::UnsupportedModel {
            message: Some("Model black-forest-labs/flux-2-flex is not supported".into()),
        },
        ApiError::Server {
            status: 502,
            message: Some("Bad Gateway".into()),
        },
        ApiError::Gateway {
            status: 522,
            stage: Stage::Edit,
        },
        ApiError::Unexpected {
            status: 200,
            snippet: "<oops>".into(),
        },
        ApiError::MissingResult,
        ApiError::TooLarge,
        ApiError::Network { stage: Stage::Edit },
        ApiError::Timeout { stage: Stage::Edit },
    ];
    let (root, fake) = mount(Config::default());
    use_url(&root).await;
    type_into(&root, "#field-prompt", "keep me");
    settle().await;
    for error in errors {
        *fake.outcome.borrow_mut() = Some(EditOutcome::Failed(error.clone()));
        click(&root, "[data-testid='run']");
        until(error.kind(), || {
            find(&root, "[data-testid='run-error']")
                .and_then(|e| e.get_attribute("data-kind"))
                .as_deref()
                == Some(error.kind())
        })
        .await;
        let shown = text_of(&root, "[data-testid='run-error']");
        assert!(
            shown.contains(&error.to_string()),
            "{shown:?} lacks {error}"
        );
        assert!(
            shown.contains(error.next_step()),
            "{shown:?} lacks the next step"
        );
        if let Some(words) = error.provider_words() {
            assert_eq!(text_of(&root, "[data-testid='provider-words']"), words);
        }
        assert_eq!(
            shown.contains("may still have been billed"),
            error.may_have_billed()
        );
        // The prompt is untouched.
        let prompt: web_sys::HtmlTextAreaElement = find(&root, "#field-prompt")
            .expect("prompt")
            .unchecked_into();
        assert_eq!(prompt.value(), "keep me");
    }
}

#[wasm_bindgen_test]
async fn direct_mode_needs_a_key_sends_it_and_forgets_it_on_request() {
    let storage = cleared_storage();
    let (root, fake) = mount(Config::default());
    use_url(&root).await;
    type_into(&root, "#field-prompt", "p");
    click(&root, "[data-testid='mode-direct']");
    settle().await;
    assert_eq!(
        text_of(&root, "[data-testid='run-disabled-reason']"),
        "Enter your API key in Settings, or switch to proxy mode."
    );
    type_into(&root, "#settings-key", "k-123");
    settle().await;
    assert_eq!(
        storage.get_item("flexedit.key").ok().flatten(),
        None,
        "kept in memory only"
    );
    click(&root, "[data-testid='remember-key']");
    settle().await;
    assert_eq!(
        storage.get_item("flexedit.key").ok().flatten().as_deref(),
        Some("k-123")
    );
    assert_eq!(run_to_done(&root, &fake).await.as_deref(), Some("k-123"));

    click(&root, "[data-testid='forget-key']");
    settle().await;
    assert_eq!(storage.get_item("flexedit.key").ok().flatten(), None);
    let key: web_sys::HtmlInputElement =
        find(&root, "#settings-key").expect("key").unchecked_into();
    assert_eq!(key.value(), "");

    click(&root, "[data-testid='mode-proxy']");
    settle().await;
    click(&root, "[data-testid='run']");
    until("done again", || {
        fake.bodies.borrow().len() == 2 && text_of(&root, "[data-testid='phase']") == "Done."
    })
    .await;
    assert_eq!(
        fake.keys.borrow().last().cloned().flatten(),
        None,
        "proxy mode sends no key"
    );
    let _ = storage.clear();
}

#[wasm_bindgen_test]
async fn saved_settings_and_a_remembered_key_come_back_where_the_configuration_allows() {
    let storage = cleared_storage();
    storage
        .set_item(
            "flexedit.settings",
            r#"{"endpoint":"https://saved.example","mode":"direct"}"#,
        )
        .expect("save settings");
    storage
        .set_item("flexedit.key", "k-saved")
        .expect("save key");

    let (root, fake) = mount(Config::default());
    settle().await;
    let checked = |root: &web_sys::HtmlElement, selector: &str| {
        find(root, selector)
            .map(|e| e.unchecked_into::<web_sys::HtmlInputElement>().checked())
            .unwrap_or_else(|| panic!("no {selector}"))
    };
    let value = |root: &web_sys::HtmlElement, selector: &str| {
        find(root, selector)
            .map(|e| e.unchecked_into::<web_sys::HtmlInputElement>().value())
            .unwrap_or_else(|| panic!("no {selector}"))
    };
    assert!(checked(&root, "[data-testid='mode-direct']"));
    assert_eq!(
        value(&root, "[data-testid='endpoint']"),
        "https://saved.example"
    );
    assert_eq!(value(&root, "#settings-key"), "k-saved");
    assert!(checked(&root, "[data-testid='remember-key']"));
    use_url(&root).await;
    type_into(&root, "#field-prompt", "p");
    settle().await;
    assert_eq!(run_to_done(&root, &fake).await.as_deref(), Some("k-saved"));

    // A configuration that locks the mode and the endpoint keeps its own.
    let locked = Config {
        allow_endpoint_change: false,
        allow_mode_change: false,
        ..Config::default()
    };
    let (root, _) = mount(locked);
    settle().await;
    assert!(checked(&root, "[data-testid='mode-proxy']"));
    assert!(find(&root, "[data-testid='endpoint']").is_none());
    let _ = storage.clear();
}

#[wasm_bindgen_test]
async fn a_locked_endpoint_is_not_offered_in_settings() {
    let config = Config {
        allow_endpoint_change: false,
        ..Config::default()
    };
    let (root, _) = mount(config);
    settle().await;
    assert!(find(&root, "[data-testid='settings']").is_some());
    assert!(find(&root, "[data-testid='endpoint']").is_none());
    let (open, _) = mount(Config::default());
    settle().await;
    assert!(find(&open, "[data-testid='endpoint']").is_some());
}

/// Pastes a file of `bytes` on the prompt, as Ctrl+V while typing it does; returns the event.
fn paste_on_prompt(
    root: &web_sys::HtmlElement,
    bytes: &[u8],
    name: &str,
    mime: &str,
) -> web_sys::Event {
    use js_sys::{Array, Object, Reflect, Uint8Array};
    let constructor = |name: &str| -> js_sys::Function {
        Reflect::get(&js_sys::global(), &name.into())
            .expect("the browser has it")
            .unchecked_into()
    };
    let options = Object::new();
    Reflect::set(&options, &"type".into(), &mime.into()).expect("set type");
    let file: web_sys::File = Reflect::construct(
        &constructor("File"),
        &Array::of3(
            &Array::of1(&Uint8Array::from(bytes)),
            &name.into(),
            &options,
        ),
    )
    .expect("a file")
    .unchecked_into();
    let data = web_sys::DataTransfer::new().expect("a DataTransfer");
    data.items().add_with_file(&file).expect("added");
    let init = Object::new();
    Reflect::set(&init, &"clipboardData".into(), &data).expect("set");
    Reflect::set(&init, &"bubbles".into(), &true.into()).expect("set");
    Reflect::set(&init, &"cancelable".into(), &true.into()).expect("set");
    let paste: web_sys::Event = Reflect::construct(
        &constructor("ClipboardEvent"),
        &Array::of2(&"paste".into(), &init),
    )
    .expect("a paste event")
    .unchecked_into();
    find(root, "#field-prompt")
        .expect("the prompt")
        .dispatch_event(&paste)
        .expect("dispatched");
    paste
}

/// The bytes of [`PIXEL`].
fn pixel_png() -> Vec<u8> {
    let atob: js_sys::Function = js_sys::Reflect::get(&js_sys::global(), &"atob".into())
        .expect("atob")
        .unchecked_into();
    let text = atob
        .call1(
            &wasm_bindgen::JsValue::NULL,
            &PIXEL["data:image/png;base64,".len()..].into(),
        )
        .expect("base64")
        .as_string()
        .expect("a binary string");
    text.chars().map(|c| c as u8).collect()
}

#[wasm_bindgen_test]
async fn a_pasted_image_comes_in_and_a_refused_one_says_why_and_keeps_it() {
    let (root, _) = mount(Config::default());
    let preview =
        || find(&root, "[data-testid='source-preview']").and_then(|img| img.get_attribute("src"));
    let taken = paste_on_prompt(&root, &pixel_png(), "pixel.png", "image/png");
    assert!(
        taken.default_prevented(),
        "the editor took the pasted image"
    );
    until("the pasted image became the source", || preview().is_some()).await;
    let before = preview();
    assert!(text_of(&root, "[data-testid='source-info']").contains("pixel.png"));

    let refused = paste_on_prompt(
        &root,
        b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>",
        "logo.svg",
        "image/svg+xml",
    );
    assert!(
        refused.default_prevented(),
        "the editor took the pasted file"
    );
    until("the refusal shows", || {
        find(&root, "[data-testid='intake-error']").is_some()
    })
    .await;
    assert_eq!(
        text_of(&root, "[data-testid='intake-error']"),
        "SVG drawings can't be edited here. Export the drawing as PNG, then choose it again."
    );
    assert_eq!(
        preview(),
        before,
        "the image from before is still the source"
    );
}

#[wasm_bindgen_test]
async fn variations_start_that_many_edits_with_distinct_seeds_on_a_contact_sheet() {
    let (root, fake) = mount(Config::default());
    use_url(&root).await;
    type_into(&root, "#field-prompt", "three of them");
    type_into(&root, "[data-testid='variations']", "3");
    settle().await;
    assert_eq!(
        text_of(&root, "[data-testid='run']"),
        "Edit image (3 edits)"
    );
    assert!(
        text_of(&root, "[data-testid='run-disabled-reason']")
            .starts_with("Starts 3 edits, each charged.")
    );
    click(&root, "[data-testid='run']");
    until("three jobs done", || {
        text_of(&root, "[data-testid='jobs-summary']") == "3 of 3 done"
    })
    .await;
    let seeds: Vec<u64> = fake
        .bodies
        .borrow()
        .iter()
        .map(|b| {
            serde_json::from_str::<serde_json::Value>(b).expect("json")["promptObject"]["seed"]
                .as_u64()
                .expect("a seed")
        })
        .collect();
    assert_eq!(seeds.len(), 3);
    let mut distinct = seeds.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "{seeds:?}");
    assert_eq!(
        text_of(&root, "[data-testid='jobs-summary']"),
        "3 of 3 done"
    );

    // Picking a result makes it the current one.
    let second: web_sys::HtmlElement = find(
        &root,
        "[data-testid='job']:nth-child(2) [data-testid='job-pick']",
    )
    .expect("the second job's pick")
    .unchecked_into();
    second.click();
    settle().await;
    assert_eq!(
        second.get_attribute("aria-pressed").as_deref(),
        Some("true")
    );
    assert_eq!(
        find(
            &root,
            "[data-testid='job']:nth-child(1) [data-testid='job-pick']"
        )
        .and_then(|b| b.get_attribute("aria-pressed"))
        .as_deref(),
        Some("false")
    );

    // Out of range: the run button says why it is disabled.
    type_into(&root, "[data-testid='variations']", "9");
    settle().await;
    assert_eq!(
        text_of(&root, "[data-testid='run-disabled-reason']"),
        "Variations must be a whole number from 1 to 8."
    );
}
