//! The notice channel on AWS: the core's [`Mailer`] over Amazon SES v2 (`SendEmail`, simple content with text
//! and HTML parts), from one configured sender identity.
//!
//! The sender must be an SES identity (the address, or its domain) verified for sending; [`SesMailer::check_sender`]
//! says so before the first send, and a send SES refuses for an unverified sender is
//! [`MailError::Misconfigured`] with what to do. How other failures map onto what the lifecycle acts on:
//! - throttling (`TooManyRequestsException`, `LimitExceededException`) → `Throttled`;
//! - the account or sending paused, the MAIL FROM domain unverified → `Misconfigured`;
//! - an address SES refuses (`MessageRejected` naming another identity, e.g. an unverified recipient while the
//!   account is in the SES sandbox; `BadRequestException`) → `Rejected`;
//! - no connection to SES → `NotSent`; a timeout or an unreadable answer → `Unknown` (SES may have sent it, so it
//!   is never sent again).

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::config::http::HttpResponse;
use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageTag};
use miro_sam_core::domain::Email;
use miro_sam_core::ports::{MailError, Mailer, OutgoingEmail, SentEmail};

/// The SES message tag that carries a message's reference (`{org}-{member}-{cycle}-notice` and so on: the
/// reference with `/` as `-`, see [`tag_value`]). SES publishes it with the message's bounce events, which is how
/// a late bounce finds its notice (`miro_sam_core::notices::parse_notice_reference` reads it back).
pub const NOTICE_TAG: &str = "miro-sam-notice";

/// [`Mailer`] on SES v2. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    from: Email,
    configuration_set: Option<String>,
}

impl SesMailer {
    /// Sends from `from` (the verified identity, or an address at a verified domain).
    pub fn new(client: Client, from: Email) -> Self {
        SesMailer {
            client,
            from,
            configuration_set: None,
        }
    }

    /// Sends from `from` with an SES client of the shared configuration (e.g. [`crate::sdk::load`]'s), for
    /// callers that hold the configuration but not the SES SDK.
    pub fn from_sdk(config: &aws_config::SdkConfig, from: Email) -> Self {
        Self::new(Client::new(config), from)
    }

    /// As [`Self::from_sdk`], with SES at `endpoint` whatever `AWS_ENDPOINT_URL` says (as
    /// [`crate::AwsClients::at_endpoint`]): a local SES of a test's own.
    pub fn at_endpoint(config: &aws_config::SdkConfig, endpoint: &str, from: Email) -> Self {
        let conf = aws_sdk_sesv2::config::Builder::from(config)
            .endpoint_url(endpoint)
            .build();
        Self::new(Client::from_conf(conf), from)
    }

    /// Sends through this SES configuration set (where bounce and complaint events are published).
    pub fn with_configuration_set(mut self, name: impl Into<String>) -> Self {
        self.configuration_set = Some(name.into());
        self
    }

    /// Checks that SES knows the sender as an identity, the address itself or its domain. `Misconfigured` with
    /// what to do when it does not, so a deployment finds out before the first notice is due.
    pub async fn check_sender(&self) -> Result<(), MailError> {
        for identity in [self.from.as_str(), self.from.domain()] {
            match self
                .client
                .get_email_identity()
                .email_identity(identity)
                .send()
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if e.code() == Some("NotFoundException") => continue,
                Err(e) => return Err(classify(&e, &self.from)),
            }
        }
        Err(MailError::Misconfigured {
            detail: unverified_sender(&self.from),
        })
    }
}

fn unverified_sender(from: &Email) -> String {
    format!(
        "the sender {from} is not a verified SES identity in this region; verify the address or its domain \
         {} in Amazon SES (console, or `aws sesv2 create-email-identity`) and follow the verification mail \
         or DNS records, or configure a sender that is verified",
        from.domain()
    )
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<SentEmail, MailError> {
        let text = |s: &str| {
            Content::builder()
                .data(s)
                .charset("UTF-8")
                .build()
                .map_err(|e| MailError::Misconfigured {
                    detail: format!("cannot build the SES message: {e}"),
                })
        };
        let message = Message::builder()
            .subject(text(&email.subject)?)
            .body(
                Body::builder()
                    .text(text(&email.text)?)
                    .html(text(&email.html)?)
                    .build(),
            )
            .build();
        let tag = MessageTag::builder()
            .name(NOTICE_TAG)
            .value(tag_value(&email.reference))
            .build()
            .map_err(|e| MailError::Misconfigured {
                detail: format!("cannot build the SES message tag: {e}"),
            })?;
        let res = self
            .client
            .send_email()
            .from_email_address(self.from.as_str())
            .destination(
                Destination::builder()
                    .to_addresses(email.to.as_str())
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .email_tags(tag)
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await;
        match res {
            Ok(out) => Ok(SentEmail {
                message_id: out.message_id,
            }),
            Err(e) => {
                let err = classify(&e, &self.from);
                tracing::warn!(reference = %email.reference, error = %err, "SES SendEmail failed");
                Err(err)
            }
        }
    }
}

/// SES tag values allow letters, digits, `_`, `-`, `.`, `@`: the reference with anything else as `-`.
fn tag_value(reference: &str) -> String {
    reference
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_-.@".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(256)
        .collect()
}

fn classify<E>(e: &SdkError<E, HttpResponse>, from: &Email) -> MailError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let detail = DisplayErrorContext(e).to_string();
    match e {
        // A timeout may have struck after SES took the request; any other dispatch failure never reached it.
        SdkError::DispatchFailure(d) if d.is_timeout() => return MailError::Unknown { detail },
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) => {
            return MailError::NotSent { detail };
        }
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            return MailError::Unknown { detail };
        }
        _ => {}
    }
    let message = e.message().unwrap_or_default();
    match e.code() {
        Some("TooManyRequestsException" | "LimitExceededException" | "ThrottlingException") => {
            MailError::Throttled { detail }
        }
        Some(
            "AccountSuspendedException"
            | "SendingPausedException"
            | "MailFromDomainNotVerifiedException"
            | "AccessDeniedException"
            | "NotFoundException",
        ) => MailError::Misconfigured { detail },
        Some("MessageRejected")
            if message.contains("not verified")
                && message.to_ascii_lowercase().contains(from.as_str()) =>
        {
            MailError::Misconfigured {
                detail: format!("{}: {detail}", unverified_sender(from)),
            }
        }
        Some("MessageRejected" | "BadRequestException") => MailError::Rejected { detail },
        // Anything else (a 5xx after the SDK's own retries): SES may have taken the message.
        _ => MailError::Unknown { detail },
    }
}

#[cfg(test)]
mod tests {
    use super::tag_value;

    #[test]
    fn a_tagged_reference_reads_back_as_its_notice() {
        use miro_sam_core::notices::{MessageKind, parse_notice_reference};
        for reference in [
            "3074457345821141000/3458764517517852417/2/notice",
            "3074457345821141000/3458764517517852417/2/reminder-3",
        ] {
            let tagged = parse_notice_reference(&tag_value(reference)).unwrap();
            assert_eq!(tagged, parse_notice_reference(reference).unwrap());
            assert_eq!(tagged.cycle, 2);
            assert_ne!(tagged.message, MessageKind::Reminder { days_before: 2 });
        }
    }

    #[test]
    fn tag_values_keep_only_what_ses_allows() {
        assert_eq!(
            tag_value("3074/3458/2/reminder-2"),
            "3074-3458-2-reminder-2"
        );
    }
}
