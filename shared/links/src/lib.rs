//! Signed links miro-sam hands out: [`connect_link`], the operator's link that lets a Company Admin connect an
//! org (`miro-sam aws connect-link`, checked at `/oauth/start`), and [`keep`], the member's "keep my license" link
//! of a notice. A link is the whole credential (nobody signs in to use it), so each is signed with a deployment
//! key of its own, bound to what it may do, and expires.

pub mod connect_link;
pub mod keep;
mod sign;

pub use keep::{
    KEEP_PATH, KeepLinkError, KeepTarget, SignedKeepLinks, expiry_for, issue_keep_token,
    verify_keep_token,
};
