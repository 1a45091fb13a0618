//! Contract of the store methods the admin console reads and writes: streamed plans and plan history, member
//! search, the audit log and reclaim records read a page at a time, member timelines, and single-use OAuth
//! states. Each page is checked against the order and filter computed here from what the test stored, with
//! several page sizes, so an adapter that sorts differently, drops or repeats an entry at a page boundary, or
//! returns a short page before the end fails.

mod audit_pages;
mod member_search;
mod oauth_states;
mod record_pages;
mod streamed_plans;
mod timeline;

pub use audit_pages::*;
pub use member_search::*;
pub use oauth_states::*;
pub use record_pages::*;
pub use streamed_plans::*;
pub use timeline::*;
