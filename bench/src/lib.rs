//! placeholder
pub mod partition;
