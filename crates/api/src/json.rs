//! JSON values read without serde.
//!
//! The page reads its JSON (config.json, an embedding page's options, saved settings) with
//! the browser's `JSON.parse` and hands the result over as a [`Json`], so its first load
//! carries no JSON parser and no float parser. What the values mean is decided here, beside
//! the serde definitions of the same types, and the tests hold both readers to the same
//! answers.

use crate::format_number;
use crate::text::truncate_chars;

/// A parsed JSON value. Objects keep their fields in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// Why a JSON value could not be read, as a phrase for a sentence that names the file or
/// call it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    #[error("unknown field `{0}`")]
    UnknownField(String),
    #[error("`{field}` must be {expected}, not {found}")]
    Type {
        field: String,
        expected: &'static str,
        /// The value given, briefly: `"many"`, `3`, `null`, an array.
        found: String,
    },
    #[error("`{field}`: {message}")]
    Value { field: String, message: String },
    #[error("it must be an object, not {0}")]
    NotAnObject(&'static str),
}

impl Json {
    /// What kind of value this is, as a phrase: "a number", "null", …
    pub fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::Text(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }

    /// The value, briefly, for a sentence about it: strings quoted and cut to 40
    /// characters, numbers and words as written, arrays and objects by kind.
    pub fn brief(&self) -> String {
        match self {
            Json::Null => "null".to_owned(),
            Json::Bool(flag) => flag.to_string(),
            Json::Number(number) => format_number(*number),
            Json::Text(text) => format!("\"{}\"", truncate_chars(text, 40)),
            other => other.kind().to_owned(),
        }
    }

    /// The fields of an object, in order.
    pub fn fields(&self) -> Result<&[(String, Json)], JsonError> {
        match self {
            Json::Object(fields) => Ok(fields),
            other => Err(JsonError::NotAnObject(other.kind())),
        }
    }

    fn wrong(&self, field: &str, expected: &'static str) -> JsonError {
        JsonError::Type {
            field: field.to_owned(),
            expected,
            found: self.brief(),
        }
    }

    /// A string, for the field named `field` (named in the error).
    pub fn text(&self, field: &str) -> Result<String, JsonError> {
        match self {
            Json::Text(text) => Ok(text.clone()),
            other => Err(other.wrong(field, "a string")),
        }
    }

    /// What `read` makes of the value, or `None` for null: an optional field.
    pub fn optional<T>(
        &self,
        read: impl FnOnce(&Json) -> Result<T, JsonError>,
    ) -> Result<Option<T>, JsonError> {
        match self {
            Json::Null => Ok(None),
            value => read(value).map(Some),
        }
    }

