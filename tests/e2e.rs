//! End-to-end: the release build served by flexedit-server, in headless Chromium, against
//! the simulator. Each test does what a person does and checks what they would see, and
//! what the simulator received.

mod support;

use fantoccini::Locator;
use fantoccini::key::Key;
use serde_json::{Value, json};
use support::{Session, TempDir, images};

#[tokio::test]
async fn the_wasm_app_renders_its_shell_with_the_version() {
    let session = Session::start().await;
    session.open_editor().await;

    let version = session.wait_for_test_id("version").await;
    let text = version.text().await.expect("read the version");
    assert_eq!(text, format!("flexedit {}", env!("CARGO_PKG_VERSION")));

    let editor = session.wait_for_test_id("editor").await;
    assert_eq!(
        editor
            .attr("aria-label")
            .await
            .expect("read a label")
            .as_deref(),
        Some("Editor")
    );

    session.screenshot("shell").await;
    session.close().await;
}

/// The boxes of the elements a person sees on the first screen (those within the window),
/// by a name for each: where each starts, how wide it is, and how tall, except for the
/// containers, which grow as later parts (settings, code view, history) come in below.
const BOXES: &str = r##"
const named = {};
const root = document.getElementById("flexedit");
for (const el of root.querySelectorAll("header, h1, section, fieldset, [data-testid], label, input, textarea, select, button, legend, p")) {
  const key = el.tagName + "#" + (el.id || el.dataset.testid || el.getAttribute("for") || el.getAttribute("aria-label") || el.textContent.trim().slice(0, 40));
  const r = el.getBoundingClientRect();
  if (key in named || r.top >= innerHeight) continue;
  const grows = ["DIV", "MAIN", "SECTION", "FIELDSET"].includes(el.tagName);
  named[key] = [r.x, r.y, r.width, grows ? null : r.height].map((v) => v === null ? null : Math.round(v * 10) / 10);
}
return named;
"##;

#[tokio::test]
async fn the_first_screen_paints_from_the_html_and_the_editor_takes_it_over_in_place() {
    let session = Session::start().await;

    // The first response, before any script runs, already has the form.
    let html = reqwest::get(&session.base_url)
        .await
        .expect("fetch index.html")
        .text()
        .await
        .expect("read index.html");
    for part in [
        r#"<label for="field-prompt">Prompt</label>"#,
        r#"<textarea id="field-prompt""#,
        r#"data-testid="drop-zone""#,
        r#"aria-label="Drop an image here""#,
        ">Choose image</button>",
        ">Edit image</button>",
        r#"<meta content="Edit images with a text prompt"#,
        "rel=icon",
    ] {
        assert!(html.contains(part), "index.html lacks {part}: {html}");
    }

    // What a person sees before the wasm runs: the page's scripts refused.
    session.block_urls(&["*.js", "*.wasm"]).await;
    session.open("").await;
    let zone = session.wait_for_test_id("drop-zone").await;
    let root = session
        .browser
        .find(Locator::Id("flexedit"))
        .await
        .expect("the editor element");
    // Marked busy; its buttons wait for the editor, disabled, and the pointer over them and
    // over the drop zone shows progress.
    assert_eq!(
        root.attr("aria-busy")
            .await
            .expect("read aria-busy")
            .as_deref(),
        Some("true")
    );
    assert_eq!(root.attr("inert").await.expect("read inert"), None);
    let choose = session
        .browser
        .find(Locator::XPath(
            "//button[normalize-space(.)='Choose image']",
        ))
        .await
        .expect("the Choose image button");
    for button in [&choose, &session.by_test_id("run").await] {
        assert!(
            button
                .attr("disabled")
                .await
                .expect("read disabled")
                .is_some()
        );
        assert_eq!(
            button.css_value("cursor").await.expect("read the cursor"),
            "progress"
        );
    }
    assert_eq!(
        zone.css_value("cursor").await.expect("read the cursor"),
        "progress"
    );
    let before = session
        .browser
        .execute(BOXES, vec![])
        .await
        .expect("measure the first screen");
    session.screenshot("first-screen-before-the-wasm").await;
    // Its fields take input already, with no script at all.
    session.fill("field-prompt", "Brighter").await;
    assert_eq!(session.value_of("field-prompt").await, "Brighter");
    // The refused scripts are reported there; the live load below is judged on its own.
    session.console().await;

    // And once the editor runs: every element where it was.
    session.block_urls(&[]).await;
    session.open_editor().await;
    let after = session
        .browser
        .execute(BOXES, vec![])
        .await
        .expect("measure the live editor");
    session.screenshot("first-screen-live").await;
    let (before, after) = (
        before.as_object().expect("boxes by name"),
        after.as_object().expect("boxes by name"),
    );
    assert!(before.len() > 30, "too few elements measured: {before:?}");
    let moved: Vec<String> = before
        .iter()
        .filter(|(name, place)| after.get(*name) != Some(*place))
        .map(|(name, place)| format!("{name}: {place} -> {:?}", after.get(name)))
        .collect();
    assert!(
        moved.is_empty(),
        "moved or gone when the editor took over:\n{}",
        moved.join("\n")
    );
    // The browser's own account: no layout shift during the load.
    let shifts = session
        .browser
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            new PerformanceObserver((list) => done(list.getEntries().map((e) => ({
                value: e.value,
                moved: e.sources.map((s) => `${s.node?.outerHTML?.slice(0, 120)}: ${JSON.stringify(s.previousRect)} -> ${JSON.stringify(s.currentRect)}`),
              }))))
              .observe({ type: "layout-shift", buffered: true });
            setTimeout(() => done([]), 500);"#,
            vec![],
        )
        .await
        .expect("read the layout shifts");
    assert_eq!(shifts, json!([]), "layout shifts during the load");

    // A first load writes nothing to the console: no error, no warning.
    let console = session.console().await;
    assert!(
        console.is_empty(),
        "the console on a first load: {console:#?}"
    );
    session.close().await;
}

