//! The quarantine's index: an embedded redb file (`index.redb` in the
//! quarantine directory) for listing and searching by recipient, sender,
//! date, score and rule without opening message files.
//!
//! The files are the truth; the index is a cache of their records. It is
//! written after the files are durable (by the daemon's index thread, off
//! the shards), so a crash can leave it behind the files but never ahead of
//! them: [`Index::reconcile`] at start adds what is missing and drops what
//! is gone, and a lost or unreadable index file is rebuilt from scratch.

// redb's error is large; it is boxed at the public edge (`IndexError`).
#![allow(clippy::result_large_err)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use redb::{MultimapTableDefinition, ReadableMultimapTable, ReadableTable, TableDefinition};
use thiserror::Error;

use super::record::Record;
use super::storage::Storage;
use super::store::{Store, StoreError};

/// id → the record (JSON).
const MESSAGES: TableDefinition<&str, &[u8]> = TableDefinition::new("messages");
/// (received_at, id), for the newest-first list.
const BY_TIME: TableDefinition<(u64, &str), ()> = TableDefinition::new("by_time");
/// Lower-cased recipient → ids.
const BY_RECIPIENT: MultimapTableDefinition<&str, &str> =
    MultimapTableDefinition::new("by_recipient");
/// Lower-cased sender → ids.
const BY_SENDER: MultimapTableDefinition<&str, &str> = MultimapTableDefinition::new("by_sender");
/// Rule name → ids.
const BY_RULE: MultimapTableDefinition<&str, &str> = MultimapTableDefinition::new("by_rule");
/// id → recipients it was already released to (a user's own link).
const RELEASED: MultimapTableDefinition<&str, &str> = MultimapTableDefinition::new("released");

/// Why the index failed.
#[derive(Debug, Error)]
pub enum IndexError {
    /// Another process (a running daemon) has the index open.
    #[error(
        "{0}: the quarantine index is in use by another process (a running ringwall daemon owns it; ask it through [admin] listen)"
    )]
    InUse(PathBuf),
    /// The database failed.
    #[error("{path}: quarantine index: {source}")]
    Redb {
        /// The index file.
        path: PathBuf,
        /// redb's error.
        source: Box<redb::Error>,
    },
    /// The store under it failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// What `list` selects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// Only messages for this recipient (case ignored).
    pub recipient: Option<String>,
    /// Only messages from this envelope sender (case ignored).
    pub sender: Option<String>,
    /// Only messages kept at or after this second.
    pub since: Option<u64>,
    /// Only messages this rule hit.
    pub rule: Option<String>,
    /// Only messages scoring at least this.
    pub min_score: Option<f64>,
    /// At most this many, newest first (0: no bound).
    pub limit: usize,
}

impl Query {
    fn matches(&self, record: &Record) -> bool {
        self.recipient
            .as_ref()
            .is_none_or(|r| record.is_recipient(r))
            && self
                .sender
                .as_ref()
                .is_none_or(|s| record.sender.eq_ignore_ascii_case(s))
            && self.since.is_none_or(|since| record.received_at >= since)
            && self
                .rule
                .as_ref()
                .is_none_or(|rule| record.rules.iter().any(|hit| &hit.rule == rule))
            && self.min_score.is_none_or(|min| record.score >= min)
    }
}

/// A listed message: its record and the recipients it was released to.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The record.
    pub record: Record,
    /// Recipients who released their copy already.
    pub released_to: Vec<String>,
}

/// What a reconcile found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Messages on disk the index lacked (added).
    pub added: usize,
    /// Index entries whose file is gone (dropped).
    pub dropped: usize,
    /// Files that could not be read (left on disk, not listed).
    pub damaged: usize,
}

/// The open index.
pub struct Index {
    path: PathBuf,
    db: redb::Database,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index").field("path", &self.path).finish()
    }
}

