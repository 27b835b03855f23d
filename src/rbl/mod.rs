//! DNSBL/DNSWL triage, the pure core: zones compiled from `[[dnsbl]]` and
//! `[[dnswl]]`, the names they are asked under, what their answers mean, and
//! the score a client's answers add up to, postscreen style.
//!
//! This is the room's door. Nothing here does IO: the shell sends the
//! queries (through `dns/`) and feeds the answers to [`Zone::classify`] and
//! [`TriageScore`], so every rule is tested with plain addresses.
//!
//! - [`pattern`](CodePattern): postscreen's return-code patterns.
//! - presets ([`Preset`]): the documented codes of Spamhaus ZEN and DBL,
//!   URIBL, SURBL and DNSWL, error codes first.
//! - [`Zone`]: query names and classification.
//! - [`TriageScore`]: the sum, the explanation and the decision.

mod pattern;
mod preset;
mod score;
mod zone;

pub use pattern::{CodePattern, OctetFlaw, PatternError};
pub use preset::{KeyMode, Preset};
pub use score::{Decision, Failure, Hit, TriageScore, ZoneFailure};
pub use zone::{Classification, CodeError, ListKind, LookupKey, Zone};
