//! End-to-end: flexedit hosted and embedded. The example dashboard with two editors (one
//! through `mount`, one through `<flexedit-editor>`), unmounting, the strict
//! Content-Security-Policy, a sub-path, and config.json locking or broken — each in headless
//! Chromium against the simulator.

mod support;

use base64::Engine as _;
use fantoccini::Locator;
use serde_json::{Value, json};
use support::{PATIENCE, Session, TempDir, images, site};

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unbase64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64 from the page")
}

/// The example dashboard beside a copy of the build in `editor/`, as README describes,
/// served and open with both its editors ready. The folder lives as long as the session.
async fn dashboard() -> (TempDir, Session) {
    let example = |name: &str| {
        std::fs::read(support::repo_root().join("examples").join(name))
            .unwrap_or_else(|e| panic!("read examples/{name}: {e}"))
    };
    let (html, css, js) = (
        example("dashboard.html"),
        example("dashboard.css"),
        example("dashboard.js"),
    );
    let root = site(
        "editor",
        &[
            ("dashboard.html", &html),
            ("dashboard.css", &css),
            ("dashboard.js", &js),
        ],
    );
    let session = serve(&root).await;
    session.open("dashboard.html").await;
    until(
        &session,
        "document.getElementById('editor-a').dataset.ready === 'true' && document.getElementById('editor-b').editor",
    )
    .await;
    (root, session)
}

async fn serve(root: &TempDir) -> Session {
    Session::start_with(flexedit_server::Config::simulator(Some(
        root.path().to_owned(),
    )))
    .await
}

/// Runs `script` (an async function body with `arguments[0..]`) and returns what it
/// resolves to; a rejection fails the test with its message.
async fn run_js(session: &Session, script: &str, args: Vec<Value>) -> Value {
    let wrapped = format!(
        "const done = arguments[arguments.length - 1];
         (async (...arguments) => {{ {script} }})(...Array.from(arguments).slice(0, -1))
           .then((value) => done({{ ok: value ?? null }}),
                 (error) => done({{ error: String(error?.message ?? error) }}));"
    );
    let answer = session
        .browser
        .execute_async(&wrapped, args)
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"));
    if let Some(error) = answer.get("error") {
        panic!("the page said: {error}\n{script}");
    }
    answer["ok"].clone()
}

/// Waits until `condition` (a JavaScript expression) is true in the page.
async fn until(session: &Session, condition: &str) {
    let script = format!(
        "const deadline = Date.now() + {};
         while (!({condition})) {{
           if (Date.now() > deadline) throw new Error('never true: {}');
           await new Promise((resolve) => requestAnimationFrame(resolve));
         }}
         return true;",
        PATIENCE.as_millis(),
        condition.replace('\'', "\\'")
    );
    run_js(session, &script, vec![]).await;
}

/// Gives an editor an image and a prompt through its handle, and presses its run button
/// inside its shadow root, as a person would click it.
async fn edit_in(session: &Session, handle: &str, host: &str, prompt: &str, png: &[u8]) {
    run_js(
        session,
        &format!(
            "const editor = {handle};
             const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));
             await editor.setImage(new File([bytes], 'photo.png', {{ type: 'image/png' }}));
             editor.setPrompt(arguments[1]);
             const root = document.querySelector('{host}').shadowRoot;
             const deadline = Date.now() + {patience};
             let run = root.querySelector('[data-testid=run]');
             while (run.disabled) {{
               if (Date.now() > deadline) throw new Error(root.querySelector('[data-testid=run-disabled-reason]').textContent);
               await new Promise((resolve) => requestAnimationFrame(resolve));
             }}
             run.click();",
            patience = PATIENCE.as_millis()
        ),
        vec![json!(base64(png)), json!(prompt)],
    )
    .await;
}

