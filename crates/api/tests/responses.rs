//! Response shapes beyond the fixtures: the variants clients of the same API have seen.

use flexedit_api::{ApiError, EditOutcome, parse_edit_response};

fn failed(status: u16, body: &str) -> ApiError {
    match parse_edit_response(status, body) {
        EditOutcome::Failed(e) => e,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn succeeded(body: &str) -> flexedit_api::EditResult {
    match parse_edit_response(200, body) {
        EditOutcome::Succeeded(r) => r,
        other => panic!("expected success, got {other:?}"),
    }
}

#[test]
fn failure_spelled_failed_in_a_200() {
    let body = r#"{"aiRecord":{"status":"FAILED","aiRecordDetail":{"resultObject":{"code":"CONTENT_FLAGGED","message":"Flagged by safety filter"}}}}"#;
    let err = failed(200, body);
    assert_eq!(
        err,
        ApiError::ProviderFailure {
            code: Some("CONTENT_FLAGGED".into()),
            message: Some("Flagged by safety filter".into())
        }
    );
    assert_eq!(
        err.to_string(),
        "The provider could not complete the edit: Flagged by safety filter."
    );
    assert_eq!(err.provider_words().unwrap(), "Flagged by safety filter");
    assert!(!err.may_have_billed());
}

#[test]
fn unsupported_model_inside_a_200() {
    let body = r#"{"aiRecord":{"status":"FAILURE","aiRecordDetail":{"resultObject":{"code":"UNSUPPORTED_MODEL"}}}}"#;
    assert_eq!(
        failed(200, body),
        ApiError::UnsupportedModel { message: None }
    );
}

#[test]
fn failure_without_any_detail() {
    assert_eq!(
        failed(200, r#"{"aiRecord":{"status":"failure"}}"#),
        ApiError::ProviderFailure {
            code: None,
            message: None
        }
    );
}

#[test]
fn success_falls_back_to_the_top_level_url() {
    let body = r#"{"aiRecord":{"status":"SUCCESS","temporaryUrl":""},"temporaryUrl":"https://cdn.example/r.png"}"#;
    let result = succeeded(body);
    assert_eq!(result.display_url, "https://cdn.example/r.png");
    assert_eq!(result.expires_at, None);
    assert!(result.storage_paths.is_empty());
    assert_eq!(result.uuid, None);
}

#[test]
fn success_without_a_url_is_missing_result() {
    for body in [
        r#"{"aiRecord":{"status":"SUCCESS"}}"#,
        r#"{"aiRecord":{"status":"SUCCESS","temporaryUrl":""}}"#,
        r#"{"aiRecord":{"status":"SUCCESS","temporaryUrl":null,"aiRecordDetail":{"resultObject":["images/x.png"]}}}"#,
        r#"{"aiRecord":{"status":"SUCCESS","temporaryUrl":"javascript:alert(1)"}}"#,
        r#"{"aiRecord":{"status":"SUCCESS","temporaryUrl":42}}"#,
    ] {
        let err = failed(200, body);
        assert_eq!(err, ApiError::MissingResult, "{body}");
        assert!(err.may_have_billed());
    }
}

#[test]
fn same_origin_result_paths_display() {
    let result =
        succeeded(r#"{"aiRecord":{"status":"SUCCESS","temporaryUrl":"/results/abc.png"}}"#);
    assert_eq!(result.display_url, "/results/abc.png");
}

#[test]
fn a_result_without_status_still_counts() {
    let result = succeeded(r#"{"aiRecord":{"temporaryUrl":"https://cdn.example/r.png"}}"#);
    assert_eq!(result.display_url, "https://cdn.example/r.png");
}

#[test]
fn unknown_status_and_shapes_are_unexpected() {
    for body in [
        r#"{"aiRecord":{"status":"WEIRD"}}"#,
        r#"{"aiRecord":{}}"#,
        r#"{"aiRecord":"SUCCESS"}"#,
        r#"{}"#,
        r#"[]"#,
        "",
        "plain words",
    ] {
        assert!(
            matches!(failed(200, body), ApiError::Unexpected { status: 200, .. }),
            "{body}"
        );
    }
    let ApiError::Unexpected { snippet, .. } = failed(200, "<!DOCTYPE html><html><body>oops")
    else {
        panic!()
    };
    assert_eq!(snippet, "an HTML page");
}

#[test]
fn malformed_fields_are_ignored_not_fatal() {
    let body = r#"{"aiRecord":{"status":"SUCCESS","uuid":7,"temporaryUrl":"https://x.example/a.png?X-Amz-Date=bad&X-Amz-Expires=60",
        "teamUser":{"creditLimit":"lots","usedCredit":1},
        "aiRecordDetail":{"resultObject":[1,"images/a.png",null,""],"promptObject":"odd"}},"extra":true}"#;
    let result = succeeded(body);
    assert_eq!(result.uuid, None);
    assert_eq!(result.credits, None);
    assert_eq!(result.expires_at, None);
    assert_eq!(result.storage_paths, ["images/a.png"]);
    assert_eq!(result.prompt_object, Some(serde_json::json!("odd")));
}

#[test]
fn other_error_shapes() {
    assert_eq!(
        failed(
            200,
            r#"{"success":false,"error":{"message":"Invalid API key"}}"#
        ),
        ApiError::Unauthorized
    );
    assert_eq!(
        failed(200, r#"{"success":false,"error":"Something broke"}"#),
        ApiError::ProviderFailure {
            code: None,
            message: Some("Something broke".into())
        }
    );
    assert_eq!(
        failed(
            400,
            r#"{"errorCode":"INSUFFICIENT_CREDITS","message":"Not enough credits"}"#
        ),
        ApiError::InsufficientCredits
    );
    assert_eq!(
        failed(429, r#"{"message":"Too many requests"}"#),
        ApiError::RateLimited
    );
    assert_eq!(failed(402, ""), ApiError::InsufficientCredits);
    assert_eq!(failed(413, "request entity too large"), ApiError::TooLarge);
    assert_eq!(
        failed(
            504,
            "<html><head><title>504 Gateway Time-out</title></head></html>"
        ),
        ApiError::Server {
            status: 504,
            message: Some("504 Gateway Time-out".into())
        }
    );
    assert_eq!(
        failed(500, ""),
        ApiError::Server {
            status: 500,
            message: None
        }
    );
    assert_eq!(
        failed(
            400,
            r#"{"message":"Prompt too long","details":{"message":"max 1000"}}"#
        ),
        ApiError::BadRequest {
            code: None,
            message: "Prompt too long".into(),
            details: Some("max 1000".into()),
            service: None,
        }
    );
    assert_eq!(
        failed(422, r#"{"errorCode":"VALIDATION"}"#),
        ApiError::BadRequest {
            code: Some("VALIDATION".into()),
            message: "VALIDATION".into(),
            details: None,
            service: None,
        }
    );
    assert!(matches!(
        failed(404, r#"{"unrelated":1}"#),
        ApiError::Unexpected { status: 404, .. }
    ));
}

#[test]
fn long_provider_text_is_shortened_in_sentences_but_kept_in_words() {
    let long = "x".repeat(5000);
    let body = serde_json::json!({"errorCode": "E", "message": long}).to_string();
    let err = failed(400, &body);
    assert!(err.to_string().chars().count() < 400);
    assert_eq!(err.provider_words().unwrap().len(), 5000);
}

#[test]
fn processing_spellings() {
    for status in ["PROCESSING", "pending", "QUEUED", "RUNNING", "IN_PROGRESS"] {
        let body = format!(r#"{{"aiRecord":{{"status":"{status}"}}}}"#);
        assert_eq!(
            parse_edit_response(202, &body),
            EditOutcome::Processing { uuid: None }
        );
    }
}
