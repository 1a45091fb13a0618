//! Turning a [`Report`] into what people read: a terminal table, JSON, CSV files and a self-contained HTML page.

pub mod csv;
pub mod html;
pub mod table;

/// `12345` minor units of `USD` → `USD 123.45`.
pub fn money(minor: u64, currency: &str) -> String {
    format!("{currency} {}.{:02}", thousands(minor / 100), minor % 100)
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(money(123456, "USD"), "USD 1,234.56");
        assert_eq!(money(5, "EUR"), "EUR 0.05");
    }
}
