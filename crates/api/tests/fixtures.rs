//! Every shape of the contract's fixtures maps to its expected outcome.

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
    assert_eq!(result.credits.unwrap().remaining(), 376_550.0);
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
fn edit_failure_for_credits() {
    assert_eq!(
        parse_edit_response(200, fixture!("edit-failure-credits.json")),
        EditOutcome::Failed(ApiError::InsufficientCredits)
    );
}

#[test]
fn edit_processing() {
    assert_eq!(
        parse_edit_response(200, fixture!("edit-processing.json")),
        EditOutcome::Processing {
            uuid: Some("e5f6a7b8-0000-4000-8000-000000000003".into())
        }
    );
}

#[test]
fn error_400_with_details_in_a_string() {
    let EditOutcome::Failed(err) =
        parse_edit_response(400, fixture!("error-400-details-string.json"))
    else {
        panic!("expected failure")
    };
    assert_eq!(
        err,
        ApiError::BadRequest {
            code: Some("EXTERNAL_API_RESPONSE_WITH_ERROR".into()),
            message: "The service is a bit busy right now, please try again shortly".into(),
            details: Some("The size does not match the required aspect ratio".into()),
        }
    );
    assert_eq!(
        err.to_string(),
        "The provider refused the request: The size does not match the required aspect ratio."
    );
    assert_eq!(
        err.provider_words().unwrap(),
        "The service is a bit busy right now, please try again shortly — The size does not match the required aspect ratio"
    );
    assert!(err.next_step().contains("aspect ratio"));
    assert!(!err.is_retryable());
    assert!(!err.may_have_billed());
    assert_eq!(err.kind(), "bad_request");
}

#[test]
fn error_400_missing_fields() {
    let EditOutcome::Failed(err) =
        parse_edit_response(400, fixture!("error-400-missing-fields.json"))
    else {
        panic!("expected failure")
    };
    assert_eq!(
        err,
        ApiError::BadRequest {
            code: Some("MISSING_REQUIRED_FIELDS".into()),
            message: "Missing required fields: prompt".into(),
            details: Some("prompt is required".into()),
        }
    );
    assert_eq!(
        err.next_step(),
        "Fill in the missing fields, then run again."
    );
}

#[test]
fn error_400_unsupported_model() {
    let outcome = parse_edit_response(400, fixture!("error-400-unsupported-model.json"));
    assert_eq!(outcome, EditOutcome::Failed(ApiError::UnsupportedModel));
}

#[test]
fn error_502_html_page() {
    let EditOutcome::Failed(err) = parse_edit_response(502, fixture!("error-502.html")) else {
        panic!("expected failure")
    };
    assert_eq!(
        err,
        ApiError::Server {
            status: 502,
            message: Some("502 Bad Gateway".into())
        }
    );
    let shown = format!("{err} {}", err.provider_words().unwrap());
    assert!(!shown.contains('<'), "no HTML reaches people: {shown}");
    assert!(err.may_have_billed());
    assert!(err.is_retryable());
}

#[test]
fn error_plain_message_401() {
    let outcome = parse_edit_response(401, fixture!("error-plain-message.json"));
    assert_eq!(outcome, EditOutcome::Failed(ApiError::Unauthorized));
}

#[test]
fn error_success_false_401() {
    let outcome = parse_edit_response(401, fixture!("error-success-false.json"));
    assert_eq!(outcome, EditOutcome::Failed(ApiError::Unauthorized));
    let outcome = parse_edit_response(403, fixture!("error-success-false.json"));
    assert_eq!(outcome, EditOutcome::Failed(ApiError::Unauthorized));
}

#[test]
fn every_fixture_parses_without_surprises() {
    let all = [
        fixture!("asset-upload-key-only.json"),
        fixture!("asset-upload.json"),
        fixture!("edit-failure-credits.json"),
        fixture!("edit-processing.json"),
        fixture!("edit-request.json"),
        fixture!("edit-success-credits.json"),
        fixture!("edit-success.json"),
        fixture!("error-400-details-string.json"),
        fixture!("error-400-missing-fields.json"),
        fixture!("error-400-unsupported-model.json"),
        fixture!("error-502.html"),
        fixture!("error-plain-message.json"),
        fixture!("error-success-false.json"),
    ];
    for body in all {
        for status in [200, 400, 401, 402, 403, 404, 413, 429, 500, 502, 504] {
            if let EditOutcome::Failed(e) = parse_edit_response(status, body) {
                assert!(!e.to_string().is_empty());
                assert!(!e.next_step().is_empty());
            }
            let _ = parse_asset_upload(status, body);
        }
    }
    assert!(Field::ALL.len() == 10);
}
