//! The quarantine's review surfaces, on the admin thread (never a shard):
//!
//! - the JSON API (`/api/quarantine...`) for the CLI and tools, asking for
//!   `Authorization: Bearer <admin token>`;
//! - the review page (`/quarantine...`), server-rendered HTML with no
//!   script and a Content-Security-Policy that forbids loading anything, so
//!   a message is only ever shown as text; a login form trades the admin
//!   token for a signed session cookie, and every form carries a CSRF token
//!   derived from that session;
//! - the recipients' links (`/r/...`, on the separate public listener):
//!   signed with HMAC and an expiry; GET only shows a confirmation page
//!   (mail scanners fetch every link), POST releases to that recipient only.
//!
//! Every view, release and delete is audit-logged by the quarantine.

mod api;
mod auth;
mod html;
mod links;
mod pages;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::bayes::BayesOwner;
use crate::bayes::Class;
use crate::quarantine::{Quarantine, QuarantineError, StoreError};

/// What every review handler works on: the quarantine, and the
/// classifier a review may teach.
#[derive(Clone)]
pub(super) struct Review {
    pub(super) quarantine: Arc<Quarantine>,
    pub(super) bayes: Option<Arc<BayesOwner>>,
}

/// The admin listener's quarantine routes (API and review page).
pub fn routes(quarantine: Arc<Quarantine>, bayes: Option<Arc<BayesOwner>>) -> Router {
    Router::new()
        .route("/api/quarantine", get(api::list))
        .route("/api/quarantine/purge", post(api::purge))
        .route("/api/quarantine/{id}", get(api::show))
        .route("/api/quarantine/{id}/raw", get(api::raw))
        .route("/api/quarantine/{id}/{action}", post(api::act))
        .route("/quarantine", get(pages::list))
        .route("/quarantine/login", get(auth::login_page).post(auth::login))
        .route("/quarantine/{id}", get(pages::show))
        .route("/quarantine/{id}/{action}", post(pages::act))
        .with_state(Review { quarantine, bayes })
}

/// `routes` behind the admin token (bearer token, or the review page's
/// session): with a quarantine the admin listener has a token, and pages
/// such as `/report` name senders and clients, so they ask for it too.
pub fn guarded(quarantine: Arc<Quarantine>, routes: Router) -> Router {
    let review = Review {
        quarantine,
        bayes: None,
    };
    routes.layer(axum::middleware::from_fn_with_state(
        review,
        auth::require_admin,
    ))
}

/// The public listener's routes: recipients' signed release links only.
pub fn public_routes(quarantine: Arc<Quarantine>) -> Router {
    Router::new()
        .route(
            "/r/{id}/{recipient}/{expires}/{signature}",
            get(links::confirm).post(links::release),
        )
        .with_state(Review {
            quarantine,
            bayes: None,
        })
}

/// Releases message `id` (to `recipient` alone, for a link) on the
/// blocking pool; with `train`, learns it as ham.
pub(super) async fn release(
    review: &Review,
    id: String,
    recipient: Option<String>,
    who: String,
    train: bool,
) -> Result<crate::quarantine::Released, QuarantineError> {
    let teach = train.then_some(Class::Ham);
    act(review, id, teach, move |q, id| {
        q.release(id, recipient.as_deref(), &who)
    })
    .await
}

/// Deletes message `id` on the blocking pool; with `train`, learns it as
/// spam.
pub(super) async fn delete(
    review: &Review,
    id: String,
    who: String,
    train: bool,
) -> Result<(), QuarantineError> {
    let teach = train.then_some(Class::Spam);
    act(review, id, teach, move |q, id| q.delete(id, &who)).await
}

/// Runs a review action on the blocking pool (the store's files and the
/// upstream conversation block); when it succeeds and `teach` names a
/// class, the classifier (if configured) learns the message under it.
async fn act<T: Send + 'static>(
    review: &Review,
    id: String,
    teach: Option<Class>,
    action: impl FnOnce(&Quarantine, &str) -> Result<T, QuarantineError> + Send + 'static,
) -> Result<T, QuarantineError> {
    let quarantine = Arc::clone(&review.quarantine);
    let bayes = review.bayes.clone().filter(|_| teach.is_some());
    let done = tokio::task::spawn_blocking(move || {
        let message = bayes.as_ref().and_then(|_| quarantine.message(&id).ok());
        let outcome = action(&quarantine, &id)?;
        if let (Some(bayes), Some(message), Some(class)) = (bayes, message, teach) {
            match bayes.learn_reviewed(class, &message) {
                Ok(learned) => {
                    tracing::info!(id = %id, class = %class, learned, "quarantine review learned by the classifier")
                }
                Err(e) => tracing::error!(id = %id, error = %e, "quarantine review not learned"),
            }
        }
        Ok(outcome)
    })
    .await;
    done.unwrap_or_else(|e| {
        Err(StoreError::Io {
            path: Default::default(),
            source: std::io::Error::other(e.to_string()),
        }
        .into())
    })
}

pub(super) fn failure(e: &QuarantineError) -> Response {
    let status = match e {
        QuarantineError::Store(StoreError::NotFound(_) | StoreError::BadId(_)) => {
            StatusCode::NOT_FOUND
        }
        QuarantineError::NotRecipient(_) | QuarantineError::AdminOnly => StatusCode::FORBIDDEN,
        QuarantineError::AlreadyReleased(_) => StatusCode::CONFLICT,
        QuarantineError::Delivery(_) => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, format!("{e}\n")).into_response()
}
