//! The text of one message, per location, as the scan takes it.

use std::slice;

use super::location::Location;

/// The text of one message per location, as the MIME stage decoded it.
///
/// Plain borrowed data: the scan copies nothing but the lowercased text of
/// the locations that have case-folded rules, so the caller keeps its own
/// buffers and decides how parts are joined. Leave a location empty (the
/// default) when the message has none.
#[derive(Debug, Clone, Copy, Default)]
pub struct Haystacks<'a> {
    /// The decoded Subject.
    pub subject: &'a str,
    /// The header block as received (folded lines included).
    pub headers: &'a str,
    /// The decoded text parts, joined.
    pub body: &'a str,
    /// The text of the HTML parts, joined.
    pub html: &'a str,
    /// Every link, each searched on its own.
    pub urls: &'a [&'a str],
    /// Every attachment's file name, each searched on its own.
    pub attachment_names: &'a [&'a str],
}

impl<'a> Haystacks<'a> {
    /// The texts searched for `location`: one, or one per URL or attachment.
    pub(super) fn texts(&self, location: Location) -> &[&'a str] {
        match location {
            Location::Subject => slice::from_ref(&self.subject),
            Location::Headers => slice::from_ref(&self.headers),
            Location::Body => slice::from_ref(&self.body),
            Location::Html => slice::from_ref(&self.html),
            Location::Url => self.urls,
            Location::AttachmentName => self.attachment_names,
        }
    }
}