#[tokio::test]
async fn the_page_runs_from_the_builds_compressed_copies() {
    let session = Session::start().await;
    let dist = support::dist();
    let wasm = std::fs::read_dir(&dist)
        .expect("list dist")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .find(|name| name.ends_with("_bg.wasm"))
        .expect("a wasm module in dist");
    // What the server sends for each encoding is the build's own copy, byte for byte.
    let client = reqwest::Client::new();
    for (encoding, suffix) in [("br", "br"), ("gzip", "gz")] {
        let response = client
            .get(format!("{}{wasm}", session.base_url))
            .header("accept-encoding", encoding)
            .send()
            .await
            .expect("fetch the wasm");
        assert_eq!(
            response
                .headers()
                .get("content-encoding")
                .and_then(|v| v.to_str().ok()),
            Some(encoding)
        );
        let body = response.bytes().await.expect("read the wasm");
        let copy = std::fs::read(dist.join(format!("{wasm}.{suffix}"))).expect("the copy");
        assert_eq!(body.as_ref(), copy.as_slice(), "{encoding}");
    }
    // Files a deployment edits get no copy that could go stale.
    for name in ["index.html", "config.json"] {
        for suffix in ["br", "gz"] {
            assert!(
                !dist.join(format!("{name}.{suffix}")).exists(),
                "{name}.{suffix}"
            );
        }
    }
    // Chromium takes the brotli copies: the editor only appears if they decode to the build.
    session.open_editor().await;
    session.wait_for_test_id("run").await;
    session.close().await;
}

