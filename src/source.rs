//! The image an edit starts from, as the person gave it.

/// Where the source came from decides how it reaches the provider.
#[derive(Clone)]
pub enum Origin {
    /// A file, dropped, picked or pasted: prepared in the browser, then uploaded. It is
    /// prepared as soon as it is chosen, which also proves that it decodes.
    File {
        file: web_sys::Blob,
        mime: String,
        prepared: Option<crate::prepare::Prepared>,
    },
    /// An image on the web: sent as `imageUrl`, never uploaded.
    Url(String),
    /// A previous result: its asset path becomes the next `imageUrl`, with no re-upload.
    Asset { path: String },
}

/// The current source image and what is known about it.
#[derive(Clone)]
pub struct Source {
    pub name: String,
    pub origin: Origin,
    /// What the `<img>` previews: an object URL for files (revoked when replaced) — of the
    /// prepared image when it was downscaled, so the page never paints the full-size
    /// original — the remote URL otherwise.
    pub preview_url: String,
    /// Size in bytes, when known.
    pub size: Option<u64>,
    /// Dimensions upright (EXIF orientation applied), when known.
    pub dimensions: Option<(u32, u32)>,
    /// How the image was made, when it is a flexedit result that carries its recipe.
    pub recipe: Option<SourceRecipe>,
}

/// A flexedit result's recipe, as the intake offers it: its prompt, and the form's
/// parameters when they still pass the checks.
///
/// Read from the file's [`flexedit_api::ImageRecipe`] where the file is read, in the
/// preparation's part: checking its `promptObject` takes the provider's lenient reading of
/// a JSON body, which the page's first module need not carry.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceRecipe {
    pub prompt: String,
    pub params: Option<flexedit_api::EditParams>,
}

impl From<flexedit_api::ImageRecipe> for SourceRecipe {
    fn from(recipe: flexedit_api::ImageRecipe) -> Self {
        SourceRecipe {
            params: recipe.params(),
            prompt: recipe.prompt,
        }
    }
}

impl Source {
    /// The dimensions that will be uploaded: the upright image, downscaled to the limit.
    /// Only files are prepared; URLs and results are sent as they are.
    pub fn upload_dimensions(&self, max_pixels: u64) -> Option<(u32, u32)> {
        let (w, h) = self.dimensions?;
        match self.origin {
            Origin::File { .. } => Some(flexedit_api::fit_within(w, h, max_pixels)),
            _ => Some((w, h)),
        }
    }

    /// Releases the object URL of a file preview; call when the source is replaced.
    pub fn release(&self) {
        if matches!(self.origin, Origin::File { .. }) {
            let _ = web_sys::Url::revoke_object_url(&self.preview_url);
        }
    }
}
