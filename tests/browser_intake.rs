//! Browser tests of intake and preparation: real files made in the page (canvas → blob, and
//! hand-made bytes), decoded by the browser's own decoder, as a person's files would be.
#![cfg(target_arch = "wasm32")]

use std::time::Duration;

use flexedit::intake::{
    Intake, SourceError, image_from_clipboard, replace_source, source_from_blob,
};
use flexedit::prepare::{PrepareError, prepare};
use flexedit::source::{Origin, Source};
use flexedit_api::{DEFAULT_MAX_SOURCE_BYTES, DEFAULT_MAX_UPLOAD_PIXELS, IntakeError};
use js_sys::{Array, Object, Reflect, Uint8Array};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{
    Blob, BlobPropertyBag, CanvasRenderingContext2d, DataTransfer, Element, Event, File,
    HtmlCanvasElement, HtmlElement, HtmlInputElement, ImageBitmap,
};

wasm_bindgen_test_configure!(run_in_browser);

// ---- making images ----------------------------------------------------------------------

fn canvas(width: u32, height: u32) -> (HtmlCanvasElement, CanvasRenderingContext2d) {
    let canvas: HtmlCanvasElement = document()
        .create_element("canvas")
        .expect("a canvas")
        .unchecked_into();
    canvas.set_width(width);
    canvas.set_height(height);
    let context: CanvasRenderingContext2d = canvas
        .get_context("2d")
        .expect("a 2d context")
        .expect("a 2d context")
        .unchecked_into();
    (canvas, context)
}

/// An image whose left half is red and right half blue, so a rotation shows in the pixels.
async fn two_tone(width: u32, height: u32, mime: &str, quality: f64) -> Blob {
    let (canvas, context) = canvas(width, height);
    let (w, h) = (f64::from(width), f64::from(height));
    context.set_fill_style_str("#f00");
    context.fill_rect(0.0, 0.0, w / 2.0, h);
    context.set_fill_style_str("#00f");
    context.fill_rect(w / 2.0, 0.0, w / 2.0, h);
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        canvas
            .to_blob_with_type_and_encoder_options(&resolve, mime, &quality.into())
            .expect("toBlob");
    });
    let blob: Blob = JsFuture::from(promise)
        .await
        .expect("encoded")
        .dyn_into()
        .expect("a blob");
    assert_eq!(blob.type_(), mime, "this browser encodes {mime}");
    blob
}

async fn bytes_of(blob: &Blob) -> Vec<u8> {
    let buffer = JsFuture::from(blob.array_buffer()).await.expect("readable");
    Uint8Array::new(&buffer).to_vec()
}

fn blob(bytes: &[u8], mime: &str) -> Blob {
    let parts = Array::of1(&Uint8Array::from(bytes));
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    Blob::new_with_u8_array_sequence_and_options(&parts, &options).expect("a blob")
}

/// A File as a picker or a drop hands it over, with its name and declared type.
fn file(bytes: &[u8], name: &str, mime: &str) -> File {
    let options = Object::new();
    Reflect::set(&options, &"type".into(), &mime.into()).expect("set type");
    let args = Array::of3(
        &Array::of1(&Uint8Array::from(bytes)),
        &name.into(),
        &options,
    );
    let constructor: js_sys::Function = Reflect::get(&js_sys::global(), &"File".into())
        .expect("File exists")
        .unchecked_into();
    Reflect::construct(&constructor, &args)
        .expect("a file")
        .unchecked_into()
}

/// An EXIF APP1 segment (little-endian TIFF) holding only an orientation.
fn exif_app1(orientation: u16) -> Vec<u8> {
    let mut tiff = b"II".to_vec();
    tiff.extend_from_slice(&42u16.to_le_bytes());
    tiff.extend_from_slice(&8u32.to_le_bytes());
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&0x0112u16.to_le_bytes());
    tiff.extend_from_slice(&3u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&tiff);
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    segment.extend_from_slice(&payload);
    segment
}

