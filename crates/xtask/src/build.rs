//! The post-build step. Trunk's own Rust pipeline runs wasm-bindgen straight after cargo,
//! but splitting the module needs the linker's relocations, which wasm-bindgen drops, so
//! this step runs the pipeline itself:
//!
//! 1. cargo builds the `flexedit` binary with the `split` feature, linked with
//!    --emit-relocs;
//! 2. wasm-split-cli cuts the functions marked `#[wasm_split]` (see src/split.rs) and what
//!    only they reach into parts of their own, and writes the JavaScript that loads them;
//! 3. wasm-bindgen writes the main module's JavaScript glue (keeping the function table
//!    exported: the parts fill their entries into it);
//! 4. release builds: wasm-opt shrinks every module and the main module's imports from
//!    the glue get short names (src/wasm.rs);
//! 5. every file gets this build's content hash in its name; esbuild bundles the glue
//!    with the parts' loader (flexedit-<hash>.js, for embed.js), and boot.js with embed.js
//!    and both into index.html's module (flexedit-page-<hash>.js), so a first visit asks
//!    for one script; index.html starts from it and holds the editor's first screen,
//!    rendered from its components (`flexedit::prerender`);
//! 6. brotli and gzip copies (src/compress.rs).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail, ensure};

use crate::{compress, html, names, wasm};

/// The module name wasm-bindgen's glue gives its own imports.
const GLUE_MODULE: &str = "./flexedit_bg.js";

/// Chromium's compile hint: the functions of a script marked so are compiled while it
/// downloads, on a background thread, instead of one by one on the page's thread as the
/// first render calls them (about 6 ms of a cold load's main thread, in a trace). Other
/// browsers read a comment.
const COMPILE_HINT: &str = "--banner:js=//# allFunctionsCalledOnLoad";

const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-bulk-memory-opt",
    "--enable-nontrapping-float-to-int",
    "--enable-reference-types",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-multivalue",
];

pub fn env_dir(name: &str) -> anyhow::Result<PathBuf> {
    std::env::var_os(name)
        .map(PathBuf::from)
        .with_context(|| format!("{name} is not set: this runs as trunk's post-build hook"))
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot start {command:?}"))?;
    ensure!(status.success(), "{command:?} failed: {status}");
    Ok(())
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn write(path: &Path, bytes: impl AsRef<[u8]>) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

struct Tools {
    esbuild: PathBuf,
    wasm_opt: PathBuf,
    wasm_split: PathBuf,
}

impl Tools {
    /// The tools scripts/setup installs into .tools/.
    fn new(source: &Path) -> Self {
        let tools = source.join(".tools");
        Self {
            esbuild: tools.join("node_modules/.bin/esbuild"),
            wasm_opt: tools.join("node_modules/.bin/wasm-opt"),
            wasm_split: tools.join("bin/wasm-split-cli"),
        }
    }

    fn esbuild(&self, release: bool) -> Command {
        let mut command = Command::new(&self.esbuild);
        // The glue's imports object repeats the key "./__wasm_split.js", naming the same
        // module each time, so that one warning is silenced; any other still shows.
        command.args([
            "--format=esm",
            "--log-level=warning",
            "--log-override:duplicate-object-key=silent",
            COMPILE_HINT,
        ]);
        if release {
            command.arg("--minify");
        }
        command
    }
}

fn target_dir(source: &Path) -> anyhow::Result<PathBuf> {
    let output = Command::new("cargo")
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(source)
        .output()
        .context("cannot run cargo metadata")?;
    ensure!(output.status.success(), "cargo metadata failed");
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata names no target directory")
}

/// Builds the `flexedit` binary for the web, linked with the relocations wasm-split-cli
/// needs; returns its path.
fn cargo_build(source: &Path, release: bool) -> anyhow::Result<PathBuf> {
    // The source paths a panic message carries name the crate, not the folder of the
    // machine that built it.
    let mut rustflags = std::env::var("RUSTFLAGS").unwrap_or_default();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")));
    if let Some(registry) = cargo_home.map(|home| home.join("registry/src"))
        && let Ok(entries) = std::fs::read_dir(&registry)
    {
        for entry in entries.flatten() {
            rustflags.push_str(&format!(
                " --remap-path-prefix={}=crates",
                entry.path().display()
            ));
        }
    }
    let mut command = Command::new("cargo");
    command
        .current_dir(source)
        .env("RUSTFLAGS", rustflags.trim())
        .args(["rustc", "--quiet", "--target", "wasm32-unknown-unknown"])
        .args(["--bin", "flexedit", "--features", "split"]);
    if release {
        command.arg("--release");
    }
    // --emit-relocs goes to the final link only (cargo rustc). Leptos's erase_components
    // is not set: with the form's parts split off, the module is smaller without it, the
    // form renders no slower, and the page runs the views as the tests do.
    command.args(["--message-format=json-render-diagnostics"]);
    command.args(["--", "-C", "link-arg=--emit-relocs"]);
    let output = command
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("cannot start {command:?}"))?;
    ensure!(
        output.status.success(),
        "{command:?} failed: {}",
        output.status
    );
    // Cargo names the file it linked: the target folder's layout is its own business.
    built_wasm(&String::from_utf8_lossy(&output.stdout))
        .context("cargo reported no flexedit.wasm among its artifacts")
}

