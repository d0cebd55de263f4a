//! Browser tests of the result panel, the before/after comparison and the code view,
//! mounted in headless Chromium with a fake network.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use flexedit::code_view::CodeView;
use flexedit::compare::Compare;
use flexedit::result::ResultView;
use flexedit::run::RunResult;
use flexedit::transport::{Cancel, Connection, LocalFuture, Network, Progress, Transport, Upload};
use flexedit_api::{
    ApiError, AssetPath, Credits, EditOutcome, EditRequest, KEY_PLACEHOLDER, Mode, OutputFormat,
    PromptObject, Stage,
};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

// ---- Helpers ----

fn mount_in_fresh_container<F, N>(view: F) -> web_sys::HtmlElement
where
    F: FnOnce() -> N + 'static,
    N: IntoView,
{
    let document = document();
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

fn by_test_id(root: &web_sys::Element, id: &str) -> web_sys::HtmlElement {
    root.query_selector(&format!("[data-testid='{id}']"))
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no element with data-testid {id}"))
        .unchecked_into()
}

fn has_test_id(root: &web_sys::Element, id: &str) -> bool {
    root.query_selector(&format!("[data-testid='{id}']"))
        .ok()
        .flatten()
        .is_some()
}

fn text(element: &web_sys::Element) -> String {
    element.text_content().unwrap_or_default()
}

fn fact(root: &web_sys::Element, name: &str) -> String {
    let dd = root
        .query_selector(&format!(
            "[data-testid='result-info'] [data-fact='{name}'] dd"
        ))
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no fact {name}"));
    text(&dd)
}

/// Lets effects, spawned tasks and the DOM catch up.
async fn tick() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tick().await;
    }
    panic!("timed out waiting until {what}");
}

/// Builds events through their constructors, which needs no extra browser bindings.
fn dispatch(target: &web_sys::EventTarget, class: &str, kind: &str, fields: &[(&str, JsValue)]) {
    let init = js_sys::Object::new();
    js_sys::Reflect::set(&init, &"bubbles".into(), &JsValue::TRUE).expect("set bubbles");
    js_sys::Reflect::set(&init, &"cancelable".into(), &JsValue::TRUE).expect("set cancelable");
    for (name, value) in fields {
        js_sys::Reflect::set(&init, &(*name).into(), value).expect("set a field");
    }
    let constructor: js_sys::Function = js_sys::Reflect::get(&js_sys::global(), &class.into())
        .expect("an event class")
        .unchecked_into();
    let args = js_sys::Array::of2(&kind.into(), &init);
    let event: web_sys::Event = js_sys::Reflect::construct(&constructor, &args)
        .expect("an event")
        .unchecked_into();
    target.dispatch_event(&event).expect("dispatch an event");
}

fn key(target: &web_sys::EventTarget, key: &str) {
    dispatch(target, "KeyboardEvent", "keydown", &[("key", key.into())]);
}

fn input(element: &web_sys::HtmlInputElement, value: &str) {
    element.set_value(value);
    dispatch(element, "Event", "input", &[]);
}

/// A small image drawn on a canvas, as a data: URL.
fn image_url(width: u32, height: u32, colour: &str) -> String {
    let canvas: web_sys::HtmlCanvasElement = document()
        .create_element("canvas")
        .expect("a canvas")
        .unchecked_into();
    canvas.set_width(width);
    canvas.set_height(height);
    let context: web_sys::CanvasRenderingContext2d = canvas
        .get_context("2d")
        .expect("a context")
        .expect("a 2d context")
        .unchecked_into();
    context.set_fill_style_str(colour);
    context.fill_rect(0.0, 0.0, f64::from(width), f64::from(height));
    canvas.to_data_url().expect("a data URL")
}

// ---- A fake network ----

#[derive(Default)]
struct FakeTransport {
    /// The bytes `fetch_image` answers with; `None` makes it fail.
    image: Option<Vec<u8>>,
    fetched: Rc<RefCell<Vec<String>>>,
}

impl Transport for FakeTransport {
    fn upload(
        &self,
        _: &Connection,
        _: Upload,
        _: Progress,
        _: &Cancel,
    ) -> LocalFuture<Result<AssetPath, ApiError>> {
        Box::pin(async {
            Err(ApiError::Network {
                stage: Stage::Upload,
            })
        })
    }

