//! New connections per client network per time window: the bot that opens
//! and closes connections in a loop never holds many at once, so the
//! concurrent count does not stop it. Postfix's anvil counts the same way (a
//! fixed window per client, `smtpd_client_connection_rate_limit` per
//! `anvil_rate_time_unit`).
//!
//! Pure: the caller passes the time, so the window arithmetic is tested
//! exactly. The owner shard of a client network keeps its windows (see
//! `registry`), so the limit holds across shards.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::shard::ClientKey;

/// `[server] max_connection_rate_per_ip` new connections per
/// `connection_rate_window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Connections admitted per window.
    pub connections: u32,
    /// The window's length.
    pub window: Duration,
}

/// The windows of the client networks one shard owns.
#[derive(Debug)]
pub struct ConnectionRate {
    limit: RateLimit,
    windows: HashMap<ClientKey, Window>,
    /// When expired windows are next dropped: memory follows the clients of
    /// the last window, never every client ever seen.
    next_sweep: Option<Instant>,
}

/// One client network's current window.
#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    admitted: u32,
}

impl ConnectionRate {
    /// No client seen yet.
    pub fn new(limit: RateLimit) -> ConnectionRate {
        ConnectionRate {
            limit,
            windows: HashMap::new(),
            next_sweep: None,
        }
    }

    /// Counts a new connection from `key` at `now`; false (and not counted)
    /// when the client already had its share of the current window.
    pub fn admit(&mut self, key: ClientKey, now: Instant) -> bool {
        self.sweep(now);
        let window = self.limit.window;
        let current = self.windows.entry(key).or_insert(Window {
            started: now,
            admitted: 0,
        });
        if now.saturating_duration_since(current.started) >= window {
            *current = Window {
                started: now,
                admitted: 0,
            };
        }
        if current.admitted >= self.limit.connections {
            return false;
        }
        current.admitted += 1;
        true
    }

    /// Client networks with a window in memory.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.windows.len()
    }

    fn sweep(&mut self, now: Instant) {
        if self.next_sweep.is_some_and(|at| now < at) {
            return;
        }
        let window = self.limit.window;
        self.windows
            .retain(|_, w| now.saturating_duration_since(w.started) < window);
        self.next_sweep = Some(now + window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: ClientKey = ClientKey::V4(0x7f00_0001);
    const B: ClientKey = ClientKey::V4(0x7f00_0002);

    fn rate(connections: u32) -> ConnectionRate {
        ConnectionRate::new(RateLimit {
            connections,
            window: Duration::from_secs(60),
        })
    }

    #[test]
    fn the_limit_holds_within_a_window_and_resets_after_it() {
        let mut rate = rate(3);
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(rate.admit(A, t0 + Duration::from_secs(i)), "connection {i}");
        }
        assert!(!rate.admit(A, t0 + Duration::from_secs(59)));
        assert!(rate.admit(B, t0 + Duration::from_secs(59)), "other clients");
        assert!(rate.admit(A, t0 + Duration::from_secs(60)), "a new window");
        assert!(rate.admit(A, t0 + Duration::from_secs(61)));
        assert!(rate.admit(A, t0 + Duration::from_secs(62)));
        assert!(!rate.admit(A, t0 + Duration::from_secs(63)));
    }

    #[test]
    fn refused_connections_do_not_extend_the_window() {
        let mut rate = rate(1);
        let t0 = Instant::now();
        assert!(rate.admit(A, t0));
        for s in 1..60 {
            assert!(!rate.admit(A, t0 + Duration::from_secs(s)));
        }
        assert!(rate.admit(A, t0 + Duration::from_secs(60)));
    }

    #[test]
    fn expired_windows_are_forgotten() {
        let mut rate = rate(5);
        let t0 = Instant::now();
        for ip in 0..1000 {
            assert!(rate.admit(ClientKey::V4(ip), t0));
        }
        assert_eq!(rate.tracked(), 1000);
        assert!(rate.admit(A, t0 + Duration::from_secs(61)));
        assert_eq!(rate.tracked(), 1, "only the client of the new window");
    }
}
