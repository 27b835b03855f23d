//! The configuration schema: every key an operator can write, with its default.
//!
//! The names here are a contract with tools outside the project (`[server] listen`,
//! `hostname`, `shards`, `max_message_size`, `[upstream] address`, `xforward`,
//! `[domains] accept`, `[server] proxy_protocol_from`, `[tls] certificate` and
//! `private_key`, `[dns] resolvers`, `[[dnsbl]] zone` and `weight`, `[rbl]
//! reject_threshold` are fixed); rename nothing without a deprecation path.
//! Unknown keys are errors (`deny_unknown_fields`) so a typo never silently falls
//! back to a default.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

use super::units::{ByteSize, HumanDuration};
use crate::policy::{Action, RuleClass};
use crate::rbl::{KeyMode, Preset};

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Listeners, identity and connection-level limits.
    pub server: ServerConfig,
    /// The real mail server behind the proxy.
    pub upstream: UpstreamConfig,
    /// Recipient domains we relay for: the open-relay guard.
    pub domains: DomainsConfig,
    /// Protocol bounds (invariant 3: everything is bounded).
    pub limits: LimitsConfig,
    /// Idle and total time bounds per session state.
    pub timeouts: TimeoutsConfig,
    /// Transaction log format and verbosity.
    pub log: LogConfig,
    /// The certificate STARTTLS presents; STARTTLS is offered only when set.
    pub tls: TlsConfig,
    /// The recursive resolvers DNS lookups go to, and how they are asked.
    pub dns: DnsConfig,
    /// Connection triage: what the DNSBL/DNSWL score leads to.
    pub rbl: RblConfig,
    /// Greylisting at RCPT, off by default.
    pub greylist: GreylistConfig,
    /// `[[dnsbl]]`: blocklists, each listing adding its weight.
    pub dnsbl: Vec<ZoneConfig>,
    /// `[[dnswl]]`: allowlists, each listing subtracting (weights written negative).
    pub dnswl: Vec<ZoneConfig>,
    /// The operators' listener: metrics and health.
    pub admin: AdminConfig,
    /// Where `ringwall report` and the admin listener's `/report` read the
    /// daemon's log.
    pub report: ReportConfig,
    /// Content analysis: which rules judge a message, within what time.
    pub content: ContentConfig,
    /// The thresholds and actions of the default policy class.
    pub scoring: ScoringConfig,
    /// `[[policy]]`: recipient domains and addresses with their own
    /// thresholds and actions.
    pub policy: Vec<PolicyConfig>,
    /// Senders always accepted or always refused.
    pub senders: SendersConfig,
    /// The statistical classifier.
    pub bayes: BayesConfig,
    /// Where quarantined messages are kept for review.
    pub quarantine: QuarantineConfig,
}

/// `[quarantine]`: messages whose verdict is `quarantine` are written here,
/// durably, before the client hears 250, and wait for an administrator (or
/// their recipient, through a signed link) to release or delete them.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct QuarantineConfig {
    /// The store: one file per message under hashed subdirectories, and the
    /// index beside them. Unset: a quarantine verdict relays the message
    /// tagged (nothing is ever dropped for want of a store).
    pub directory: Option<PathBuf>,
    /// Below this much free space on the store's file system a quarantine
    /// verdict becomes 451 4.3.1 (the client retries later) rather than a
    /// message that cannot be kept.
    pub min_free_space: ByteSize,
    /// How long a message stays before `purge` (run daily by the daemon)
    /// removes it.
    pub retention: HumanDuration,
    /// The base URL recipients' release links start with (the user-facing
    /// listener as the world reaches it, e.g. behind a reverse proxy).
    pub public_url: Option<String>,
    /// Where the user-facing listener (signed release links only) is bound;
    /// none when unset.
    pub public_listen: Option<SocketAddr>,
    /// How long a signed release link works.
    pub link_lifetime: HumanDuration,
    /// Rule classes whose messages only an administrator may release.
    pub admin_only: Vec<RuleClass>,
    /// The sender of digests; unset: `postmaster@` the server's hostname.
    pub digest_from: Option<String>,
}

