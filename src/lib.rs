//! flexedit: the web app. `main.rs` only mounts; the editor lives in the modules here.

mod app;
pub mod config;
pub mod run;
pub mod source;
pub mod transport;

pub use app::App;

/// The version shown in the page, so a person can say which build they run.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Mounts the editor on the page's body.
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
