//! Getting a source file ready to upload, with the browser's own decoder and canvas: the
//! photo turned upright as its EXIF says, shrunk to the upload limit, and encoded in a
//! format the provider takes. No image decoder is compiled into the page.

use flexedit_api::{ImageKind, IntakeError, OutputFormat, check_source, fit_within};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, CanvasRenderingContext2d, HtmlCanvasElement, ImageBitmap, ImageBitmapOptions,
    ImageEncodeOptions, ImageOrientation, OffscreenCanvas, OffscreenCanvasRenderingContext2d,
    ResizeQuality,
};

/// How much of a file is read to tell what it is and which way up it is. EXIF sits in the
/// first APP segments, each at most 64 KiB, so a few of them fit.
pub(crate) const HEAD_BYTES: u32 = 256 * 1024;

/// JPEG quality for re-encoded photos: visually lossless, and a fraction of PNG's size.
const JPEG_QUALITY: f64 = 0.92;

/// The image to upload.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub blob: Blob,
    pub file_name: String,
    /// Upright, after any downscaling.
    pub width: u32,
    pub height: u32,
    /// The source image's upright size.
    pub source_width: u32,
    pub source_height: u32,
    /// The upload limit it was prepared for; another limit needs another preparation.
    pub max_pixels: u64,
    /// Whether the image was decoded and encoded again (otherwise `blob` holds the file's
    /// own bytes).
    pub reencoded: bool,
}

/// The span of preparing a file for upload in the browser's performance timeline, where
/// profilers and scripts/bench-editor read it.
const PREPARE_MEASURE: &str = "flexedit:prepare";
const PREPARE_START: &str = "flexedit:prepare-start";

/// [`prepare`], with its span in the performance timeline.
pub async fn prepare_measured(
    file: &Blob,
    name: &str,
    max_pixels: u64,
) -> Result<Prepared, PrepareError> {
    let performance = web_sys::window().and_then(|w| w.performance());
    // The timeline is for observers only: a browser refusing a mark changes nothing.
    if let Some(performance) = &performance {
        let _ = performance.mark(PREPARE_START);
    }
    let prepared = prepare_part(file.clone(), name.to_owned(), max_pixels)
        .await
        .unwrap_or_else(|missing| Err(missing.into()));
    if let Some(performance) = &performance {
        let _ = performance.measure_with_start_mark(PREPARE_MEASURE, PREPARE_START);
    }
    prepared
}

crate::split::part! {
    prepare:
    /// Decoding and resizing, loaded while the form is on screen (src/split.rs).
    async fn prepare_part(file: Blob, name: String, max_pixels: u64) -> Result<Prepared, PrepareError> {
        prepare(&file, &name, max_pixels).await
    }
}

crate::split::part! {
    prepare:
    /// Fetches the part ahead of the first image; calling it does nothing else.
    pub fn preload() -> () {}
}

/// Why an image could not be prepared. `Display` is the sentence for the person, with what
/// to do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    Refused(#[from] IntakeError),
    #[error(transparent)]
    PartMissing(#[from] crate::split::PartMissing),
    #[error(
        "The image file could not be read; it may have been moved, renamed or changed since you chose it. Choose it again."
    )]
    Unreadable,
    #[error(
        "The browser could not open this image; the file may be damaged or cut short. Open it in an image viewer, save it again as PNG or JPEG, then choose it again."
    )]
    Undecodable,
    #[error(
        "The browser could not set aside memory to resize this image to {width} × {height}. Close other tabs and try again, or shrink the image before choosing it."
    )]
    NoCanvas { width: u32, height: u32 },
    #[error(
        "The browser could not save the resized image. Try again; if it keeps failing, export the image as JPEG at a smaller size and choose that."
    )]
    EncodeFailed,
}