impl Default for QuarantineConfig {
    fn default() -> Self {
        QuarantineConfig {
            directory: None,
            min_free_space: ByteSize(1024 * 1024 * 1024),
            retention: HumanDuration(Duration::from_secs(30 * 86_400)),
            public_url: None,
            public_listen: None,
            link_lifetime: HumanDuration(Duration::from_secs(14 * 86_400)),
            admin_only: vec![RuleClass::Malware, RuleClass::Executable],
            digest_from: None,
        }
    }
}

/// `[bayes]`: the statistical classifier, trained on the operator's own mail
/// (`ringwall train`). Off until a database is named: an untrained
/// classifier knows nothing.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BayesConfig {
    /// The token database (an embedded redb file), created by the first
    /// `ringwall train`; owned by the daemon while it runs.
    pub database: Option<PathBuf>,
    /// Learn from the daemon's own verdicts: a message the other rules
    /// score at or over `autolearn_spam` as spam, at or under
    /// `autolearn_ham` as ham. Off: a filter that teaches itself also
    /// teaches itself its mistakes, which only clear-cut scores limit.
    pub autolearn: bool,
    /// The score (BAYES_* left out) a message needs to be learned as spam.
    pub autolearn_spam: f64,
    /// The score (BAYES_* left out) at or under which it is learned as ham.
    pub autolearn_ham: f64,
}

impl Default for BayesConfig {
    fn default() -> Self {
        BayesConfig {
            database: None,
            autolearn: false,
            autolearn_spam: 12.0,
            autolearn_ham: 0.0,
        }
    }
}

/// `[content]`: the scan every message that reaches end of data gets.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ContentConfig {
    /// Scan messages at all (off: every message is relayed unjudged).
    pub enabled: bool,
    /// Use the rule pack built into the binary (`rules/` of the source).
    pub builtin_rules: bool,
    /// Rule files (TOML) loaded after the built-in pack; re-read on SIGHUP.
    pub rules: Vec<PathBuf>,
    /// Time one message's scan may take; past it the remaining checks are
    /// skipped, and the verdict names them.
    pub budget: HumanDuration,
    /// Checks whose skipping defers the message (451 4.7.1) rather than
    /// letting it through unchecked.
    pub fail_closed: Vec<crate::scan::Check>,
    /// Distinct link domains per message asked about in the domain-keyed
    /// `[[dnsbl]]` zones (URIBL, SURBL, DBL); 0: none.
    pub link_lookups: u32,
    /// How long those lookups may take once the message is complete; a
    /// zone that has not answered by then counts as failed (its
    /// `fail_open` decides).
    pub link_lookup_budget: HumanDuration,
}

impl Default for ContentConfig {
    fn default() -> Self {
        ContentConfig {
            enabled: true,
            builtin_rules: true,
            rules: Vec::new(),
            budget: HumanDuration(Duration::from_millis(500)),
            fail_closed: Vec::new(),
            link_lookups: 20,
            link_lookup_budget: HumanDuration(Duration::from_millis(300)),
        }
    }
}

/// `[scoring]`: the default policy class. A message at or above a threshold
/// gets its action; of the thresholds reached, the highest wins.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ScoringConfig {
    /// Relay with `X-Spam-Flag: YES` at or above.
    pub tag: f64,
    /// Keep in quarantine at or above.
    pub quarantine: f64,
    /// Refuse with 550 5.7.1 at or above.
    pub reject: f64,
    /// Refuse with 451 4.7.1 at or above (unset: never).
    pub tempfail: Option<f64>,
    /// Accept and drop at or above (unset: never; opt-in).
    pub discard: Option<f64>,
    /// Put in front of a tagged message's Subject (unset: the Subject is
    /// left alone, which keeps DKIM signatures valid).
    pub subject_prefix: Option<String>,
    /// Actions some rule classes force whatever the score.
    pub actions: BTreeMap<RuleClass, Action>,
    /// Scores that replace a rule's own (`RULE_NAME = 2.5`; 0 switches a
    /// rule off).
    pub scores: BTreeMap<String, f64>,
}

