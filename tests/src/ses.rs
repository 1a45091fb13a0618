//! SES v2 set-up on a local AWS API (moto): what `aws sesv2 create-email-identity` does, over SES v2's REST API
//! (this crate has no SES SDK; the adapter under test, `miro_sam_aws::SesMailer`, is the only SES client).

/// Verifies `identity` (an address or a domain) at the SES v2 API on `endpoint` (`http://host:port`). Call it after
/// [`crate::world`], which installs the TLS crypto provider reqwest needs.
pub async fn create_email_identity(endpoint: &str, identity: &str) {
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/v2/email/identities",
            endpoint.trim_end_matches('/')
        ))
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ses/aws4_request, SignedHeaders=host, \
             Signature=0",
        )
        .json(&serde_json::json!({ "EmailIdentity": identity }))
        .send()
        .await
        .expect("the local AWS API answers");
    assert!(
        resp.status().is_success(),
        "create identity: {}",
        resp.status()
    );
}
