//! The SES v2 mailer against the local AWS API (moto's SES v2): a sender that is no SES identity is refused
//! with a clear error, before and at the send; once the identity exists (the address, or its domain), the
//! notice is accepted and SES names the message.

mod common;

use miro_sam_aws::SesMailer;
use miro_sam_core::domain::Email;
use miro_sam_core::ports::{MailError, Mailer, OutgoingEmail};

fn notice(to: &str) -> OutgoingEmail {
    OutgoingEmail {
        to: Email::parse(to).unwrap(),
        subject: "Your Acme Miro license will be freed on Monday 9 March 2026 unless you keep it"
            .into(),
        text: "Your Acme Miro account has had no activity for 212 days.".into(),
        html: "<p>Your Acme Miro account has had no activity for <strong>212 days</strong>.</p>"
            .into(),
        reference: "3074457345821141000/3458764517517852417/1/notice".into(),
    }
}

/// A sender on a domain of its own, so tests sharing one moto never see each other's identities.
fn sender() -> Email {
    let id = common::unique("n");
    Email::parse(&format!("notices@{id}.example.com")).unwrap()
}

async fn client() -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::new(&common::sdk().await)
}

/// A mailer sending as `from` once `identity` (the address or its domain) is an SES identity; its sender check
/// passes.
async fn verified_mailer(from: Email, identity: &str) -> SesMailer {
    let ses = client().await;
    ses.create_email_identity()
        .email_identity(identity)
        .send()
        .await
        .expect("create the identity in moto");
    let mailer = SesMailer::new(ses, from);
    mailer
        .check_sender()
        .await
        .expect("the sender is covered by an identity");
    mailer
}

#[tokio::test]
async fn an_unverified_sender_is_refused_with_what_to_do() {
    let from = sender();
    let mailer = SesMailer::new(client().await, from.clone());
    let err = mailer.check_sender().await.unwrap_err();
    assert!(matches!(err, MailError::Misconfigured { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("the sender {from} is not a verified SES identity")),
        "{msg}"
    );
    assert!(
        msg.contains("create-email-identity"),
        "says what to do: {msg}"
    );

    let err = mailer.send(&notice("ada@example.com")).await.unwrap_err();
    assert!(
        matches!(err, MailError::Misconfigured { .. }),
        "SES refuses the send too: {err}"
    );
    assert!(
        err.to_string().contains("not a verified SES identity"),
        "{err}"
    );
}

#[tokio::test]
async fn a_verified_sender_address_sends_the_notice() {
    let from = sender();
    let mailer = verified_mailer(from.clone(), from.as_str()).await;
    let sent = mailer.send(&notice("ada@example.com")).await.expect("sent");
    assert!(
        sent.message_id.as_deref().is_some_and(|id| !id.is_empty()),
        "SES names the message: {sent:?}"
    );
}

#[tokio::test]
async fn a_sender_at_a_verified_domain_sends_the_notice() {
    let from = sender();
    let mailer = verified_mailer(from.clone(), from.domain()).await;
    mailer.send(&notice("ada@example.com")).await.expect("sent");
}
