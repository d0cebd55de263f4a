//! Browser tests of the area to change: the brush driven by pointer events and keys, and
//! the composite on known pixels (outside the area the source exactly, inside the result,
//! the soft edge as wide as set), in headless Chromium.
#![cfg(target_arch = "wasm32")]

mod dom;

use dom::{find, settle, until};
use flexedit::composite::{Job, composite};
use flexedit::mask::{Area, AreaPanel};
use flexedit::source::{Origin, Source};
use flexedit_api::{AspectRatio, EditParams, ImageRecipe, Mark, Mask, read_recipe};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const W: u32 = 200;
const H: u32 = 100;

type Rgba = [u8; 4];

fn source_pixel(x: u32, y: u32) -> Rgba {
    [x as u8, (y * 2) as u8, 100, 255]
}

fn result_pixel(x: u32, y: u32) -> Rgba {
    [250, (250 - x) as u8, y as u8, 255]
}

/// A lossless PNG of `width` × `height` whose pixels are `pixel(x, y)`.
async fn png(width: u32, height: u32, pixel: impl Fn(u32, u32) -> Rgba) -> web_sys::Blob {
    let mut data = Vec::with_capacity((width * height * 4) as usize);
    for y in 0..height {
        for x in 0..width {
            data.extend_from_slice(&pixel(x, y));
        }
    }
    let canvas = web_sys::OffscreenCanvas::new(width, height).unwrap();
    let context: web_sys::OffscreenCanvasRenderingContext2d =
        canvas.get_context("2d").unwrap().unwrap().unchecked_into();
    let image = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
        wasm_bindgen::Clamped(&data),
        width,
        height,
    )
    .unwrap();
    context.put_image_data(&image, 0.0, 0.0).unwrap();
    let options = web_sys::ImageEncodeOptions::new();
    options.set_type("image/png");
    JsFuture::from(canvas.convert_to_blob_with_options(&options).unwrap())
        .await
        .unwrap()
        .unchecked_into()
}

/// The decoded pixels of an image, with its size.
async fn pixels(blob: &web_sys::Blob) -> (u32, u32, Vec<u8>) {
    let bitmap: web_sys::ImageBitmap = JsFuture::from(
        web_sys::window()
            .unwrap()
            .create_image_bitmap_with_blob(blob)
            .unwrap(),
    )
    .await
    .unwrap()
    .unchecked_into();
    let (w, h) = (bitmap.width(), bitmap.height());
    let canvas = web_sys::OffscreenCanvas::new(w, h).unwrap();
    let context: web_sys::OffscreenCanvasRenderingContext2d =
        canvas.get_context("2d").unwrap().unwrap().unchecked_into();
    context
        .draw_image_with_image_bitmap(&bitmap, 0.0, 0.0)
        .unwrap();
    let data = context
        .get_image_data(0.0, 0.0, f64::from(w), f64::from(h))
        .unwrap()
        .data()
        .0;
    (w, h, data)
}

fn at(data: &[u8], width: u32, x: u32, y: u32) -> Rgba {
    let i = ((y * width + x) * 4) as usize;
    [data[i], data[i + 1], data[i + 2], data[i + 3]]
}

/// A rectangle 100 × 60 at (50, 20) in the 200 × 100 image.
fn rect_mask(feather: f32) -> Mask {
    Mask {
        width: W,
        height: H,
        feather,
        marks: vec![Mark::Rect([50.0, 20.0, 100.0, 60.0])],
    }
}

fn inside_rect(x: u32, y: u32) -> bool {
    (50..150).contains(&x) && (20..80).contains(&y)
}

/// Distance in pixels from (x, y) inside the rectangle to the nearest pixel outside it.
fn depth(x: u32, y: u32) -> u32 {
    [x - 49, 150 - x, y - 19, 80 - y].into_iter().min().unwrap()
}

async fn composite_of(mask: Option<Mask>) -> (u32, u32, Vec<u8>) {
    let original = png(W, H, source_pixel).await;
    let result = png(W, H, result_pixel).await;
    let made = composite(Job {
        original,
        layers: Vec::new(),
        result,
        mask,
        size: None,
        chunk: None,
    })
    .await
    .unwrap_or_else(|e| panic!("composite: {e}"));
    pixels(&made.blob).await
}