impl Index {
    /// Opens `path`, creating it; an unreadable file is moved aside
    /// (`.damaged`) and a new one created, to be filled by
    /// [`Index::reconcile`].
    pub fn open(path: &Path) -> Result<Index, IndexError> {
        let db = match redb::Database::create(path) {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(IndexError::InUse(path.to_path_buf()));
            }
            Err(e) => {
                tracing::warn!(index = %path.display(), error = %e, "quarantine index unreadable; rebuilding it from the message files");
                let aside = path.with_extension("redb.damaged");
                let _ = std::fs::rename(path, &aside);
                redb::Database::create(path).map_err(|e| fail(path, e.into()))?
            }
        };
        let index = Index {
            path: path.to_path_buf(),
            db,
        };
        index.write(|_| Ok(()))?;
        Ok(index)
    }

    fn write(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error>,
    ) -> Result<(), IndexError> {
        let run = || -> Result<(), redb::Error> {
            let tx = self.db.begin_write()?;
            {
                tx.open_table(MESSAGES)?;
                tx.open_table(BY_TIME)?;
                tx.open_multimap_table(BY_RECIPIENT)?;
                tx.open_multimap_table(BY_SENDER)?;
                tx.open_multimap_table(BY_RULE)?;
                tx.open_multimap_table(RELEASED)?;
            }
            f(&tx)?;
            tx.commit()?;
            Ok(())
        };
        run().map_err(|e| fail(&self.path, e))
    }

    /// Adds `records` in one transaction (one fsync for the batch).
    pub fn insert(&self, records: &[Record]) -> Result<(), IndexError> {
        self.write(|tx| {
            for record in records {
                insert_one(tx, record)?;
            }
            Ok(())
        })
    }

    /// Drops `ids` in one transaction.
    pub fn remove(&self, ids: &[String]) -> Result<(), IndexError> {
        self.write(|tx| {
            for id in ids {
                remove_one(tx, id)?;
            }
            Ok(())
        })
    }

    /// Notes that `recipient` released their copy of `id`.
    pub fn mark_released(&self, id: &str, recipient: &str) -> Result<(), IndexError> {
        let recipient = recipient.to_ascii_lowercase();
        self.write(|tx| {
            tx.open_multimap_table(RELEASED)?
                .insert(id, recipient.as_str())?;
            Ok(())
        })
    }

    /// The entry of `id`, when indexed.
    pub fn get(&self, id: &str) -> Result<Option<Entry>, IndexError> {
        let read = || -> Result<Option<Entry>, redb::Error> {
            let tx = self.db.begin_read()?;
            let messages = tx.open_table(MESSAGES)?;
            let released = tx.open_multimap_table(RELEASED)?;
            entry(&messages, &released, id)
        };
        read().map_err(|e| fail(&self.path, e))
    }

    /// The entries `query` selects, newest first.
    pub fn list(&self, query: &Query) -> Result<Vec<Entry>, IndexError> {
        let read = || -> Result<Vec<Entry>, redb::Error> {
            let tx = self.db.begin_read()?;
            let messages = tx.open_table(MESSAGES)?;
            let released = tx.open_multimap_table(RELEASED)?;
            // The narrowest secondary index names the candidates; the time
            // index (newest first) when the query names none.
            let narrowed = match (&query.recipient, &query.sender, &query.rule) {
                (Some(r), _, _) => Some((BY_RECIPIENT, r.to_ascii_lowercase())),
                (None, Some(s), _) => Some((BY_SENDER, s.to_ascii_lowercase())),
                (None, None, Some(rule)) => Some((BY_RULE, rule.clone())),
                (None, None, None) => None,
            };
            let mut out = Vec::new();
            if let Some((table, key)) = narrowed {
                let table = tx.open_multimap_table(table)?;
                for id in table.get(key.as_str())? {
                    if let Some(e) = entry(&messages, &released, id?.value())?
                        && query.matches(&e.record)
                    {
                        out.push(e);
                    }
                }
                out.sort_by(|a, b| {
                    (b.record.received_at, &b.record.id).cmp(&(a.record.received_at, &a.record.id))
                });
                if query.limit > 0 {
                    out.truncate(query.limit);
                }
            } else {
                let by_time = tx.open_table(BY_TIME)?;
                let since = query.since.unwrap_or(0);
                for row in by_time.range((since, "")..)?.rev() {
                    let (key, _) = row?;
                    let (_, id) = key.value();
                    if let Some(e) = entry(&messages, &released, id)?
                        && query.matches(&e.record)
                    {
                        out.push(e);
                        if query.limit > 0 && out.len() == query.limit {
                            break;
                        }
                    }
                }
            }
            Ok(out)
        };
        read().map_err(|e| fail(&self.path, e))
    }

    /// The ids of messages kept before `cutoff` (seconds since the epoch),
    /// oldest first: what a purge removes, read from the time index alone.
    pub fn older_than(&self, cutoff: u64) -> Result<Vec<String>, IndexError> {
        let read = || -> Result<Vec<String>, redb::Error> {
            let tx = self.db.begin_read()?;
            let by_time = tx.open_table(BY_TIME)?;
            let mut ids = Vec::new();
            for row in by_time.range(..(cutoff, ""))? {
                ids.push(row?.0.value().1.to_string());
            }
            Ok(ids)
        };
        read().map_err(|e| fail(&self.path, e))
    }

    /// Every indexed id.
    pub fn ids(&self) -> Result<BTreeSet<String>, IndexError> {
        let read = || -> Result<BTreeSet<String>, redb::Error> {
            let tx = self.db.begin_read()?;
            let messages = tx.open_table(MESSAGES)?;
            let mut ids = BTreeSet::new();
            for row in messages.iter()? {
                ids.insert(row?.0.value().to_string());
            }
            Ok(ids)
        };
        read().map_err(|e| fail(&self.path, e))
    }

    /// Brings the index in line with the files of `store`: what a crash
    /// left unindexed is added, entries whose file is gone are dropped.
    pub fn reconcile<S: Storage>(&self, store: &Store<S>) -> Result<Reconciled, IndexError> {
        let on_disk: BTreeSet<String> = store.ids()?.into_iter().collect();
        let indexed = self.ids()?;
        let mut result = Reconciled::default();
        let mut missing = Vec::new();
        for id in on_disk.difference(&indexed) {
            match store.load(id) {
                Ok((record, _)) if record.id == *id => missing.push(record),
                Ok(_) | Err(_) => {
                    tracing::warn!(id = %id, "quarantine file unreadable; left on disk, not listed");
                    result.damaged += 1;
                }
            }
        }
        result.added = missing.len();
        for chunk in missing.chunks(1_000) {
            self.insert(chunk)?;
        }
        let gone: Vec<String> = indexed.difference(&on_disk).cloned().collect();
        result.dropped = gone.len();
        self.remove(&gone)?;
        Ok(result)
    }
}

