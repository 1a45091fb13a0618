//! A command's failure: the message for the operator and the exit code for scripts.

use crate::exit;

#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(exit::USAGE, message)
    }

    pub fn needs_action(message: impl Into<String>) -> Self {
        Self::new(exit::NEEDS_ACTION, message)
    }

    pub fn refused(message: impl Into<String>) -> Self {
        Self::new(exit::REFUSED, message)
    }
}

impl From<miro_client::MiroError> for Failure {
    fn from(e: miro_client::MiroError) -> Self {
        let code = if e.needs_reconnect() {
            exit::NEEDS_ACTION
        } else if e.is_transient() {
            exit::RETRY_LATER
        } else {
            exit::FAILURE
        };
        Self::new(code, e.to_string())
    }
}

impl From<miro_sam_core::error::StoreError> for Failure {
    fn from(e: miro_sam_core::error::StoreError) -> Self {
        use miro_sam_core::error::StoreError as E;
        let code = match e {
            E::NotConnected { .. } | E::NoScimToken { .. } => exit::NEEDS_ACTION,
            E::Backend(_) | E::Conflict { .. } => exit::RETRY_LATER,
            _ => exit::FAILURE,
        };
        Self::new(code, e.to_string())
    }
}

impl From<miro_sam_core::error::DomainError> for Failure {
    fn from(e: miro_sam_core::error::DomainError) -> Self {
        Self::usage(e.to_string())
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Self::new(exit::FAILURE, format!("I/O error: {e}"))
    }
}

pub type CmdResult<T = ()> = Result<T, Failure>;