/// The features requests the simulator received, parsed.
async fn edit_bodies(session: &Session) -> Vec<Value> {
    let received = session.received().await;
    received["features"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|f| {
                    serde_json::from_str(f["body"].as_str().unwrap_or("")).expect("a JSON body")
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn uploads(session: &Session) -> Vec<Value> {
    session.received().await["assets"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The editor open on a 64 × 64 PNG with `prompt` typed: where most runs start.
async fn editor_with_small_image(prompt: &str) -> (Session, TempDir) {
    let session = Session::start().await;
    let dir = open_with_small_image(&session, prompt).await;
    (session, dir)
}

/// Opens the editor of `session` with a small PNG and `prompt` in the form.
async fn open_with_small_image(session: &Session, prompt: &str) -> TempDir {
    session.open_editor().await;
    let dir = TempDir::new("flexedit-e2e-images");
    session
        .choose_file(&images::write(dir.path(), "a.png", &images::png(64, 64)))
        .await;
    session.wait_for_text("source-info", "64 × 64").await;
    session.fill("field-prompt", prompt).await;
    dir
}

#[tokio::test]
async fn an_edit_with_chosen_parameters_sends_exactly_them_and_shows_the_simulators_image() {
    let session = Session::start().await;
    session.open_editor().await;
    let dir = TempDir::new("flexedit-e2e-images");
    let photo = images::write(dir.path(), "shop window.png", &images::png(320, 200));

    session.choose_file(&photo).await;
    session.wait_for_text("source-info", "320 × 200").await;

    session
        .fill(
            "field-prompt",
            "Add the text \"SALE 50% OFF\" in bold red letters at the top",
        )
        .await;
    session.select("field-aspect_ratio", "16:9").await;
    session.select("field-output_format", "jpg").await;
    session.fill("field-output_quality", "90").await;
    session.fill("field-steps", "30").await;
    session.fill("field-guidance", "4.5").await;
    session.fill("field-safety_tolerance", "3").await;
    session.click("seed-lock").await;
    session.fill("field-seed", "42").await;
    session.screenshot("form-filled").await;

    session.click("run").await;
    session.wait_for_text("phase", "Done").await;
    let result = session.wait_for_test_id("result-image").await;
    session.screenshot("result").await;

    let uploaded = uploads(&session).await;
    assert_eq!(uploaded.len(), 1, "one upload: {uploaded:?}");
    let asset_path = uploaded[0]["path"]
        .as_str()
        .expect("an asset path")
        .to_owned();
    // Every request of the edit carries one id, so the proxy's log lines of it go together.
    let received = session.received().await;
    let ids: Vec<&Value> = [
        &received["assets"],
        &received["features"],
        &received["polls"],
    ]
    .into_iter()
    .flat_map(|log| log.as_array().into_iter().flatten())
    .map(|request| &request["request_id"])
    .collect();
    assert!(ids.len() >= 3, "an upload, an edit and a poll: {received}");
    assert!(
        ids.iter().all(|id| *id == ids[0]) && ids[0].as_str().is_some_and(|id| id.len() == 32),
        "{ids:?}"
    );

    let bodies = edit_bodies(&session).await;
    assert_eq!(
        bodies,
        vec![json!({
            "type": "IMAGE_EDITOR",
            "model": "black-forest-labs/flux-2-flex",
            "promptObject": {
                "imageUrl": asset_path,
                "prompt": "Add the text \"SALE 50% OFF\" in bold red letters at the top",
                "aspect_ratio": "16:9",
                "output_format": "jpg",
                "output_quality": 90,
                "steps": 30,
                "guidance": 4.5,
                "safety_tolerance": 3,
                "seed": 42
            },
            "async": true
        })]
    );

    // The image on screen is the simulator's result, byte for byte.
    let src = result
        .attr("src")
        .await
        .expect("read src")
        .expect("the result has a src");
    let shown = reqwest::get(&src)
        .await
        .expect("load the shown image")
        .bytes()
        .await
        .expect("bytes");
    let path = src
        .split("/__results/")
        .nth(1)
        .and_then(|rest| rest.split('?').next())
        .expect("a simulator result URL");
    assert_eq!(shown.to_vec(), session.stored_asset(path).await);
    assert_eq!(
        images::dimensions(&shown),
        (320, 180),
        "the 16:9 crop of 320 × 200"
    );
    session.wait_for_text("result-info", "42").await;
    session.close().await;
}

#[tokio::test]
async fn a_sideways_phone_photo_arrives_upright_and_a_huge_one_is_downscaled() {
    let session = Session::start().await;
    session.open_editor().await;
    let dir = TempDir::new("flexedit-e2e-images");

    // Stored 60 × 40, shown rotated: the person sees (and the provider must get) 40 × 60.
    let sideways = images::write(
        dir.path(),
        "portrait.jpg",
        &images::jpeg_with_orientation(60, 40, 6),
    );
    session.choose_file(&sideways).await;
    session.wait_for_text("source-info", "40 × 60").await;
    session.fill("field-prompt", "make it brighter").await;
    session.click("run").await;
    session.wait_for_text("phase", "Done").await;
    let first = &uploads(&session).await[0];
    assert_eq!(
        (first["width"].as_u64(), first["height"].as_u64()),
        (Some(40), Some(60))
    );

    // 6000 × 4000 = 24 megapixels; the limit is 4.
    let huge = images::write(dir.path(), "huge.jpg", &images::jpeg(6000, 4000));
    session.choose_file(&huge).await;
    session.wait_for_text("source-info", "6000 × 4000").await;
    session.click("run").await;
    session.wait_for_text("phase", "Done").await;
    let second = &uploads(&session).await[1];
    let (w, h) = (
        second["width"].as_u64().unwrap_or(0),
        second["height"].as_u64().unwrap_or(0),
    );
    assert!(w * h <= 4_000_000, "uploaded {w} × {h}");
    assert!(
        w * h >= 3_900_000,
        "downscaled no further than needed: {w} × {h}"
    );
    assert_eq!((w * 2) / h, 3, "aspect ratio kept: {w} × {h}");
    session.close().await;
}

macro_rules! contract_fixture {
    ($name:literal) => {
        include_str!(concat!("../crates/api/tests/fixtures/", $name))
    };
}

const JSON: &str = "application/json; charset=utf-8";
const HTML: &str = "text/html; charset=UTF-8";

/// Every body of the contract's fixtures that is not a success, with the status it comes
/// with.
const CONTRACT_FAILURES: [(u16, &str, &str, &str); 14] = [
    (
        400,
        "error-400-details-nested",
        JSON,
        contract_fixture!("error-400-details-nested.json"),
    ),
    (
        400,
        "error-400-details-string",
        JSON,
        contract_fixture!("error-400-details-string.json"),
    ),
    (
        400,
        "error-400-missing-fields",
        JSON,
        contract_fixture!("error-400-missing-fields.json"),
    ),
    (
        400,
        "error-400-unsupported-model",
        JSON,
        contract_fixture!("error-400-unsupported-model.json"),
    ),
    (
        200,
        "edit-failure-credits",
        JSON,
        contract_fixture!("edit-failure-credits.json"),
    ),
    (
        200,
        "edit-failure-error-message",
        JSON,
        contract_fixture!("edit-failure-error-message.json"),
    ),
    (
        200,
        "edit-failure-result-message",
        JSON,
        contract_fixture!("edit-failure-result-message.json"),
    ),
    (
        200,
        "edit-failure-unsupported-model",
        JSON,
        contract_fixture!("edit-failure-unsupported-model.json"),
    ),
    (502, "error-502", HTML, contract_fixture!("error-502.html")),
    (522, "error-522", HTML, contract_fixture!("error-522.html")),
    (
        401,
        "error-plain-message",
        JSON,
        contract_fixture!("error-plain-message.json"),
    ),
    (
        401,
        "error-success-false",
        JSON,
        contract_fixture!("error-success-false.json"),
    ),
    (
        200,
        "result-unknown",
        JSON,
        contract_fixture!("result-unknown.json"),
    ),
    (
        200,
        "edit-async-accepted",
        JSON,
        contract_fixture!("edit-async-accepted.json"),
    ),
];

#[tokio::test]
async fn each_simulated_fault_shows_its_message_and_keeps_the_form() {
    let (session, _images) = editor_with_small_image("keep this prompt").await;
    session.fill("field-steps", "12").await;

    // Fault, the kind the page files it under, and words the person must read.
    let cases = [
        ("unauthorized", "unauthorized", "API key"),
        ("rate_limited", "rate_limited", "too many requests"),
        ("server_error", "server", "HTTP 500"),
        ("bad_gateway_html", "server", "HTTP 502"),
        ("gateway_timeout", "server", "HTTP 504"),
        ("insufficient_credits", "insufficient_credits", "credits"),
        (
            "bad_request_details",
            "bad_request",
            "The model's host (black-forest-labs) refused the request: The size does not match the required aspect ratio.",
        ),
        (
            "unsupported_model",
            "unsupported_model",
            "The provider does not accept the Flux 2 Flex model right now.",
        ),
        (
            "failure_error_message",
            "provider_failure",
            "The request was flagged by the content moderation filter.",
        ),
        (
            "failure_result_message",
            "provider_failure",
            "Image generation failed: the model returned no image for this prompt.",
        ),
        (
            "cloudflare_522",
            "gateway",
            "The provider's gateway timed out waiting for its servers (HTTP 522).",
        ),
        ("missing_temporary_url", "missing_result", "no image"),
        ("drop_connection", "network", "network"),
    ];
    for (fault, kind, words) in cases {
        let sent_before = edit_bodies(&session).await.len();
        session.arm(fault).await;
        session.click("run").await;
        let error = session.wait_for_text("run-error", words).await;
        assert_eq!(
            error.attr("data-kind").await.expect("kind").as_deref(),
            Some(kind),
            "fault {fault}"
        );
        let shown = error.text().await.expect("read the error");
        // No internal id or path of the host, and no canned "try again shortly" beside a
        // cause that says what to change.
        for internal in ["request_id", "/v1/internal", "busy", "{", "<"] {
            assert!(
                !shown.contains(internal),
                "{fault}: {internal} in {shown:?}"
            );
        }
        session.screenshot(&format!("fault-{fault}")).await;
        // Nothing the person entered is lost.
        assert_eq!(session.value_of("field-prompt").await, "keep this prompt");
        assert_eq!(session.value_of("field-steps").await, "12");
        session.wait_for_test_id("source-preview").await;
        // One press, one edit: the page never sent it again by itself.
        assert_eq!(
            edit_bodies(&session).await.len(),
            sent_before + 1,
            "fault {fault}"
        );
        match fault {
            "bad_request_details" => {
                assert!(
                    shown.contains("Try “Match input image” as the aspect ratio"),
                    "{shown}"
                );
                assert!(!shown.contains("may still have been billed"), "{shown}");
            }
            "unsupported_model" => {
                assert!(
                    shown.contains("Model black-forest-labs/flux-2-flex is not supported"),
                    "{shown}"
                );
                assert!(shown.contains("not in your settings"), "{shown}");
            }
            "cloudflare_522" => {
                assert!(
                    shown.contains("may still be running behind the gateway"),
                    "{shown}"
                );
                assert!(shown.contains("may still have been billed"), "{shown}");
            }
            _ => {}
        }
    }

    // Every failure shape of the contract's fixtures, answered as they are: the page shows
    // the sentence, next step and words the contract crate reads from it, and nothing of the
    // host's internals.
    for (status, name, content_type, body) in CONTRACT_FAILURES {
        let sent_before = edit_bodies(&session).await.len();
        session.arm_reply(status, content_type, body).await;
        session.click("run").await;
        let (kind, expected) = match flexedit_api::parse_edit_response(status, body) {
            flexedit_api::EditOutcome::Failed(err) => (
                err.kind(),
                vec![
                    err.to_string(),
                    err.next_step().to_owned(),
                    err.provider_words().unwrap_or_default(),
                ],
            ),
            // An unfinished record is followed; the simulator never made this one.
            flexedit_api::EditOutcome::Processing { uuid } => {
                let err = match uuid.as_deref().map(flexedit_api::RecordId::parse) {
                    Some(Ok(_)) => flexedit_api::ApiError::UnknownRecord,
                    Some(Err(_)) => flexedit_api::ApiError::MissingResult,
                    None => flexedit_api::ApiError::Network {
                        stage: flexedit_api::Stage::Edit,
                    },
                };
                (
                    err.kind(),
                    vec![err.to_string(), err.next_step().to_owned()],
                )
            }
            other => panic!("{name}: {other:?}"),
        };
        let error = session.wait_for_text("run-error", &expected[0]).await;
        assert_eq!(
            error.attr("data-kind").await.expect("kind").as_deref(),
            Some(kind),
            "{name}"
        );
        let shown = error.text().await.expect("read the error");
        for words in &expected {
            assert!(
                shown.contains(words.as_str()),
                "{name}: {words:?} not in {shown:?}"
            );
        }
        for internal in ["7f3a91c2", "/v1/internal", "request_id", "Ray ID", "<"] {
            assert!(!shown.contains(internal), "{name}: {internal} in {shown:?}");
        }
        // Raw JSON only where nothing in it could be read, quoted as the provider's words.
        assert!(
            kind == "unexpected" || !shown.contains('{'),
            "{name}: {shown:?}"
        );
        assert_eq!(
            session.value_of("field-prompt").await,
            "keep this prompt",
            "{name}"
        );
        assert_eq!(edit_bodies(&session).await.len(), sent_before + 1, "{name}");
    }

    // `COMPLETED` is a success like `SUCCESS`; credits are labelled for what they are.
    session.arm("completed").await;
    session.click("run").await;
    session.wait_for_test_id("result-image").await;
    session
        .wait_for_text("result-info", "used before this edit was charged")
        .await;
    session.close().await;
}

#[tokio::test]
async fn cancel_while_editing_says_it_may_still_be_billed() {
    let (session, _images) = editor_with_small_image("slow one").await;
    session.arm("slow").await;
    session.click("run").await;
    session.wait_for_text("phase", "Editing").await;
    // Esc cancels, as the Cancel button does.
    session
        .browser
        .active_element()
        .await
        .expect("focus")
        .send_keys(&Key::Escape.to_string())
        .await
        .expect("press Esc");
    session.wait_for_text("phase", "may still be billed").await;
    session.screenshot("cancelled").await;
    // The record was kept: once the provider finishes, "Check again" fetches the result
    // without sending the edit again.
    session.release().await;
    session.click("check-again").await;
    session.wait_for_text("phase", "Done").await;
    session.wait_for_test_id("result-image").await;
    assert_eq!(
        session.edits_and_polls().await.0,
        1,
        "the edit was sent again"
    );
    session.close().await;
}

#[tokio::test]
async fn lost_polls_are_asked_again_and_an_unknown_record_ends_the_run() {
    let mut config = flexedit_server::Config::simulator(Some(support::dist()));
    if let Some(simulator) = config.simulator_mut() {
        // A rate limit asks for a short wait, so the test does not sit out a minute.
        simulator.retry_after = std::time::Duration::from_secs(1);
    }
    let session = Session::start_with(config).await;
    let _images = open_with_small_image(&session, "lost polls").await;
    session.arm("slow").await;
    session.click("run").await;
    session.wait_for_text("phase", "Editing").await;
    // Each fault answers one poll; the next is armed once that poll has come.
    let mut polls = 0;
    for fault in [
        "drop_connection",
        "bad_gateway_html",
        "rate_limited",
        "server_error",
    ] {
        session.arm_poll(fault).await;
        polls = session.wait_for_polls(polls).await;
        session.wait_for_text("phase", "Editing").await;
    }
    // Offline for a while: the page stops asking and says why; back online, it asks again.
    session.set_offline(true).await;
    session
        .wait_for_text("phase", "Offline: the edit goes on")
        .await;
    let (_, polls_offline) = session.edits_and_polls().await;
    session.set_offline(false).await;
    session.wait_for_polls(polls_offline).await;
    session.release().await;
    session.wait_for_text("phase", "Done").await;
    session.wait_for_test_id("result-image").await;
    assert_eq!(
        session.edits_and_polls().await.0,
        1,
        "an edit was sent twice"
    );

    // A record the provider no longer knows ends the run with a sentence.
    session.arm("slow").await;
    session.click("run").await;
    session.wait_for_text("phase", "Editing").await;
    session.arm_poll("vanished_record").await;
    let error = session.wait_for_test_id("run-error").await;
    assert_eq!(
        error.attr("data-kind").await.expect("kind").as_deref(),
        Some("unknown_record")
    );
    assert_eq!(session.edits_and_polls().await.0, 2);
    session.release().await;
    session.close().await;
}

#[tokio::test]
async fn proxy_mode_sends_no_key_and_direct_mode_sends_the_persons_key() {
    let session = Session::start().await;
    session.open_editor().await;
    let dir = TempDir::new("flexedit-e2e-images");
    session
        .choose_file(&images::write(dir.path(), "a.png", &images::png(64, 64)))
        .await;
    session
        .fill("field-prompt", "first through the proxy")
        .await;
    session.click("run").await;
    session.wait_for_text("phase", "Done").await;

    session
        .by_test_id("settings")
        .await
        .click()
        .await
        .expect("open settings");
    session.click("mode-direct").await;
    session
        .wait_for_text("run-disabled-reason", "API key")
        .await;
    session.fill("settings-key", "test-key-123").await;
    session.fill("field-prompt", "then direct with a key").await;
    session.click("run").await;
    session.wait_for_text("phase", "Done").await;

    let received = session.received().await;
    let keys: Vec<Value> = received["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["api_key"].clone())
        .collect();
    assert_eq!(keys, vec![Value::Null, json!("test-key-123")]);
    let upload_keys: Vec<Value> = received["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .map(|a| a["api_key"].clone())
        .collect();
    assert_eq!(upload_keys, vec![Value::Null, json!("test-key-123")]);
    session.close().await;
}

#[tokio::test]
async fn edit_this_result_chains_without_uploading_again() {
    let (session, _images) = editor_with_small_image("first").await;
    session.click("run").await;
    session.wait_for_text("phase", "Done").await;
    session.click("edit-this-result").await;
    session.fill("field-prompt", "second").await;
    session.click("run").await;
    session.wait_for_text("phase", "Done").await;

    assert_eq!(
        uploads(&session).await.len(),
        1,
        "the result was not uploaded again"
    );
    let bodies = edit_bodies(&session).await;
    let features = session.received().await["features"].clone();
    assert_ne!(
        features[0]["request_id"], features[1]["request_id"],
        "each edit has its own request id"
    );
    let result_path = session.received().await["features"][0]["result_path"].clone();
    let second_image = bodies[1]["promptObject"]["imageUrl"]
        .as_str()
        .expect("imageUrl")
        .to_owned();
    assert!(
        second_image.starts_with("images/") || second_image.contains("/images/"),
        "{second_image}"
    );
    assert_ne!(
        second_image,
        bodies[0]["promptObject"]["imageUrl"].as_str().unwrap_or("")
    );
    if let Some(path) = result_path.as_str() {
        assert_eq!(second_image, path);
    }
    session.close().await;
}

#[tokio::test]
async fn drop_and_paste_bring_an_image_in() {
    let session = Session::start().await;
    session.open_editor().await;
    let png = base64_png(48, 32);
    session
        .browser
        .execute(
            r#"
            const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], "dropped.png", { type: "image/png" }));
            const zone = document.querySelector("[data-testid='drop-zone']");
            zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
            zone.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
            "#,
            vec![json!(png)],
        )
        .await
        .expect("drop a file");
    session.wait_for_text("source-info", "dropped.png").await;
    session.wait_for_text("source-info", "48 × 32").await;

    let other = base64_png(30, 20);
    session
        .browser
        .execute(
            r#"
            const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], "pasted.png", { type: "image/png" }));
            document.querySelector("[data-testid='editor']").dispatchEvent(
              new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true }));
            "#,
            vec![json!(other)],
        )
        .await
        .expect("paste a file");
    session.wait_for_text("source-info", "30 × 20").await;

    // A file dropped on index.html's first screen while the editor is still loading (each
    // request slowed, so the module takes a while) is not lost: the editor takes it in
    // once it is there.
    session
        .set_latency(std::time::Duration::from_millis(1500))
        .await;
    session.open("").await;
    let early = base64_png(36, 24);
    let dropped = session
        .browser
        .execute_async(
            r#"
            const [png, done] = [arguments[0], arguments[arguments.length - 1]];
            const drop = () => {
              const bytes = Uint8Array.from(atob(png), c => c.charCodeAt(0));
              const dt = new DataTransfer();
              dt.items.add(new File([bytes], "early.png", { type: "image/png" }));
              const editor = document.getElementById("flexedit");
              const busy = editor.getAttribute("aria-busy");
              editor.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
              done(busy);
            };
            // Once the page's module is fetching the editor: its listeners are in place.
            if (performance.getEntriesByName("flexedit:start").length > 0) return drop();
            new PerformanceObserver((list, observer) => {
              if (list.getEntries().some((e) => e.name === "flexedit:start")) {
                observer.disconnect();
                drop();
              }
            }).observe({ type: "mark" });
            "#,
            vec![json!(early)],
        )
        .await
        .expect("drop a file while the editor loads");
    assert_eq!(
        dropped,
        json!("true"),
        "dropped while the first screen was busy"
    );
    session.set_latency(std::time::Duration::ZERO).await;
    session.wait_for_editor().await;
    session.wait_for_text("source-info", "early.png").await;
    session.wait_for_text("source-info", "36 × 24").await;
    session.close().await;
}

