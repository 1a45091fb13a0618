//! Charts as SVG drawn on the server with plotters' SVG backend: no script, nothing fetched, readable by any
//! browser (and by a screen reader through the table each chart sits next to).

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One line of a chart over time.
pub(crate) struct Line {
    pub label: &'static str,
    pub color: RGBColor,
    pub values: Vec<f64>,
}

const W: u32 = 760;

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
    let mut svg = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (W, 300)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(56)
            .build_cartesian_2d(0..n, 0.0..max)?;
        let label_of = |i: &usize| dates.get(*i).cloned().unwrap_or_default();
        chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(6)
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
        root.present()?;
        Ok(())
    })();
    match drawn {
        Ok(()) => Some(svg),
        Err(e) => {
            tracing::warn!(error = %e, "could not draw a chart");
            None
        }
    }
}

/// Vertical bars, one per (label, value, color).
pub(crate) fn bars(bars: &[(String, u64, RGBColor)]) -> Option<String> {
    if bars.is_empty() {
        return None;
    }
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64 * 1.15;
    let n = bars.len() as u32;
    let mut svg = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (W, 260)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(56)
            .build_cartesian_2d((0u32..n).into_segmented(), 0.0..max)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
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
        root.present()?;
        Ok(())
    })();
    match drawn {
        Ok(()) => Some(svg),
        Err(e) => {
            tracing::warn!(error = %e, "could not draw a chart");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
