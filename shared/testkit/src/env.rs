//! An environment for the settings parsers' unit tests: every parser reads its variables through a lookup
//! function (`from_lookup`), so a test hands it these pairs instead of touching the process environment, which
//! the tests of a binary share.

use std::collections::HashMap;

/// The lookup of an environment holding exactly `pairs` (a later pair wins over an earlier one of the same name).
pub fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let vars: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| vars.get(k).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_only_the_names_it_holds() {
        let env = lookup(&[("A", "1"), ("B", "2"), ("A", "3")]);
        assert_eq!(env("A").as_deref(), Some("3"));
        assert_eq!(env("B").as_deref(), Some("2"));
        assert_eq!(env("C"), None);
    }
}