/// The bytes of the image the dashboard filed for `editor`.
async fn filed_image(session: &Session, editor: &str) -> (Value, Vec<u8>) {
    let filed = run_js(
        session,
        "const entry = window.dashboard.store.find((e) => e.editor === arguments[0]);
         const bytes = new Uint8Array(await entry.image.arrayBuffer());
         let text = '';
         for (const b of bytes) text += String.fromCharCode(b);
         return { prompt: entry.prompt, seed: entry.seed, resultUrl: entry.resultUrl, image: btoa(text) };",
        vec![json!(editor)],
    )
    .await;
    let bytes = unbase64(filed["image"].as_str().unwrap_or_default());
    (filed, bytes)
}

/// The path of a result URL the simulator serves (`/__results/<path>`).
fn result_path(url: &str) -> String {
    url.split("/__results/")
        .nth(1)
        .map(|p| p.split('?').next().unwrap_or_default().to_owned())
        .unwrap_or_else(|| panic!("not a simulator result URL: {url}"))
}

fn csp_reports(console: &[String]) -> Vec<&String> {
    console
        .iter()
        .filter(|m| m.contains("Content Security Policy") || m.contains("Content-Security-Policy"))
        .collect()
}

#[tokio::test]
async fn the_dashboard_runs_an_edit_in_each_editor_and_files_both_images() {
    let (_site, session) = dashboard().await;

    let mut events = Vec::new();
    for (editor, handle, host, prompt) in [
        (
            "banner",
            "window.dashboard.editors.banner",
            "#editor-a",
            "Add the text \"SPRING SALE\" at the top",
        ),
        (
            "social",
            "document.getElementById('editor-b').editor",
            "#editor-b",
            "Write \"50% OFF\" in bold red letters",
        ),
    ] {
        edit_in(&session, handle, host, prompt, &images::png(64, 48)).await;
        session
            .browser
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(&format!(
                "#results li[data-editor='{editor}']"
            )))
            .await
            .unwrap_or_else(|e| panic!("the dashboard never filed a result of {editor}: {e}"));
        let (filed, bytes) = filed_image(&session, editor).await;
        assert_eq!(filed["prompt"], json!(prompt));
        let url = filed["resultUrl"].as_str().unwrap_or_default().to_owned();
        assert_eq!(
            bytes,
            session.stored_asset(&result_path(&url)).await,
            "the Blob in flexedit:result is the simulator's image"
        );
        events.push(filed);
    }

    // Each editor sent its own parameters: the element's defaults and mount()'s options.
    let edits: Vec<Value> = session.received().await["features"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|f| serde_json::from_str(f["body"].as_str().unwrap_or("")).ok())
        .collect();
    assert_eq!(edits.len(), 2, "one edit per editor: {edits:?}");
    assert_eq!(edits[0]["promptObject"]["aspect_ratio"], json!("16:9"));
    assert_eq!(edits[0]["promptObject"]["steps"], json!(25));
    assert_eq!(edits[1]["promptObject"]["output_format"], json!("png"));
    assert_eq!(edits[1]["promptObject"]["steps"], json!(8));
    assert_eq!(
        events[1]["seed"], edits[1]["promptObject"]["seed"],
        "the event reports the seed that was sent"
    );

    // The host's `button { background: hotpink }` does not reach into the editors.
    let background = run_js(
        &session,
        "return getComputedStyle(document.getElementById('editor-a').shadowRoot.querySelector('[data-testid=cancel]')).backgroundColor;",
        vec![],
    )
    .await;
    assert_ne!(background, json!("rgb(255, 105, 180)"));
    // Each editor takes its theme from the host's custom properties.
    let accents = run_js(
        &session,
        "return ['#editor-a', '#editor-b'].map((id) => getComputedStyle(document.querySelector(id).shadowRoot.querySelector('[data-testid=run]')).backgroundColor);",
        vec![],
    )
    .await;
    assert_eq!(accents, json!(["rgb(29, 92, 150)", "rgb(31, 122, 77)"]));
    session.screenshot("embed-dashboard").await;

    let console = session.console().await;
    assert!(
        csp_reports(&console).is_empty(),
        "the dashboard ran into its Content-Security-Policy: {console:#?}"
    );
    session.close().await;
}

