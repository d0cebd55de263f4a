//! flexedit's build tool, run by trunk's post-build hook (scripts/trunk-post-build):
//!
//!   cargo run -q -p xtask -- prerender <index.html> <config.json>
//!
//! `prerender` renders the editor's first screen natively from the page's own components
//! (`flexedit::prerender`), with the deployment's config.json, into the built index.html.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.as_slice() {
        [command, index, config] if command == "prerender" => {
            prerender(Path::new(index), Path::new(config))
        }
        _ => Err("usage: xtask prerender <index.html> <config.json>".to_owned()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn prerender(index: &Path, config: &Path) -> Result<(), String> {
    let read =
        |path: &Path| std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()));
    let config = flexedit::config::ConfigAnswer {
        status: 200,
        text: Some(read(config)?),
    };
    let html =
        flexedit::prerender::fill_index(&read(index)?, &flexedit::prerender::first_screen(config))
            .map_err(|e| e.to_string())?;
    std::fs::write(index, html).map_err(|e| format!("{}: {e}", index.display()))
}
