//! A posted form as name/value pairs, repeated names kept (a plan's checkboxes all share `member`); a page's
//! query string is read the same way (`query.rs`).
//! The CSRF middleware parses it once; handlers take it from the request's extensions.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::PageError;

#[derive(Debug, Clone, Default)]
pub(crate) struct FormData(Vec<(String, String)>);

impl FormData {
    pub fn parse(body: &[u8]) -> Self {
        FormData(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed, `None` when absent or blank.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A required field, or a clear 400 naming it.
    pub fn require(&self, name: &str, what: &str) -> Result<&str, PageError> {
        self.text(name).ok_or_else(|| {
            PageError::BadRequest(format!(
                "{what} is missing; fill it in and send the form again"
            ))
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for FormData {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, PageError> {
        parts.extensions.get::<FormData>().cloned().ok_or_else(|| {
            PageError::Internal("the form was not checked before the handler ran".into())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_are_kept() {
        let f = FormData::parse(b"csrf=a%2Bb&member=1&member=22&why=+no+longer+here+");
        assert_eq!(f.get("csrf"), Some("a+b"));
        assert_eq!(f.all("member"), ["1", "22"]);
        assert_eq!(f.text("why"), Some("no longer here"));
        assert_eq!(f.text("absent"), None);
        assert!(
            f.require("absent", "A reason")
                .unwrap_err()
                .to_string()
                .contains("A reason")
        );
    }
}
