//! The result record of an asynchronous edit: its id, as the provider names it, and the
//! route that answers for it, `GET {endpoint}/api/results/{uuid}`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::text::{one_line, truncate_chars};

/// The route of a record, before its id.
pub const RESULTS_ROUTE: &str = "/api/results/";

/// The id of an edit record as the provider returned it: a canonical uuid,
/// `8-4-4-4-12` hexadecimal digits. Only such a string is put into a URL, so a damaged or
/// hostile id can never reach another route.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RecordId(String);

impl RecordId {
    /// Checks an id; its letters keep their case, as the provider expects its own id back.
    pub fn parse(text: &str) -> Result<Self, RecordIdError> {
        if is_canonical_uuid(text) {
            Ok(Self(text.to_owned()))
        } else {
            Err(RecordIdError {
                shown: truncate_chars(&one_line(text), 40),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RecordId {
    type Error = RecordIdError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<RecordId> for String {
    fn from(id: RecordId) -> Self {
        id.0
    }
}

/// A string that is not the id of a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "“{shown}” is not the id of an edit record: the provider names records like b7c8d9e0-1111-4000-8000-00000000a51c."
)]
pub struct RecordIdError {
    /// The refused text, on one line and shortened.
    pub shown: String,
}

impl RecordIdError {
    /// What the person can do about it.
    pub fn next_step(&self) -> &'static str {
        "Use the id exactly as the provider returned it when the edit was sent; look for the edit in your 1min.ai history if it was lost."
    }
}

fn is_canonical_uuid(text: &str) -> bool {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let mut parts = text.split('-');
    let fits = GROUPS.iter().all(|len| {
        parts
            .next()
            .is_some_and(|part| part.len() == *len && part.bytes().all(|b| b.is_ascii_hexdigit()))
    });
    fits && parts.next().is_none()
}

/// `GET {base}/api/results/{uuid}`, where an asynchronous edit is polled. `base` is the
/// endpoint the page calls (the provider or a proxy), with or without a trailing slash.
pub fn result_url(base: &str, uuid: &str) -> Result<String, RecordIdError> {
    let id = RecordId::parse(uuid)?;
    Ok(format!(
        "{}{RESULTS_ROUTE}{id}",
        base.trim().trim_end_matches('/')
    ))
}

/// The record id a request path names, when it is exactly the result route of one record:
/// what a proxy forwards and a simulator answers.
pub fn record_in_path(path: &str) -> Option<RecordId> {
    RecordId::parse(path.strip_prefix(RESULTS_ROUTE)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "b7c8d9e0-1111-4000-8000-00000000a51c";

    #[test]
    fn result_urls() {
        let want = format!("https://api.1min.ai/api/results/{ID}");
        assert_eq!(result_url("https://api.1min.ai", ID).unwrap(), want);
        assert_eq!(result_url(" https://api.1min.ai/ ", ID).unwrap(), want);
        assert_eq!(result_url("", ID).unwrap(), format!("/api/results/{ID}"));
        let upper = ID.to_ascii_uppercase();
        assert!(result_url("", &upper).unwrap().ends_with(&upper));
    }

    #[test]
    fn only_canonical_uuids() {
        for bad in [
            "",
            "b7c8d9e0111140008000000000a51c00",
            "b7c8d9e0-1111-4000-8000-00000000a51",
            "b7c8d9e0-1111-4000-8000-00000000a51cc",
            "b7c8d9e0-1111-4000-8000-00000000a51c-",
            "{b7c8d9e0-1111-4000-8000-00000000a51c}",
            " b7c8d9e0-1111-4000-8000-00000000a51c",
            "g7c8d9e0-1111-4000-8000-00000000a51c",
            "b7c8d9e0-1111-4000-8000-00000000a5/c",
            "../../features",
            "b7c8d9e0-1111-4000-8000-0000000a51c%",
            "b7c8d9e0-1111-4000-8000-00000000a51c?x=1",
            "b7c8d9e0-1111-4000-8000-00000000a51\u{0661}",
        ] {
            let err = result_url("https://x", bad).unwrap_err();
            assert!(err.to_string().ends_with('.'), "{err}");
            assert!(!err.next_step().is_empty());
        }
        let err = RecordId::parse("a\nb").unwrap_err();
        assert_eq!(err.shown, "a b");
    }

    #[test]
    fn paths_name_one_record() {
        assert_eq!(
            record_in_path(&format!("/api/results/{ID}")).map(String::from),
            Some(ID.to_owned())
        );
        assert_eq!(record_in_path(&format!("/api/results/{ID}/x")), None);
        assert_eq!(record_in_path("/api/results/"), None);
        assert_eq!(record_in_path(&format!("/api/result/{ID}")), None);
    }

    #[test]
    fn ids_round_trip_through_serde() {
        let id = RecordId::parse(ID).unwrap();
        let text = serde_json::to_string(&id).unwrap();
        assert_eq!(text, format!("\"{ID}\""));
        assert_eq!(serde_json::from_str::<RecordId>(&text).unwrap(), id);
        assert!(serde_json::from_str::<RecordId>("\"nope\"").is_err());
    }
}
