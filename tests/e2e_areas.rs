//! End-to-end: the area to change in the release build, against the simulator. A 6000 ×
//! 4000 photo with an area painted by keys is edited; Download full size gives a 6000 ×
//! 4000 PNG that is the photo outside the area and carries the recipe; the history's
//! export holds the area, importing it keeps it, and editing that run's result brings the
//! area back.

mod support;

use fantoccini::key::Key;
use flexedit_api::history::read_bundle;
use flexedit_api::{Mark, read_recipe};
use support::{Session, TempDir, images};

/// Chromium and the `image` crate decode the same JPEG with different IDCT and chroma
/// upsampling code, so the photo's own pixels, as the page decoded and wrote them
/// losslessly, may differ from this test's decoding by a level or two (one, when measured).
const JPEG_TOLERANCE: i16 = 2;

/// The full-size pixels this close to the painted edge are left out: the soft edge and
/// the scaling of the mask from the upload's size fall there.
const EDGE_MARGIN: u32 = 24;

#[tokio::test]
async fn a_painted_area_keeps_the_photo_at_full_size_and_travels_with_the_history() {
    let session = Session::start().await;
    let dir = TempDir::new("flexedit-e2e-areas");
    let (width, height) = (6000, 4000);
    let photo = images::jpeg(width, height);
    session.open_editor().await;
    session
        .choose_file(&images::write(dir.path(), "photo.jpg", &photo))
        .await;
    session.wait_for_text("source-info", "6000 × 4000").await;

    // Paint by keys: the rectangle starts centred on half the image; Enter adds it.
    let canvas = session.by_test_id("area-canvas").await;
    canvas
        .send_keys(&Key::Enter.to_string())
        .await
        .expect("press Enter on the brush");
    session
        .wait_for_text("area-status", "Only the painted area")
        .await;

    let prompt = "Add the text \"SALE\"";
    session.fill("field-prompt", prompt).await;
    session.click("run").await;
    session.wait_for_text("phase", "Done").await;
    session
        .wait_for_text(
            "composite-status",
            "Outside the painted area this is the original",
        )
        .await;
    session
        .wait_for_text(
            "full-size-sentence",
            "its own pixels outside the painted area",
        )
        .await;
    session
        .browser
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .expect("scroll to the top");
    session.screenshot("area-composite").await;

    session.click("download-full-size").await;
    session
        .wait_for_text("full-size-notice", "Saved the full size")
        .await;
    let (name, bytes) = session.downloaded_file().await;
    assert!(name.ends_with("-full-size.png"), "{name}");
    std::fs::remove_file(session.downloads.path().join(&name)).expect("remove the download");
    let recipe = read_recipe(&bytes).expect("the full size carries its recipe");
    assert_eq!(recipe.prompt, prompt);
    assert!(recipe.mask, "the recipe says an area was painted");

    let written = image::load_from_memory(&bytes).expect("a PNG").to_rgb8();
    assert_eq!(written.dimensions(), (width, height));
    let original = image::load_from_memory(&photo)
        .expect("the photo")
        .to_rgb8();
    // The area: the middle half of the image, as painted on the upload and scaled up.
    let inside = |x: u32, y: u32| {
        x + EDGE_MARGIN >= width / 4
            && x < 3 * width / 4 + EDGE_MARGIN
            && y + EDGE_MARGIN >= height / 4
            && y < 3 * height / 4 + EDGE_MARGIN
    };
    let mut worst = 0;
    let mut compared = 0u64;
    for (x, y, pixel) in written.enumerate_pixels() {
        if inside(x, y) {
            continue;
        }
        let own = original.get_pixel(x, y);
        for c in 0..3 {
            worst = worst.max((i16::from(pixel[c]) - i16::from(own[c])).abs());
        }
        compared += 1;
    }
    assert!(
        compared > 10_000_000,
        "most of the photo is outside the area"
    );
    assert!(
        worst <= JPEG_TOLERANCE,
        "outside the area the photo's own pixels, within {JPEG_TOLERANCE}: off by {worst}"
    );

    // The history keeps the area with the run, through export and import.
    let area_of = |zip: &[u8]| {
        let runs = read_bundle(zip).expect("a readable bundle").runs;
        assert_eq!(runs.len(), 1);
        runs[0].record.mask.clone().expect("the run's area")
    };
    session.click("history-export").await;
    let (name, exported) = session.downloaded_file().await;
    std::fs::remove_file(session.downloads.path().join(&name)).expect("remove the export");
    let mask = area_of(&exported);
    assert!(matches!(mask.marks.as_slice(), [Mark::Rect(_)]), "{mask:?}");
    let bundle = images::write(dir.path(), "history.zip", &exported);
    session.click("history-delete-all").await;
    session
        .wait_for_text("history-confirm", "Delete all 1 runs")
        .await;
    session.click("history-confirm-delete").await;
    session.wait_for_test_id("history-empty").await;
    session
        .by_test_id("history-import-input")
        .await
        .send_keys(&bundle.display().to_string())
        .await
        .expect("choose the export");
    session
        .wait_for_text("history-message", "Imported 1 runs")
        .await;
    session.click("history-export").await;
    let (_, again) = session.downloaded_file().await;
    assert_eq!(area_of(&again), mask);

    // Editing the imported run's result brings its area back to the brush.
    session.click("area-clear").await;
    session
        .wait_for_text("area-status", "Nothing painted")
        .await;
    session.click("history-open").await;
    session.wait_for_text("history-detail", "Run #").await;
    session.click("history-edit-result").await;
    session.wait_for_text("source-info", "result of").await;
    session
        .wait_for_text("area-status", "Only the painted area")
        .await;
    session.close().await;
}
