//! REST v2 organization endpoints: the org, its members as a stream of cursor pages, one member.

use futures::Stream;
use reqwest::Method;
use secrecy::SecretString;
use serde::Deserialize;
use std::collections::HashSet;
use std::sync::Arc;
use url::Url;

use crate::MiroClient;
use crate::error::{Api, MiroError};
use crate::http::{Body, Call, Retry};
use crate::model::{Member, MemberFilter, MembersPage, Organization, UndecodableMember};
use crate::pacer::Pacer;

/// Miro's maximum page size for the members list.
pub const MEMBERS_PAGE_LIMIT: u32 = 100;
/// Miro's maximum number of addresses in one `emails=` query.
const EMAILS_PER_QUERY: usize = 10;

const ORG: &str = "GET /v2/orgs/{org}";
const MEMBERS: &str = "GET /v2/orgs/{org}/members";
const MEMBER: &str = "GET /v2/orgs/{org}/members/{member}";

#[derive(Deserialize)]
struct MembersEnvelope {
    data: Vec<Member>,
}

/// A members page as sent, each member still undecoded, so one member we cannot read does not cost the page.
#[derive(Deserialize)]
struct RawMembersPage {
    data: Vec<serde_json::Value>,
    #[serde(default)]
    cursor: Option<String>,
}

/// The `emails=` form answers with a bare array; accept an envelope too in case that ever changes.
#[derive(Deserialize)]
#[serde(untagged)]
enum MembersByEmail {
    Bare(Vec<Member>),
    Envelope(MembersEnvelope),
}

impl MiroClient {
    /// `GET /v2/orgs/{org}`: plan and purchased full licenses.
    pub async fn organization(
        &self,
        token: &SecretString,
        org_id: &str,
    ) -> Result<Organization, MiroError> {
        let answer = self.rest_get(ORG, token, org_id, &[], &[]).await?;
        answer.json()
    }

    /// One page of members. `cursor` is `None` for the first page. A page without members has no next cursor.
    /// A cursor naming a member who has left the org is refused by Miro as [`MiroError::BadRequest`] (400
    /// `invalidParameters`); start over from the first page then.
    pub async fn members_page(
        &self,
        token: &SecretString,
        org_id: &str,
        filter: &MemberFilter,
        cursor: Option<&str>,
    ) -> Result<MembersPage, MiroError> {
        let mut query: Vec<(&str, String)> = vec![("limit", MEMBERS_PAGE_LIMIT.to_string())];
        if let Some(c) = cursor {
            query.push(("cursor", c.to_owned()));
        }
        if let Some(l) = &filter.license {
            query.push(("license", l.as_str().to_owned()));
        }
        if let Some(r) = &filter.role {
            query.push(("role", r.as_str().to_owned()));
        }
        if let Some(a) = filter.active {
            query.push(("active", a.to_string()));
        }
        let answer = self
            .rest_get(MEMBERS, token, org_id, &["members"], &query)
            .await?;
        let raw: RawMembersPage = answer.json()?;
        // An empty page is the end too, whatever cursor it names: asking again would only repeat it.
        let next_cursor = if raw.data.is_empty() {
            None
        } else {
            raw.cursor.filter(|c| !c.is_empty())
        };
        let mut members = Vec::with_capacity(raw.data.len());
        let mut undecodable = Vec::new();
        for v in raw.data {
            match Member::deserialize(&v) {
                Ok(m) => members.push(m),
                Err(e) => undecodable.push(UndecodableMember::of(&v, &e)),
            }
        }
        Ok(MembersPage {
            members,
            undecodable,
            next_cursor,
        })
    }

