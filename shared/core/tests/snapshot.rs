//! The daily snapshot on a hand-built org.

mod common;

use std::collections::BTreeMap;

use common::*;
use miro_client::Organization;
use miro_sam_core::domain::{License, OrgId};
use miro_sam_core::snapshot::{ActivityBuckets, OrgSnapshot};

#[test]
fn snapshot_of_a_hand_built_org() {
    let members = vec![
        member(1, 10),                                     // 30/60/90/120
        member(2, 30),  // exactly 30 days: still inside the 30-day window
        member(3, 45),  // 60/90/120
        member(4, 100), // 120
        member(5, 200), // none
        with(member(6, 0), |m| m.last_activity_at = None), // never active
        with(member(7, 5), |m| m.license = License::Basic),
        with(member(8, 5), |m| m.license = License::Free), // assigned, not paid
        with(member(9, 5), |m| m.active = false),          // deactivated full
        with(member(10, 5), |m| {
            m.active = false;
            m.license = License::Free;
        }),
        with(member(11, 5), |m| m.removed_at = Some(days_ago(1))), // gone: ignored
        with(member(12, 5), |m| m.org_id = OrgId::parse("42").unwrap()), // other org: ignored
    ];
    let org_info = Organization {
        id: org().to_string(),
        name: "Acme".into(),
        plan: "enterprise".into(),
        full_licenses_purchased: 10,
    };
    let s = OrgSnapshot::compute(&org(), &org_info, &members, now());

    assert_eq!(s.date, now().date_naive());
    assert_eq!(s.purchased_full_licenses, 10);
    assert_eq!(s.members, 10, "present members, any state");
    let expected: BTreeMap<License, u32> =
        [(License::Full, 6), (License::Basic, 1), (License::Free, 1)].into();
    assert_eq!(s.assigned_by_license, expected, "active members only");
    assert_eq!(s.assigned_paid, 7);
    assert_eq!(
        s.active_within,
        ActivityBuckets {
            days_30: 3,
            days_60: 4,
            days_90: 4,
            days_120: 5
        },
        "paid, active, present members; cumulative windows"
    );
    assert_eq!(s.never_active, 1);
    assert_eq!(s.deactivated, 2);
    assert_eq!(s.unused_seats, 3, "10 purchased - 7 assigned paid");

    let over = OrgSnapshot::compute_with_purchased(&org(), 5, &members, now());
    assert_eq!(over.unused_seats, -2, "over-assignment shows as negative");
}
