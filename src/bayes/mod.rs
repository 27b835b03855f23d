//! The statistical classifier: it learns the operator's own ham and spam
//! and scores what the rules do not know, as bogofilter and SpamBayes do.
//!
//! The pure core, one job per module: `tokens` (what of an analysed message
//! is counted, hashed to `u64`s), `hash` (the fixed token hash that keys
//! stored data), `store` (the mutable token table training writes),
//! `classifier` (Robinson's token probabilities and the classification),
//! `fisher` (Fisher's combining), `rules` (probability bands as BAYES_00 …
//! BAYES_999 score rules), `snapshot` (the immutable table the shards
//! read), `trainer` (which messages are learned), `mailbox` (reading
//! maildir, mbox and message files for training) and `db` (the redb file
//! the store lives in between runs).
//!
//! The flow: training reads mailboxes, analyses and tokenises each message
//! and learns it into a [`TokenStore`] through a [`Trainer`]; a persistent
//! store writes [`TokenStore::take_changes`]; a [`Snapshot`] of the store
//! is swapped in for the shards, which tokenise each message and call
//! [`Snapshot::classify`].

mod classifier;
mod db;
mod fisher;
mod hash;
pub mod mailbox;
mod rules;
mod snapshot;
mod store;
mod tokens;
mod trainer;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod proptests;

pub use classifier::{Classification, Classifier, Clue, EVIDENCE, Lookup};
pub use db::{Database, DbError, Learned};
pub use hash::{TokenHashBuilder, TokenHasher};
pub use rules::{BANDS, Band, rule_for};
pub use snapshot::Snapshot;
pub use store::{
    Change, Class, Day, MessageCounts, Prune, TokenCounts, TokenRecord, TokenStore, UnlearnError,
};
pub use tokens::{MAX_TOKENS, Tokens, names};
pub use trainer::{TrainMode, Trained, Trainer, train_mode};
