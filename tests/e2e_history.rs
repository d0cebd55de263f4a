//! End-to-end: the history in the release build, against the simulator. Runs survive a
//! reload with their exact images and the form; a branch grows from an earlier result;
//! export, delete all and import give the same history back; a second tab sees new runs;
//! a result whose link is gone still shows from its kept bytes.

mod support;

use base64::Engine;
use fantoccini::Locator;
use fantoccini::elements::Element;
use flexedit_api::history::{BundledRun, read_bundle};
use serde_json::Value;
use support::{PATIENCE, Session, TempDir, images};

async fn wait_xpath(session: &Session, xpath: &str) -> Element {
    session
        .browser
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::XPath(xpath))
        .await
        .unwrap_or_else(|e| panic!("{xpath} never appeared: {e}"))
}

/// Waits until the history lists exactly `n` runs, and returns them newest first.
async fn history_items(session: &Session, n: usize) -> Vec<Element> {
    wait_xpath(
        session,
        &format!("//ol[@data-testid='history-list'][count(li[@data-testid='history-item'])={n}]"),
    )
    .await;
    session
        .browser
        .find_all(Locator::Css("[data-testid='history-item']"))
        .await
        .expect("the history items")
}

/// The history entry whose prompt is `prompt`, with `also` (further XPath predicates).
fn item_xpath(prompt: &str, also: &str) -> String {
    format!(
        "//li[@data-testid='history-item']{also}[.//*[@data-testid='history-prompt'][normalize-space(.)='{prompt}']]"
    )
}

/// The history entry whose prompt is `prompt`.
async fn item_with_prompt(session: &Session, prompt: &str) -> Element {
    wait_xpath(session, &item_xpath(prompt, "")).await
}

async fn run_edit(session: &Session, prompt: &str) {
    session.fill("field-prompt", prompt).await;
    session.click("run").await;
    session.wait_for_text("phase", "Done").await;
    // Kept: the entry is done and its result's bytes are stored.
    wait_xpath(
        session,
        &format!(
            "{}[.//img[@data-stored='true']]",
            item_xpath(prompt, "[@data-status='done']")
        ),
    )
    .await;
}

/// Opens a run's details from its entry.
async fn open_run(session: &Session, prompt: &str) {
    let item = item_with_prompt(session, prompt).await;
    item.find(Locator::Css("[data-testid='history-open']"))
        .await
        .expect("the entry's open button")
        .click()
        .await
        .expect("open the run");
    session.wait_for_text("history-detail", "Run #").await;
}

/// The bytes behind the kept result image of the opened run, read in the page.
async fn shown_result_bytes(session: &Session) -> Vec<u8> {
    let image = wait_xpath(
        session,
        "//*[@data-testid='history-detail']//img[@data-testid='history-result'][@data-stored='true']",
    )
    .await;
    let src = image.attr("src").await.expect("src").expect("a src");
    assert!(src.starts_with("blob:"), "shown from kept bytes: {src}");
    let encoded = session
        .browser
        .execute_async(
            "const [src, done] = arguments;
             const image = new Image();
             image.onload = () => fetch(src).then(r => r.arrayBuffer()).then(buffer => {
                 let text = '';
                 for (const byte of new Uint8Array(buffer)) text += String.fromCharCode(byte);
                 done(image.naturalWidth > 0 ? btoa(text) : 'not decoded');
             });
             image.onerror = () => done('not decoded');
             image.src = src;",
            vec![Value::String(src)],
        )
        .await
        .expect("read the shown image");
    let encoded = encoded.as_str().expect("text").to_owned();
    assert_ne!(encoded, "not decoded", "the kept image decodes");
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("base64")
}

/// The value of a fact in the opened run's details.
async fn detail_fact(session: &Session, name: &str) -> String {
    wait_xpath(
        session,
        &format!("//*[@data-testid='history-detail']//div[dt='{name}']/dd"),
    )
    .await
    .text()
    .await
    .expect("the fact's text")
}

