//! `miro-sam report`: the report as a table, JSON, CSV files or one HTML page.

use chrono::Duration;
use miro_sam_core::domain::OrgId;
use miro_sam_core::jobs::org_report;
use miro_sam_core::report::{Report, ReportConfig};
use std::path::{Path, PathBuf};

use crate::args::{Format, Global, ReportArgs};
use crate::context::Ctx;
use crate::failure::{CmdResult, Failure};
use crate::render;

/// The history shown in the charts.
const HISTORY_DAYS: i64 = 400;

pub async fn run(ctx: &Ctx, g: &Global, args: ReportArgs) -> CmdResult {
    let org = ctx.org(g).await?;
    let report = build(ctx, &org, args.seat_price).await?;
    match args.format {
        Format::Table => emit(args.out.as_deref(), &render::table::render(&report)),
        Format::Json => emit(args.out.as_deref(), &render::json::render(&report)),
        Format::Html => emit(args.out.as_deref(), &render::html::render(&report)),
        Format::Csv => {
            let dir = args.out.unwrap_or_else(|| PathBuf::from("miro-sam-report"));
            let files = write_csv(ctx, &org, &report, &dir).await?;
            for f in files {
                println!("wrote {}", f.display());
            }
            Ok(())
        }
    }
}

pub async fn build(ctx: &Ctx, org: &OrgId, seat_price: f64) -> CmdResult<Report> {
    if !(seat_price.is_finite() && seat_price >= 0.0) {
        return Err(Failure::usage(format!(
            "seat price {seat_price} must be a non-negative number"
        )));
    }
    let now = ctx.deps.clock.now();
    let config = ReportConfig {
        price_per_seat_month_minor: Some((seat_price * 100.0).round() as u64),
        ..ReportConfig::default()
    };
    let today = now.date_naive();
    Ok(org_report(
        ctx.deps.store.as_ref(),
        org,
        today - Duration::days(HISTORY_DAYS),
        today,
        &config,
        now,
    )
    .await?)
}

/// members.csv, candidates.csv, reclaimed.csv and series.csv in `dir`.
pub async fn write_csv(
    ctx: &Ctx,
    org: &OrgId,
    report: &Report,
    dir: &Path,
) -> CmdResult<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = vec![write_members_csv(ctx, org, &dir.join("members.csv")).await?];
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

/// members.csv written a page of members at a time: the export of a large org never holds it.
async fn write_members_csv(ctx: &Ctx, org: &OrgId, path: &Path) -> CmdResult<PathBuf> {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    file.write_all(render::csv::members_header().as_bytes())?;
    let mut after = None;
    loop {
        let page = ctx
            .deps
            .store
            .list_members_page(org, after.as_ref(), None, EXPORT_PAGE)
            .await?;
        file.write_all(render::csv::members_rows(&page).as_bytes())?;
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