#[wasm_bindgen_test]
async fn outside_the_area_is_the_source_and_inside_the_result_past_the_feather() {
    let feather = 10;
    let (w, h, data) = composite_of(Some(rect_mask(feather as f32))).await;
    assert_eq!((w, h), (W, H));
    for y in 0..H {
        for x in 0..W {
            let got = at(&data, w, x, y);
            if !inside_rect(x, y) {
                assert_eq!(got, source_pixel(x, y), "outside at ({x}, {y})");
            } else if depth(x, y) >= feather {
                assert_eq!(got, result_pixel(x, y), "inside at ({x}, {y})");
            }
        }
    }
    // Within the feather the two mix, more of the result the deeper in: halfway at half
    // the radius, and not yet all of it one pixel short of the radius.
    let y = 50;
    let red = |x: u32| f64::from(at(&data, w, x, y)[0]);
    let share = |x: u32| (red(x) - f64::from(x)) / (250.0 - f64::from(x));
    assert!(
        (share(54) - 0.5).abs() < 0.03,
        "half at depth 5: {}",
        share(54)
    );
    assert!(
        (share(50) - 0.1).abs() < 0.03,
        "a tenth at depth 1: {}",
        share(50)
    );
    assert!(share(58) < 0.95, "not all at depth 9: {}", share(58));
    assert_eq!(at(&data, w, 59, y), result_pixel(59, y), "all at depth 10");
}

#[wasm_bindgen_test]
async fn without_feather_the_edge_is_hard_and_nothing_painted_is_the_whole_result() {
    let (w, _, data) = composite_of(Some(rect_mask(0.0))).await;
    assert_eq!(at(&data, w, 50, 50), result_pixel(50, 50));
    assert_eq!(at(&data, w, 49, 50), source_pixel(49, 50));

    let (w, _, data) = composite_of(None).await;
    assert_eq!(at(&data, w, 10, 10), result_pixel(10, 10));
    assert_eq!(at(&data, w, 199, 99), result_pixel(199, 99));
}

#[wasm_bindgen_test]
async fn a_smaller_result_is_scaled_to_the_source_and_a_full_size_carries_the_recipe() {
    let original = png(W * 2, H * 2, |x, y| source_pixel(x / 2, y / 2)).await;
    let green = [20, 200, 40, 255];
    let result = png(W / 2, H / 2, |_, _| green).await;
    let recipe = ImageRecipe {
        prompt: "Change only the sign".into(),
        prompt_object: serde_json::json!({"imageUrl": "images/a.png", "prompt": "Change only the sign"}),
        seed: Some(7),
        model: flexedit_api::MODEL.into(),
        parent: None,
        mask: true,
    };
    let made = composite(Job {
        original,
        layers: Vec::new(),
        result,
        mask: Some(rect_mask(0.0)),
        size: None,
        chunk: Some(flexedit_api::png_recipe_chunk(&recipe)),
    })
    .await
    .unwrap_or_else(|e| panic!("composite: {e}"));
    let bytes = flexedit::prepare::blob_bytes(&made.blob).await.unwrap();
    assert_eq!(&bytes[12..16], b"IHDR");
    assert_eq!(&bytes[37..41], b"iTXt", "the recipe right after the header");
    assert_eq!(read_recipe(&bytes), Some(recipe));
    let (w, h, data) = pixels(&made.blob).await;
    assert_eq!((w, h), (W * 2, H * 2), "the original's own size");
    // The mask was painted on the 200 × 100 image: at twice the size it covers twice as much.
    assert_eq!(at(&data, w, 200, 100), green);
    assert_eq!(at(&data, w, 60, 30), source_pixel(30, 15));
    assert_eq!(at(&data, w, 398, 198), source_pixel(199, 99));
}

// ---- The brush ----

struct Brush {
    area: Area,
    params: RwSignal<EditParams>,
    root: web_sys::HtmlElement,
}

