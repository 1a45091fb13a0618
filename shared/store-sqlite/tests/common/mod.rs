//! A sandboxed Miro, a `:memory:` store and the job dependencies wired together: the test kit's world.
#![allow(dead_code)]
// Each test binary uses some of the kit's re-exports, none all of them.
#![allow(unused_imports)]

pub use miro_sam_testkit::world::{
    Tokens, World, client_for, live_policy, oauth_app, sqlite_world, world,
};

mod reclaim;
pub use reclaim::*;
