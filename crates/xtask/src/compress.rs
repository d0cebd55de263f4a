//! Brotli (.br) and gzip (.gz) copies of the build's scripts, stylesheets and wasm, at the
//! strongest settings, so that flexedit-server (and nginx's gzip_static/brotli_static) send
//! them without compressing on each request. index.html and config.json get none:
//! deployments edit them, and a stale copy would be served instead of the edit.

use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct CompressError {
    path: PathBuf,
    source: std::io::Error,
}

fn at(path: &Path) -> impl FnOnce(std::io::Error) -> CompressError + '_ {
    move |source| CompressError {
        path: path.to_owned(),
        source,
    }
}

pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    encoder.finish()
}

pub fn brotli(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        size_hint: bytes.len(),
        ..Default::default()
    };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}

/// Whether a file of the build gets compressed copies.
pub fn is_compressed(name: &str) -> bool {
    [".wasm", ".js", ".css"]
        .iter()
        .any(|suffix| name.ends_with(suffix))
}

/// Writes `<file>.br` and `<file>.gz` beside each script, stylesheet and wasm in `dir`.
pub fn dir(dir: &Path) -> Result<(), CompressError> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(at(dir))? {
        let path = entry.map_err(at(dir))?.path();
        if path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(is_compressed)
        {
            files.push(path);
        }
    }
    // Brotli's strongest setting is slow: the files share the cores.
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let chunks: Vec<&[PathBuf]> = files.chunks(files.len().div_ceil(workers).max(1)).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| scope.spawn(move || chunk.iter().try_for_each(|path| one(path))))
            .collect();
        handles.into_iter().try_for_each(|handle| {
            handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    })
}

fn one(path: &Path) -> Result<(), CompressError> {
    let bytes = std::fs::read(path).map_err(at(path))?;
    for (suffix, compressed) in [("gz", gzip(&bytes)), ("br", brotli(&bytes))] {
        let mut name = path.as_os_str().to_owned();
        name.push(".");
        name.push(suffix);
        std::fs::write(&name, compressed.map_err(at(path))?).map_err(at(path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn both_copies_decode_to_the_file_and_are_smaller() {
        let text = "flexedit ".repeat(1000);
        let mut unzipped = String::new();
        flate2::read::GzDecoder::new(&gzip(text.as_bytes()).unwrap()[..])
            .read_to_string(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, text);
        let compressed = brotli(text.as_bytes()).unwrap();
        assert!(compressed.len() < text.len() / 10);
        let mut unbrotli = Vec::new();
        brotli::BrotliDecompress(&mut &compressed[..], &mut unbrotli).unwrap();
        assert_eq!(unbrotli, text.as_bytes());
    }

    #[test]
    fn only_scripts_styles_and_wasm_are_compressed() {
        assert!(is_compressed("flexedit-0123_bg.wasm"));
        assert!(is_compressed("embed.js"));
        assert!(is_compressed("flexedit-0123.css"));
        assert!(!is_compressed("index.html"));
        assert!(!is_compressed("config.json"));
        assert!(!is_compressed("embed.js.br"));
    }
}
