//! What the shards count, gathered for `/metrics` without touching the
//! per-message path.
//!
//! Each shard counts in plain integers it alone owns ([`ShardMetrics`]
//! behind a `RefCell`) and, once a second, copies them into its own slot of
//! the [`MetricsBoard`]: one uncontended lock per shard per second, never one
//! per message. The admin thread renders the slots as Prometheus text, one
//! series per shard (a dashboard sums them; a lopsided shard shows).
//!
//! The text format is written here rather than through a Prometheus client
//! crate: those crates keep live metrics in atomics shared by every thread,
//! which is what the shards must not touch; all that is left is formatting
//! snapshots, a few lines of code.

use std::fmt::Write;
use std::sync::Mutex;

use crate::dns::Stats as DnsStats;
use crate::rbl::TriageStats;

/// One shard's counters (totals since start) and gauges (now).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShardMetrics {
    /// Client connections open now (gauge).
    pub connections_open: u32,
    /// Client connections accepted and greeted or refused by triage.
    pub connections_accepted: u64,
    /// Connections refused at connect, by the bound they crossed.
    pub connections_refused: ConnectionRefusals,
    /// Transactions that reached end of data, by outcome.
    pub transactions: TransactionOutcomes,
    /// Recipients refused or deferred by the client checks.
    pub recipients: RecipientRefusals,
    /// Upstream connections open now (gauge).
    pub upstream_open: u32,
    /// Upstream connections opened.
    pub upstream_opened: u64,
    /// Transactions that reused an idle upstream connection.
    pub upstream_reused: u64,
    /// The shard's DNS list triage, when zones are configured.
    pub triage: Option<TriageStats>,
    /// The shard's resolver, when it has one (DNS lists or reverse DNS).
    pub dns: Option<DnsStats>,
}

/// Connections refused at connect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionRefusals {
    /// `[server] max_connections_per_shard`.
    pub shard_full: u64,
    /// `[server] max_connections_per_ip`.
    pub client_limit: u64,
    /// `[server] max_connection_rate_per_ip`.
    pub client_rate: u64,
    /// Triage with `action = "drop"`: a listed client, a pregreet, a deny entry.
    pub triage: u64,
}

/// How transactions ended, as the transaction log names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransactionOutcomes {
    /// The upstream took the message: 250 to the client.
    pub relayed: u64,
    /// 4xx to the client: it retries.
    pub tempfail: u64,
    /// 5xx to the client.
    pub rejected: u64,
    /// The connection was closed with the reply.
    pub disconnected: u64,
    /// Accepted and dropped: the `discard` verdict.
    pub discarded: u64,
    /// Kept in quarantine (250 after the store made them durable).
    pub quarantined: u64,
}

/// Recipients the client checks turned away at RCPT.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecipientRefusals {
    /// 550 5.7.1: the client's list score (enforce), a deny entry, a pregreet.
    pub triage_refused: u64,
    /// 450 4.7.1: a fail-closed list could not be asked.
    pub triage_deferred: u64,
    /// 451 4.7.1: greylisted.
    pub greylisted: u64,
}

/// The slots the shards publish into and `/metrics` reads.
#[derive(Debug)]
pub struct MetricsBoard {
    shards: Box<[Mutex<ShardMetrics>]>,
    /// The rule stem of each zone, in zone order: the label of per-zone
    /// series (never the zone, which may hold a subscription key).
    zone_rules: Vec<String>,
}

/// The triage series with one value per shard: name, type, help, value.
type TriageSeries = (
    &'static str,
    &'static str,
    &'static str,
    fn(&TriageStats) -> u64,
);

