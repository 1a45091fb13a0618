//! The local SMTP server of the notice tests: the test kit's (`miro_sam_testkit::smtp_sink`), named here so the
//! tests of this crate find it beside the rest of their kit.

pub use miro_sam_testkit::smtp_sink::{SmtpSink, html_part};
