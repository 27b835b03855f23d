//! Operator-facing output: the log subscriber, the metrics the shards
//! publish, the admin listener that serves them and the report page, and
//! the classifier's database the daemon owns and trains through that
//! listener.

mod bayes;
mod client;
mod http;
pub mod metrics;
mod report;
pub mod review;

pub use bayes::{Autolearner, BayesOwner};
pub use client::{AdminClient, ClientError};
pub use http::AdminListener;
pub use metrics::{MetricsBoard, ShardMetrics};
pub use report::ReportPage;

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Installs the global log subscriber on stderr: `key=value` text or one JSON
/// object per line. `RUST_LOG`, when set, overrides `[log] level`.
pub fn init_logging(log: &LogConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second installation (tests, the demo) keeps the first subscriber.
    let _ = match log.format {
        LogFormat::Text => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
