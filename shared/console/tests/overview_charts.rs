//! The overview's two charts as the browser gets them: every date label of the chart over time fits inside the
//! SVG (the last one used to be cut in half by its right edge), and the activity chart has one slot per bar
//! (it used to end in an empty seventh slot).

mod common;

use chrono::Duration;
use common::*;
use miro_sam_core::ports::MemberStore;

/// The value of attribute `name` in one SVG tag's text.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let marker = format!(" {name}=\"");
    let at = tag.find(&marker)? + marker.len();
    let rest = &tag[at..];
    Some(&rest[..rest.find('"')?])
}

fn num(tag: &str, name: &str) -> f64 {
    attr(tag, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} of {tag}"))
}

/// Each `<name …>` opening tag of `svg`, with the text up to the next `<` (a `<text>`'s content).
fn tags<'a>(svg: &'a str, name: &str) -> Vec<(&'a str, &'a str)> {
    let open = format!("<{name} ");
    svg.match_indices(&open)
        .map(|(i, _)| {
            let rest = &svg[i..];
            let end = rest.find('>').expect("a closed tag");
            let after = &rest[end + 1..];
            (
                &rest[..end],
                after[..after.find('<').unwrap_or(after.len())].trim(),
            )
        })
        .collect()
}

/// The `n`th `<svg>…</svg>` of a page.
fn nth_svg(page: &str, n: usize) -> &str {
    let (start, _) = page.match_indices("<svg").nth(n).expect("the chart");
    let rest = &page[start..];
    &rest[..rest.find("</svg>").expect("a closed svg")]
}

#[tokio::test]
async fn the_overview_charts_fit_their_labels_and_have_one_slot_per_bar() {
    let c = console(Options::default()).await;
    c.seed().await;
    // Thirty-one days of snapshots (the screenshots' month), so the chart over time has dates along its axis up to today's.
    let latest = c.w.store.latest_snapshot(&c.w.org).await.unwrap().unwrap();
    for d in 1..=30 {
        let mut s = latest.clone();
        s.date -= Duration::days(d);
        s.assigned_paid += d as u32;
        c.w.store.put_snapshot(&s).await.unwrap();
    }
    let b = c.signed_in_browser().await;
    let (status, page) = c.get(&b, "/").await;
    assert_eq!(status, 200);

    let over_time = nth_svg(&page, 0);
    let width = num(tags(over_time, "svg")[0].0, "width");
    let dates: Vec<_> = tags(over_time, "text")
        .into_iter()
        .filter(|(_, text)| text.len() == 10 && text.starts_with("20"))
        .collect();
    assert!(
        dates.iter().any(|(_, t)| *t == latest.date.to_string()),
        "the latest day is labelled: {dates:?}"
    );
    for (tag, text) in &dates {
        let x = num(tag, "x");
        let size = num(tag, "font-size");
        // 0.64 em a character: the widest digit of the common sans-serif fonts.
        let half = text.chars().count() as f64 * 0.64 * size / 2.0;
        let (left, right) = match attr(tag, "text-anchor") {
            Some("middle") => (x - half, x + half),
            Some("end") => (x - 2.0 * half, x),
            _ => (x, x + 2.0 * half),
        };
        assert!(
            left >= 0.0 && right <= width,
            "the label {text} spans {left:.0}..{right:.0} of a {width} px wide chart: {tag}"
        );
    }

    let activity = nth_svg(&page, 1);
    // The bars (empty buckets too, at zero height): filled rectangles other than the white background.
    let bars: Vec<(f64, f64)> = tags(activity, "rect")
        .into_iter()
        .filter(|(t, _)| attr(t, "fill").is_some_and(|f| !f.eq_ignore_ascii_case("#FFFFFF")))
        .map(|(t, _)| (num(t, "x"), num(t, "x") + num(t, "width")))
        .collect();
    assert_eq!(bars.len(), 6, "one bar per bucket: {bars:?}");
    let bar_width = bars[0].1 - bars[0].0;
    let last_bar_end = bars.iter().map(|b| b.1).fold(0.0, f64::max);
    // The plotting area ends where its horizontal grid lines and its axis end.
    let line_ends = tags(activity, "line")
        .into_iter()
        .flat_map(|(t, _)| [num(t, "x1"), num(t, "x2")]);
    let path_ends = tags(activity, "polyline")
        .into_iter()
        .filter_map(|(t, _)| attr(t, "points"))
        .flat_map(|p| {
            p.split_whitespace()
                .filter_map(|xy| xy.split(',').next()?.parse::<f64>().ok())
                .collect::<Vec<_>>()
        });
    let plot_end = line_ends.chain(path_ends).fold(0.0, f64::max);
    assert!(
        plot_end - last_bar_end < bar_width,
        "the last bar ends at {last_bar_end:.0}, the plot at {plot_end:.0}: no empty slot wider than a \
         bar ({bar_width:.0} px) after it"
    );
}
