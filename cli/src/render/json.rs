//! The report as JSON for scripts: the core's [`Report`] as it serializes. Counts stay numbers; `seats.unused` is
//! purchased − assigned paid and goes negative when more seats are assigned than bought, which
//! `seats.over_assigned` states as a plain count.

use miro_sam_core::report::Report;

pub fn render(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("a report always serializes") + "\n"
}