#[tokio::test]
async fn unmount_removes_the_editor_and_every_listener_it_added() {
    let (_site, session) = dashboard().await;
    let counts = run_js(
        &session,
        "const live = new Map();
         const add = EventTarget.prototype.addEventListener;
         const remove = EventTarget.prototype.removeEventListener;
         const global = (target) => target === window || target === document;
         EventTarget.prototype.addEventListener = function (type, listener, options) {
           if (global(this)) live.set(listener, (live.get(listener) ?? 0) + 1);
           return add.call(this, type, listener, options);
         };
         EventTarget.prototype.removeEventListener = function (type, listener, options) {
           if (global(this) && live.has(listener)) live.set(listener, live.get(listener) - 1);
           return remove.call(this, type, listener, options);
         };
         const count = () => [...live.values()].reduce((a, b) => a + b, 0);
         const { mount } = await import('./editor/embed.js');
         const host = document.createElement('div');
         document.body.append(host);
         const editor = await mount(host, { mode: 'proxy' });
         const mounted = { listeners: count(), shown: host.shadowRoot.querySelectorAll('[data-testid=run]').length };
         editor.unmount();
         const unmounted = { listeners: count(), nodes: host.shadowRoot.childNodes.length };
         let afterwards = 'no error';
         try { editor.setPrompt('late'); } catch (error) { afterwards = error.message; }
         EventTarget.prototype.addEventListener = add;
         EventTarget.prototype.removeEventListener = remove;
         return { mounted, unmounted, afterwards };",
        vec![],
    )
    .await;
    assert_eq!(counts["mounted"]["shown"], json!(1), "{counts}");
    assert!(
        counts["mounted"]["listeners"].as_i64().unwrap_or_default() >= 2,
        "the editor listens on the window for keys and paste: {counts}"
    );
    assert_eq!(counts["unmounted"]["listeners"], json!(0), "{counts}");
    assert_eq!(counts["unmounted"]["nodes"], json!(0), "{counts}");
    assert_eq!(
        counts["afterwards"],
        json!("flexedit: this editor was unmounted. Mount a new one to go on.")
    );
    // The other editors on the page still work after one was removed.
    edit_in(
        &session,
        "window.dashboard.editors.banner",
        "#editor-a",
        "Add the text \"STILL HERE\"",
        &images::png(40, 40),
    )
    .await;
    until(&session, "window.dashboard.store.length === 1").await;
    session.close().await;
}

#[tokio::test]
async fn wrong_options_are_refused_with_a_sentence_naming_the_field() {
    let (_site, session) = dashboard().await;
    let refusals = run_js(
        &session,
        "const { mount } = await import('./editor/embed.js');
         const said = [];
         for (const options of [{ endpont: 'https://x' }, { mode: 'sideways' }, { defaults: { steps: 'many' } }]) {
           const host = document.createElement('div');
           document.body.append(host);
           try { await mount(host, options); said.push('accepted'); }
           catch (error) { said.push(error.message); }
         }
         const editor = window.dashboard.editors.banner;
         try { editor.setOptions({ maxUploadPixels: -1 }); said.push('accepted'); }
         catch (error) { said.push(error.message); }
         return said;",
        vec![],
    )
    .await;
    let said: Vec<String> = serde_json::from_value(refusals).expect("sentences");
    assert_eq!(said.len(), 4);
    assert!(said[0].contains("unknown field `endpont`"), "{said:?}");
    assert!(said[1].contains("sideways"), "{said:?}");
    assert!(
        said[2].contains("`defaults.steps`: invalid type: string \"many\""),
        "{said:?}"
    );
    assert!(
        said[3].contains("`maxUploadPixels`: -1 is not a whole number from 0 up"),
        "{said:?}"
    );
    for sentence in &said {
        assert!(
            sentence.starts_with("flexedit: the options could not be used:")
                && sentence.contains("Options take the fields of config.json")
                // No position in a JSON text the host never wrote.
                && !sentence.contains(" at line "),
            "{sentence}"
        );
    }
    session.close().await;
}

