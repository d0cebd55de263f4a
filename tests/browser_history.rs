//! Browser tests of the history: the IndexedDB store (write and read back, migration from
//! schema version 1, an interrupted write), and the panel in the editor (quota exceeded,
//! storage off, the form kept across a reload). Each test has a database of its own.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use flexedit::config::Config;
use flexedit::editor::Editor;
use flexedit::history::store::{Fault, HistoryError, RUNS, Store};
use flexedit::history::{History, blob_bytes, bytes_blob};
use flexedit::transport::{Cancel, Connection, LocalFuture, Progress, Transport, Upload};
use flexedit_api::history::{Outcome, RunRecord, Slot, SourceKind, SourceRecord, SuccessRecord};
use flexedit_api::{ApiError, AssetPath, EditOutcome, EditParams, EditResult};
use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::TransactionMode;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

mod dom;
use dom::{IMAGE_URL, document, find, settle, type_into, until};

wasm_bindgen_test_configure!(run_in_browser);

/// A 1×1 PNG.
const PIXEL_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

fn pixel() -> Vec<u8> {
    let binary = web_sys::window()
        .expect("window")
        .atob(PIXEL_B64)
        .expect("base64");
    binary.chars().map(|c| c as u8).collect()
}

fn db_name(test: &str) -> String {
    format!(
        "flexedit-test-{test}-{}",
        (js_sys::Math::random() * 1e12) as u64
    )
}

fn record(id: &str, prompt: &str) -> RunRecord {
    RunRecord {
        id: id.into(),
        parent: None,
        started_at: js_sys::Date::now(),
        finished_at: Some(js_sys::Date::now()),
        endpoint: String::new(),
        mode: "proxy".into(),
        params: EditParams {
            prompt: prompt.into(),
            seed: Some(7.0),
            ..EditParams::default()
        },
        source: SourceRecord {
            name: "a.png".into(),
            kind: SourceKind::File,
            asset_path: Some("images/a.png".into()),
            url: None,
            mime: Some("image/png".into()),
        },
        outcome: Outcome::Succeeded(SuccessRecord {
            asset_path: Some("images/result.png".into()),
            display_url: "http://127.0.0.1:9/__results/images/result.png".into(),
            expires_at: None,
            seed: Some(7),
            duration_ms: 1500.0,
            credits: None,
            mime: Some("image/png".into()),
        }),
        record: None,
        submitted_at: None,
        place: None,
        queued_by: None,
        mask: None,
        area_unfit: false,
    }
}

const ID_A: &str = "0123456789abcdef0123456789abcdef";
const ID_B: &str = "fedcba9876543210fedcba9876543210";

fn blob(bytes: &[u8]) -> web_sys::Blob {
    bytes_blob(bytes, "image/png").expect("a blob")
}

async fn stored(store: &Store, id: &str, slot: Slot) -> Option<Vec<u8>> {
    let blob = store
        .image(&flexedit::history::store::image_key(id, slot))
        .await
        .expect("read an image")?;
    blob_bytes(&blob).await
}

#[wasm_bindgen_test]
async fn a_run_and_its_images_read_back_as_written() {
    let store = Store::open(&db_name("roundtrip")).await.expect("open");
    let source = [pixel(), b"source".to_vec()].concat();
    let result = [pixel(), b"result".to_vec()].concat();
    let run = record(ID_A, "Add a red hat");
    store
        .put_run(
            &run,
            &[
                (Slot::Source, &blob(&source)),
                (Slot::Result, &blob(&result)),
            ],
        )
        .await
        .expect("write");

    assert_eq!(store.runs().await.expect("read"), vec![run]);
    assert_eq!(stored(&store, ID_A, Slot::Source).await, Some(source));
    assert_eq!(stored(&store, ID_A, Slot::Result).await, Some(result));

    store.delete_run(ID_A).await.expect("delete");
    assert_eq!(store.runs().await.expect("read"), vec![]);
    assert_eq!(stored(&store, ID_A, Slot::Result).await, None);
    store.close();
}