    fn edit(&self, _: &Connection, _: String, _: &Cancel) -> LocalFuture<EditOutcome> {
        Box::pin(async { EditOutcome::Failed(ApiError::Network { stage: Stage::Edit }) })
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
        _: &Connection,
        url: &str,
    ) -> LocalFuture<Result<web_sys::Blob, ApiError>> {
        self.fetched.borrow_mut().push(url.to_owned());
        let image = self.image.clone();
        Box::pin(async move {
            let bytes = image.ok_or(ApiError::Network {
                stage: Stage::Result,
            })?;
            let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes.as_slice()));
            let options = web_sys::BlobPropertyBag::new();
            options.set_type("image/png");
            web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(|_| {
                ApiError::Network {
                    stage: Stage::Result,
                }
            })
        })
    }
}

fn connection() -> Connection {
    Connection {
        endpoint: "https://api.example.test".to_owned(),
        mode: Mode::Proxy,
        key: None,
        request_id: None,
    }
}

fn prompt_object() -> PromptObject {
    PromptObject {
        image_url: "images/source.png".to_owned(),
        prompt: "Add the text SALE 50% OFF".to_owned(),
        aspect_ratio: None,
        output_format: Some(OutputFormat::Png),
        output_quality: None,
        steps: Some(30),
        guidance: Some(2.5),
        safety_tolerance: None,
        prompt_upsampling: Some(true),
        seed: Some(42),
    }
}

fn sample_result() -> RunResult {
    RunResult {
        display_url: image_url(80, 40, "#c22"),
        asset_path: Some(AssetPath::new("images/result.png")),
        request: EditRequest::new(prompt_object()),
        seed: Some(42),
        dimensions: None,
        duration_ms: 12_345.0,
        record: None,
        place: None,
        credits: Some(Credits {
            limit: 1000.0,
            used: 120.0,
        }),
        expires_at: Some((js_sys::Date::now() / 1000.0) as i64 + 3600),
        before_url: image_url(80, 40, "#22c"),
    }
}

/// What the callbacks were called with. Callbacks must be `Send`, hence `Arc<Mutex<_>>`.
#[derive(Clone, Default)]
struct Calls {
    edited: Arc<Mutex<Vec<RunResult>>>,
    seeds: Arc<Mutex<Vec<u32>>>,
    retries: Arc<Mutex<u32>>,
}

fn taken<T: Clone>(calls: &Arc<Mutex<T>>) -> T {
    calls
        .lock()
        .map(|c| c.clone())
        .unwrap_or_else(|e| e.into_inner().clone())
}

fn mount_result(transport: FakeTransport, result: RunResult) -> (web_sys::HtmlElement, Calls) {
    let calls = Calls::default();
    let c = calls.clone();
    let root = mount_in_fresh_container(move || {
        provide_context(Network::new(
            Rc::new(transport) as Rc<dyn Transport>,
            Signal::stored(connection()),
        ));
        let edited = c.edited.clone();
        let seeds = c.seeds.clone();
        let retries = c.retries.clone();
        view! {
            <ResultView
                result=Signal::stored(Some(result))
                on_edit_this=Callback::new(move |r| {
                    if let Ok(mut e) = edited.lock() {
                        e.push(r);
                    }
                })
                on_reuse_seed=Callback::new(move |s| {
                    if let Ok(mut e) = seeds.lock() {
                        e.push(s);
                    }
                })
                on_retry=Callback::new(move |()| {
                    if let Ok(mut e) = retries.lock() {
                        *e += 1;
                    }
                })
            />
        }
    });
    (root, calls)
}

// ---- Compare ----

fn after_clip(root: &web_sys::Element, id: &str) -> String {
    by_test_id(root, id)
        .style()
        .get_property_value("clip-path")
        .unwrap_or_default()
}

#[wasm_bindgen_test]
async fn the_slider_and_arrow_keys_move_the_split() {
    let before = image_url(60, 30, "#00f");
    let after = image_url(60, 30, "#f00");
    let root = mount_in_fresh_container(move || {
        view! { <Compare before_url=Signal::stored(before) after_url=Signal::stored(after) /> }
    });
    tick().await;
    assert!(has_test_id(&root, "compare"));
    let slider: web_sys::HtmlInputElement = by_test_id(&root, "compare-slider").unchecked_into();
    assert_eq!(
        slider.get_attribute("aria-label").as_deref(),
        Some("Before/after split")
    );
    assert_eq!(slider.type_(), "range");

    input(&slider, "30");
    tick().await;
    assert_eq!(after_clip(&root, "compare-after"), "inset(0px 0px 0px 30%)");

    key(&slider, "ArrowRight");
    tick().await;
    assert_eq!(after_clip(&root, "compare-after"), "inset(0px 0px 0px 31%)");
    assert_eq!(slider.value(), "31");

    key(&slider, "ArrowLeft");
    key(&slider, "ArrowLeft");
    tick().await;
    assert_eq!(slider.value(), "29");
    assert_eq!(after_clip(&root, "compare-after"), "inset(0px 0px 0px 29%)");
}