/// A JPEG as a phone writes it when held upright: pixels stored sideways, orientation 6.
async fn sideways_jpeg() -> Vec<u8> {
    let stored = bytes_of(&two_tone(40, 20, "image/jpeg", 0.95).await).await;
    let mut jpeg = stored[..2].to_vec();
    jpeg.extend_from_slice(&exif_app1(6));
    jpeg.extend_from_slice(&stored[2..]);
    assert_eq!(flexedit_api::jpeg_orientation(&jpeg), Some(6));
    jpeg
}

/// A 1×1 GIF, with a second frame when `animated`.
fn gif(animated: bool) -> Vec<u8> {
    let mut g = b"GIF89a".to_vec();
    g.extend_from_slice(&[1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
    for _ in 0..if animated { 2 } else { 1 } {
        g.extend_from_slice(&[0x21, 0xF9, 4, 0, 10, 0, 0, 0]);
        g.extend_from_slice(&[0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0]);
        g.extend_from_slice(&[2, 2, 0x4C, 0x01, 0]);
    }
    g.push(0x3B);
    g
}

const SVG: &[u8] = b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>";

async fn decoded_size(blob: &Blob) -> (u32, u32) {
    let bitmap: ImageBitmap = JsFuture::from(
        web_sys::window()
            .expect("a window")
            .create_image_bitmap_with_blob(blob)
            .expect("createImageBitmap"),
    )
    .await
    .expect("decodable")
    .unchecked_into();
    (bitmap.width(), bitmap.height())
}

/// The RGBA of one pixel of a decoded image.
async fn pixel(blob: &Blob, x: u32, y: u32) -> [u8; 4] {
    let bitmap: ImageBitmap = JsFuture::from(
        web_sys::window()
            .expect("a window")
            .create_image_bitmap_with_blob(blob)
            .expect("createImageBitmap"),
    )
    .await
    .expect("decodable")
    .unchecked_into();
    let (_canvas, context) = canvas(bitmap.width(), bitmap.height());
    context
        .draw_image_with_image_bitmap(&bitmap, 0.0, 0.0)
        .expect("drawn");
    // getImageData without the ImageData binding, which the app itself does not need.
    let get: js_sys::Function = Reflect::get(&context, &"getImageData".into())
        .expect("getImageData")
        .unchecked_into();
    let args = Array::of4(&x.into(), &y.into(), &1.into(), &1.into());
    let data = get.apply(&context, &args).expect("image data");
    let rgba = Uint8Array::new(&Reflect::get(&data, &"data".into()).expect("data")).to_vec();
    [rgba[0], rgba[1], rgba[2], rgba[3]]
}

fn is_red([r, g, b, _]: [u8; 4]) -> bool {
    r > 200 && g < 60 && b < 60
}

fn is_blue([r, g, b, _]: [u8; 4]) -> bool {
    b > 200 && r < 60 && g < 60
}

// ---- the page ---------------------------------------------------------------------------

async fn sleep(duration: Duration) {
    let ms = i32::try_from(duration.as_millis()).unwrap_or(i32::MAX);
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .expect("a window")
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .expect("a timer");
    });
    JsFuture::from(promise).await.expect("slept");
}

/// Waits as a person would for the page to show something.
async fn until(what: &str, condition: impl Fn() -> bool) {
    // Up to 30 s: a loaded machine decodes slowly, and a met condition returns at once.
    for _ in 0..1200 {
        if condition() {
            return;
        }
        sleep(Duration::from_millis(25)).await;
    }
    panic!("gave up waiting for {what}");
}

struct Page {
    root: HtmlElement,
    source: RwSignal<Option<Source>, LocalStorage>,
}

impl Page {
    fn mount(max_upload_pixels: u64) -> Page {
        let source = RwSignal::new_local(None::<Source>);
        let root: HtmlElement = document()
            .create_element("div")
            .expect("a container")
            .unchecked_into();
        document()
            .body()
            .expect("a body")
            .append_child(&root)
            .expect("attached");
        leptos::mount::mount_to(root.clone(), move || {
            view! {
                <Intake
                    source=source
                    max_source_bytes=DEFAULT_MAX_SOURCE_BYTES
                    max_upload_pixels=max_upload_pixels
                    on_source=Callback::new(move |new| replace_source(source, new))
                />
            }
        })
        .forget();
        Page { root, source }
    }

