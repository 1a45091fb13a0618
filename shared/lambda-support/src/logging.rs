//! JSON logs, one object per line, as CloudWatch Logs Insights reads them. Handlers open a span with the request
//! id (and the org id once known), so every line carries both.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber once per cold start. A bad filter falls back to `info` rather than failing.
pub fn init(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .without_time()
        .try_init();
}
