//! Semantic checks run after the file deserialised: bounds, cross-key rules and
//! domain syntax. Every rule is checked (no early return), so the operator gets
//! all findings at once, each located at its key's line.
//!
//! Besides checking, this normalises `domains.accept` to lower case.
//!
//! The DNS and DNSBL/DNSWL checks live in [`dnsbl`].

mod dnsbl;
mod policy;

use std::collections::HashMap;
use std::fmt::Display;
use std::net::SocketAddr;
use std::time::Duration;

use ipnet::IpNet;

use super::domain;
use super::error::{ConfigError, ConfigWarning, Position, Shown};
use super::locate::{Locator, Step};
use super::schema::{
    Config, GreylistConfig, LimitsConfig, ReportConfig, ServerConfig, TimeoutsConfig, TlsConfig,
    UpstreamConfig, UpstreamTlsMode,
};
use super::units::{ByteSize, HumanDuration};

/// What the checks found: errors refuse the file, warnings do not.
#[derive(Debug, Default)]
pub(super) struct Findings {
    /// Rule violations, in file order (keys absent from the file last).
    pub(super) errors: Vec<ConfigError>,
    /// Suspicious but accepted values, in file order.
    pub(super) warnings: Vec<ConfigWarning>,
}

/// Checks `config` (read from `origin`) and lower-cases its accepted domains.
pub(super) fn validate(config: &mut Config, origin: &str, locator: &Locator<'_>) -> Findings {
    let mut check = Checker {
        origin,
        locator,
        findings: Findings::default(),
    };
    server(&mut check, &config.server);
    upstream(&mut check, &config.upstream, &config.server.listen);
    domains(&mut check, &mut config.domains.accept);
    limits(&mut check, &config.limits, config.server.max_message_size);
    timeouts(&mut check, &config.timeouts);
    tarpit_and_rate(&mut check, &config.limits, &config.timeouts);
    log_level(&mut check, &config.log.level);
    tls(&mut check, &config.tls);
    dnsbl::dns(&mut check, config);
    dnsbl::rbl(&mut check, &config.rbl);
    dnsbl::zones(&mut check, &config.dnsbl, &config.dnswl);
    greylist(&mut check, &config.greylist);
    policy::policy(&mut check, config);
    report(&mut check, &config.report);
    quarantine(&mut check, config);
    let mut findings = check.findings;
    findings
        .errors
        .sort_by_key(|error| (error.position.is_none(), error.position));
    findings
        .warnings
        .sort_by_key(|warning| (warning.position.is_none(), warning.position));
    findings
}

fn server(check: &mut Checker<'_>, server: &ServerConfig) {
    let default = ServerConfig::default();
    if server.listen.is_empty() {
        check.error(
            "server.listen",
            "[]",
            "no address to listen on",
            "list at least one, e.g. listen = [\"0.0.0.0:25\"]",
        );
    }
    for index in repeats(&server.listen) {
        check.entry_error(
            "server.listen",
            index,
            format!("{} is listed twice", server.listen[index]),
            "remove one of them".into(),
        );
    }
    if server.hostname.is_empty() {
        check.error(
            "server.hostname",
            "\"\"",
            "must not be empty: it names this host in the banner, the EHLO reply and Received headers",
            "set it to this host's public name, the one the PTR record of its address gives, \
             e.g. \"mx1.example.net\"",
        );
    } else if let Err(flaw) = domain::check(&server.hostname) {
        check.error(
            "server.hostname",
            quoted(&server.hostname),
            flaw.problem,
            flaw.fix,
        );
    }
    if server.shards > 1024 {
        check.error(
            "server.shards",
            server.shards,
            "must be at most 1024",
            "use 0 for one shard per online CPU, or a count up to 1024",
        );
    }
    let size = server.max_message_size;
    let shown = quoted(size);
    let size_default = quoted(default.max_message_size);
    if size < ByteSize(1 << 10) {
        check.at_least(
            "server.max_message_size",
            &shown,
            "\"1KiB\"",
            " (a smaller limit refuses even a bounce)",
            &size_default,
        );
    }
    if size > ByteSize(4 << 30) {
        check.at_most(
            "server.max_message_size",
            &shown,
            "\"4GiB\"",
            "",
            &size_default,
        );
    }
    let per_client = [
        (
            "server.max_connections_per_ip",
            server.max_connections_per_ip,
            default.max_connections_per_ip,
        ),
        (
            "server.max_connections_per_shard",
            server.max_connections_per_shard,
            default.max_connections_per_shard,
        ),
    ];
    for (key, value, default) in per_client {
        if value < 1 {
            check.at_least(key, value, "1", " (0 refuses every client)", default);
        }
    }
    check.non_zero(
        "server.connection_rate_window",
        server.connection_rate_window,
        default.connection_rate_window,
    );
    networks(
        check,
        "server.proxy_protocol_from",
        &server.proxy_protocol_from,
    );
}

/// A CIDR list: each entry must be a network, with no host bits below its prefix.
fn networks(check: &mut Checker<'_>, key: &str, nets: &[IpNet]) {
    for (index, net) in nets.iter().enumerate() {
        if net.trunc() != *net {
            check.entry_error(
                key,
                index,
                format!("{net} has host bits set below its prefix length"),
                format!(
                    "write the network, {}, or the single host, {}/{}",
                    net.trunc(),
                    net.addr(),
                    net.max_prefix_len()
                ),
            );
        }
    }
}

/// STARTTLS needs both files, and both must load now rather than at the first
/// client's STARTTLS.
fn tls(check: &mut Checker<'_>, tls: &TlsConfig) {
    match (&tls.certificate, &tls.private_key) {
        (Some(_), None) => check.error(
            "tls.certificate",
            "(set)",
            "is set without [tls] private_key",
            "set private_key to the PEM file of this certificate's key, or remove certificate \
             to turn STARTTLS off",
        ),
        (None, Some(_)) => check.error(
            "tls.private_key",
            "(set)",
            "is set without [tls] certificate",
            "set certificate to the PEM certificate chain, or remove private_key to turn \
             STARTTLS off",
        ),
        (Some(certificate), Some(key)) => {
            if let Err(e) = crate::tls::Credentials::load(certificate, key) {
                let (key_name, path) = match e {
                    crate::tls::TlsError::Key { .. } => ("tls.private_key", key),
                    _ => ("tls.certificate", certificate),
                };
                check.error(
                    key_name,
                    quoted(path.display()),
                    e.to_string(),
                    "point certificate at a PEM chain (leaf first) and private_key at its PEM \
                     key (PKCS#8, PKCS#1 or SEC1), both readable by ringwall",
                );
            }
        }
        (None, None) => {}
    }
}

