//! The body of `POST /api/features`: built from checked parameters, and read back from a
//! body by the proxy and the simulator.

use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value, json};

use crate::params::{AspectRatio, EditParams, Field, OutputFormat, Problem, Problems};
use crate::text::truncate_chars;
use crate::{FEATURE_TYPE, MODEL};

/// A checked edit request. Build it with [`EditParams::validate`] or
/// [`EditRequest::from_json`]; its fields are public so it can be shown and stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditRequest {
    #[serde(rename = "type")]
    pub kind: String,
    pub model: String,
    #[serde(rename = "promptObject")]
    pub prompt_object: PromptObject,
}

/// The parameters inside the request. `None` fields are left out of the body so the
/// provider applies its own defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptObject {
    #[serde(rename = "imageUrl")]
    pub image_url: String,
    pub prompt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<AspectRatio>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_format: Option<OutputFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_quality: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_guidance"
    )]
    pub guidance: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_tolerance: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_upsampling: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u32>,
}

/// `4`, not `4.0`: the body should read like the provider's own examples, and a whole
/// guidance must not look different from the same value typed as an integer.
fn serialize_guidance<S: Serializer>(guidance: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match *guidance {
        Some(g) if g.is_finite() && g.fract() == 0.0 && g.abs() < 9_007_199_254_740_992.0 => {
            s.serialize_i64(g as i64)
        }
        Some(g) => s.serialize_f64(g),
        None => s.serialize_none(),
    }
}

impl EditRequest {
    /// A request for this crate's feature type and model.
    pub fn new(prompt_object: PromptObject) -> Self {
        Self {
            kind: FEATURE_TYPE.to_owned(),
            model: MODEL.to_owned(),
            prompt_object,
        }
    }

    /// The exact compact body the page sends.
    pub fn to_json(&self) -> String {
        // Plain strings, numbers and options cannot fail to serialise; an empty body would
        // be refused by the provider rather than sent as something else.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The body of an asynchronous edit: the same bytes as [`EditRequest::to_json`] with
    /// `"async":true` after `promptObject`, at the top level where the provider reads it.
    /// The provider then answers at once with a `PROCESSING` record whose uuid is polled at
    /// [`crate::result_url`], so the edit survives a dropped connection.
    pub fn to_json_async(&self) -> String {
        let body = self.to_json();
        match body.strip_suffix('}') {
            Some(open) => format!("{open},\"{ASYNC_FIELD}\":true}}"),
            None => body,
        }
    }

    /// The parameters that produce this request, for "run again" and history.
    pub fn params(&self) -> EditParams {
        EditParams::from(&self.prompt_object)
    }

    /// Reads a body as the provider would: unknown fields are ignored, a field of the wrong
    /// JSON type is a problem rather than a parse failure, and every parameter is checked.
    pub fn from_json(body: &str) -> Result<EditRequest, RequestError> {
        let value: Value = serde_json::from_str(body)
            .map_err(|e| RequestError::Malformed(format!("the body is not valid JSON ({e})")))?;
        let Some(top) = value.as_object() else {
            return Err(RequestError::Malformed(
                "the body must be a JSON object".to_owned(),
            ));
        };

        let missing: Vec<&'static str> = ["type", "model", "promptObject"]
            .into_iter()
            .filter(|key| is_missing(top.get(*key)))
            .collect();
        if !missing.is_empty() {
            return Err(RequestError::MissingFields {
                fields: missing,
                problems: Problems::default(),
            });
        }
        if top.get("type").and_then(Value::as_str) != Some(FEATURE_TYPE) {
            return Err(RequestError::UnsupportedType);
        }
        match top.get("model") {
            Some(Value::String(m)) if m == MODEL => {}
            Some(Value::String(m)) => {
                return Err(RequestError::UnsupportedModel(truncate_chars(m, 100)));
            }
            other => {
                let shown = other.map(Value::to_string).unwrap_or_default();
                return Err(RequestError::UnsupportedModel(truncate_chars(&shown, 100)));
            }
        }
        let Some(object) = top.get("promptObject").and_then(Value::as_object) else {
            return Err(RequestError::Malformed(
                "promptObject must be a JSON object".to_owned(),
            ));
        };

        let (params, mut problems, missing) = lenient_params(object);
        match params.validate() {
            Ok(request) if problems.is_empty() && missing.is_empty() => Ok(request),
            result => {
                // Problems found while reading come first, so a field of the wrong type is
                // explained as such rather than as the empty value it was read as.
                if let Err(more) = result {
                    problems.extend(more);
                }
                let problems = Problems::new(problems);
                if missing.is_empty() {
                    Err(RequestError::Invalid(problems))
                } else {
                    Err(RequestError::MissingFields {
                        fields: missing,
                        problems,
                    })
                }
            }
        }
    }
}

/// The top-level field that asks for an asynchronous edit.
pub const ASYNC_FIELD: &str = "async";

/// Whether a features body asks for an asynchronous edit: `"async": true` at the top level.
/// Anything else (absent, `false`, a string) is the synchronous call, which is what the
/// provider does with a field it does not take as true.
pub fn wants_async(body: &str) -> bool {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|value| value.get(ASYNC_FIELD).and_then(Value::as_bool))
        .unwrap_or(false)
}

