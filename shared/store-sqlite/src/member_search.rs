//! The console's member search on SQLite: members whose folded email starts with a prefix, in (email, numeric
//! member id) order, one range of the `members_by_email` index (org, email, id_len, member_id) per page.

use crate::codec::{Query, sql_limit};
use crate::members::{members_sql, query_members_sql};
use miro_sam_core::StoreError;
use miro_sam_core::domain::{Email, MemberId, OrgId, Subscription};

/// The least string above every string that starts with `prefix` (`None` if there is none, or for ""): the
/// prefix with its last character moved one code point up. SQLite compares text byte by byte, and UTF-8 byte
/// order is code point order, so `email >= prefix AND email < end` is exactly "starts with", as an index range.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        // The surrogates are no chars; past U+10FFFF the previous character moves instead.
        let next = match last as u32 + 1 {
            0xD800 => 0xE000,
            n => n,
        };
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Up to `limit` members of the org whose email starts with `prefix`, strictly after `after`.
pub(crate) fn search(
    c: &rusqlite::Connection,
    org: &OrgId,
    prefix: &str,
    after: Option<(&Email, &MemberId)>,
    limit: usize,
) -> Result<Vec<Subscription>, StoreError> {
    let (sql, params) = search_query(org, prefix, after, limit).params();
    query_members_sql(c, &sql, params)
}

/// The lower bound is the cursor when it lies at or above the prefix (a row-value bound over the whole index
/// key, so a page deep into a long list starts where the last one ended), else the prefix itself.
pub(crate) fn search_query(
    org: &OrgId,
    prefix: &str,
    after: Option<(&Email, &MemberId)>,
    limit: usize,
) -> Query {
    let mut q = Query::new("m.org_id = ?1", vec![org.as_str().to_owned().into()]);
    match after {
        Some((email, id)) if email.as_str() >= prefix => {
            q.bind(
                " AND (m.email, m.id_len, m.member_id) > (?",
                email.as_str().to_owned(),
            );
            q.bind(", ?", id.as_str().len() as i64);
            q.bind(", ?)", id.as_str().to_owned());
        }
        _ if !prefix.is_empty() => q.bind(" AND m.email >= ?", prefix.to_owned()),
        _ => {}
    }
    if !prefix.is_empty() {
        match prefix_end(prefix) {
            Some(end) => q.bind(" AND m.email < ?", end),
            // Only a prefix of U+10FFFF characters has no end: filter instead of bounding.
            None => {
                q.bind(" AND substr(m.email, 1, length(?", prefix.to_owned());
                q.bind(")) = ?", prefix.to_owned());
            }
        }
    }
    q.bind(
        " ORDER BY m.email, m.id_len, m.member_id LIMIT ?",
        sql_limit(limit),
    );
    Query {
        sql: members_sql(&q.sql, ""),
        values: q.values,
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn a_prefix_ends_one_code_point_above_its_last_character() {
        assert_eq!(prefix_end(""), None);
        assert_eq!(prefix_end("ann").as_deref(), Some("ano"));
        assert_eq!(prefix_end("ann@").as_deref(), Some("annA"));
        assert_eq!(prefix_end("ñ").as_deref(), Some("ò"));
        assert_eq!(prefix_end("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
    }
}