/// The first screen's fields take input before the editor runs (every request slowed, so
/// the module takes a while): what was typed, chosen and picked there goes on in the live
/// editor, the caret where it was, and the run sends it.
#[tokio::test]
async fn what_is_done_on_the_first_screen_before_the_editor_runs_goes_on_in_the_editor() {
    let session = Session::start().await;
    let dir = TempDir::new("flexedit-e2e-early");
    let photo = images::write(dir.path(), "early.png", &images::png(64, 48));
    session
        .set_latency(std::time::Duration::from_millis(2000))
        .await;
    session.open("").await;
    let root = session
        .browser
        .find(Locator::Id("flexedit"))
        .await
        .expect("the editor element");
    assert!(
        session
            .by_test_id("run")
            .await
            .attr("disabled")
            .await
            .expect("read disabled")
            .is_some()
    );
    session.choose_file(&photo).await;
    session.select("field-aspect_ratio", "16:9").await;
    session.fill("field-steps", "8").await;
    session
        .browser
        .find(Locator::Id("field-prompt_upsampling"))
        .await
        .expect("the Prompt upsampling box")
        .click()
        .await
        .expect("tick Prompt upsampling");
    session.fill("field-prompt", "Add the text SALE").await;
    assert_eq!(
        root.attr("aria-busy")
            .await
            .expect("read aria-busy")
            .as_deref(),
        Some("true"),
        "all of it was done before the editor took over"
    );

    session.set_latency(std::time::Duration::ZERO).await;
    session.wait_for_editor().await;
    assert_eq!(session.value_of("field-prompt").await, "Add the text SALE");
    assert_eq!(session.value_of("field-steps").await, "8");
    assert_eq!(session.value_of("field-aspect_ratio").await, "16:9");
    // The editor's own state has them: the steps' preset it shows pressed, the prompt no
    // longer marked invalid.
    let fast = session
        .browser
        .find(Locator::XPath("//button[normalize-space(.)='Fast (8)']"))
        .await
        .expect("the Fast preset");
    assert_eq!(
        fast.attr("aria-pressed")
            .await
            .expect("read aria-pressed")
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        session
            .browser
            .find(Locator::Id("field-prompt"))
            .await
            .expect("the prompt")
            .attr("aria-invalid")
            .await
            .expect("read aria-invalid")
            .as_deref(),
        Some("false")
    );
    // The focus stayed in the prompt, the caret at its end: typing goes on there.
    session
        .browser
        .active_element()
        .await
        .expect("the focused element")
        .send_keys(" 50% OFF")
        .await
        .expect("type on");
    assert_eq!(
        session.value_of("field-prompt").await,
        "Add the text SALE 50% OFF"
    );
    // The file chosen before is the editor's image.
    session.wait_for_text("source-info", "early.png").await;
    session.click("run").await;
    session.wait_for_text("phase", "Done").await;
    let bodies = edit_bodies(&session).await;
    let sent = &bodies[0]["promptObject"];
    assert_eq!(sent["prompt"], "Add the text SALE 50% OFF", "{sent}");
    assert_eq!(sent["steps"], 8, "{sent}");
    assert_eq!(sent["aspect_ratio"], "16:9", "{sent}");
    assert_eq!(sent["prompt_upsampling"], true, "{sent}");
    session.close().await;
}

