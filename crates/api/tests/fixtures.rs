//! Every shape of the contract's fixtures maps to its expected outcome, and every failure
//! to the sentence a person reads.
//!
//! `fixtures/` holds the contract's bodies, plus a few written from the shapes the contract
//! describes without a captured body (`edit-failure-error-message.json`,
//! `edit-failure-result-message.json`, `edit-failure-unsupported-model.json`,
//! `edit-success-completed.json`, `error-522.html`).

use flexedit_api::{
    ApiError, AspectRatio, Credits, EditOutcome, EditParams, EditRequest, Field, MODEL,
    OutputFormat, RequestError, parse_asset_upload, parse_edit_response,
};
use serde_json::Value;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("fixtures/", $name))
    };
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

/// The form as a person fills it to get the provider's own example request.
fn example_params() -> EditParams {
    EditParams {
        image_url: "development/images/2025_12_04_18_10_29_882_cat.png".into(),
        prompt: "Add the text SALE 50% OFF in bold red letters at the top".into(),
        output_format: Some(OutputFormat::Png),
        output_quality: Some(90.0),
        steps: Some(30.0),
        guidance: Some(4.0),
        safety_tolerance: Some(2.0),
        ..EditParams::default()
    }
}

#[test]
fn the_example_form_builds_the_example_request() {
    let request = example_params().validate().unwrap();
    assert_eq!(
        json(&request.to_json()),
        json(fixture!("edit-request.json"))
    );
    assert_eq!(
        request.to_json(),
        r#"{"type":"IMAGE_EDITOR","model":"black-forest-labs/flux-2-flex","promptObject":{"imageUrl":"development/images/2025_12_04_18_10_29_882_cat.png","prompt":"Add the text SALE 50% OFF in bold red letters at the top","output_format":"png","output_quality":90,"steps":30,"guidance":4,"safety_tolerance":2}}"#
    );
}

#[test]
fn the_example_request_reads_back() {
    let request = EditRequest::from_json(fixture!("edit-request.json")).unwrap();
    assert_eq!(request, example_params().validate().unwrap());
    assert_eq!(request.params(), example_params());
    assert_eq!(request.model, MODEL);
}

#[test]
fn missing_prompt_answers_with_the_fixture_body() {
    let body = r#"{"type":"IMAGE_EDITOR","model":"black-forest-labs/flux-2-flex","promptObject":{"imageUrl":"images/a.png"}}"#;
    let err = EditRequest::from_json(body).unwrap_err();
    assert_eq!(err.error_code(), "MISSING_REQUIRED_FIELDS");
    assert_eq!(
        json(&err.error_body()),
        json(fixture!("error-400-missing-fields.json"))
    );
}

#[test]
fn unsupported_model_answers_with_the_fixture_body() {
    let body = r#"{"type":"IMAGE_EDITOR","model":"this-model-does-not-exist","promptObject":{"imageUrl":"images/a.png","prompt":"x"}}"#;
    let err = EditRequest::from_json(body).unwrap_err();
    assert!(
        matches!(err, RequestError::UnsupportedModel(ref m) if m == "this-model-does-not-exist")
    );
    assert_eq!(
        json(&err.error_body()),
        json(fixture!("error-400-unsupported-model.json"))
    );
}

#[test]
fn asset_uploads() {
    assert_eq!(
        parse_asset_upload(200, fixture!("asset-upload.json"))
            .unwrap()
            .as_str(),
        "development/images/2025_12_04_18_10_29_882_cat.png"
    );
    assert_eq!(
        parse_asset_upload(200, fixture!("asset-upload-key-only.json"))
            .unwrap()
            .as_str(),
        "images/2026_01_10_08_00_00_000_photo.jpg"
    );
    // fileContent.path wins over asset.key even when they differ, and neither is rewritten.
    let both =
        r#"{"asset":{"key":"images/k.png"},"fileContent":{"path":"development/images/p.png"}}"#;
    assert_eq!(
        parse_asset_upload(201, both).unwrap().as_str(),
        "development/images/p.png"
    );
    let empty_path = r#"{"asset":{"key":"images/k.png"},"fileContent":{"path":""}}"#;
    assert_eq!(
        parse_asset_upload(200, empty_path).unwrap().as_str(),
        "images/k.png"
    );
}

