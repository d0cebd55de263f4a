//! JSON in the page through serde: the browser's `JSON.parse` reads the text and its
//! values go to the same serde types the server and native code read, so the page carries
//! no JSON text parser of its own; serde-wasm-bindgen writes values for a host page. Natively (the crate's own
//! tests) serde_json reads the text instead.

use serde::Serialize;
use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{DeserializeOwned, IntoDeserializer, Unexpected, Visitor};
use wasm_bindgen::{JsCast, JsValue};

/// Reads a JSON text into `T`. The error is a phrase for a sentence that names the text's
/// source: what is wrong, and at which field when it is inside one (`recipes[0].params`).
pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    #[cfg(target_arch = "wasm32")]
    {
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
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T, String> {
    serde_path_to_error::deserialize(Value(value)).map_err(at_field)
}

/// A JavaScript value as serde reads it: as JSON would describe it.
///
/// Written here rather than taken from serde-wasm-bindgen, whose reader looks a struct's
/// fields up by name and so passes over a misspelt one, where `deny_unknown_fields` must see
/// it. Going through serde_json's `Value` instead refused the typo too, but made the page's
/// first load 8.1 kB larger (brotli); this reader costs a fraction of that.
struct Value(JsValue);

/// Whole numbers up to 2^53 are read as integers, as a JSON reader of the text would,
/// so a count given `4.0` is 4.
const SAFE_INTEGER: f64 = 9_007_199_254_740_992.0;

impl<'de> serde::Deserializer<'de> for Value {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let value = self.0;
        if value.is_null() || value.is_undefined() {
            visitor.visit_unit()
        } else if let Some(flag) = value.as_bool() {
            visitor.visit_bool(flag)
        } else if let Some(n) = value.as_f64() {
            match n {
                n if n.fract() == 0.0 && (0.0..=SAFE_INTEGER).contains(&n) => {
                    visitor.visit_u64(n as u64)
                }
                n if n.fract() == 0.0 && (-SAFE_INTEGER..0.0).contains(&n) => {
                    visitor.visit_i64(n as i64)
                }
                n => visitor.visit_f64(n),
            }
        } else if let Some(text) = value.as_string() {
            visitor.visit_string(text)
        } else if let Some(items) = value.dyn_ref::<js_sys::Array>() {
            visitor.visit_seq(SeqDeserializer::new(items.iter().map(Value)))
        } else if let Some(object) = value.dyn_ref::<js_sys::Object>()
            && !value.is_function()
        {
            let entries: Vec<(String, Value)> = js_sys::Object::entries(object)
                .iter()
                .filter_map(|entry| {
                    let entry = entry.dyn_into::<js_sys::Array>().ok()?;
                    Some((entry.get(0).as_string()?, Value(entry.get(1))))
                })
                .collect();
            visitor.visit_map(MapDeserializer::new(entries.into_iter()))
        } else {
            Err(serde::de::Error::invalid_type(
                Unexpected::Other("a value JSON cannot hold"),
                &visitor,
            ))
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        if self.0.is_null() || self.0.is_undefined() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        // Only unit variants are read from JSON here, written as their names.
        match self.0.as_string() {
            Some(text) => text
                .into_deserializer()
                .deserialize_enum(name, variants, visitor),
            None => self.deserialize_any(visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

impl<'de> IntoDeserializer<'de, serde::de::value::Error> for Value {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
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
