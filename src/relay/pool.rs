//! The per-shard upstream connection pool.
//!
//! Opening an upstream connection costs a TCP handshake, a banner and an EHLO
//! round trip; a pool lets the next client session of this shard skip all three.
//! Connections are counted whether busy or idle, so `max_connections` bounds what
//! slow clients can hold on the upstream. No lock: a pool belongs to one shard.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::conn::{Announce, ClientIdentity, UpstreamConn, UpstreamTls};
use super::error::RelayError;
use crate::smtp::client::Capabilities;

/// How to reach and treat the upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamSettings {
    /// Addresses in failover order.
    pub addresses: Vec<SocketAddr>,
    /// The name we give in our own EHLO.
    pub helo_name: String,
    /// TCP connect bound per address.
    pub connect_timeout: Duration,
    /// Bound on each command's reply.
    pub reply_timeout: Duration,
    /// Bound on the end-of-data reply.
    pub data_timeout: Duration,
    /// Connections per shard, busy or idle.
    pub max_connections: u32,
    /// Idle connections kept for reuse.
    pub pool_idle: u32,
    /// How long an idle connection is kept.
    pub pool_idle_time: Duration,
    /// How the upstream learns the real client.
    pub announce: Announce,
}

/// A shard's upstream connections.
#[derive(Debug)]
pub struct Pool {
    settings: UpstreamSettings,
    tls: UpstreamTls,
    idle: RefCell<Vec<UpstreamConn>>,
    open: Cell<u32>,
    caps: RefCell<Option<Capabilities>>,
    caps_generation: Cell<u64>,
    reused: Cell<u64>,
    opened: Cell<u64>,
}

/// A connection lent to one client transaction. Dropping it closes the
/// connection; [`Lease::release`] returns it to the pool instead.
#[derive(Debug)]
pub struct Lease {
    conn: Option<UpstreamConn>,
    pool: Rc<Pool>,
    reused: bool,
}

impl Lease {
    /// The connection.
    pub fn conn(&mut self) -> &mut UpstreamConn {
        self.conn
            .as_mut()
            .expect("a lease holds its connection until released")
    }

    /// True when the connection came from the idle pool (so a failure on its
    /// first command may just mean the upstream closed it meanwhile).
    pub fn is_reused(&self) -> bool {
        self.reused
    }

    /// Returns a connection whose last transaction finished cleanly to the pool.
    pub fn release(mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.put_back(conn);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.conn.take().is_some() {
            self.pool.open.set(self.pool.open.get() - 1);
        }
    }
}

impl Pool {
    /// An empty pool; connections open on demand, upgraded as `tls` says.
    pub fn new(settings: UpstreamSettings, tls: UpstreamTls) -> Rc<Pool> {
        Rc::new(Pool {
            settings,
            tls,
            idle: RefCell::new(Vec::new()),
            open: Cell::new(0),
            caps: RefCell::new(None),
            caps_generation: Cell::new(0),
            reused: Cell::new(0),
            opened: Cell::new(0),
        })
    }

    /// The settings this pool was made with.
    pub fn settings(&self) -> &UpstreamSettings {
        &self.settings
    }

    /// The upstream's capabilities as last seen, and a generation number that
    /// changes whenever they do (so the shard can recompute what it advertises).
    pub fn capabilities(&self) -> (Option<Capabilities>, u64) {
        (self.caps.borrow().clone(), self.caps_generation.get())
    }

    /// Connections open now (busy and idle), opened in all, and reuses in all.
    pub fn stats(&self) -> (u32, u64, u64) {
        (self.open.get(), self.opened.get(), self.reused.get())
    }

    /// A connection for a transaction of `client`: a healthy idle one, else a
    /// new one (addresses tried in order), else [`RelayError::Busy`] at the
    /// bound. With XCLIENT, an idle connection that already speaks for another
    /// client is closed rather than reused: Postfix takes XCLIENT only from
    /// an authorised client, which that connection no longer is.
    pub async fn acquire(
        self: &Rc<Self>,
        client: Option<&ClientIdentity>,
    ) -> Result<Lease, RelayError> {
        let now = Instant::now();
        let xclient = self.settings.announce == Announce::Xclient;
        loop {
            let Some(conn) = self.idle.borrow_mut().pop() else {
                break;
            };
            let speaks_for_other =
                xclient && conn.speaks_for().is_some_and(|bound| Some(bound) != client);
            if !speaks_for_other
                && now.duration_since(conn.last_used()) < self.settings.pool_idle_time
                && conn.is_usable(now)
            {
                self.reused.set(self.reused.get() + 1);
                return Ok(Lease {
                    conn: Some(conn),
                    pool: Rc::clone(self),
                    reused: true,
                });
            }
            self.open.set(self.open.get() - 1);
        }
        self.connect().await
    }

    /// A new connection, bypassing the idle pool (used to retry after a reused
    /// connection turned out dead).
    pub async fn connect(self: &Rc<Self>) -> Result<Lease, RelayError> {
        if self.open.get() >= self.settings.max_connections {
            return Err(RelayError::Busy);
        }
        self.open.set(self.open.get() + 1);
        let s = &self.settings;
        let mut last_error = RelayError::Unreachable("no upstream address configured".into());
        for &addr in &s.addresses {
            let opened = UpstreamConn::open(
                addr,
                &s.helo_name,
                s.connect_timeout,
                s.reply_timeout,
                &self.tls,
            );
            match opened.await {
                Ok(conn) => {
                    self.opened.set(self.opened.get() + 1);
                    self.learn(conn.capabilities());
                    return Ok(Lease {
                        conn: Some(conn),
                        pool: Rc::clone(self),
                        reused: false,
                    });
                }
                Err(e) => {
                    tracing::warn!(upstream = %addr, error = %e, "upstream connection failed");
                    last_error = e;
                }
            }
        }
        self.open.set(self.open.get() - 1);
        Err(last_error)
    }

    /// Closes idle connections past their idle time (called from a shard timer).
    pub fn prune(&self, now: Instant) {
        let mut idle = self.idle.borrow_mut();
        let before = idle.len();
        idle.retain(|c| now.duration_since(c.last_used()) < self.settings.pool_idle_time);
        self.open
            .set(self.open.get() - (before - idle.len()) as u32);
    }

    /// Drops every idle connection (shutdown).
    pub fn clear(&self) {
        let n = self.idle.borrow_mut().drain(..).count() as u32;
        self.open.set(self.open.get() - n);
    }

    fn put_back(&self, conn: UpstreamConn) {
        let mut idle = self.idle.borrow_mut();
        if idle.len() < self.settings.pool_idle as usize {
            idle.push(conn);
        } else {
            self.open.set(self.open.get() - 1);
        }
    }

    fn learn(&self, caps: &Capabilities) {
        let mut known = self.caps.borrow_mut();
        if known.as_ref() != Some(caps) {
            *known = Some(caps.clone());
            self.caps_generation.set(self.caps_generation.get() + 1);
        }
    }
}