/// Exports the history and returns the file and its runs, oldest first; the file is
/// removed so the next export is read afresh.
async fn export(session: &Session) -> (Vec<u8>, Vec<BundledRun>) {
    session.click("history-export").await;
    let (name, bytes) = session.downloaded_file().await;
    assert!(
        name.starts_with("flexedit-history-") && name.ends_with(".zip"),
        "{name}"
    );
    std::fs::remove_file(session.downloads.path().join(&name)).expect("remove the export");
    let runs = read_bundle(&bytes).expect("a readable bundle").runs;
    (bytes, runs)
}

async fn editor_with_small_image(session: &Session, dir: &TempDir) {
    session.open_editor().await;
    session
        .choose_file(&images::write(dir.path(), "a.png", &images::png(64, 64)))
        .await;
    session.wait_for_text("source-info", "64 × 64").await;
}

#[tokio::test]
async fn runs_survive_a_reload_with_their_exact_images_and_the_form_and_branches_grow() {
    let session = Session::start().await;
    let dir = TempDir::new("flexedit-e2e-images");
    editor_with_small_image(&session, &dir).await;
    run_edit(&session, "Add the text \"ONE\"").await;
    run_edit(&session, "Add the text \"TWO\"").await;
    session.fill("field-steps", "30").await;

    session.browser.refresh().await.expect("reload");
    session.wait_for_editor().await;
    let items = history_items(&session, 2).await;
    // Newest first.
    let first_prompt = items[0]
        .find(Locator::Css("[data-testid='history-prompt']"))
        .await
        .expect("a prompt")
        .text()
        .await
        .expect("text");
    assert_eq!(first_prompt, "Add the text \"TWO\"");
    // The form is back: image, prompt and parameters.
    session.wait_for_text("source-info", "64 × 64").await;
    assert_eq!(
        session.value_of("field-prompt").await,
        "Add the text \"TWO\""
    );
    assert_eq!(session.value_of("field-steps").await, "30");

    // Each run shows the simulator's exact result bytes, from the kept copy.
    for prompt in ["Add the text \"ONE\"", "Add the text \"TWO\""] {
        open_run(&session, prompt).await;
        let path = detail_fact(&session, "Result file").await;
        let expected = session.stored_asset(&path).await;
        assert_eq!(shown_result_bytes(&session).await, expected, "{prompt}");
    }
    session.screenshot("history-reloaded").await;

    // A branch from the first result: the new run says where it came from.
    open_run(&session, "Add the text \"ONE\"").await;
    session.click("history-edit-result").await;
    session.wait_for_text("source-info", "result of").await;
    run_edit(&session, "Add the text \"THREE\"").await;
    let branch = item_with_prompt(&session, "Add the text \"THREE\"").await;
    let from = branch
        .find(Locator::Css("[data-testid='history-parent']"))
        .await
        .expect("a link to the run it grew from");
    assert_eq!(from.text().await.expect("text"), "from #1");
    assert_eq!(
        branch.attr("class").await.expect("class").as_deref(),
        Some("history-item history-depth-1")
    );
    // The branch's source is the first run's result.
    let edits: Value = session.received().await;
    let last_body: Value = serde_json::from_str(
        edits["features"]
            .as_array()
            .and_then(|f| f.last())
            .and_then(|f| f["body"].as_str())
            .expect("the last edit"),
    )
    .expect("json");
    open_run(&session, "Add the text \"ONE\"").await;
    assert_eq!(
        last_body["promptObject"]["imageUrl"].as_str(),
        Some(detail_fact(&session, "Result file").await.as_str())
    );
    session.screenshot("history-branch").await;
    session.close().await;
}