async fn mount_brush() -> Brush {
    let blob = png(W, H, source_pixel).await;
    let url = web_sys::Url::create_object_url_with_blob(&blob).unwrap();
    let area = Area::new();
    let params = RwSignal::new(EditParams::default());
    let source = RwSignal::new_local(Some(Source {
        name: "a.png".into(),
        origin: Origin::File {
            file: blob,
            mime: "image/png".into(),
            prepared: None,
        },
        preview_url: url,
        size: None,
        dimensions: Some((W, H)),
        recipe: None,
    }));
    let document = dom::document();
    let root: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    let source = Signal::derive_local(move || source.get());
    let params_signal = Signal::derive(move || params.get());
    leptos::mount::mount_to(root.clone(), move || {
        view! { <AreaPanel area source=source params=params_signal/> }
    })
    .forget();
    until("the image under the brush loads", || {
        area.size.get_untracked() == Some((W, H))
    })
    .await;
    Brush { area, params, root }
}

impl Brush {
    fn canvas(&self) -> web_sys::HtmlCanvasElement {
        find(&self.root, "[data-testid='area-canvas']")
            .expect("the brush's canvas")
            .unchecked_into()
    }

    /// Sends one pointer event at (x, y) in the image's pixels.
    fn pointer(&self, kind: &str, x: f64, y: f64) {
        let canvas = self.canvas();
        let rect = canvas.get_bounding_client_rect();
        let init = web_sys::PointerEventInit::new();
        init.set_bubbles(true);
        init.set_pointer_id(7);
        init.set_button(if kind == "pointermove" { -1 } else { 0 });
        init.set_client_x((rect.left() + x * rect.width() / f64::from(W)) as i32);
        init.set_client_y((rect.top() + y * rect.height() / f64::from(H)) as i32);
        let event = web_sys::PointerEvent::new_with_event_init_dict(kind, &init).unwrap();
        canvas.dispatch_event(&event).unwrap();
    }

    fn stroke(&self, from: (f64, f64), to: (f64, f64)) {
        self.pointer("pointerdown", from.0, from.1);
        for step in 1..=10 {
            let t = f64::from(step) / 10.0;
            self.pointer(
                "pointermove",
                from.0 + (to.0 - from.0) * t,
                from.1 + (to.1 - from.1) * t,
            );
        }
        self.pointer("pointerup", to.0, to.1);
    }

    /// Whether the canvas shows paint at (x, y).
    fn painted(&self, x: f64, y: f64) -> bool {
        let context: web_sys::CanvasRenderingContext2d = self
            .canvas()
            .get_context("2d")
            .unwrap()
            .unwrap()
            .unchecked_into();
        let data = context.get_image_data(x, y, 1.0, 1.0).unwrap().data().0;
        data[3] > 0
    }

    fn click(&self, id: &str) {
        find(&self.root, &format!("[data-testid='{id}']"))
            .unwrap_or_else(|| panic!("no {id}"))
            .click();
    }

    fn status(&self) -> String {
        find(&self.root, "[data-testid='area-status']")
            .and_then(|e| e.text_content())
            .unwrap_or_default()
    }

    fn key(&self, key: &str, shift: bool) {
        let init = web_sys::KeyboardEventInit::new();
        init.set_key(key);
        init.set_shift_key(shift);
        init.set_bubbles(true);
        let event =
            web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
        self.canvas().dispatch_event(&event).unwrap();
    }
}

