//! Charts as SVG drawn on the server with plotters' SVG backend: no script, nothing fetched, readable by any
//! browser (and by a screen reader through the table each chart sits next to).

use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentValue;
use plotters::drawing::DrawingAreaErrorKind;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One line of a chart over time.
pub(crate) struct Line {
    pub label: &'static str,
    pub color: RGBColor,
    pub values: Vec<f64>,
}

const W: u32 = 760;
/// The axis labels' font size in pixels, set rather than left to plotters' default (a share of the chart's
/// height) so the room a label needs is known.
const LABEL_PX: u32 = 12;

/// Pixels a label of `chars` characters may need: 0.64 em a character is the widest digit of the common
/// sans-serif fonts (DejaVu Sans 0.636, Arial 0.556), so a date label never needs more.
fn label_width(chars: usize) -> u32 {
    (chars as f64 * 0.64 * f64::from(LABEL_PX)).ceil() as u32
}

/// The indices of the dates labelled along the axis: the first, the last (today's snapshot, the one an admin
/// looks for) and about four evenly spaced between, none so close to the last that their labels overlap.
/// Plotters' own choice of round numbers left the last day unlabelled whenever it was not a multiple of its step.
fn date_ticks(n: usize) -> Vec<usize> {
    let step = n.div_ceil(5).max(1);
    let mut ticks: Vec<usize> = (0..n).step_by(step).filter(|i| n - i > step / 2).collect();
    ticks.push(n);
    ticks
}

/// An SVG of `size` pixels: `draw` on a white area. `None` (and a warning) if plotters fails.
fn svg(
    size: (u32, u32),
    draw: impl FnOnce(
        &DrawingArea<SVGBackend<'_>, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<std::io::Error>>,
) -> Option<String> {
    let mut svg = String::new();
    let drawn = (|| -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()
    })();
    match drawn {
        Ok(()) => Some(svg),
        Err(e) => {
            tracing::warn!(error = %e, "could not draw a chart");
            None
        }
    }
}

/// Lines over `dates` (one label per point). `None` with fewer than two points: nothing to draw yet.
pub(crate) fn over_time(dates: &[String], lines: &[Line]) -> Option<String> {
    if dates.len() < 2 {
        return None;
    }
    let max = lines
        .iter()
        .flat_map(|l| l.values.iter().copied())
        .fold(1.0_f64, f64::max)
        * 1.1;
    let n = dates.len() - 1;
    // The last date's label is centred on the right end of the axis: the right margin holds its right half, or
    // the SVG's edge would clip it.
    let longest = dates.iter().map(|d| d.chars().count()).max().unwrap_or(0);
    let right = (label_width(longest) / 2 + 6).max(12);
    svg((W, 300), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .margin_right(right)
            .x_label_area_size(28)
            .y_label_area_size(56)
            .build_cartesian_2d((0..n).with_key_points(date_ticks(n)), 0.0..max)?;
        let label_of = |i: &usize| dates.get(*i).cloned().unwrap_or_default();
        chart
            .configure_mesh()
            .y_labels(6)
            .label_style(("sans-serif", LABEL_PX))
            .x_label_formatter(&label_of)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        for l in lines {
            let color = l.color;
            chart
                .draw_series(LineSeries::new(
                    l.values.iter().enumerate().map(|(i, v)| (i, *v)),
                    color.stroke_width(2),
                ))?
                .label(l.label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(200, 200, 200))
            .draw()?;
        Ok(())
    })
}

/// Vertical bars, one per (label, value, color).
pub(crate) fn bars(bars: &[(String, u64, RGBColor)]) -> Option<String> {
    if bars.is_empty() {
        return None;
    }
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64 * 1.15;
    let n = bars.len() as u32;
    svg((W, 260), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(56)
            // One segment per bar: plotters' integer ranges include their end, so 0..n would be n + 1
            // segments and leave an empty slot after the last bar. (One bar still gets two: a one-value
            // range maps everything to one point.)
            .build_cartesian_2d((0u32..(n - 1).max(1)).into_segmented(), 0.0..max)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .label_style(("sans-serif", LABEL_PX))
            .x_labels(bars.len())
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => bars
                    .get(*i as usize)
                    .map(|b| b.0.clone())
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .y_label_formatter(&|v| format!("{v:.0}"))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        chart.draw_series(bars.iter().enumerate().map(|(i, (_, v, color))| {
            let i = i as u32;
            let mut r = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), *v as f64),
                ],
                color.filled(),
            );
            r.set_margin(0, 0, 10, 10);
            r
        }))?;
        let label = TextStyle::from(("sans-serif", 13).into_font())
            .pos(Pos::new(HPos::Center, VPos::Bottom));
        chart.draw_series(bars.iter().enumerate().map(|(i, (_, v, _))| {
            Text::new(
                crate::format::thousands(*v),
                (SegmentValue::CenterOf(i as u32), *v as f64 + max * 0.01),
                label.clone(),
            )
        }))?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_and_last_dates_are_labelled_and_labels_keep_apart() {
        assert_eq!(date_ticks(1), vec![0, 1]);
        assert_eq!(date_ticks(29), vec![0, 6, 12, 18, 24, 29]);
        // 24 would sit two days from 26: dropped rather than printed over the last label.
        assert_eq!(date_ticks(26), vec![0, 6, 12, 18, 26]);
        for n in 1..=200 {
            let t = date_ticks(n);
            assert_eq!((t[0], *t.last().unwrap()), (0, n), "{n}");
            assert!(t.len() <= 7, "{n}: {t:?}");
            let step = n.div_ceil(5);
            assert!(t.windows(2).all(|w| w[1] - w[0] > step / 2), "{n}: {t:?}");
        }
    }

    #[test]
    fn charts_are_svg_without_style_attributes_or_scripts() {
        let dates: Vec<String> = (1..=5).map(|d| format!("2026-11-0{d}")).collect();
        let svg = over_time(
            &dates,
            &[Line {
                label: "assigned",
                color: RGBColor(66, 99, 235),
                values: vec![10.0, 12.0, 11.0, 9.0, 8.0],
            }],
        )
        .expect("a chart");
        assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
        assert!(svg.contains("2026-11-01"), "dates are labels");
        assert!(svg.contains("assigned"), "the legend names the line");
        // The console's CSP refuses inline style attributes and scripts: the SVG must need neither.
        assert!(!svg.contains("style="));
        assert!(!svg.contains("<script"));
        assert!(
            over_time(&dates[..1], &[]).is_none(),
            "one point is no line"
        );

        let b = bars(&[
            ("0–30 days".into(), 7, RGBColor(0, 128, 0)),
            ("never".into(), 3, RGBColor(128, 0, 128)),
        ])
        .expect("bars");
        assert!(
            b.contains("0–30 days") && b.contains(">7") || b.contains("7\n"),
            "{b}"
        );
        assert!(!b.contains("style="));
    }
}
