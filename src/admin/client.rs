//! The CLI's side of the admin listener: while a daemon owns the
//! classifier's database, `ringwall train` and `ringwall score --config`
//! talk to it over `[admin] listen` instead of opening the file.

use std::io::Read;
use std::net::SocketAddr;

use thiserror::Error;

use crate::bayes::{Class, Classifier, Snapshot};

/// Why the daemon could not be asked.
#[derive(Debug, Error)]
pub enum ClientError {
    /// No admin listener to ask.
    #[error(
        "the token database is in use by a running daemon, and [admin] listen is not set, so it cannot be asked; fix: set [admin] listen (and restart the daemon), or stop it"
    )]
    NoListener,
    /// The request failed (connection, HTTP status).
    #[error("admin listener {addr}: {reason}")]
    Request {
        /// The listener.
        addr: SocketAddr,
        /// What went wrong.
        reason: String,
    },
}

/// A daemon's admin listener.
pub struct AdminClient {
    addr: SocketAddr,
    agent: ureq::Agent,
}

impl AdminClient {
    /// A client for `listen` (`[admin] listen`), or why there is none.
    pub fn new(listen: Option<SocketAddr>) -> Result<AdminClient, ClientError> {
        let addr = listen.ok_or(ClientError::NoListener)?;
        Ok(AdminClient {
            addr,
            agent: ureq::AgentBuilder::new().build(),
        })
    }

    /// Sends one message to learn in `mode`; the daemon's answer (`new`,
    /// `corrected`, `already`).
    pub fn learn(&self, mode: &str, class: Class, message: &[u8]) -> Result<String, ClientError> {
        let url = format!("http://{}/bayes/learn/{mode}/{class}", self.addr);
        let response = self
            .agent
            .post(&url)
            .send_bytes(message)
            .map_err(|e| self.failed(e))?;
        let answer = response.into_string().map_err(|e| self.failed(e))?;
        Ok(answer.trim().to_string())
    }

    /// Ends a batch: the daemon writes it and publishes the new table; its
    /// JSON summary.
    pub fn commit(&self) -> Result<String, ClientError> {
        let url = format!("http://{}/bayes/commit", self.addr);
        let response = self.agent.post(&url).call().map_err(|e| self.failed(e))?;
        response.into_string().map_err(|e| self.failed(e))
    }

    /// The table the daemon's shards classify with.
    pub fn snapshot(&self, classifier: Classifier) -> Result<Snapshot, ClientError> {
        let url = format!("http://{}/bayes/snapshot", self.addr);
        let response = self.agent.get(&url).call().map_err(|e| self.failed(e))?;
        let mut bytes = Vec::new();
        response
            .into_reader()
            .read_to_end(&mut bytes)
            .map_err(|e| self.failed(e))?;
        Snapshot::from_bytes(&bytes, classifier).ok_or_else(|| ClientError::Request {
            addr: self.addr,
            reason: "the answer is not a token table".into(),
        })
    }

    fn failed(&self, error: impl std::fmt::Display) -> ClientError {
        ClientError::Request {
            addr: self.addr,
            reason: error.to_string(),
        }
    }
}