#[wasm_bindgen_test]
async fn the_brush_paints_erases_undoes_and_clears_with_pointer_events() {
    let brush = mount_brush().await;
    assert!(
        brush
            .root
            .text_content()
            .unwrap_or_default()
            .contains("Area to change")
    );
    assert!(
        brush.status().contains("Nothing painted"),
        "{}",
        brush.status()
    );

    brush.stroke((20.0, 50.0), (120.0, 50.0));
    settle().await;
    let marks = brush.area.marks.get_untracked();
    let [Mark::Paint(stroke)] = marks.as_slice() else {
        panic!("one stroke painted: {marks:?}");
    };
    let first = stroke.points[0];
    let last = stroke.points[stroke.points.len() - 1];
    assert!(
        (first[0] - 20.0).abs() <= 1.0 && (first[1] - 50.0).abs() <= 1.0,
        "{first:?}"
    );
    assert!((last[0] - 120.0).abs() <= 1.0, "{last:?}");
    assert!(brush.painted(70.0, 50.0));
    assert!(!brush.painted(70.0, 90.0), "beyond the brush's radius");
    assert!(
        brush.status().contains("Only the painted area"),
        "{}",
        brush.status()
    );
    assert!(brush.area.mask().is_some());

    brush.click("area-eraser");
    settle().await;
    brush.stroke((60.0, 50.0), (80.0, 50.0));
    settle().await;
    assert!(matches!(
        brush.area.marks.get_untracked().last(),
        Some(Mark::Erase(_))
    ));
    assert!(!brush.painted(70.0, 50.0), "erased");

    brush.click("area-undo");
    settle().await;
    assert!(brush.painted(70.0, 50.0), "the erasure undone");

    brush.click("area-clear");
    settle().await;
    assert!(brush.area.marks.get_untracked().is_empty());
    assert!(!brush.painted(70.0, 50.0));
    assert!(brush.area.mask().is_none(), "nothing painted: no area");
    brush.click("area-undo");
    settle().await;
    assert_eq!(
        brush.area.marks.get_untracked().len(),
        1,
        "clearing is undone too"
    );
}

#[wasm_bindgen_test]
async fn a_rectangle_is_drawn_by_keys_and_the_brush_is_off_for_other_aspect_ratios() {
    let brush = mount_brush().await;
    brush.key("ArrowRight", false);
    brush.key("ArrowDown", true);
    brush.key("Enter", false);
    settle().await;
    // Centred, half the image, moved one step right and one step taller (a fiftieth).
    assert_eq!(
        brush.area.marks.get_untracked(),
        vec![Mark::Rect([54.0, 25.0, 100.0, 52.0])]
    );
    assert!(brush.painted(100.0, 50.0));
    assert!(!brush.painted(10.0, 10.0));
    let keys_text = find(&brush.root, ".area-keys").and_then(|e| e.text_content());
    assert!(keys_text.is_some_and(|t| t.contains("arrow keys") && t.contains("Enter")));

    brush
        .params
        .update(|p| p.aspect_ratio = AspectRatio::Square);
    settle().await;
    let reason = find(&brush.root, "[data-testid='area-disabled-reason']")
        .and_then(|e| e.text_content())
        .unwrap_or_default();
    assert!(reason.contains("Match input image"), "{reason}");
    brush.stroke((10.0, 10.0), (30.0, 10.0));
    settle().await;
    assert_eq!(
        brush.area.marks.get_untracked().len(),
        1,
        "no painting while off"
    );
}

// ---- In the editor: a batch, and a feather changed after the result ----

mod editor {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use flexedit::config::Config;
    use flexedit::editor::Editor;
    use flexedit::history::History;
    use flexedit::mask::UNFIT_SENTENCE;
    use flexedit::transport::{Cancel, Connection, LocalFuture, Progress, Transport, Upload};
    use flexedit_api::{ApiError, AssetPath, EditOutcome, EditResult};
    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    use wasm_bindgen_test::*;

    use super::dom::{document, find, settle, type_into, until};
    use super::{Rgba, at, pixels, png};

    /// What the model returns for every edit: one colour, scaled by the page to each source.
    const RESULT_COLOUR: Rgba = [20, 200, 40, 255];

    /// Answers every edit at once with a result of its own address (results are told apart
    /// by it) and `RESULT_COLOUR`'s bytes.
    struct Model {
        result: Vec<u8>,
        edits: Cell<u32>,
    }

