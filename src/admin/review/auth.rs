//! Who may review: the admin token as a bearer token (the API and the
//! CLI), or the review page's session cookie, which the login form trades
//! for the token; and the CSRF token every page form carries.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::Review;
use super::html::page;
use crate::quarantine::service::now;

/// The session cookie's name.
const SESSION_COOKIE: &str = "ringwall_session";
/// How long a review-page login lasts.
const SESSION_SECONDS: u64 = 12 * 3_600;

/// Middleware: the admin token or a session, else a browser is sent to
/// the login form and a tool gets 401.
pub(super) async fn require_admin(
    State(review): State<Review>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = request.headers();
    if bearer_ok(&review, headers) || session(&review, headers).is_some() {
        next.run(request).await
    } else if request.method() == axum::http::Method::GET
        && !headers.contains_key(header::AUTHORIZATION)
    {
        login_redirect()
    } else {
        unauthorised()
    }
}

/// True when the request carries the admin token as a bearer token.
pub(super) fn bearer_ok(review: &Review, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| review.quarantine.secrets().is_admin_token(token.trim()))
}

/// The session cookie's value when it is ours and unexpired.
pub(super) fn session(review: &Review, headers: &HeaderMap) -> Option<String> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    let value = cookies
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)?
        .1;
    let (expires, signature) = value.split_once('.')?;
    let expires: u64 = expires.parse().ok()?;
    let secrets = review.quarantine.secrets();
    (expires > now() && secrets.verify(&format!("session\0{expires}"), signature))
        .then(|| value.to_string())
}

/// The CSRF token of a session: its forms carry it, POSTs must.
pub(super) fn csrf_for(review: &Review, session: &str) -> String {
    review
        .quarantine
        .secrets()
        .sign(&format!("csrf\0{session}"))
}

/// True when `offered` is `session`'s CSRF token.
pub(super) fn csrf_ok(review: &Review, session: &str, offered: &str) -> bool {
    review
        .quarantine
        .secrets()
        .verify(&format!("csrf\0{session}"), offered)
}

/// 401 for a tool without the token.
pub(super) fn unauthorised() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        "admin token required (Authorization: Bearer ...)\n",
    )
        .into_response()
}

/// Who the audit log names for a token holder at `peer`.
pub(super) fn who(peer: SocketAddr) -> String {
    format!("admin@{}", peer.ip())
}

/// A browser without a session is sent to the login form.
pub(super) fn login_redirect() -> Response {
    Redirect::to("/quarantine/login").into_response()
}

/// `GET /quarantine/login`: the form that asks for the token.
pub(super) async fn login_page() -> Response {
    page(
        "Log in",
        "<h1>Log in</h1><form method=post action=/quarantine/login>\
         <label>Admin token <input type=password name=token autofocus></label> \
         <button type=submit>Log in</button></form>\
         <p>The token is <code>[admin] token</code>, or the file <code>admin-token</code> \
         in the quarantine directory.</p>",
    )
}

/// The login form's one field.
#[derive(Debug, Deserialize)]
pub(super) struct LoginForm {
    token: String,
}

/// `POST /quarantine/login`: the token traded for a signed session
/// cookie (audited, refusals too).
pub(super) async fn login(
    State(review): State<Review>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<LoginForm>,
) -> Response {
    if !review
        .quarantine
        .secrets()
        .is_admin_token(form.token.trim())
    {
        tracing::warn!(target: "ringwall::audit", action = "login_failed", who = %who(peer), "quarantine review login refused");
        return (
            StatusCode::UNAUTHORIZED,
            page(
                "Log in",
                "<p class=error>Wrong token.</p><p><a href=/quarantine/login>Try again</a></p>",
            ),
        )
            .into_response();
    }
    let expires = now() + SESSION_SECONDS;
    let signature = review
        .quarantine
        .secrets()
        .sign(&format!("session\0{expires}"));
    tracing::info!(target: "ringwall::audit", action = "login", who = %who(peer), "quarantine review login");
    let cookie = format!(
        "{SESSION_COOKIE}={expires}.{signature}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECONDS}"
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to("/quarantine")).into_response()
}