/// JavaScript's falsy test on a required value, which is what a missing field means to a
/// Node server.
fn is_missing(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(_) => false,
    }
}

fn lenient_params(object: &Map<String, Value>) -> (EditParams, Vec<Problem>, Vec<&'static str>) {
    let mut problems = Vec::new();
    let mut missing = Vec::new();
    let mut text = |field: Field, not_text: &str| match object.get(field.json_name()) {
        value if is_missing(value) => {
            missing.push(field.json_name());
            String::new()
        }
        Some(Value::String(s)) => s.clone(),
        _ => {
            problems.push(Problem::new(field, not_text));
            String::new()
        }
    };
    let image_url = text(
        Field::ImageUrl,
        "The image must be given as text: an asset path or an http(s) URL.",
    );
    let prompt = text(Field::Prompt, "The prompt must be given as text.");

    let absent = |field: Field| matches!(object.get(field.json_name()), None | Some(Value::Null));

    let aspect_ratio = match object.get(Field::AspectRatio.json_name()) {
        None | Some(Value::Null) => AspectRatio::MatchInput,
        Some(value) => match value.as_str().map(str::parse::<AspectRatio>) {
            Some(Ok(a)) => a,
            _ => {
                problems.push(Problem::new(
                    Field::AspectRatio,
                    format!(
                        "Aspect ratio must be one of: {}.",
                        Field::AspectRatio.allowed()
                    ),
                ));
                AspectRatio::MatchInput
            }
        },
    };
    let output_format = match object.get(Field::OutputFormat.json_name()) {
        None | Some(Value::Null) => None,
        Some(value) => match value.as_str().map(str::parse::<OutputFormat>) {
            Some(Ok(f)) => Some(f),
            _ => {
                problems.push(Problem::new(
                    Field::OutputFormat,
                    "Output format must be jpg or png.",
                ));
                None
            }
        },
    };
    let prompt_upsampling = match object.get(Field::PromptUpsampling.json_name()) {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            problems.push(Problem::new(
                Field::PromptUpsampling,
                "Prompt upsampling must be true or false.",
            ));
            None
        }
    };
    // A number field of another JSON type is held as NaN, which validation then explains
    // with the same sentence as any other out-of-range value.
    let number = |field: Field| {
        if absent(field) {
            None
        } else {
            Some(
                object
                    .get(field.json_name())
                    .and_then(Value::as_f64)
                    .unwrap_or(f64::NAN),
            )
        }
    };

    let params = EditParams {
        image_url,
        prompt,
        aspect_ratio,
        output_format,
        output_quality: number(Field::OutputQuality),
        steps: number(Field::Steps),
        guidance: number(Field::Guidance),
        safety_tolerance: number(Field::SafetyTolerance),
        prompt_upsampling,
        seed: number(Field::Seed),
    };
    (params, problems, missing)
}

