//! End-to-end: the release build served by flexedit-server, in headless Chromium.

mod support;

use support::Session;

#[tokio::test]
async fn the_wasm_app_renders_its_shell_with_the_version() {
    let session = Session::start().await;
    session.open_editor().await;

    let version = session.wait_for_test_id("version").await;
    let text = version.text().await.expect("read the version");
    assert_eq!(text, format!("flexedit {}", env!("CARGO_PKG_VERSION")));

    // The static HTML holds no app markup: this editor region exists only if the wasm ran.
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