fn fail(path: &Path, source: redb::Error) -> IndexError {
    IndexError::Redb {
        path: path.to_path_buf(),
        source: Box::new(source),
    }
}

fn entry(
    messages: &impl ReadableTable<&'static str, &'static [u8]>,
    released: &impl ReadableMultimapTable<&'static str, &'static str>,
    id: &str,
) -> Result<Option<Entry>, redb::Error> {
    let Some(json) = messages.get(id)? else {
        return Ok(None);
    };
    let Ok(record) = serde_json::from_slice::<Record>(json.value()) else {
        return Ok(None);
    };
    let mut released_to = Vec::new();
    for r in released.get(id)? {
        released_to.push(r?.value().to_string());
    }
    Ok(Some(Entry {
        record,
        released_to,
    }))
}

fn insert_one(tx: &redb::WriteTransaction, record: &Record) -> Result<(), redb::Error> {
    let id = record.id.as_str();
    let json = serde_json::to_vec(record).expect("a record always serialises");
    let mut messages = tx.open_table(MESSAGES)?;
    if messages.insert(id, json.as_slice())?.is_some() {
        return Ok(());
    }
    tx.open_table(BY_TIME)?
        .insert((record.received_at, id), ())?;
    let mut by_recipient = tx.open_multimap_table(BY_RECIPIENT)?;
    for recipient in &record.recipients {
        by_recipient.insert(recipient.address.to_ascii_lowercase().as_str(), id)?;
    }
    tx.open_multimap_table(BY_SENDER)?
        .insert(record.sender.to_ascii_lowercase().as_str(), id)?;
    let mut by_rule = tx.open_multimap_table(BY_RULE)?;
    for hit in &record.rules {
        by_rule.insert(hit.rule.as_str(), id)?;
    }
    Ok(())
}