    impl Transport for Model {
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
            let n = self.edits.get() + 1;
            self.edits.set(n);
            let b64 = base64(&self.result);
            Box::pin(async move {
                EditOutcome::Succeeded(EditResult {
                    uuid: Some(format!("u-{n}")),
                    display_url: format!("data:image/png;edit={n};base64,{b64}"),
                    storage_paths: vec![format!("images/result-{n}.png")],
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
            Box::pin(async { EditOutcome::Failed(ApiError::UnknownRecord).into() })
        }

        fn fetch_image(
            &self,
            _c: &Connection,
            _url: &str,
        ) -> LocalFuture<Result<web_sys::Blob, ApiError>> {
            let bytes = self.result.clone();
            Box::pin(async move {
                Ok(flexedit::history::bytes_blob(&bytes, "image/png").expect("a blob"))
            })
        }
    }

    fn base64(bytes: &[u8]) -> String {
        let binary: String = bytes.iter().map(|b| char::from(*b)).collect();
        web_sys::window()
            .expect("window")
            .btoa(&binary)
            .expect("base64")
    }

    async fn result_png() -> Vec<u8> {
        let blob = png(8, 4, |_, _| RESULT_COLOUR).await;
        flexedit::prepare::blob_bytes(&blob).await.expect("bytes")
    }

    /// Mounts an editor with a history on its own database, as the app does.
    async fn mount(db: &str) -> (web_sys::HtmlElement, History) {
        mount_with(db, Config::default()).await
    }

    async fn mount_with(db: &str, config: Config) -> (web_sys::HtmlElement, History) {
        let result = result_png().await;
        let root: web_sys::HtmlElement = document()
            .create_element("div")
            .expect("div")
            .unchecked_into();
        document()
            .body()
            .expect("body")
            .append_child(&root)
            .expect("attach");
        let slot = Rc::new(RefCell::new(None));
        let given = slot.clone();
        let db = db.to_owned();
        leptos::mount::mount_to(root.clone(), move || {
            let history = History::new(&db);
            provide_context(history);
            *given.borrow_mut() = Some(history);
            let transport: Rc<dyn Transport> = Rc::new(Model {
                result: result.clone(),
                edits: Cell::new(0),
            });
            view! { <Editor config=config.clone() transport/> }
        })
        .forget();
        let history = slot.borrow().expect("the history was made");
        until("the history opened", || {
            history.availability.get_untracked() == flexedit::history::Availability::On
        })
        .await;
        (root, history)
    }

    fn db_name(test: &str) -> String {
        format!(
            "flexedit-test-areas-{test}-{}",
            (js_sys::Math::random() * 1e12) as u64
        )
    }

    fn text_of(root: &web_sys::HtmlElement, selector: &str) -> String {
        find(root, selector)
            .and_then(|e| e.text_content())
            .unwrap_or_default()
    }

    fn click(root: &web_sys::HtmlElement, test_id: &str) {
        find(root, &format!("[data-testid='{test_id}']"))
            .unwrap_or_else(|| panic!("no {test_id}"))
            .click();
    }

    /// Chooses `files` (name, PNG) as a person would with the file picker.
    async fn choose(root: &web_sys::HtmlElement, files: &[(&str, &web_sys::Blob)]) {
        let transfer = web_sys::DataTransfer::new().expect("a transfer");
        for (name, blob) in files {
            let parts = js_sys::Array::of1(blob);
            let options = web_sys::FilePropertyBag::new();
            options.set_type("image/png");
            let file = web_sys::File::new_with_blob_sequence_and_options(&parts, name, &options)
                .expect("a file");
            transfer.items().add_with_file(&file).expect("add the file");
        }
        let input: web_sys::HtmlInputElement = find(root, "[data-testid='file-input']")
            .expect("the file input")
            .unchecked_into();
        input.set_files(transfer.files().as_ref());
        input
            .dispatch_event(&web_sys::Event::new("change").expect("change"))
            .expect("dispatch change");
    }

    /// Adds the keyboard's rectangle (centred, half the image each way) to the area.
    async fn paint_by_keys(root: &web_sys::HtmlElement) {
        until("the brush is ready over the loaded image", || {
            text_of(root, "[data-testid='area-status']").contains("Nothing painted")
                && find(root, ".area-image").is_some_and(|image| {
                    image
                        .unchecked_into::<web_sys::HtmlImageElement>()
                        .natural_width()
                        > 0
                })
        })
        .await;
        settle().await;
        let init = web_sys::KeyboardEventInit::new();
        init.set_key("Enter");
        init.set_bubbles(true);
        let event = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init)
            .expect("keydown");
        find(root, "[data-testid='area-canvas']")
            .expect("the brush's canvas")
            .dispatch_event(&event)
            .expect("dispatch Enter");
        until("the area is painted", || {
            text_of(root, "[data-testid='area-status']").contains("Only the painted area")
        })
        .await;
    }

    /// The tiles of the press of `n` jobs, in order, as far as they are shown.
    fn jobs(root: &web_sys::HtmlElement, n: usize) -> Vec<web_sys::HtmlElement> {
        (0..n)
            .filter_map(|i| find(root, &format!("[data-testid='job'][data-index='{i}']")))
            .collect()
    }

    fn job(root: &web_sys::HtmlElement, index: usize) -> web_sys::HtmlElement {
        find(root, &format!("[data-testid='job'][data-index='{index}']"))
            .unwrap_or_else(|| panic!("no job {index}"))
    }

    fn tile_image(job: &web_sys::HtmlElement) -> String {
        find(job, ".job-image")
            .and_then(|i| i.get_attribute("src"))
            .unwrap_or_default()
    }

    async fn fetched(url: &str) -> web_sys::Blob {
        let response: web_sys::Response =
            JsFuture::from(web_sys::window().expect("window").fetch_with_str(url))
                .await
                .expect("fetch")
                .unchecked_into();
        JsFuture::from(response.blob().expect("blob"))
            .await
            .expect("bytes")
            .unchecked_into()
    }

    /// Checks a composite of a `width` × `height` source: its own pixels outside the
    /// centred half, exactly; the result deep inside.
    async fn assert_laid_in(url: &str, width: u32, height: u32, source: impl Fn(u32, u32) -> Rgba) {
        let (w, h, data) = pixels(&fetched(url).await).await;
        assert_eq!((w, h), (width, height), "the source's own size");
        let inside = |x: u32, y: u32| {
            (width / 4..3 * width / 4).contains(&x) && (height / 4..3 * height / 4).contains(&y)
        };
        for y in 0..h {
            for x in 0..w {
                if !inside(x, y) {
                    assert_eq!(
                        at(&data, w, x, y),
                        source(x, y),
                        "outside at ({x}, {y}) of {w} × {h}"
                    );
                }
            }
        }
        assert_eq!(
            at(&data, w, w / 2, h / 2),
            RESULT_COLOUR,
            "the result in the middle"
        );
    }

    fn small(x: u32, y: u32) -> Rgba {
        [x as u8, (y * 2) as u8, 100, 255]
    }

    fn large(x: u32, y: u32) -> Rgba {
        [(x / 2) as u8, y as u8, 180, 255]
    }

    fn square(x: u32, y: u32) -> Rgba {
        [x as u8, y as u8, 30, 255]
    }

    #[wasm_bindgen_test]
    async fn every_image_of_a_batch_is_laid_into_its_own_source_or_said_to_be_another_shape() {
        let (root, history) = mount(&db_name("batch")).await;
        // Painted on the first; the second has its shape at twice the size; the third is
        // square.
        let first = png(200, 100, small).await;
        let second = png(400, 200, large).await;
        let third = png(100, 100, square).await;
        choose(
            &root,
            &[("a.png", &first), ("b.png", &second), ("c.png", &third)],
        )
        .await;
        paint_by_keys(&root).await;
        type_into(&root, "#field-prompt", "Paint the sign green");
        settle().await;
        click(&root, "run");
        until(
            "all three edits are done, each tile on its composite or saying why not",
            || {
                let jobs = jobs(&root, 3);
                jobs.len() == 3
                    && jobs
                        .iter()
                        .all(|j| j.get_attribute("data-state").as_deref() == Some("done"))
                    && tile_image(&job(&root, 0)).starts_with("blob:")
                    && tile_image(&job(&root, 1)).starts_with("blob:")
                    && text_of(&job(&root, 2), "[data-testid='job-area']") == UNFIT_SENTENCE
            },
        )
        .await;
        assert_laid_in(&tile_image(&job(&root, 0)), 200, 100, small).await;
        assert_laid_in(&tile_image(&job(&root, 1)), 400, 200, large).await;
        // The square one is the model's whole edit, not a stretched area.
        assert!(tile_image(&job(&root, 2)).starts_with("data:image/png"));
        assert_eq!(text_of(&job(&root, 0), "[data-testid='job-area']"), "");
        // The history keeps, for each job, whether its result is a composite.
        until("the history keeps the three runs", || {
            history.runs.with_untracked(|runs| {
                runs.len() == 3 && runs.iter().all(|r| r.success().is_some())
            })
        })
        .await;
        let mut kept: Vec<(usize, bool, bool)> = history.runs.with_untracked(|runs| {
            runs.iter()
                .map(|r| {
                    let index = r.place.as_ref().map_or(usize::MAX, |p| p.index);
                    (index, r.mask.is_some(), r.area_unfit)
                })
                .collect()
        });
        kept.sort();
        assert_eq!(kept, [(0, true, false), (1, true, false), (2, true, true)]);

        // Show this result: the panel shows each job's own composite, or says why not.
        click(&job(&root, 1), "job-pick");
        until("the second result shows its composite", || {
            find(&root, "[data-testid='composite-status']")
                .and_then(|s| s.get_attribute("data-state"))
                .as_deref()
                == Some("ready")
                && find(&root, "[data-testid='result-image']").and_then(|i| i.get_attribute("src"))
                    == Some(tile_image(&job(&root, 1)))
        })
        .await;
        click(&job(&root, 2), "job-pick");
        until("the third result says it is the whole edit", || {
            text_of(&root, "[data-testid='composite-status']") == UNFIT_SENTENCE
        })
        .await;
        assert!(
            find(&root, "[data-testid='result-image']")
                .and_then(|i| i.get_attribute("src"))
                .is_some_and(|src| src.starts_with("data:image/png"))
        );

        // Edit this result of the larger image: its composite, at its own size.
        click(&job(&root, 1), "job-pick");
        until("the second result is shown again", || {
            composite_ready(&root)
        })
        .await;
        click(&root, "edit-this-result");
        until("the composite is the image, at its own size", || {
            let info = text_of(&root, "[data-testid='source-info']");
            info.contains("previous result") && info.contains("400 × 200")
        })
        .await;
        root.remove();
    }

    fn feather_field(root: &web_sys::HtmlElement) -> String {
        find(root, "[data-testid='area-feather']")
            .map(|f| f.unchecked_into::<web_sys::HtmlInputElement>().value())
            .unwrap_or_default()
    }

    #[wasm_bindgen_test]
    async fn a_feather_changed_after_the_result_is_kept_with_its_run() {
        let db = db_name("feather");
        let (root, history) = mount(&db).await;
        choose(&root, &[("a.png", &png(200, 100, small).await)]).await;
        paint_by_keys(&root).await;
        type_into(&root, "#field-prompt", "Paint the sign green");
        settle().await;
        click(&root, "run");
        until("the composite is on show and the run kept", || {
            find(&root, "[data-testid='composite-status']")
                .and_then(|s| s.get_attribute("data-state"))
                .as_deref()
                == Some("ready")
                && history
                    .runs
                    .with_untracked(|runs| runs.iter().any(|r| r.success().is_some()))
        })
        .await;
        let before = find(&root, "[data-testid='result-image']")
            .and_then(|i| i.get_attribute("src"))
            .unwrap_or_default();
        assert_eq!(
            feather_field(&root),
            "8",
            "the feather the run started with"
        );

        type_into(&root, "[data-testid='area-feather']", "20");
        until("the composite is made again with the new feather", || {
            find(&root, "[data-testid='result-image']")
                .and_then(|i| i.get_attribute("src"))
                .is_some_and(|src| src.starts_with("blob:") && src != before)
        })
        .await;
        until("the run keeps the new feather", || {
            history.runs.with_untracked(|runs| {
                runs.iter()
                    .any(|r| r.mask.as_ref().is_some_and(|m| m.feather == 20.0))
            })
        })
        .await;

        // A reload, then the run's result edited again from the history: its area comes
        // back with the feather last set.
        root.remove();
        let (again, _history) = mount(&db).await;
        until("the run is listed", || {
            find(&again, "[data-testid='history-open']").is_some()
        })
        .await;
        click(&again, "history-open");
        until("the run opened", || {
            find(&again, "[data-testid='history-edit-result']").is_some()
        })
        .await;
        click(&again, "history-edit-result");
        until("the area came back with the feather last set", || {
            feather_field(&again) == "20"
                && text_of(&again, "[data-testid='area-status']").contains("Only the painted area")
        })
        .await;
        again.remove();
    }

    /// Catches the page's downloads: their addresses, in order, instead of saving them.
    fn catch_downloads() -> Rc<RefCell<Vec<String>>> {
        let caught: Rc<RefCell<Vec<String>>> = Rc::default();
        let kept = caught.clone();
        let listener = wasm_bindgen::closure::Closure::<dyn Fn(web_sys::MouseEvent)>::new(
            move |event: web_sys::MouseEvent| {
                let link = event
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::HtmlAnchorElement>().ok())
                    .filter(|a| !a.download().is_empty());
                if let Some(link) = link {
                    event.prevent_default();
                    kept.borrow_mut().push(link.href());
                }
            },
        );
        document()
            .add_event_listener_with_callback_and_bool(
                "click",
                listener.as_ref().unchecked_ref(),
                true,
            )
            .expect("listen for downloads");
        listener.forget();
        caught
    }

