//! The time to write a full-size composite of a 24-megapixel photo in headless Chromium, for
//! `scripts/bench-fullsize`: the release build served by flexedit-server (the simulator),
//! a 6000 × 4000 JPEG with the grain of a photo, an area painted, one edit, then
//! "Download full size" several times. Each figure is the page's own measure, from the
//! click to the finished PNG with its recipe (decoding both images, laying the result in,
//! encoding), shown on the notice as `data-ms`. Not a test: it reports, it does not judge.
//!
//! ```text
//! cargo run --features e2e --example bench_fullsize -- [--runs 5]
//! ```

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Cursor;

use fantoccini::Locator;
use fantoccini::key::Key;
use image::{ImageFormat, Rgb, RgbImage};
use support::{Session, TempDir, images};

/// A photo's worth of detail: a gradient with fine, deterministic grain, which makes the
/// PNG as costly to write as a camera's picture rather than a flat test card.
fn photo(width: u32, height: u32) -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    let picture = RgbImage::from_fn(width, height, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let grain = (state % 13) as i32 - 6;
        let at = |v: u32, of: u32| (v * 220 / of.max(1)) as i32 + 18 + grain;
        Rgb([
            at(x, width).clamp(0, 255) as u8,
            at(y, height).clamp(0, 255) as u8,
            at(x + y, width + height).clamp(0, 255) as u8,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    picture
        .write_to(&mut out, ImageFormat::Jpeg)
        .expect("encode the photo");
    out.into_inner()
}

#[tokio::main]
async fn main() {
    let mut runs = 5usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--runs", Some(n)) => runs = n.parse().expect("--runs takes a number"),
            _ => panic!("usage: bench_fullsize [--runs N]"),
        }
    }
    let session = Session::start().await;
    let dir = TempDir::new("flexedit-bench-fullsize");
    session.open_editor().await;
    session
        .choose_file(&images::write(dir.path(), "photo.jpg", &photo(6000, 4000)))
        .await;
    session.wait_for_text("source-info", "6000 × 4000").await;
    session
        .by_test_id("area-canvas")
        .await
        .send_keys(&Key::Enter.to_string())
        .await
        .expect("paint the area by keys");
    session.fill("field-prompt", "Add the text \"SALE\"").await;
    session.click("run").await;
    session.wait_for_text("phase", "Done").await;
    session
        .wait_for_text("composite-status", "Outside the painted area")
        .await;

    let mut figures = Vec::with_capacity(runs);
    for _ in 0..runs {
        session.click("download-full-size").await;
        session
            .wait_for_text("full-size-notice", "Saved the full size")
            .await;
        let (name, bytes) = session.downloaded_file().await;
        let _ = std::fs::remove_file(session.downloads.path().join(&name));
        assert_eq!(images::dimensions(&bytes), (6000, 4000));
        let ms: f64 = session
            .browser
            .find(Locator::Css("[data-testid='full-size-notice']"))
            .await
            .expect("the notice")
            .attr("data-ms")
            .await
            .expect("its figure")
            .and_then(|ms| ms.parse().ok())
            .expect("a figure in milliseconds");
        println!("full size: {ms:.0} ms ({} MB PNG)", bytes.len() / 1_000_000);
        figures.push(ms);
    }
    figures.sort_by(f64::total_cmp);
    let median = figures[figures.len() / 2];
    println!(
        "median of {runs}: {median:.0} ms for a 6000 × 4000 full size (budget 1500 ms); fastest {:.0}, slowest {:.0}",
        figures[0],
        figures[figures.len() - 1]
    );
    session.close().await;
}
