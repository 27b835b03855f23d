//! The quarantine as one owner sees it: the store, its index and the
//! secrets, with what reviewers do to them (list, show, release, delete,
//! purge), each review action written to the audit log.
//!
//! The daemon owns one (its shards write through their keepers; its index
//! thread and admin listener use this); the CLI opens one itself when no
//! daemon runs, and otherwise asks the daemon's admin API.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::index::{Entry, Index, IndexError, Query};
use super::record::Record;
use super::release::{Delivery, DeliveryError, deliver_all};
use super::secrets::Secrets;
use super::store::{Store, StoreError};
use crate::config::Config;
use crate::relay::ClientIdentity;
use crate::scan::message::{ScanLimits, analyse};

/// The index file inside the quarantine directory.
const INDEX_FILE: &str = "index.redb";

/// How many kept records the index thread writes per transaction at most.
const INDEX_BATCH: usize = 1_000;

/// How often the daemon's index thread removes messages past retention.
const PURGE_EVERY: Duration = Duration::from_secs(3_600);

/// Kept records waiting for the index thread; past it the index catches up
/// from the files instead (invariant 3: nothing unbounded).
const INDEX_QUEUE: usize = 16_384;

/// How often the index thread looks whether it must catch up or purge.
const INDEX_WAKE: Duration = Duration::from_secs(1);

/// The shards' way to the index thread: a bounded queue; a record that
/// does not fit is not lost (its file is durable), the index only notes
/// that it must catch up from the files.
#[derive(Debug, Clone)]
pub struct Indexer {
    sender: SyncSender<Record>,
    behind: Arc<AtomicBool>,
}

impl Indexer {
    /// Hands a kept record to the index thread, never waiting.
    pub fn offer(&self, record: Record) {
        if self.sender.try_send(record).is_err() {
            self.fell_behind();
        }
    }

    /// Tells the index thread to catch up from the files.
    fn fell_behind(&self) {
        self.behind.store(true, Ordering::Relaxed);
    }
}

/// Why a quarantine operation failed.
#[derive(Debug, Error)]
pub enum QuarantineError {
    /// `[quarantine] directory` is not set.
    #[error(
        "[quarantine] directory is not set; fix: name where quarantined messages are kept, e.g. [quarantine] directory = \"/var/lib/ringwall/quarantine\""
    )]
    NotConfigured,
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The index failed.
    #[error("{0}")]
    Index(#[from] IndexError),
    /// The secrets could not be read or made.
    #[error("{path}: {source}")]
    Secrets {
        /// The quarantine directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The message is not addressed to who asked to release it.
    #[error("{0} is not a recipient of this message")]
    NotRecipient(String),
    /// The recipient released their copy already.
    #[error("already released to {0}")]
    AlreadyReleased(String),
    /// A rule of an admin-only class hit it.
    #[error("only an administrator can release this message")]
    AdminOnly,
    /// The upstream did not take it; it stays in quarantine.
    #[error("not released: {0}")]
    Delivery(#[from] DeliveryError),
}

/// What `show` gives a reviewer: never the raw HTML or anything that
/// fetches or runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SafeView {
    /// The header section as text.
    pub headers: String,
    /// The text parts (or the text of the HTML parts), decoded.
    pub text: String,
    /// Links found, as text.
    pub links: Vec<String>,
    /// Attachments: name and detected type.
    pub attachments: Vec<String>,
}

/// A released message's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Released {
    /// The id.
    pub id: String,
    /// The recipients it went to.
    pub recipients: Vec<String>,
    /// The upstream's reply.
    pub upstream_reply: String,
    /// True when no copy is left to release (the message left the store).
    pub removed: bool,
}