/// Why a request body was refused, in terms the provider would answer with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not JSON, not an object, or `promptObject` not an object.
    #[error("Invalid request body: {0}")]
    Malformed(String),
    /// Required fields (`type`, `model`, `promptObject`, `imageUrl`, `prompt`) are absent
    /// or empty. `problems` holds every other problem of the parameters as well.
    #[error("Missing required fields: {}", .fields.join(", "))]
    MissingFields {
        fields: Vec<&'static str>,
        problems: Problems,
    },
    #[error("Type must be IMAGE_EDITOR")]
    UnsupportedType,
    /// The model named in the body (shortened if long).
    #[error("Model {0} is not supported")]
    UnsupportedModel(String),
    #[error("Invalid parameters: {0}")]
    Invalid(Problems),
}

impl RequestError {
    /// The provider-style `errorCode`.
    pub fn error_code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "INVALID_REQUEST",
            Self::MissingFields { .. } => "MISSING_REQUIRED_FIELDS",
            Self::UnsupportedType => "UNSUPPORTED_TYPE",
            Self::UnsupportedModel(_) => "UNSUPPORTED_MODEL",
            // The provider passes parameters on to the model host, which refuses them; the
            // provider wraps that refusal.
            Self::Invalid(_) => WRAPPED_HOST_ERROR,
        }
    }

    /// The provider-style `message`, e.g. "Missing required fields: prompt".
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// The provider-style `details`: for missing fields a JSON array in a string, one entry
    /// per field; for parameters the model host refused, the host's answer in a string.
    pub fn details(&self) -> Option<String> {
        match self {
            Self::MissingFields { fields, .. } => {
                let entries: Vec<Value> = fields
                    .iter()
                    .map(|f| json!({"field": f, "message": format!("{f} is required")}))
                    .collect();
                Some(Value::Array(entries).to_string())
            }
            Self::Invalid(problems) => {
                let cause = problems
                    .iter()
                    .map(|p| p.message.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                Some(host_details(
                    "InvalidParameter",
                    &cause,
                    &request_id_for(&cause),
                ))
            }
            _ => None,
        }
    }

    /// The HTTP status the provider answers with.
    pub fn status(&self) -> u16 {
        400
    }

    /// The problems with the parameters, when the body got as far as being checked.
    pub fn problems(&self) -> Option<&Problems> {
        match self {
            Self::MissingFields { problems, .. } | Self::Invalid(problems) => Some(problems),
            _ => None,
        }
    }

    /// The whole error body, `{"errorCode", "message", "details"?, "context"?}`, as the
    /// provider sends it.
    pub fn error_body(&self) -> String {
        if let (Self::Invalid(_), Some(details)) = (self, self.details()) {
            return host_error_body_with(details);
        }
        let mut body = Map::new();
        body.insert("errorCode".into(), self.error_code().into());
        body.insert("message".into(), self.message().into());
        if let Some(details) = self.details() {
            body.insert("details".into(), details.into());
        }
        Value::Object(body).to_string()
    }
}

/// The `errorCode` of the provider's wrapper around a refusal of the model host behind it.
pub const WRAPPED_HOST_ERROR: &str = "EXTERNAL_API_RESPONSE_WITH_ERROR";

/// `context.service` of that wrapper: the model host.
pub const HOST_SERVICE: &str = "black-forest-labs";

/// The wrapper's `message`, as captured live: canned, whatever the cause.
pub const HOST_WRAPPER_MESSAGE: &str = "The black-forest-labs service is a bit busy right now or facing a temporary issue. Please try again shortly. We appreciate your patience!";

/// The host's internal route, as the wrapper leaks it in `details.request.url`.
const HOST_INTERNAL_PATH: &str = "/v1/internal/flux-2-flex/edit";

/// The provider's body for a refusal by the model host, in the shape captured live
/// (`fixtures/error-400-details-nested.json`): the canned message, `context.service`, and
/// `details` = a string holding the host's answer (`response.data.message` is the cause)
/// beside its request id and internal path, which a client must never show.
pub fn host_error_body(host_code: &str, cause: &str, request_id: &str) -> String {
    host_error_body_with(host_details(host_code, cause, request_id))
}

fn host_error_body_with(details: String) -> String {
    json!({
        "errorCode": WRAPPED_HOST_ERROR,
        "message": HOST_WRAPPER_MESSAGE,
        "context": {"service": HOST_SERVICE},
        "details": details,
    })
    .to_string()
}