fn base64_png(width: u32, height: u32) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(images::png(width, height))
}

#[tokio::test]
async fn before_after_compares_the_source_with_the_result_and_download_saves_its_bytes() {
    let session = Session::start().await;
    session.open_editor().await;
    let dir = TempDir::new("flexedit-e2e-images");
    session
        .choose_file(&images::write(
            dir.path(),
            "poster.png",
            &images::png(200, 120),
        ))
        .await;
    session
        .fill("field-prompt", "Add the text \"OPEN\" at the top")
        .await;
    session.click("seed-lock").await;
    session.fill("field-seed", "7").await;
    session.click("run").await;
    session.wait_for_text("phase", "Done").await;

    let before = session.by_test_id("compare-before").await;
    let source = session.by_test_id("source-preview").await;
    assert_eq!(
        before.attr("src").await.expect("src"),
        source.attr("src").await.expect("src"),
        "the before image is the source"
    );
    let after = session.by_test_id("result-image").await;
    let after_src = after
        .attr("src")
        .await
        .expect("src")
        .expect("the result has a src");
    assert!(after_src.contains("/__results/"), "{after_src}");

    // The slider moves the split with the keyboard, and the after image is clipped there.
    let slider = session.by_test_id("compare-slider").await;
    let start: f64 = slider
        .prop("value")
        .await
        .expect("value")
        .and_then(|v| v.parse().ok())
        .expect("a number");
    slider
        .send_keys(&Key::Left.to_string())
        .await
        .expect("press Left");
    slider
        .send_keys(&Key::Left.to_string())
        .await
        .expect("press Left");
    let moved: f64 = slider
        .prop("value")
        .await
        .expect("value")
        .and_then(|v| v.parse().ok())
        .expect("a number");
    assert_eq!(moved, start - 2.0);
    let clip = after.css_value("clip-path").await.expect("clip-path");
    assert!(
        clip.contains(&format!("{}%", moved)),
        "clip {clip} at {moved}"
    );
    let toggle = session.by_test_id("compare-toggle").await;
    let label = toggle.text().await.expect("label");
    toggle.click().await.expect("toggle");
    assert_ne!(
        toggle.text().await.expect("label"),
        label,
        "the toggle says what the next click does"
    );
    session.screenshot("compare").await;

    // Download saves exactly the simulator's bytes under a name made from the prompt.
    session.click("download").await;
    let (name, bytes) = session.downloaded_file().await;
    let expected = flexedit_api::download_file_name(
        "Add the text \"OPEN\" at the top",
        Some(7),
        flexedit_api::OutputFormat::Png,
    );
    assert!(
        expected.contains("open") && expected.ends_with("seed-7.png"),
        "{expected}"
    );
    assert_eq!(name, expected);
    let path = after_src
        .split("/__results/")
        .nth(1)
        .and_then(|rest| rest.split('?').next())
        .expect("a simulator result URL");
    // The simulator's bytes with the recipe written in, and nothing else changed.
    let sent = edit_bodies(&session).await.pop().expect("the edit sent");
    let recipe = flexedit_api::ImageRecipe {
        prompt: "Add the text \"OPEN\" at the top".to_owned(),
        prompt_object: sent["promptObject"].clone(),
        seed: Some(7),
        model: flexedit_api::MODEL.to_owned(),
        parent: sent["promptObject"]["imageUrl"].as_str().map(str::to_owned),
        mask: false,
    };
    let stored = session.stored_asset(path).await;
    assert_eq!(
        bytes,
        flexedit_api::write_recipe(&stored, &recipe).expect("a PNG takes a recipe")
    );
    assert_eq!(flexedit_api::read_recipe(&bytes), Some(recipe));

    // Months later: the downloaded file, chosen again, brings its recipe back.
    session.fill("field-prompt", "something else").await;
    session.fill("field-seed", "123").await;
    assert!(
        session
            .browser
            .find(fantoccini::Locator::Css("[data-testid='use-recipe']"))
            .await
            .is_err(),
        "a source without a recipe offers none"
    );
    let saved = session.downloads.path().join(&name);
    session.choose_file(&saved).await;
    session
        .wait_for_text("source-recipe", "Add the text \"OPEN\" at the top")
        .await;
    session.screenshot("recipe-offered").await;
    session.click("use-recipe").await;
    assert_eq!(
        session.value_of("field-prompt").await,
        "Add the text \"OPEN\" at the top"
    );
    assert_eq!(session.value_of("field-seed").await, "7");
    session.close().await;
}

