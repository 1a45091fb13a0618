//! Query strings as pages read them: tolerant (a bad value falls back or is reported on the page), never a
//! bare rejection. The pairs are parsed as a posted form's are.

use crate::form::FormData;

pub(crate) struct Query(FormData);

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        Query(FormData::parse(raw.unwrap_or_default().as_bytes()))
    }

    /// The trimmed, non-empty value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.text(name)
    }
}

/// `path?k=v&…` with the pairs whose value is non-empty, percent-encoded.
pub(crate) fn href(path: &str, pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        s.append_pair(k, v);
    }
    let q = s.finish();
    if q.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{q}")
    }
}
