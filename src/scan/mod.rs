//! Content analysis: what a message's text, links and attachments say about
//! it, turned into named rule hits that `policy/` sums into one verdict.
//!
//! - [`keywords`]: literal and regex rules over the subject, headers, body,
//!   HTML text, URLs and attachment names, on one multi-pattern automaton per
//!   location.
//! - [`headers`]: the header section's own tests (mandatory fields, spoofed
//!   display names, GTUBE).

mod builtin;
pub mod headers;
pub mod keywords;
pub mod message;
mod scanner;

pub use builtin::{BUILTIN_RULES, BuiltinRule};
pub use scanner::{BUILTIN_PACK, Check, PackFile, ScanReport, ScanScratch, Scanner, ScannerError};