fn remove_one(tx: &redb::WriteTransaction, id: &str) -> Result<(), redb::Error> {
    let record = {
        let mut messages = tx.open_table(MESSAGES)?;
        let Some(json) = messages.remove(id)? else {
            return Ok(());
        };
        serde_json::from_slice::<Record>(json.value()).ok()
    };
    tx.open_multimap_table(RELEASED)?.remove_all(id)?;
    let Some(record) = record else {
        return Ok(());
    };
    tx.open_table(BY_TIME)?.remove((record.received_at, id))?;
    let mut by_recipient = tx.open_multimap_table(BY_RECIPIENT)?;
    for recipient in &record.recipients {
        by_recipient.remove(recipient.address.to_ascii_lowercase().as_str(), id)?;
    }
    tx.open_multimap_table(BY_SENDER)?
        .remove(record.sender.to_ascii_lowercase().as_str(), id)?;
    let mut by_rule = tx.open_multimap_table(BY_RULE)?;
    for hit in &record.rules {
        by_rule.remove(hit.rule.as_str(), id)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::record::tests::sample;
    use super::*;

    fn records() -> Vec<Record> {
        (0..5)
            .map(|i| {
                let mut r = sample(&format!("m{i}"));
                r.received_at = 1_000 + i;
                if i % 2 == 0 {
                    r.recipients.truncate(1);
                } else {
                    r.recipients.remove(0);
                }
                r.sender = format!("s{}@x.example", i % 2);
                if i == 3 {
                    r.rules[0].rule = "ATTACH_EXE".into();
                }
                r
            })
            .collect()
    }

    fn ids(entries: &[Entry]) -> Vec<&str> {
        entries.iter().map(|e| e.record.id.as_str()).collect()
    }

    #[test]
    fn lists_newest_first_and_filters_by_each_key() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(&dir.path().join("index.redb")).unwrap();
        index.insert(&records()).unwrap();
        let all = index.list(&Query::default()).unwrap();
        assert_eq!(ids(&all), ["m4", "m3", "m2", "m1", "m0"]);
        let q = |f: fn(&mut Query)| {
            let mut query = Query::default();
            f(&mut query);
            ids(&index.list(&query).unwrap())
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            q(|q| q.recipient = Some("ALICE@example.net".into())),
            ["m4", "m2", "m0"]
        );
        assert_eq!(q(|q| q.sender = Some("s1@x.example".into())), ["m3", "m1"]);
        assert_eq!(q(|q| q.rule = Some("ATTACH_EXE".into())), ["m3"]);
        assert!(q(|q| q.min_score = Some(9.6)).is_empty());
        assert_eq!(q(|q| q.min_score = Some(9.5)).len(), 5);
        assert_eq!(q(|q| q.since = Some(1_003)), ["m4", "m3"]);
        assert_eq!(index.older_than(1_002).unwrap(), ["m0", "m1"]);
        assert_eq!(q(|q| q.limit = 2), ["m4", "m3"]);
        assert_eq!(
            q(|q| {
                q.recipient = Some("bob@example.net".into());
                q.since = Some(1_002);
            }),
            ["m3"]
        );
    }

    #[test]
    fn inserting_twice_lists_once_and_remove_clears_every_key() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(&dir.path().join("index.redb")).unwrap();
        index.insert(&records()).unwrap();
        index.insert(&records()).unwrap();
        assert_eq!(index.list(&Query::default()).unwrap().len(), 5);
        index.remove(&["m3".to_string()]).unwrap();
        let q = Query {
            rule: Some("ATTACH_EXE".into()),
            ..Query::default()
        };
        assert!(index.list(&q).unwrap().is_empty());
        assert!(index.get("m3").unwrap().is_none());
        assert_eq!(index.list(&Query::default()).unwrap().len(), 4);
    }

    #[test]
    fn released_recipients_are_listed_with_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(&dir.path().join("index.redb")).unwrap();
        index.insert(&records()[..1]).unwrap();
        index.mark_released("m0", "Alice@Example.net").unwrap();
        assert_eq!(
            index.get("m0").unwrap().unwrap().released_to,
            ["alice@example.net"]
        );
    }

    #[test]
    fn reconcile_adds_unindexed_files_and_drops_entries_without_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 0).unwrap();
        let kept = records();
        let batch: Vec<(&Record, &[u8])> = kept[..3].iter().map(|r| (r, &b"m"[..])).collect();
        assert!(store.commit(&batch).iter().all(Result::is_ok));
        let index = Index::open(&dir.path().join("index.redb")).unwrap();
        index.insert(&kept[2..]).unwrap();
        let done = index.reconcile(&store).unwrap();
        assert_eq!(
            done,
            Reconciled {
                added: 2,
                dropped: 2,
                damaged: 0
            }
        );
        assert_eq!(
            ids(&index.list(&Query::default()).unwrap()),
            ["m2", "m1", "m0"]
        );
        assert_eq!(index.reconcile(&store).unwrap(), Reconciled::default());
    }

    #[test]
    fn a_lost_or_garbled_index_is_rebuilt_from_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 0).unwrap();
        let kept = records();
        let batch: Vec<(&Record, &[u8])> = kept.iter().map(|r| (r, &b"m"[..])).collect();
        assert!(store.commit(&batch).iter().all(Result::is_ok));
        let path = dir.path().join("index.redb");
        std::fs::write(&path, b"not a database at all").unwrap();
        let index = Index::open(&path).unwrap();
        assert_eq!(index.reconcile(&store).unwrap().added, 5);
        assert_eq!(index.list(&Query::default()).unwrap().len(), 5);
    }
}
