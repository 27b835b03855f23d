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

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Form, Path, Query as UrlQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::bayes::BayesOwner;
use crate::bayes::Class;
use crate::quarantine::links::check_link;
use crate::quarantine::service::now;
use crate::quarantine::{
    Entry, ListItem, Quarantine, QuarantineError, Query, SafeView, StoreError,
};

/// The session cookie's name.
const SESSION_COOKIE: &str = "ringwall_session";
/// How long a review-page login lasts.
const SESSION_SECONDS: u64 = 12 * 3_600;
/// Forbids every fetch, script and frame: the page is text and forms.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";
/// The most messages one list page shows.
const PAGE: usize = 500;

#[derive(Clone)]
struct Review {
    quarantine: Arc<Quarantine>,
    bayes: Option<Arc<BayesOwner>>,
}

/// The admin listener's quarantine routes (API and review page).
pub fn routes(quarantine: Arc<Quarantine>, bayes: Option<Arc<BayesOwner>>) -> Router {
    Router::new()
        .route("/api/quarantine", get(api_list))
        .route("/api/quarantine/purge", post(api_purge))
        .route("/api/quarantine/{id}", get(api_show))
        .route("/api/quarantine/{id}/raw", get(api_raw))
        .route("/api/quarantine/{id}/release", post(api_release))
        .route("/api/quarantine/{id}/delete", post(api_delete))
        .route("/quarantine", get(page_list))
        .route("/quarantine/login", get(page_login).post(login))
        .route("/quarantine/{id}", get(page_show))
        .route("/quarantine/{id}/release", post(page_release))
        .route("/quarantine/{id}/delete", post(page_delete))
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
    routes.layer(axum::middleware::from_fn_with_state(review, require_admin))
}

async fn require_admin(
    State(review): State<Review>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = request.headers();
    if bearer_ok(&review, headers) || session(&review, headers).is_some() {
        next.run(request).await
    } else if request.method() == axum::http::Method::GET && bearer_absent(headers) {
        login_redirect()
    } else {
        unauthorised()
    }
}

fn bearer_absent(headers: &HeaderMap) -> bool {
    !headers.contains_key(header::AUTHORIZATION)
}

/// The public listener's routes: recipients' signed release links only.
pub fn public_routes(quarantine: Arc<Quarantine>) -> Router {
    Router::new()
        .route(
            "/r/{id}/{recipient}/{expires}/{signature}",
            get(link_page).post(link_release),
        )
        .with_state(Review {
            quarantine,
            bayes: None,
        })
}

// ---------------------------------------------------------------- auth ---

/// True when the request carries the admin token as a bearer token.
fn bearer_ok(review: &Review, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| review.quarantine.secrets().is_admin_token(token.trim()))
}

/// The session cookie's value when it is ours and unexpired.
fn session(review: &Review, headers: &HeaderMap) -> Option<String> {
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

fn csrf_for(review: &Review, session: &str) -> String {
    review
        .quarantine
        .secrets()
        .sign(&format!("csrf\0{session}"))
}

fn csrf_ok(review: &Review, session: &str, offered: &str) -> bool {
    review
        .quarantine
        .secrets()
        .verify(&format!("csrf\0{session}"), offered)
}

fn unauthorised() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        "admin token required (Authorization: Bearer ...)\n",
    )
        .into_response()
}

fn who(peer: SocketAddr) -> String {
    format!("admin@{}", peer.ip())
}

// ----------------------------------------------------------------- API ---

#[derive(Debug, Deserialize, Default)]
struct ListParams {
    recipient: Option<String>,
    sender: Option<String>,
    rule: Option<String>,
    since: Option<u64>,
    limit: Option<usize>,
}

