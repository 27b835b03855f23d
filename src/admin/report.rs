//! `GET /report`: the report page for a browser, from `[report] logs`.
//! The files are read on the admin thread, in the request, never on a
//! shard: a report costs the SMTP side nothing.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::config::Config;
use crate::report::{self, DnsLists, LogSource};

const HTML: &str = "text/html; charset=utf-8";

/// What the page reads: the configured logs, and the DNS lists to rate.
#[derive(Debug)]
pub struct ReportPage {
    logs: Vec<PathBuf>,
    lists: DnsLists,
}

impl ReportPage {
    /// The page for `config`'s `[report] logs` and DNS lists.
    pub fn new(config: &Config) -> ReportPage {
        ReportPage {
            logs: config.report.logs.clone(),
            lists: DnsLists::of(config),
        }
    }

    /// The route, served by the admin listener.
    pub fn routes(self: Arc<Self>) -> Router {
        Router::new().route("/report", get(page)).with_state(self)
    }
}

/// The last [`report::DEFAULT_SINCE`], or `?since=` (`7d`, an RFC 3339
/// instant); 400 for a window that does not read, 500 for a log that
/// cannot be.
async fn page(State(page): State<Arc<ReportPage>>, uri: Uri) -> Response {
    if page.logs.is_empty() {
        return ([(header::CONTENT_TYPE, HTML)], report::unconfigured_page()).into_response();
    }
    let since = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(key, _)| key == "since")
        .map_or_else(
            || report::DEFAULT_SINCE.to_string(),
            |(_, value)| value.into_owned(),
        );
    let now = SystemTime::now();
    let since = match report::since(&since, now) {
        Ok(since) => since,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    };
    let sources: Vec<LogSource> = page.logs.iter().cloned().map(LogSource::File).collect();
    let lists = page.lists.clone();
    // Reading days of logs blocks: on the blocking pool, so /metrics and
    // the review pages keep answering meanwhile.
    let built = tokio::task::spawn_blocking(move || report::build(&sources, lists, since, now))
        .await
        .map_err(|e| e.to_string())
        .and_then(|built| built.map_err(|e| e.to_string()));
    match built {
        Ok(built) => ([(header::CONTENT_TYPE, HTML)], report::render_html(&built)).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "report page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response()
        }
    }
}