    fn find(&self, test_id: &str) -> Option<Element> {
        self.root
            .query_selector(&format!("[data-testid='{test_id}']"))
            .ok()
            .flatten()
    }

    fn text(&self, test_id: &str) -> String {
        self.find(test_id)
            .and_then(|e| e.text_content())
            .unwrap_or_default()
    }

    fn source_name(&self) -> Option<String> {
        self.source
            .with_untracked(|s| s.as_ref().map(|s| s.name.clone()))
    }

    /// Chooses a file in the picker, as the browser does after the person picks one.
    async fn choose(&self, file: &File) {
        let input: HtmlInputElement = self
            .find("file-input")
            .expect("a file input")
            .unchecked_into();
        let chosen = DataTransfer::new().expect("a DataTransfer");
        chosen.items().add_with_file(file).expect("added");
        input.set_files(chosen.files().as_ref());
        input
            .dispatch_event(&bubbling("change"))
            .expect("dispatched");
    }

    /// Chooses a file and waits until the page has decided about it.
    async fn choose_and_settle(&self, file: &File) {
        let before = self
            .source
            .with_untracked(|s| s.as_ref().map(|s| s.preview_url.clone()));
        let error_before = self.text("intake-error");
        self.choose(file).await;
        until("the file to be accepted or refused", || {
            let now = self
                .source
                .with_untracked(|s| s.as_ref().map(|s| s.preview_url.clone()));
            now != before
                || self.find("intake-error").is_some() && self.text("intake-error") != error_before
        })
        .await;
    }

    async fn use_url(&self, url: &str) {
        let input: HtmlInputElement = self
            .find("image-url")
            .expect("a URL field")
            .unchecked_into();
        input.set_value(url);
        self.find("use-url")
            .expect("a Use URL button")
            .unchecked_into::<HtmlElement>()
            .click();
    }
}

fn bubbling(kind: &str) -> Event {
    let event = Event::new(kind).expect("an event");
    event.init_event_with_bubbles(kind, true);
    event
}

/// A drag event carrying `data`, as the browser makes one when something is dropped.
fn drag_event(kind: &str, data: &DataTransfer) -> Event {
    let init = Object::new();
    Reflect::set(&init, &"bubbles".into(), &true.into()).expect("set");
    Reflect::set(&init, &"cancelable".into(), &true.into()).expect("set");
    Reflect::set(&init, &"dataTransfer".into(), data).expect("set");
    let constructor: js_sys::Function = Reflect::get(&js_sys::global(), &"DragEvent".into())
        .expect("DragEvent exists")
        .unchecked_into();
    Reflect::construct(&constructor, &Array::of2(&kind.into(), &init))
        .expect("a drag event")
        .unchecked_into()
}

async fn png_file(width: u32, height: u32, name: &str) -> File {
    let bytes = bytes_of(&two_tone(width, height, "image/png", 1.0).await).await;
    file(&bytes, name, "image/png")
}

// ---- preparation ------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn a_sideways_phone_photo_is_prepared_upright() {
    let jpeg = sideways_jpeg().await;
    let prepared = prepare(
        &blob(&jpeg, "image/jpeg"),
        "IMG_0001.JPG",
        DEFAULT_MAX_UPLOAD_PIXELS,
    )
    .await
    .expect("prepared");
    assert_eq!((prepared.width, prepared.height), (20, 40));
    assert_eq!(decoded_size(&prepared.blob).await, (20, 40));
    assert_eq!(prepared.file_name, "img-0001.jpg");
    assert_eq!(prepared.blob.type_(), "image/jpeg");
    let out = bytes_of(&prepared.blob).await;
    assert_eq!(
        flexedit_api::jpeg_orientation(&out),
        None,
        "the pixels are turned, so no orientation is left to apply twice"
    );
    // Orientation 6 turns the stored image a quarter clockwise: its left half (red) is now on
    // top.
    assert!(is_red(pixel(&prepared.blob, 10, 5).await));
    assert!(is_blue(pixel(&prepared.blob, 10, 35).await));
}

