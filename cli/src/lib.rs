//! The `miro-sam` command as a library, so tests drive the same code as the binary.

pub mod args;
pub mod backend;
pub mod commands;
pub mod context;
#[cfg(feature = "aws")]
pub mod deployment;
pub mod env;
pub mod exit;
pub mod failure;
pub mod local_worker;
pub mod loopback;
pub mod progress;
pub mod render;