const TRIAGE_SERIES: &[TriageSeries] = &[
    (
        "ringwall_rbl_cache_hits_total",
        "counter",
        "DNS list answers found in the shard's cache slice.",
        |s| s.cache.hits,
    ),
    (
        "ringwall_rbl_cache_misses_total",
        "counter",
        "DNS list answers not in the cache: asked.",
        |s| s.cache.misses,
    ),
    (
        "ringwall_rbl_cache_evictions_total",
        "counter",
        "Live cache entries dropped to stay within [rbl] cache_entries.",
        |s| s.cache.evictions,
    ),
    (
        "ringwall_rbl_cache_expirations_total",
        "counter",
        "Cache entries dropped because their TTL was up.",
        |s| s.cache.expirations,
    ),
    (
        "ringwall_rbl_pass_list_hits_total",
        "counter",
        "Clients that skipped their lookups because they passed recently.",
        |s| s.passed,
    ),
    (
        "ringwall_rbl_lookups_started_total",
        "counter",
        "Lookups started (one query per zone not cached).",
        |s| s.started,
    ),
    (
        "ringwall_rbl_lookups_joined_total",
        "counter",
        "Lookups that joined one already in flight for the same key (client address or link domain).",
        |s| s.joined,
    ),
    (
        "ringwall_rbl_lookups_in_flight",
        "gauge",
        "Lookups in flight now.",
        |s| s.in_flight as u64,
    ),
];

/// The resolver's series, one value per shard: name, type, help, value.
type DnsSeries = (
    &'static str,
    &'static str,
    &'static str,
    fn(&DnsStats) -> u64,
);

const DNS_SERIES: &[DnsSeries] = &[
    (
        "ringwall_dns_queries_total",
        "counter",
        "DNS queries sent, over UDP and TCP.",
        |s| s.queries_sent,
    ),
    (
        "ringwall_dns_timeouts_total",
        "counter",
        "DNS attempts that got no answer in time.",
        |s| s.timeouts,
    ),
    (
        "ringwall_dns_ignored_total",
        "counter",
        "Datagrams ignored as not the answer to a query (forged, late, wrong source).",
        |s| s.spoofed_ignored,
    ),
    (
        "ringwall_dns_tcp_fallbacks_total",
        "counter",
        "Truncated answers asked again over TCP.",
        |s| s.tcp_fallbacks,
    ),
    (
        "ringwall_dns_busy_total",
        "counter",
        "Lookups that found no in-flight slot ([dns] max_in_flight) in time.",
        |s| s.busy,
    ),
];

impl MetricsBoard {
    /// A board for `shards` shards, with `zone_rules` naming the zones in the
    /// order [`TriageStats`] counts them.
    pub fn new(shards: usize, zone_rules: Vec<String>) -> MetricsBoard {
        MetricsBoard {
            shards: (0..shards)
                .map(|_| Mutex::new(ShardMetrics::default()))
                .collect(),
            zone_rules,
        }
    }

    /// Replaces shard `shard`'s slot with its latest figures.
    pub fn publish(&self, shard: usize, metrics: ShardMetrics) {
        if let Some(slot) = self.shards.get(shard) {
            *slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = metrics;
        }
    }

