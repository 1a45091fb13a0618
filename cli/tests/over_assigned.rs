//! An org with more paid seats assigned than purchased, as every renderer shows it: the text outputs say
//! "272 over", JSON keeps the signed number and adds the plain count, CSV keeps the number numeric.

use chrono::{TimeZone, Utc};
use miro_sam_cli::render;
use miro_sam_core::domain::OrgId;
use miro_sam_core::report::{Report, ReportConfig, ReportInput, build_report};
use miro_sam_core::snapshot::OrgSnapshot;

/// 3,000 seats bought, 3,272 assigned.
fn over_assigned_report() -> Report {
    report_for(3000, 3272)
}

/// Built by the core from a snapshot, as `miro-sam report` builds it.
fn report_for(purchased: i64, assigned_paid: u32) -> Report {
    let org = OrgId::parse("3074457345821141000").unwrap();
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).unwrap();
    let mut snapshot = OrgSnapshot::compute_with_purchased(&org, purchased, &[], now);
    snapshot.assigned_paid = assigned_paid;
    snapshot.unused_seats = purchased - i64::from(assigned_paid);
    let snapshots = [snapshot];
    build_report(ReportInput {
        org_id: &org,
        org: None,
        snapshots: &snapshots,
        latest_plan: None,
        members: &[],
        audit: &[],
        last_download: None,
        now,
        config: &ReportConfig::default(),
    })
}

#[test]
fn the_table_says_how_many_seats_are_over() {
    let table = render::table::render(&over_assigned_report());
    let line = table
        .lines()
        .find(|l| l.contains("Unused purchased seats"))
        .expect("the unused line");
    assert!(line.trim_end().ends_with("272 over"), "{line:?}");
    assert!(!table.contains("-272"), "{table}");
}

#[test]
fn the_html_tile_says_how_many_seats_are_over() {
    let html = render::html::render(&over_assigned_report());
    assert!(
        html.contains("<b>272 over</b>Unused purchased"),
        "the tile reads 272 over"
    );
    assert!(!html.contains("-272"));
}

#[test]
fn json_keeps_the_signed_number_and_adds_the_plain_count() {
    let json: serde_json::Value =
        serde_json::from_str(&render::json::render(&over_assigned_report())).unwrap();
    assert_eq!(json["seats"]["unused"], -272, "numeric and signed");
    assert_eq!(json["seats"]["over_assigned"], 272);
    assert_eq!(json["series"][0]["unused"], -272);
}

#[test]
fn json_of_an_org_with_seats_to_spare_says_none_are_over() {
    let report = report_for(3000, 2900);
    let json: serde_json::Value = serde_json::from_str(&render::json::render(&report)).unwrap();
    assert_eq!(json["seats"]["unused"], 100);
    assert_eq!(json["seats"]["over_assigned"], 0);
    let table = render::table::render(&report);
    let line = table
        .lines()
        .find(|l| l.contains("Unused purchased seats"))
        .expect("the unused line");
    assert!(line.trim_end().ends_with(" 100"), "{line:?}");
}

#[test]
fn csv_keeps_a_negative_number_numeric() {
    let csv = render::csv::series(&over_assigned_report());
    let row = csv.lines().nth(1).expect("one series row");
    assert!(row.ends_with(",3000,3272,0,0,0,0,-272"), "{row}");
}