/// One message as `list --json` and the API show it. The keys `id`,
/// `message_id`, `sender`, `recipients`, `score` and `received_at` are a
/// contract with tools outside the project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListItem {
    /// The quarantine id.
    pub id: String,
    /// The `Message-ID` header.
    pub message_id: String,
    /// The envelope sender (empty: the null sender).
    pub sender: String,
    /// The envelope recipients.
    pub recipients: Vec<String>,
    /// The total score.
    pub score: f64,
    /// When it was kept, seconds since the epoch.
    pub received_at: u64,
    /// The `Subject` header.
    pub subject: String,
    /// The `From` header.
    pub from: String,
    /// The rules that hit, `RULE=score`.
    pub rules: String,
    /// Recipients who released their copy already.
    pub released_to: Vec<String>,
}

impl From<&Entry> for ListItem {
    fn from(entry: &Entry) -> ListItem {
        let r = &entry.record;
        ListItem {
            id: r.id.clone(),
            message_id: r.message_id.clone(),
            sender: r.sender.clone(),
            recipients: r.recipients.iter().map(|x| x.address.clone()).collect(),
            score: r.score,
            received_at: r.received_at,
            subject: r.subject.clone(),
            from: r.from.clone(),
            rules: r.explanation(),
            released_to: entry.released_to.clone(),
        }
    }
}

/// One quarantine directory, opened.
pub struct Quarantine {
    config: Config,
    store: Arc<Store>,
    index: Mutex<Index>,
    secrets: Secrets,
    /// Serialises releases, so one message is never sent twice at once.
    releasing: Mutex<()>,
}

impl std::fmt::Debug for Quarantine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quarantine")
            .field("store", &self.store.root())
            .finish_non_exhaustive()
    }
}

