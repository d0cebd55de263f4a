//! End-to-end: the area to change in the release build, against the simulator. A 6000 ×
//! 4000 photo with an area painted by keys is edited; Download full size gives a 6000 ×
//! 4000 PNG that is the photo outside the area and carries the recipe; the history's
//! export holds the area, importing it keeps it, and editing that run's result brings the
//! area back. A batch with an area downloads each image laid into its own source.

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

    paint_by_keys(&session).await;

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

/// A batch with an area: Download all holds each image of the painted shape laid into its
/// own source (its own pixels outside the area, exactly), and the model's whole edit for
/// one of another shape, as the manifest says.
#[tokio::test]
async fn download_all_of_a_batch_with_an_area_holds_each_image_laid_into_its_own_source() {
    let session = Session::start().await;
    let dir = TempDir::new("flexedit-e2e-areas-batch");
    // Two of one shape at two sizes, and a square one.
    let sizes = [(300, 200), (600, 400), (240, 240)];
    let sources: Vec<Vec<u8>> = sizes.iter().map(|&(w, h)| images::png(w, h)).collect();
    let paths: Vec<_> = sources
        .iter()
        .enumerate()
        .map(|(i, png)| images::write(dir.path(), &format!("banner-{}.png", i + 1), png))
        .collect();
    session.open_editor().await;
    session.choose_files(&paths).await;
    session
        .wait_for_text("batch", "3 images, one edit each")
        .await;
    session.wait_for_text("source-info", "300 × 200").await;
    paint_by_keys(&session).await;
    session
        .fill("field-prompt", "Put our logo in the middle")
        .await;
    session.click("run").await;
    session.wait_for_text("jobs-summary", "3 of 3 done").await;
    session
        .wait_for_text("job-area", "painted on an image of another shape")
        .await;

    session.click("download-all").await;
    session
        .wait_for_text("download-all-status", "Downloaded 3 results in one zip")
        .await;
    let (_, zip) = session.downloaded_file().await;
    let entries = flexedit_api::zip::read_zip(&zip).expect("a readable zip");
    let manifest: serde_json::Value =
        serde_json::from_slice(&entries[0].data).expect("the manifest");
    let laid: Vec<bool> = manifest["results"]
        .as_array()
        .expect("the results")
        .iter()
        .map(|r| r["area"] == true)
        .collect();
    assert_eq!(laid, [true, true, false], "{manifest}");
    for (i, &(width, height)) in sizes.iter().enumerate().take(2) {
        let written = image::load_from_memory(&entries[i + 1].data)
            .expect("an image")
            .to_rgb8();
        assert_eq!(written.dimensions(), (width, height), "image {}", i + 1);
        let own = images::gradient(width, height);
        // The area: the centred half, painted on the first image and scaled to this one.
        let inside = |x: u32, y: u32| {
            (width / 4..3 * width / 4).contains(&x) && (height / 4..3 * height / 4).contains(&y)
        };
        let mut outside = 0;
        for (x, y, pixel) in written.enumerate_pixels() {
            if !inside(x, y) {
                assert_eq!(pixel, own.get_pixel(x, y), "image {} at ({x}, {y})", i + 1);
                outside += 1;
            }
        }
        assert_eq!(outside, width * height * 3 / 4, "image {}", i + 1);
    }
    let square = image::load_from_memory(&entries[3].data).expect("an image");
    assert_ne!(
        square.to_rgb8(),
        images::gradient(240, 240),
        "the square one is the model's edit"
    );
    session.close().await;
}

/// Paints by keys, as a keyboard user does: the rectangle starts centred on half the
/// image, and Enter adds it.
async fn paint_by_keys(session: &Session) {
    let canvas = session.by_test_id("area-canvas").await;
    canvas
        .send_keys(&Key::Enter.to_string())
        .await
        .expect("press Enter on the brush");
    session
        .wait_for_text("area-status", "Only the painted area")
        .await;
}