#[wasm_bindgen_test]
async fn the_toggle_cycles_before_after_and_split() {
    let before = image_url(60, 30, "#00f");
    let after = image_url(60, 30, "#f00");
    let root = mount_in_fresh_container(move || {
        view! { <Compare before_url=Signal::stored(before) after_url=Signal::stored(after) /> }
    });
    tick().await;
    let toggle = by_test_id(&root, "compare-toggle");
    assert_eq!(text(&toggle), "Show before only");
    assert_eq!(after_clip(&root, "compare-after"), "inset(0px 0px 0px 50%)");

    toggle.click();
    tick().await;
    assert_eq!(
        after_clip(&root, "compare-after"),
        "inset(0px 0px 0px 100%)"
    );
    assert_eq!(text(&toggle), "Show after only");

    toggle.click();
    tick().await;
    assert_eq!(after_clip(&root, "compare-after"), "inset(0px 0px 0px 0%)");
    assert_eq!(text(&toggle), "Show before and after");

    toggle.click();
    tick().await;
    assert_eq!(after_clip(&root, "compare-after"), "inset(0px 0px 0px 50%)");
    assert_eq!(text(&toggle), "Show before only");
}

#[wasm_bindgen_test]
async fn dragging_moves_the_split() {
    let before = image_url(60, 30, "#00f");
    let after = image_url(60, 30, "#f00");
    let root = mount_in_fresh_container(move || {
        view! { <Compare before_url=Signal::stored(before) after_url=Signal::stored(after) /> }
    });
    tick().await;
    let stage = root
        .query_selector(".compare-stage")
        .ok()
        .flatten()
        .expect("the stage");
    assert!(stage.get_bounding_client_rect().width() > 0.0);
    // Measured at each event: the stage takes the images' shape once they load, which may
    // happen between two events.
    let pointer = |kind: &str, fraction: f64| {
        let rect = stage.get_bounding_client_rect();
        dispatch(
            &stage,
            "PointerEvent",
            kind,
            &[
                ("clientX", (rect.left() + rect.width() * fraction).into()),
                ("clientY", (rect.top() + 5.0).into()),
                ("pointerId", 1.into()),
                ("button", 0.into()),
                ("isPrimary", JsValue::TRUE),
            ],
        )
    };
    let slider: web_sys::HtmlInputElement = by_test_id(&root, "compare-slider").unchecked_into();

    pointer("pointerdown", 0.25);
    tick().await;
    assert_eq!(slider.value(), "25");
    // Pointer positions are whole pixels, so the clip is near 25%, not exactly.
    let clip = after_clip(&root, "compare-after");
    let percent: f64 = clip
        .trim_start_matches("inset(0px 0px 0px ")
        .trim_end_matches("%)")
        .parse()
        .unwrap_or_else(|_| panic!("a clip in percent: {clip}"));
    assert!((percent - 25.0).abs() < 1.0, "{clip}");
    pointer("pointermove", 0.75);
    tick().await;
    assert_eq!(slider.value(), "75");
    // Past the edge the split stops at the edge.
    pointer("pointermove", 1.5);
    tick().await;
    assert_eq!(slider.value(), "100");
    pointer("pointerup", 1.5);
    pointer("pointermove", 0.1);
    tick().await;
    assert_eq!(
        slider.value(),
        "100",
        "moving without a button pressed leaves the split"
    );
}

#[wasm_bindgen_test]
async fn the_box_takes_the_shape_of_the_result_once_it_loads() {
    let before = image_url(50, 50, "#00f");
    let after = image_url(120, 60, "#f00");
    let root = mount_in_fresh_container(move || {
        view! { <Compare before_url=Signal::stored(before) after_url=Signal::stored(after) /> }
    });
    let after_img = by_test_id(&root, "compare-after");
    until("the after image has its size", || {
        after_img.get_attribute("width").as_deref() == Some("120")
    })
    .await;
    assert_eq!(after_img.get_attribute("height").as_deref(), Some("60"));
    let stage = root
        .query_selector(".compare-stage")
        .ok()
        .flatten()
        .expect("the stage");
    let style = stage.get_attribute("style").unwrap_or_default();
    assert!(style.contains("aspect-ratio: 120 / 60"), "{style}");
}

