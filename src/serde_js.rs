//! JSON in the page through serde: the browser's `JSON.parse` reads the text and
//! serde-wasm-bindgen hands its values to the same serde types the server and native code
//! read, so the page carries no JSON text parser of its own. Natively (the crate's own
//! tests) serde_json reads the text instead.

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;

/// Reads a JSON text into `T`. The error is a phrase for a sentence that names the text's
/// source: what is wrong, and at which field when it is inside one (`recipes[0].params`).
pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::JsCast;
        let value = js_sys::JSON::parse(text).map_err(|error| {
            error.dyn_ref::<js_sys::Error>().map_or_else(
                || "it is not JSON".to_owned(),
                |e| String::from(e.message()),
            )
        })?;
        from_js(value)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let mut reader = serde_json::Deserializer::from_str(text);
        let value = serde_path_to_error::deserialize(&mut reader).map_err(at_field)?;
        reader.end().map_err(|e| e.to_string())?;
        Ok(value)
    }
}

/// Reads a JavaScript value (such as the options a host page passes) into `T`; the error
/// is as [`parse`]'s.
///
/// The value passes through serde_json's `Value` on the way: serde-wasm-bindgen reads a
/// struct by looking up the fields it knows, so it would silently ignore a misspelt one,
/// while from a `Value` every field is seen and `deny_unknown_fields` refuses the typo.
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T, String> {
    let value: serde_json::Value = serde_wasm_bindgen::from_value(value).map_err(|e| {
        use wasm_bindgen::JsCast;
        JsValue::from(e).dyn_into::<js_sys::Error>().map_or_else(
            |_| "it is not JSON".to_owned(),
            |e| String::from(e.message()),
        )
    })?;
    serde_path_to_error::deserialize(value).map_err(at_field)
}

/// `value` as a plain JavaScript value, shaped as its JSON would be (objects, not maps;
/// null for none), for a host page.
pub fn to_js(value: &impl Serialize) -> JsValue {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::NULL)
}

/// `value` as JSON text, written by the browser.
pub fn stringify(value: &impl Serialize) -> Option<String> {
    js_sys::JSON::stringify(&to_js(value)).ok()?.as_string()
}

fn at_field<E: std::fmt::Display>(error: serde_path_to_error::Error<E>) -> String {
    use serde_path_to_error::Segment;
    let message = error.inner().to_string();
    let mut segments: Vec<&Segment> = error.path().iter().collect();
    // The path of an unknown field ends with that field, which the message names already.
    if message.starts_with("unknown field") {
        segments.pop();
    }
    let mut path = String::new();
    for segment in segments {
        match segment {
            Segment::Seq { index } => path.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Segment::Unknown => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push('?');
            }
        }
    }
    if path.is_empty() {
        message
    } else {
        format!("`{path}`: {message}")
    }
}