/// Turns a chosen file into what is uploaded. The original bytes are kept when they can be
/// sent as they are: PNG or JPEG, already upright and within `max_pixels`, since every
/// re-encode costs quality and time.
pub async fn prepare(file: &Blob, name: &str, max_pixels: u64) -> Result<Prepared, PrepareError> {
    let head = read_head(file, HEAD_BYTES).await?;
    let kind = check_source(name, &file.type_(), blob_size(file), &head, u64::MAX)?;
    let orientation = match kind {
        ImageKind::Jpeg => flexedit_api::jpeg_orientation(&head),
        _ => None,
    };
    let upright = matches!(orientation, None | Some(1));
    let format = match kind {
        ImageKind::Png => OutputFormat::Png,
        _ => OutputFormat::Jpg,
    };
    let file_name = flexedit_api::upload_file_name(name, format);

    // The header says the size, so the image is decoded once, straight to the size it
    // is sent at; only a header that does not say costs a first, full-size decode.
    let stored = flexedit_api::stored_dimensions(&head);
    let (width, height) = match stored {
        Some(stored) => flexedit_api::upright_dimensions(stored, orientation),
        None => {
            let bitmap = decode_upright(file, None).await?;
            let size = (bitmap.width(), bitmap.height());
            bitmap.close();
            size
        }
    };
    let (target_w, target_h) = fit_within(width, height, max_pixels);
    let fits = (target_w, target_h) == (width, height);

    if fits && upright && matches!(kind, ImageKind::Png | ImageKind::Jpeg) {
        return Ok(Prepared {
            blob: typed(file, format.mime()),
            file_name,
            width,
            height,
            source_width: width,
            source_height: height,
            max_pixels,
            reencoded: false,
        });
    }

    let scaled = match (kind, stored) {
        (ImageKind::Jpeg, Some(stored)) => {
            let target = (target_w, target_h);
            match flexedit_api::jpeg_scaled_decode_size(stored, target, orientation) {
                Some(size) => decode_jpeg_scaled(file, size, target).await,
                None => None,
            }
        }
        _ => None,
    };
    let bitmap = match scaled {
        Some(bitmap) => bitmap,
        None => decode_upright(file, Some((target_w, target_h))).await?,
    };
    let encoded = redraw(&bitmap, target_w, target_h, format).await;
    bitmap.close();
    Ok(Prepared {
        blob: encoded?,
        file_name,
        width: target_w,
        height: target_h,
        source_width: width,
        source_height: height,
        max_pixels,
        reencoded: true,
    })
}

/// Decodes with EXIF orientation applied, so width and height are as the person sees them.
pub(crate) async fn decode_upright(
    blob: &Blob,
    size: Option<(u32, u32)>,
) -> Result<ImageBitmap, PrepareError> {
    let window = web_sys::window().ok_or(PrepareError::Undecodable)?;
    let options = ImageBitmapOptions::new();
    options.set_image_orientation(ImageOrientation::FromImage);
    if let Some((width, height)) = size {
        // Scaled while decoding, to the upright size (orientation applies first).
        options.set_resize_width(width);
        options.set_resize_height(height);
        options.set_resize_quality(ResizeQuality::High);
    }
    let promise = window
        .create_image_bitmap_with_blob_and_image_bitmap_options(blob, &options)
        .map_err(|_| PrepareError::Undecodable)?;
    JsFuture::from(promise)
        .await
        .ok()
        .and_then(|bitmap| bitmap.dyn_into::<ImageBitmap>().ok())
        .ok_or(PrepareError::Undecodable)
}

#[wasm_bindgen]
extern "C" {
    /// WebCodecs' image decoder, which decodes a JPEG at a fraction of its size for a
    /// fraction of the time. Bound here because web-sys has it only behind an unstable flag.
    #[wasm_bindgen(js_name = ImageDecoder)]
    type WebImageDecoder;
    #[wasm_bindgen(constructor, catch, js_class = "ImageDecoder")]
    fn new(init: &js_sys::Object) -> Result<WebImageDecoder, JsValue>;
    #[wasm_bindgen(method, js_class = "ImageDecoder")]
    fn decode(this: &WebImageDecoder) -> js_sys::Promise;
    #[wasm_bindgen(method, js_class = "ImageDecoder")]
    fn close(this: &WebImageDecoder);

    /// A decoded frame; it holds its pixels until closed.
    #[wasm_bindgen(js_name = VideoFrame)]
    type WebVideoFrame;
    #[wasm_bindgen(method, getter, js_name = displayWidth, js_class = "VideoFrame")]
    fn display_width(this: &WebVideoFrame) -> u32;
    #[wasm_bindgen(method, getter, js_name = displayHeight, js_class = "VideoFrame")]
    fn display_height(this: &WebVideoFrame) -> u32;
    #[wasm_bindgen(method, js_class = "VideoFrame")]
    fn close(this: &WebVideoFrame);

    /// `createImageBitmap` for a source web-sys's stable bindings do not list (a frame).
    #[wasm_bindgen(catch, js_name = createImageBitmap)]
    fn create_image_bitmap_of(
        source: &JsValue,
        options: &ImageBitmapOptions,
    ) -> Result<js_sys::Promise, JsValue>;
}

