//! The quarantine: messages whose verdict is `quarantine` kept durably
//! (design invariant 1: the client hears 250 only once the file and its
//! directory entry are on stable storage), listed and searched through an
//! index, reviewed by administrators and recipients, and released to the
//! upstream with their original envelope or deleted.

pub mod cli;
pub mod index;
pub mod keeper;
pub mod links;
pub mod record;
pub mod release;
pub mod secrets;
pub mod service;
pub mod storage;
pub mod store;

pub use index::{Entry, Index, IndexError, Query, Reconciled};
pub use keeper::Keeper;
pub use record::{Record, RecordError};
pub use service::{ListItem, Quarantine, QuarantineError, Released, SafeView};
pub use store::{Store, StoreError, is_id};
