//! What the tests of several crates share, written once: the settings parsers' environment ([`env`]), the
//! local SMTP server ([`smtp_sink`]), the sandboxed
//! Miro world with its client, store and tokens, a browser at a console and the sandbox as the core's refresh
//! scenarios see it ([`world`]), the notice tests' org, members, policy and recording mailer
//! ([`notice_world`]), and the property-test strategies ([`strategies`]). A dev-dependency only: no production
//! crate links it (tests/tests/architecture.rs).

pub mod env;
pub mod notice_world;
pub mod smtp_sink;
pub mod strategies;
pub mod world;
