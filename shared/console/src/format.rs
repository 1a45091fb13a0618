//! Numbers, money and times as the pages print them.

use chrono::{DateTime, Utc};

/// 1234567 → "1,234,567": how every count reads, in the console and in the CLI's reports.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(crate) fn signed(n: i64) -> String {
    if n < 0 {
        format!("−{}", thousands(n.unsigned_abs()))
    } else {
        thousands(n as u64)
    }
}

/// Minor units with the currency code: 123456, "USD" → "1,234.56 USD".
pub(crate) fn money(minor: u64, currency: &str) -> String {
    format!("{}.{:02} {currency}", thousands(minor / 100), minor % 100)
}

pub(crate) fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A day, or "never".
pub(crate) fn opt_day(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "never".into())
}

/// The core's and the link's messages start lowercase (they are written to follow a colon); a page shows them as
/// sentences.
pub(crate) fn sentence(m: &str) -> String {
    let mut c = m.chars();
    let mut out: String = c
        .next()
        .map(|f| f.to_uppercase().collect())
        .unwrap_or_default();
    out.push_str(c.as_str());
    if !out.is_empty() && !out.ends_with('.') {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_money() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(signed(-1200), "−1,200");
        assert_eq!(money(123_456, "USD"), "1,234.56 USD");
        assert_eq!(money(5, "EUR"), "0.05 EUR");
    }

    #[test]
    fn messages_read_as_sentences() {
        assert_eq!(sentence("this link is damaged"), "This link is damaged.");
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(sentence(""), "");
    }
}