#[tokio::test]
async fn the_page_runs_an_edit_under_the_servers_strict_policy_without_a_violation() {
    let session = Session::start().await;
    let response = reqwest::get(&session.base_url).await.expect("the page");
    let policy = response
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        policy.contains("script-src 'self' 'wasm-unsafe-eval';"),
        "{policy}"
    );
    assert!(policy.contains("style-src 'self';"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");

    session.open_editor().await;
    let dir = TempDir::new("flexedit-e2e-images");
    session
        .choose_file(&images::write(dir.path(), "a.png", &images::png(64, 64)))
        .await;
    session.wait_for_text("source-info", "64 × 64").await;
    session.fill("field-prompt", "Add the text \"CSP\"").await;
    session.by_test_id("run").await.click().await.expect("run");
    session.wait_for_test_id("result-image").await;
    // The slider sets its position through style properties, which the policy allows.
    session.wait_for_test_id("compare-slider").await;
    let console = session.console().await;
    assert!(
        csp_reports(&console).is_empty(),
        "the page ran into its Content-Security-Policy: {console:#?}"
    );
    // The check sees a violation when there is one: an inline style, as the policy forbids.
    run_js(
        &session,
        "document.body.setAttribute('style', 'outline: 1px solid red');",
        vec![],
    )
    .await;
    let console = session.console().await;
    assert_eq!(csp_reports(&console).len(), 1, "{console:#?}");
    session.close().await;
}

#[tokio::test]
async fn the_build_served_under_a_sub_path_runs_an_edit() {
    let mut config = flexedit_server::Config::simulator(Some(support::dist()));
    config.base_path = "/tools/editor/".to_owned();
    let session = Session::start_with(config).await;
    session.open("tools/editor/").await;
    session.wait_for_editor().await;
    let dir = TempDir::new("flexedit-e2e-images");
    session
        .choose_file(&images::write(dir.path(), "a.png", &images::png(32, 32)))
        .await;
    session.wait_for_text("source-info", "32 × 32").await;
    session.fill("field-prompt", "Add the text \"SUB\"").await;
    session.by_test_id("run").await.click().await.expect("run");
    session.wait_for_text("phase", "Done.").await;
    session.wait_for_test_id("result-image").await;
    assert!(
        session
            .browser
            .find(Locator::Css("[data-testid='config-notice']"))
            .await
            .is_err(),
        "config.json was found beside the page under the sub-path"
    );
    session.close().await;
}

#[tokio::test]
async fn a_config_that_locks_the_endpoint_hides_the_endpoint_setting() {
    let config = br#"{"endpoint": "", "mode": "proxy", "lockEndpoint": true, "lockMode": true}"#;
    let root = site("", &[("config.json", config)]);
    let session = serve(&root).await;
    session.open_editor().await;
    session.use_page().await;
    session
        .wait_for_test_id("settings")
        .await
        .click()
        .await
        .expect("open Settings");
    session.wait_for_test_id("mode-proxy").await;
    assert!(
        session
            .browser
            .find(Locator::Css("[data-testid='endpoint']"))
            .await
            .is_err(),
        "the endpoint setting is hidden when locked"
    );
    let disabled = session
        .browser
        .find(Locator::Css("[data-testid='mode-direct']"))
        .await
        .expect("the mode choice")
        .is_enabled()
        .await
        .expect("read the control");
    assert!(!disabled, "the locked mode cannot be changed");

    assert!(
        session
            .browser
            .find(Locator::Css("[data-testid='recipe']"))
            .await
            .is_err(),
        "no recipes shipped or saved, none listed"
    );

    // Without the lock the same build shows it; a shipped recipe applies to the form.
    let open = site(
        "",
        &[(
            "config.json",
            br#"{"mode": "proxy", "recipes": [{"name": "Sale headline", "params": {"prompt": "Add the text SALE 50% OFF in bold red letters at the top", "steps": 30, "seed": 12}}]}"#,
        )],
    );
    let unlocked = serve(&open).await;
    unlocked.open_editor().await;
    unlocked.fill("field-prompt", "my own words").await;
    unlocked.fill("field-guidance", "4").await;
    unlocked.wait_for_text("recipes", "Sale headline").await;
    let sets = unlocked
        .by_test_id("recipe")
        .await
        .text()
        .await
        .expect("the recipe");
    assert!(sets.contains("from this site"), "{sets}");
    unlocked.click("recipe-apply").await;
    unlocked
        .wait_for_text("recipes-status", "Applied “Sale headline” to the form.")
        .await;
    assert_eq!(
        unlocked.value_of("field-prompt").await,
        "Add the text SALE 50% OFF in bold red letters at the top"
    );
    assert_eq!(unlocked.value_of("field-steps").await, "30");
    assert_eq!(unlocked.value_of("field-seed").await, "12");
    assert_eq!(
        unlocked.value_of("field-guidance").await,
        "",
        "a recipe sets every parameter, the ones it leaves to the provider included"
    );
    unlocked
        .by_test_id("settings")
        .await
        .click()
        .await
        .expect("open Settings");
    unlocked.wait_for_test_id("endpoint").await;
    session.close().await;
    unlocked.close().await;
}

#[tokio::test]
async fn a_broken_config_shows_a_notice_and_the_editor_still_edits() {
    let root = site("", &[("config.json", b"{ \"mode\": \"proxy\", oops }")]);
    let session = serve(&root).await;
    session.open_editor().await;
    session
        .wait_for_text("config-notice", "config.json could not be read")
        .await;
    session
        .wait_for_text("config-notice", "using the defaults")
        .await;
    edits_a_small_image(&session).await;
    session.close().await;
}

#[tokio::test]
async fn a_missing_config_shows_a_notice_and_the_editor_still_edits() {
    let root = site("", &[]);
    std::fs::remove_file(root.path().join("config.json")).expect("remove config.json");
    let session = serve(&root).await;
    session.open_editor().await;
    session
        .wait_for_text(
            "config-notice",
            "config.json is missing (HTTP 404); using the defaults.",
        )
        .await;
    edits_a_small_image(&session).await;
    session.close().await;
}

/// Chooses a 32 × 32 PNG; the folder it is in lives as long as the returned value.
async fn chooses_a_small_png(session: &Session) -> TempDir {
    let dir = TempDir::new("flexedit-e2e-images");
    session
        .choose_file(&images::write(dir.path(), "a.png", &images::png(32, 32)))
        .await;
    dir
}

/// Chooses a small PNG, writes a prompt and runs the edit to its end.
async fn edits_a_small_image(session: &Session) {
    let _image = chooses_a_small_png(session).await;
    session.wait_for_text("source-info", "32 × 32").await;
    session
        .fill("field-prompt", "Add the text \"STILL WORKS\"")
        .await;
    session.click("run").await;
    session.wait_for_text("phase", "Done.").await;
}

#[tokio::test]
async fn a_running_editor_takes_new_options_and_reports_phases_and_errors_to_the_host() {
    let (_site, session) = dashboard().await;
    // The settings load with a part of their own, after the form.
    until(
        &session,
        "document.getElementById('editor-b').shadowRoot.querySelector('[data-testid=endpoint]') !== null",
    )
    .await;
    // The element's attributes and mount()'s setOptions both reach the running editor.
    let changed = run_js(
        &session,
        "const b = document.getElementById('editor-b');
         const endpointShown = () => b.shadowRoot.querySelector('[data-testid=endpoint]') !== null;
         const before = endpointShown();
         b.setAttribute('lock-endpoint', '');
         await new Promise((resolve) => requestAnimationFrame(resolve));
         const after = endpointShown();
         window.dashboard.editors.banner.setOptions({ defaults: { steps: 40 } });
         await new Promise((resolve) => requestAnimationFrame(resolve));
         const steps = document.getElementById('editor-a').shadowRoot.getElementById('field-steps').value;
         return { before, after, steps };",
        vec![],
    )
    .await;
    assert_eq!(
        changed,
        json!({ "before": true, "after": false, "steps": "40" })
    );

    run_js(
        &session,
        "window.seen = [];
         const a = document.getElementById('editor-a');
         a.addEventListener('flexedit:phase', (e) => window.seen.push(['phase', e.detail.phase]));
         a.addEventListener('flexedit:error', (e) => window.seen.push(['error', e.detail.kind, e.detail.message, e.detail.nextStep]));",
        vec![],
    )
    .await;
    session.arm("unauthorized").await;
    edit_in(
        &session,
        "window.dashboard.editors.banner",
        "#editor-a",
        "Add the text \"DENIED\"",
        &images::png(40, 40),
    )
    .await;
    until(&session, "window.seen.some((e) => e[0] === 'error')").await;
    let seen = run_js(&session, "return window.seen;", vec![]).await;
    let phases: Vec<&str> = seen
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e[0] == "phase")
        .filter_map(|e| e[1].as_str())
        .collect();
    // The image was prepared when the host gave it, so the run starts with its upload.
    assert_eq!(phases.first(), Some(&"uploading"), "{seen}");
    assert!(!phases.contains(&"preparing"), "{seen}");
    assert!(phases.contains(&"editing"), "{seen}");
    assert_eq!(phases.last(), Some(&"failed"), "{seen}");
    let error = seen
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e[0] == "error")
        .cloned()
        .unwrap_or_default();
    assert_eq!(error[1], json!("unauthorized"), "{seen}");
    assert!(
        error[2].as_str().is_some_and(|m| m.contains("API key")),
        "{seen}"
    );
    assert!(error[3].as_str().is_some_and(|s| !s.is_empty()), "{seen}");
    // The dashboard's own error line shows what the editor said.
    let status = session
        .browser
        .find(Locator::Id("status"))
        .await
        .expect("the status line")
        .text()
        .await
        .expect("its text");
    assert!(status.contains("API key"), "{status}");

    // A smaller upload limit from the host: the same image is prepared again, for it.
    run_js(
        &session,
        "window.seen = [];
         await window.dashboard.editors.banner.setOptions({ maxUploadPixels: 100 });
         await new Promise((resolve) => requestAnimationFrame(resolve));
         document.getElementById('editor-a').shadowRoot.querySelector('[data-testid=run]').click();",
        vec![],
    )
    .await;
    until(
        &session,
        "window.seen.some((e) => e[1] === 'done' || e[1] === 'failed')",
    )
    .await;
    let seen = run_js(&session, "return window.seen;", vec![]).await;
    assert_eq!(seen[0], json!(["phase", "preparing"]), "{seen}");
    assert_eq!(seen[1], json!(["phase", "uploading"]), "{seen}");
    session.close().await;
}