// ---- Result ----

#[wasm_bindgen_test]
async fn nothing_is_shown_without_a_result() {
    let root = mount_in_fresh_container(|| {
        provide_context(Network::new(
            Rc::new(FakeTransport::default()) as Rc<dyn Transport>,
            Signal::stored(connection()),
        ));
        view! {
            <ResultView
                result=Signal::stored(None)
                on_edit_this=Callback::new(|_| {})
                on_reuse_seed=Callback::new(|_| {})
                on_retry=Callback::new(|()| {})
            />
        }
    });
    tick().await;
    assert!(!has_test_id(&root, "result"));
    assert_eq!(root.child_element_count(), 0);
}

#[wasm_bindgen_test]
async fn the_facts_of_the_result_are_listed() {
    let result = sample_result();
    let (root, _) = mount_result(FakeTransport::default(), result.clone());
    tick().await;
    assert!(has_test_id(&root, "result"));
    assert_eq!(
        by_test_id(&root, "result-image").get_attribute("src"),
        Some(result.display_url.clone())
    );
    assert_eq!(fact(&root, "seed"), "42");
    assert_eq!(fact(&root, "steps"), "30");
    assert_eq!(fact(&root, "guidance"), "2.5");
    assert_eq!(fact(&root, "time"), "12.3 s");
    assert_eq!(
        fact(&root, "credits"),
        "120 of 1000 used before this edit was charged"
    );
    assert_eq!(fact(&root, "prompt"), "Add the text SALE 50% OFF");
    assert_eq!(fact(&root, "output-format"), "PNG");
    assert_eq!(fact(&root, "aspect-ratio"), "provider default");
    assert_eq!(fact(&root, "safety-tolerance"), "provider default");
    assert_eq!(fact(&root, "prompt-upsampling"), "on");
    assert!(
        fact(&root, "expires").contains("in about 60 minutes"),
        "{}",
        fact(&root, "expires")
    );
    // Not reported by the provider: measured from the loaded image.
    until("the size is measured", || {
        fact(&root, "size") == "80 × 40 px"
    })
    .await;
}

#[wasm_bindgen_test]
async fn download_saves_the_fetched_image_under_a_meaningful_name() {
    // A click listener ahead of everything else sees the link the page clicks, and keeps the
    // test browser from saving a file.
    let seen: Rc<RefCell<Vec<(String, String)>>> = Rc::default();
    let watcher = {
        let seen = seen.clone();
        Closure::<dyn Fn(web_sys::Event)>::new(move |event: web_sys::Event| {
            let link = event
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlAnchorElement>().ok());
            if let Some(link) = link.filter(|l| l.has_attribute("download")) {
                event.prevent_default();
                seen.borrow_mut().push((link.download(), link.href()));
            }
        })
    };
    let options = web_sys::AddEventListenerOptions::new();
    options.set_capture(true);
    window()
        .add_event_listener_with_callback_and_add_event_listener_options(
            "click",
            watcher.as_ref().unchecked_ref(),
            &options,
        )
        .expect("listen for clicks");

    let transport = FakeTransport {
        image: Some(vec![0x89, b'P', b'N', b'G']),
        ..FakeTransport::default()
    };
    let fetched = transport.fetched.clone();
    let result = sample_result();
    let (root, _) = mount_result(transport, result.clone());
    tick().await;
    by_test_id(&root, "download").click();
    until("the download link is clicked", || !seen.borrow().is_empty()).await;

    let _ = window().remove_event_listener_with_callback_and_bool(
        "click",
        watcher.as_ref().unchecked_ref(),
        true,
    );
    let (name, href) = seen.borrow()[0].clone();
    assert_eq!(
        name,
        flexedit_api::download_file_name("Add the text SALE 50% OFF", Some(42), OutputFormat::Png)
    );
    assert_eq!(name, "flexedit-add-the-text-sale-50-off-seed-42.png");
    assert!(href.starts_with("blob:"), "{href}");
    assert_eq!(*fetched.borrow(), vec![result.display_url.clone()]);
    let notice = by_test_id(&root, "result-notice");
    // The fake's bytes are only the start of a PNG signature: saved as they are, and the notice says
    // why they carry no recipe (a real PNG gets one: the end-to-end download test).
    until("the page says where it saved", || {
        text(&notice)
            == format!(
                "Saved as {name}. {}",
                flexedit_api::RecipeFileError::UnknownFormat
            )
    })
    .await;
    // The temporary link does not stay in the page.
    assert!(
        document()
            .query_selector("a[download]")
            .ok()
            .flatten()
            .is_none()
    );
}

