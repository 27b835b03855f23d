//! The client's reverse DNS: its PTR host name, looked up at connect beside
//! its DNS list lookups, and whether that name leads back to the address
//! (forward-confirmed reverse DNS). The content verdict's header rules read
//! the outcome at end of data; by then the lookup has long finished, so it
//! costs a message no wait.
//!
//! The answers are not cached here: the local recursive resolver every
//! appliance runs (see `[dns] resolvers`) caches them by their TTL.

use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use glommio::task::JoinHandle;

use super::deadline::within;
use crate::dns::{Answer, RecordData, RecordKind, Resolver, ptr_name};
use crate::scan::headers::ReverseDns;

/// One connection's reverse lookup, started at connect.
pub struct ReverseLookup {
    state: State,
    deadline: Instant,
}

enum State {
    Running(JoinHandle<ReverseDns>),
    Done(ReverseDns),
}

impl ReverseLookup {
    /// Starts looking `client` up through `resolver`; with no resolver the
    /// outcome is [`ReverseDns::Unknown`] at once.
    pub fn start(resolver: Option<&Rc<Resolver>>, client: IpAddr, budget: Duration) -> Self {
        let state = match resolver {
            Some(resolver) => {
                let resolver = Rc::clone(resolver);
                State::Running(
                    glommio::spawn_local(async move { look_up(&resolver, client).await }).detach(),
                )
            }
            None => State::Done(ReverseDns::Unknown),
        };
        ReverseLookup {
            state,
            deadline: Instant::now() + budget,
        }
    }

    /// The outcome, waiting at most until the budget from connect runs out;
    /// a lookup still running then is [`ReverseDns::Unknown`].
    pub async fn outcome(&mut self) -> ReverseDns {
        if let State::Running(task) = &mut self.state {
            self.state = State::Done(within(self.deadline, task).await.unwrap_or_default());
        }
        match &self.state {
            State::Done(reverse) => reverse.clone(),
            State::Running(_) => unreachable!("concluded above"),
        }
    }
}

/// PTR, then the first host name's A or AAAA records (the client's family).
async fn look_up(resolver: &Resolver, client: IpAddr) -> ReverseDns {
    let client = client.to_canonical();
    let host = match resolver.lookup(&ptr_name(client), RecordKind::Ptr).await {
        Ok(Answer::NxDomain { .. } | Answer::NoData { .. }) => return ReverseDns::Missing,
        Ok(Answer::Records { records, .. }) => {
            records.into_iter().find_map(|record| match record {
                RecordData::Ptr(host) if !host.is_empty() => Some(host),
                _ => None,
            })
        }
        _ => None,
    };
    let Some(host) = host else {
        return ReverseDns::Unknown;
    };
    let kind = match client {
        IpAddr::V4(_) => RecordKind::A,
        IpAddr::V6(_) => RecordKind::Aaaa,
    };
    let confirmed = match resolver.lookup(&host, kind).await {
        Ok(Answer::Records { records, .. }) => records.iter().any(|record| match record {
            RecordData::A(a) => IpAddr::V4(*a) == client,
            RecordData::Aaaa(aaaa) => IpAddr::V6(*aaaa) == client,
            _ => false,
        }),
        Ok(Answer::NxDomain { .. } | Answer::NoData { .. }) => false,
        // The forward lookup failed: the name may well lead back.
        _ => return ReverseDns::Unknown,
    };
    ReverseDns::Name { host, confirmed }
}