#[wasm_bindgen_test]
async fn a_version_1_database_is_upgraded_with_its_runs_and_images_kept() {
    let name = db_name("v1");
    let run = record(ID_A, "Make it snow");
    let json = serde_json::to_string(&run).expect("json");
    let source = [pixel(), b"v1-source".to_vec()].concat();
    let result = [pixel(), b"v1-result".to_vec()].concat();

    // Version 1 as it was: one store, each run one object holding its images.
    let v1 = Database::open(name.as_str())
        .with_version(1u32)
        .with_on_upgrade_needed(|_, db| {
            db.create_object_store(RUNS).build()?;
            Ok(())
        })
        .await
        .expect("create version 1");
    {
        let value = js_sys::Object::new();
        js_sys::Reflect::set(&value, &"record".into(), &json.into()).expect("record");
        js_sys::Reflect::set(&value, &"source".into(), &blob(&source)).expect("source");
        js_sys::Reflect::set(&value, &"result".into(), &blob(&result)).expect("result");
        let tx = v1
            .transaction(RUNS)
            .with_mode(TransactionMode::Readwrite)
            .build()
            .expect("transaction");
        let runs = tx.object_store(RUNS).expect("runs");
        runs.put(JsValue::from(value))
            .with_key(ID_A.to_owned())
            .await
            .expect("put a version 1 run");
        tx.commit().await.expect("commit");
    }
    v1.close();

    let store = Store::open(&name).await.expect("open and upgrade");
    assert_eq!(store.runs().await.expect("read"), vec![run]);
    assert_eq!(stored(&store, ID_A, Slot::Source).await, Some(source));
    assert_eq!(stored(&store, ID_A, Slot::Result).await, Some(result));
    store.close();
}

#[wasm_bindgen_test]
async fn a_write_cut_off_after_its_first_put_leaves_the_old_run_whole() {
    let store = Store::open(&db_name("abort")).await.expect("open");
    let old = record(ID_A, "old prompt");
    let old_result = [pixel(), b"old".to_vec()].concat();
    store
        .put_run(&old, &[(Slot::Result, &blob(&old_result))])
        .await
        .expect("first write");

    // The same run again with a new result, cut off after the record was put.
    let new = record(ID_A, "new prompt");
    store.inject(Fault::AbortAfterFirstPut);
    let cut = store.put_run(&new, &[(Slot::Result, &blob(b"new"))]).await;
    assert!(matches!(cut, Err(HistoryError::Write(_))), "{cut:?}");
    // A new run cut off the same way leaves nothing at all.
    store.inject(Fault::AbortAfterFirstPut);
    assert!(
        store
            .put_run(&record(ID_B, "b"), &[(Slot::Source, &blob(b"b"))])
            .await
            .is_err()
    );

    assert_eq!(store.runs().await.expect("read"), vec![old]);
    assert_eq!(stored(&store, ID_A, Slot::Result).await, Some(old_result));
    assert_eq!(stored(&store, ID_B, Slot::Source).await, None);
    store.close();
}

// ---- The panel in the editor --------------------------------------------------------

struct FakeTransport;

impl Transport for FakeTransport {
    fn upload(
        &self,
        _connection: &Connection,
        _upload: Upload,
        progress: Progress,
        _cancel: &Cancel,
    ) -> LocalFuture<Result<AssetPath, ApiError>> {
        progress(100);
        Box::pin(async { Ok(AssetPath::new("images/uploaded.png")) })
    }