/// The bytes behind every result image on the contact sheet, fetched from the simulator.
async fn sheet_results(session: &Session) -> Vec<Vec<u8>> {
    let tiles = session
        .browser
        .find_all(Locator::Css(
            "[data-testid='job'][data-state='done'] img.job-image",
        ))
        .await
        .expect("the result tiles");
    let mut results = Vec::new();
    for tile in tiles {
        let src = tile.attr("src").await.expect("src").expect("a result URL");
        let bytes = reqwest::get(&src)
            .await
            .expect("fetch a result")
            .bytes()
            .await
            .expect("its bytes");
        results.push(bytes.to_vec());
    }
    results
}

#[tokio::test]
async fn variations_and_a_batch_fan_out_and_download_all_gives_every_result() {
    let (session, images_dir) = editor_with_small_image("Add our logo").await;

    // Four variations of one image: one upload, four edits with four seeds.
    session.fill("variations", "4").await;
    session.wait_for_text("run", "Edit image (4 edits)").await;
    session
        .wait_for_text("code-count", "One press starts 4 edits")
        .await;
    session.click("run").await;
    session.wait_for_text("jobs-summary", "4 of 4 done").await;
    assert_eq!(
        uploads(&session).await.len(),
        1,
        "the image is uploaded once"
    );
    let bodies = edit_bodies(&session).await;
    let mut seeds: Vec<u64> = bodies
        .iter()
        .map(|b| b["promptObject"]["seed"].as_u64().expect("a seed"))
        .collect();
    seeds.sort_unstable();
    seeds.dedup();
    assert_eq!(seeds.len(), 4, "four distinct seeds: {bodies:?}");

    // Download all: one zip holding each result as the simulator made it.
    session.click("download-all").await;
    session
        .wait_for_text("download-all-status", "Downloaded 4 results in one zip")
        .await;
    let (name, zip) = session.downloaded_file().await;
    assert_eq!(name, "flexedit-results.zip");
    let entries = flexedit_api::zip::read_zip(&zip).expect("a readable zip");
    let manifest: Value = serde_json::from_slice(&entries[0].data).expect("the manifest");
    let mut zipped: Vec<Vec<u8>> = entries[1..].iter().map(|e| e.data.clone()).collect();
    let mut simulated = sheet_results(&session).await;
    zipped.sort();
    simulated.sort();
    assert_eq!(simulated.len(), 4);
    assert!(
        zipped == simulated,
        "the zip holds the simulator's results byte for byte"
    );
    assert_eq!(manifest["results"].as_array().map(Vec::len), Some(4));

    // A batch of three images and a refused file: three uploads, three edits, one named skip.
    session.fill("variations", "1").await;
    let paths = vec![
        images::write(images_dir.path(), "banner-1.png", &images::png(48, 32)),
        images::write(images_dir.path(), "banner-2.png", &images::png(40, 30)),
        images::write(images_dir.path(), "empty.png", b""),
        images::write(images_dir.path(), "banner-3.png", &images::png(32, 32)),
    ];
    session.choose_files(&paths).await;
    session
        .wait_for_text(
            "batch",
            "3 images, one edit each: banner-1.png, banner-2.png, banner-3.png",
        )
        .await;
    session.wait_for_text("batch-skipped", "empty.png").await;
    session.wait_for_text("run", "Edit image (3 edits)").await;
    session.fill("field-prompt", "Put our logo top left").await;
    session.click("run").await;
    session.wait_for_text("jobs-summary", "3 of 3 done").await;
    assert_eq!(
        uploads(&session).await.len(),
        4,
        "one upload per image of the batch"
    );
    let bodies = edit_bodies(&session).await;
    assert_eq!(bodies.len(), 7);
    assert!(
        bodies[4..]
            .iter()
            .all(|b| b["promptObject"]["prompt"] == "Put our logo top left"),
        "{bodies:?}"
    );
    let images: Vec<&Value> = bodies[4..]
        .iter()
        .map(|b| &b["promptObject"]["imageUrl"])
        .collect();
    assert!(
        images[0] != images[1] && images[1] != images[2],
        "{images:?}"
    );
    session.close().await;
}

