//! Parts of the editor that load when they are needed instead of with the page.
//!
//! A function declared with [`part!`] is compiled into its own WebAssembly module in the
//! release build (the `split` feature; the build tool cuts the modules, crates/xtask): the first call
//! fetches that module, later calls go straight in. Everything only such functions reach
//! moves with them, so the page's first load carries the form and little else. Without the
//! feature (tests, `cargo check`) the function is called directly.

/// A part of the editor could not be fetched (the connection dropped, or the site was
/// updated since the page was loaded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "Part of the editor could not be loaded. Check the connection, then reload the page; the image and prompt are kept."
)]
pub struct PartMissing;

#[cfg(all(feature = "split", target_arch = "wasm32"))]
impl From<leptos::wasm_split::SplitLoaderError> for PartMissing {
    fn from(_: leptos::wasm_split::SplitLoaderError) -> Self {
        PartMissing
    }
}

/// Declares `async fn name(args) -> Result<T, PartMissing>` whose body lives in the part
/// `part`. The body is either plain (`fn`) or awaits (`async fn`: the future it makes, and
/// so its code, lives in the part too); arguments are owned.
macro_rules! part {
    (
        $part:ident:
        $(#[$meta:meta])*
        $vis:vis async fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block
    ) => {
        $(#[$meta])*
        $vis async fn $name($($arg: $ty),*) -> Result<$ret, $crate::split::PartMissing> {
            $crate::split::part! {
                $part:
                fn $name($($arg: $ty),*) -> ::std::pin::Pin<
                    ::std::boxed::Box<dyn ::std::future::Future<Output = $ret>>,
                > {
                    ::std::boxed::Box::pin(async move $body)
                }
            }
            Ok($name($($arg),*).await?.await)
        }
    };
    (
        $part:ident:
        $(#[$meta:meta])*
        $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block
    ) => {
        $(#[$meta])*
        #[cfg(all(feature = "split", target_arch = "wasm32"))]
        #[::leptos::wasm_split::wasm_split(
            $part,
            wasm_split_path = ::leptos::wasm_split,
            fallible
        )]
        $vis fn $name($($arg: $ty),*) -> Result<$ret, $crate::split::PartMissing> {
            Ok($body)
        }

        $(#[$meta])*
        #[cfg(not(all(feature = "split", target_arch = "wasm32")))]
        $vis async fn $name($($arg: $ty),*) -> Result<$ret, $crate::split::PartMissing> {
            Ok($body)
        }
    };
}
pub(crate) use part;

/// Resolves in a task after the current one. A part loaded after it starts fetching once
/// the render that asked for it has finished, so the form is not kept waiting on it.
pub async fn next_task() {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let queued = web_sys::window()
            .is_some_and(|window| window.set_timeout_with_callback(&resolve).is_ok());
        if !queued {
            let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
        }
    });
    // Suspend needs a Send future; the page has one thread, so the wrapper never moves.
    let _ = send_wrapper::SendWrapper::new(wasm_bindgen_futures::JsFuture::from(promise)).await;
}