impl Default for ScoringConfig {
    fn default() -> Self {
        ScoringConfig {
            tag: 5.0,
            quarantine: 8.0,
            reject: 15.0,
            tempfail: None,
            discard: None,
            subject_prefix: None,
            actions: BTreeMap::from([
                (RuleClass::Executable, Action::Reject),
                (RuleClass::Malware, Action::Reject),
            ]),
            scores: BTreeMap::new(),
        }
    }
}

/// One `[[policy]]` class: what it leaves out comes from `[scoring]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// The name the logs use.
    pub name: String,
    /// Recipient domains in this class.
    pub domains: Vec<String>,
    /// Recipient addresses in this class (they win over `domains`).
    pub recipients: Vec<String>,
    /// See [`ScoringConfig::tag`].
    pub tag: Option<f64>,
    /// See [`ScoringConfig::quarantine`].
    pub quarantine: Option<f64>,
    /// See [`ScoringConfig::reject`].
    pub reject: Option<f64>,
    /// See [`ScoringConfig::tempfail`].
    pub tempfail: Option<f64>,
    /// See [`ScoringConfig::discard`].
    pub discard: Option<f64>,
    /// See [`ScoringConfig::subject_prefix`].
    pub subject_prefix: Option<String>,
    /// Class actions added to (or replacing those of) `[scoring] actions`.
    pub actions: BTreeMap<RuleClass, Action>,
}

/// `[senders]`: envelope senders decided before any scoring. An entry is an
/// address (`news@example.com`), a domain with its subdomains
/// (`example.com`), or a domain alone (`@example.com`).
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SendersConfig {
    /// Never tagged or refused by score (class actions still apply: a
    /// sender is easily forged, an executable is not made safe by it).
    pub allow: Vec<String>,
    /// Refused with 550 5.7.1 at end of data.
    pub block: Vec<String>,
}

/// `[admin]`: the listener for operators, kept off the SMTP shards (it runs
/// on a thread of its own).
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Where `/metrics` (Prometheus text) and `/healthz` are served; no
    /// listener when unset. Metrics have no authentication: bind it to
    /// loopback or a management network.
    pub listen: Option<SocketAddr>,
    /// The secret the quarantine's review page and API ask for (bearer
    /// token, or typed once into the page's login form). Unset: a random
    /// one is created in the quarantine directory (`admin-token`, mode
    /// 0600), which the CLI on the same machine reads.
    pub token: Option<String>,
}

/// `[report]`: the daemon's own log, read back for operators' reports. The
/// daemon writes it to stderr, so where it lands is the service manager's
/// business; this says where that is.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ReportConfig {
    /// Files holding the daemon's log lines (absolute paths), read in
    /// order; empty: `ringwall report` reads standard input and `/report`
    /// says how to configure this.
    pub logs: Vec<PathBuf>,
}

/// `[tls]`: the server certificate for STARTTLS.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain, leaf first. Re-read on SIGHUP.
    pub certificate: Option<PathBuf>,
    /// PEM private key of the leaf certificate. Re-read on SIGHUP.
    pub private_key: Option<PathBuf>,
}

impl TlsConfig {
    /// Both files, when STARTTLS is configured.
    pub fn files(&self) -> Option<(&std::path::Path, &std::path::Path)> {
        Some((self.certificate.as_deref()?, self.private_key.as_deref()?))
    }
}

/// Whether the upstream connection uses STARTTLS.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamTlsMode {
    /// Never, even when offered.
    None,
    /// When the upstream offers it; a failed handshake falls back to plain TCP.
    #[default]
    Opportunistic,
    /// Always: an upstream that does not offer it, or fails the handshake, is
    /// treated as unreachable.
    Required,
}

/// How a bare LF (a line feed without CR) in DATA is treated.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum BareNewlines {
    /// A bare LF ends a content line, as Postfix 3.9 does; it is forwarded as CRLF.
    #[default]
    Normalize,
    /// The first bare LF is answered with 550 5.5.2.
    Reject,
}