#[wasm_bindgen_test]
async fn a_failed_download_says_why_and_what_to_do() {
    // The page opens the image in a new tab instead; a stand-in for window.open records
    // that, so the test browser opens no tab of its own (one would outlive the test run).
    let opened: Rc<RefCell<Vec<(String, String)>>> = Rc::default();
    let open = {
        let opened = opened.clone();
        Closure::<dyn Fn(String, String) -> JsValue>::new(move |url: String, target: String| {
            opened.borrow_mut().push((url, target));
            js_sys::Object::new().into()
        })
    };
    js_sys::Reflect::set(&window(), &"open".into(), open.as_ref()).expect("stand in for open");

    let result = sample_result();
    let (root, _) = mount_result(FakeTransport::default(), result.clone());
    tick().await;
    by_test_id(&root, "download").click();
    let notice = by_test_id(&root, "result-notice");
    until("the page explains the failure", || {
        text(&notice).starts_with("The image could not be saved from the page")
    })
    .await;
    let _ = js_sys::Reflect::delete_property(&window(), &"open".into());
    let said = text(&notice);
    assert!(said.contains("network is down"), "{said}");
    assert!(
        said.contains("opened in a new tab: save it from there"),
        "{said}"
    );
    assert_eq!(
        *opened.borrow(),
        vec![(result.display_url.clone(), "_blank".to_owned())]
    );
    assert!(!by_test_id(&root, "download").has_attribute("disabled"));
}

#[wasm_bindgen_test]
async fn copy_ends_with_a_sentence_saying_what_was_copied() {
    let transport = FakeTransport {
        image: Some(vec![0x89, b'P', b'N', b'G']),
        ..FakeTransport::default()
    };
    let (root, _) = mount_result(transport, sample_result());
    tick().await;
    let copy = by_test_id(&root, "copy-image");
    copy.click();
    let notice = by_test_id(&root, "result-notice");
    // A test browser may or may not grant the clipboard: any of the three outcomes is
    // right, as long as the page says which one happened.
    until("the copy settles", || {
        let said = text(&notice);
        !said.is_empty() && said != "Copying the image…" && !copy.has_attribute("disabled")
    })
    .await;
    let said = text(&notice);
    assert!(
        said == "Copied the image."
            || said.contains("its link was copied instead")
            || said.starts_with("The browser refused access to the clipboard"),
        "{said}"
    );
}

#[wasm_bindgen_test]
async fn the_actions_call_back_with_the_right_values() {
    let result = sample_result();
    let (root, calls) = mount_result(FakeTransport::default(), result.clone());
    tick().await;

    by_test_id(&root, "edit-this-result").click();
    assert_eq!(taken(&calls.edited), vec![result.clone()]);

    let reuse = by_test_id(&root, "reuse-seed");
    assert!(!reuse.has_attribute("disabled"));
    reuse.click();
    assert_eq!(taken(&calls.seeds), vec![42]);

    let retry = by_test_id(&root, "retry");
    assert!(
        retry
            .get_attribute("title")
            .unwrap_or_default()
            .contains("may cost credits again")
    );
    let hint_id = retry
        .get_attribute("aria-describedby")
        .expect("a description");
    let hint = document()
        .get_element_by_id(&hint_id)
        .expect("the description");
    assert!(text(&hint).contains("may cost credits again"));
    retry.click();
    assert_eq!(taken(&calls.retries), 1);
}

#[wasm_bindgen_test]
async fn reuse_seed_is_off_without_a_seed() {
    let mut result = sample_result();
    result.seed = None;
    result.request.prompt_object.seed = None;
    let (root, calls) = mount_result(FakeTransport::default(), result);
    tick().await;
    let reuse = by_test_id(&root, "reuse-seed");
    assert!(reuse.has_attribute("disabled"));
    reuse.click();
    assert!(taken(&calls.seeds).is_empty());
    assert_eq!(fact(&root, "seed"), "not reported");
}

// ---- Code view ----

fn edit_request() -> EditRequest {
    EditRequest::new(prompt_object())
}