#[wasm_bindgen_test]
async fn a_sideways_photo_decoded_at_a_fraction_of_its_size_is_still_upright() {
    // Stored 40 × 20, sent at 10 × 20: the JPEG is decoded at half size, sideways, and turned.
    assert_eq!(
        flexedit_api::jpeg_scaled_decode_size((40, 20), (10, 20), Some(6)),
        Some((20, 10))
    );
    let jpeg = sideways_jpeg().await;
    let prepared = prepare(&blob(&jpeg, "image/jpeg"), "IMG_0002.JPG", 200)
        .await
        .expect("prepared");
    assert_eq!((prepared.width, prepared.height), (10, 20));
    assert_eq!(decoded_size(&prepared.blob).await, (10, 20));
    assert!(is_red(pixel(&prepared.blob, 5, 2).await));
    assert!(is_blue(pixel(&prepared.blob, 5, 17).await));
}

/// The image an object URL shows, as a blob.
async fn fetched(url: &str) -> Blob {
    let response: web_sys::Response =
        JsFuture::from(web_sys::window().expect("a window").fetch_with_str(url))
            .await
            .expect("fetched")
            .unchecked_into();
    JsFuture::from(response.blob().expect("a body"))
        .await
        .expect("read")
        .unchecked_into()
}

#[wasm_bindgen_test]
async fn a_chosen_photo_is_prepared_at_once_and_previewed_at_its_upload_size() {
    let large = two_tone(6000, 4000, "image/jpeg", 0.8).await;
    let source = source_from_blob(
        large,
        "wide.jpg".into(),
        DEFAULT_MAX_SOURCE_BYTES,
        DEFAULT_MAX_UPLOAD_PIXELS,
    )
    .await
    .unwrap_or_else(|e| panic!("accepted: {e}"));
    assert_eq!(source.dimensions, Some((6000, 4000)));
    let Origin::File {
        prepared: Some(prepared),
        ..
    } = &source.origin
    else {
        panic!("prepared when chosen");
    };
    assert!(prepared.reencoded);
    assert_eq!(prepared.max_pixels, DEFAULT_MAX_UPLOAD_PIXELS);
    let upload = source.upload_dimensions(DEFAULT_MAX_UPLOAD_PIXELS);
    assert_eq!(Some((prepared.width, prepared.height)), upload);
    // The page paints the image that will be sent, not the 24-megapixel original.
    let shown = fetched(&source.preview_url).await;
    assert_eq!(Some(decoded_size(&shown).await), upload);
    source.release();

    // A small PNG is sent as it is, and previewed as it is.
    let small = png_file(64, 48, "small.png").await;
    let source = source_from_blob(
        small.into(),
        "small.png".into(),
        DEFAULT_MAX_SOURCE_BYTES,
        DEFAULT_MAX_UPLOAD_PIXELS,
    )
    .await
    .unwrap_or_else(|e| panic!("accepted: {e}"));
    let Origin::File {
        prepared: Some(prepared),
        ..
    } = &source.origin
    else {
        panic!("prepared when chosen");
    };
    assert!(!prepared.reencoded);
    assert_eq!((prepared.width, prepared.height), (64, 48));
    assert_eq!(
        decoded_size(&fetched(&source.preview_url).await).await,
        (64, 48)
    );
    source.release();
}

#[wasm_bindgen_test]
async fn a_large_photo_is_downscaled_to_the_limit_keeping_its_shape() {
    let large = two_tone(6000, 4000, "image/jpeg", 0.8).await;
    let started = js_sys::Date::now();
    let prepared = prepare(&large, "wide.jpg", DEFAULT_MAX_UPLOAD_PIXELS)
        .await
        .expect("prepared");
    let elapsed = js_sys::Date::now() - started;
    web_sys::console::log_1(&format!("prepared a 24-megapixel JPEG in {elapsed:.0} ms").into());
    let (w, h) = (prepared.width, prepared.height);
    assert!(u64::from(w) * u64::from(h) <= 4_000_000, "{w} × {h}");
    assert!(
        (f64::from(w) * 4000.0 / 6000.0 - f64::from(h)).abs() <= 1.0,
        "{w} × {h}"
    );
    assert!(w > 2400, "not shrunk more than needed: {w} × {h}");
    assert_eq!(decoded_size(&prepared.blob).await, (w, h));
    assert_eq!(prepared.blob.type_(), "image/jpeg");
    assert_eq!(prepared.file_name, "wide.jpg");
}

