//! The token database on disk (`[bayes] database`): an embedded redb file
//! holding the token records, the message counts, and which messages were
//! learned as what, so that a message learned again under the other label
//! (a user's correction) is first taken back.
//!
//! One writer owns it: `ringwall train` when no daemon runs, the daemon's
//! learning thread when one does (redb locks the file, so a second opener
//! learns at once that it must go through the daemon). The whole table is
//! loaded into a [`TokenStore`] at open; training changes the store in
//! memory and [`Database::commit`] writes the changes in one transaction,
//! so a batch of thousands of messages costs one fsync.

// redb's own error is large; the helpers below pass it along with `?` and
// the public functions box it in `DbError`, which stays small.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use redb::{ReadableTable, ReadableTableMetadata, TableDefinition};
use thiserror::Error;

use super::classifier::Classifier;
use super::hash::TokenHasher;
use super::store::{Class, Day, MessageCounts, Prune, TokenCounts, TokenRecord, TokenStore};
use super::tokens::Tokens;
use super::trainer::TrainMode;
use crate::scan::message::{ScanLimits, analyse};

/// Token hash → (spam messages, ham messages, last day learned).
const TOKENS: TableDefinition<u64, (u32, u32, u32)> = TableDefinition::new("tokens");
/// Counters by name: `spam_messages`, `ham_messages`.
const COUNTS: TableDefinition<&str, u32> = TableDefinition::new("counts");
/// Message hash → the class it was learned as (0 ham, 1 spam).
const LEARNED: TableDefinition<u64, u8> = TableDefinition::new("learned");

/// Why the database cannot be used.
#[derive(Debug, Error)]
pub enum DbError {
    /// Another process (a running daemon) has the database open.
    #[error(
        "{0}: the token database is in use by another process (a running ringwall daemon owns it; train through its admin API: [admin] listen)"
    )]
    InUse(PathBuf),
    /// redb refused (I/O, corruption, version).
    #[error("{path}: token database: {source}")]
    Redb {
        /// The database file.
        path: PathBuf,
        /// redb's reason (boxed: redb's error is large, and this one is
        /// rare).
        source: Box<redb::Error>,
    },
}

/// What learning one message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learned {
    /// Counted under its label.
    New,
    /// It had been learned under the other label: taken back, then counted.
    Corrected,
    /// It had been learned under this label already: nothing changed.
    Already,
    /// The training mode passed it over: the table already judges it
    /// rightly and surely.
    Skipped,
}

impl Learned {
    /// The word `ringwall train` and the admin API report it by.
    pub fn name(self) -> &'static str {
        match self {
            Learned::New => "new",
            Learned::Corrected => "corrected",
            Learned::Already => "already",
            Learned::Skipped => "skipped",
        }
    }
}

/// The open database and the table loaded from it.
pub struct Database {
    path: PathBuf,
    db: redb::Database,
    store: TokenStore,
    /// Messages learned since the last commit: hash and class (a map, so
    /// a batch of any size checks each message in constant time).
    learned: HashMap<u64, Class>,
}

impl Database {
    /// Opens (creating when missing) the database at `path` and loads it.
    pub fn open(path: &Path) -> Result<Database, DbError> {
        let fail = |source: redb::Error| DbError::Redb {
            path: path.to_path_buf(),
            source: Box::new(source),
        };
        let db = match redb::Database::create(path) {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(DbError::InUse(path.to_path_buf()));
            }
            Err(e) => return Err(fail(e.into())),
        };
        let store = load(&db).map_err(fail)?;
        Ok(Database {
            path: path.to_path_buf(),
            db,
            store,
            learned: HashMap::new(),
        })
    }

    /// The table as loaded and trained since.
    pub fn store(&self) -> &TokenStore {
        &self.store
    }

    /// Learns the message `raw` as `class`: analysed and tokenised as the
    /// shards do, then [`Database::learn`]. What `ringwall train` and the
    /// daemon's `/bayes/learn` call for each message.
    pub fn learn_message(
        &mut self,
        raw: &[u8],
        class: Class,
        day: Day,
        mode: TrainMode,
    ) -> Result<Learned, DbError> {
        let tokens = Tokens::of(&analyse(raw, &ScanLimits::default()));
        if !mode.wants(
            &Classifier::default(),
            &self.store,
            tokens.as_slice(),
            class,
        ) {
            return Ok(Learned::Skipped);
        }
        self.learn(raw, tokens.as_slice(), class, day)
    }

    /// Learns `tokens` of the message `raw` as `class` (taking back an
    /// earlier learning of it under the other class).
    pub fn learn(
        &mut self,
        raw: &[u8],
        tokens: &[u64],
        class: Class,
        day: Day,
    ) -> Result<Learned, DbError> {
        let id = message_id(raw);
        let before = match self.learned.get(&id) {
            Some(class) => Some(*class),
            None => self.stored_class(id)?,
        };
        let outcome = match before {
            Some(earlier) if earlier == class => return Ok(Learned::Already),
            Some(earlier) => {
                // Counted once under `earlier`, so it can be taken back.
                let _ = self.store.unlearn(tokens, earlier);
                Learned::Corrected
            }
            None => Learned::New,
        };
        self.store.learn(tokens, class, day);
        self.learned.insert(id, class);
        Ok(outcome)
    }

    /// Drops the rare tokens not learned for a long time ([`Prune`]'s
    /// defaults) before the next commit; returns how many went.
    pub fn prune(&mut self, today: Day) -> usize {
        self.store.prune(today, Prune::default())
    }

    /// Writes what changed since the last commit, in one transaction.
    pub fn commit(&mut self) -> Result<(), DbError> {
        let changes = self.store.take_changes();
        let messages = self.store.messages();
        let learned = std::mem::take(&mut self.learned);
        let write = || -> Result<(), redb::Error> {
            let txn = self.db.begin_write()?;
            {
                let mut tokens = txn.open_table(TOKENS)?;
                for (token, record) in &changes {
                    match record {
                        Some(r) => {
                            tokens.insert(token, (r.counts.spam, r.counts.ham, r.last_seen.0))?;
                        }
                        None => {
                            tokens.remove(token)?;
                        }
                    }
                }
                let mut counts = txn.open_table(COUNTS)?;
                counts.insert("spam_messages", messages.spam)?;
                counts.insert("ham_messages", messages.ham)?;
                let mut seen = txn.open_table(LEARNED)?;
                for (id, class) in &learned {
                    seen.insert(id, class_code(*class))?;
                }
            }
            txn.commit()?;
            Ok(())
        };
        write().map_err(|source| DbError::Redb {
            path: self.path.clone(),
            source: Box::new(source),
        })
    }

    fn stored_class(&self, id: u64) -> Result<Option<Class>, DbError> {
        let read = || -> Result<Option<Class>, redb::Error> {
            let txn = self.db.begin_read()?;
            let table = match txn.open_table(LEARNED) {
                Ok(table) => table,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            Ok(table.get(id)?.map(|code| match code.value() {
                1 => Class::Spam,
                _ => Class::Ham,
            }))
        };
        read().map_err(|source| DbError::Redb {
            path: self.path.clone(),
            source: Box::new(source),
        })
    }
}