impl Quarantine {
    /// Opens the quarantine of `config` and brings its index in line with
    /// the files (a crash may have left it behind). `IndexError::InUse` when
    /// a running daemon owns it.
    pub fn open(config: &Config) -> Result<Quarantine, QuarantineError> {
        let q = &config.quarantine;
        let dir = q.directory.as_ref().ok_or(QuarantineError::NotConfigured)?;
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.clone(),
            source,
        })?;
        // The index first: a running daemon holds it, and then nothing here
        // may touch its files (opening the store sweeps `tmp/`, where the
        // daemon's commits are in flight).
        let index = Index::open(&dir.join(INDEX_FILE))?;
        let store = Store::open(dir, q.min_free_space.0)?;
        let reconciled = index.reconcile(&store)?;
        if reconciled != Default::default() {
            tracing::info!(
                added = reconciled.added,
                dropped = reconciled.dropped,
                damaged = reconciled.damaged,
                "quarantine index brought in line with the message files"
            );
        }
        let secrets = Secrets::load(dir, config.admin.token.as_deref()).map_err(|source| {
            QuarantineError::Secrets {
                path: dir.clone(),
                source,
            }
        })?;
        Ok(Quarantine {
            config: config.clone(),
            store: Arc::new(store),
            index: Mutex::new(index),
            secrets,
            releasing: Mutex::new(()),
        })
    }

    /// The store the shards' keepers write to.
    pub fn store(&self) -> Arc<Store> {
        Arc::clone(&self.store)
    }

    /// The admin token and link key.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn index(&self) -> MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts the daemon's index thread: it indexes what the keepers kept
    /// (a batch per transaction), catches up from the files when records
    /// were dropped (a full queue) or an update failed, and purges past
    /// retention every hour. It ends when every [`Indexer`] is dropped.
    pub fn start_indexer(self: &Arc<Self>) -> std::io::Result<Indexer> {
        let (sender, receiver) = std::sync::mpsc::sync_channel(INDEX_QUEUE);
        let indexer = Indexer {
            sender,
            behind: Arc::new(AtomicBool::new(false)),
        };
        let quarantine = Arc::clone(self);
        let behind = Arc::clone(&indexer.behind);
        std::thread::Builder::new()
            .name("ringwall-quarantine".into())
            .spawn(move || quarantine.index_kept(&receiver, &behind))?;
        Ok(indexer)
    }

    fn index_kept(&self, receiver: &Receiver<Record>, behind: &AtomicBool) {
        let mut last_purge = std::time::Instant::now();
        loop {
            let first = match receiver.recv_timeout(INDEX_WAKE) {
                Ok(record) => Some(record),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let mut batch: Vec<Record> = first.into_iter().collect();
            while batch.len() < INDEX_BATCH {
                match receiver.try_recv() {
                    Ok(record) => batch.push(record),
                    Err(_) => break,
                }
            }
            if !batch.is_empty()
                && let Err(e) = self.index().insert(&batch)
            {
                tracing::error!(error = %e, "quarantine index not updated; it catches up from the files");
                behind.store(true, Ordering::Relaxed);
            }
            if behind.swap(false, Ordering::Relaxed) {
                match self.index().reconcile(&self.store) {
                    Ok(done) => tracing::info!(
                        added = done.added,
                        dropped = done.dropped,
                        "quarantine index caught up from the files"
                    ),
                    Err(e) => {
                        tracing::error!(error = %e, "quarantine index could not catch up; trying again");
                        behind.store(true, Ordering::Relaxed);
                    }
                }
            }
            if last_purge.elapsed() >= PURGE_EVERY {
                last_purge = std::time::Instant::now();
                if let Err(e) = self.purge("daemon") {
                    tracing::error!(error = %e, "quarantine purge failed");
                }
            }
        }
    }

    /// The messages `query` selects, newest first.
    pub fn list(&self, query: &Query) -> Result<Vec<Entry>, QuarantineError> {
        Ok(self.index().list(query)?)
    }

    /// Message `id`: its entry, the message as kept, and a safe view of it.
    /// Audited as a view by `who`.
    pub fn show(&self, id: &str, who: &str) -> Result<(Entry, Vec<u8>, SafeView), QuarantineError> {
        let (record, message) = self.store.load(id)?;
        let released_to = self.released_to(id)?;
        let view = safe_view(&message);
        audit("view", id, who, &[]);
        Ok((
            Entry {
                record,
                released_to,
            },
            message,
            view,
        ))
    }

    /// The recipients who released their copy of `id` already.
    fn released_to(&self, id: &str) -> Result<Vec<String>, QuarantineError> {
        Ok(self
            .index()
            .get(id)?
            .map(|e| e.released_to)
            .unwrap_or_default())
    }

    /// The message of `id` as kept (for training or export), unaudited.
    pub fn message(&self, id: &str) -> Result<Vec<u8>, QuarantineError> {
        Ok(self.store.load(id)?.1)
    }

    /// Sends message `id` to the upstream with its original envelope: to
    /// every recipient not yet served (`recipient: None`, an administrator),
    /// or to `recipient` alone (a recipient's own link: refused for
    /// admin-only classes). Once no copy is left to release, the message
    /// leaves the store. Audited.
    pub fn release(
        &self,
        id: &str,
        recipient: Option<&str>,
        who: &str,
    ) -> Result<Released, QuarantineError> {
        let _one_at_a_time = self.releasing.lock().unwrap_or_else(|p| p.into_inner());
        let (record, message) = self.store.load(id)?;
        let released_to = self.released_to(id)?;
        let pending: Vec<String> = record
            .recipients
            .iter()
            .map(|r| r.address.to_ascii_lowercase())
            .filter(|r| !released_to.contains(r))
            .collect();
        let targets: Vec<String> = match recipient {
            None => pending.clone(),
            Some(one) => {
                let one = one.to_ascii_lowercase();
                if !record.is_recipient(&one) {
                    return Err(QuarantineError::NotRecipient(one));
                }
                if record.has_class(&self.config.quarantine.admin_only) {
                    return Err(QuarantineError::AdminOnly);
                }
                if !pending.contains(&one) {
                    return Err(QuarantineError::AlreadyReleased(one));
                }
                vec![one]
            }
        };
        let (sender, params, recipients) =
            record
                .envelope(Some(&targets))
                .map_err(|e| StoreError::Damaged {
                    id: id.to_string(),
                    source: e,
                })?;
        let delivery = Delivery {
            identity: Some(ClientIdentity {
                addr: (record.client, record.client_port).into(),
                helo: record.helo.clone(),
                protocol: "ESMTP",
            }),
            sender,
            params,
            recipients,
            message,
        };
        let reply = deliver_all(&self.config, vec![delivery])
            .pop()
            .expect("one outcome per delivery")?;
        let removed = targets.len() == pending.len();
        if removed {
            self.store.remove(id)?;
            self.index().remove(&[id.to_string()])?;
        } else {
            for target in &targets {
                self.index().mark_released(id, target)?;
            }
        }
        audit("release", id, who, &targets);
        Ok(Released {
            id: id.to_string(),
            recipients: targets,
            upstream_reply: reply,
            removed,
        })
    }

    /// Removes message `id` from the store and the index. Audited.
    pub fn delete(&self, id: &str, who: &str) -> Result<(), QuarantineError> {
        match self.store.remove(id) {
            Ok(()) | Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let known = self.index().get(id)?.is_some();
        self.index().remove(&[id.to_string()])?;
        if !known {
            return Err(StoreError::NotFound(id.to_string()).into());
        }
        audit("delete", id, who, &[]);
        Ok(())
    }

    /// Removes every message older than `[quarantine] retention`; how many.
    pub fn purge(&self, who: &str) -> Result<usize, QuarantineError> {
        let cutoff = now().saturating_sub(self.config.quarantine.retention.0.as_secs());
        let old = self.index().older_than(cutoff)?;
        for id in &old {
            match self.store.remove(id) {
                Ok(()) | Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.index().remove(&old)?;
        if !old.is_empty() {
            tracing::info!(target: "ringwall::audit", action = "purge", count = old.len(), who = %who, "quarantine purged past retention");
        }
        Ok(old.len())
    }
}

/// Writes one audit line (target `ringwall::audit`): who did what to which
/// message. Fields only, no message text: `ringwall report` reads
/// `action=release` lines as false-positive releases.
pub fn audit(action: &str, id: &str, who: &str, recipients: &[String]) {
    tracing::info!(
        target: "ringwall::audit",
        action = %action,
        id = %id,
        who = %who,
        recipients = %recipients.join(","),
    );
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The text a reviewer may safely read: headers, decoded text (HTML
/// reduced to its text), links and attachments named, never rendered.
pub fn safe_view(message: &[u8]) -> SafeView {
    let analysis = analyse(message, &ScanLimits::default());
    let text = if analysis.body_text.trim().is_empty() {
        analysis.html_text
    } else {
        analysis.body_text
    };
    SafeView {
        headers: analysis.raw_headers,
        text,
        links: analysis.links.iter().map(|l| l.url.clone()).collect(),
        attachments: analysis
            .attachments
            .iter()
            .map(|a| {
                let name = a.name.as_deref().unwrap_or("(unnamed)");
                match a.sniffed {
                    Some(kind) => {
                        format!("{name} ({}, {kind:?}, {} octets)", a.declared_type, a.size)
                    }
                    None => format!("{name} ({}, {} octets)", a.declared_type, a.size),
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::record::tests::sample;
    use super::*;

    fn opened(records: &[Record]) -> (tempfile::TempDir, Quarantine) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 0).unwrap();
        let batch: Vec<(&Record, &[u8])> = records.iter().map(|r| (r, &b"m"[..])).collect();
        assert!(store.commit(&batch).iter().all(Result::is_ok));
        let mut config = Config::default();
        config.quarantine.directory = Some(dir.path().to_path_buf());
        config.quarantine.min_free_space = crate::config::ByteSize(0);
        let quarantine = Quarantine::open(&config).unwrap();
        (dir, quarantine)
    }

    #[test]
    fn the_index_thread_indexes_what_is_offered_and_catches_up_with_what_was_not() {
        let (dir, quarantine) = opened(&[]);
        let quarantine = Arc::new(quarantine);
        let indexer = quarantine.start_indexer().unwrap();
        let offered = sample("offered1");
        let store = Store::open(dir.path(), 0).unwrap();
        assert!(store.commit(&[(&offered, b"m")])[0].is_ok());
        indexer.offer(offered);
        // Kept but never offered, as when the queue was full.
        let dropped = sample("dropped1");
        assert!(store.commit(&[(&dropped, b"m")])[0].is_ok());
        indexer.fell_behind();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let ids: Vec<String> = quarantine
                .list(&Query::default())
                .unwrap()
                .into_iter()
                .map(|e| e.record.id)
                .collect();
            if ids.len() == 2 {
                assert!(
                    ids.contains(&"offered1".to_string()) && ids.contains(&"dropped1".to_string())
                );
                break;
            }
            assert!(std::time::Instant::now() < deadline, "index: {ids:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn a_second_opener_leaves_the_owners_files_alone() {
        let (dir, _owner) = opened(&[]);
        let in_flight = dir.path().join("tmp").join("commit1");
        std::fs::write(&in_flight, b"RWQ1 half").unwrap();
        let mut config = Config::default();
        config.quarantine.directory = Some(dir.path().to_path_buf());
        assert!(matches!(
            Quarantine::open(&config),
            Err(QuarantineError::Index(IndexError::InUse(_)))
        ));
        assert!(in_flight.exists(), "the owner's commit in flight was swept");
    }

    #[test]
    fn purge_removes_only_what_is_past_retention() {
        let mut old = sample("old1");
        old.received_at = now() - 31 * 86_400;
        let mut fresh = sample("fresh1");
        fresh.received_at = now() - 3_600;
        let (dir, quarantine) = opened(&[old, fresh]);
        assert_eq!(quarantine.purge("test").unwrap(), 1);
        let left: Vec<String> = quarantine
            .list(&Query::default())
            .unwrap()
            .into_iter()
            .map(|e| e.record.id)
            .collect();
        assert_eq!(left, ["fresh1"]);
        assert_eq!(
            Store::open(dir.path(), 0).unwrap().ids().unwrap(),
            ["fresh1"]
        );
        assert_eq!(quarantine.purge("test").unwrap(), 0);
    }

    #[test]
    fn a_recipient_cannot_release_an_admin_only_class_or_another_recipients_copy() {
        let mut malware = sample("mal1");
        malware.rules[0].class = "malware".into();
        let (_dir, quarantine) = opened(&[malware, sample("phish1")]);
        assert!(matches!(
            quarantine.release("mal1", Some("alice@example.net"), "link"),
            Err(QuarantineError::AdminOnly)
        ));
        assert!(matches!(
            quarantine.release("phish1", Some("eve@example.net"), "link"),
            Err(QuarantineError::NotRecipient(_))
        ));
        assert!(matches!(
            quarantine.delete("nothere", "test"),
            Err(QuarantineError::Store(StoreError::NotFound(_)))
        ));
        quarantine.delete("mal1", "test").unwrap();
        assert_eq!(quarantine.list(&Query::default()).unwrap().len(), 1);
    }

    #[test]
    fn the_safe_view_reduces_html_to_text_and_names_links() {
        let message = b"Subject: x\r\nContent-Type: text/html\r\n\r\n<p>Hello <script>alert(1)</script><a href=\"http://evil.example/x\">click</a></p>\r\n";
        let view = safe_view(message);
        assert!(view.text.contains("Hello"), "{view:?}");
        assert!(!view.text.contains("alert"), "{view:?}");
        assert_eq!(view.links, ["http://evil.example/x"]);
    }
}