#[wasm_bindgen_test]
async fn a_small_png_is_uploaded_byte_for_byte() {
    let original = bytes_of(&two_tone(64, 48, "image/png", 1.0).await).await;
    // Pasted and hand-made blobs often carry no type; the upload still needs one.
    for mime in ["image/png", ""] {
        let prepared = prepare(
            &blob(&original, mime),
            "Screen Shot.png",
            DEFAULT_MAX_UPLOAD_PIXELS,
        )
        .await
        .expect("prepared");
        assert_eq!((prepared.width, prepared.height), (64, 48));
        assert_eq!(bytes_of(&prepared.blob).await, original);
        assert_eq!(prepared.blob.type_(), "image/png");
        assert_eq!(prepared.file_name, "screen-shot.png");
    }
}

#[wasm_bindgen_test]
async fn an_upright_jpeg_within_the_limit_is_not_re_encoded() {
    let original = bytes_of(&two_tone(50, 30, "image/jpeg", 0.9).await).await;
    let prepared = prepare(
        &blob(&original, "image/jpeg"),
        "a.jpeg",
        DEFAULT_MAX_UPLOAD_PIXELS,
    )
    .await
    .expect("prepared");
    assert_eq!(bytes_of(&prepared.blob).await, original);
    assert_eq!(prepared.file_name, "a.jpg");
}

#[wasm_bindgen_test]
async fn a_png_over_the_limit_stays_png_and_webp_becomes_jpeg() {
    let png = two_tone(300, 200, "image/png", 1.0).await;
    let prepared = prepare(&png, "chart.png", 10_000).await.expect("prepared");
    assert_eq!((prepared.width, prepared.height), (122, 81));
    assert_eq!(prepared.blob.type_(), "image/png");
    assert_eq!(prepared.file_name, "chart.png");
    assert_eq!(decoded_size(&prepared.blob).await, (122, 81));

    let webp = two_tone(30, 20, "image/webp", 0.9).await;
    let prepared = prepare(&webp, "sticker.webp", DEFAULT_MAX_UPLOAD_PIXELS)
        .await
        .expect("prepared");
    assert_eq!((prepared.width, prepared.height), (30, 20));
    assert_eq!(prepared.blob.type_(), "image/jpeg");
    assert_eq!(prepared.file_name, "sticker.jpg");
}

#[wasm_bindgen_test]
async fn preparation_refuses_what_is_not_an_image_and_what_will_not_decode() {
    let text = prepare(&blob(b"hello", "text/plain"), "notes.txt", 100).await;
    assert_eq!(
        text.unwrap_err(),
        PrepareError::Refused(IntakeError::NotAnImage)
    );
    let mut broken = bytes_of(&two_tone(20, 20, "image/png", 1.0).await).await;
    broken.truncate(40);
    let broken = prepare(&blob(&broken, "image/png"), "cut.png", 100).await;
    assert_eq!(broken.unwrap_err(), PrepareError::Undecodable);
    assert!(
        PrepareError::Undecodable
            .to_string()
            .ends_with("choose it again.")
    );
}

