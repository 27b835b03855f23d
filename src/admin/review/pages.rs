//! The review page (`/quarantine...`): server-rendered HTML, no script;
//! the list with its search, one message's safe view, and the release and
//! delete forms.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Form, Path, Query as UrlQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::api::{ListParams, TrainParam};
use super::auth::{csrf_for, csrf_ok, login_redirect, session, who};
use super::html::{date, esc, page, recipients_of};
use super::{Review, delete as delete_message, release as release_message};
use crate::quarantine::{Entry, SafeView};

/// The most messages one list page shows.
const PAGE: usize = 500;

/// The list page's query: the search, and the note of the last action.
#[derive(Debug, Deserialize, Default)]
pub(super) struct ListPage {
    #[serde(flatten)]
    list: ListParams,
    done: Option<String>,
}

/// `GET /quarantine`: the newest messages, with the search form.
pub(super) async fn list(
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

/// `GET /quarantine/{id}`: one message's safe view and its actions.
pub(super) async fn show(
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

/// A page form's fields: the CSRF token and the train box.
#[derive(Debug, Deserialize)]
pub(super) struct ActionForm {
    pub(super) csrf: String,
    #[serde(default)]
    train: Option<String>,
}

/// `POST /quarantine/{id}/release` and `/delete`, from the message page's
/// forms (session and CSRF token checked).
pub(super) async fn act(
    State(review): State<Review>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let Some(session) = session(&review, &headers) else {
        return login_redirect();
    };
    if !csrf_ok(&review, &session, &form.csrf) {
        return (StatusCode::FORBIDDEN, "bad CSRF token\n").into_response();
    }
    let train = TrainParam { train: form.train }.wanted();
    let outcome = match action.as_str() {
        "release" => release_message(&review, id.clone(), None, who(peer), train)
            .await
            .map(|released| {
                format!(
                    "Released {} to {}: {}",
                    released.id,
                    released.recipients.join(", "),
                    released.upstream_reply
                )
            }),
        "delete" => delete_message(&review, id.clone(), who(peer), train)
            .await
            .map(|()| format!("Deleted {id}")),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    match outcome {
        Ok(note) => done(&note),
        Err(e) => page(
            "Not done",
            &format!(
                "<p class=error>{}</p><p><a href=\"/quarantine/{}\">Back</a></p>",
                esc(&e.to_string()),
                esc(&id)
            ),
        ),
    }
}

fn done(message: &str) -> Response {
    let encoded: String = form_urlencoded::byte_serialize(message.as_bytes()).collect();
    Redirect::to(&format!("/quarantine?done={encoded}")).into_response()
}