fn host_details(host_code: &str, cause: &str, request_id: &str) -> String {
    json!({
        "response": {
            "status": 400,
            "data": {"request_id": request_id, "code": host_code, "message": cause},
        },
        "request": {"method": "post", "url": HOST_INTERNAL_PATH},
    })
    .to_string()
}

/// A request id for a refusal decided from its cause alone (FNV-1a, 32 bits in hex): the
/// same refusal reads the same, as a check that needs no counter can give it.
fn request_id_for(cause: &str) -> String {
    let hash = cause.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    format!("{hash:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(prompt_object: Value) -> String {
        json!({"type": "IMAGE_EDITOR", "model": MODEL, "promptObject": prompt_object}).to_string()
    }

    #[test]
    fn guidance_is_an_integer_when_whole() {
        let mut p = EditParams {
            image_url: "images/a.png".into(),
            prompt: "x".into(),
            guidance: Some(4.0),
            ..EditParams::default()
        };
        assert!(p.validate().unwrap().to_json().contains(r#""guidance":4}"#));
        p.guidance = Some(3.5);
        assert!(
            p.validate()
                .unwrap()
                .to_json()
                .contains(r#""guidance":3.5}"#)
        );
    }

    #[test]
    fn field_order_is_the_documented_one() {
        let p = EditParams {
            image_url: "images/a.png".into(),
            prompt: "x".into(),
            aspect_ratio: AspectRatio::Landscape16x9,
            output_format: Some(OutputFormat::Jpg),
            output_quality: Some(90.0),
            steps: Some(30.0),
            guidance: Some(2.5),
            safety_tolerance: Some(2.0),
            prompt_upsampling: Some(false),
            seed: Some(42.0),
        };
        assert_eq!(
            p.validate().unwrap().to_json(),
            r#"{"type":"IMAGE_EDITOR","model":"black-forest-labs/flux-2-flex","promptObject":{"imageUrl":"images/a.png","prompt":"x","aspect_ratio":"16:9","output_format":"jpg","output_quality":90,"steps":30,"guidance":2.5,"safety_tolerance":2,"prompt_upsampling":false,"seed":42}}"#
        );
        assert_eq!(p.validate().unwrap().params(), p);
    }

    #[test]
    fn the_async_body_adds_one_field_at_the_top_level() {
        let p = EditParams {
            image_url: "images/a.png".into(),
            prompt: "x".into(),
            seed: Some(7.0),
            ..EditParams::default()
        };
        let request = p.validate().unwrap();
        assert_eq!(
            request.to_json_async(),
            r#"{"type":"IMAGE_EDITOR","model":"black-forest-labs/flux-2-flex","promptObject":{"imageUrl":"images/a.png","prompt":"x","seed":7},"async":true}"#
        );
        assert!(wants_async(&request.to_json_async()));
        assert!(!wants_async(&request.to_json()));
        assert_eq!(
            EditRequest::from_json(&request.to_json_async()),
            Ok(request)
        );
        for body in [
            r#"{"async":"true"}"#,
            r#"{"async":1}"#,
            r#"{"async":false}"#,
            r#"{"promptObject":{"async":true}}"#,
            "[]",
            "not json",
        ] {
            assert!(!wants_async(body), "{body}");
        }
    }

    #[test]
    fn type_and_model_are_checked_first() {
        assert_eq!(
            EditRequest::from_json(r#"{"type":"CHAT","model":"x","promptObject":{}}"#),
            Err(RequestError::UnsupportedType)
        );
        let err = EditRequest::from_json(
            r#"{"type":"IMAGE_EDITOR","model":"this-model-does-not-exist","promptObject":{}}"#,
        )
        .unwrap_err();
        assert_eq!(
            err,
            RequestError::UnsupportedModel("this-model-does-not-exist".into())
        );
        assert_eq!(err.error_code(), "UNSUPPORTED_MODEL");
        assert_eq!(
            err.message(),
            "Model this-model-does-not-exist is not supported"
        );
        assert_eq!(
            EditRequest::from_json(r#"{"type":"IMAGE_EDITOR","model":7,"promptObject":{}}"#),
            Err(RequestError::UnsupportedModel("7".into()))
        );
    }

    #[test]
    fn missing_top_level_fields() {
        let err = EditRequest::from_json(r#"{"type":"IMAGE_EDITOR"}"#).unwrap_err();
        assert_eq!(err.error_code(), "MISSING_REQUIRED_FIELDS");
        assert_eq!(
            err.message(),
            "Missing required fields: model, promptObject"
        );
    }

    #[test]
    fn malformed_bodies() {
        for bad in ["", "nope", "[]", "null", "42", r#"{"type":"IMAGE_EDITOR","#] {
            let err = EditRequest::from_json(bad).unwrap_err();
            assert!(matches!(err, RequestError::Malformed(_)), "{bad}");
            assert_eq!(err.status(), 400);
        }
        let err = EditRequest::from_json(&format!(
            r#"{{"type":"IMAGE_EDITOR","model":"{MODEL}","promptObject":"x"}}"#
        ))
        .unwrap_err();
        assert!(matches!(err, RequestError::Malformed(_)));
    }

    #[test]
    fn wrong_json_types_become_problems() {
        let err = EditRequest::from_json(&body(json!({
            "imageUrl": 5,
            "prompt": ["x"],
            "aspect_ratio": "4:3",
            "output_format": "gif",
            "output_quality": "90",
            "steps": true,
            "guidance": {},
            "safety_tolerance": 2.5,
            "prompt_upsampling": "yes",
            "seed": -1,
        })))
        .unwrap_err();
        let RequestError::Invalid(problems) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(problems.len(), 10);
        assert_eq!(
            problems.for_field(Field::Prompt).unwrap().message,
            "The prompt must be given as text."
        );
        assert_eq!(
            problems.for_field(Field::Steps).unwrap().message,
            "Steps must be a whole number between 1 and 50."
        );
        assert_eq!(err.error_code(), "EXTERNAL_API_RESPONSE_WITH_ERROR");
        let details: Value = serde_json::from_str(&err.details().unwrap()).unwrap();
        let cause = details["response"]["data"]["message"].as_str().unwrap();
        assert!(cause.contains("Steps must be a whole number between 1 and 50."));
        let body: Value = serde_json::from_str(&err.error_body()).unwrap();
        assert_eq!(body["context"]["service"], "black-forest-labs");
    }

    #[test]
    fn missing_prompt_answers_like_the_provider() {
        let err = EditRequest::from_json(&body(json!({"imageUrl": "images/a.png", "steps": 0})))
            .unwrap_err();
        assert_eq!(err.message(), "Missing required fields: prompt");
        assert_eq!(
            err.details().unwrap(),
            r#"[{"field":"prompt","message":"prompt is required"}]"#
        );
        let problems = err.problems().unwrap();
        assert!(problems.for_field(Field::Prompt).is_some());
        assert!(problems.for_field(Field::Steps).is_some());
        let err =
            EditRequest::from_json(&body(json!({"imageUrl": "", "prompt": null}))).unwrap_err();
        assert_eq!(err.message(), "Missing required fields: imageUrl, prompt");
    }

    #[test]
    fn unknown_fields_and_nulls_are_ignored() {
        let request = EditRequest::from_json(&body(json!({
            "imageUrl": "images/a.png",
            "prompt": "x",
            "async": true,
            "aspect_ratio": null,
            "seed": null,
            "steps": 30.0,
        })))
        .unwrap();
        assert_eq!(request.prompt_object.steps, Some(30));
        assert_eq!(request.prompt_object.seed, None);
        assert_eq!(request.prompt_object.aspect_ratio, None);
    }

    #[test]
    fn explicit_match_input_is_the_default() {
        let request = EditRequest::from_json(&body(json!({
            "imageUrl": "images/a.png",
            "prompt": "x",
            "aspect_ratio": "match_input_image",
        })))
        .unwrap();
        assert_eq!(request.prompt_object.aspect_ratio, None);
    }

    #[test]
    fn error_body_shape() {
        let err = RequestError::UnsupportedModel("m".into());
        assert_eq!(
            err.error_body(),
            r#"{"errorCode":"UNSUPPORTED_MODEL","message":"Model m is not supported"}"#
        );
    }
}
