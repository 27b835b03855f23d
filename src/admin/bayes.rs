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

use crate::bayes::{Class, Classifier, Database, Day, DbError, Snapshot, TrainMode, train_mode};
use crate::published::Published;

/// Messages waiting for the autolearn thread; past it the shards drop
/// candidates (learning is best effort, memory is bounded).
const AUTOLEARN_QUEUE: usize = 1024;

/// Autolearned messages per commit.
const AUTOLEARN_BATCH: usize = 256;

/// The longest an autolearned message waits for its commit.
const AUTOLEARN_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// A shard's way to hand clear-cut messages to the autolearn thread.
#[derive(Clone)]
pub struct Autolearner {
    sender: std::sync::mpsc::SyncSender<(Class, Vec<u8>)>,
}

impl Autolearner {
    /// Offers `message` to learn as `class`; dropped when the queue is
    /// full.
    pub fn offer(&self, class: Class, message: &[u8]) {
        let _ = self.sender.try_send((class, message.to_vec()));
    }
}

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

    /// Learns one reviewed message (a quarantine release as ham, a delete
    /// as spam; a message learned before under the other label is
    /// corrected) and publishes the new table at once.
    pub fn learn_reviewed(&self, class: Class, message: &[u8]) -> Result<&'static str, DbError> {
        let learned =
            self.database()
                .learn_message(message, class, Day::today(), TrainMode::Everything)?;
        self.commit_and_publish()?;
        Ok(learned.name())
    }

    /// Writes the batch learned so far (rare idle tokens pruned), builds
    /// the new table and publishes it; a JSON summary with how long the
    /// build and the swap took.
    fn commit_and_publish(&self) -> Result<serde_json::Value, DbError> {
        let mut db = self.database();
        let pruned = db.prune(Day::today());
        db.commit()?;
        let started = Instant::now();
        let table = Snapshot::of(db.store(), self.classifier.clone());
        let built = started.elapsed();
        let (tokens, messages) = (table.len(), db.store().messages());
        drop(db);
        let swap = Instant::now();
        self.table.publish(table);
        let swapped = swap.elapsed();
        tracing::info!(
            tokens,
            pruned,
            spam = messages.spam,
            ham = messages.ham,
            build_ms = built.as_secs_f64() * 1e3,
            "bayes: new table published to the shards"
        );
        Ok(serde_json::json!({
            "tokens": tokens,
            "pruned": pruned,
            "spam_messages": messages.spam,
            "ham_messages": messages.ham,
            "build_ms": built.as_secs_f64() * 1e3,
            "swap_us": swapped.as_secs_f64() * 1e6,
        }))
    }

    /// Starts the autolearn thread: it learns what the shards send and
    /// commits a batch every [`AUTOLEARN_BATCH`] messages or
    /// [`AUTOLEARN_EVERY`], whichever comes first. It ends, committing what
    /// it holds, when every shard has dropped its sender.
    pub fn start_autolearn(self: &Arc<Self>) -> std::io::Result<Autolearner> {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<(Class, Vec<u8>)>(AUTOLEARN_QUEUE);
        let owner = Arc::clone(self);
        std::thread::Builder::new()
            .name("ringwall-autolearn".into())
            .spawn(move || owner.autolearn(&receiver))?;
        Ok(Autolearner { sender })
    }

    fn autolearn(&self, receiver: &std::sync::mpsc::Receiver<(Class, Vec<u8>)>) {
        use std::sync::mpsc::RecvTimeoutError;
        let mut pending = 0usize;
        loop {
            let (class, message) = match receiver.recv_timeout(AUTOLEARN_EVERY) {
                Ok(learned) => learned,
                Err(RecvTimeoutError::Timeout) => {
                    self.commit_batch(&mut pending);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.commit_batch(&mut pending);
                    return;
                }
            };
            let learned =
                self.database()
                    .learn_message(&message, class, Day::today(), TrainMode::Everything);
            match learned {
                Ok(_) => pending += 1,
                Err(e) => tracing::error!(error = %e, "bayes: autolearn"),
            }
            if pending >= AUTOLEARN_BATCH {
                self.commit_batch(&mut pending);
            }
        }
    }

    fn commit_batch(&self, pending: &mut usize) {
        if *pending > 0
            && let Err(e) = self.commit_and_publish()
        {
            tracing::error!(error = %e, "bayes: autolearn commit");
        }
        *pending = 0;
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
    match owner.commit_and_publish() {
        Ok(summary) => summary.to_string().into_response(),
        Err(e) => failed(&e),
    }
}

async fn snapshot(State(owner): State<Arc<BayesOwner>>) -> Vec<u8> {
    owner.table.latest().1.to_bytes()
}

fn failed(error: &DbError) -> Response {
    tracing::error!(%error, "bayes: token database");
    (StatusCode::INTERNAL_SERVER_ERROR, format!("{error}\n")).into_response()
}