    /// The value of the object's field `name`, if it is an object that has one.
    pub fn field(&self, name: &str) -> Option<&Json> {
        match self {
            Json::Object(fields) => fields.iter().find(|(key, _)| key == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A string or null.
    pub fn optional_text(&self, field: &str) -> Result<Option<String>, JsonError> {
        self.optional(|value| value.text(field))
    }

    /// A boolean or null.
    pub fn optional_bool(&self, field: &str) -> Result<Option<bool>, JsonError> {
        match self {
            Json::Null => Ok(None),
            Json::Bool(value) => Ok(Some(*value)),
            other => Err(other.wrong(field, "true or false")),
        }
    }

    /// A number or null.
    pub fn optional_number(&self, field: &str) -> Result<Option<f64>, JsonError> {
        match self {
            Json::Null => Ok(None),
            Json::Number(value) => Ok(Some(*value)),
            other => Err(other.wrong(field, "a number")),
        }
    }

    /// A whole number from 0 to 2^53 (the whole numbers JSON readers agree on), or null.
    pub fn optional_count(&self, field: &str) -> Result<Option<u64>, JsonError> {
        const MAX: f64 = 9_007_199_254_740_992.0;
        match self.optional_number(field) {
            Ok(Some(n)) if n.fract() == 0.0 && (0.0..=MAX).contains(&n) => Ok(Some(n as u64)),
            Ok(Some(n)) => Err(JsonError::Value {
                field: field.to_owned(),
                message: format!("{} is not a whole number from 0 up", format_number(n)),
            }),
            Ok(None) => Ok(None),
            Err(_) => Err(self.wrong(field, "a whole number")),
        }
    }
}

impl From<&str> for Json {
    fn from(text: &str) -> Self {
        Json::Text(text.to_owned())
    }
}

impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(value: Option<T>) -> Self {
        value.map_or(Json::Null, Into::into)
    }
}

impl From<String> for Json {
    fn from(text: String) -> Self {
        Json::Text(text)
    }
}

impl From<bool> for Json {
    fn from(value: bool) -> Self {
        Json::Bool(value)
    }
}

impl From<f64> for Json {
    fn from(value: f64) -> Self {
        Json::Number(value)
    }
}

/// serde_json's value as a [`Json`]: what a native reader of the same text gets.
impl From<serde_json::Value> for Json {
    fn from(value: serde_json::Value) -> Self {
        use serde_json::Value;
        match value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(b),
            Value::Number(n) => n.as_f64().map_or(Json::Null, Json::Number),
            Value::String(s) => Json::Text(s),
            Value::Array(items) => Json::Array(items.into_iter().map(Json::from).collect()),
            Value::Object(fields) => {
                Json::Object(fields.into_iter().map(|(k, v)| (k, v.into())).collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Json {
        serde_json::from_str::<serde_json::Value>(text)
            .map(Json::from)
            .unwrap()
    }

    #[test]
    fn readers_say_what_they_wanted_and_what_they_found() {
        assert_eq!(
            json(r#""x""#)
                .optional_bool("lockMode")
                .unwrap_err()
                .to_string(),
            "`lockMode` must be true or false, not \"x\""
        );
        assert_eq!(
            json("[]").optional_number("steps").unwrap_err().to_string(),
            "`steps` must be a number, not an array"
        );
        assert_eq!(
            json("1.5")
                .optional_count("maxUploadPixels")
                .unwrap_err()
                .to_string(),
            "`maxUploadPixels`: 1.5 is not a whole number from 0 up"
        );
        assert_eq!(
            json("-1")
                .optional_count("maxSourceBytes")
                .unwrap_err()
                .to_string(),
            "`maxSourceBytes`: -1 is not a whole number from 0 up"
        );
        assert_eq!(
            json("true")
                .optional_count("maxSourceBytes")
                .unwrap_err()
                .to_string(),
            "`maxSourceBytes` must be a whole number, not true"
        );
        assert_eq!(
            json("3").fields().unwrap_err().to_string(),
            "it must be an object, not a number"
        );
    }

    #[test]
    fn readers_take_their_values_and_null() {
        assert_eq!(json("null").optional_text("endpoint"), Ok(None));
        let object = json(r#"{"mode": "direct", "endpoint": null}"#);
        assert_eq!(object.field("mode"), Some(&Json::Text("direct".into())));
        assert_eq!(object.field("endpoint"), Some(&Json::Null));
        assert_eq!(object.field("key"), None);
        assert_eq!(json("[]").field("mode"), None);
        assert_eq!(
            json(r#""https://x""#).optional_text("endpoint"),
            Ok(Some("https://x".into()))
        );
        assert_eq!(json("false").optional_bool("lockMode"), Ok(Some(false)));
        assert_eq!(json("2.75").optional_number("guidance"), Ok(Some(2.75)));
        assert_eq!(json("4000000").optional_count("px"), Ok(Some(4_000_000)));
        assert_eq!(
            json("9007199254740992").optional_count("px"),
            Ok(Some(1 << 53))
        );
        assert!(json("9007199254740994").optional_count("px").is_err());
        assert_eq!(
            json(r#"{"a": [true, null], "b": 1}"#),
            Json::Object(vec![
                ("a".into(), Json::Array(vec![Json::Bool(true), Json::Null])),
                ("b".into(), Json::Number(1.0)),
            ])
        );
    }
}
