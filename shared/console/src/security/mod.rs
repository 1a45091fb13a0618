//! The console's defences: signed session cookies ([`session`]), CSRF tokens bound to the session ([`csrf`]),
//! and the headers every response carries ([`headers`]).

pub(crate) mod cookies;
pub(crate) mod csrf;
pub(crate) mod headers;
pub(crate) mod session;
