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
