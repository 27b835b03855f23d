//! The daemon's side of the classifier: it owns the token database while it
//! runs, learns what `ringwall train` sends it over the admin listener, and
//! publishes a new table to the shards after each batch.
//!
//! - `POST /bayes/learn/MODE/ham`, `POST /bayes/learn/MODE/spam` (MODE:
//!   `everything`, `on-error`, `until-mature`): one raw message in the
//!   body; learned in memory (`new`, `corrected`, `already`, `skipped`).
//! - `POST /bayes/commit`: writes the batch (one transaction), builds the
//!   new table and publishes it; answers JSON with the counts and how long
//!   the build and the swap took.
//! - `GET /bayes/snapshot`: the table in force, as bytes, for `ringwall
//!   score --config` while the daemon owns the file.
//!
//! All of it runs on the admin thread: the shards only ever load the
//! published table's generation.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::bayes::{Class, Classifier, Database, Day, DbError, Snapshot, train_mode};
use crate::published::Published;

/// The database and the table published from it.
pub struct BayesOwner {
    db: Mutex<Database>,
    table: Arc<Published<Snapshot>>,
    classifier: Classifier,
}

impl BayesOwner {
    /// Opens `path` (this process becomes its owner) and publishes its table.
    pub fn open(path: &Path, classifier: Classifier) -> Result<BayesOwner, DbError> {
        let db = Database::open(path)?;
        let table = Arc::new(Published::new(Snapshot::of(db.store(), classifier.clone())));
        Ok(BayesOwner {
            db: Mutex::new(db),
            table,
            classifier,
        })
    }

    /// The table the shards read.
    pub fn table(&self) -> Arc<Published<Snapshot>> {
        Arc::clone(&self.table)
    }

    /// The routes, served by the admin listener.
    pub fn routes(self: Arc<Self>) -> Router {
        Router::new()
            .route("/bayes/learn/{mode}/{class}", post(learn))
            .route("/bayes/commit", post(commit))
            .route("/bayes/snapshot", get(snapshot))
            .with_state(self)
    }

    fn database(&self) -> std::sync::MutexGuard<'_, Database> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn learn(
    State(owner): State<Arc<BayesOwner>>,
    UrlPath((mode, class)): UrlPath<(String, String)>,
    body: Bytes,
) -> Response {
    let class = match class.as_str() {
        "ham" => Class::Ham,
        "spam" => Class::Spam,
        _ => return (StatusCode::NOT_FOUND, "learn/MODE/ham or learn/MODE/spam\n").into_response(),
    };
    let Some(mode) = train_mode(&mode) else {
        return (
            StatusCode::BAD_REQUEST,
            "mode: everything, on-error or until-mature\n",
        )
            .into_response();
    };
    match owner
        .database()
        .learn_message(&body, class, Day::today(), mode)
    {
        Ok(learned) => format!("{}\n", learned.name()).into_response(),
        Err(e) => failed(&e),
    }
}

async fn commit(State(owner): State<Arc<BayesOwner>>) -> Response {
    let mut db = owner.database();
    if let Err(e) = db.commit() {
        return failed(&e);
    }
    let started = Instant::now();
    let table = Snapshot::of(db.store(), owner.classifier.clone());
    let built = started.elapsed();
    let (tokens, messages) = (table.len(), db.store().messages());
    drop(db);
    let swap = Instant::now();
    owner.table.publish(table);
    let swapped = swap.elapsed();
    tracing::info!(
        tokens,
        spam = messages.spam,
        ham = messages.ham,
        build_ms = built.as_secs_f64() * 1e3,
        "bayes: new table published to the shards"
    );
    serde_json::json!({
        "tokens": tokens,
        "spam_messages": messages.spam,
        "ham_messages": messages.ham,
        "build_ms": built.as_secs_f64() * 1e3,
        "swap_us": swapped.as_secs_f64() * 1e6,
    })
    .to_string()
    .into_response()
}

async fn snapshot(State(owner): State<Arc<BayesOwner>>) -> Vec<u8> {
    owner.table.latest().1.to_bytes()
}

fn failed(error: &DbError) -> Response {
    tracing::error!(%error, "bayes: token database");
    (StatusCode::INTERNAL_SERVER_ERROR, format!("{error}\n")).into_response()
}