/// Decodes a JPEG at `size` (a decoder-supported eighth of it, in its stored orientation)
/// and scales it to `target`, upright. `None` when the browser has no WebCodecs image
/// decoder or it fails; the caller then decodes the usual way.
async fn decode_jpeg_scaled(
    blob: &Blob,
    (width, height): (u32, u32),
    (target_w, target_h): (u32, u32),
) -> Option<ImageBitmap> {
    let present = js_sys::Reflect::has(&js_sys::global(), &"ImageDecoder".into()).ok()?;
    if !present {
        return None;
    }
    let data = JsFuture::from(blob.array_buffer()).await.ok()?;
    let init = js_sys::Object::new();
    for (key, value) in [
        ("data", data),
        ("type", "image/jpeg".into()),
        ("desiredWidth", width.into()),
        ("desiredHeight", height.into()),
    ] {
        js_sys::Reflect::set(&init, &key.into(), &value).ok()?;
    }
    let decoder = WebImageDecoder::new(&init).ok()?;
    let decoded = JsFuture::from(decoder.decode()).await;
    decoder.close();
    let frame: WebVideoFrame = js_sys::Reflect::get(&decoded.ok()?, &"image".into())
        .ok()?
        .unchecked_into();
    // The frame is upright (its rotation applies when drawn); a decoder that ignored the
    // requested size is fine, one that went below the target would cost sharpness.
    let covers = frame.display_width() >= target_w && frame.display_height() >= target_h;
    let bitmap = if covers {
        let options = ImageBitmapOptions::new();
        options.set_resize_width(target_w);
        options.set_resize_height(target_h);
        options.set_resize_quality(ResizeQuality::High);
        match create_image_bitmap_of(&frame, &options) {
            Ok(promise) => JsFuture::from(promise).await.ok(),
            Err(_) => None,
        }
    } else {
        None
    };
    frame.close();
    let bitmap = bitmap?.dyn_into::<ImageBitmap>().ok()?;
    if (bitmap.width(), bitmap.height()) == (target_w, target_h) {
        Some(bitmap)
    } else {
        bitmap.close();
        None
    }
}