fn upstream(check: &mut Checker<'_>, upstream: &UpstreamConfig, listen: &[SocketAddr]) {
    let default = UpstreamConfig::default();
    if upstream.address.is_empty() {
        check.error(
            "upstream.address",
            "[]",
            "no mail server to forward accepted mail to",
            "set your mail server's SMTP address, e.g. address = \"127.0.0.1:10025\"",
        );
    }
    for (index, target) in upstream.address.iter().enumerate() {
        if let Some(own) = listen.iter().find(|own| loops_back(**own, *target)) {
            let own = if own == target {
                String::new()
            } else {
                format!(" (through {own})")
            };
            check.entry_error(
                "upstream.address",
                index,
                format!(
                    "{target} is also where ringwall listens{own}: accepted mail would loop back \
                     into ringwall"
                ),
                "point it at the real mail server (e.g. Postfix's return port 127.0.0.1:10025), \
                 not at a [server] listen address"
                    .into(),
            );
        }
    }
    if upstream.max_connections < 1 {
        check.at_least(
            "upstream.max_connections",
            upstream.max_connections,
            "1",
            " (0 forwards nothing)",
            default.max_connections,
        );
    }
    if upstream.pool_idle > upstream.max_connections {
        let max = upstream.max_connections;
        check.error(
            "upstream.pool_idle",
            upstream.pool_idle,
            format!("must not exceed [upstream] max_connections ({max})"),
            format!("lower it to {max} or less, or raise max_connections"),
        );
    }
    let durations = [
        (
            "upstream.pool_idle_time",
            upstream.pool_idle_time,
            default.pool_idle_time,
        ),
        (
            "upstream.connect_timeout",
            upstream.connect_timeout,
            default.connect_timeout,
        ),
        (
            "upstream.reply_timeout",
            upstream.reply_timeout,
            default.reply_timeout,
        ),
        (
            "upstream.data_timeout",
            upstream.data_timeout,
            default.data_timeout,
        ),
        (
            "upstream.keepalive_interval",
            upstream.keepalive_interval,
            default.keepalive_interval,
        ),
    ];
    for (key, value, default) in durations {
        check.non_zero(key, value, default);
    }
    if let Some(ca) = &upstream.tls_ca {
        if upstream.tls == UpstreamTlsMode::None {
            check.warn(
                "upstream.tls_ca",
                quoted(ca.display()),
                "is ignored while [upstream] tls = \"none\"".into(),
                "set tls = \"opportunistic\" or \"required\", or remove tls_ca".into(),
            );
        } else if let Err(e) = crate::tls::UpstreamTrust::load(Some(ca)) {
            check.error(
                "upstream.tls_ca",
                quoted(ca.display()),
                e.to_string(),
                "point it at a readable PEM file of CA certificates",
            );
        }
    }
}

/// Whether forwarding to `target` would reach the listener `own`: the same
/// address, or a wildcard listener on the same port and a loopback or wildcard target.
fn loops_back(own: SocketAddr, target: SocketAddr) -> bool {
    let local = |addr: SocketAddr| addr.ip().is_loopback() || addr.ip().is_unspecified();
    own.port() == target.port()
        && (own.ip() == target.ip() || (own.ip().is_unspecified() && local(target)))
}

fn domains(check: &mut Checker<'_>, accept: &mut [String]) {
    if accept.is_empty() {
        check.warn(
            "domains.accept",
            "[]",
            "no recipient domain is accepted: every RCPT TO will be refused with 550 5.7.1".into(),
            "list the domains your upstream receives mail for, e.g. accept = [\"example.net\"]"
                .into(),
        );
    }
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    for (index, entry) in accept.iter_mut().enumerate() {
        if let Err(flaw) = domain::check(entry) {
            check.entry_error("domains.accept", index, flaw.problem, flaw.fix);
            continue;
        }
        entry.make_ascii_lowercase();
        if let Some(first) = first_seen.get(entry.as_str()) {
            check.entry_error(
                "domains.accept",
                index,
                format!(
                    "\"{entry}\" is listed twice (entries {} and {})",
                    first + 1,
                    index + 1
                ),
                "remove one of them; case does not matter in domain names".into(),
            );
        } else {
            first_seen.insert(entry.clone(), index);
        }
    }
}

fn limits(check: &mut Checker<'_>, limits: &LimitsConfig, max_message_size: ByteSize) {
    let default = LimitsConfig::default();
    let command_line = limits.command_line;
    let command_default = default.command_line.0;
    if command_line < ByteSize(512) {
        check.at_least(
            "limits.command_line",
            command_line.0,
            "512",
            " bytes (SIZE, DSN and SMTPUTF8 parameters push MAIL past 512)",
            command_default,
        );
    }
    if command_line > ByteSize(64 << 10) {
        check.at_most(
            "limits.command_line",
            command_line.0,
            "65536",
            " bytes",
            command_default,
        );
    }
    let data_line = limits.data_line;
    if data_line < ByteSize(1000) {
        check.at_least(
            "limits.data_line",
            data_line.0,
            "1000",
            " bytes, the RFC 5321 §4.5.3.1.6 line length (998 characters and CRLF)",
            quoted(default.data_line),
        );
    }
    if data_line > ByteSize(16 << 20) {
        check.at_most(
            "limits.data_line",
            quoted(data_line),
            "\"16MiB\"",
            "",
            quoted(default.data_line),
        );
    }
    let header = limits.header_size;
    let header_default = quoted(default.header_size);
    if header < ByteSize(1 << 10) {
        check.at_least(
            "limits.header_size",
            quoted(header),
            "\"1KiB\"",
            "",
            &header_default,
        );
    } else if header > max_message_size {
        check.error(
            "limits.header_size",
            quoted(header),
            format!("must not exceed [server] max_message_size ({max_message_size})"),
            format!("lower it to \"{max_message_size}\" or less, or raise max_message_size"),
        );
    }
    if limits.recipients < 100 {
        check.at_least(
            "limits.recipients",
            limits.recipients,
            "100",
            " (RFC 5321 §4.5.3.1.8: a server must take 100 recipients per message)",
            default.recipients,
        );
    }
    if limits.recipients > 100_000 {
        check.at_most(
            "limits.recipients",
            limits.recipients,
            "100000",
            "",
            default.recipients,
        );
    }
    if limits.errors < 1 {
        check.at_least(
            "limits.errors",
            limits.errors,
            "1",
            " (0 closes every session at its first mistake)",
            default.errors,
        );
    }
    if limits.commands < 10 {
        check.at_least(
            "limits.commands",
            limits.commands,
            "10",
            " (one delivery takes EHLO, MAIL, RCPT, DATA and QUIT)",
            default.commands,
        );
    }
    let buffer = limits.data_buffer_per_shard;
    if buffer < max_message_size {
        check.error(
            "limits.data_buffer_per_shard",
            quoted(buffer),
            format!(
                "must be at least [server] max_message_size ({max_message_size}): one message of \
                 the largest accepted size must fit"
            ),
            format!("raise it to \"{max_message_size}\" or more, or lower max_message_size"),
        );
    }
    let field = limits.header_field;
    if field < ByteSize(1000) {
        check.at_least(
            "limits.header_field",
            quoted(field),
            "\"1000\"",
            " bytes (one unfolded RFC 5322 line)",
            quoted(default.header_field),
        );
    } else if field > header && header >= ByteSize(1 << 10) {
        // (A header_size under its own minimum is reported alone.)
        check.error(
            "limits.header_field",
            quoted(field),
            format!("must not exceed [limits] header_size ({header}): one field is part of the header section"),
            format!("lower it to \"{header}\" or less, or raise header_size"),
        );
    }
}