    fn composite_ready(root: &web_sys::HtmlElement) -> bool {
        find(root, "[data-testid='composite-status']")
            .and_then(|s| s.get_attribute("data-state"))
            .as_deref()
            == Some("ready")
    }

    #[wasm_bindgen_test]
    async fn full_size_after_edit_this_result_is_the_first_photo_with_both_edits_laid_in() {
        let downloads = catch_downloads();
        // Uploads are a quarter of the photo's pixels, so the composite the second edit
        // starts from is half the photo's width.
        let config = Config {
            max_upload_pixels: 200 * 100,
            ..Config::default()
        };
        let (root, _history) = mount_with(&db_name("chain"), config).await;
        choose(&root, &[("photo.png", &png(400, 200, large).await)]).await;
        paint_by_keys(&root).await;
        type_into(&root, "#field-prompt", "Paint the sign green");
        settle().await;
        click(&root, "run");
        until("the first composite is on show", || composite_ready(&root)).await;
        let first = find(&root, "[data-testid='result-image']")
            .and_then(|i| i.get_attribute("src"))
            .unwrap_or_default();

        click(&root, "edit-this-result");
        until("the composite is the image, its area kept", || {
            text_of(&root, "[data-testid='area-status']").contains("Only the painted area")
                && text_of(&root, "[data-testid='source-info']").contains("previous result")
        })
        .await;
        click(&root, "run");
        until("the second composite is on show", || {
            composite_ready(&root)
                && find(&root, "[data-testid='result-image']")
                    .and_then(|i| i.get_attribute("src"))
                    .is_some_and(|src| src != first)
        })
        .await;
        assert!(
            text_of(&root, "[data-testid='full-size-sentence']").contains("400 × 200 px"),
            "{}",
            text_of(&root, "[data-testid='full-size-sentence']")
        );
        click(&root, "download-full-size");
        until("the full size is saved", || {
            text_of(&root, "[data-testid='full-size-notice']").contains("Saved the full size")
        })
        .await;
        assert!(
            text_of(&root, "[data-testid='full-size-notice']").contains("(400 × 200 px)"),
            "{}",
            text_of(&root, "[data-testid='full-size-notice']")
        );
        let saved = downloads.borrow().last().cloned().expect("a download");
        let (w, h, data) = pixels(&fetched(&saved).await).await;
        assert_eq!((w, h), (400, 200), "the first photo's own size");
        // Both areas are the centred half (100..300 × 50..150 at this size); a pixel of
        // its edge is left out, where the area painted on the upload is scaled up.
        let near_area = |x: u32, y: u32| (98..302).contains(&x) && (48..152).contains(&y);
        for y in 0..h {
            for x in 0..w {
                if !near_area(x, y) {
                    assert_eq!(
                        at(&data, w, x, y),
                        large(x, y),
                        "the photo's own at ({x}, {y})"
                    );
                }
            }
        }
        assert_eq!(at(&data, w, 200, 100), RESULT_COLOUR, "the edits inside");
        root.remove();
    }
}