    fn edit(
        &self,
        _connection: &Connection,
        _body: String,
        _cancel: &Cancel,
    ) -> LocalFuture<EditOutcome> {
        Box::pin(async {
            EditOutcome::Succeeded(EditResult {
                uuid: Some("u-1".into()),
                display_url: format!("data:image/png;base64,{PIXEL_B64}"),
                storage_paths: vec!["images/result.png".into()],
                credits: None,
                expires_at: None,
                prompt_object: None,
            })
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
        Box::pin(async { Ok(blob(&pixel())) })
    }
}

/// Mounts an editor with a history on database `db`, as the app does.
fn mount(db: &str) -> (web_sys::HtmlElement, History) {
    let container: web_sys::HtmlElement = document()
        .create_element("div")
        .expect("div")
        .unchecked_into();
    document()
        .body()
        .expect("body")
        .append_child(&container)
        .expect("attach");
    let slot = Rc::new(RefCell::new(None));
    let db = db.to_owned();
    let given = slot.clone();
    leptos::mount::mount_to(container.clone(), move || {
        let history = History::new(&db);
        provide_context(history);
        *given.borrow_mut() = Some(history);
        let transport: Rc<dyn Transport> = Rc::new(FakeTransport);
        view! { <Editor config=Config::default() transport/> }
    })
    .forget();
    let history = slot.borrow().expect("the history was made");
    (container, history)
}

fn text_of(root: &web_sys::HtmlElement, test_id: &str) -> String {
    find(root, &format!("[data-testid='{test_id}']"))
        .and_then(|e| e.text_content())
        .unwrap_or_default()
}

fn click(root: &web_sys::HtmlElement, test_id: &str) {
    find(root, &format!("[data-testid='{test_id}']"))
        .unwrap_or_else(|| panic!("no {test_id}"))
        .click();
}

/// Gives the editor an image URL and a prompt, and runs the edit to its end.
async fn run_an_edit(root: &web_sys::HtmlElement, prompt: &str) {
    type_into(root, "[data-testid='image-url']", IMAGE_URL);
    click(root, "use-url");
    until("the URL became the source", || {
        find(root, "[data-testid='source-preview']").is_some()
    })
    .await;
    type_into(root, "#field-prompt", prompt);
    settle().await;
    click(root, "run");
    until("the edit finished", || {
        text_of(root, "phase").contains("Done")
    })
    .await;
}

async fn history_on(root: &web_sys::HtmlElement, history: History) {
    until("the history opened", || {
        history.availability.get_untracked() == flexedit::history::Availability::On
    })
    .await;
    until("the panel shows", || {
        find(root, "[data-testid='history']").is_some()
    })
    .await;
}

#[wasm_bindgen_test]
async fn a_run_is_listed_with_its_kept_result_and_the_form_survives_a_reload() {
    let db = db_name("panel");
    let (root, history) = mount(&db);
    history_on(&root, history).await;
    run_an_edit(&root, "Add a lighthouse").await;
    until("the run is listed as done with its kept image", || {
        text_of(&root, "history-status") == "done"
            && find(&root, "[data-testid='history-thumb'][data-stored='true']").is_some()
    })
    .await;
    assert_eq!(text_of(&root, "history-prompt"), "Add a lighthouse");
    type_into(&root, "#field-prompt", "Now add a boat");
    settle().await;

    // A reload: a new editor on the same database, in the same tab.
    root.remove();
    let (again, history) = mount(&db);
    history_on(&again, history).await;
    until("the prompt came back", || {
        find(&again, "#field-prompt")
            .and_then(|e| e.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
            .is_some_and(|area| area.value() == "Now add a boat")
    })
    .await;
    until("the image came back", || {
        find(&again, "[data-testid='source-preview']")
            .and_then(|e| e.get_attribute("src"))
            .as_deref()
            == Some(IMAGE_URL)
    })
    .await;
    assert_eq!(history.runs.get_untracked().len(), 1);
    again.remove();
}

#[wasm_bindgen_test]
async fn a_full_storage_is_a_sentence_with_a_next_step_and_writes_nothing_half() {
    let (root, history) = mount(&db_name("quota"));
    history_on(&root, history).await;
    history.inject(Fault::QuotaExceeded);
    run_an_edit(&root, "Add a lighthouse").await;
    until("the problem is shown", || {
        !text_of(&root, "history-problem").is_empty()
    })
    .await;
    assert_eq!(
        text_of(&root, "history-problem"),
        HistoryError::QuotaExceeded.to_string()
    );
    assert!(
        text_of(&root, "history-problem").contains("Export the history"),
        "the sentence says what to do next"
    );
    // The edit itself went through, and the result is on screen.
    assert!(find(&root, "[data-testid='result-image']").is_some());
    root.remove();
}

#[wasm_bindgen_test]
async fn without_storage_the_editor_works_and_says_history_is_off() {
    let window = web_sys::window().expect("window");
    let key = JsValue::from_str("indexedDB");
    let original = js_sys::Object::get_own_property_descriptor(&window, &key);
    let gone = js_sys::Object::new();
    js_sys::Reflect::set(&gone, &"value".into(), &JsValue::UNDEFINED).expect("value");
    js_sys::Reflect::set(&gone, &"configurable".into(), &JsValue::TRUE).expect("configurable");
    js_sys::Object::define_property(&window, &key, &gone);

    let (root, _history) = mount(&db_name("off"));
    until("the panel says history is off", || {
        !text_of(&root, "history-off").is_empty()
    })
    .await;
    // Storage back for the other tests before anything can fail.
    if original.is_undefined() {
        let _ = js_sys::Reflect::delete_property(&window, &key);
    } else {
        js_sys::Object::define_property(&window, &key, &original.unchecked_into());
    }

    assert_eq!(
        text_of(&root, "history-off"),
        HistoryError::Unavailable.to_string()
    );
    assert!(text_of(&root, "history-off").starts_with("History is off"));
    run_an_edit(&root, "Add a lighthouse").await;
    assert!(find(&root, "[data-testid='result-image']").is_some());
    assert!(find(&root, "[data-testid='history-item']").is_none());
    root.remove();
}

#[wasm_bindgen_test]
async fn a_chosen_file_comes_back_after_a_reload() {
    let db = db_name("file");
    let (root, history) = mount(&db);
    history_on(&root, history).await;
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(pixel().as_slice()));
    let options = web_sys::FilePropertyBag::new();
    options.set_type("image/png");
    let file = web_sys::File::new_with_u8_array_sequence_and_options(&parts, "a.png", &options)
        .expect("a file");
    let transfer = web_sys::DataTransfer::new().expect("a transfer");
    transfer.items().add_with_file(&file).expect("add the file");
    let input: web_sys::HtmlInputElement = find(&root, "[data-testid='file-input']")
        .expect("the file input")
        .unchecked_into();
    input.set_files(transfer.files().as_ref());
    input
        .dispatch_event(&web_sys::Event::new("change").expect("change"))
        .expect("dispatch change");
    until("the file became the source", || {
        text_of(&root, "source-info").contains("1 × 1")
    })
    .await;
    settle().await;
    root.remove();
    let (again, history) = mount(&db);
    history_on(&again, history).await;
    until("the file came back", || {
        text_of(&again, "source-info").contains("1 × 1")
    })
    .await;
    again.remove();
}

fn field_value(root: &web_sys::HtmlElement, selector: &str) -> String {
    find(root, selector)
        .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
        .map(|input| input.value())
        .or_else(|| {
            find(root, selector)
                .and_then(|e| e.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
                .map(|area| area.value())
        })
        .unwrap_or_default()
}

/// The names the recipe list shows, in order, read from its items' `data-name`.
fn recipe_names(root: &web_sys::HtmlElement) -> Vec<String> {
    let html = find(root, ".recipe-list")
        .map(|list| list.inner_html())
        .unwrap_or_default();
    html.split("data-name=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[wasm_bindgen_test]
async fn a_saved_recipe_is_kept_applied_renamed_and_deleted() {
    let db = db_name("recipes");
    let (root, history) = mount(&db);
    history_on(&root, history).await;
    type_into(
        &root,
        "#field-prompt",
        "Add the text SALE in bold red letters",
    );
    type_into(&root, "#field-steps", "30");
    type_into(&root, "#recipe-name", "  ");
    click(&root, "recipe-save");
    until("an empty name is refused in words", || {
        text_of(&root, "recipes-status") == "Give the recipe a name."
    })
    .await;
    type_into(&root, "#recipe-name", "Sale");
    click(&root, "recipe-save");
    until("the recipe is listed", || recipe_names(&root) == ["Sale"]).await;
    assert_eq!(text_of(&root, "recipes-status"), "Saved the recipe “Sale”.");
    let sets = text_of(&root, "recipe");
    assert!(sets.contains("yours") && sets.contains("Steps30"), "{sets}");

    // A reload finds it in the database, and applying it restores the form.
    root.remove();
    let (again, history) = mount(&db);
    history_on(&again, history).await;
    until("the recipe came back", || recipe_names(&again) == ["Sale"]).await;
    type_into(&again, "#field-prompt", "something else");
    type_into(&again, "#field-steps", "12");
    settle().await;
    click(&again, "recipe-apply");
    until("the recipe applied", || {
        field_value(&again, "#field-prompt") == "Add the text SALE in bold red letters"
            && field_value(&again, "#field-steps") == "30"
    })
    .await;

    // An export carries the recipe; importing it brings it back after a delete.
    let (zip, _) = history.export().await.expect("export");
    assert_eq!(
        flexedit_api::history::read_bundle(&zip)
            .expect("a bundle")
            .recipes
            .len(),
        1
    );
    click(&again, "recipe-delete");
    until("deleted before the import", || {
        recipe_names(&again).is_empty()
    })
    .await;
    history.import(&zip).await.expect("import");
    until("imported back", || recipe_names(&again) == ["Sale"]).await;

    click(&again, "recipe-rename");
    until("the rename field shows", || {
        find(&again, "[data-testid='recipe-new-name']").is_some()
    })
    .await;
    type_into(&again, "[data-testid='recipe-new-name']", "Sale banner");
    click(&again, "recipe-rename-save");
    until("renamed, the old name gone", || {
        recipe_names(&again) == ["Sale banner"]
    })
    .await;
    let stored = history.recipes.get_untracked();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].params.steps, Some(30.0));

    click(&again, "recipe-delete");
    until("deleted", || recipe_names(&again).is_empty()).await;
    let store = Store::open(&db).await.expect("open");
    assert!(store.recipes().await.expect("read").is_empty());
    store.close();
    again.remove();
}
