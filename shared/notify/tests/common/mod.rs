//! The local SMTP server the notice tests send to: the test kit's `smtp_sink.py` (aiosmtpd).
#![allow(dead_code)]
// Each test binary uses some of the kit's re-exports, none all of them.
#![allow(unused_imports)]

pub use miro_sam_testkit::smtp_sink::{SmtpSink, html_part, unquote};
