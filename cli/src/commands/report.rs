//! `miro-sam report`: the report as a table, JSON, CSV files or one HTML page, from either store.

use chrono::Duration;
use miro_sam_core::domain::OrgId;
use miro_sam_core::jobs::{Deps, org_report};
use miro_sam_core::notices::notice_stats;
use miro_sam_core::report::{Report, ReportConfig};
use std::path::{Path, PathBuf};

use crate::args::{Format, Global, ReportArgs};
use crate::backend::Backend;
use crate::failure::{CmdResult, Failure};
use crate::render;

/// The history shown in the charts.
const HISTORY_DAYS: i64 = 400;

pub async fn run(b: &Backend, g: &Global, args: ReportArgs) -> CmdResult {
    let org = b.org(g).await?;
    let report = build(b, &org, args.seat_price).await?;
    match args.format {
        Format::Table => emit(args.out.as_deref(), &render::table::render(&report)),
        Format::Json => emit(args.out.as_deref(), &render::json::render(&report)),
        Format::Html => emit(args.out.as_deref(), &render::html::render(&report)),
        Format::Csv => {
            let dir = args.out.unwrap_or_else(|| PathBuf::from("miro-sam-report"));
            let files = write_csv(b, &org, &report, &dir).await?;
            for f in files {
                println!("wrote {}", f.display());
            }
            Ok(())
        }
    }
}

pub async fn build(on: &impl AsRef<Deps>, org: &OrgId, seat_price: f64) -> CmdResult<Report> {
    let deps = on.as_ref();
    if !(seat_price.is_finite() && seat_price >= 0.0) {
        return Err(Failure::usage(format!(
            "seat price {seat_price} must be a non-negative number"
        )));
    }
    let now = deps.clock.now();
    let config = ReportConfig {
        price_per_seat_month_minor: Some((seat_price * 100.0).round() as u64),
        ..ReportConfig::default()
    };
    let today = now.date_naive();
    let report = org_report(
        deps.store.as_ref(),
        org,
        today - Duration::days(HISTORY_DAYS),
        today,
        &config,
        now,
    )
    .await?;
    let notices = notice_stats(deps.store.as_ref(), deps.store.as_ref(), org)
        .await
        .map_err(super::notices::failure)?;
    Ok(report.with_notices(notices))
}

/// members.csv, candidates.csv, reclaimed.csv and series.csv in `dir`.
pub async fn write_csv(
    on: &impl AsRef<Deps>,
    org: &OrgId,
    report: &Report,
    dir: &Path,
) -> CmdResult<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = vec![write_members_csv(on.as_ref(), org, &dir.join("members.csv")).await?];
    let files = [
        ("candidates.csv", render::csv::candidates(report)),
        ("reclaimed.csv", render::csv::reclaimed(report)),
        ("series.csv", render::csv::series(report)),
    ];
    for (name, content) in files {
        let path = dir.join(name);
        std::fs::write(&path, content)?;
        written.push(path);
    }
    Ok(written)
}

/// Members read per store call for the export.
const EXPORT_PAGE: usize = 1_000;

/// members.csv (the core's members export, the console's too) written a page of members at a time: the export of
/// a large org never holds it.
async fn write_members_csv(deps: &Deps, org: &OrgId, path: &Path) -> CmdResult<PathBuf> {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut after = None;
    let mut first = true;
    loop {
        let page = deps
            .store
            .list_members_page(org, after.as_ref(), None, EXPORT_PAGE)
            .await?;
        file.write_all(&miro_sam_core::export::members_csv(&page, first)?)?;
        first = false;
        after = page.last().map(|m| m.member_id.clone());
        if page.len() < EXPORT_PAGE {
            break;
        }
    }
    file.flush()?;
    Ok(path.to_owned())
}

fn emit(out: Option<&Path>, text: &str) -> CmdResult {
    match out {
        Some(path) => {
            std::fs::write(path, text)?;
            println!("wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}