#[tokio::test]
async fn export_delete_all_and_import_give_the_same_history_and_importing_twice_adds_nothing() {
    let session = Session::start().await;
    let dir = TempDir::new("flexedit-e2e-images");
    editor_with_small_image(&session, &dir).await;
    run_edit(&session, "Add the text \"ONE\"").await;
    run_edit(&session, "Add the text \"TWO\"").await;

    let (file, exported) = export(&session).await;
    assert_eq!(exported.len(), 2);
    for run in &exported {
        let path = run
            .record
            .success()
            .and_then(|s| s.asset_path.clone())
            .expect("a result path");
        assert_eq!(
            run.result.as_deref(),
            Some(session.stored_asset(&path).await.as_slice()),
            "the export holds the simulator's exact result"
        );
        assert!(run.source.is_some(), "and the uploaded source");
    }
    let bundle = dir.path().join("history.zip");
    std::fs::write(&bundle, file).expect("keep the export");

    session.click("history-delete-all").await;
    session
        .wait_for_text("history-confirm", "Delete all 2 runs")
        .await;
    session.click("history-confirm-delete").await;
    session.wait_for_test_id("history-empty").await;

    for _ in 0..2 {
        session
            .by_test_id("history-import-input")
            .await
            .send_keys(&bundle.display().to_string())
            .await
            .expect("choose the export");
        session
            .wait_for_text("history-message", "Imported 2 runs")
            .await;
        history_items(&session, 2).await;
    }
    let (_, again) = export(&session).await;
    assert_eq!(again, exported);
    session.close().await;
}

#[tokio::test]
async fn a_second_tab_sees_new_runs_and_a_gone_result_still_shows_from_kept_bytes() {
    let session = Session::start().await;
    let dir = TempDir::new("flexedit-e2e-images");
    editor_with_small_image(&session, &dir).await;
    run_edit(&session, "Add the text \"ONE\"").await;
    let first_tab = session.browser.window().await.expect("this tab");

    let second_tab = session
        .browser
        .new_window(true)
        .await
        .expect("open a second tab");
    session
        .browser
        .switch_to_window(second_tab.handle)
        .await
        .expect("switch to the second tab");
    session.open_editor().await;
    history_items(&session, 1).await;
    // A new tab starts from the form the person last left.
    session.wait_for_text("source-info", "64 × 64").await;
    run_edit(&session, "Add the text \"TAB TWO\"").await;

    session
        .browser
        .switch_to_window(first_tab)
        .await
        .expect("back to the first tab");
    item_with_prompt(&session, "Add the text \"TAB TWO\"").await;
    history_items(&session, 2).await;

    // The provider lets the first result go: its link no longer works.
    open_run(&session, "Add the text \"ONE\"").await;
    let path = detail_fact(&session, "Result file").await;
    let expected = session.stored_asset(&path).await;
    let forgotten = session
        .simulator(
            reqwest::Method::DELETE,
            &format!("__simulator/assets/{path}"),
            None,
        )
        .await
        .status();
    assert_eq!(forgotten, 204);
    session.browser.refresh().await.expect("reload");
    session.wait_for_editor().await;
    open_run(&session, "Add the text \"ONE\"").await;
    assert_eq!(shown_result_bytes(&session).await, expected);
    session.screenshot("history-kept-result").await;
    session.close().await;
}

/// Waits until the history lists the run of `prompt` with `status`.
async fn run_with_status(session: &Session, prompt: &str, status: &str) {
    wait_xpath(
        session,
        &item_xpath(prompt, &format!("[@data-status='{status}']")),
    )
    .await;
}

/// Starts an edit the simulator holds, and waits until its record is kept.
async fn start_held_edit(session: &Session, prompt: &str) {
    session.arm("slow").await;
    session.fill("field-prompt", prompt).await;
    session.click("run").await;
    session.wait_for_text("phase", "Editing").await;
    run_with_status(session, prompt, "editing").await;
}

