//! Numbers, money and times as the pages print them.

use chrono::{DateTime, Utc};

/// 1234567 → "1,234,567".
pub(crate) fn thousands(n: u64) -> String {
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
}