    /// Every series in the Prometheus text exposition format (0.0.4).
    pub fn render(&self) -> String {
        let shards: Vec<ShardMetrics> = self
            .shards
            .iter()
            .map(|slot| {
                slot.lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .clone()
            })
            .collect();
        let mut out = Exposition::default();
        out.family(
            "ringwall_connections_open",
            "gauge",
            "Client connections open now.",
            &shards,
            |m, emit| emit(&[], m.connections_open.into()),
        );
        out.family(
            "ringwall_connections_accepted_total",
            "counter",
            "Client connections accepted.",
            &shards,
            |m, emit| emit(&[], m.connections_accepted),
        );
        out.family(
            "ringwall_connections_refused_total",
            "counter",
            "Client connections refused at connect, by the bound they crossed.",
            &shards,
            |m, emit| {
                let r = &m.connections_refused;
                emit(&[("reason", "shard_full")], r.shard_full);
                emit(&[("reason", "client_limit")], r.client_limit);
                emit(&[("reason", "client_rate")], r.client_rate);
                emit(&[("reason", "triage")], r.triage);
            },
        );
        out.family(
            "ringwall_transactions_total",
            "counter",
            "Transactions that reached end of data, by outcome.",
            &shards,
            |m, emit| {
                let t = &m.transactions;
                emit(&[("outcome", "relayed")], t.relayed);
                emit(&[("outcome", "tempfail")], t.tempfail);
                emit(&[("outcome", "rejected")], t.rejected);
                emit(&[("outcome", "disconnected")], t.disconnected);
                emit(&[("outcome", "discarded")], t.discarded);
                emit(&[("outcome", "quarantined")], t.quarantined);
            },
        );
        out.family(
            "ringwall_recipients_refused_total",
            "counter",
            "Recipients turned away at RCPT by the client checks.",
            &shards,
            |m, emit| {
                let r = &m.recipients;
                emit(&[("reason", "triage")], r.triage_refused);
                emit(&[("reason", "triage_deferred")], r.triage_deferred);
                emit(&[("reason", "greylisted")], r.greylisted);
            },
        );
        out.family(
            "ringwall_upstream_connections_open",
            "gauge",
            "Upstream connections open now.",
            &shards,
            |m, emit| emit(&[], m.upstream_open.into()),
        );
        out.family(
            "ringwall_upstream_connections_opened_total",
            "counter",
            "Upstream connections opened.",
            &shards,
            |m, emit| emit(&[], m.upstream_opened),
        );
        out.family(
            "ringwall_upstream_connections_reused_total",
            "counter",
            "Transactions that reused an idle upstream connection.",
            &shards,
            |m, emit| emit(&[], m.upstream_reused),
        );
        if shards.iter().any(|m| m.triage.is_some()) {
            self.render_triage(&mut out, &shards);
        }
        if shards.iter().any(|m| m.dns.is_some()) {
            for (name, kind, help, value) in DNS_SERIES {
                out.family(name, kind, help, &shards, |m, emit| {
                    if let Some(stats) = &m.dns {
                        emit(&[], value(stats));
                    }
                });
            }
        }
        out.text
    }

    fn render_triage(&self, out: &mut Exposition, shards: &[ShardMetrics]) {
        for (name, kind, help, value) in TRIAGE_SERIES {
            out.family(name, kind, help, shards, |m, emit| {
                if let Some(stats) = &m.triage {
                    emit(&[], value(stats));
                }
            });
        }
        let rules = &self.zone_rules;
        out.family(
            "ringwall_rbl_zone_errors_total",
            "counter",
            "Error answers per zone (error codes, 127.0.0.1, outside 127/8): never listings.",
            shards,
            |m, emit| {
                if let Some(stats) = &m.triage {
                    for (rule, errors) in rules.iter().zip(&stats.zone_errors) {
                        emit(&[("zone", rule)], *errors);
                    }
                }
            },
        );
        out.family(
            "ringwall_rbl_zone_healthy",
            "gauge",
            "1 unless the zone answered an error within the last minute.",
            shards,
            |m, emit| {
                if let Some(stats) = &m.triage {
                    for (rule, unhealthy) in rules.iter().zip(&stats.unhealthy) {
                        emit(&[("zone", rule)], u64::from(!unhealthy));
                    }
                }
            },
        );
    }
}

