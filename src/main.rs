//! The wasm module's JavaScript face, declared in the binary: built as a binary the module
//! is smaller than as a `cdylib`, which keeps every exported item of every dependency. The
//! work is done by `flexedit::embed`.

use wasm_bindgen::prelude::*;

/// What `mount()` resolves to; see `flexedit::embed::EditorHandle`.
#[wasm_bindgen]
pub struct EditorHandle(flexedit::embed::EditorHandle);

#[wasm_bindgen]
impl EditorHandle {
    /// Removes the editor, its listeners and its state.
    pub fn unmount(&self) {
        self.0.unmount();
    }

    /// Changes options while the editor runs; fields left out keep their values.
    #[wasm_bindgen(js_name = setOptions)]
    pub fn set_options(&self, options: JsValue) -> Result<(), JsValue> {
        self.0.set_options(options)
    }

    /// Makes a Blob, File or https:// URL the image to edit.
    #[wasm_bindgen(js_name = setImage)]
    pub fn set_image(&self, image: JsValue) -> js_sys::Promise {
        self.0.set_image(image)
    }

    /// Makes several images the images to edit, one edit each per press.
    #[wasm_bindgen(js_name = setImages)]
    pub fn set_images(&self, images: JsValue) -> js_sys::Promise {
        self.0.set_images(images)
    }

    /// Replaces the prompt.
    #[wasm_bindgen(js_name = setPrompt)]
    pub fn set_prompt(&self, text: String) -> Result<(), JsValue> {
        self.0.set_prompt(text)
    }
}

/// Mounts an editor; see `flexedit::embed::mount`. Called by embed.js.
#[wasm_bindgen]
pub fn mount(
    container: web_sys::HtmlElement,
    host: web_sys::EventTarget,
    config: JsValue,
    options: JsValue,
    page: bool,
) -> Result<js_sys::Promise, JsValue> {
    flexedit::embed::mount(container, host, config, options, page, |handle| {
        EditorHandle(handle).into()
    })
}

fn main() {}
