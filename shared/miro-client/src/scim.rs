//! SCIM 2.0 users: find by email, read, deactivate/reactivate, list; and the connection test.
//! There is deliberately no delete: the product never deletes a Miro user.

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::MiroClient;
use crate::error::{Api, MiroError};
use crate::http::{Body, Call, Retry};
use crate::model::{ScimServiceInfo, ScimUser, ScimUsersPage};
use crate::pacer::Pacer;

/// Page size for `GET /Users`. Miro's docs give both 1000 and 200 as the maximum; 200 is safe under both.
pub const SCIM_PAGE_MAX: u32 = 200;

const LIST: &str = "GET /scim/Users";
const GET: &str = "GET /scim/Users/{id}";
const PATCH: &str = "PATCH /scim/Users/{id}";
const SPC: &str = "GET /scim/ServiceProviderConfig";

#[derive(Clone, Copy)]
enum ScimEndpoint {
    List,
    Get,
    Patch,
    Other,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListResponse {
    #[serde(default)]
    total_results: u64,
    #[serde(default = "one")]
    start_index: u64,
    #[serde(rename = "Resources", default)]
    resources: Vec<ScimUser>,
}

fn one() -> u64 {
    1
}

/// Percent-encodes a query value the RFC 3986 way, as Miro's docs write SCIM filters: a space is `%20`.
/// `url`'s `query_pairs_mut` writes HTML-form style, where a space is `+`, which an RFC 3986 server reads as a
/// plus: `userName+eq+"x"` is not the filter we meant. Form encoding writes a literal `+` as `%2B`, so every
/// `+` left in its output stands for a space.
fn rfc3986_component(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

impl MiroClient {
    /// The SCIM user whose `userName` (their email) matches, compared case-insensitively by Miro.
    pub async fn scim_find_user_by_email(
        &self,
        scim_token: &SecretString,
        email: &str,
    ) -> Result<Option<ScimUser>, MiroError> {
        let escaped = email.replace('\\', "\\\\").replace('"', "\\\"");
        let filter = format!("userName eq \"{escaped}\"");
        // A few results, not one: a case-insensitive match may also answer near-twins (a Kelvin sign for a `k`),
        // and only the exact (ASCII-folded) userName is the one asked for.
        let page = self.scim_list(scim_token, Some(&filter), 1, 10).await?;
        Ok(page
            .users
            .into_iter()
            .find(|u| u.user_name.eq_ignore_ascii_case(email)))
    }

    pub async fn scim_get_user(
        &self,
        scim_token: &SecretString,
        user_id: &str,
    ) -> Result<ScimUser, MiroError> {
        let url = self.segments_url(&self.inner.config.scim_base_url, &["Users", user_id])?;
        let answer = self
            .scim_call(
                GET,
                ScimEndpoint::Get,
                Method::GET,
                url,
                scim_token,
                Body::None,
            )
            .await?;
        answer.json()
    }

    /// Deactivates (`false`, which frees the seat and can be undone) or reactivates (`true`) a user.
    /// Setting the state it already has is harmless, so the call is safe to retry.
    ///
    /// Success is what Miro shows afterwards, not what it answered: RFC 7644 §3.5.2 allows 200 with the resource
    /// or 204 with no body, and either is followed by `GET /Users/{id}`. The user read back is returned; if it
    /// does not have the state asked for, the result is [`MiroError::ScimNotApplied`].
    pub async fn scim_set_active(
        &self,
        scim_token: &SecretString,
        user_id: &str,
        active: bool,
    ) -> Result<ScimUser, MiroError> {
        let url = self.segments_url(&self.inner.config.scim_base_url, &["Users", user_id])?;
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "Replace", "path": "active", "value": active }],
        });
        // The answer's body, if any, is not trusted: only the read-back says what Miro did.
        self.scim_call(
            PATCH,
            ScimEndpoint::Patch,
            Method::PATCH,
            url,
            scim_token,
            Body::Json(body),
        )
        .await?;
        let mut user = self.scim_get_user(scim_token, user_id).await?;
        if user.active != active {
            // One more look after a short pause, in case Miro applies the change a moment after answering.
            tokio::time::sleep(self.inner.config.retry.base_delay).await;
            user = self.scim_get_user(scim_token, user_id).await?;
        }
        if user.active != active {
            return Err(MiroError::ScimNotApplied {
                endpoint: PATCH.to_owned(),
                user_id: user_id.to_owned(),
                wanted: active,
            });
        }
        Ok(user)
    }

    /// One page of users; `start_index` is 1-based.
    pub async fn scim_list_users(
        &self,
        scim_token: &SecretString,
        start_index: u64,
        count: u32,
    ) -> Result<ScimUsersPage, MiroError> {
        self.scim_list(scim_token, None, start_index, count).await
    }

    async fn scim_list(
        &self,
        scim_token: &SecretString,
        filter: Option<&str>,
        start_index: u64,
        count: u32,
    ) -> Result<ScimUsersPage, MiroError> {
        let mut url = self.segments_url(&self.inner.config.scim_base_url, &["Users"])?;
        let mut query = Vec::new();
        if let Some(f) = filter {
            query.push(format!("filter={}", rfc3986_component(f)));
        }
        query.push(format!("startIndex={}", start_index.max(1)));
        query.push(format!("count={}", count.clamp(1, SCIM_PAGE_MAX)));
        url.set_query(Some(&query.join("&")));
        let answer = self
            .scim_call(
                LIST,
                ScimEndpoint::List,
                Method::GET,
                url,
                scim_token,
                Body::None,
            )
            .await?;
        let list: ListResponse = answer.json()?;
        Ok(ScimUsersPage {
            users: list.resources,
            total_results: list.total_results,
            start_index: list.start_index,
        })
    }

    /// Checks that the SCIM token works and SCIM is enabled.
    pub async fn scim_service_provider_config(
        &self,
        scim_token: &SecretString,
    ) -> Result<ScimServiceInfo, MiroError> {
        let url =
            self.segments_url(&self.inner.config.scim_base_url, &["ServiceProviderConfig"])?;
        let answer = self
            .scim_call(
                SPC,
                ScimEndpoint::Other,
                Method::GET,
                url,
                scim_token,
                Body::None,
            )
            .await?;
        let v: serde_json::Value = answer.json()?;
        Ok(ScimServiceInfo {
            patch_supported: v
                .pointer("/patch/supported")
                .and_then(|x| x.as_bool())
                .unwrap_or(false),
            filter_max_results: v.pointer("/filter/maxResults").and_then(|x| x.as_u64()),
        })
    }

    async fn scim_call(
        &self,
        endpoint: &'static str,
        kind: ScimEndpoint,
        method: Method,
        url: url::Url,
        token: &SecretString,
        body: Body,
    ) -> Result<crate::http::Answer, MiroError> {
        self.execute(Call {
            api: Api::Scim,
            endpoint,
            method,
            url,
            bearer: Some(token),
            body,
            pacer: Some(self.scim_pacer(token, kind)),
            retry: Retry::Idempotent,
            quote_body: true,
        })
        .await
    }

    /// SCIM budgets are per token and per endpoint. The key is a hash of the token, kept only in memory.
    fn scim_pacer(&self, token: &SecretString, kind: ScimEndpoint) -> Arc<Pacer> {
        let l = self.inner.config.scim_limits;
        let (name, budget) = match kind {
            ScimEndpoint::List => ("list", l.list_users),
            ScimEndpoint::Get => ("get", l.get_user),
            ScimEndpoint::Patch => ("patch", l.patch_user),
            ScimEndpoint::Other => ("other", l.other),
        };
        let mut h = std::collections::hash_map::DefaultHasher::new();
        token.expose_secret().hash(&mut h);
        let key = format!("{:016x}/{name}", h.finish());
        self.inner
            .scim_pacers
            .get_or_create(&key, || Pacer::new(budget as f64, l.window, l.utilization))
    }
}
