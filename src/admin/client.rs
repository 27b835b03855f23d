//! The CLI's side of the admin listener: while a daemon owns the
//! classifier's database, `ringwall train` and `ringwall score --config`
//! talk to it over `[admin] listen` instead of opening the file.

use std::io::Read;
use std::net::SocketAddr;

use thiserror::Error;

use crate::bayes::{Class, Classifier, Snapshot};
use crate::config::Config;
use crate::quarantine::secrets::admin_token;
use crate::quarantine::{ListItem, Query};

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
    token: Option<String>,
    agent: ureq::Agent,
}

impl AdminClient {
    /// A client for `listen` (`[admin] listen`) that presents `token` (the
    /// admin token, which the daemon asks for once a quarantine exists),
    /// or why there is none.
    pub fn new(
        listen: Option<SocketAddr>,
        token: Option<String>,
    ) -> Result<AdminClient, ClientError> {
        let addr = listen.ok_or(ClientError::NoListener)?;
        Ok(AdminClient {
            addr,
            token,
            agent: ureq::AgentBuilder::new().build(),
        })
    }

    /// The client of the daemon `config` describes: its admin listener and
    /// admin token (`[admin] token`, or the one the daemon generated in its
    /// quarantine directory).
    pub fn for_config(config: &Config) -> Result<AdminClient, ClientError> {
        AdminClient::new(config.admin.listen, admin_token(config))
    }

    /// `method path`, with the admin token when there is one.
    fn request(&self, method: &str, path: &str) -> ureq::Request {
        let request = self
            .agent
            .request(method, &format!("http://{}{path}", self.addr));
        match &self.token {
            Some(token) => request.set("Authorization", &format!("Bearer {token}")),
            None => request,
        }
    }

    /// Sends one message to learn in `mode`; the daemon's answer (`new`,
    /// `corrected`, `already`).
    pub fn learn(&self, mode: &str, class: Class, message: &[u8]) -> Result<String, ClientError> {
        let response = self
            .request("POST", &format!("/bayes/learn/{mode}/{class}"))
            .send_bytes(message)
            .map_err(|e| self.failed(e))?;
        let answer = response.into_string().map_err(|e| self.failed(e))?;
        Ok(answer.trim().to_string())
    }

    /// Ends a batch: the daemon writes it and publishes the new table; its
    /// JSON summary.
    pub fn commit(&self) -> Result<String, ClientError> {
        let response = self
            .request("POST", "/bayes/commit")
            .call()
            .map_err(|e| self.failed(e))?;
        response.into_string().map_err(|e| self.failed(e))
    }

    /// The table the daemon's shards classify with.
    pub fn snapshot(&self, classifier: Classifier) -> Result<Snapshot, ClientError> {
        let response = self
            .request("GET", "/bayes/snapshot")
            .call()
            .map_err(|e| self.failed(e))?;
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

    /// The daemon's quarantine list for `query`.
    pub fn quarantine_list(&self, query: &Query) -> Result<Vec<ListItem>, ClientError> {
        let mut request = self.request("GET", "/api/quarantine");
        let pairs = [
            ("recipient", query.recipient.clone()),
            ("sender", query.sender.clone()),
            ("rule", query.rule.clone()),
            ("min_score", query.min_score.map(|s| s.to_string())),
            ("since", query.since.map(|s| s.to_string())),
            ("limit", (query.limit > 0).then(|| query.limit.to_string())),
        ];
        for (key, value) in pairs {
            if let Some(value) = value {
                request = request.query(key, &value);
            }
        }
        let response = request.call().map_err(|e| self.failed(e))?;
        serde_json::from_reader(response.into_reader()).map_err(|e| self.failed(e))
    }

    /// A quarantine API call: `GET` or `POST` of `path` (under
    /// `/api/quarantine`), its body; a refusal's own text as the error.
    pub fn quarantine_call(&self, method: &str, path: &str) -> Result<Vec<u8>, ClientError> {
        let response = self
            .request(method, &format!("/api/quarantine{path}"))
            .call()
            .map_err(|e| match e {
                ureq::Error::Status(_, response) => self.failed(
                    response
                        .into_string()
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                ),
                e => self.failed(e),
            })?;
        let mut body = Vec::new();
        response
            .into_reader()
            .read_to_end(&mut body)
            .map_err(|e| self.failed(e))?;
        Ok(body)
    }

    fn failed(&self, error: impl std::fmt::Display) -> ClientError {
        ClientError::Request {
            addr: self.addr,
            reason: error.to_string(),
        }
    }
}