/// A message's identity for the learned record: the fixed token hash over
/// its bytes (64 bits: a collision among a few million messages is
/// unlikely, and would only skip one learning).
fn message_id(raw: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut hasher = TokenHasher::default();
    hasher.write(raw);
    hasher.finish()
}

fn class_code(class: Class) -> u8 {
    match class {
        Class::Ham => 0,
        Class::Spam => 1,
    }
}

/// The whole table of a database (empty when it is new).
fn load(db: &redb::Database) -> Result<TokenStore, redb::Error> {
    let txn = db.begin_read()?;
    let tokens = match txn.open_table(TOKENS) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(TokenStore::new()),
        Err(e) => return Err(e.into()),
    };
    let counts = txn.open_table(COUNTS)?;
    let count =
        |name: &str| -> Result<u32, redb::Error> { Ok(counts.get(name)?.map_or(0, |v| v.value())) };
    let messages = MessageCounts {
        spam: count("spam_messages")?,
        ham: count("ham_messages")?,
    };
    let mut records = Vec::with_capacity(usize::try_from(tokens.len()?).unwrap_or(0));
    for entry in tokens.iter()? {
        let (token, value) = entry?;
        let (spam, ham, day) = value.value();
        records.push((
            token.value(),
            TokenRecord {
                counts: TokenCounts { spam, ham },
                last_seen: Day(day),
            },
        ));
    }
    Ok(TokenStore::from_records(messages, records))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learning_survives_a_reopen_and_a_correction_moves_the_counts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bayes.redb");
        let day = Day(20_000);
        {
            let mut db = Database::open(&path).unwrap();
            assert_eq!(
                db.learn(b"m1", &[1, 2], Class::Spam, day).unwrap(),
                Learned::New
            );
            assert_eq!(
                db.learn(b"m1", &[1, 2], Class::Spam, day).unwrap(),
                Learned::Already
            );
            assert_eq!(
                db.learn(b"m2", &[2, 3], Class::Ham, day).unwrap(),
                Learned::New
            );
            db.commit().unwrap();
        }
        let mut db = Database::open(&path).unwrap();
        let store = db.store();
        assert_eq!(store.messages(), MessageCounts { spam: 1, ham: 1 });
        assert_eq!(
            store.get(2).unwrap().counts,
            TokenCounts { spam: 1, ham: 1 }
        );
        // The user says m1 was ham after all.
        assert_eq!(
            db.learn(b"m1", &[1, 2], Class::Ham, day).unwrap(),
            Learned::Corrected
        );
        db.commit().unwrap();
        drop(db);
        let db = Database::open(&path).unwrap();
        let store = db.store();
        assert_eq!(store.messages(), MessageCounts { spam: 0, ham: 2 });
        assert_eq!(
            store.get(1).unwrap().counts,
            TokenCounts { spam: 0, ham: 1 }
        );
        assert_eq!(
            store.get(3).unwrap().counts,
            TokenCounts { spam: 0, ham: 1 }
        );
    }

    #[test]
    fn a_second_opener_is_told_the_database_is_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bayes.redb");
        let _owner = Database::open(&path).unwrap();
        match Database::open(&path) {
            Err(DbError::InUse(p)) => assert_eq!(p, path),
            other => panic!("expected InUse, got {:?}", other.err()),
        }
    }
}
