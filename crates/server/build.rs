//! Chooses the page the binary carries (src/page.rs embeds the folder named here).
//!
//! The release build of the page is embedded when it exists: the workspace's `dist/`, or
//! the folder `FLEXEDIT_EMBED_DIST` names. Without it the server still builds, carrying no
//! page, because lints and unit tests run before the page is built; such a binary says so
//! when started and needs `--dist`. `FLEXEDIT_NO_EMBED=1` leaves the page out on purpose,
//! for a build that always runs with `--dist` and should not be rebuilt for every change
//! of the page.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=FLEXEDIT_EMBED_DIST");
    println!("cargo:rerun-if-env-changed=FLEXEDIT_NO_EMBED");
    let Some(out_dir) = env::var_os("OUT_DIR").map(PathBuf::from) else {
        panic!("cargo sets OUT_DIR for build scripts");
    };
    let empty = out_dir.join("no-page");
    if let Err(error) = fs::create_dir_all(&empty) {
        panic!("cannot create {}: {error}", empty.display());
    }
    if env::var_os("FLEXEDIT_NO_EMBED").is_some_and(|value| !value.is_empty() && value != "0") {
        println!("cargo:rustc-env=FLEXEDIT_EMBEDDED_PAGE={}", empty.display());
        return;
    }
    let Some(manifest_dir) = env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from) else {
        panic!("cargo sets CARGO_MANIFEST_DIR for build scripts");
    };
    let chosen = env::var_os("FLEXEDIT_EMBED_DIST").filter(|value| !value.is_empty());
    let explicit = chosen.is_some();
    let dist = chosen.map_or_else(|| manifest_dir.join("../../dist"), PathBuf::from);
    // Watched even while it is missing: cargo then reruns this script on every build, so a
    // page built later is never left out of a binary built after it.
    println!("cargo:rerun-if-changed={}", dist.display());

    let folder = if dist.join("index.html").is_file() {
        fs::canonicalize(&dist).unwrap_or(dist)
    } else if explicit {
        panic!(
            "FLEXEDIT_EMBED_DIST={} has no index.html: build the page first (trunk build --release)",
            dist.display()
        );
    } else {
        empty
    };
    println!(
        "cargo:rustc-env=FLEXEDIT_EMBEDDED_PAGE={}",
        folder.display()
    );
}
