//! flexedit: the web app. `main.rs` only mounts; the editor lives in the modules here.

mod app;
pub mod code_view;
pub mod compare;
pub mod config;
pub mod editor;
pub mod form;
pub mod history;
pub mod intake;
pub mod prepare;
pub mod result;
pub mod run;
pub mod settings;
pub mod source;
pub mod transport;

pub use app::{App, Shell};

/// The version shown in the page, so a person can say which build they run.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Mounts the editor on the page's body.
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
