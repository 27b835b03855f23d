//! `ringwall train`: learns the operator's ham and spam into the
//! classifier's database (`[bayes] database`). When no daemon runs it opens
//! the file itself and writes the whole batch in one transaction; when a
//! daemon owns the file it sends each message to the daemon's admin
//! listener, which learns it and publishes the new table to its shards at
//! the end of the batch.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use thiserror::Error;

use crate::admin::{AdminClient, ClientError};
use crate::bayes::{Class, Database, Day, DbError, mailbox, train_mode};
use crate::config::Config;

/// Why training stopped.
#[derive(Debug, Error)]
pub enum TrainError {
    /// No database is configured.
    #[error(
        "[bayes] database is not set; fix: name the token database in the config, e.g. [bayes] database = \"/var/lib/ringwall/bayes.redb\""
    )]
    NoDatabase,
    /// The mode is not one ringwall knows.
    #[error("--mode {0}: expected everything, on-error or until-mature")]
    Mode(String),
    /// A mailbox could not be read.
    #[error("{0}")]
    Mailbox(#[from] mailbox::MailboxError),
    /// The database failed.
    #[error("{0}")]
    Database(#[from] DbError),
    /// The daemon that owns the database could not be asked.
    #[error("{0}")]
    Admin(#[from] ClientError),
    /// The summary could not be written.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

/// Messages past this size are not learned (they are not mail a filter
/// sees: the proxy's own default `max_message_size`).
const MAX_MESSAGE: usize = 50 * 1024 * 1024;

/// Where the messages go: the file, or the daemon that owns it.
enum Learner {
    Local(Database),
    Daemon(AdminClient),
}

/// Learns every message in `ham` and `spam` (maildirs, mboxes, message
/// files or directories of them) by `mode` and prints what it did.
pub fn train(
    config: &Config,
    ham: &[PathBuf],
    spam: &[PathBuf],
    mode: &str,
    out: &mut impl Write,
) -> Result<(), TrainError> {
    let path = config
        .bayes
        .database
        .as_deref()
        .ok_or(TrainError::NoDatabase)?;
    let train_mode = train_mode(mode).ok_or_else(|| TrainError::Mode(mode.to_string()))?;
    let mut learner = match Database::open(path) {
        Ok(db) => Learner::Local(db),
        Err(DbError::InUse(_)) => Learner::Daemon(AdminClient::for_config(config)?),
        Err(e) => return Err(e.into()),
    };
    let started = Instant::now();
    let day = Day::today();
    let mut tally: Vec<(String, u64)> = Vec::new();
    let mut failure: Option<TrainError> = None;
    for (paths, class) in [(ham, Class::Ham), (spam, Class::Spam)] {
        for dir in paths {
            mailbox::for_each_message(dir, MAX_MESSAGE, |_, raw| {
                if failure.is_some() {
                    return;
                }
                let outcome = match &mut learner {
                    Learner::Local(db) => db
                        .learn_message(raw, class, day, train_mode)
                        .map(|learned| learned.name().to_string())
                        .map_err(TrainError::from),
                    Learner::Daemon(client) => {
                        client.learn(mode, class, raw).map_err(TrainError::from)
                    }
                };
                match outcome {
                    Ok(word) => count(&mut tally, format!("{class} {word}")),
                    Err(e) => failure = Some(e),
                }
            })?;
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let summary = match &mut learner {
        Learner::Local(db) => {
            let pruned = db.prune(day);
            db.commit()?;
            let messages = db.store().messages();
            format!(
                "{path}: {} tokens ({pruned} rare idle ones pruned), {} spam and {} ham messages learned in all",
                db.store().len(),
                messages.spam,
                messages.ham,
                path = path.display()
            )
        }
        Learner::Daemon(client) => format!("daemon: {}", client.commit()?.trim()),
    };
    for (what, n) in &tally {
        writeln!(out, "{what}: {n}")?;
    }
    writeln!(out, "{summary}")?;
    writeln!(out, "took {:.2} s", started.elapsed().as_secs_f64())?;
    Ok(())
}

fn count(tally: &mut Vec<(String, u64)>, what: String) {
    match tally.iter_mut().find(|(seen, _)| *seen == what) {
        Some((_, n)) => *n += 1,
        None => tally.push((what, 1)),
    }
}