/// The wasm files the page fetched, by name.
async fn fetched_wasm(session: &Session) -> Vec<String> {
    let names = session
        .browser
        .execute(
            "return performance.getEntriesByType('resource')
               .map(e => new URL(e.name).pathname.split('/').pop())
               .filter(n => n.endsWith('.wasm'));",
            vec![],
        )
        .await
        .expect("read the page's resources");
    serde_json::from_value(names).expect("a list of names")
}

/// Waits until the page has fetched a module whose name ends in `suffix`.
async fn wait_for_wasm(session: &Session, suffix: &str) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let fetched = fetched_wasm(session).await;
        if fetched.iter().any(|n| n.ends_with(suffix)) {
            return fetched;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {suffix} was fetched: {fetched:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_result_side_arrives_as_a_part_of_its_own_after_the_form() {
    let root = site("", &[]);
    let session = serve(&root).await;
    session.open_editor().await;
    // A first visit that only looks fetches the form alone.
    let fetched = fetched_wasm(&session).await;
    assert_eq!(
        fetched.iter().filter(|n| n.ends_with(".wasm")).count(),
        1,
        "only the main module before any use: {fetched:?}"
    );
    assert!(
        fetched.iter().any(|n| n.ends_with("_bg.wasm")),
        "the main module: {fetched:?}"
    );
    assert!(
        session
            .browser
            .find(Locator::Css("[data-testid='code-view']"))
            .await
            .is_err(),
        "the code view waits for the first use"
    );
    // At the first sign of use: the result side, with the code view, as its own module,
    // and taking an image in and running, before anything was chosen or run.
    session.use_page().await;
    session.wait_for_test_id("code-view").await;
    let fetched = fetched_wasm(&session).await;
    assert!(
        fetched.iter().any(|n| n.ends_with("_split_output.wasm")),
        "the result side came as its own module: {fetched:?}"
    );
    wait_for_wasm(&session, "_split_prepare.wasm").await;
    wait_for_wasm(&session, "_split_run.wasm").await;
    assert_eq!(
        session.by_test_id("phase").await.text().await.ok(),
        Some(String::new())
    );
    session.close().await;
}

/// Removes a part from a built site, as when the site was updated under an open page or
/// the connection dropped.
fn remove_part(root: &TempDir, suffix: &str) {
    let mut removed = 0;
    for entry in std::fs::read_dir(root.path())
        .expect("read the site")
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.contains(suffix) {
            std::fs::remove_file(entry.path()).expect("remove the part");
            removed += 1;
        }
    }
    assert!(removed > 0, "the build has a {suffix} part to remove");
}

#[tokio::test]
async fn a_part_that_cannot_be_fetched_is_reported_and_the_form_still_edits() {
    let root = site("", &[]);
    remove_part(&root, "_split_output.wasm");
    let session = serve(&root).await;
    session.open_editor().await;
    session.use_page().await;
    session
        .wait_for_text("part-missing", "could not be loaded")
        .await;
    session
        .wait_for_text("part-missing", "reload the page")
        .await;
    edits_a_small_image(&session).await;
    session.close().await;
}

#[tokio::test]
async fn a_run_whose_code_cannot_be_fetched_says_so_and_keeps_the_form() {
    let root = site("", &[]);
    remove_part(&root, "_split_run.wasm");
    let session = serve(&root).await;
    session.open_editor().await;
    let _image = chooses_a_small_png(&session).await;
    session.wait_for_text("source-info", "32 × 32").await;
    session.fill("field-prompt", "Add the text \"KEPT\"").await;
    session.click("run").await;
    let error = session
        .wait_for_text("run-error", "Part of the editor could not be loaded")
        .await;
    assert_eq!(
        error.attr("data-kind").await.ok().flatten().as_deref(),
        Some("part_missing")
    );
    session.wait_for_text("run-error", "Reload the page").await;
    assert_eq!(
        session.value_of("field-prompt").await,
        "Add the text \"KEPT\""
    );
    session.wait_for_text("source-info", "32 × 32").await;
    // Nothing reached the provider.
    let received = session.received().await;
    assert_eq!(
        (
            received["assets"].as_array().map(Vec::len),
            received["features"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0)),
        "{received}"
    );
    session.close().await;
}

#[tokio::test]
async fn an_image_whose_checks_cannot_be_fetched_is_refused_with_the_reason() {
    let root = site("", &[]);
    remove_part(&root, "_split_prepare.wasm");
    let session = serve(&root).await;
    session.open_editor().await;
    let _image = chooses_a_small_png(&session).await;
    session
        .wait_for_text("intake-error", "Part of the editor could not be loaded")
        .await;
    session.fill("field-prompt", "still here").await;
    assert_eq!(session.value_of("field-prompt").await, "still here");
    session.close().await;
}

/// How many edits embedded editors keep at the provider (the `inflight` store), read in
/// the page.
const IN_FLIGHT_COUNT: &str = "new Promise((resolve) => {
    const open = indexedDB.open('flexedit-history');
    open.onerror = () => resolve(-1);
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains('inflight')) { db.close(); resolve(0); return; }
      const count = db.transaction('inflight').objectStore('inflight').count();
      count.onsuccess = () => { db.close(); resolve(count.result); };
      count.onerror = () => { db.close(); resolve(-1); };
    };
  })";

