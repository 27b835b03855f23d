//! The JSON API for the CLI and tools (`/api/quarantine...`), behind the
//! admin token as a bearer token.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query as UrlQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth::{bearer_ok, unauthorised, who};
use super::{Review, delete as delete_message, failure, release as release_message};
use crate::quarantine::{ListItem, Query};

/// The most messages one API answer lists (invariant 3: bounded); narrow
/// the query (`recipient`, `since`) for more.
const MAX_LIST: usize = 100_000;

/// The list's query string: `recipient`, `sender`, `rule`, `min_score`,
/// `since`, `limit`.
#[derive(Debug, Deserialize, Default)]
pub(super) struct ListParams {
    recipient: Option<String>,
    sender: Option<String>,
    rule: Option<String>,
    min_score: Option<f64>,
    since: Option<u64>,
    limit: Option<usize>,
}

impl ListParams {
    pub(super) fn query(&self) -> Query {
        let blank = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        Query {
            recipient: blank(&self.recipient),
            sender: blank(&self.sender),
            rule: blank(&self.rule),
            min_score: self.min_score,
            since: self.since,
            limit: self.limit.unwrap_or(0),
        }
    }
}

/// `train=1`: teach the classifier with the reviewed message.
#[derive(Debug, Deserialize, Default)]
pub(super) struct TrainParam {
    #[serde(default)]
    pub(super) train: Option<String>,
}

impl TrainParam {
    pub(super) fn wanted(&self) -> bool {
        matches!(self.train.as_deref(), Some("1" | "true" | "on" | "yes"))
    }
}

/// `GET /api/quarantine`: the list, newest first, bounded.
pub(super) async fn list(
    State(review): State<Review>,
    headers: HeaderMap,
    UrlQuery(params): UrlQuery<ListParams>,
) -> Response {
    if !bearer_ok(&review, &headers) {
        return unauthorised();
    }
    let mut query = params.query();
    if query.limit == 0 || query.limit > MAX_LIST {
        query.limit = MAX_LIST;
    }
    match review.quarantine.list(&query) {
        Ok(entries) => {
            axum::Json(entries.iter().map(ListItem::from).collect::<Vec<_>>()).into_response()
        }
        Err(e) => failure(&e),
    }
}

/// `GET /api/quarantine/{id}`: one message with its safe view (audited).
pub(super) async fn show(
    State(review): State<Review>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !bearer_ok(&review, &headers) {
        return unauthorised();
    }
    match review.quarantine.show(&id, &who(peer)) {
        Ok((entry, _, view)) => axum::Json(serde_json::json!({
            "message": ListItem::from(&entry),
            "client": entry.record.client.to_string(),
            "helo": entry.record.helo,
            "view": view,
        }))
        .into_response(),
        Err(e) => failure(&e),
    }
}

/// `GET /api/quarantine/{id}/raw`: the message exactly as kept.
pub(super) async fn raw(
    State(review): State<Review>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !bearer_ok(&review, &headers) {
        return unauthorised();
    }
    match review.quarantine.message(&id) {
        Ok(message) => ([(header::CONTENT_TYPE, "message/rfc822")], message).into_response(),
        Err(e) => failure(&e),
    }
}

/// `POST /api/quarantine/{id}/release` and `/delete` (`?train=1` teaches
/// the classifier).
pub(super) async fn act(
    State(review): State<Review>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    UrlQuery(train): UrlQuery<TrainParam>,
) -> Response {
    if !bearer_ok(&review, &headers) {
        return unauthorised();
    }
    let outcome = match action.as_str() {
        "release" => release_message(&review, id, None, who(peer), train.wanted())
            .await
            .map(|released| serde_json::json!(released)),
        "delete" => delete_message(&review, id.clone(), who(peer), train.wanted())
            .await
            .map(|()| serde_json::json!({ "id": id, "deleted": true })),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    match outcome {
        Ok(answer) => axum::Json(answer).into_response(),
        Err(e) => failure(&e),
    }
}

/// `POST /api/quarantine/purge`: what is past retention removed.
pub(super) async fn purge(
    State(review): State<Review>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if !bearer_ok(&review, &headers) {
        return unauthorised();
    }
    let quarantine = Arc::clone(&review.quarantine);
    let purged = tokio::task::spawn_blocking(move || quarantine.purge(&who(peer))).await;
    match purged {
        Ok(Ok(count)) => axum::Json(serde_json::json!({ "purged": count })).into_response(),
        Ok(Err(e)) => failure(&e),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}