/// `[server]`: where we listen and who we say we are.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Addresses to accept SMTP on; every shard binds each with SO_REUSEPORT.
    /// One address or a list, as for `upstream.address`.
    #[serde(deserialize_with = "super::units::one_or_many")]
    pub listen: Vec<SocketAddr>,
    /// Our name in the banner, EHLO reply and Received header.
    pub hostname: String,
    /// Number of shards (one executor pinned per CPU); 0 means one per online CPU.
    pub shards: usize,
    /// Largest message we accept, advertised as SIZE and enforced during DATA.
    pub max_message_size: ByteSize,
    /// Concurrent connections from one client address (IPv6 counted per /64).
    pub max_connections_per_ip: u32,
    /// New connections from one client address per `connection_rate_window`
    /// (IPv6 counted per /64); 0 (the default, as Postfix's
    /// `smtpd_client_connection_rate_limit`) sets no limit, since big senders
    /// behind one address burst legitimately.
    pub max_connection_rate_per_ip: u32,
    /// The window `max_connection_rate_per_ip` counts over.
    pub connection_rate_window: HumanDuration,
    /// Concurrent client connections one shard holds before answering 421 4.3.2.
    pub max_connections_per_shard: u32,
    /// Bare LF handling in DATA.
    pub bare_newlines: BareNewlines,
    /// Load balancers (CIDRs) whose connections start with a PROXY protocol v1
    /// or v2 header naming the real client. From them the header is mandatory;
    /// from anyone else it is refused.
    pub proxy_protocol_from: Vec<IpNet>,
    /// Refuse (550 5.7.1) an EHLO/HELO address literal that is not the client's
    /// own address: spamware claims addresses it does not have. Off by default
    /// because clients behind NAT name their inside address.
    pub strict_helo_literal: bool,
}

/// `[upstream]`: the mail server that receives what we accept.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamConfig {
    /// One address or a list; later ones are failover targets tried in order.
    #[serde(deserialize_with = "super::units::one_or_many")]
    pub address: Vec<SocketAddr>,
    /// Send XFORWARD (when the upstream offers it) so it sees the real client.
    pub xforward: bool,
    /// Upstream connections one shard may hold, busy or idle (451 4.4.5 past it).
    pub max_connections: u32,
    /// Idle upstream connections kept per shard for reuse across client sessions.
    pub pool_idle: u32,
    /// How long an idle pooled connection is kept before it is closed.
    pub pool_idle_time: HumanDuration,
    /// TCP connect bound per upstream address.
    pub connect_timeout: HumanDuration,
    /// Bound on each upstream reply to a command (banner, EHLO, MAIL, RCPT, ...).
    pub reply_timeout: HumanDuration,
    /// Bound on the upstream's reply to end-of-data (RFC 5321 §4.5.3.2.6: 10 min).
    pub data_timeout: HumanDuration,
    /// A NOOP is sent on an open upstream transaction after this much silence,
    /// so a slow client's upload does not let the upstream time us out.
    pub keepalive_interval: HumanDuration,
    /// When no upstream is reachable at connect, answer 421 and close instead of
    /// greeting (the client retries later rather than failing at RCPT).
    pub fail_closed: bool,
    /// STARTTLS towards the upstream.
    pub tls: UpstreamTlsMode,
    /// PEM file of CAs that verify the upstream's certificate; unset takes any
    /// certificate (encrypted, not authenticated).
    pub tls_ca: Option<PathBuf>,
    /// Send XCLIENT (when offered) instead of XFORWARD: the upstream then treats
    /// each session as coming from the real client (Postfix's
    /// smtpd_authorized_xclient_hosts). A refused XCLIENT fails the transaction.
    pub xclient: bool,
}

/// `[domains]`: the recipient domains we relay for.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DomainsConfig {
    /// Recipient domains (compared as lower-case A-labels). Anything else gets 550 5.7.1.
    pub accept: Vec<String>,
    /// Accept local parts holding `%`, `!` or a quoted `@` (relay-hack forms).
    /// Off by default: an upstream that trusts our address might route them onwards.
    pub allow_routing_characters: bool,
}

