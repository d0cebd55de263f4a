//! Properties over arbitrary input: valid requests round-trip exactly, and no input makes
//! any check or parser panic (a panic in the page kills the app).

use flexedit_api::{
    AspectRatio, EditOutcome, EditParams, EditRequest, FEATURE_TYPE, Field, ImageRef, MODEL,
    OutputFormat, PROMPT_MAX_CHARS, RequestError, Stage, check_image_ref, check_source,
    download_file_name, fit_within, jpeg_orientation, parse_asset_upload, parse_edit_response,
    parse_result_response, presigned_expiry, result_url, retry_after_seconds, sniff,
    upload_file_name,
};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn valid_params() -> impl Strategy<Value = EditParams> {
    (
        prop_oneof![
            "images/[a-z0-9_]{1,20}\\.(png|jpg)",
            "development/images/[0-9_]{1,30}[a-z]{1,8}\\.png",
            "https?://[a-z]{1,10}(\\.[a-z]{2,5}){1,2}(:[0-9]{1,4})?/[a-zA-Z0-9/%._~-]{0,30}(\\?[a-z]=[a-z0-9&=]{0,10})?",
        ],
        "[^\\p{Cc}]{0,200}".prop_filter("a prompt says something", |s| !s.trim().is_empty()),
        prop::sample::select(AspectRatio::ALL.to_vec()),
        prop::option::of(prop::sample::select(OutputFormat::ALL.to_vec())),
        prop::option::of(0u32..=100),
        prop::option::of(1u32..=50),
        prop::option::of(prop_oneof![2.0f64..=5.0, (2u32..=5).prop_map(f64::from)]),
        prop::option::of(1u32..=6),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<u32>()),
    )
        .prop_map(
            |(
                image_url,
                prompt,
                aspect_ratio,
                output_format,
                output_quality,
                steps,
                guidance,
                safety_tolerance,
                prompt_upsampling,
                seed,
            )| EditParams {
                image_url,
                prompt,
                aspect_ratio,
                output_format,
                output_quality: output_quality.map(f64::from),
                steps: steps.map(f64::from),
                guidance,
                safety_tolerance: safety_tolerance.map(f64::from),
                prompt_upsampling,
                seed: seed.map(f64::from),
            },
        )
}

/// Numbers a form can hold: edges, non-finite values, fractions and anything else.
fn any_number() -> impl Strategy<Value = Option<f64>> {
    prop::option::of(prop_oneof![
        any::<f64>(),
        prop::sample::select(vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            0.0,
            0.5,
            1.0,
            1.5,
            2.0,
            5.0,
            6.0,
            50.0,
            50.5,
            51.0,
            100.0,
            101.0,
            4_294_967_295.0,
            4_294_967_296.0,
            -1.0,
            f64::MAX,
            f64::MIN_POSITIVE,
        ]),
        (-10i64..120).prop_map(|v| v as f64),
    ])
}

fn any_params() -> impl Strategy<Value = EditParams> {
    (
        prop_oneof![any::<String>(), "[ -~]{0,40}", Just(String::new())],
        prop_oneof![any::<String>(), "\\PC{0,40}", Just(" ".repeat(3))],
        prop::sample::select(AspectRatio::ALL.to_vec()),
        prop::option::of(prop::sample::select(OutputFormat::ALL.to_vec())),
        any_number(),
        any_number(),
        any_number(),
        any_number(),
        prop::option::of(any::<bool>()),
        any_number(),
    )
        .prop_map(|(i, p, a, f, q, st, g, sa, u, se)| EditParams {
            image_url: i,
            prompt: p,
            aspect_ratio: a,
            output_format: f,
            output_quality: q,
            steps: st,
            guidance: g,
            safety_tolerance: sa,
            prompt_upsampling: u,
            seed: se,
        })
}

