//! ringwall: an anti-spam SMTP proxy appliance.
//!
//! The rooms, each behind its `mod.rs`: `smtp` (the pure protocol core),
//! `config`, `server` (the glommio shell), `relay` (upstream forwarding),
//! `policy` (stage verdicts and the message verdict), `dns` (lookups over
//! glommio sockets), `rbl` (DNS list triage), `scan` (content analysis),
//! `bayes` (the statistical classifier), `score` (offline verdicts),
//! `train` (teaching the classifier), `report` (operators' reports from
//! the log), `admin` (logs, metrics). See ARCHITECTURE.md for how data flows between
//! them.

pub mod admin;
pub mod bayes;
pub mod config;
pub mod demo;
pub mod dns;
pub mod html;
pub mod policy;
pub mod published;
pub mod quarantine;
pub mod rbl;
pub mod relay;
pub mod report;
pub mod rulecheck;
pub mod scan;
pub mod score;
pub mod server;
pub mod smtp;
pub mod tls;
pub mod train;
