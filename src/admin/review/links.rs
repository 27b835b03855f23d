//! The recipients' release links (`/r/...`, on `[quarantine]
//! public_listen`): GET shows a confirmation page only (mail scanners fetch
//! every link); POST, with the page's CSRF token, releases that
//! recipient's copy.

use std::fmt::Write as _;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::html::{date, esc, page};
use super::pages::ActionForm;
use super::{Review, failure, release as release_message};
use crate::quarantine::Query;
use crate::quarantine::links::check_link;
use crate::quarantine::service::now;

pub(super) async fn confirm(
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

pub(super) async fn release(
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
    match release_message(&review, id, Some(recipient), who, false).await {
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
