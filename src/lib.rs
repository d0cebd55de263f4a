//! flexedit: the web app. `embed.js` (web/embed.js) starts the module, whose exports
//! (`main.rs`) call [`embed::mount`]; the editor lives in the modules here.

#![recursion_limit = "256"]

mod app;
pub mod code_view;
pub mod compare;
pub mod composite;
pub mod config;
pub mod editor;
pub mod embed;
pub mod form;
pub mod history;
pub mod intake;
pub mod jobs;
pub mod mask;
mod page;
pub mod prepare;
#[cfg(not(target_arch = "wasm32"))]
pub mod prerender;
pub mod recipes;
pub mod result;
pub mod run;
pub mod serde_js;
pub mod settings;
pub mod source;
pub mod split;
pub mod transport;

pub use app::{App, Shell};

/// The version shown in the page, so a person can say which build they run.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