#[tokio::test]
async fn at_most_the_limit_is_at_the_provider_and_one_job_cancels_alone() {
    let site = support::site("", &[("config.json", br#"{"maxInFlight": 2}"#)]);
    let mut config = flexedit_server::Config::simulator(Some(site.path().to_owned()));
    if let Some(simulator) = config.simulator_mut() {
        // Each edit takes a moment, so jobs overlap as they would upstream.
        simulator.latency_per_step = std::time::Duration::from_millis(60);
    }
    let session = Session::start_with(config).await;
    let _images = open_with_small_image(&session, "four at two at a time").await;
    session.fill("variations", "4").await;
    session.click("run").await;
    // The last job waits its turn: cancelled alone, it is never sent; the rest arrive.
    let last = session
        .browser
        .wait()
        .at_most(support::PATIENCE)
        .for_element(Locator::Css(
            "[data-testid='job'][data-index='3'][data-state='queued'] [data-testid='job-cancel']",
        ))
        .await
        .expect("the fourth job waits in the queue");
    last.click().await.expect("cancel the fourth job");
    session
        .wait_for_text("jobs-summary", "3 of 4 done, 1 cancelled")
        .await;
    assert_eq!(
        edit_bodies(&session).await.len(),
        3,
        "the cancelled job was sent"
    );
    let (_, most) = session.concurrency().await;
    assert_eq!(most, 2, "at most two edits at the provider at once");
    session.close().await;
}