pub(crate) async fn read_head(blob: &Blob, len: u32) -> Result<Vec<u8>, PrepareError> {
    let head = blob
        .slice_with_f64_and_f64(0.0, f64::from(len))
        .map_err(|_| PrepareError::Unreadable)?;
    let buffer = JsFuture::from(head.array_buffer())
        .await
        .map_err(|_| PrepareError::Unreadable)?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

pub(crate) fn blob_size(blob: &Blob) -> u64 {
    // A float from JS: negative or NaN saturates to 0 rather than wrapping.
    blob.size() as u64
}

/// The same bytes under the right type: pasted and hand-made blobs often carry none, and the
/// upload's part takes its Content-Type from the blob.
fn typed(blob: &Blob, mime: &str) -> Blob {
    if blob.type_() == mime {
        return blob.clone();
    }
    blob.slice_with_f64_and_f64_and_content_type(0.0, blob.size(), mime)
        .unwrap_or_else(|_| blob.clone())
}

async fn redraw(
    bitmap: &ImageBitmap,
    width: u32,
    height: u32,
    format: OutputFormat,
) -> Result<Blob, PrepareError> {
    let surface = Surface::new(width, height)?;
    // JPEG has no transparency: without a white ground, transparent WebP pixels turn black.
    let ground = (format == OutputFormat::Jpg).then_some("#fff");
    let drawn = surface.draw(bitmap, width, height, ground);
    let encoded = match drawn {
        Ok(()) => surface.encode(format).await,
        Err(e) => Err(e),
    };
    surface.free();
    encoded
}

/// Where the image is redrawn: an OffscreenCanvas where the browser has one, else a
/// `<canvas>` that is never attached to the page.
enum Surface {
    Offscreen(OffscreenCanvas, OffscreenCanvasRenderingContext2d),
    Element(HtmlCanvasElement, CanvasRenderingContext2d),
}

impl Surface {
    fn new(width: u32, height: u32) -> Result<Self, PrepareError> {
        Self::offscreen(width, height)
            .or_else(|| Self::element(width, height))
            .ok_or(PrepareError::NoCanvas { width, height })
    }

    fn offscreen(width: u32, height: u32) -> Option<Self> {
        let present = js_sys::Reflect::has(&js_sys::global(), &"OffscreenCanvas".into());
        if !present.unwrap_or(false) {
            return None;
        }
        let canvas = OffscreenCanvas::new(width, height).ok()?;
        // Safari 16 had OffscreenCanvas without a 2D context.
        let context = canvas
            .get_context("2d")
            .ok()??
            .dyn_into::<OffscreenCanvasRenderingContext2d>()
            .ok()?;
        Some(Self::Offscreen(canvas, context))
    }

    fn element(width: u32, height: u32) -> Option<Self> {
        let canvas = web_sys::window()?
            .document()?
            .create_element("canvas")
            .ok()?
            .dyn_into::<HtmlCanvasElement>()
            .ok()?;
        canvas.set_width(width);
        canvas.set_height(height);
        let context = canvas
            .get_context("2d")
            .ok()??
            .dyn_into::<CanvasRenderingContext2d>()
            .ok()?;
        Some(Self::Element(canvas, context))
    }

    fn draw(
        &self,
        bitmap: &ImageBitmap,
        width: u32,
        height: u32,
        ground: Option<&str>,
    ) -> Result<(), PrepareError> {
        let (w, h) = (f64::from(width), f64::from(height));
        let context: &JsValue = match self {
            Self::Offscreen(_, c) => c,
            Self::Element(_, c) => c,
        };
        // The default "low" quality aliases badly when shrinking a photo several times over;
        // web-sys has no setter for it, so it is set as a plain property.
        let _ = js_sys::Reflect::set(context, &"imageSmoothingEnabled".into(), &true.into());
        let _ = js_sys::Reflect::set(context, &"imageSmoothingQuality".into(), &"high".into());
        let drawn = match self {
            Self::Offscreen(_, c) => {
                if let Some(ground) = ground {
                    c.set_fill_style_str(ground);
                    c.fill_rect(0.0, 0.0, w, h);
                }
                c.draw_image_with_image_bitmap_and_dw_and_dh(bitmap, 0.0, 0.0, w, h)
            }
            Self::Element(_, c) => {
                if let Some(ground) = ground {
                    c.set_fill_style_str(ground);
                    c.fill_rect(0.0, 0.0, w, h);
                }
                c.draw_image_with_image_bitmap_and_dw_and_dh(bitmap, 0.0, 0.0, w, h)
            }
        };
        drawn.map_err(|_| PrepareError::NoCanvas { width, height })
    }

    async fn encode(&self, format: OutputFormat) -> Result<Blob, PrepareError> {
        let promise = match self {
            Self::Offscreen(canvas, _) => {
                let options = ImageEncodeOptions::new();
                options.set_type(format.mime());
                if format == OutputFormat::Jpg {
                    options.set_quality(JPEG_QUALITY);
                }
                canvas
                    .convert_to_blob_with_options(&options)
                    .map_err(|_| PrepareError::EncodeFailed)?
            }
            Self::Element(canvas, _) => {
                let mut failed = false;
                let promise = js_sys::Promise::new(&mut |resolve, _reject| {
                    // The callback gets null when the canvas could not be encoded.
                    failed = canvas
                        .to_blob_with_type_and_encoder_options(
                            &resolve,
                            format.mime(),
                            &JPEG_QUALITY.into(),
                        )
                        .is_err();
                });
                if failed {
                    return Err(PrepareError::EncodeFailed);
                }
                promise
            }
        };
        JsFuture::from(promise)
            .await
            .ok()
            .and_then(|blob| blob.dyn_into::<Blob>().ok())
            .ok_or(PrepareError::EncodeFailed)
    }

    /// Gives the pixel memory back now rather than whenever the collector runs: a canvas for a
    /// large photo holds tens of megabytes.
    fn free(&self) {
        match self {
            Self::Offscreen(canvas, _) => {
                canvas.set_width(0);
                canvas.set_height(0);
            }
            Self::Element(canvas, _) => {
                canvas.set_width(0);
                canvas.set_height(0);
            }
        }
    }
}

/// The bytes of a Blob.
pub async fn blob_bytes(blob: &web_sys::Blob) -> Option<Vec<u8>> {
    let buffer = JsFuture::from(blob.array_buffer()).await.ok()?;
    Some(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Bytes as a Blob of the given type.
pub fn bytes_blob(bytes: &[u8], mime: &str) -> Option<web_sys::Blob> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).ok()
}