#[tokio::test]
async fn an_edit_in_flight_survives_a_reload_and_a_reopened_tab_and_is_sent_once() {
    let session = Session::start().await;
    let dir = TempDir::new("flexedit-e2e-images");
    editor_with_small_image(&session, &dir).await;

    start_held_edit(&session, "Add a red hat").await;
    session.browser.refresh().await.expect("reload the page");
    session
        .wait_for_text("phase", "Still editing (started")
        .await;
    session.release().await;
    session.wait_for_text("phase", "Done").await;
    session.wait_for_test_id("result-image").await;
    run_with_status(&session, "Add a red hat", "done").await;
    assert_eq!(
        session.edits_and_polls().await.0,
        1,
        "the edit was sent again"
    );

    // The tab closed and another opened: the edit is found in the same store.
    start_held_edit(&session, "Add a blue hat").await;
    let first = session.browser.window().await.expect("this tab");
    let second = session.browser.new_window(true).await.expect("a new tab");
    session
        .browser
        .switch_to_window(second.handle)
        .await
        .expect("switch to the new tab");
    session.open_editor().await;
    session
        .browser
        .switch_to_window(first)
        .await
        .expect("back to the first tab");
    session
        .browser
        .close_window()
        .await
        .expect("close the first tab");
    let remaining = session.browser.windows().await.expect("the tabs left");
    session
        .browser
        .switch_to_window(remaining[0].clone())
        .await
        .expect("the new tab");
    session.release().await;
    session.wait_for_text("phase", "Done").await;
    run_with_status(&session, "Add a blue hat", "done").await;
    assert_eq!(
        session.edits_and_polls().await.0,
        2,
        "an edit was sent twice"
    );

    // Direct mode with a key kept only in memory: after a reload the key is gone, and the
    // edit asks for it in words instead of failing; with the key back, it arrives.
    session
        .by_test_id("settings")
        .await
        .click()
        .await
        .expect("open settings");
    session.click("mode-direct").await;
    session.fill("settings-key", "key-in-memory").await;
    start_held_edit(&session, "Add a green hat").await;
    session.browser.refresh().await.expect("reload the page");
    session
        .wait_for_text("phase", "Enter your key to fetch the edit you started")
        .await;
    let (_, polls_without_key) = session.edits_and_polls().await;
    session
        .by_test_id("settings")
        .await
        .click()
        .await
        .expect("open settings");
    session.fill("settings-key", "key-in-memory").await;
    session.release().await;
    session.wait_for_text("phase", "Done").await;
    run_with_status(&session, "Add a green hat", "done").await;
    let received = session.received().await;
    let polls = received["polls"].as_array().expect("polls");
    assert!(
        polls[polls_without_key..]
            .iter()
            .all(|p| p["api_key"] == "key-in-memory"),
        "{polls:?}"
    );
    assert_eq!(
        session.edits_and_polls().await.0,
        3,
        "an edit was sent twice"
    );
    session.close().await;
}

#[tokio::test]
async fn a_reload_with_jobs_in_flight_and_queued_gets_every_result_each_sent_once() {
    let site = support::site("", &[("config.json", br#"{"maxInFlight": 2}"#)]);
    let mut config = flexedit_server::Config::simulator(Some(site.path().to_owned()));
    if let Some(simulator) = config.simulator_mut() {
        // Long enough that the reload comes while two edits are at the provider.
        simulator.latency_per_step = std::time::Duration::from_millis(200);
    }
    let session = Session::start_with(config).await;
    let dir = TempDir::new("flexedit-e2e-images");
    editor_with_small_image(&session, &dir).await;
    session.fill("field-prompt", "Three hats").await;
    session.fill("variations", "3").await;
    session.click("run").await;
    // Kept: two at the provider, one waiting its turn.
    wait_xpath(
        &session,
        "//ol[@data-testid='history-list'][count(li[@data-status='editing'])=2][count(li[@data-status='queued'])=1]",
    )
    .await;
    assert_eq!(session.edits_and_polls().await.0, 2);

    // Another tab opened meanwhile follows the edits at the provider, but leaves the queued
    // job to the tab that queued it: otherwise both would send it.
    let first = session.browser.window().await.expect("this tab");
    let second = session.browser.new_window(true).await.expect("a new tab");
    session
        .browser
        .switch_to_window(second.handle)
        .await
        .expect("switch to the new tab");
    session.open_editor().await;
    session
        .wait_for_text("phase", "Still editing (started")
        .await;
    session
        .browser
        .switch_to_window(first)
        .await
        .expect("back to the first tab");

    session.browser.refresh().await.expect("reload the page");
    session.wait_for_text("jobs-summary", "of 3 done").await;
    wait_xpath(
        &session,
        "//ol[@data-testid='history-list'][count(li[@data-status='done'])=3]",
    )
    .await;
    assert_eq!(session.edits_and_polls().await.0, 3, "each edit sent once");
    session.close().await;
}
