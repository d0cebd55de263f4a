//! JSON in the page through serde: the browser's `JSON.parse` reads the text and its
//! values go to the same serde types the server and native code read, so the page carries
//! no JSON text parser of its own; serde-wasm-bindgen writes values for a host page. Natively (the crate's own
//! tests) serde_json reads the text instead.

use serde::Serialize;
use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{DeserializeOwned, Expected, IntoDeserializer, Unexpected, Visitor};
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
/// it. Measured on the release build's first load (brotli): going through serde_json's
/// `Value` instead refused the typo too but added 8.1 kB; with this reader the first load
/// is 1.6 kB above the hand-written JSON value type it replaced. Each method visits only
/// the kind it asks for and refuses the rest in one shared function, so a type's reader
/// carries no visits it never makes.
struct Value(JsValue);

type Error = serde::de::value::Error;

/// Whole numbers up to 2^53 are read as integers, as a JSON reader of the text would,
/// so a count given `4.0` is 4.
const SAFE_INTEGER: f64 = 9_007_199_254_740_992.0;

/// The refusal of `value` where `expected` was wanted, in serde's words.
fn wrong(value: &JsValue, expected: &dyn Expected) -> Error {
    let (number, text);
    let unexpected = if value.is_null() || value.is_undefined() {
        Unexpected::Unit
    } else if let Some(flag) = value.as_bool() {
        Unexpected::Bool(flag)
    } else if let Some(n) = value.as_f64() {
        number = format!("number {}", flexedit_api::format_number(n));
        Unexpected::Other(&number)
    } else if let Some(given) = value.as_string() {
        text = given;
        Unexpected::Str(&text)
    } else if js_sys::Array::is_array(value) {
        Unexpected::Seq
    } else if value.is_function() {
        Unexpected::Other("a function")
    } else {
        Unexpected::Map
    };
    serde::de::Error::invalid_type(unexpected, expected)
}

impl Value {
    fn is_nothing(&self) -> bool {
        self.0.is_null() || self.0.is_undefined()
    }

    fn entries(&self) -> Option<Vec<(String, Value)>> {
        if js_sys::Array::is_array(&self.0) || self.0.is_function() {
            return None;
        }
        let object = self.0.dyn_ref::<js_sys::Object>()?;
        Some(
            js_sys::Object::entries(object)
                .iter()
                .filter_map(|entry| {
                    let entry = entry.dyn_into::<js_sys::Array>().ok()?;
                    Some((entry.get(0).as_string()?, Value(entry.get(1))))
                })
                .collect(),
        )
    }

    fn whole(&self) -> Option<f64> {
        self.0
            .as_f64()
            .filter(|n| n.fract() == 0.0 && (-SAFE_INTEGER..=SAFE_INTEGER).contains(n))
    }
}

impl<'de> serde::Deserializer<'de> for Value {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.is_nothing() {
            visitor.visit_unit()
        } else if let Some(flag) = self.0.as_bool() {
            visitor.visit_bool(flag)
        } else if let Some(n) = self.whole() {
            if n < 0.0 {
                visitor.visit_i64(n as i64)
            } else {
                visitor.visit_u64(n as u64)
            }
        } else if let Some(n) = self.0.as_f64() {
            visitor.visit_f64(n)
        } else if self.0.is_string() {
            self.deserialize_string(visitor)
        } else if js_sys::Array::is_array(&self.0) {
            self.deserialize_seq(visitor)
        } else {
            self.deserialize_map(visitor)
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0.as_bool() {
            Some(flag) => visitor.visit_bool(flag),
            None => Err(wrong(&self.0, &visitor)),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0.as_f64() {
            Some(n) => visitor.visit_f64(n),
            None => Err(wrong(&self.0, &visitor)),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.whole() {
            Some(n) if n >= 0.0 => visitor.visit_u64(n as u64),
            Some(n) => visitor.visit_i64(n as i64),
            None => Err(wrong(&self.0, &visitor)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0.as_string() {
            Some(text) => visitor.visit_string(text),
            None => Err(wrong(&self.0, &visitor)),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.is_nothing() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.is_nothing() {
            visitor.visit_unit()
        } else {
            Err(wrong(&self.0, &visitor))
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0.dyn_ref::<js_sys::Array>() {
            Some(items) => visitor.visit_seq(SeqDeserializer::new(items.iter().map(Value))),
            None => Err(wrong(&self.0, &visitor)),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.entries() {
            Some(entries) => visitor.visit_map(MapDeserializer::new(entries.into_iter())),
            None => Err(wrong(&self.0, &visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        // Every field the object has, so that an unknown one is seen.
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        // Only unit variants are read from JSON here, written as their names.
        match self.0.as_string() {
            Some(text) => text
                .into_deserializer()
                .deserialize_enum(name, variants, visitor),
            None => Err(wrong(&self.0, &visitor)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u8 u16 u32 u128 char bytes byte_buf unit_struct tuple
        tuple_struct
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
