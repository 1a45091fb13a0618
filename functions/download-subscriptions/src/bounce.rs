//! Late bounces from SES (issue 12): the notices go out through an SES configuration set whose EventBridge
//! destination publishes each bounce to the default bus (`source: aws.ses`, `detail-type: Email Bounced`), and
//! the template's rule invokes this function with it. SES accepted those messages, so the daily run counted them
//! as told; the recipient's server refused them later.
//!
//! Only a permanent bounce is recorded ([`record_bounce`]): a transient one (a full mailbox, a greylisting
//! server) is retried by SES itself and may yet arrive. The message is found by its [`NOTICE_TAG`]; a bounce of a
//! message without it (the admins' digest, another sender's mail) changes nothing. An event that is not what SES
//! publishes is an error with what was wrong, and nothing is changed.

use miro_sam_aws::ses::NOTICE_TAG;
use miro_sam_core::notices::{BounceOutcome, parse_notice_reference, record_bounce};
use miro_sam_lambda::Runtime;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::Instrument;

use crate::FUNCTION;

/// The event source SES publishes under.
pub const SES_SOURCE: &str = "aws.ses";
/// The detail type of a bounce event.
pub const BOUNCED: &str = "Email Bounced";

/// An event from SES (`source: aws.ses`): the payload of a bounce invocation.
pub fn is_ses_event(payload: &Value) -> bool {
    payload.get("source").and_then(Value::as_str) == Some(SES_SOURCE)
        && payload.get("detail-type").is_some()
}

/// What the invocation did with the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "bounce", rename_all = "snake_case")]
pub enum BounceResponse {
    /// The notice bounced: the member's cycle is bounced and they are not reclaimed on it.
    NoticeBounced { reference: String },
    /// A reminder bounced; the notice was delivered, so the cycle goes on.
    ReminderNotDelivered { reference: String, days_before: u32 },
    /// Recorded by an earlier delivery of the event.
    AlreadyRecorded { reference: String },
    /// Nothing changed, and why.
    Ignored { why: String },
}

#[derive(Deserialize)]
struct Detail {
    bounce: Bounce,
    mail: Mail,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bounce {
    bounce_type: String,
    #[serde(default)]
    bounce_sub_type: String,
    bounced_recipients: Vec<Recipient>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    email_address: String,
    #[serde(default)]
    diagnostic_code: Option<String>,
}

#[derive(Deserialize)]
struct Mail {
    #[serde(default)]
    tags: std::collections::BTreeMap<String, Vec<String>>,
}

/// Handles one SES event. Errs, logged, on an event that is not SES's shape, or when the store fails (then
/// EventBridge's retry delivers it again; recording is idempotent).
pub async fn handle_ses_event(
    rt: &Runtime,
    request_id: &str,
    payload: &Value,
) -> Result<BounceResponse, String> {
    let span = tracing::info_span!("invoke", request_id = %request_id, function = FUNCTION, kind = "ses-event");
    async move {
        let r = handle(rt, payload).await;
        match &r {
            Ok(response) => tracing::info!(?response, "SES event handled"),
            Err(e) => tracing::error!(error = %e, "SES event not handled; nothing changed"),
        }
        r
    }
    .instrument(span)
    .await
}

async fn handle(rt: &Runtime, payload: &Value) -> Result<BounceResponse, String> {
    let kind = payload
        .get("detail-type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind != BOUNCED {
        return Ok(BounceResponse::Ignored {
            why: format!(
                "an SES event of type {kind:?}: only {BOUNCED:?} is recorded (the rule should send only those)"
            ),
        });
    }
    let detail: Detail = serde_json::from_value(payload.get("detail").cloned().unwrap_or_default())
        .map_err(|e| {
            format!(
                "unreadable SES bounce event ({e}); expected detail.bounce.bounceType, \
                 detail.bounce.bouncedRecipients and detail.mail.tags as SES publishes them"
            )
        })?;
    if detail.bounce.bounce_type != "Permanent" {
        return Ok(BounceResponse::Ignored {
            why: format!(
                "a {} bounce ({}): SES retries it, and the message may yet arrive",
                detail.bounce.bounce_type, detail.bounce.bounce_sub_type
            ),
        });
    }
    let Some(reference) = detail.mail.tags.get(NOTICE_TAG).and_then(|v| v.first()) else {
        return Ok(BounceResponse::Ignored {
            why: format!("the message has no {NOTICE_TAG} tag: it was not a notice"),
        });
    };
    if reference.starts_with("digest") {
        return Ok(BounceResponse::Ignored {
            why: "the admins' digest bounced; check the digest addresses in the settings".into(),
        });
    }
    let notice = parse_notice_reference(reference).map_err(|e| e.to_string())?;
    let why = describe(&detail.bounce);
    let outcome = record_bounce(rt.deps.store.as_ref(), &notice, &why, rt.deps.clock.now())
        .await
        .map_err(|e| format!("cannot record the bounce of {reference}: {e}"))?;
    let reference = reference.clone();
    Ok(match outcome {
        BounceOutcome::NoticeBounced => BounceResponse::NoticeBounced { reference },
        BounceOutcome::ReminderNotDelivered { days_before } => {
            BounceResponse::ReminderNotDelivered {
                reference,
                days_before,
            }
        }
        BounceOutcome::AlreadyRecorded => BounceResponse::AlreadyRecorded { reference },
        BounceOutcome::Ignored { why } => BounceResponse::Ignored { why },
    })
}

/// What the audit entry and the record say: each refused address with the receiving server's answer.
fn describe(b: &Bounce) -> String {
    let recipients: Vec<String> = b
        .bounced_recipients
        .iter()
        .map(|r| match &r.diagnostic_code {
            Some(code) => format!("{}: {code}", r.email_address),
            None => format!("{}: {} bounce", r.email_address, b.bounce_sub_type),
        })
        .collect();
    if recipients.is_empty() {
        format!("permanent bounce ({})", b.bounce_sub_type)
    } else {
        recipients.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str) -> Value {
        let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn only_ses_events_are_routed_here() {
        assert!(is_ses_event(&event("ses-bounce.json")));
        for other in ["scheduled-event.json", "all-orgs.json", "one-org.json"] {
            assert!(!is_ses_event(&event(other)), "{other}");
        }
    }

    #[test]
    fn the_sample_reads_as_a_permanent_bounce_of_a_notice() {
        let e = event("ses-bounce.json");
        assert_eq!(e["detail-type"], BOUNCED);
        let d: Detail = serde_json::from_value(e["detail"].clone()).unwrap();
        assert_eq!(d.bounce.bounce_type, "Permanent");
        assert_eq!(
            describe(&d.bounce),
            "ada@example.com: smtp; 550 5.1.1 user unknown"
        );
        let tag = &d.mail.tags[NOTICE_TAG][0];
        let n = parse_notice_reference(tag).unwrap();
        assert_eq!((n.org.as_str(), n.cycle), ("3074457345821141000", 1));
    }
}