const KEYS: &[&str] = &[
    "aiRecord",
    "status",
    "temporaryUrl",
    "aiRecordDetail",
    "resultObject",
    "promptObject",
    "teamUser",
    "creditLimit",
    "usedCredit",
    "uuid",
    "code",
    "message",
    "details",
    "error",
    "errorCode",
    "success",
    "fileContent",
    "path",
    "asset",
    "key",
    "type",
    "model",
    "imageUrl",
    "prompt",
    "steps",
    "guidance",
    "seed",
    "aspect_ratio",
    "output_format",
    "output_quality",
    "safety_tolerance",
    "prompt_upsampling",
];

const STRINGS: &[&str] = &[
    "SUCCESS",
    "FAILURE",
    "FAILED",
    "PROCESSING",
    "INSUFFICIENT_CREDITS",
    "UNSUPPORTED_MODEL",
    "IMAGE_EDITOR",
    "black-forest-labs/flux-2-flex",
    "images/a.png",
    "https://x.example/a.png?X-Amz-Date=20260101T000000Z&X-Amz-Expires=60",
    "https://x.example/a.png?X-Amz-Date=99999999T999999Z&X-Amz-Expires=9",
    "{\"message\":\"inner\"}",
    "[{\"message\":\"a\"},\"b\",{\"error\":{\"message\":\"c\"}}]",
    "\"{\\\"message\\\":\\\"nested\\\"}\"",
    "16:9",
    "jpg",
    "<html><title>x</title>",
    "",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::from),
        prop::sample::select(STRINGS.to_vec()).prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        4 => prop::sample::select(KEYS.to_vec()).prop_map(str::to_owned),
                        1 => ".{0,6}",
                    ],
                    inner
                ),
                0..8
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn any_body() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        json_value().prop_map(|v| v.to_string()),
        json_value().prop_map(|v| serde_json::json!({"aiRecord": v}).to_string()),
        json_value().prop_map(|v| {
            serde_json::json!({"aiRecord": {"status": "SUCCESS", "temporaryUrl": v}}).to_string()
        }),
        "<(!DOCTYPE html|html|HTML)>.{0,40}(<title>.{0,20}(</title>)?)?",
    ]
}

fn any_status() -> impl Strategy<Value = u16> {
    prop_oneof![
        prop::sample::select(vec![
            0u16, 200, 201, 202, 204, 400, 401, 402, 403, 404, 413, 429, 500, 502, 503, 504
        ]),
        any::<u16>(),
    ]
}

/// What the provider's host keeps under `request_id` and `request`: every string in it
/// carries the marker, which nothing else generated here can spell.
fn internals() -> impl Strategy<Value = Value> {
    let marker = "ZQXW[0-9]{1,6}".prop_map(Value::from);
    let leaf = prop_oneof![
        marker.clone(),
        marker
            .clone()
            .prop_map(|m| serde_json::json!({"url": m, "method": "post"})),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            inner.clone().prop_map(|v| Value::String(v.to_string())),
            inner.prop_map(|v| serde_json::json!({"url": v})),
        ]
    })
}

/// Arbitrary JSON as the provider nests it in `details`: objects, arrays, strings holding
/// JSON holding strings…, with internals at any depth.
fn nested_details() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        "[a-z0-9 .:;]{0,16}".prop_map(Value::from),
        Just(Value::Null),
        any::<i32>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 64, 5, |inner| {
        let key = prop::sample::select(vec![
            "message",
            "data",
            "response",
            "error",
            "details",
            "code",
            "errorCode",
            "field",
            "status",
            "detail",
            "msg",
            "errorMessage",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            inner.clone().prop_map(|v| Value::String(v.to_string())),
            (
                prop::collection::vec((key, inner), 0..5),
                prop::option::of(internals()),
                prop::option::of(internals()),
            )
                .prop_map(|(fields, request_id, request)| {
                    let mut object: Map<String, Value> =
                        fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                    if let Some(id) = request_id {
                        object.insert("request_id".into(), id);
                    }
                    if let Some(request) = request {
                        object.insert("request".into(), request);
                    }
                    Value::Object(object)
                }),
        ]
    })
}

