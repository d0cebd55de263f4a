//! Asynchronous edits: the submit's first answer, and every answer of a poll of the record
//! (`GET /api/results/{uuid}`), read from the contract's fixtures.

use flexedit_api::{
    ApiError, EditOutcome, EditParams, Stage, parse_edit_response, parse_result_response,
    result_url,
};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("fixtures/", $name))
    };
}

const ACCEPTED_ID: &str = "b7c8d9e0-1111-4000-8000-00000000a51c";

fn failed(outcome: EditOutcome) -> ApiError {
    match outcome {
        EditOutcome::Failed(e) => e,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn the_async_submit_answers_with_the_record_to_poll() {
    let outcome = parse_edit_response(200, fixture!("edit-async-accepted.json"));
    assert_eq!(
        outcome,
        EditOutcome::Processing {
            uuid: Some(ACCEPTED_ID.to_owned())
        }
    );
    assert_eq!(
        result_url("https://api.1min.ai", ACCEPTED_ID).unwrap(),
        format!("https://api.1min.ai/api/results/{ACCEPTED_ID}")
    );
}

#[test]
fn a_finished_record_in_the_first_answer_is_the_outcome_at_once() {
    // A provider that ignores `async` answers the submit with the finished record: the
    // same reader gives the same outcome as a poll would, with nothing left to poll.
    for body in [
        fixture!("edit-success.json"),
        fixture!("edit-success-completed.json"),
    ] {
        let submit = parse_edit_response(200, body);
        assert!(matches!(submit, EditOutcome::Succeeded(_)), "{submit:?}");
        assert_eq!(parse_result_response(200, body), submit);
    }
    let failure = parse_edit_response(200, fixture!("edit-failure-credits.json"));
    assert_eq!(failure, EditOutcome::Failed(ApiError::InsufficientCredits));
}

#[test]
fn a_poll_reads_processing_success_and_failure_like_the_synchronous_call() {
    assert_eq!(
        parse_result_response(200, fixture!("edit-processing.json")),
        EditOutcome::Processing {
            uuid: Some("e5f6a7b8-0000-4000-8000-000000000003".to_owned())
        }
    );
    assert_eq!(
        parse_result_response(200, fixture!("edit-async-accepted.json")),
        EditOutcome::Processing {
            uuid: Some(ACCEPTED_ID.to_owned())
        }
    );
    for body in [
        fixture!("edit-success.json"),
        fixture!("edit-success-credits.json"),
        fixture!("edit-success-completed.json"),
        fixture!("edit-failure-credits.json"),
        fixture!("edit-failure-error-message.json"),
        fixture!("edit-failure-result-message.json"),
        fixture!("edit-failure-unsupported-model.json"),
    ] {
        // One reader: a record means the same whichever call brought it.
        assert_eq!(
            parse_result_response(200, body),
            parse_edit_response(200, body)
        );
    }
    let e = failed(parse_result_response(
        200,
        fixture!("edit-failure-error-message.json"),
    ));
    assert_eq!(e.kind(), "provider_failure");
    assert!(!e.poll_again());
}

#[test]
fn an_unknown_record_ends_the_run_with_a_sentence() {
    let e = failed(parse_result_response(200, fixture!("result-unknown.json")));
    assert_eq!(e, ApiError::UnknownRecord);
    assert_eq!(e.kind(), "unknown_record");
    assert_eq!(e.to_string(), "The provider has no record of this edit.");
    assert!(e.next_step().contains("1min.ai history"));
    assert!(e.next_step().contains("may cost again"));
    // The edit was sent: it may have run and billed, and only a new edit can help.
    assert!(e.may_have_billed());
    assert!(e.is_retryable());
    assert!(!e.poll_again());
    assert_eq!(e.provider_words(), None);
    // Whitespace around it is the same answer.
    assert_eq!(
        parse_result_response(200, " { \"aiRecord\" : null }\n"),
        EditOutcome::Failed(ApiError::UnknownRecord)
    );
    // The same body from the submit is no record at all, not an unknown one.
    assert!(matches!(
        parse_edit_response(200, fixture!("result-unknown.json")),
        EditOutcome::Failed(ApiError::Unexpected { status: 200, .. })
    ));
    // Null behind an error status is that error.
    assert_eq!(
        parse_result_response(401, fixture!("result-unknown.json")),
        EditOutcome::Failed(ApiError::Unauthorized)
    );
}

#[test]
fn a_poll_reads_every_error_shape_of_the_features_call() {
    let cases: [(u16, &str, &str, bool); 11] = [
        (
            401,
            fixture!("error-plain-message.json"),
            "unauthorized",
            false,
        ),
        (
            200,
            fixture!("error-success-false.json"),
            "unauthorized",
            false,
        ),
        (
            400,
            fixture!("error-400-details-nested.json"),
            "bad_request",
            false,
        ),
        (
            400,
            fixture!("error-400-details-string.json"),
            "bad_request",
            false,
        ),
        (
            400,
            fixture!("error-400-missing-fields.json"),
            "bad_request",
            false,
        ),
        (
            400,
            fixture!("error-400-unsupported-model.json"),
            "unsupported_model",
            false,
        ),
        (502, fixture!("error-502.html"), "server", true),
        (522, fixture!("error-522.html"), "gateway", true),
        (
            429,
            r#"{"errorCode":"RATE_LIMIT_EXCEEDED","message":"Too many requests"}"#,
            "rate_limited",
            true,
        ),
        (
            500,
            r#"{"success":false,"error":{"message":"Internal server error"}}"#,
            "server",
            true,
        ),
        (
            200,
            "<html><title>Captive portal</title></html>",
            "unexpected",
            true,
        ),
    ];
    for (status, body, kind, again) in cases {
        let from_poll = failed(parse_result_response(status, body));
        assert_eq!(from_poll.kind(), kind, "{status} {body}");
        assert_eq!(from_poll.poll_again(), again, "{status} {body}");
        assert!(from_poll.to_string().ends_with('.'));
        assert!(!from_poll.next_step().is_empty());
        // The same words as the features call, apart from the stage a gateway names.
        let from_edit = failed(parse_edit_response(status, body));
        assert_eq!(from_poll.kind(), from_edit.kind());
        assert_eq!(from_poll.provider_words(), from_edit.provider_words());
    }
}

#[test]
fn a_lost_poll_says_the_edit_keeps_running() {
    let gateway = failed(parse_result_response(524, fixture!("error-522.html")));
    assert_eq!(
        gateway,
        ApiError::Gateway {
            status: 524,
            stage: Stage::Poll
        }
    );
    assert!(gateway.next_step().contains("keeps running"));
    assert!(gateway.may_have_billed());
    for e in [
        ApiError::Network { stage: Stage::Poll },
        ApiError::Timeout { stage: Stage::Poll },
    ] {
        assert!(e.poll_again());
        assert!(e.may_have_billed());
        assert!(e.is_retryable());
        assert!(e.to_string().contains("checking on the edit"), "{e}");
        assert!(e.next_step().contains("keeps running"));
    }
    let cancelled = ApiError::Cancelled { stage: Stage::Poll };
    assert!(!cancelled.poll_again());
    assert!(cancelled.may_have_billed());
    assert!(cancelled.next_step().contains("bill"));
    assert!(!ApiError::Unauthorized.poll_again());
    assert!(!ApiError::InsufficientCredits.poll_again());
}

#[test]
fn the_async_body_is_what_the_page_sends() {
    let request = EditParams {
        image_url: "development/images/2025_12_04_18_10_29_882_cat.png".into(),
        prompt: "Add the text SALE 50% OFF in bold red letters at the top".into(),
        steps: Some(30.0),
        ..EditParams::default()
    }
    .validate()
    .unwrap();
    assert_eq!(
        request.to_json_async(),
        r#"{"type":"IMAGE_EDITOR","model":"black-forest-labs/flux-2-flex","promptObject":{"imageUrl":"development/images/2025_12_04_18_10_29_882_cat.png","prompt":"Add the text SALE 50% OFF in bold red letters at the top","steps":30},"async":true}"#
    );
}

/// The case the property test once met: the provider's words keep their own end mark.
#[test]
fn a_refusal_ending_in_a_question_mark_is_a_whole_sentence() {
    let EditOutcome::Failed(error) = parse_result_response(404, r#"{"code":"Is the key valid?"}"#)
    else {
        panic!("a 404 is a failure");
    };
    assert_eq!(
        error.to_string(),
        "The provider refused the request: Is the key valid?"
    );
}