/// The tarpit and the data-rate floor, which span `[limits]` and `[timeouts]`:
/// the longest hold must stay under the command bound (a client waiting for a
/// held reply must not give up), all holds within the error budget under the
/// session bound (else the budget never closes a tarpitted session), and a
/// rate floor must ask for at least one octet per window.
fn tarpit_and_rate(check: &mut Checker<'_>, limits: &LimitsConfig, timeouts: &TimeoutsConfig) {
    let delay = timeouts.tarpit_delay;
    let past = limits.errors.saturating_sub(limits.tarpit_after);
    if limits.tarpit_after > 0 && past > 0 && !delay.0.is_zero() {
        let longest = crate::smtp::Session::tarpit_hold(delay.0, past);
        let command = timeouts.command.0;
        if !command.is_zero() && longest >= command {
            // The largest whole-millisecond step whose `past`-th hold stays under it.
            let step = Duration::from_millis(
                u64::try_from((command.as_millis().saturating_sub(1)) / u128::from(past))
                    .unwrap_or(u64::MAX),
            );
            let fix = if step.is_zero() {
                "raise [timeouts] command, or lower [limits] errors".to_string()
            } else {
                format!(
                    "lower it to \"{}\" or less, raise command, or lower [limits] errors",
                    HumanDuration(step)
                )
            };
            check.error(
                "timeouts.tarpit_delay",
                quoted(delay),
                format!(
                    "holds the last error reply the [limits] errors budget allows ({past} past \
                     tarpit_after) for {}, not under [timeouts] command ({}): the client would \
                     give up waiting",
                    HumanDuration(longest),
                    timeouts.command
                ),
                fix,
            );
        }
        let total = total_tarpit(delay.0, past);
        let session = timeouts.session.0;
        if !session.is_zero() && total >= session {
            check.error(
                "timeouts.tarpit_delay",
                quoted(delay),
                format!(
                    "holds the {past} error replies the [limits] errors budget allows past \
                     tarpit_after for {} in all, not under [timeouts] session ({}): the budget \
                     would never close a tarpitted session",
                    HumanDuration(total),
                    timeouts.session
                ),
                "lower it, lower [limits] errors, or raise [limits] tarpit_after or [timeouts] \
                 session",
            );
        }
    }
    let rate = limits.min_data_rate;
    let window = timeouts.data_rate_window;
    let per_window = u128::from(rate.0) * window.0.as_nanos() / 1_000_000_000;
    if rate.0 > 0 && !window.0.is_zero() && per_window == 0 {
        check.error(
            "limits.min_data_rate",
            quoted(rate),
            format!(
                "asks for less than one octet per [timeouts] data_rate_window ({window}), so it \
                 never ends a session"
            ),
            "raise it or data_rate_window, or set it to 0 to turn the floor off",
        );
    }
}

/// All the tarpit's holds for `past` errors beyond `tarpit_after`: the k-th
/// is [`crate::smtp::Session::tarpit_hold`]`(delay, k)`, in closed form so a
/// large budget costs no loop.
fn total_tarpit(delay: Duration, past: u32) -> Duration {
    let cap = crate::smtp::MAX_TARPIT.as_nanos();
    let step = delay.as_nanos();
    if step == 0 {
        return Duration::ZERO;
    }
    // Holds grow by `step` while they stay within the cap, then stay at it.
    let growing = (cap / step).min(u128::from(past));
    let nanos = step * growing * (growing + 1) / 2 + cap * (u128::from(past) - growing);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

fn timeouts(check: &mut Checker<'_>, timeouts: &TimeoutsConfig) {
    let default = TimeoutsConfig::default();
    let durations = [
        ("timeouts.command", timeouts.command, default.command),
        ("timeouts.data", timeouts.data, default.data),
        (
            "timeouts.under_stress",
            timeouts.under_stress,
            default.under_stress,
        ),
        ("timeouts.session", timeouts.session, default.session),
        (
            "timeouts.shutdown_grace",
            timeouts.shutdown_grace,
            default.shutdown_grace,
        ),
        (
            "timeouts.proxy_header",
            timeouts.proxy_header,
            default.proxy_header,
        ),
        (
            "timeouts.tls_handshake",
            timeouts.tls_handshake,
            default.tls_handshake,
        ),
        (
            "timeouts.data_rate_window",
            timeouts.data_rate_window,
            default.data_rate_window,
        ),
    ];
    for (key, value, default) in durations {
        check.non_zero(key, value, default);
    }
    let command = timeouts.command;
    if !command.0.is_zero() && command.0 < Duration::from_secs(300) {
        check.warn(
            "timeouts.command",
            quoted(command),
            "is under 5 minutes, the least RFC 5321 §4.5.3.2.7 asks a server to wait for the \
             next command; slow or distant clients may be cut off"
                .into(),
            "raise it to \"5min\" unless the shortcut is deliberate (under_stress already \
             shortens waits while a shard is busy)"
                .into(),
        );
    }
    if timeouts.data_rate_window.0 > timeouts.data.0 && !timeouts.data.0.is_zero() {
        check.error(
            "timeouts.data_rate_window",
            quoted(timeouts.data_rate_window),
            format!(
                "must not exceed [timeouts] data ({}): a client silent that long is cut off first",
                timeouts.data
            ),
            format!("lower it to \"{}\" or less", timeouts.data),
        );
    }
    if timeouts.tarpit_delay.0 > crate::smtp::MAX_TARPIT {
        check.warn(
            "timeouts.tarpit_delay",
            quoted(timeouts.tarpit_delay),
            format!(
                "is past the {}-second cap on any one delayed reply",
                crate::smtp::MAX_TARPIT.as_secs()
            ),
            "lower it; every delayed reply waits at most 30 s anyway".into(),
        );
    }
    let threshold = timeouts.stress_threshold;
    if !(threshold > 0.0 && threshold <= 1.0) {
        check.error(
            "timeouts.stress_threshold",
            threshold,
            "must be above 0 and at most 1: it is the fraction of max_connections_per_shard past \
             which a shard is under stress",
            format!(
                "use a fraction such as {}, the default",
                default.stress_threshold
            ),
        );
    }
}

fn quarantine(check: &mut Checker<'_>, config: &Config) {
    let quarantine = &config.quarantine;
    if let Some(listen) = quarantine.public_listen {
        if config.admin.listen.is_none() {
            check.error(
                "quarantine.public_listen",
                quoted(listen),
                "is set without [admin] listen, whose thread serves it",
                "set [admin] listen (e.g. \"127.0.0.1:9725\"), or remove public_listen",
            );
        }
        if quarantine.directory.is_none() {
            check.error(
                "quarantine.public_listen",
                quoted(listen),
                "is set without [quarantine] directory",
                "set directory to where quarantined messages are kept, or remove public_listen",
            );
        }
        if quarantine.public_url.is_none() {
            check.error(
                "quarantine.public_listen",
                quoted(listen),
                "is set without [quarantine] public_url, so no link could point at it",
                "set public_url to the base URL users reach this listener by, e.g. \
                 \"https://quarantine.example.net\"",
            );
        }
    }
    if let Some(url) = &quarantine.public_url {
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        if !scheme_ok || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            check.error(
                "quarantine.public_url",
                quoted(url),
                "is not an http(s) URL",
                "write the base URL users open, e.g. \"https://quarantine.example.net\"",
            );
        }
    }
    if let Some(from) = &quarantine.digest_from
        && crate::smtp::address::parse_reverse_path(&format!("<{from}>")).is_err()
    {
        check.error(
            "quarantine.digest_from",
            quoted(from),
            "is not a mail address",
            "write an address such as \"postmaster@example.net\"",
        );
    }
    if let Some(token) = &config.admin.token
        && token.len() < 16
    {
        check.error(
            "admin.token",
            "(set)",
            format!(
                "is {} characters long; a guessable token opens the quarantine",
                token.len()
            ),
            "use at least 16 random characters, or remove it to have one generated",
        );
    }
}

fn log_level(check: &mut Checker<'_>, level: &str) {
    const FIX: &str = "use a level (error, warn, info, debug, trace) or target=level pairs \
                       separated by commas, e.g. \"ringwall=debug,info\"";
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_=,:.-".contains(c);
    if level.is_empty() {
        check.error("log.level", "\"\"", "must not be empty", FIX);
    } else if let Some(bad) = level.chars().find(|c| !allowed(*c)) {
        check.error(
            "log.level",
            quoted(level),
            format!("contains {bad:?}, which a log filter cannot hold"),
            FIX,
        );
    }
}