/// Everything of an outcome a person can read.
fn shown_text(outcome: &EditOutcome) -> String {
    match outcome {
        EditOutcome::Failed(e) => format!(
            "{e} {} {}",
            e.next_step(),
            e.provider_words().unwrap_or_default()
        ),
        _ => String::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn nested_details_never_show_internals(
        details in nested_details(),
        message in nested_details(),
        code in prop::option::of(prop::sample::select(vec!["EXTERNAL_API_RESPONSE_WITH_ERROR", "MISSING_REQUIRED_FIELDS", "X"])),
        status in prop::sample::select(vec![200u16, 400, 404, 422, 429, 500, 502, 522]),
    ) {
        let mut body = serde_json::json!({
            "message": message,
            "details": details,
            "context": {"service": "black-forest-labs"},
        });
        if let (Some(code), Some(object)) = (code, body.as_object_mut()) {
            object.insert("errorCode".into(), code.into());
        }
        let outcome = parse_edit_response(status, &body.to_string());
        let text = shown_text(&outcome);
        prop_assert!(!text.contains("ZQXW"), "{}", text);
        // The same JSON as a failed record's reasons.
        let record = serde_json::json!({"aiRecord": {
            "status": "FAILURE",
            "aiRecordDetail": {"errorMessage": body["details"], "resultObject": body["message"]},
        }});
        let text = shown_text(&parse_edit_response(200, &record.to_string()));
        prop_assert!(!text.contains("ZQXW"), "{}", text);
        let listed = serde_json::json!({"aiRecord": {
            "status": "FAILED",
            "aiRecordDetail": {"resultObject": [body["details"]]},
        }});
        let text = shown_text(&parse_edit_response(200, &listed.to_string()));
        prop_assert!(!text.contains("ZQXW"), "{}", text);
    }

    #[test]
    fn valid_parameters_round_trip_through_json(params in valid_params()) {
        let request = params.validate().expect("valid parameters validate");
        let body = request.to_json();
        let back = EditRequest::from_json(&body).expect("the body reads back");
        prop_assert_eq!(&back, &request);
        prop_assert_eq!(back.to_json(), body);
        // The stored parameters of a request produce that request again.
        prop_assert_eq!(request.params().validate().unwrap(), request);
    }

    #[test]
    fn validation_never_panics_and_is_consistent(params in any_params()) {
        match params.validate() {
            Ok(request) => {
                let object = &request.prompt_object;
                prop_assert!(!object.prompt.trim().is_empty());
                prop_assert!(object.prompt.chars().count() <= PROMPT_MAX_CHARS);
                prop_assert!(object.steps.is_none_or(|s| (1..=50).contains(&s)));
                prop_assert!(object.output_quality.is_none_or(|q| q <= 100));
                prop_assert!(object.safety_tolerance.is_none_or(|s| (1..=6).contains(&s)));
                prop_assert!(object.guidance.is_none_or(|g| (2.0..=5.0).contains(&g)));
                prop_assert!(check_image_ref(&object.image_url).is_ok());
                prop_assert_eq!(EditRequest::from_json(&request.to_json()).unwrap(), request);
            }
            Err(problems) => {
                prop_assert!(!problems.is_empty());
                let fields: Vec<Field> = problems.fields().collect();
                let mut sorted = fields.clone();
                sorted.sort();
                sorted.dedup();
                prop_assert_eq!(fields, sorted, "one problem per field, in form order");
                for p in problems.iter() {
                    prop_assert!(p.message.ends_with('.'));
                    prop_assert!(!p.allowed.is_empty());
                }
            }
        }
    }

    #[test]
    fn image_refs_never_panic(s in prop_oneof![any::<String>(), "(https?|HTTP|javascript|data|file)?:?/{0,3}[\\[\\]@:a-z0-9./%?#\\\\ -]{0,30}"]) {
        if let Ok(r) = check_image_ref(&s) {
            prop_assert_eq!(r.as_str(), s.as_str());
            prop_assert!(!s.chars().any(char::is_whitespace));
            prop_assert!(!s.contains('\\'));
            if let ImageRef::Url(u) = &r {
                let lower = u.to_ascii_lowercase();
                prop_assert!(lower.starts_with("http://") || lower.starts_with("https://"));
            } else {
                prop_assert!(!s.starts_with('/'));
            }
        }
    }

    #[test]
    fn from_json_never_panics_on_text(body in any::<String>()) {
        let _ = EditRequest::from_json(&body);
    }

    #[test]
    fn from_json_never_panics_on_structures(
        object in json_value(),
        kind in prop_oneof![Just(Value::from(FEATURE_TYPE)), json_value()],
        model in prop_oneof![Just(Value::from(MODEL)), json_value()],
    ) {
        let body = serde_json::json!({"type": kind, "model": model, "promptObject": object}).to_string();
        match EditRequest::from_json(&body) {
            Ok(request) => prop_assert_eq!(EditRequest::from_json(&request.to_json()).unwrap(), request),
            Err(e) => {
                prop_assert!(!e.error_code().is_empty());
                prop_assert!(!e.message().is_empty());
                let answer: Value = serde_json::from_str(&e.error_body()).unwrap();
                prop_assert_eq!(answer["errorCode"].as_str(), Some(e.error_code()));
                if let RequestError::Invalid(p) = &e {
                    prop_assert!(!p.is_empty());
                }
            }
        }
    }

    #[test]
    fn responses_never_panic(status in any_status(), body in any_body()) {
        match parse_edit_response(status, &body) {
            EditOutcome::Succeeded(result) => {
                prop_assert!((200..300).contains(&status));
                prop_assert!(!result.display_url.is_empty());
            }
            EditOutcome::Processing { .. } => prop_assert!((200..300).contains(&status)),
            EditOutcome::Failed(e) => {
                prop_assert!(!e.to_string().is_empty());
                prop_assert!(!e.next_step().is_empty());
                prop_assert!(!e.kind().is_empty());
                let shown = format!("{e} {}", e.provider_words().unwrap_or_default());
                prop_assert!(!shown.to_ascii_lowercase().contains("<html"));
                let _ = (e.provider_words(), e.may_have_billed(), e.is_retryable());
            }
        }
        if let Ok(path) = parse_asset_upload(status, &body) {
            prop_assert!((200..300).contains(&status));
            prop_assert!(!path.as_str().trim().is_empty());
        }
    }

    #[test]
    fn polls_never_panic(status in any_status(), body in any_body()) {
        match parse_result_response(status, &body) {
            EditOutcome::Succeeded(result) => {
                prop_assert!((200..300).contains(&status));
                prop_assert!(!result.display_url.is_empty());
            }
            EditOutcome::Processing { .. } => prop_assert!((200..300).contains(&status)),
            EditOutcome::Failed(e) => {
                // A whole sentence: the provider's own words keep the mark that ends them
                // ("…: Is the key valid?"), as `text::sentence` does everywhere.
                prop_assert!(e.to_string().ends_with(['.', '!', '?', '…']));
                prop_assert!(!e.next_step().is_empty());
                let shown = format!("{e} {}", e.provider_words().unwrap_or_default());
                prop_assert!(!shown.to_ascii_lowercase().contains("<html"));
                // A lost poll is never the end of a run, and an end is never a lost poll
                // that could be billed twice by asking again: polling bills nothing.
                if e.poll_again() {
                    prop_assert!(e.is_retryable());
                }
                prop_assert!(e.stage().is_none_or(|stage| stage == Stage::Poll));
            }
        }
    }

    #[test]
    fn retry_after_never_panics(value in prop_oneof![any::<String>(), "[A-Za-z]{3}, [0-9]{2} [A-Za-z]{3} [0-9]{4} [0-9:]{8} GMT"], now in any::<i64>()) {
        let _ = retry_after_seconds(&value, now);
    }

    #[test]
    fn record_ids_never_panic(id in prop_oneof![any::<String>(), "[0-9a-fA-F-]{30,40}"]) {
        match result_url("https://api.1min.ai/", &id) {
            Ok(url) => {
                prop_assert_eq!(url.len(), "https://api.1min.ai/api/results/".len() + 36);
                prop_assert!(url.ends_with(&id));
            }
            Err(e) => prop_assert!(e.to_string().ends_with('.')),
        }
    }

    #[test]
    fn expiry_never_panics(url in ".{0,80}", date in "[0-9T Z]{0,18}", expires in "[0-9-]{0,22}") {
        let _ = presigned_expiry(&url);
        let _ = presigned_expiry(&format!("https://x/a?X-Amz-Date={date}&X-Amz-Expires={expires}"));
    }

    #[test]
    fn sniffing_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let kind = sniff(&bytes);
        let _ = jpeg_orientation(&bytes);
        let _ = check_source("x", "image/png", bytes.len() as u64, &bytes, 1 << 20);
        if kind.is_accepted() {
            prop_assert_eq!(check_source("x", "", 1, &bytes, 1), Ok(kind));
        }
    }

    #[test]
    fn prefixed_garbage_never_panics(
        prefix in prop::sample::select(vec![
            b"GIF89a".to_vec(),
            b"GIF87a\x01\x00\x01\x00\xf7\x00\x00".to_vec(),
            vec![0xFF, 0xD8, 0xFF, 0xE1],
            vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x40, b'E', b'x', b'i', b'f', 0, 0, b'I', b'I', 42, 0],
            vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x40, b'E', b'x', b'i', b'f', 0, 0, b'M', b'M', 0, 42],
            b"\0\0\0\x18ftypmif1".to_vec(),
            b"RIFF\0\0\0\0WEBP".to_vec(),
            b"\xef\xbb\xbf<?xml".to_vec(),
        ]),
        rest in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let bytes = [prefix, rest].concat();
        let _ = sniff(&bytes);
        if let Some(o) = jpeg_orientation(&bytes) {
            prop_assert!((1..=8).contains(&o));
        }
    }

    #[test]
    fn fitting_keeps_within_and_keeps_shape(w in 0u32..=u32::MAX, h in 0u32..=u32::MAX, max in prop_oneof![0u64..=100, 1u64..=50_000_000, any::<u64>()]) {
        let (fw, fh) = fit_within(w, h, max);
        prop_assert!(fw >= 1 && fh >= 1);
        prop_assert!(fw <= w.max(1) && fh <= h.max(1));
        prop_assert!(u64::from(fw) * u64::from(fh) <= max.max(1));
        if u64::from(w.max(1)) * u64::from(h.max(1)) <= max.max(1) {
            prop_assert_eq!((fw, fh), (w.max(1), h.max(1)));
        } else if fw >= 100 && fh >= 100 {
            let before = f64::from(w) / f64::from(h);
            let after = f64::from(fw) / f64::from(fh);
            prop_assert!((after / before - 1.0).abs() < 0.02, "{} vs {}", before, after);
        }
    }

    #[test]
    fn file_names_are_ascii_and_short(prompt in any::<String>(), seed in prop::option::of(any::<u32>()), original in any::<String>()) {
        for format in OutputFormat::ALL {
            let name = download_file_name(&prompt, seed, format);
            prop_assert!(name.is_ascii());
            prop_assert!(name.len() <= 64, "{}", name);
            prop_assert!(name.starts_with("flexedit-"));
            let ext = format!(".{}", format.extension());
            prop_assert!(name.ends_with(&ext));
            prop_assert!(!name.contains("--"));
            let upload = upload_file_name(&original, format);
            prop_assert!(upload.is_ascii());
            prop_assert!(upload.len() <= 64);
            prop_assert!(upload.ends_with(&ext));
            prop_assert!(!upload.contains(['/', '\\', ' ']));
        }
    }
}

#[test]
fn a_megabyte_prompt_is_refused_quickly() {
    let params = EditParams {
        image_url: "images/a.png".into(),
        prompt: "ü".repeat(1 << 20),
        ..EditParams::default()
    };
    let problems = params.validate().unwrap_err();
    assert!(problems.for_field(Field::Prompt).is_some());
    let body = serde_json::json!({"type": FEATURE_TYPE, "model": MODEL, "promptObject": {"imageUrl": "images/a.png", "prompt": params.prompt}}).to_string();
    assert!(matches!(
        EditRequest::from_json(&body),
        Err(RequestError::Invalid(_))
    ));
}
