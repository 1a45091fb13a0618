//! The plan's candidate table is laid out to be read at 1280 px: the page uses the window's width, emails and
//! day counts stay on one line, and each candidate's evidence is a few short lines instead of one sentence
//! that made every row six lines high in a cramped column.

mod common;

use common::*;

#[tokio::test]
async fn the_candidate_table_is_wide_and_its_evidence_is_short_lines() {
    let (c, plan, b) = seeded(Options::default()).await;

    let (status, page) = c.get(&b, "/plans").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("<main class=\"wide\">"),
        "the plan page uses the window's width"
    );
    let table = between(&page, "<table class=\"candidates\">", "</table>");
    let first = &plan.candidates[0];
    let row = between(
        table,
        &format!("<a href=\"/console/members/{}\">", first.member_id),
        "</tr>",
    );
    let evidence = between(row, "<td class=\"evidence\"><ul>", "</ul>");
    let lines: Vec<&str> = evidence
        .split("<li>")
        .skip(1)
        .map(|l| l.trim_end_matches("</li>"))
        .collect();
    let e = &first.evidence;
    let mut want = vec![e.role.to_string()];
    want.push(match e.last_activity_at {
        Some(t) => format!("last active {}", t.format("%Y-%m-%d")),
        None => "never active".into(),
    });
    if let Some(t) = e.license_assigned_at {
        want.push(format!("license since {}", t.format("%Y-%m-%d")));
    }
    assert!(lines.len() >= 2, "{row}");
    assert_eq!(&lines[..want.len()], &want[..], "one fact a line: {row}");
    assert!(
        row.contains(&format!("<td class=\"num\">{}</td>", first.days_inactive)),
        "the day count is a right-aligned number: {row}"
    );
    assert!(
        table.matches("<td class=\"email\">").count() == table.matches("<tr>").count() - 1,
        "every row's email cell is marked (the header row has none): {table}"
    );

    // The stylesheet those classes need, served from the binary.
    let (status, css) = c.get(&b, "/static/console.css").await;
    assert_eq!(status, 200);
    for rule in [
        "main.wide { max-width: 1600px; }",
        "table.candidates td.email { white-space: nowrap; }",
        "table.candidates .num { text-align: right; white-space: nowrap; }",
        "table.candidates td.evidence ul {",
    ] {
        assert!(css.contains(rule), "the stylesheet has {rule:?}");
    }

    // Other pages keep their reading width.
    let (_, overview) = c.get(&b, "/").await;
    assert!(overview.contains("<main>"), "the overview is not wide");
}