// ---- intake -----------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn a_source_has_upright_dimensions_and_refusals_say_why() {
    let jpeg = sideways_jpeg().await;
    let source = source_from_blob(
        blob(&jpeg, ""),
        "phone.jpg".into(),
        DEFAULT_MAX_SOURCE_BYTES,
        DEFAULT_MAX_UPLOAD_PIXELS,
    )
    .await
    .unwrap_or_else(|e| panic!("accepted: {e}"));
    assert_eq!(source.dimensions, Some((20, 40)));
    assert_eq!(source.size, Some(jpeg.len() as u64));
    assert!(matches!(&source.origin, Origin::File { mime, .. } if mime == "image/jpeg"));
    assert!(source.preview_url.starts_with("blob:"));
    source.release();

    let refused = |bytes: &'static [u8], name: &'static str, max: u64| async move {
        source_from_blob(blob(bytes, ""), name.into(), max, DEFAULT_MAX_UPLOAD_PIXELS)
            .await
            .err()
            .expect("refused")
    };
    assert_eq!(
        refused(SVG, "logo.svg", 1 << 20).await,
        SourceError::Refused(IntakeError::Svg)
    );
    assert_eq!(
        refused(b"", "empty.png", 1 << 20).await,
        SourceError::Refused(IntakeError::Empty)
    );
    assert_eq!(
        refused(b"0123456789", "big.png", 5).await,
        SourceError::Refused(IntakeError::TooLarge { size: 10, max: 5 })
    );
    let mut fake = b"\x89PNG\r\n\x1a\n".to_vec();
    fake.extend_from_slice(&[0; 30]);
    let fake = source_from_blob(
        blob(&fake, "image/png"),
        "fake.png".into(),
        1 << 20,
        DEFAULT_MAX_UPLOAD_PIXELS,
    )
    .await;
    assert_eq!(fake.err(), Some(SourceError::Undecodable));
}

#[wasm_bindgen_test]
async fn intake_accepts_a_png_and_refuses_svg_empty_and_gif_keeping_the_source() {
    let page = Page::mount(200);
    page.choose_and_settle(&png_file(40, 20, "banner.png").await)
        .await;
    assert_eq!(page.source_name().as_deref(), Some("banner.png"));
    assert!(page.find("intake-error").is_none());
    let info = page.text("source-info");
    assert!(info.contains("banner.png"), "{info}");
    assert!(info.contains("40 × 20"), "{info}");
    assert!(info.contains("bytes") || info.contains("KB"), "{info}");
    assert!(info.contains("Will upload 20 × 10"), "{info}");
    let preview = page.find("source-preview").expect("a preview");
    let first_url = page
        .source
        .with_untracked(|s| s.as_ref().unwrap().preview_url.clone());
    assert_eq!(preview.get_attribute("src"), Some(first_url.clone()));

    for (bytes, name, refusal) in [
        (SVG.to_vec(), "logo.svg", IntakeError::Svg),
        (Vec::new(), "empty.png", IntakeError::Empty),
        (gif(false), "still.gif", IntakeError::Gif),
        (gif(true), "dancing.gif", IntakeError::AnimatedGif),
    ] {
        page.choose_and_settle(&file(&bytes, name, "")).await;
        let alert = page.find("intake-error").expect("a refusal is shown");
        assert_eq!(alert.get_attribute("role").as_deref(), Some("alert"));
        assert_eq!(
            alert.text_content().unwrap_or_default(),
            refusal.to_string()
        );
        assert_eq!(
            page.source_name().as_deref(),
            Some("banner.png"),
            "after {name}"
        );
        assert!(page.text("source-info").contains("40 × 20"));
    }

    page.choose_and_settle(&png_file(30, 10, "next.png").await)
        .await;
    assert_eq!(page.source_name().as_deref(), Some("next.png"));
    assert!(
        page.find("intake-error").is_none(),
        "an accepted file clears the refusal"
    );
    assert!(page.text("source-info").contains("30 × 10"));
    let fetched = JsFuture::from(web_sys::window().unwrap().fetch_with_str(&first_url)).await;
    assert!(
        fetched.is_err(),
        "the replaced preview's object URL is revoked"
    );
}