/// The wasm file of the `flexedit` binary among cargo's JSON messages.
fn built_wasm(messages: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == "flexedit"
        })
        .flat_map(|message| message["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|name| name.as_str().map(PathBuf::from))
        .find(|path| {
            path.extension()
                .is_some_and(|extension| extension == "wasm")
        })
}

pub fn post_build() -> anyhow::Result<()> {
    let source = env_dir("TRUNK_SOURCE_DIR")?;
    let staging = env_dir("TRUNK_STAGING_DIR")?;
    let release = std::env::var("TRUNK_PROFILE").is_ok_and(|profile| profile == "release");
    let tools = Tools::new(&source);

    let target = target_dir(&source)?;
    let work = target
        .join("wasm-split")
        .join(if release { "release" } else { "debug" });
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    let (split, bindgen) = (work.join("split"), work.join("bindgen"));
    std::fs::create_dir_all(&split)?;
    std::fs::create_dir_all(&bindgen)?;

    let input = cargo_build(&source, release)?;
    run(Command::new(&tools.wasm_split)
        .arg(&input)
        .arg(&split)
        .args(["--out-name", "flexedit"]))?;
    run(Command::new("wasm-bindgen")
        .args(["--target", "web", "--keep-lld-exports", "--no-typescript"])
        .args(["--out-name", "flexedit", "--out-dir"])
        .arg(&bindgen)
        .arg(split.join("flexedit.wasm")))?;

    let optimize = |from: &Path| -> anyhow::Result<Vec<u8>> {
        if !release {
            return read(from);
        }
        let to = from.with_extension("opt.wasm");
        run(Command::new(&tools.wasm_opt)
            .arg("-Oz")
            .args(WASM_FEATURES)
            .arg(from)
            .arg("-o")
            .arg(&to))?;
        read(&to)
    };
    let mut main = optimize(&bindgen.join("flexedit_bg.wasm"))?;
    let mut parts = Vec::new();
    for entry in std::fs::read_dir(&split)? {
        let path = entry?.path();
        let Some(name) = path
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(|name| name.strip_suffix(".wasm"))
        else {
            continue;
        };
        if name != "flexedit" && !name.ends_with(".opt") {
            parts.push((name.to_owned(), optimize(&path)?));
        }
    }
    parts.sort();

    // esbuild renames the glue's side of the short names (its property mangling, with the
    // names given in its mangle cache); the property pattern is the exact list, so nothing
    // else of the glue is renamed.
    let mut glue_args = Vec::new();
    let mut mangle_cache = String::new();
    if release {
        let imports = wasm::import_names(&main, GLUE_MODULE)?;
        let short = wasm::short_names(&imports);
        main = wasm::rename_imports(&main, GLUE_MODULE, &short)?;
        mangle_cache = serde_json::to_string(&short)?;
        let cache = work.join("mangle-cache.json");
        write(&cache, &mangle_cache)?;
        let pattern: Vec<String> = imports
            .iter()
            .map(|name| name.replace('$', "\\$"))
            .collect();
        glue_args.push(format!("--mangle-props=^(?:{})$", pattern.join("|")));
        glue_args.push(format!("--mangle-cache={}", cache.display()));
    }

    // One hash over everything this build made names every file, so the main module, its
    // glue and the parts that import each other always come from the same build.
    let glue = read(&bindgen.join("flexedit.js"))?;
    let loader = read_text(&split.join("__wasm_split.js"))?;
    let stem = format!(
        "flexedit-{}",
        names::hash(
            [
                main.as_slice(),
                &glue,
                loader.as_bytes(),
                mangle_cache.as_bytes()
            ]
            .into_iter()
            .chain(parts.iter().map(|(_, bytes)| bytes.as_slice()))
        )
    );
    write(&staging.join(format!("{stem}_bg.wasm")), &main)?;
    for (name, bytes) in &parts {
        write(&staging.join(format!("{stem}_{name}.wasm")), bytes)?;
    }
    // Beside the glue, whose `import … from "./__wasm_split.js"` it answers, as the glue
    // answers its `import … from "./flexedit.js"`: bundled together, those names are gone.
    let part_names: Vec<String> = parts.iter().map(|(name, _)| name.clone()).collect();
    write(
        &bindgen.join("__wasm_split.js"),
        names::name_parts(&loader, &stem, &part_names)?,
    )?;
    let glue_out = format!("{stem}.js");
    run(tools
        .esbuild(release)
        .arg("--bundle")
        .args(&glue_args)
        .arg(bindgen.join("flexedit.js"))
        .arg(format!("--outfile={}", staging.join(&glue_out).display())))?;

    // embed.js, the loader pages start the editor with, from its template with this
    // build's names; its own name stays the same from build to build, so hosts can link
    // to it.
    let index = staging.join("index.html");
    let page_html = read_text(&index)?;
    let styles = serde_json::to_string(&html::stylesheets(&page_html)?)?;
    let wasm_name = format!("{stem}_bg.wasm");
    let template = read_text(&source.join("web/embed.js"))?;
    let embed = fill(
        &template,
        &[
            ("__FLEXEDIT_JS__", &glue_out),
            ("__FLEXEDIT_WASM__", &wasm_name),
            ("__FLEXEDIT_CSS__", &styles),
        ],
    )?;
    let embed_template = work.join("embed.js");
    write(&embed_template, embed)?;
    run(tools
        .esbuild(release)
        .arg(&embed_template)
        .arg(format!("--outfile={}", staging.join("embed.js").display())))?;

    // index.html's module: boot.js bundled with embed.js, the glue and the parts' loader,
    // so a first visit asks for one script instead of four, each of which waited for the
    // one before it to be requested. (Read from standard input in the staging folder,
    // boot.js's import of ./embed.js resolves to the loader just written.)
    let page_file = work.join("page.js");
    let metafile = work.join("page-meta.json");
    run(tools
        .esbuild(release)
        .arg("--bundle")
        .arg(format!("--outfile={}", page_file.display()))
        .arg(format!("--metafile={}", metafile.display()))
        .current_dir(&staging)
        .stdin(std::fs::File::open(source.join("web/boot.js"))?))?;
    names::check_no_imports(&read_text(&metafile)?)?;
    let page = read(&page_file)?;
    let page_name = format!("flexedit-page-{}.js", names::hash([page.as_slice()]));
    write(&staging.join(&page_name), &page)?;

    let page_html = html::start_from(&page_html, "boot.js", &page_name)?;
    // The editor's first screen, rendered from its components with this deployment's
    // config.json, so the page paints it before any script runs.
    let config = flexedit::config::ConfigAnswer {
        status: 200,
        text: Some(read_text(&source.join("config.json"))?),
    };
    let page_html = html::fill_editor(&page_html, &flexedit::prerender::first_screen(config))?;
    html::check_csp(&page_html)?;
    let started = html::scripts(&page_html)?;
    ensure!(
        started == [format!("./{page_name}")],
        "index.html starts from {started:?}, not from {page_name} alone"
    );
    write(&index, page_html)?;

    compress::dir(&staging)?;
    Ok(())
}

/// `template` with each placeholder replaced by its value; each must be there.
fn fill(template: &str, values: &[(&str, &str)]) -> anyhow::Result<String> {
    let mut filled = template.to_owned();
    for (placeholder, value) in values {
        if !filled.contains(placeholder) {
            bail!("web/embed.js has no {placeholder}");
        }
        filled = filled.replace(placeholder, value);
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled_or_the_build_stops() {
        let filled = fill(
            "import x from \"./A\"; f(B);",
            &[("A", "a.js"), ("B", "[1]")],
        )
        .unwrap();
        assert_eq!(filled, "import x from \"./a.js\"; f([1]);");
        assert!(fill("nothing", &[("A", "a")]).is_err());
    }

    #[test]
    fn the_wasm_is_the_one_cargo_reports() {
        let messages = r#"{"reason":"compiler-artifact","target":{"name":"flexedit_api"},"filenames":["/t/libflexedit_api.rlib"]}
{"reason":"compiler-artifact","target":{"name":"flexedit","kind":["lib"]},"filenames":["/t/libflexedit.rlib"]}
{"reason":"compiler-artifact","target":{"name":"flexedit","kind":["bin"]},"filenames":["/t/wasm32-unknown-unknown/release/flexedit.wasm"]}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            built_wasm(messages),
            Some(PathBuf::from(
                "/t/wasm32-unknown-unknown/release/flexedit.wasm"
            ))
        );
        assert_eq!(
            built_wasm(r#"{"reason":"build-finished","success":true}"#),
            None
        );
    }

    #[test]
    fn the_template_names_every_placeholder() {
        let template = include_str!("../../../web/embed.js");
        for placeholder in ["__FLEXEDIT_JS__", "__FLEXEDIT_WASM__", "__FLEXEDIT_CSS__"] {
            assert!(template.contains(placeholder), "{placeholder}");
        }
    }
}
