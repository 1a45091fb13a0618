//! SDK failures mapped onto the core's [`StoreError`]: the operation and resource are always named, the AWS
//! error code and message are kept, and nothing is unwrapped.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use miro_sam_core::StoreError;

/// Error codes AWS services use for "slow down". DynamoDB, SQS and Secrets Manager each have their own.
const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "RequestThrottled",
    "AWS.SimpleQueueService.RequestThrottled",
    "KmsThrottled",
];

/// The AWS error code of a service error (`ConditionalCheckFailedException`, …), `None` for transport failures.
pub(crate) fn code<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> Option<&str> {
    e.code()
}

pub(crate) fn has_code<E: ProvideErrorMetadata>(
    e: &SdkError<E, HttpResponse>,
    wanted: &str,
) -> bool {
    code(e) == Some(wanted)
}

pub(crate) fn is_conditional_check_failed<E: ProvideErrorMetadata>(
    e: &SdkError<E, HttpResponse>,
) -> bool {
    has_code(e, "ConditionalCheckFailedException")
}

/// Worth retrying unchanged: throttling, a 5xx, a timeout or a connection failure. The SDK already retried these
/// a few times before handing them to us; callers with a bounded retry loop of their own use this to decide
/// whether to go around again.
pub(crate) fn is_transient<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    match e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(se) => {
            e.code().is_some_and(|c| THROTTLING_CODES.contains(&c))
                || se.raw().status().is_server_error()
        }
        _ => false,
    }
}

/// [`StoreError::Backend`] naming the service, operation and resource, e.g.
/// `DynamoDB PutItem on table miro-sam-prod failed: …`.
pub(crate) fn backend<E>(
    service: &str,
    op: &str,
    resource: &str,
    e: &SdkError<E, HttpResponse>,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let hint = if is_transient(e) {
        " (transient: throttled or unreachable; retry later)"
    } else {
        ""
    };
    StoreError::Backend(format!(
        "{service} {op} on {resource} failed{hint}: {}",
        DisplayErrorContext(e)
    ))
}

pub(crate) fn corrupt(what: impl Into<String>, detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what: what.into(),
        detail: detail.to_string(),
    }
}