#[tokio::test]
async fn an_embedded_editors_edit_survives_a_reload_of_the_host_page() {
    let (_site, session) = dashboard().await;
    session.arm("slow").await;
    edit_in(
        &session,
        "window.dashboard.editors.banner",
        "#editor-a",
        "Add a kite in the sky",
        &images::png(64, 48),
    )
    .await;
    // Kept once the provider named the record.
    run_js(
        &session,
        &format!(
            "const deadline = Date.now() + {};
             while ((await {IN_FLIGHT_COUNT}) !== 1) {{
               if (Date.now() > deadline) throw new Error('the edit was never kept');
               await new Promise((resolve) => setTimeout(resolve, 50));
             }}",
            PATIENCE.as_millis()
        ),
        vec![],
    )
    .await;

    session
        .browser
        .refresh()
        .await
        .expect("reload the host page");
    until(
        &session,
        "document.getElementById('editor-a').dataset.ready === 'true'",
    )
    .await;
    run_js(
        &session,
        "document.getElementById('editor-a').addEventListener('flexedit:result', (event) => {
           window.resumedRecord = event.detail.record;
         });",
        vec![],
    )
    .await;
    until(
        &session,
        "(document.getElementById('editor-a').shadowRoot.querySelector('[data-testid=phase]')?.textContent ?? '').includes('Still editing (started')",
    )
    .await;
    session.release().await;
    session
        .browser
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css("#results li[data-editor='banner']"))
        .await
        .expect("the dashboard files the resumed edit's result");
    let record = run_js(&session, "return window.resumedRecord;", vec![]).await;
    assert!(
        record.as_str().is_some_and(|r| r.len() == 36),
        "flexedit:result names the record: {record}"
    );
    assert_eq!(
        session.edits_and_polls().await.0,
        1,
        "the edit was sent again"
    );
    let left = run_js(
        &session,
        &format!("return await {IN_FLIGHT_COUNT};"),
        vec![],
    )
    .await;
    assert_eq!(left, json!(0), "a finished edit is no longer kept");
    session.close().await;
}