#[wasm_bindgen_test]
async fn intake_takes_a_dropped_file_and_shows_the_drag() {
    let page = Page::mount(DEFAULT_MAX_UPLOAD_PIXELS);
    let zone = page.find("drop-zone").expect("a drop zone");
    let data = DataTransfer::new().expect("a DataTransfer");
    data.items()
        .add_with_file(&png_file(16, 12, "dropped.png").await)
        .expect("added");
    zone.dispatch_event(&drag_event("dragenter", &data))
        .expect("dispatched");
    until("the zone to show the drag", || {
        zone.get_attribute("data-dragging").as_deref() == Some("true")
    })
    .await;
    let not_cancelled = zone
        .dispatch_event(&drag_event("drop", &data))
        .expect("dispatched");
    assert!(
        !not_cancelled,
        "the drop is taken, not left to open the file"
    );
    until("the dropped file to be accepted", || {
        page.source_name().is_some()
    })
    .await;
    assert_eq!(page.source_name().as_deref(), Some("dropped.png"));
    assert!(page.text("source-info").contains("16 × 12"));
    assert!(!page.text("source-info").contains("Will upload"));
    assert_eq!(
        zone.get_attribute("data-dragging").as_deref(),
        Some("false")
    );
}

#[wasm_bindgen_test]
async fn intake_takes_an_image_url_as_a_link_and_refuses_other_addresses() {
    let page = Page::mount(DEFAULT_MAX_UPLOAD_PIXELS);
    page.use_url("ftp://example.com/cat.png").await;
    until("the refusal", || page.find("intake-error").is_some()).await;
    let expected = flexedit_api::check_image_ref("ftp://example.com/cat.png")
        .unwrap_err()
        .message;
    assert_eq!(page.text("intake-error"), expected);

    page.use_url("images/cat.png").await;
    until("the refusal", || {
        page.text("intake-error").contains("https://")
    })
    .await;
    assert!(page.source_name().is_none());

    // Nothing listens there: the page cannot show it, and it is used all the same.
    let url = "http://127.0.0.1:9/photos/cat%20one.png?size=large";
    page.use_url(&format!("  {url} ")).await;
    until("the URL to be used", || page.source_name().is_some()).await;
    page.source.with_untracked(|s| {
        let s = s.as_ref().unwrap();
        assert!(matches!(&s.origin, Origin::Url(u) if u == url));
        assert_eq!(s.preview_url, url);
        assert_eq!(s.name, "cat one.png");
        assert_eq!(s.size, None);
    });
    assert!(page.find("intake-error").is_none());
    assert!(page.find("intake-note").is_some());
    assert!(page.text("source-info").contains("Sent as a link"));
    assert_eq!(
        page.find("source-preview")
            .and_then(|i| i.get_attribute("src"))
            .as_deref(),
        Some(url)
    );

    page.choose_and_settle(&png_file(10, 10, "after.png").await)
        .await;
    assert_eq!(page.source_name().as_deref(), Some("after.png"));
    assert!(
        page.find("intake-note").is_none(),
        "the note belongs to the URL it was about"
    );
}

#[wasm_bindgen_test]
async fn the_file_chosen_last_wins_even_when_an_earlier_one_is_slower() {
    let page = Page::mount(DEFAULT_MAX_UPLOAD_PIXELS);
    let large = bytes_of(&two_tone(6000, 4000, "image/jpeg", 0.8).await).await;
    page.choose(&file(&large, "large.jpg", "image/jpeg")).await;
    page.choose(&png_file(12, 12, "small.png").await).await;
    until("the small file to be accepted", || {
        page.source_name().is_some()
    })
    .await;
    until("the large file's read to settle too", || {
        page.find("drop-zone")
            .and_then(|zone| zone.get_attribute("data-reading"))
            .as_deref()
            == Some("0")
    })
    .await;
    assert_eq!(page.source_name().as_deref(), Some("small.png"));
    assert!(page.text("source-info").contains("12 × 12"));
}

