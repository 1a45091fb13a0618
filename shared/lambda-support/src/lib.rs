//! What the three Lambda functions share: their configuration ([`env`], [`Settings`]), the dependencies built once
//! per cold start ([`Runtime`]), JSON logs ([`logging`]) and CloudWatch Embedded Metric Format ([`metrics`]). The
//! signed connect links are `miro_sam_links::connect_link`.

pub mod deadline;
pub mod env;
pub mod logging;
pub mod metrics;
mod notice_settings;
mod runtime;
mod secret;
mod settings;

pub use notice_settings::{DEFAULT_CONTACT, NoticeConfig};
pub use runtime::{NoticeRuntime, Runtime, RuntimeError};
pub use secret::read_plain_secret;
pub use settings::{Settings, SettingsError, read_var};
