//! Short names for the main module's imports from its JavaScript glue.
//!
//! wasm-bindgen names each import after the function it binds plus a hash, and the module
//! carries every name in its import section, the glue every name in its imports object.
//! Shortening them measured 8.6 KB brotli off a first visit (the wasm and the page's
//! module together), so the build keeps it: esbuild renames the glue's side (its property
//! mangling, told the names to use through its mangle cache), this module the wasm's.

use std::collections::{BTreeMap, HashSet};

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};

#[derive(Debug, thiserror::Error)]
pub enum WasmError {
    #[error("the module cannot be read: {0}")]
    Read(#[from] wasmparser::BinaryReaderError),
    #[error("an import's type cannot be written back: {0}")]
    Write(#[from] wasm_encoder::reencode::Error),
    #[error("the module imports nothing from {0}")]
    NoImports(String),
}

/// The names the module imports from `module`, each once, in the order of the import section.
pub fn import_names(wasm: &[u8], module: &str) -> Result<Vec<String>, WasmError> {
    let mut seen = HashSet::new();
    let mut names = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::ImportSection(reader) = payload? {
            for import in reader.into_imports() {
                let import = import?;
                if import.module == module && seen.insert(import.name) {
                    names.push(import.name.to_owned());
                }
            }
        }
    }
    if names.is_empty() {
        return Err(WasmError::NoImports(module.to_owned()));
    }
    Ok(names)
}

/// A short name for each of `names`: a … z, A … Z, then two letters and so on, which are
/// valid both as JavaScript property names and as wasm import names.
pub fn short_names(names: &[String]) -> BTreeMap<String, String> {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let mut short = Vec::new();
            let mut rest = index;
            loop {
                short.push(LETTERS[rest % LETTERS.len()]);
                if rest < LETTERS.len() {
                    break;
                }
                rest = rest / LETTERS.len() - 1;
            }
            short.reverse();
            (name.clone(), String::from_utf8_lossy(&short).into_owned())
        })
        .collect()
}

/// The module with its imports from `module` renamed as `renames` says; every other byte
/// of every other section is copied as it is.
pub fn rename_imports(
    wasm: &[u8],
    module: &str,
    renames: &BTreeMap<String, String>,
) -> Result<Vec<u8>, WasmError> {
    let mut out = wasm_encoder::Module::new();
    let mut renamed = false;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        if let wasmparser::Payload::ImportSection(reader) = &payload {
            let mut section = wasm_encoder::ImportSection::new();
            for import in reader.clone().into_imports() {
                let import = import?;
                let name = match renames.get(import.name) {
                    Some(short) if import.module == module => {
                        renamed = true;
                        short.as_str()
                    }
                    _ => import.name,
                };
                section.import(
                    import.module,
                    name,
                    RoundtripReencoder.entity_type(import.ty)?,
                );
            }
            out.section(&section);
        } else if let Some((id, range)) = payload.as_section() {
            out.section(&wasm_encoder::RawSection {
                id,
                data: &wasm[range],
            });
        }
    }
    if !renamed {
        return Err(WasmError::NoImports(module.to_owned()));
    }
    Ok(out.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module importing two functions from the glue and one from elsewhere, with a
    /// function and a custom section that must come through unchanged.
    fn module() -> Vec<u8> {
        let mut types = wasm_encoder::TypeSection::new();
        types.ty().function([], []);
        let mut imports = wasm_encoder::ImportSection::new();
        let function = wasm_encoder::EntityType::Function(0);
        imports.import("./glue.js", "__wbg_alert_0123456789abcdef", function);
        imports.import("./other.js", "keep_me", function);
        imports.import("./glue.js", "__wbg_log_fedcba9876543210", function);
        let mut functions = wasm_encoder::FunctionSection::new();
        functions.function(0);
        let mut code = wasm_encoder::CodeSection::new();
        let mut body = wasm_encoder::Function::new([]);
        body.instructions().call(0).end();
        code.function(&body);
        let mut module = wasm_encoder::Module::new();
        module
            .section(&types)
            .section(&imports)
            .section(&functions)
            .section(&code)
            .section(&wasm_encoder::CustomSection {
                name: "producers".into(),
                data: b"kept".into(),
            });
        module.finish()
    }

    #[test]
    fn names_count_through_the_alphabet_then_take_two_letters() {
        let names: Vec<String> = (0..60).map(|i| format!("n{i}")).collect();
        let short = short_names(&names);
        assert_eq!(short["n0"], "a");
        assert_eq!(short["n25"], "z");
        assert_eq!(short["n26"], "A");
        assert_eq!(short["n51"], "Z");
        assert_eq!(short["n52"], "aa");
        assert_eq!(short["n59"], "ah");
        let distinct: HashSet<_> = short.values().collect();
        assert_eq!(distinct.len(), names.len());
    }

    #[test]
    fn only_the_glues_imports_are_renamed_and_the_rest_is_kept() {
        let wasm = module();
        let names = import_names(&wasm, "./glue.js").unwrap();
        assert_eq!(
            names,
            ["__wbg_alert_0123456789abcdef", "__wbg_log_fedcba9876543210"]
        );
        let renamed = rename_imports(&wasm, "./glue.js", &short_names(&names)).unwrap();
        wasmparser::Validator::new().validate_all(&renamed).unwrap();
        assert_eq!(import_names(&renamed, "./glue.js").unwrap(), ["a", "b"]);
        assert_eq!(import_names(&renamed, "./other.js").unwrap(), ["keep_me"]);
        assert!(renamed.len() < wasm.len());
        assert!(renamed.windows(4).any(|window| window == b"kept"));
    }

    #[test]
    fn a_module_without_such_imports_is_an_error() {
        let wasm = module();
        assert!(matches!(
            rename_imports(&wasm, "./absent.js", &BTreeMap::new()),
            Err(WasmError::NoImports(_))
        ));
        assert!(import_names(b"not wasm", "./glue.js").is_err());
    }
}
