//! DNSBL/DNSWL triage, the pure core: zones compiled from `[[dnsbl]]` and
//! `[[dnswl]]`, the names they are asked under, what their answers mean, and
//! the score a client's answers add up to, postscreen style.
//!
//! Everything but [`Triage`] is pure: the shell sends the queries (through
//! `dns/`) and feeds the answers to [`Zone::classify`] and [`TriageScore`], so
//! every rule is tested with plain addresses. [`Triage`] is that shell for
//! client addresses: one shard's slice of the sharded cache, single-flight
//! lookups, and the mesh to the shard that owns an address.
//!
//! - [`pattern`](CodePattern): postscreen's return-code patterns.
//! - presets ([`Preset`]): the documented codes of Spamhaus ZEN and DBL,
//!   URIBL, SURBL and DNSWL, error codes first.
//! - [`Zone`]: query names and classification.
//! - [`TriageScore`]: the sum, the explanation and the decision.
//! - [`Cache`]: a shard's bounded TTL cache.
//! - [`Greylist`]: RFC 6647 greylisting of (client network, sender,
//!   recipient) triplets.
//! - [`Triage`]: the lookups of a client address, on the shard that owns it.

mod cache;
mod greylist;
mod pattern;
mod preset;
mod score;
mod triage;
mod zone;

pub use cache::{Cache, CacheLimits, CacheStats};
pub use greylist::{GreyDecision, Greylist, GreylistSettings, Triplet, network, normalize_sender};
pub use pattern::{CodePattern, OctetFlaw, PatternError};
pub use preset::{KeyMode, Preset};
pub use score::{Decision, Failure, Hit, TriageScore, ZoneFailure};
pub use triage::{Subject, Triage, TriageMesh, TriageSettings, TriageStats, triage_mesh};
pub use zone::{Classification, CodeError, ListKind, LookupKey, Zone};