fn mount_code(
    request: Option<EditRequest>,
    upload: Option<&str>,
    mode: Mode,
) -> web_sys::HtmlElement {
    let upload = upload.map(str::to_owned);
    mount_in_fresh_container(move || {
        view! {
            <CodeView
                request=Signal::stored(request)
                upload_file_name=Signal::stored(upload)
                endpoint=Signal::stored("https://api.1min.ai".to_owned())
                mode=Signal::stored(mode)
            />
        }
    })
}

fn tab(root: &web_sys::Element, name: &str) -> web_sys::HtmlElement {
    by_test_id(root, &format!("code-tab-{name}"))
}

#[wasm_bindgen_test]
async fn the_code_view_shows_the_crates_own_snippets() {
    let root = mount_code(Some(edit_request()), Some("photo.png"), Mode::Direct);
    tick().await;
    let edit =
        flexedit_api::edit_snippets_async("https://api.1min.ai", &edit_request(), Mode::Direct);
    let upload = flexedit_api::upload_snippets("https://api.1min.ai", "photo.png", Mode::Direct);
    assert_eq!(text(&by_test_id(&root, "code-edit")), edit.curl);
    assert_eq!(text(&by_test_id(&root, "code-upload")), upload.curl);
    assert!(text(&by_test_id(&root, "code-edit")).contains(KEY_PLACEHOLDER));

    let curl = tab(&root, "curl");
    assert_eq!(curl.get_attribute("role").as_deref(), Some("tab"));
    assert_eq!(curl.get_attribute("aria-selected").as_deref(), Some("true"));
    let tablist = root
        .query_selector("[role='tablist']")
        .ok()
        .flatten()
        .expect("a tab list");
    let panel = root
        .query_selector("[role='tabpanel']")
        .ok()
        .flatten()
        .expect("a tab panel");
    assert_eq!(tablist.child_element_count(), 3);

    // By click.
    tab(&root, "python").click();
    tick().await;
    assert_eq!(text(&by_test_id(&root, "code-edit")), edit.python);
    assert_eq!(text(&by_test_id(&root, "code-upload")), upload.python);
    assert_eq!(
        tab(&root, "python")
            .get_attribute("aria-selected")
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        curl.get_attribute("aria-selected").as_deref(),
        Some("false")
    );
    assert_eq!(curl.get_attribute("tabindex").as_deref(), Some("-1"));
    assert_eq!(
        panel.get_attribute("aria-labelledby"),
        tab(&root, "python").get_attribute("id")
    );

    // By keyboard: from Python, ArrowRight wraps round to cURL, then on to JavaScript.
    tab(&root, "python").focus().expect("focus the tab");
    key(&tab(&root, "python"), "ArrowRight");
    tick().await;
    assert_eq!(text(&by_test_id(&root, "code-edit")), edit.curl);
    key(&tab(&root, "curl"), "ArrowRight");
    tick().await;
    assert_eq!(text(&by_test_id(&root, "code-edit")), edit.javascript);
    let javascript = tab(&root, "javascript");
    assert_eq!(
        javascript.get_attribute("aria-selected").as_deref(),
        Some("true")
    );
    let focused = document().active_element().expect("something has focus");
    assert_eq!(focused.id(), javascript.id());
}

#[wasm_bindgen_test]
async fn no_upload_step_without_an_upload_and_no_key_through_a_proxy() {
    let root = mount_code(Some(edit_request()), None, Mode::Proxy);
    tick().await;
    assert!(!has_test_id(&root, "code-upload"));
    let edit =
        flexedit_api::edit_snippets_async("https://api.1min.ai", &edit_request(), Mode::Proxy);
    for name in ["curl", "javascript", "python"] {
        tab(&root, name).click();
        tick().await;
        let shown = text(&by_test_id(&root, "code-edit"));
        assert!(!shown.contains("API-KEY"), "{name}: {shown}");
        assert!(!text(&root).contains("API-KEY"));
        let expected = match name {
            "curl" => &edit.curl,
            "javascript" => &edit.javascript,
            _ => &edit.python,
        };
        assert_eq!(&shown, expected);
    }
}

#[wasm_bindgen_test]
async fn without_a_request_the_code_view_says_what_is_missing() {
    let root = mount_code(None, Some("photo.png"), Mode::Direct);
    tick().await;
    assert!(has_test_id(&root, "code-view"));
    assert!(!has_test_id(&root, "code-edit"));
    assert!(!has_test_id(&root, "code-upload"));
    assert!(text(&root).contains("Choose an image and write a prompt to see the requests."));
}