    /// Every member matching `filter`, page by page, starting after `start_cursor` (to resume a checkpoint).
    /// Ends when Miro's cursor is empty or absent or a page has no members; a cursor seen before ends the stream with
    /// [`MiroError::RepeatedCursor`] instead of looping.
    pub fn members(
        &self,
        token: &SecretString,
        org_id: &str,
        filter: MemberFilter,
        start_cursor: Option<String>,
    ) -> impl Stream<Item = Result<MembersPage, MiroError>> + Send + 'static {
        struct St {
            client: MiroClient,
            token: SecretString,
            org: String,
            filter: MemberFilter,
            cursor: Option<String>,
            seen: HashSet<String>,
            done: bool,
        }
        let mut seen = HashSet::new();
        seen.extend(start_cursor.clone());
        let st = St {
            client: self.clone(),
            token: token.clone(),
            org: org_id.to_owned(),
            filter,
            cursor: start_cursor,
            seen,
            done: false,
        };
        futures::stream::try_unfold(st, |mut st| async move {
            if st.done {
                return Ok(None);
            }
            let page = st
                .client
                .members_page(&st.token, &st.org, &st.filter, st.cursor.as_deref())
                .await?;
            match &page.next_cursor {
                None => st.done = true,
                Some(next) => {
                    if !st.seen.insert(next.clone()) {
                        return Err(MiroError::RepeatedCursor {
                            endpoint: MEMBERS.to_owned(),
                            cursor: next.clone(),
                        });
                    }
                    st.cursor = Some(next.clone());
                }
            }
            Ok(Some((page, st)))
        })
    }

    /// Members by email address (Miro takes ten per query; longer lists are split).
    pub async fn members_by_email(
        &self,
        token: &SecretString,
        org_id: &str,
        emails: &[&str],
    ) -> Result<Vec<Member>, MiroError> {
        let mut out = Vec::new();
        for chunk in emails.chunks(EMAILS_PER_QUERY) {
            let query = [("emails", chunk.join(","))];
            let answer = self
                .rest_get(MEMBERS, token, org_id, &["members"], &query)
                .await?;
            match answer.json::<MembersByEmail>()? {
                MembersByEmail::Bare(v) => out.extend(v),
                MembersByEmail::Envelope(e) => out.extend(e.data),
            }
        }
        Ok(out)
    }

    /// One member; [`MiroError::NotFound`] when the member left the org.
    pub async fn member(
        &self,
        token: &SecretString,
        org_id: &str,
        member_id: &str,
    ) -> Result<Member, MiroError> {
        let answer = self
            .rest_get(MEMBER, token, org_id, &["members", member_id], &[])
            .await?;
        answer.json()
    }

    async fn rest_get(
        &self,
        endpoint: &'static str,
        token: &SecretString,
        org_id: &str,
        tail: &[&str],
        query: &[(&str, String)],
    ) -> Result<crate::http::Answer, MiroError> {
        let mut url =
            self.segments_url(&self.inner.config.api_base_url, &["v2", "orgs", org_id])?;
        url.path_segments_mut()
            .map_err(|_| MiroError::Config("API base URL cannot have a path".into()))?
            .extend(tail);
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        self.execute(Call {
            api: Api::Rest,
            endpoint,
            method: Method::GET,
            url,
            bearer: Some(token),
            body: Body::None,
            pacer: Some(self.rest_pacer(org_id)),
            retry: Retry::Idempotent,
            quote_body: true,
        })
        .await
    }

    /// The budget is per user and app; one connected org is one installing user, so pace per org.
    fn rest_pacer(&self, org_id: &str) -> Arc<Pacer> {
        let l = self.inner.config.rest_limits;
        self.inner.rest_pacers.get_or_create(org_id, || {
            Pacer::new(
                l.credits_per_window as f64 / l.level3_cost.max(1) as f64,
                l.window,
                l.utilization,
            )
        })
    }

    /// `base` + percent-encoded path segments (ids are data, never path syntax).
    pub(crate) fn segments_url(&self, base: &Url, segments: &[&str]) -> Result<Url, MiroError> {
        let mut url = base.clone();
        url.path_segments_mut()
            .map_err(|_| MiroError::Config(format!("base URL {base} cannot carry a path")))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }
}