#[tokio::test]
async fn set_images_runs_one_edit_per_image_and_each_result_names_its_place() {
    let (_site, session) = dashboard().await;
    run_js(
        &session,
        "window.places = [];
         document.getElementById('editor-a').addEventListener('flexedit:result', (event) => {
           const { index, of, record, seed } = event.detail;
           window.places.push({ index, of, record: typeof record, seed: typeof seed });
         });
         const png = (b64) => new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'b.png', { type: 'image/png' });
         await window.dashboard.editors.banner.setImages([png(arguments[0]), png(arguments[1])]);
         window.dashboard.editors.banner.setPrompt('Add our logo');
         const root = document.getElementById('editor-a').shadowRoot;
         const run = root.querySelector('[data-testid=run]');
         while (run.disabled) { await new Promise((resolve) => requestAnimationFrame(resolve)); }
         run.click();",
        vec![
            json!(base64(&images::png(40, 30))),
            json!(base64(&images::png(30, 40))),
        ],
    )
    .await;
    until(&session, "window.places.length === 2").await;
    let mut places = run_js(&session, "return window.places;", vec![]).await;
    if let Some(list) = places.as_array_mut() {
        list.sort_by_key(|p| p["index"].as_u64());
    }
    assert_eq!(
        places,
        json!([
            { "index": 0, "of": 2, "record": "string", "seed": "number" },
            { "index": 1, "of": 2, "record": "string", "seed": "number" }
        ])
    );
    assert_eq!(
        session.received().await["assets"].as_array().map(Vec::len),
        Some(2)
    );
    session.close().await;
}