/// Indexes of entries equal to an earlier one.
fn repeats<T: PartialEq>(items: &[T]) -> Vec<usize> {
    (0..items.len())
        .filter(|&index| items[..index].contains(&items[index]))
        .collect()
}

/// `value` in double quotes, as TOML strings are written.
fn quoted(value: impl Display) -> String {
    format!("\"{value}\"")
}

/// `[greylist]`: a retry can only pass within the window it is remembered
/// for, and the networks must be real prefixes.
fn greylist(check: &mut Checker<'_>, greylist: &GreylistConfig) {
    let default = GreylistConfig::default();
    check.non_zero("greylist.delay", greylist.delay, default.delay);
    if greylist.delay >= greylist.retry_window {
        let window = greylist.retry_window;
        check.error(
            "greylist.delay",
            quoted(greylist.delay),
            format!(
                "must be shorter than [greylist] retry_window ({window}): no retry could ever pass"
            ),
            format!("lower it below \"{window}\" or raise retry_window"),
        );
    }
    if !(8..=32).contains(&greylist.ipv4_prefix) {
        check.error(
            "greylist.ipv4_prefix",
            greylist.ipv4_prefix,
            "must be from 8 to 32",
            format!(
                "use 32 for single addresses or a pool's prefix, the default is {}",
                default.ipv4_prefix
            ),
        );
    }
    if !(16..=128).contains(&greylist.ipv6_prefix) {
        check.error(
            "greylist.ipv6_prefix",
            greylist.ipv6_prefix,
            "must be from 16 to 128",
            format!(
                "use 128 for single addresses or a pool's prefix, the default is {}",
                default.ipv6_prefix
            ),
        );
    }
}

/// `[report] logs`: files the admin listener opens, whatever its working
/// directory (`/` under systemd), so absolute paths, each once; standard
/// input is the command line's (`--log -`), not the daemon's.
fn report(check: &mut Checker<'_>, report: &ReportConfig) {
    for (index, path) in report.logs.iter().enumerate() {
        let shown = path.display();
        if path.as_os_str() == "-" {
            check.entry_error(
                "report.logs",
                index,
                "\"-\" (standard input) is for the command line, not the configuration".into(),
                "remove it and pipe into `ringwall report --log -` instead".into(),
            );
        } else if !path.is_absolute() {
            check.entry_error(
                "report.logs",
                index,
                format!("\"{shown}\" is a relative path, read from wherever the daemon started"),
                format!("write the full path, e.g. \"/var/log/{shown}\""),
            );
        } else if path.is_dir() {
            check.entry_error(
                "report.logs",
                index,
                format!("\"{shown}\" is a directory"),
                "name the log file itself, e.g. \"/var/log/ringwall.log\"".into(),
            );
        }
    }
    for index in repeats(&report.logs) {
        check.entry_error(
            "report.logs",
            index,
            format!("\"{}\" is listed twice", report.logs[index].display()),
            "remove one of them: its lines would be counted twice".into(),
        );
    }
}

/// Builds located findings; one method per message shape.
struct Checker<'a> {
    origin: &'a str,
    locator: &'a Locator<'a>,
    findings: Findings,
}

