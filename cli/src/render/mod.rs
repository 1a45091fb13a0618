//! Turning a [`Report`] into what people read: a terminal table, JSON, CSV files and a self-contained HTML page.

pub mod csv;
pub mod html;
pub mod json;
pub mod table;

/// Text people typed (audit reasons, actors, exemption reasons) as a terminal line shows it: control characters
/// (escape sequences, newlines) become `?`, so a stored value can neither break the table nor drive the terminal.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(char::is_control) {
        text.chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

/// `12345` minor units of `USD` → `USD 123.45`.
pub fn money(minor: u64, currency: &str) -> String {
    format!("{currency} {}.{:02}", thousands(minor / 100), minor % 100)
}

/// Purchased minus assigned seats as people read it: `1,234`, or `272 over` when more seats are assigned than were
/// bought (a bare `-272` reads like a typo or a bug).
pub fn unused_seats(unused: i64) -> String {
    if unused < 0 {
        format!("{} over", thousands(unused.unsigned_abs()))
    } else {
        thousands(unused.unsigned_abs())
    }
}

/// `1234567` → `1,234,567`, as the console prints counts.
pub use miro_sam_console::thousands;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_text_cannot_drive_the_terminal() {
        assert_eq!(printable("plain text"), "plain text");
        assert_eq!(printable("a\u{1b}[2Jb\nc"), "a?[2Jb?c");
    }

    #[test]
    fn money_and_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(money(123456, "USD"), "USD 1,234.56");
        assert_eq!(money(5, "EUR"), "EUR 0.05");
    }

    #[test]
    fn over_assigned_seats_read_as_over() {
        assert_eq!(unused_seats(-272), "272 over");
        assert_eq!(unused_seats(-1234), "1,234 over");
        assert_eq!(unused_seats(0), "0");
        assert_eq!(unused_seats(1500), "1,500");
        assert_eq!(unused_seats(i64::MIN), "9,223,372,036,854,775,808 over");
    }
}