/// `[limits]`: protocol bounds. Each has a test that crosses it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Longest command line including CRLF (never under 512; 500 5.5.2 past it).
    pub command_line: ByteSize,
    /// Longest DATA line (at least 1,000 octets, the RFC 5321 limit; the default is
    /// 64 KiB because real mail exceeds 1,000 octets).
    pub data_line: ByteSize,
    /// Largest header section of a message (552 5.3.4 past it).
    pub header_size: ByteSize,
    /// Recipients per message (at least 100; 452 4.5.3 past it).
    pub recipients: u32,
    /// Protocol errors per session before 421 4.7.0 and close.
    pub errors: u32,
    /// Commands per session before 421 4.7.0 and close.
    pub commands: u32,
    /// Message bytes one shard may hold buffered across all its sessions
    /// (452 4.3.1 at DATA/BDAT past it).
    pub data_buffer_per_shard: ByteSize,
    /// Largest single header field, folded lines included (552 5.3.4 past it):
    /// bounds what folding can pile into one field for the parsers downstream.
    pub header_field: ByteSize,
    /// Error replies after which each further one is held back, the n-th one
    /// past it n × `[timeouts] tarpit_delay` (at most 30 s), so probing costs
    /// time (0: never).
    pub tarpit_after: u32,
    /// Octets per second a client must keep up while sending a message, over
    /// each `[timeouts] data_rate_window` (0: no floor). Stops slowloris uploads.
    pub min_data_rate: ByteSize,
}

/// `[timeouts]`: how long a client may stay silent in each state.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutsConfig {
    /// Waiting for the next command (RFC 5321 §4.5.3.2.7: at least 5 minutes).
    pub command: HumanDuration,
    /// Waiting for the next chunk of message data.
    pub data: HumanDuration,
    /// Both of the above once a shard is under stress (connections past
    /// `stress_threshold` of its maximum), as Postfix's stress mode does.
    pub under_stress: HumanDuration,
    /// Fraction (0..1] of `max_connections_per_shard` past which a shard is stressed.
    pub stress_threshold: f64,
    /// Total lifetime of one client session, whatever it does.
    pub session: HumanDuration,
    /// On SIGTERM, how long transactions in flight may take to finish.
    pub shutdown_grace: HumanDuration,
    /// How long a trusted load balancer may take to send its PROXY header.
    pub proxy_header: HumanDuration,
    /// How long a STARTTLS handshake may take.
    pub tls_handshake: HumanDuration,
    /// The tarpit step: the n-th error reply past `[limits] tarpit_after` is
    /// held back n times this long, at most 30 s.
    pub tarpit_delay: HumanDuration,
    /// The span over which `[limits] min_data_rate` is measured: each full
    /// window of message content must bring rate × window octets.
    pub data_rate_window: HumanDuration,
}

/// Output format of the transaction log.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `key=value` pairs on one line.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `[log]`: the transaction log.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A tracing filter such as `info` or `ringwall=debug`.
    pub level: String,
}

/// `[dns]`: the resolvers behind every DNS lookup and the per-shard bounds on
/// asking them.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DnsConfig {
    /// Recursive resolvers, one address or a list. A local one: Spamhaus and
    /// URIBL answer queries relayed by public resolvers with error codes.
    #[serde(deserialize_with = "super::units::one_or_many")]
    pub resolvers: Vec<SocketAddr>,
    /// Bound on one attempt of a query, and on a lookup's wait for an
    /// in-flight slot.
    pub timeout: HumanDuration,
    /// Times a query is sent, each to the next resolver, before its lookup
    /// counts as failed.
    pub attempts: u32,
    /// Queries one shard may have in flight, one UDP socket each; past it a
    /// lookup waits up to `timeout` for a slot, then fails (invariant 3).
    pub max_in_flight: u32,
    /// Idle UDP sockets a shard keeps open for its next queries (0: a new
    /// socket for every query).
    pub sockets: u32,
    /// Queries a socket carries before it is replaced by one on a new random
    /// source port.
    pub rotate_after: u32,
    /// Look up each client's host name (PTR) at connect and confirm it
    /// leads back (A/AAAA), for the reverse DNS rules of the content verdict.
    pub reverse_lookup: bool,
}

