//! flexedit's build tool, run as `cargo xtask <step>`:
//!
//! - `post-build`: trunk's post-build hook (see Trunk.toml). Builds the editor's WebAssembly
//!   in parts and the scripts that load it, names every file after its content, writes
//!   embed.js and index.html's module, and the compressed copies.
//! - `precompress`: only the compressed copies, as a post-build hook of a page without
//!   the editor's WebAssembly (benches/empty-page).

mod build;
mod compress;
mod html;
mod names;
mod wasm;

use anyhow::bail;

const USAGE: &str =
    "usage: cargo xtask post-build | precompress   (trunk post-build hooks: see Trunk.toml)";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["post-build"] => build::post_build(),
        ["precompress"] => Ok(compress::dir(&build::env_dir("TRUNK_STAGING_DIR")?)?),
        _ => bail!("{USAGE}"),
    }
}
