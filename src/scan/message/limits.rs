//! The bounds of one analysis (invariant 3: everything is bounded).

/// How much of a message the analysis looks at. Every bound, when crossed,
/// is a finding (a bomb is judged, not suffered) and the excess is skipped,
/// so the time and memory of one analysis grow with these numbers, never
/// with what a sender chose to put in a message.
///
/// The defaults suit an appliance: the message and header bounds match the
/// SMTP side's defaults (`[server] max_message_size`, `[limits] header_size`
/// and `header_field`), so a message the proxy accepted is analysed whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanLimits {
    /// Octets of a message analysed (after a leading mbox `From ` line);
    /// past it, MESSAGE_TOO_LARGE. Default 50 MiB.
    pub message_size: usize,
    /// Octets of a header section (the message's or a part's) parsed; past
    /// it, HEADER_TOO_LONG. Default 1 MiB.
    pub header_section: usize,
    /// Octets of one header field, folded lines included; a longer field is
    /// dropped with HEADER_TOO_LONG. Default 32 KiB.
    pub header_line: usize,
    /// Header fields kept per section; past it, HEADER_TOO_LONG. Default 1,000.
    pub header_fields: usize,
    /// How deep MIME entities nest (the message is depth 0, its parts depth
    /// 1, ...); past it, MIME_TOO_DEEP. Default 20.
    pub mime_depth: usize,
    /// MIME parts (containers, leaves and enclosed messages) walked; past
    /// it, TOO_MANY_PARTS. Default 1,000.
    pub parts: usize,
    /// Decoded octets kept of one part; past it, PART_TOO_LARGE and the part
    /// is scanned truncated. Default 10 MiB.
    pub part_decoded: usize,
    /// Links collected from the whole message. Default 1,000.
    pub links: usize,
    /// Zip members examined (and listed) per archive. Default 1,000.
    pub zip_members: usize,
    /// Uncompressed-to-compressed ratio a zip member may declare (members of
    /// at least 1 MiB); past it, ARCHIVE_RATIO. Default 100, as Apache POI's
    /// zip-bomb guard.
    pub zip_ratio: u64,
    /// Uncompressed octets one archive may declare in all; past it,
    /// ARCHIVE_RATIO. Default 512 MiB.
    pub archive_uncompressed: u64,
}

impl Default for ScanLimits {
    fn default() -> Self {
        ScanLimits {
            message_size: 50 * 1024 * 1024,
            header_section: 1024 * 1024,
            header_line: 32 * 1024,
            header_fields: 1_000,
            mime_depth: 20,
            parts: 1_000,
            part_decoded: 10 * 1024 * 1024,
            links: 1_000,
            zip_members: 1_000,
            zip_ratio: 100,
            archive_uncompressed: 512 * 1024 * 1024,
        }
    }
}