impl Checker<'_> {
    /// Where `key` is and how to show its value: as written, or the default in force.
    fn subject(&self, key: &str, current: impl Display) -> (Option<Position>, Shown) {
        match self.locator.value(key) {
            Some(spot) => (Some(spot.position), Shown::Written(spot.written)),
            None => (None, Shown::Default(current.to_string())),
        }
    }

    /// Like [`Checker::subject`] for the value at `path` inside a list of
    /// tables: a value the file does not set is pointed at by its table (the
    /// entry's `[[dnsbl]]` header), the only way to tell the entries apart.
    fn subject_at(&self, path: &[Step<'_>], current: impl Display) -> (Option<Position>, Shown) {
        match self.locator.value_at(path) {
            Some(spot) => (Some(spot.position), Shown::Written(spot.written)),
            None => (self.table_of(path), Shown::Default(current.to_string())),
        }
    }

    /// The position of the table holding the last step of `path`.
    fn table_of(&self, path: &[Step<'_>]) -> Option<Position> {
        let (_, table) = path.split_last()?;
        self.locator.table_position(table)
    }

    /// Records one error as given.
    fn push(
        &mut self,
        key: &str,
        position: Option<Position>,
        value: Option<Shown>,
        problem: String,
        fix: String,
    ) {
        self.findings.errors.push(ConfigError {
            origin: self.origin.to_string(),
            position,
            key: Some(key.to_string()),
            value,
            problem,
            fix: Some(fix),
        });
    }

    fn error(
        &mut self,
        key: &str,
        current: impl Display,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let (position, value) = self.subject(key, current);
        self.push(key, position, Some(value), problem.into(), fix.into());
    }

    /// An error about the value at `path` (see [`Checker::subject_at`]),
    /// named by its dotted `key` (`dnsbl.weight`).
    fn error_at(
        &mut self,
        key: &str,
        path: &[Step<'_>],
        current: impl Display,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let (position, value) = self.subject_at(path, current);
        self.push(key, position, Some(value), problem.into(), fix.into());
    }

    /// An error about element `index` of a list: located at the element, whose text
    /// the problem quotes.
    fn entry_error(&mut self, key: &str, index: usize, problem: String, fix: String) {
        let position = self
            .locator
            .element(key, index)
            .or_else(|| self.locator.value(key))
            .map(|spot| spot.position);
        self.push(key, position, None, problem, fix);
    }

    fn at_least(
        &mut self,
        key: &str,
        current: impl Display,
        min: &str,
        why: &str,
        default: impl Display,
    ) {
        self.error(
            key,
            current,
            format!("must be at least {min}{why}"),
            format!("raise it to {min} or more, the default is {default}"),
        );
    }

    fn at_most(
        &mut self,
        key: &str,
        current: impl Display,
        max: &str,
        why: &str,
        default: impl Display,
    ) {
        self.error(
            key,
            current,
            format!("must be at most {max}{why}"),
            format!("lower it to {max} or less, the default is {default}"),
        );
    }

    fn non_zero(&mut self, key: &str, value: HumanDuration, default: HumanDuration) {
        if value.0.is_zero() {
            self.error(
                key,
                quoted(value),
                "must not be zero",
                format!("set a positive duration, the default is \"{default}\""),
            );
        }
    }

    fn warn(&mut self, key: &str, current: impl Display, problem: String, fix: String) {
        let subject = self.subject(key, current);
        self.push_warning(key, subject, problem, fix);
    }

    /// A warning about the value at `path`, as [`Checker::error_at`].
    fn warn_at(
        &mut self,
        key: &str,
        path: &[Step<'_>],
        current: impl Display,
        problem: String,
        fix: String,
    ) {
        let subject = self.subject_at(path, current);
        self.push_warning(key, subject, problem, fix);
    }

    fn push_warning(
        &mut self,
        key: &str,
        (position, value): (Option<Position>, Shown),
        problem: String,
        fix: String,
    ) {
        self.findings.warnings.push(ConfigWarning {
            origin: self.origin.to_string(),
            position,
            key: key.to_string(),
            value,
            problem,
            fix,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;

    /// Every error for `source`, rendered, after asserting the file is refused.
    pub(super) fn refused(source: &str) -> Vec<String> {
        parse(source, "r.toml")
            .unwrap_err()
            .0
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// Every warning for `source`, rendered, after asserting the file is accepted.
    pub(super) fn warned(source: &str) -> Vec<String> {
        parse(source, "r.toml")
            .unwrap()
            .warnings
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn assert_refusals(table: &[(&str, &[&str])]) {
        for (source, expected) in table {
            assert_eq!(refused(source), *expected, "{source:?}");
        }
    }

    #[test]
    fn scoring_and_policy_rules() {
        assert_refusals(&[
            (
                "[content]\nbudget = \"0s\"\nrules = [\"/nonexistent/local.toml\"]\n",
                &[
                    "r.toml:2:10: [content] budget = \"0s\": must not be zero; fix: set a positive duration, the default is \"500ms\"",
                    "r.toml:3:10: [content] rules: does not load: /nonexistent/local.toml: cannot read the rule file: No such file or directory (os error 2); fix: check the path and that ringwall may read it; `ringwall rules check FILE` checks a rule file",
                ],
            ),
            (
                "[scoring]\ntag = nan\nsubject_prefix = \"\"\nscores = { lower_case = 1.0, GOOD = inf }\n",
                &[
                    "r.toml:2:7: [scoring] tag = nan: must be a finite number; fix: write a score such as 5.0",
                    "r.toml:3:18: [scoring] subject_prefix = \"\": must be 1 to 40 printable characters on one line; fix: write something such as \"[SPAM]\", or leave the key out to keep Subjects as they are",
                    "r.toml:4:25: [scoring.scores] lower_case = 1.0: is not a rule name: rule names are upper-case letters, digits and _; fix: write the name as `ringwall score --explain` prints it",
                    "r.toml:4:37: [scoring.scores] GOOD = inf: must be a finite number; fix: write a score such as 2.5, or 0 to switch the rule off",
                ],
            ),
            (
                "[[policy]]\nname = \"a\"\ndomains = [\"example.org\"]\n[[policy]]\nname = \"a\"\ndomains = [\"Example.org\"]\nrecipients = [\"nobody\"]\n[[policy]]\nreject = 3.0\n",
                &[
                    "r.toml:5:8: [policy] name = \"a\": is also the name of [[policy]] entry 1; fix: give each class a name of its own",
                    "r.toml:6:11: [policy] domains = [\"Example.org\"]: is also in [[policy]] entry 1: a recipient has one class; fix: keep the domain in one [[policy]] only",
                    "r.toml:7:14: [policy] recipients = [\"nobody\"]: is not an address; fix: write local@domain; whole domains go in domains",
                    "r.toml:8:1: [policy] name: is missing from [[policy]] entry 3: the logs name a message's class by it; fix: add a line such as name = \"strict\"",
                    "r.toml:8:1: [policy] domains: [[policy]] entry 3 names no recipient: it would judge no mail; fix: add domains = [\"example.org\"] or recipients = [\"ceo@example.org\"]",
                ],
            ),
            (
                "[senders]\nallow = [\"ok.example\", \"two@at@s\"]\nblock = [\"@\"]\n",
                &[
                    "r.toml:2:24: [senders] allow: \"two@at@s\" is not an address, a domain or @domain; fix: write news@example.com, example.com (with its subdomains) or @example.com (alone)",
                    "r.toml:3:10: [senders] block: \"@\" is not an address, a domain or @domain; fix: write news@example.com, example.com (with its subdomains) or @example.com (alone)",
                ],
            ),
        ]);
    }

    #[test]
    fn tls_and_proxy_rules() {
        assert_refusals(&[
            (
                "[tls]\ncertificate = \"/etc/ringwall/cert.pem\"\n",
                &[
                    "r.toml:2:15: [tls] certificate = \"/etc/ringwall/cert.pem\": is set without [tls] private_key; fix: set private_key to the PEM file of this certificate's key, or remove certificate to turn STARTTLS off",
                ],
            ),
            (
                "[tls]\ncertificate = \"/nonexistent/cert.pem\"\nprivate_key = \"/nonexistent/key.pem\"\n",
                &[
                    "r.toml:2:15: [tls] certificate = \"/nonexistent/cert.pem\": cannot use certificate /nonexistent/cert.pem: I/O error: No such file or directory (os error 2); fix: point certificate at a PEM chain (leaf first) and private_key at its PEM key (PKCS#8, PKCS#1 or SEC1), both readable by ringwall",
                ],
            ),
            (
                "[server]\nproxy_protocol_from = [\"10.0.0.0/8\", \"192.0.2.7/24\"]\n",
                &[
                    "r.toml:2:38: [server] proxy_protocol_from: 192.0.2.7/24 has host bits set below its prefix length; fix: write the network, 192.0.2.0/24, or the single host, 192.0.2.7/32",
                ],
            ),
            (
                "[upstream]\ntls_ca = \"/nonexistent/ca.pem\"\n",
                &[
                    "r.toml:2:10: [upstream] tls_ca = \"/nonexistent/ca.pem\": cannot use CA file /nonexistent/ca.pem: I/O error: No such file or directory (os error 2); fix: point it at a readable PEM file of CA certificates",
                ],
            ),
            (
                "[timeouts]\nproxy_header = 0\n",
                &[
                    "r.toml:2:16: [timeouts] proxy_header = 0: must not be zero; fix: set a positive duration, the default is \"5s\"",
                ],
            ),
        ]);
        let error = &refused("[server]\nproxy_protocol_from = [\"10.0.0.300/8\"]\n")[0];
        assert!(error.starts_with("r.toml:2:"), "{error}");
        assert_eq!(
            warned("[upstream]\ntls = \"none\"\ntls_ca = \"/x.pem\"\n")[0],
            "r.toml:3:10: warning: [upstream] tls_ca = \"/x.pem\": is ignored while [upstream] tls = \"none\"; fix: set tls = \"opportunistic\" or \"required\", or remove tls_ca"
        );
    }

    /// Header field bound, tarpit and data-rate floor: each rule with its
    /// message, and the values just inside each rule accepted.
    #[test]
    fn greylist_rules() {
        assert_refusals(&[(
            "[greylist]\nenabled = true\ndelay = \"3days\"\nipv4_prefix = 33\nipv6_prefix = 8\n",
            &[
                "r.toml:3:9: [greylist] delay = \"3days\": must be shorter than [greylist] retry_window (2days): no retry could ever pass; fix: lower it below \"2days\" or raise retry_window",
                "r.toml:4:15: [greylist] ipv4_prefix = 33: must be from 8 to 32; fix: use 32 for single addresses or a pool's prefix, the default is 24",
                "r.toml:5:15: [greylist] ipv6_prefix = 8: must be from 16 to 128; fix: use 128 for single addresses or a pool's prefix, the default is 64",
            ],
        )]);
    }

    #[test]
    fn hardening_rules() {
        assert_refusals(&[
            (
                "[limits]\nheader_field = 999\n",
                &[
                    "r.toml:2:16: [limits] header_field = 999: must be at least \"1000\" bytes (one unfolded RFC 5322 line); fix: raise it to \"1000\" or more, the default is \"32KiB\"",
                ],
            ),
            (
                "[limits]\nheader_field = \"2MiB\"\n",
                &[
                    "r.toml:2:16: [limits] header_field = \"2MiB\": must not exceed [limits] header_size (1MiB): one field is part of the header section; fix: lower it to \"1MiB\" or less, or raise header_size",
                ],
            ),
            (
                "[limits]\nheader_size = \"16KiB\"\n",
                &[
                    "r.toml: [limits] header_field = \"32KiB\" (the default: the key is not in the file): must not exceed [limits] header_size (16KiB): one field is part of the header section; fix: lower it to \"16KiB\" or less, or raise header_size",
                ],
            ),
            (
                "[timeouts]\ndata_rate_window = 0\n",
                &[
                    "r.toml:2:20: [timeouts] data_rate_window = 0: must not be zero; fix: set a positive duration, the default is \"30s\"",
                ],
            ),
            (
                "[timeouts]\ndata = \"1min\"\ndata_rate_window = \"2min\"\n",
                &[
                    "r.toml:3:20: [timeouts] data_rate_window = \"2min\": must not exceed [timeouts] data (1m): a client silent that long is cut off first; fix: lower it to \"1m\" or less",
                ],
            ),
            (
                "[limits]\nmin_data_rate = 1\n[timeouts]\ndata_rate_window = \"500ms\"\n",
                &[
                    "r.toml:2:17: [limits] min_data_rate = 1: asks for less than one octet per [timeouts] data_rate_window (500ms), so it never ends a session; fix: raise it or data_rate_window, or set it to 0 to turn the floor off",
                ],
            ),
            (
                "[timeouts]\ncommand = \"10s\"\n",
                &[
                    "r.toml: [timeouts] tarpit_delay = \"1s\" (the default: the key is not in the file): holds the last error reply the [limits] errors budget allows (17 past tarpit_after) for 17s, not under [timeouts] command (10s): the client would give up waiting; fix: lower it to \"588ms\" or less, raise command, or lower [limits] errors",
                ],
            ),
            (
                "[timeouts]\ncommand = \"20s\"\ntarpit_delay = \"2s\"\n",
                &[
                    "r.toml:3:16: [timeouts] tarpit_delay = \"2s\": holds the last error reply the [limits] errors budget allows (17 past tarpit_after) for 30s, not under [timeouts] command (20s): the client would give up waiting; fix: lower it to \"1s 176ms\" or less, raise command, or lower [limits] errors",
                ],
            ),
            (
                "[limits]\nerrors = 200\n",
                &[
                    "r.toml: [timeouts] tarpit_delay = \"1s\" (the default: the key is not in the file): holds the 197 error replies the [limits] errors budget allows past tarpit_after for 1h 31m 15s in all, not under [timeouts] session (1h): the budget would never close a tarpitted session; fix: lower it, lower [limits] errors, or raise [limits] tarpit_after or [timeouts] session",
                ],
            ),
        ]);
        assert_eq!(
            warned("[domains]\naccept = [\"example.net\"]\n[timeouts]\ntarpit_delay = \"1min\"\n"),
            [
                "r.toml:4:16: warning: [timeouts] tarpit_delay = \"1min\": is past the 30-second cap on any one delayed reply; fix: lower it; every delayed reply waits at most 30 s anyway"
            ]
        );
        // Just inside every rule: a field as large as the header section, a
        // last hold just under the command bound (17 × 588ms = 9.996s), holds
        // adding up to just under the session (153 × 588ms = 89.964s), one
        // octet per window.
        let inside = "\
[domains]
accept = [\"example.net\"]
[limits]
header_size = \"16KiB\"
header_field = \"16KiB\"
min_data_rate = 2
[timeouts]
command = \"10s\"
tarpit_delay = \"588ms\"
session = \"90s\"
data_rate_window = \"500ms\"
";
        let loaded = parse(inside, "r.toml").unwrap();
        assert_eq!(loaded.config.limits.header_field.0, 16 << 10);
        assert_eq!(
            loaded
                .warnings
                .iter()
                .map(|w| w.key.as_str())
                .collect::<Vec<_>>(),
            ["timeouts.command"]
        );
        // With the defaults the holds add up to 1 + 2 + ... + 17 = 153 s.
        assert!(refused("[timeouts]\nsession = \"153s\"\n")[0].contains(" for 2m 33s in all"));
        assert!(parse("[timeouts]\nsession = \"154s\"\n", "r.toml").is_ok());
        // The tarpit off, or out of the budget's reach, asks nothing of the delay.
        for off in [
            "[limits]\ntarpit_after = 0\n[timeouts]\ncommand = \"1s\"\n",
            "[limits]\nerrors = 3\n[timeouts]\ncommand = \"1s\"\n",
        ] {
            let source = format!("[domains]\naccept = [\"example.net\"]\n{off}");
            assert_eq!(
                parse(&source, "r.toml").unwrap().warnings.len(),
                1,
                "{off}: only the short command bound is warned about"
            );
        }
    }

    #[test]
    fn server_rules() {
        assert_refusals(&[
            (
                "[server]\nlisten = []\n",
                &[
                    "r.toml:2:10: [server] listen = []: no address to listen on; fix: list at least one, e.g. listen = [\"0.0.0.0:25\"]",
                ],
            ),
            (
                "[server]\nlisten = [\"127.0.0.1:25\", \"[::1]:25\", \"127.0.0.1:25\"]\n",
                &[
                    "r.toml:2:39: [server] listen: 127.0.0.1:25 is listed twice; fix: remove one of them",
                ],
            ),
            (
                "[server]\nhostname = \"\"\n",
                &[
                    "r.toml:2:12: [server] hostname = \"\": must not be empty: it names this host in the banner, the EHLO reply and Received headers; fix: set it to this host's public name, the one the PTR record of its address gives, e.g. \"mx1.example.net\"",
                ],
            ),
            (
                "[server]\nhostname = \"mx_1.example.net\"\n",
                &[
                    "r.toml:2:12: [server] hostname = \"mx_1.example.net\": \"mx_1.example.net\" contains '_', which a domain name cannot hold; fix: use only letters, digits, hyphens and dots",
                ],
            ),
            (
                "[server]\nshards = 2000\n",
                &[
                    "r.toml:2:10: [server] shards = 2000: must be at most 1024; fix: use 0 for one shard per online CPU, or a count up to 1024",
                ],
            ),
            (
                "[server]\nmax_message_size = 100\n",
                &[
                    "r.toml:2:20: [server] max_message_size = 100: must be at least \"1KiB\" (a smaller limit refuses even a bounce); fix: raise it to \"1KiB\" or more, the default is \"50MiB\"",
                    "r.toml: [limits] header_size = \"1MiB\" (the default: the key is not in the file): must not exceed [server] max_message_size (100B); fix: lower it to \"100B\" or less, or raise max_message_size",
                ],
            ),
            (
                "[server]\nmax_message_size = \"5GiB\"\n",
                &[
                    "r.toml:2:20: [server] max_message_size = \"5GiB\": must be at most \"4GiB\"; fix: lower it to \"4GiB\" or less, the default is \"50MiB\"",
                    "r.toml: [limits] data_buffer_per_shard = \"2GiB\" (the default: the key is not in the file): must be at least [server] max_message_size (5GiB): one message of the largest accepted size must fit; fix: raise it to \"5GiB\" or more, or lower max_message_size",
                ],
            ),
            (
                "[server]\nconnection_rate_window = \"0s\"\n",
                &[
                    "r.toml:2:26: [server] connection_rate_window = \"0s\": must not be zero; fix: set a positive duration, the default is \"1m\"",
                ],
            ),
            (
                "[server]\nmax_connections_per_ip = 0\n",
                &[
                    "r.toml:2:26: [server] max_connections_per_ip = 0: must be at least 1 (0 refuses every client); fix: raise it to 1 or more, the default is 20",
                ],
            ),
            (
                "[server]\nmax_connections_per_shard = 0\n",
                &[
                    "r.toml:2:29: [server] max_connections_per_shard = 0: must be at least 1 (0 refuses every client); fix: raise it to 1 or more, the default is 10000",
                ],
            ),
            (
                "[server]\nmax_message_size = \"512KiB\"\n",
                &[
                    "r.toml: [limits] header_size = \"1MiB\" (the default: the key is not in the file): must not exceed [server] max_message_size (512KiB); fix: lower it to \"512KiB\" or less, or raise max_message_size",
                ],
            ),
        ]);
    }

    #[test]
    fn upstream_rules() {
        assert_refusals(&[
            (
                "[upstream]\naddress = []\n",
                &[
                    "r.toml:2:11: [upstream] address = []: no mail server to forward accepted mail to; fix: set your mail server's SMTP address, e.g. address = \"127.0.0.1:10025\"",
                ],
            ),
            (
                "[upstream]\naddress = \"127.0.0.1:2525\"\n",
                &[
                    "r.toml:2:11: [upstream] address: 127.0.0.1:2525 is also where ringwall listens: accepted mail would loop back into ringwall; fix: point it at the real mail server (e.g. Postfix's return port 127.0.0.1:10025), not at a [server] listen address",
                ],
            ),
            (
                "[server]\nlisten = \"0.0.0.0:2525\"\n[upstream]\naddress = [\"192.0.2.7:25\", \"127.0.0.1:2525\"]\n",
                &[
                    "r.toml:4:28: [upstream] address: 127.0.0.1:2525 is also where ringwall listens (through 0.0.0.0:2525): accepted mail would loop back into ringwall; fix: point it at the real mail server (e.g. Postfix's return port 127.0.0.1:10025), not at a [server] listen address",
                ],
            ),
            (
                "[upstream]\nmax_connections = 0\npool_idle = 0\n",
                &[
                    "r.toml:2:19: [upstream] max_connections = 0: must be at least 1 (0 forwards nothing); fix: raise it to 1 or more, the default is 1000",
                ],
            ),
            (
                "[upstream]\npool_idle = 2000\n",
                &[
                    "r.toml:2:13: [upstream] pool_idle = 2000: must not exceed [upstream] max_connections (1000); fix: lower it to 1000 or less, or raise max_connections",
                ],
            ),
            (
                "[upstream]\nmax_connections = 10\n",
                &[
                    "r.toml: [upstream] pool_idle = 32 (the default: the key is not in the file): must not exceed [upstream] max_connections (10); fix: lower it to 10 or less, or raise max_connections",
                ],
            ),
            (
                "[upstream]\npool_idle_time = 0\n",
                &[
                    "r.toml:2:18: [upstream] pool_idle_time = 0: must not be zero; fix: set a positive duration, the default is \"30s\"",
                ],
            ),
            (
                "[upstream]\nconnect_timeout = \"0s\"\n",
                &[
                    "r.toml:2:19: [upstream] connect_timeout = \"0s\": must not be zero; fix: set a positive duration, the default is \"10s\"",
                ],
            ),
            (
                "[upstream]\nreply_timeout = 0\n",
                &[
                    "r.toml:2:17: [upstream] reply_timeout = 0: must not be zero; fix: set a positive duration, the default is \"5m\"",
                ],
            ),
            (
                "[upstream]\ndata_timeout = 0\n",
                &[
                    "r.toml:2:16: [upstream] data_timeout = 0: must not be zero; fix: set a positive duration, the default is \"10m\"",
                ],
            ),
            (
                "[upstream]\nkeepalive_interval = 0\n",
                &[
                    "r.toml:2:22: [upstream] keepalive_interval = 0: must not be zero; fix: set a positive duration, the default is \"1m\"",
                ],
            ),
        ]);
    }

    #[test]
    fn domains_rules() {
        assert_refusals(&[
            (
                "[domains]\naccept = [\"bücher.example\"]\n",
                &[
                    "r.toml:2:11: [domains] accept: \"bücher.example\" is not ASCII: domains are compared in their ASCII (A-label) form; fix: write its A-label (xn--...) form, which `idn2 'bücher.example'` prints",
                ],
            ),
            (
                "[domains]\naccept = [\"example.net\",\n  \"postmaster@example.org\"]\n",
                &[
                    "r.toml:3:3: [domains] accept: \"postmaster@example.org\" is a mail address, not a domain name; fix: write only the part after the @: \"example.org\"",
                ],
            ),
            (
                "[domains]\naccept = [\"exa mple.net\"]\n",
                &[
                    "r.toml:2:11: [domains] accept: \"exa mple.net\" contains a space; fix: remove the spaces: \"example.net\"",
                ],
            ),
            (
                "[domains]\naccept = [\"a..example\"]\n",
                &[
                    "r.toml:2:11: [domains] accept: \"a..example\" has an empty label (a leading dot or two dots in a row); fix: remove the extra dot: \"a.example\"",
                ],
            ),
            (
                "[domains]\naccept = [\"example.net\", \"Example.NET\"]\n",
                &[
                    "r.toml:2:26: [domains] accept: \"example.net\" is listed twice (entries 1 and 2); fix: remove one of them; case does not matter in domain names",
                ],
            ),
        ]);
    }

    #[test]
    fn limits_rules() {
        assert_refusals(&[
            (
                "[limits]\ncommand_line = 100\n",
                &[
                    "r.toml:2:16: [limits] command_line = 100: must be at least 512 bytes (SIZE, DSN and SMTPUTF8 parameters push MAIL past 512); fix: raise it to 512 or more, the default is 2048",
                ],
            ),
            (
                "[limits]\ncommand_line = \"70000\"\n",
                &[
                    "r.toml:2:16: [limits] command_line = \"70000\": must be at most 65536 bytes; fix: lower it to 65536 or less, the default is 2048",
                ],
            ),
            (
                "[limits]\ndata_line = 999\n",
                &[
                    "r.toml:2:13: [limits] data_line = 999: must be at least 1000 bytes, the RFC 5321 §4.5.3.1.6 line length (998 characters and CRLF); fix: raise it to 1000 or more, the default is \"64KiB\"",
                ],
            ),
            (
                "[limits]\ndata_line = \"17MiB\"\n",
                &[
                    "r.toml:2:13: [limits] data_line = \"17MiB\": must be at most \"16MiB\"; fix: lower it to \"16MiB\" or less, the default is \"64KiB\"",
                ],
            ),
            (
                "[limits]\nheader_size = 512\n",
                &[
                    "r.toml:2:15: [limits] header_size = 512: must be at least \"1KiB\"; fix: raise it to \"1KiB\" or more, the default is \"1MiB\"",
                ],
            ),
            (
                "[limits]\nrecipients = 99\n",
                &[
                    "r.toml:2:14: [limits] recipients = 99: must be at least 100 (RFC 5321 §4.5.3.1.8: a server must take 100 recipients per message); fix: raise it to 100 or more, the default is 1000",
                ],
            ),
            (
                "[limits]\nrecipients = 100001\n",
                &[
                    "r.toml:2:14: [limits] recipients = 100001: must be at most 100000; fix: lower it to 100000 or less, the default is 1000",
                ],
            ),
            (
                "[limits]\nerrors = 0\n",
                &[
                    "r.toml:2:10: [limits] errors = 0: must be at least 1 (0 closes every session at its first mistake); fix: raise it to 1 or more, the default is 20",
                ],
            ),
            (
                "[limits]\ncommands = 9\n",
                &[
                    "r.toml:2:12: [limits] commands = 9: must be at least 10 (one delivery takes EHLO, MAIL, RCPT, DATA and QUIT); fix: raise it to 10 or more, the default is 100000",
                ],
            ),
            (
                "[limits]\ndata_buffer_per_shard = \"10MiB\"\n",
                &[
                    "r.toml:2:25: [limits] data_buffer_per_shard = \"10MiB\": must be at least [server] max_message_size (50MiB): one message of the largest accepted size must fit; fix: raise it to \"50MiB\" or more, or lower max_message_size",
                ],
            ),
        ]);
    }

    #[test]
    fn timeouts_rules() {
        assert_refusals(&[
            (
                "[timeouts]\ncommand = 0\n",
                &[
                    "r.toml:2:11: [timeouts] command = 0: must not be zero; fix: set a positive duration, the default is \"5m\"",
                ],
            ),
            (
                "[timeouts]\ndata = 0\n",
                &[
                    "r.toml:2:8: [timeouts] data = 0: must not be zero; fix: set a positive duration, the default is \"5m\"",
                ],
            ),
            (
                "[timeouts]\nunder_stress = 0\n",
                &[
                    "r.toml:2:16: [timeouts] under_stress = 0: must not be zero; fix: set a positive duration, the default is \"10s\"",
                ],
            ),
            (
                "[timeouts]\nsession = 0\n",
                &[
                    "r.toml:2:11: [timeouts] session = 0: must not be zero; fix: set a positive duration, the default is \"1h\"",
                ],
            ),
            (
                "[timeouts]\nshutdown_grace = 0\n",
                &[
                    "r.toml:2:18: [timeouts] shutdown_grace = 0: must not be zero; fix: set a positive duration, the default is \"30s\"",
                ],
            ),
            (
                "[timeouts]\nstress_threshold = 0\n",
                &[
                    "r.toml:2:20: [timeouts] stress_threshold = 0: must be above 0 and at most 1: it is the fraction of max_connections_per_shard past which a shard is under stress; fix: use a fraction such as 0.8, the default",
                ],
            ),
            (
                "[timeouts]\nstress_threshold = 1.5\n",
                &[
                    "r.toml:2:20: [timeouts] stress_threshold = 1.5: must be above 0 and at most 1: it is the fraction of max_connections_per_shard past which a shard is under stress; fix: use a fraction such as 0.8, the default",
                ],
            ),
            (
                "[timeouts]\nstress_threshold = nan\n",
                &[
                    "r.toml:2:20: [timeouts] stress_threshold = nan: must be above 0 and at most 1: it is the fraction of max_connections_per_shard past which a shard is under stress; fix: use a fraction such as 0.8, the default",
                ],
            ),
        ]);
    }

    #[test]
    fn log_rules() {
        assert_refusals(&[
            (
                "[log]\nlevel = \"\"\n",
                &[
                    "r.toml:2:9: [log] level = \"\": must not be empty; fix: use a level (error, warn, info, debug, trace) or target=level pairs separated by commas, e.g. \"ringwall=debug,info\"",
                ],
            ),
            (
                "[log]\nlevel = \"info debug\"\n",
                &[
                    "r.toml:2:9: [log] level = \"info debug\": contains ' ', which a log filter cannot hold; fix: use a level (error, warn, info, debug, trace) or target=level pairs separated by commas, e.g. \"ringwall=debug,info\"",
                ],
            ),
        ]);
    }

    #[test]
    fn report_rules() {
        assert_refusals(&[
            (
                "[report]\nlogs = [\"-\"]\n",
                &[
                    "r.toml:2:9: [report] logs: \"-\" (standard input) is for the command line, not the configuration; fix: remove it and pipe into `ringwall report --log -` instead",
                ],
            ),
            (
                "[report]\nlogs = [\"/var/log/ringwall.log\", \"ringwall.log\", \"/var/log/ringwall.log\"]\n",
                &[
                    "r.toml:2:34: [report] logs: \"ringwall.log\" is a relative path, read from wherever the daemon started; fix: write the full path, e.g. \"/var/log/ringwall.log\"",
                    "r.toml:2:50: [report] logs: \"/var/log/ringwall.log\" is listed twice; fix: remove one of them: its lines would be counted twice",
                ],
            ),
            (
                "[report]\nlogs = [\"/\"]\n",
                &[
                    "r.toml:2:9: [report] logs: \"/\" is a directory; fix: name the log file itself, e.g. \"/var/log/ringwall.log\"",
                ],
            ),
        ]);
    }

    #[test]
    fn values_on_the_bounds_are_accepted() {
        let source = "\
[server]
listen = \"0.0.0.0:25\"
hostname = \"MX1.example.net\"
shards = 1024
max_message_size = \"1KiB\"
max_connections_per_ip = 1
max_connections_per_shard = 1
[upstream]
address = [\"127.0.0.1:10025\", \"[::1]:10025\"]
max_connections = 1
pool_idle = 1
[domains]
accept = [\"example.net\"]
[limits]
command_line = 512
data_line = 1000
header_size = \"1KiB\"
recipients = 100
errors = 1
commands = 10
data_buffer_per_shard = \"1KiB\"
header_field = 1000
[timeouts]
command = \"5min\"
stress_threshold = 1
";
        let upper = "[server]\nmax_message_size = \"4GiB\"\n[limits]\ncommand_line = \"64KiB\"\n\
                     data_line = \"16MiB\"\nrecipients = 100000\ndata_buffer_per_shard = \"4GiB\"\n\
                     [domains]\naccept = [\"example.net\"]\n";
        for source in [source, upper] {
            assert_eq!(warned(source), Vec::<String>::new(), "{source}");
        }
    }

    #[test]
    fn a_wildcard_listener_on_the_same_port_catches_the_loop() {
        use super::loops_back;
        let addr = |text: &str| text.parse().unwrap();
        assert!(loops_back(addr("0.0.0.0:25"), addr("127.0.0.1:25")));
        assert!(loops_back(addr("[::]:25"), addr("[::1]:25")));
        assert!(loops_back(addr("[::]:25"), addr("127.0.0.1:25")));
        assert!(loops_back(addr("192.0.2.1:25"), addr("192.0.2.1:25")));
        assert!(!loops_back(addr("0.0.0.0:25"), addr("127.0.0.1:10025")));
        assert!(!loops_back(addr("0.0.0.0:25"), addr("192.0.2.9:25")));
        assert!(!loops_back(addr("127.0.0.1:25"), addr("127.0.0.2:25")));
    }

    #[test]
    fn suspicious_values_warn_at_their_line() {
        assert_eq!(
            warned("[domains]\naccept = []\n"),
            [
                "r.toml:2:10: warning: [domains] accept = []: no recipient domain is accepted: every RCPT TO \
              will be refused with 550 5.7.1; fix: list the domains your upstream receives mail for, e.g. \
              accept = [\"example.net\"]"
            ]
        );
        assert_eq!(
            warned("[domains]\naccept = [\"example.net\"]\n[timeouts]\ncommand = \"4min\"\n"),
            [
                "r.toml:4:11: warning: [timeouts] command = \"4min\": is under 5 minutes, the least RFC 5321 \
              §4.5.3.2.7 asks a server to wait for the next command; slow or distant clients may be cut off; \
              fix: raise it to \"5min\" unless the shortcut is deliberate (under_stress already shortens \
              waits while a shard is busy)"
            ]
        );
    }

    #[test]
    fn every_error_is_reported_in_file_order_defaults_last() {
        let source = "\
[upstream]
max_connections = 4
[server]
shards = 5000
[limits]
recipients = 7
";
        let refusals = parse(source, "r.toml").unwrap_err().0;
        let keys: Vec<(Option<usize>, &str)> = refusals
            .iter()
            .map(|error| {
                (
                    error.position.map(|at| at.line),
                    error.key.as_deref().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                (Some(4), "server.shards"),
                (Some(6), "limits.recipients"),
                (None, "upstream.pool_idle")
            ]
        );
    }
}