#[test]
fn asset_upload_failures() {
    assert_eq!(
        parse_asset_upload(401, fixture!("error-plain-message.json")),
        Err(ApiError::Unauthorized)
    );
    assert_eq!(
        parse_asset_upload(
            413,
            "<html><title>413 Request Entity Too Large</title></html>"
        ),
        Err(ApiError::TooLarge)
    );
    assert!(matches!(
        parse_asset_upload(502, fixture!("error-502.html")),
        Err(ApiError::Server { status: 502, .. })
    ));
    assert!(matches!(
        parse_asset_upload(200, r#"{"asset":{}}"#),
        Err(ApiError::Unexpected { status: 200, .. })
    ));
    assert!(matches!(
        parse_asset_upload(200, "not json"),
        Err(ApiError::Unexpected { status: 200, .. })
    ));
    assert_eq!(
        parse_asset_upload(200, fixture!("error-success-false.json")),
        Err(ApiError::Unauthorized)
    );
}

#[test]
fn edit_success() {
    let EditOutcome::Succeeded(result) = parse_edit_response(200, fixture!("edit-success.json"))
    else {
        panic!("expected success")
    };
    assert_eq!(
        result.uuid.as_deref(),
        Some("c3d4e5f6-a7b8-9012-cdef-123456789012")
    );
    assert!(result.display_url.starts_with(
        "https://s3.us-east-1.amazonaws.com/asset.1min.ai/development/images/2026_03_27_10_00_03_001_edited.png?"
    ));
    assert_eq!(
        result.storage_paths,
        ["development/images/2026_03_27_10_00_03_001_edited.png"]
    );
    assert_eq!(result.credits, None);
    // 2026-03-27T10:00:03Z plus seven days.
    assert_eq!(result.expires_at, Some(1_774_605_603 + 604_800));
    assert!(!result.is_expired(1_774_605_603));
    assert!(result.is_expired(1_774_605_603 + 604_800));
    let echoed = result.prompt_object.clone().unwrap();
    assert_eq!(echoed["steps"], 30);
    assert_eq!(
        result.asset_path().unwrap().as_str(),
        "development/images/2026_03_27_10_00_03_001_edited.png"
    );
}

#[test]
fn edit_success_with_credits() {
    let EditOutcome::Succeeded(result) =
        parse_edit_response(200, fixture!("edit-success-credits.json"))
    else {
        panic!("expected success")
    };
    assert_eq!(
        result.credits,
        Some(Credits {
            limit: 500_000.0,
            used: 123_450.0
        })
    );
    // 2026-04-02T09:12:44Z plus an hour.
    assert_eq!(result.expires_at, Some(1_775_121_164 + 3600));
    assert_eq!(
        result.storage_paths,
        ["images/2026_04_02_09_12_44_120_a_edit.jpg"]
    );
    let echoed: EditParams = serde_json::from_value::<EditRequest>(serde_json::json!({
        "type": "IMAGE_EDITOR",
        "model": MODEL,
        "promptObject": result.prompt_object.unwrap(),
    }))
    .unwrap()
    .params();
    assert_eq!(echoed.aspect_ratio, AspectRatio::Landscape16x9);
    assert_eq!(echoed.seed, Some(42.0));
}

#[test]
fn edit_processing() {
    assert_eq!(
        parse_edit_response(200, fixture!("edit-processing.json")),
        EditOutcome::Processing {
            uuid: Some("e5f6a7b8-0000-4000-8000-000000000003".into())
        }
    );
    assert_eq!(
        parse_edit_response(200, fixture!("edit-async-accepted.json")),
        EditOutcome::Processing {
            uuid: Some("b7c8d9e0-1111-4000-8000-00000000a51c".into())
        }
    );
}

#[test]
fn completed_is_a_success() {
    let EditOutcome::Succeeded(result) =
        parse_edit_response(200, fixture!("edit-success-completed.json"))
    else {
        panic!("expected success")
    };
    assert_eq!(
        result.storage_paths,
        ["images/2026_03_27_10_11_05_000_a_edit.png"]
    );
    assert_eq!(result.prompt_object.unwrap()["seed"], 7);
}

/// What a person is shown of a failure: the sentence, the next step, and the provider's
/// own words when the page quotes them.
struct Shown {
    kind: &'static str,
    sentence: String,
    next_step: &'static str,
    provider_words: Option<String>,
    may_have_billed: bool,
    retry: bool,
}

fn shown(err: &ApiError) -> Shown {
    Shown {
        kind: err.kind(),
        sentence: err.to_string(),
        next_step: err.next_step(),
        provider_words: err.provider_words(),
        may_have_billed: err.may_have_billed(),
        retry: err.is_retryable(),
    }
}

fn edit_failure(status: u16, body: &str) -> Shown {
    match parse_edit_response(status, body) {
        EditOutcome::Failed(err) => shown(&err),
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// Everything a person could read, to check that no internal id or path is in it.
fn all_text(s: &Shown) -> String {
    format!(
        "{} {} {}",
        s.sentence,
        s.next_step,
        s.provider_words.as_deref().unwrap_or_default()
    )
}

#[test]
fn nested_details_show_the_real_cause_and_no_internals() {
    let s = edit_failure(400, fixture!("error-400-details-nested.json"));
    assert_eq!(s.kind, "bad_request");
    assert_eq!(
        s.sentence,
        "The model's host (black-forest-labs) refused the request: Input image is 6000x4000; images larger than 4 megapixels are not accepted."
    );
    assert_eq!(
        s.next_step,
        "Use a smaller image (about 4 megapixels or less), then run again."
    );
    // The canned "busy, try again shortly" contradicts the cause: it is not shown.
    assert_eq!(s.provider_words, None);
    assert!(!s.retry, "a parameter problem: trying again never helps");
    assert!(!s.may_have_billed);
    let text = all_text(&s);
    for internal in [
        "7f3a91c2",
        "/v1/internal",
        "request_id",
        "busy",
        "try again",
    ] {
        assert!(!text.contains(internal), "{internal} shown in: {text}");
    }
}

#[test]
fn details_in_a_string() {
    let s = edit_failure(400, fixture!("error-400-details-string.json"));
    assert_eq!(s.kind, "bad_request");
    assert_eq!(
        s.sentence,
        "The provider refused the request: The size does not match the required aspect ratio."
    );
    assert_eq!(
        s.next_step,
        "Try “Match input image” as the aspect ratio, or a smaller image, then run again."
    );
    assert_eq!(s.provider_words, None);
    assert!(!s.retry);
    assert!(!s.may_have_billed);
}

#[test]
fn missing_fields_show_each_message_once() {
    let s = edit_failure(400, fixture!("error-400-missing-fields.json"));
    assert_eq!(
        s.sentence,
        "The provider refused the request: prompt is required."
    );
    assert_eq!(s.next_step, "Fill in the missing fields, then run again.");
    assert_eq!(
        s.provider_words.as_deref(),
        Some("Missing required fields: prompt")
    );
    // The same message twice in the array is shown once.
    let twice = r#"{"errorCode":"MISSING_REQUIRED_FIELDS","message":"Missing required fields: prompt, imageUrl","details":"[{\"field\":\"prompt\",\"message\":\"prompt is required\"},{\"field\":\"imageUrl\",\"message\":\"imageUrl is required\"},{\"field\":\"prompt\",\"message\":\"prompt is required\"}]"}"#;
    assert_eq!(
        edit_failure(400, twice).sentence,
        "The provider refused the request: prompt is required; imageUrl is required."
    );
}

#[test]
fn unsupported_model_keeps_the_providers_words() {
    let s = edit_failure(400, fixture!("error-400-unsupported-model.json"));
    assert_eq!(s.kind, "unsupported_model");
    assert_eq!(
        s.sentence,
        "The provider does not accept the Flux 2 Flex model right now."
    );
    assert_eq!(
        s.provider_words.as_deref(),
        Some("Model this-model-does-not-exist is not supported")
    );
    assert!(
        s.next_step
            .contains("provider's side, not in your settings")
    );
    assert!(!s.next_step.contains("endpoint"));
    // The same code inside a 200 record.
    let record = edit_failure(200, fixture!("edit-failure-unsupported-model.json"));
    assert_eq!(record.kind, "unsupported_model");
    assert_eq!(record.provider_words, None);
}

#[test]
fn failure_reasons_wherever_the_provider_puts_them() {
    let credits = edit_failure(200, fixture!("edit-failure-credits.json"));
    assert_eq!(credits.kind, "insufficient_credits");
    assert_eq!(
        credits.sentence,
        "There are not enough 1min.ai credits left for this edit."
    );
    assert!(!credits.retry);

    let moderated = edit_failure(200, fixture!("edit-failure-error-message.json"));
    assert_eq!(moderated.kind, "provider_failure");
    assert_eq!(
        moderated.sentence,
        "The provider could not complete the edit: The request was flagged by the content moderation filter."
    );
    assert_eq!(
        moderated.provider_words.as_deref(),
        Some("The request was flagged by the content moderation filter.")
    );

    let undecodable = edit_failure(200, fixture!("edit-failure-result-message.json"));
    assert_eq!(undecodable.kind, "provider_failure");
    assert_eq!(
        undecodable.sentence,
        "The provider could not complete the edit: Image generation failed: the input image could not be decoded."
    );
}

#[test]
fn cdn_pages() {
    let bad_gateway = edit_failure(502, fixture!("error-502.html"));
    assert_eq!(bad_gateway.kind, "server");
    assert_eq!(
        bad_gateway.sentence,
        "The provider's server had a problem (HTTP 502)."
    );
    assert_eq!(
        bad_gateway.provider_words.as_deref(),
        Some("502 Bad Gateway")
    );
    assert!(bad_gateway.may_have_billed);
    assert!(bad_gateway.retry);
    assert!(!all_text(&bad_gateway).contains('<'));

    let timed_out = edit_failure(522, fixture!("error-522.html"));
    assert_eq!(timed_out.kind, "gateway");
    assert_eq!(
        timed_out.sentence,
        "The provider's gateway timed out waiting for its servers (HTTP 522)."
    );
    assert_eq!(
        timed_out.next_step,
        "The edit may still be running behind the gateway and be billed: check your 1min.ai history before running it again."
    );
    assert!(timed_out.may_have_billed);
    assert!(!all_text(&timed_out).contains("Ray ID"));
    for status in [520, 521, 523] {
        assert_eq!(
            edit_failure(status, fixture!("error-522.html")).sentence,
            format!("The provider's gateway could not reach its servers (HTTP {status}).")
        );
    }
    assert_eq!(
        edit_failure(524, "").sentence,
        "The provider's gateway timed out waiting for its servers (HTTP 524)."
    );
}

#[test]
fn keys_refused() {
    for (status, body) in [
        (401, fixture!("error-plain-message.json")),
        (401, fixture!("error-success-false.json")),
        (403, fixture!("error-success-false.json")),
    ] {
        let s = edit_failure(status, body);
        assert_eq!(s.kind, "unauthorized");
        assert_eq!(s.sentence, "The provider refused the API key.");
        assert!(s.next_step.contains("API key in Settings"));
    }
}

#[test]
fn an_unknown_record_is_not_a_result() {
    let s = edit_failure(200, fixture!("result-unknown.json"));
    assert_eq!(s.kind, "unexpected");
    assert_eq!(
        s.sentence,
        "The provider sent an answer flexedit could not read (HTTP 200)."
    );
}

#[test]
fn every_fixture_parses_without_surprises() {
    let all = [
        fixture!("asset-upload-key-only.json"),
        fixture!("asset-upload.json"),
        fixture!("edit-async-accepted.json"),
        fixture!("edit-failure-credits.json"),
        fixture!("edit-failure-error-message.json"),
        fixture!("edit-failure-result-message.json"),
        fixture!("edit-failure-unsupported-model.json"),
        fixture!("edit-processing.json"),
        fixture!("edit-request.json"),
        fixture!("edit-success-completed.json"),
        fixture!("edit-success-credits.json"),
        fixture!("edit-success.json"),
        fixture!("error-400-details-nested.json"),
        fixture!("error-400-details-string.json"),
        fixture!("error-400-missing-fields.json"),
        fixture!("error-400-unsupported-model.json"),
        fixture!("error-502.html"),
        fixture!("error-522.html"),
        fixture!("error-plain-message.json"),
        fixture!("error-success-false.json"),
        fixture!("result-unknown.json"),
    ];
    for body in all {
        for status in [
            200, 400, 401, 402, 403, 404, 413, 429, 500, 502, 504, 520, 522, 524,
        ] {
            if let EditOutcome::Failed(e) = parse_edit_response(status, body) {
                let s = shown(&e);
                assert!(s.sentence.ends_with('.'), "{}", s.sentence);
                assert!(!s.next_step.is_empty());
                let text = all_text(&s);
                assert!(!text.contains("7f3a91c2") && !text.contains("/v1/internal"));
                assert!(!text.contains('<'), "{text}");
            }
            let _ = parse_asset_upload(status, body);
        }
    }
    assert!(Field::ALL.len() == 10);
}

#[test]
fn the_host_error_body_is_the_captured_shape() {
    let body = flexedit_api::host_error_body(
        "InvalidParameter",
        "Input image is 6000x4000; images larger than 4 megapixels are not accepted.",
        "7f3a91c2",
    );
    let (mut built, mut captured) = (json(&body), json(fixture!("error-400-details-nested.json")));
    // `details` is a document in a string: compared as the document it holds.
    let inner = |v: &mut Value| json(v["details"].take().as_str().unwrap_or_default());
    assert_eq!(inner(&mut built), inner(&mut captured));
    assert_eq!(built, captured);
}