/// What a client that reached `[rbl] reject_threshold` gets.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum RblAction {
    /// It may go on to RCPT, where each recipient is refused with 550 5.7.1,
    /// so its HELO, sender and recipients get logged (postscreen's `enforce`).
    #[default]
    Enforce,
    /// The banner is 554 5.7.1, every command but QUIT then gets 503 5.5.1
    /// (RFC 5321 §3.1; postscreen's `drop` closes at once instead).
    Drop,
}

/// `[rbl]`: connection triage on the DNSBL/DNSWL score.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RblConfig {
    /// A client whose summed weights reach this is refused.
    pub reject_threshold: f64,
    /// What a refused client gets.
    pub action: RblAction,
    /// How long after connect the DNS answers may take; later ones count as
    /// failed lookups (each zone's `fail_open` decides) and only fill the cache.
    pub budget: HumanDuration,
    /// Loopback clients (127.0.0.0/8, ::1) skip triage.
    pub skip_loopback: bool,
    /// How long a client that passed skips triage on later connections (0: never).
    pub pass_ttl: HumanDuration,
    /// Shortest time an answer is cached, whatever TTL the list gives.
    pub cache_min_ttl: HumanDuration,
    /// Longest time an answer is cached, so a delisting takes effect.
    pub cache_max_ttl: HumanDuration,
    /// Answers cached per shard (0: none).
    pub cache_entries: u32,
    /// How long the banner is held to catch clients that talk first (0: off).
    pub pregreet_wait: HumanDuration,
    /// Client networks that skip triage.
    pub allow: Vec<IpNet>,
    /// Client networks refused as if they had reached the threshold.
    pub deny: Vec<IpNet>,
}

/// `[greylist]`: RFC 6647 greylisting of (client network, sender, recipient)
/// triplets at RCPT. Off by default: it delays first mail from every new
/// sender by minutes, which an operator must choose.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GreylistConfig {
    /// Greylist clients that triage passed and no allowlist named.
    pub enabled: bool,
    /// How long a retry must wait after the first attempt (451 4.7.1 before).
    pub delay: HumanDuration,
    /// How long a first attempt waits for its retry before it is forgotten.
    pub retry_window: HumanDuration,
    /// How long a triplet that passed stays known, refreshed on each use.
    pub pass_ttl: HumanDuration,
    /// Passed retries after which the client network skips greylisting (0: never).
    pub auto_whitelist_after: u32,
    /// Prefix length that makes an IPv4 client's network (big senders retry
    /// from another address of their pool).
    pub ipv4_prefix: u8,
    /// Prefix length that makes an IPv6 client's network.
    pub ipv6_prefix: u8,
    /// Triplets kept per shard at most (the oldest go first).
    pub entries: u32,
}

impl Default for GreylistConfig {
    fn default() -> Self {
        GreylistConfig {
            enabled: false,
            delay: HumanDuration(Duration::from_secs(300)),
            retry_window: HumanDuration(Duration::from_secs(2 * 86_400)),
            pass_ttl: HumanDuration(Duration::from_secs(35 * 86_400)),
            auto_whitelist_after: 5,
            ipv4_prefix: 24,
            ipv6_prefix: 64,
            entries: 200_000,
        }
    }
}

