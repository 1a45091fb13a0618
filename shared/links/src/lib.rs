//! Signed links miro-sam hands to people outside the console: [`keep`], the member's "keep my license" link of a
//! notice. A link is the whole credential (nobody signs in to use it), so each is signed with a deployment key,
//! bound to what it may do, and expires.

pub mod keep;

pub use keep::{
    KEEP_PATH, KeepLinkError, KeepTarget, SignedKeepLinks, expiry_for, issue_keep_token, verify_keep_token,
};