impl ListParams {
    fn query(&self) -> Query {
        let blank = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        Query {
            recipient: blank(&self.recipient),
            sender: blank(&self.sender),
            rule: blank(&self.rule),
            since: self.since,
            limit: self.limit.unwrap_or(0),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
struct TrainParam {
    #[serde(default)]
    train: Option<String>,
}

impl TrainParam {
    fn wanted(&self) -> bool {
        matches!(self.train.as_deref(), Some("1" | "true" | "on" | "yes"))
    }
}

async fn api_list(
    State(review): State<Review>,
    headers: HeaderMap,
    UrlQuery(params): UrlQuery<ListParams>,
) -> Response {
    if !bearer_ok(&review, &headers) {
        return unauthorised();
    }
    match review.quarantine.list(&params.query()) {
        Ok(entries) => {
            axum::Json(entries.iter().map(ListItem::from).collect::<Vec<_>>()).into_response()
        }
        Err(e) => failure(&e),
    }
}

async fn api_show(
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

async fn api_raw(
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

async fn api_release(
    State(review): State<Review>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
    UrlQuery(train): UrlQuery<TrainParam>,
) -> Response {
    if !bearer_ok(&review, &headers) {
        return unauthorised();
    }
    match release(&review, id, None, who(peer), train.wanted()).await {
        Ok(released) => axum::Json(released).into_response(),
        Err(e) => failure(&e),
    }
}

async fn api_delete(
    State(review): State<Review>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
    UrlQuery(train): UrlQuery<TrainParam>,
) -> Response {
    if !bearer_ok(&review, &headers) {
        return unauthorised();
    }
    match delete(&review, id.clone(), who(peer), train.wanted()).await {
        Ok(()) => axum::Json(serde_json::json!({ "id": id, "deleted": true })).into_response(),
        Err(e) => failure(&e),
    }
}

async fn api_purge(
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

/// Releases on the blocking pool (the upstream conversation blocks), then
/// learns the message as ham when asked and a classifier is configured.
async fn release(
    review: &Review,
    id: String,
    recipient: Option<String>,
    who: String,
    train: bool,
) -> Result<crate::quarantine::Released, QuarantineError> {
    let quarantine = Arc::clone(&review.quarantine);
    let bayes = review.bayes.clone();
    tokio::task::spawn_blocking(move || {
        let message = if train {
            quarantine.message(&id).ok()
        } else {
            None
        };
        let released = quarantine.release(&id, recipient.as_deref(), &who)?;
        if let (Some(bayes), Some(message)) = (bayes, message) {
            learn(&bayes, Class::Ham, &message, &id);
        }
        Ok(released)
    })
    .await
    .unwrap_or_else(|e| {
        Err(StoreError::Io {
            path: Default::default(),
            source: std::io::Error::other(e.to_string()),
        }
        .into())
    })
}

async fn delete(
    review: &Review,
    id: String,
    who: String,
    train: bool,
) -> Result<(), QuarantineError> {
    let quarantine = Arc::clone(&review.quarantine);
    let bayes = review.bayes.clone();
    tokio::task::spawn_blocking(move || {
        let message = if train {
            quarantine.message(&id).ok()
        } else {
            None
        };
        quarantine.delete(&id, &who)?;
        if let (Some(bayes), Some(message)) = (bayes, message) {
            learn(&bayes, Class::Spam, &message, &id);
        }
        Ok(())
    })
    .await
    .unwrap_or_else(|e| {
        Err(StoreError::Io {
            path: Default::default(),
            source: std::io::Error::other(e.to_string()),
        }
        .into())
    })
}

fn learn(bayes: &BayesOwner, class: Class, message: &[u8], id: &str) {
    match bayes.learn_reviewed(class, message) {
        Ok(learned) => {
            tracing::info!(id = %id, class = %class, learned, "quarantine review learned by the classifier")
        }
        Err(e) => tracing::error!(id = %id, error = %e, "quarantine review not learned"),
    }
}

fn failure(e: &QuarantineError) -> Response {
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

// ---------------------------------------------------------------- pages ---

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8>\
         <meta name=viewport content=\"width=device-width\">\
         <meta name=referrer content=no-referrer><title>{title} · ringwall</title>\
         <style>{STYLE}</style></head><body><header><b>ringwall</b> quarantine</header>\
         <main>{body}</main></body></html>",
        title = esc(title),
    );
    let mut response = Html(html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222}\
header{background:#234;color:#fff;padding:.6em 1em}main{padding:1em}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3em .5em;\
text-align:left;vertical-align:top}th{background:#f4f4f4}pre{background:#f8f8f8;padding:.6em;\
white-space:pre-wrap;word-break:break-all;max-height:40em;overflow:auto}\
.score{text-align:right}.note{background:#efe;padding:.5em}.error{background:#fee;padding:.5em}\
form.inline{display:inline}button{padding:.3em 1em;margin-right:.5em}";

fn login_redirect() -> Response {
    Redirect::to("/quarantine/login").into_response()
}

async fn page_login() -> Response {
    page(
        "Log in",
        "<h1>Log in</h1><form method=post action=/quarantine/login>\
         <label>Admin token <input type=password name=token autofocus></label> \
         <button type=submit>Log in</button></form>\
         <p>The token is <code>[admin] token</code>, or the file <code>admin-token</code> \
         in the quarantine directory.</p>",
    )
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(
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

#[derive(Debug, Deserialize, Default)]
struct ListPage {
    #[serde(flatten)]
    list: ListParams,
    done: Option<String>,
}

async fn page_list(
    State(review): State<Review>,
    headers: HeaderMap,
    UrlQuery(params): UrlQuery<ListPage>,
) -> Response {
    if session(&review, &headers).is_none() {
        return login_redirect();
    }
    let mut query = params.list.query();
    if query.limit == 0 {
        query.limit = PAGE;
    }
    let entries = match review.quarantine.list(&query) {
        Ok(entries) => entries,
        Err(e) => {
            return page(
                "Error",
                &format!("<p class=error>{}</p>", esc(&e.to_string())),
            );
        }
    };
    let mut body = String::from("<h1>Quarantined messages</h1>");
    if let Some(done) = &params.done {
        let _ = write!(body, "<p class=note id=done>{}</p>", esc(done));
    }
    let field = |name: &str, value: &Option<String>| {
        format!(
            "<label>{name} <input name={name} value=\"{}\"></label> ",
            esc(value.as_deref().unwrap_or(""))
        )
    };
    let _ = write!(
        body,
        "<form method=get action=/quarantine>{}{}{}<button type=submit>Search</button></form>",
        field("recipient", &query.recipient),
        field("sender", &query.sender),
        field("rule", &query.rule),
    );
    let _ = write!(
        body,
        "<p>{} message(s)</p><table id=messages><tr><th>Received (UTC)</th><th>From</th>\
         <th>To</th><th>Subject</th><th class=score>Score</th><th>Rules</th></tr>",
        entries.len()
    );
    for entry in &entries {
        let r = &entry.record;
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><a href=\"/quarantine/{id}\">{}</a></td>\
             <td class=score>{:.1}</td><td>{}</td></tr>",
            esc(&date(r.received_at)),
            esc(if r.from.is_empty() {
                &r.sender
            } else {
                &r.from
            }),
            esc(&recipients_of(entry)),
            esc(if r.subject.is_empty() {
                "(no subject)"
            } else {
                &r.subject
            }),
            r.score,
            esc(&r.explanation()),
            id = esc(&r.id),
        );
    }
    body.push_str("</table>");
    page("Quarantine", &body)
}

async fn page_show(
    State(review): State<Review>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(session) = session(&review, &headers) else {
        return login_redirect();
    };
    let quarantine = Arc::clone(&review.quarantine);
    let who = who(peer);
    let shown = {
        let id = id.clone();
        tokio::task::spawn_blocking(move || quarantine.show(&id, &who)).await
    };
    let (entry, view) = match shown {
        Ok(Ok((entry, _, view))) => (entry, view),
        Ok(Err(e)) => {
            return (
                StatusCode::NOT_FOUND,
                page(
                    "Not found",
                    &format!(
                        "<p class=error>{}</p><p><a href=/quarantine>Back</a></p>",
                        esc(&e.to_string())
                    ),
                ),
            )
                .into_response();
        }
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    };
    let csrf = csrf_for(&review, &session);
    let trainable = review.bayes.is_some();
    let body = show_body(&entry, &view, &csrf, trainable);
    page(&entry.record.subject, &body)
}

fn show_body(entry: &Entry, view: &SafeView, csrf: &str, trainable: bool) -> String {
    let r = &entry.record;
    let mut body = format!(
        "<p><a href=/quarantine>&larr; All messages</a></p><h1 id=subject>{}</h1><table>\
         <tr><th>Id</th><td id=id>{}</td></tr><tr><th>Received</th><td>{}</td></tr>\
         <tr><th>From</th><td>{}</td></tr><tr><th>Envelope sender</th><td>{}</td></tr>\
         <tr><th>Recipients</th><td>{}</td></tr><tr><th>Client</th><td>{} ({})</td></tr>\
         <tr><th>Score</th><td>{:.1} ({})</td></tr><tr><th>Rules</th><td>{}</td></tr>",
        esc(if r.subject.is_empty() {
            "(no subject)"
        } else {
            &r.subject
        }),
        esc(&r.id),
        esc(&date(r.received_at)),
        esc(&r.from),
        esc(if r.sender.is_empty() { "<>" } else { &r.sender }),
        esc(&recipients_of(entry)),
        esc(&r.client.to_string()),
        esc(r.helo.as_deref().unwrap_or("no HELO")),
        r.score,
        esc(&r.action),
        esc(&r.explanation()),
    );
    if !view.attachments.is_empty() {
        let _ = write!(
            body,
            "<tr><th>Attachments</th><td>{}</td></tr>",
            esc(&view.attachments.join("\n"))
        );
    }
    body.push_str("</table>");
    let train = |label: &str| {
        if trainable {
            format!("<label><input type=checkbox name=train value=1> {label}</label> ")
        } else {
            String::new()
        }
    };
    let id = esc(&r.id);
    let csrf = esc(csrf);
    let _ = write!(
        body,
        "<p><form class=inline method=post action=\"/quarantine/{id}/release\">\
         <input type=hidden name=csrf value=\"{csrf}\">{}<button id=release type=submit>Release</button></form>\
         <form class=inline method=post action=\"/quarantine/{id}/delete\">\
         <input type=hidden name=csrf value=\"{csrf}\">{}<button id=delete type=submit>Delete</button></form></p>",
        train("learn as ham"),
        train("learn as spam"),
    );
    let _ = write!(body, "<h2>Text</h2><pre id=text>{}</pre>", esc(&view.text));
    if !view.links.is_empty() {
        let _ = write!(
            body,
            "<h2>Links (not followed)</h2><pre>{}</pre>",
            esc(&view.links.join("\n"))
        );
    }
    let _ = write!(body, "<h2>Headers</h2><pre>{}</pre>", esc(&view.headers));
    body
}

#[derive(Debug, Deserialize)]
struct ActionForm {
    csrf: String,
    #[serde(default)]
    train: Option<String>,
}

async fn page_release(
    State(review): State<Review>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    let Some(session) = session(&review, &headers) else {
        return login_redirect();
    };
    if !csrf_ok(&review, &session, &form.csrf) {
        return (StatusCode::FORBIDDEN, "bad CSRF token\n").into_response();
    }
    let train = TrainParam { train: form.train }.wanted();
    match release(&review, id.clone(), None, who(peer), train).await {
        Ok(released) => done(&format!(
            "Released {} to {}: {}",
            released.id,
            released.recipients.join(", "),
            released.upstream_reply
        )),
        Err(e) => page(
            "Not released",
            &format!(
                "<p class=error>{}</p><p><a href=\"/quarantine/{}\">Back</a></p>",
                esc(&e.to_string()),
                esc(&id)
            ),
        ),
    }
}

async fn page_delete(
    State(review): State<Review>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    let Some(session) = session(&review, &headers) else {
        return login_redirect();
    };
    if !csrf_ok(&review, &session, &form.csrf) {
        return (StatusCode::FORBIDDEN, "bad CSRF token\n").into_response();
    }
    let train = TrainParam { train: form.train }.wanted();
    match delete(&review, id.clone(), who(peer), train).await {
        Ok(()) => done(&format!("Deleted {id}")),
        Err(e) => page(
            "Not deleted",
            &format!("<p class=error>{}</p>", esc(&e.to_string())),
        ),
    }
}

fn done(message: &str) -> Response {
    let encoded: String = form_urlencoded(message);
    Redirect::to(&format!("/quarantine?done={encoded}")).into_response()
}

// ---------------------------------------------------------------- links ---

async fn link_page(
    State(review): State<Review>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((id, recipient_hex, expires, signature)): Path<(String, String, String, String)>,
) -> Response {
    let secrets = review.quarantine.secrets();
    let recipient = match check_link(secrets, &id, &recipient_hex, &expires, &signature, now()) {
        Ok(recipient) => recipient,
        Err(why) => {
            return (
                StatusCode::FORBIDDEN,
                page("Link", &format!("<p class=error>{}</p>", why.explain())),
            )
                .into_response();
        }
    };
    let entry = match review.quarantine.list(&Query {
        recipient: Some(recipient.clone()),
        ..Query::default()
    }) {
        Ok(entries) => entries.into_iter().find(|e| e.record.id == id),
        Err(e) => {
            return page(
                "Error",
                &format!("<p class=error>{}</p>", esc(&e.to_string())),
            );
        }
    };
    let Some(entry) = entry else {
        return page(
            "Gone",
            "<p>This message is no longer in quarantine (released or deleted).</p>",
        );
    };
    tracing::info!(target: "ringwall::audit", action = "view", id = %id, who = %format!("{recipient}@{}", peer.ip()), recipients = %recipient, "quarantine link opened");
    let r = &entry.record;
    let mut body = format!(
        "<h1>Quarantined message</h1><table><tr><th>From</th><td>{}</td></tr>\
         <tr><th>Subject</th><td>{}</td></tr><tr><th>Received</th><td>{}</td></tr>\
         <tr><th>For</th><td>{}</td></tr></table>",
        esc(&r.from),
        esc(&r.subject),
        esc(&date(r.received_at)),
        esc(&recipient),
    );
    if entry.released_to.contains(&recipient) {
        body.push_str("<p class=note>It was released to you already.</p>");
    } else if r.has_class(&review.quarantine.config().quarantine.admin_only) {
        body.push_str("<p class=error>This message may be dangerous; only an administrator can release it.</p>");
    } else {
        let csrf = review
            .quarantine
            .secrets()
            .sign(&format!("csrf\0link\0{signature}"));
        let _ = write!(
            body,
            "<form method=post><input type=hidden name=csrf value=\"{}\">\
             <button id=release type=submit>Release it to my inbox</button></form>",
            esc(&csrf)
        );
    }
    page("Quarantined message", &body)
}

async fn link_release(
    State(review): State<Review>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((id, recipient_hex, expires, signature)): Path<(String, String, String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let secrets = review.quarantine.secrets();
    let recipient = match check_link(secrets, &id, &recipient_hex, &expires, &signature, now()) {
        Ok(recipient) => recipient,
        Err(why) => {
            return (
                StatusCode::FORBIDDEN,
                page("Link", &format!("<p class=error>{}</p>", why.explain())),
            )
                .into_response();
        }
    };
    if !review
        .quarantine
        .secrets()
        .verify(&format!("csrf\0link\0{signature}"), &form.csrf)
    {
        return (StatusCode::FORBIDDEN, "bad CSRF token\n").into_response();
    }
    let who = format!("{recipient}@{}", peer.ip());
    match release(&review, id, Some(recipient), who, false).await {
        Ok(_) => page(
            "Released",
            "<p class=note id=done>Released: the message is on its way to your inbox.</p>",
        ),
        Err(e) => {
            let status = failure(&e).status();
            (
                status,
                page(
                    "Not released",
                    &format!("<p class=error>{}</p>", esc(&e.to_string())),
                ),
            )
                .into_response()
        }
    }
}

// -------------------------------------------------------------- helpers ---

/// Escapes text for HTML (element content and quoted attributes): every
/// string from a message is the sender's, so hostile.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // CRLF shows as a line end; other controls as visible marks.
            '\r' => {}
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn date(seconds: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
    humantime::format_rfc3339_seconds(time)
        .to_string()
        .replace('T', " ")
        .trim_end_matches('Z')
        .to_string()
}

fn recipients_of(entry: &Entry) -> String {
    entry
        .record
        .recipients
        .iter()
        .map(|r| {
            let lower = r.address.to_ascii_lowercase();
            if entry.released_to.contains(&lower) {
                format!("{} (released)", r.address)
            } else {
                r.address.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn form_urlencoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup_from_the_message() {
        assert_eq!(
            esc("<script>alert('x')</script>\"&"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;"
        );
        assert_eq!(esc("a\u{0}b"), "a\u{fffd}b");
        assert_eq!(esc("line\r\nnext"), "line\nnext");
    }

    #[test]
    fn form_encoding_escapes_what_a_query_cannot_hold() {
        assert_eq!(form_urlencoded("a b&c"), "a%20b%26c");
    }
}
