//! The parts of a message a rule can look in.

use std::fmt;

/// A part of the message a rule looks in. Each is searched on its own, so a
/// pattern never matches across two parts (or across two URLs), and a rule
/// says where its words mean something: "unsubscribe" is innocent in a body
/// and odd in an attachment name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Location {
    /// The decoded Subject header.
    Subject,
    /// The raw header block, every field.
    Headers,
    /// The decoded text parts.
    Body,
    /// The text of the HTML parts, tags stripped.
    Html,
    /// Each link on its own.
    Url,
    /// Each attachment's file name on its own.
    AttachmentName,
}

impl Location {
    /// Every location, in the order a scan visits them: a rule's evidence is
    /// its first match in this order.
    pub const ALL: [Location; 6] = [
        Location::Subject,
        Location::Headers,
        Location::Body,
        Location::Html,
        Location::Url,
        Location::AttachmentName,
    ];

    /// The name rule files use in `where`, and the explanation shows.
    pub fn name(self) -> &'static str {
        match self {
            Location::Subject => "subject",
            Location::Headers => "headers",
            Location::Body => "body",
            Location::Html => "html",
            Location::Url => "url",
            Location::AttachmentName => "attachment_name",
        }
    }

    /// The location a rule file's `where` entry names, if it names one.
    pub fn from_name(name: &str) -> Option<Location> {
        Location::ALL.into_iter().find(|l| l.name() == name)
    }

    /// Its place in [`Location::ALL`], for tables indexed by location.
    pub(super) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The valid `where` names, comma-separated, for error messages.
pub(super) fn names() -> String {
    Location::ALL.map(Location::name).join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_scan_order() {
        for (i, location) in Location::ALL.into_iter().enumerate() {
            assert_eq!(location.index(), i);
            assert_eq!(Location::from_name(location.name()), Some(location));
        }
        assert_eq!(Location::from_name("Body"), None);
        assert_eq!(
            names(),
            "subject, headers, body, html, url, attachment_name"
        );
    }
}