/// The text being written.
#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    /// One metric family: its HELP and TYPE lines, then a sample per shard
    /// (and per extra label set) that `samples` emits.
    fn family(
        &mut self,
        name: &str,
        kind: &str,
        help: &str,
        shards: &[ShardMetrics],
        samples: impl Fn(&ShardMetrics, &mut dyn FnMut(&[(&str, &str)], u64)),
    ) {
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
        for (shard, metrics) in shards.iter().enumerate() {
            samples(metrics, &mut |labels, value| {
                let _ = write!(self.text, "{name}{{shard=\"{shard}\"");
                for (key, label) in labels {
                    // Label values here are fixed words and rule names
                    // ([A-Z0-9_]), which need no escaping.
                    let _ = write!(self.text, ",{key}=\"{label}\"");
                }
                let _ = writeln!(self.text, "}} {value}");
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_shard_is_a_series_and_families_say_their_type() {
        let board = MetricsBoard::new(2, Vec::new());
        board.publish(
            0,
            ShardMetrics {
                connections_open: 3,
                transactions: TransactionOutcomes {
                    relayed: 7,
                    ..TransactionOutcomes::default()
                },
                ..ShardMetrics::default()
            },
        );
        board.publish(
            1,
            ShardMetrics {
                connections_open: 1,
                ..ShardMetrics::default()
            },
        );
        let text = board.render();
        assert!(text.contains(
            "# HELP ringwall_connections_open Client connections open now.\n\
             # TYPE ringwall_connections_open gauge\n\
             ringwall_connections_open{shard=\"0\"} 3\n\
             ringwall_connections_open{shard=\"1\"} 1\n"
        ));
        assert!(text.contains("ringwall_transactions_total{shard=\"0\",outcome=\"relayed\"} 7\n"));
        assert!(text.contains("ringwall_transactions_total{shard=\"1\",outcome=\"relayed\"} 0\n"));
        assert!(
            !text.contains("ringwall_rbl_"),
            "no zones, no triage series"
        );
    }

    #[test]
    fn zones_are_labelled_by_rule_never_by_zone() {
        let board = MetricsBoard::new(1, vec!["RBL_ZEN".into(), "RWL_DNSWL".into()]);
        board.publish(
            0,
            ShardMetrics {
                triage: Some(TriageStats {
                    zone_errors: vec![4, 0],
                    unhealthy: vec![true, false],
                    in_flight: 2,
                    ..TriageStats::default()
                }),
                ..ShardMetrics::default()
            },
        );
        let text = board.render();
        assert!(text.contains("ringwall_rbl_zone_errors_total{shard=\"0\",zone=\"RBL_ZEN\"} 4\n"));
        assert!(text.contains("ringwall_rbl_zone_healthy{shard=\"0\",zone=\"RBL_ZEN\"} 0\n"));
        assert!(text.contains("ringwall_rbl_zone_healthy{shard=\"0\",zone=\"RWL_DNSWL\"} 1\n"));
        assert!(text.contains("ringwall_rbl_lookups_in_flight{shard=\"0\"} 2\n"));
    }

    #[test]
    fn the_resolver_is_counted_without_any_zone() {
        let board = MetricsBoard::new(1, Vec::new());
        let dns = DnsStats {
            queries_sent: 5,
            ..DnsStats::default()
        };
        board.publish(
            0,
            ShardMetrics {
                dns: Some(dns),
                ..ShardMetrics::default()
            },
        );
        let text = board.render();
        assert!(
            text.contains("ringwall_dns_queries_total{shard=\"0\"} 5\n"),
            "{text}"
        );
        assert!(!text.contains("ringwall_rbl_"), "{text}");
    }

    #[test]
    fn every_sample_line_is_well_formed() {
        let board = MetricsBoard::new(2, vec!["RBL_ZEN".into()]);
        board.publish(
            1,
            ShardMetrics {
                triage: Some(TriageStats::default()),
                ..ShardMetrics::default()
            },
        );
        for line in board.render().lines() {
            if let Some(comment) = line.strip_prefix("# ") {
                assert!(
                    comment.starts_with("HELP ringwall_") || comment.starts_with("TYPE ringwall_")
                );
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect(line);
            assert!(value.parse::<u64>().is_ok(), "{line}");
            assert!(
                series.starts_with("ringwall_") && series.ends_with("\"}"),
                "{line}"
            );
        }
    }
}
