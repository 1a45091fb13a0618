//! Plain-string secrets the deployment's operator puts in place (e.g. the connect-link signing key).

use aws_sdk_secretsmanager::Client;
use secrecy::SecretString;

/// The secret's string value. `what` names it in the error, which also says how to put it in place.
pub async fn read_plain_secret(
    client: &Client,
    name: &str,
    what: &str,
) -> Result<SecretString, String> {
    let out = client.get_secret_value().secret_id(name).send().await.map_err(|e| {
        let e = e.into_service_error();
        if e.is_resource_not_found_exception() {
            format!(
                "{what} is missing: Secrets Manager has no secret {name:?} (or it has no value yet); put it with \
                 `aws secretsmanager put-secret-value --secret-id {name} --secret-string ...`"
            )
        } else {
            format!("cannot read {what} from Secrets Manager secret {name:?}: {e}")
        }
    })?;
    match out.secret_string().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(SecretString::from(v.to_owned())),
        _ => Err(format!(
            "{what} is empty: Secrets Manager secret {name:?} has no string value; put it with \
             `aws secretsmanager put-secret-value --secret-id {name} --secret-string ...`"
        )),
    }
}