#[wasm_bindgen_test]
async fn intake_controls_are_labelled() {
    let page = Page::mount(DEFAULT_MAX_UPLOAD_PIXELS);
    let file_input = page.find("file-input").expect("a file input");
    assert_eq!(
        file_input.get_attribute("aria-label").as_deref(),
        Some("Image file")
    );
    assert_eq!(
        file_input.get_attribute("accept").as_deref(),
        Some("image/png,image/jpeg,image/webp")
    );
    let url = page.find("image-url").expect("a URL field");
    let label = url.closest("label").ok().flatten().expect("inside a label");
    assert!(
        label
            .text_content()
            .unwrap_or_default()
            .contains("Image URL")
    );
    assert_eq!(page.text("use-url"), "Use URL");
    let choose = page
        .root
        .query_selector("button[type='button']")
        .ok()
        .flatten()
        .expect("a Choose image button");
    assert_eq!(choose.text_content().as_deref(), Some("Choose image"));
    let zone = page.find("drop-zone").expect("a drop zone");
    assert!(zone.get_attribute("aria-label").is_some());
}

#[wasm_bindgen_test]
async fn a_paste_gives_its_image_and_a_text_paste_gives_nothing() {
    let paste = |data: &DataTransfer| {
        let init = Object::new();
        Reflect::set(&init, &"clipboardData".into(), data).expect("set");
        let constructor: js_sys::Function =
            Reflect::get(&js_sys::global(), &"ClipboardEvent".into())
                .expect("ClipboardEvent exists")
                .unchecked_into();
        let event: web_sys::ClipboardEvent =
            Reflect::construct(&constructor, &Array::of2(&"paste".into(), &init))
                .expect("a paste event")
                .unchecked_into();
        image_from_clipboard(&event)
    };
    let text = DataTransfer::new().expect("a DataTransfer");
    text.set_data("text/plain", "Add the text SALE")
        .expect("set");
    assert!(paste(&text).is_none());

    let image = DataTransfer::new().expect("a DataTransfer");
    image
        .items()
        .add_with_file(&file(b"notes", "notes.txt", "text/plain"))
        .expect("added");
    image
        .items()
        .add_with_file(&png_file(8, 8, "image.png").await)
        .expect("added");
    let (blob, name) = paste(&image).expect("the image");
    assert_eq!(name, "image.png");
    let source = source_from_blob(
        blob,
        name,
        DEFAULT_MAX_SOURCE_BYTES,
        DEFAULT_MAX_UPLOAD_PIXELS,
    )
    .await
    .expect("accepted");
    assert_eq!(source.dimensions, Some((8, 8)));
    source.release();
}

#[wasm_bindgen_test]
async fn a_result_file_brings_its_recipe_and_says_when_its_parameters_are_refused() {
    let png = bytes_of(&two_tone(8, 8, "image/png", 1.0).await).await;
    let carrying = |steps: u32| {
        let recipe = flexedit_api::ImageRecipe {
            prompt: "Add a hat".to_owned(),
            prompt_object: serde_json::json!({
                "imageUrl": "images/cat.png",
                "prompt": "Add a hat",
                "steps": steps,
            }),
            seed: None,
            model: flexedit_api::MODEL.to_owned(),
            parent: None,
            mask: false,
        };
        let bytes = flexedit_api::write_recipe(&png, &recipe).expect("a PNG takes a recipe");
        blob(&bytes, "image/png")
    };
    let read = |file: Blob| {
        source_from_blob(
            file,
            "hat.png".to_owned(),
            DEFAULT_MAX_SOURCE_BYTES,
            DEFAULT_MAX_UPLOAD_PIXELS,
        )
    };

    let accepted = read(carrying(8)).await.expect("the file is taken");
    let recipe = accepted.recipe.expect("its recipe is read");
    assert_eq!(recipe.prompt, "Add a hat");
    let params = recipe.params.expect("8 steps pass the checks");
    assert_eq!(
        (
            params.prompt.as_str(),
            params.image_url.as_str(),
            params.steps
        ),
        ("Add a hat", "images/cat.png", Some(8.0))
    );

    // Steps above the model's range: the prompt is still shown, the parameters are not offered.
    let refused = read(carrying(500)).await.expect("the file is taken");
    let recipe = refused.recipe.expect("its recipe is read");
    assert_eq!(recipe.prompt, "Add a hat");
    assert_eq!(recipe.params, None);

    let plain = read(blob(&png, "image/png"))
        .await
        .expect("the file is taken");
    assert!(
        plain.recipe.is_none(),
        "a file without a recipe offers none"
    );
}
