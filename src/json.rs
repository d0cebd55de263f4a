//! JSON through the browser: `JSON.parse` and `JSON.stringify` do the text, flexedit-api's
//! [`Json`] carries the values, so the page's first load has no JSON parser or printer of
//! its own. Natively (the crate's own tests) serde_json reads the text instead.

use flexedit_api::Json;
use wasm_bindgen::{JsCast, JsValue};

/// Reads a JSON text; the error is the reader's own sentence about what is wrong where.
pub fn parse(text: &str) -> Result<Json, String> {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::JSON::parse(text)
            .map(|value| from_js(&value))
            .map_err(|error| {
                error.dyn_ref::<js_sys::Error>().map_or_else(
                    || "it is not JSON".to_owned(),
                    |e| String::from(e.message()),
                )
            })
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        serde_json::from_str::<serde_json::Value>(text)
            .map(Json::from)
            .map_err(|e| e.to_string())
    }
}

/// A value as JSON sees it: what `JSON.stringify` would keep of it, read back. Anything
/// JSON has no word for (`undefined`, functions) is null, as are NaN and the infinities.
pub fn from_js(value: &JsValue) -> Json {
    if let Some(flag) = value.as_bool() {
        Json::Bool(flag)
    } else if let Some(number) = value.as_f64() {
        if number.is_finite() {
            Json::Number(number)
        } else {
            Json::Null
        }
    } else if let Some(text) = value.as_string() {
        Json::Text(text)
    } else if let Some(items) = value.dyn_ref::<js_sys::Array>() {
        Json::Array(items.iter().map(|item| from_js(&item)).collect())
    } else if let Some(object) = value.dyn_ref::<js_sys::Object>() {
        Json::Object(
            js_sys::Object::entries(object)
                .iter()
                .filter_map(|entry| {
                    let entry = entry.dyn_into::<js_sys::Array>().ok()?;
                    Some((entry.get(0).as_string()?, from_js(&entry.get(1))))
                })
                .collect(),
        )
    } else {
        Json::Null
    }
}

/// The value as a plain JavaScript value (objects, arrays, strings, numbers, booleans).
pub fn to_js(value: &Json) -> JsValue {
    match value {
        Json::Null => JsValue::NULL,
        Json::Bool(flag) => JsValue::from_bool(*flag),
        Json::Number(number) => JsValue::from_f64(*number),
        Json::Text(text) => JsValue::from_str(text),
        Json::Array(items) => items.iter().map(to_js).collect::<js_sys::Array>().into(),
        Json::Object(fields) => {
            let object = js_sys::Object::new();
            for (name, value) in fields {
                let _ = js_sys::Reflect::set(&object, &JsValue::from_str(name), &to_js(value));
            }
            object.into()
        }
    }
}

/// Reads a JavaScript value as JSON would: `JSON.stringify`, then [`from_js`]. The error
/// is a phrase for why it could not be written (a cycle, a BigInt).
pub fn from_js_as_json(value: &JsValue) -> Result<Json, String> {
    let text = js_sys::JSON::stringify(value)
        .ok()
        .and_then(|text| text.as_string())
        .ok_or_else(|| "they could not be read as JSON".to_owned())?;
    parse(&text)
}

/// The value as JSON text, written by the browser.
pub fn stringify(value: &Json) -> Option<String> {
    js_sys::JSON::stringify(&to_js(value)).ok()?.as_string()
}