/// One `[[dnsbl]]` or `[[dnswl]]` entry: a DNS list zone and what its answers
/// are worth. `rbl::Zone` compiles it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ZoneConfig {
    /// The DNS zone asked, e.g. `zen.spamhaus.org`; may hold a subscription
    /// key, so it is never shown to a client or used as a rule name.
    pub zone: String,
    /// What a listing adds: positive for a blocklist, negative for an
    /// allowlist (postscreen's convention); unset means 1 or -1. Not with `codes`.
    pub weight: Option<f64>,
    /// What replies call the list; unset: the preset's name or "a DNS blocklist".
    pub display_name: Option<String>,
    /// A list whose codes, error codes, key and name ringwall knows.
    pub preset: Option<Preset>,
    /// Postscreen patterns (`127.0.0.[2..11]`) and their weights: only these
    /// answers are listings, each matching pattern adding its weight once.
    pub codes: Option<BTreeMap<String, f64>>,
    /// Query by client address or by domain; unset: the preset's, else `ip`.
    pub key: Option<KeyMode>,
    /// A failed lookup counts as not listed (true) or may defer the client.
    pub fail_open: bool,
    /// Rule-name stem (`[A-Z][A-Z0-9_]*`); unset: the preset's, else derived
    /// from the zone without its first label.
    pub rule: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 2525))],
            hostname: "localhost".to_string(),
            shards: 0,
            max_message_size: ByteSize(50 * 1024 * 1024),
            max_connections_per_ip: 20,
            max_connection_rate_per_ip: 0,
            connection_rate_window: HumanDuration(Duration::from_secs(60)),
            max_connections_per_shard: 10_000,
            bare_newlines: BareNewlines::Normalize,
            proxy_protocol_from: Vec::new(),
            strict_helo_literal: false,
        }
    }
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            address: vec![SocketAddr::from(([127, 0, 0, 1], 10025))],
            xforward: true,
            max_connections: 1_000,
            pool_idle: 32,
            pool_idle_time: HumanDuration(Duration::from_secs(30)),
            connect_timeout: HumanDuration(Duration::from_secs(10)),
            reply_timeout: HumanDuration(Duration::from_secs(300)),
            data_timeout: HumanDuration(Duration::from_secs(600)),
            keepalive_interval: HumanDuration(Duration::from_secs(60)),
            fail_closed: false,
            tls: UpstreamTlsMode::Opportunistic,
            tls_ca: None,
            xclient: false,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            command_line: ByteSize(2048),
            data_line: ByteSize(64 * 1024),
            header_size: ByteSize(1024 * 1024),
            recipients: 1_000,
            errors: 20,
            commands: 100_000,
            data_buffer_per_shard: ByteSize(2 * 1024 * 1024 * 1024),
            header_field: ByteSize(32 * 1024),
            tarpit_after: 3,
            min_data_rate: ByteSize(128),
        }
    }
}

impl Default for TimeoutsConfig {
    fn default() -> Self {
        TimeoutsConfig {
            command: HumanDuration(Duration::from_secs(300)),
            data: HumanDuration(Duration::from_secs(300)),
            under_stress: HumanDuration(Duration::from_secs(10)),
            stress_threshold: 0.8,
            session: HumanDuration(Duration::from_secs(3600)),
            shutdown_grace: HumanDuration(Duration::from_secs(30)),
            proxy_header: HumanDuration(Duration::from_secs(5)),
            tls_handshake: HumanDuration(Duration::from_secs(30)),
            tarpit_delay: HumanDuration(Duration::from_secs(1)),
            data_rate_window: HumanDuration(Duration::from_secs(30)),
        }
    }
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            resolvers: vec![SocketAddr::from(([127, 0, 0, 1], 53))],
            timeout: HumanDuration(Duration::from_millis(150)),
            attempts: 2,
            max_in_flight: 1_024,
            sockets: 4,
            rotate_after: 1_000,
            reverse_lookup: true,
        }
    }
}

impl Default for RblConfig {
    fn default() -> Self {
        RblConfig {
            reject_threshold: 3.0,
            action: RblAction::Enforce,
            budget: HumanDuration(Duration::from_millis(300)),
            skip_loopback: true,
            pass_ttl: HumanDuration(Duration::from_secs(3600)),
            cache_min_ttl: HumanDuration(Duration::from_secs(60)),
            cache_max_ttl: HumanDuration(Duration::from_secs(3600)),
            cache_entries: 100_000,
            pregreet_wait: HumanDuration(Duration::ZERO),
            allow: Vec::new(),
            deny: Vec::new(),
        }
    }
}

impl Default for ZoneConfig {
    /// No zone (an entry without `zone` is refused by the checks), fail-open.
    fn default() -> Self {
        ZoneConfig {
            zone: String::new(),
            weight: None,
            display_name: None,
            preset: None,
            codes: None,
            key: None,
            fail_open: true,
            rule: None,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            level: "info".to_string(),
        }
    }
}
