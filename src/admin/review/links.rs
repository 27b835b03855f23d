//! The recipients' release links (`/r/...`, on `[quarantine]
//! public_listen`): GET shows a confirmation page only (mail scanners fetch
//! every link); POST, with the page's CSRF token, releases that
//! recipient's copy.

use std::fmt::Write as _;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::html::{date, esc, page};
use super::pages::ActionForm;
use super::{Review, failure, release as release_message};
use crate::quarantine::Query;
use crate::quarantine::links::{LinkError, check_link};
use crate::quarantine::service::{audit, now};

/// A link's four parts, as the route names them.
#[derive(Debug, Deserialize)]
pub(super) struct Link {
    id: String,
    recipient: String,
    expires: String,
    signature: String,
}

/// The recipient a link speaks for.
fn recipient_of(review: &Review, link: &Link) -> Result<String, LinkError> {
    check_link(
        review.quarantine.secrets(),
        &link.id,
        &link.recipient,
        &link.expires,
        &link.signature,
        now(),
    )
}

/// The page that says why a link does not work.
fn refused(why: LinkError) -> Response {
    (
        StatusCode::FORBIDDEN,
        page("Link", &format!("<p class=error>{}</p>", why.explain())),
    )
        .into_response()
}

/// `GET /r/...`: the confirmation page (releases nothing).
pub(super) async fn confirm(
    State(review): State<Review>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(link): Path<Link>,
) -> Response {
    let recipient = match recipient_of(&review, &link) {
        Ok(recipient) => recipient,
        Err(why) => return refused(why),
    };
    let entry = match review.quarantine.list(&Query {
        recipient: Some(recipient.clone()),
        ..Query::default()
    }) {
        Ok(entries) => entries.into_iter().find(|e| e.record.id == link.id),
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
    audit(
        "view",
        &link.id,
        &format!("{recipient}@{}", peer.ip()),
        std::slice::from_ref(&recipient),
    );
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
            .sign(&format!("csrf\0link\0{}", link.signature));
        let _ = write!(
            body,
            "<form method=post><input type=hidden name=csrf value=\"{}\">\
             <button id=release type=submit>Release it to my inbox</button></form>",
            esc(&csrf)
        );
    }
    page("Quarantined message", &body)
}

/// `POST /r/...`: releases the link's recipient's copy.
pub(super) async fn release(
    State(review): State<Review>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(link): Path<Link>,
    Form(form): Form<ActionForm>,
) -> Response {
    let recipient = match recipient_of(&review, &link) {
        Ok(recipient) => recipient,
        Err(why) => return refused(why),
    };
    if !review
        .quarantine
        .secrets()
        .verify(&format!("csrf\0link\0{}", link.signature), &form.csrf)
    {
        return (StatusCode::FORBIDDEN, "bad CSRF token\n").into_response();
    }
    let who = format!("{recipient}@{}", peer.ip());
    match release_message(&review, link.id, Some(recipient), who, false).await {
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
