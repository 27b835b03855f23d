//! Turns the operator's config (and what the upstream offers) into the settings
//! the pure session and the relay use.

use crate::config::{BareNewlines, Config};
use crate::dns::ResolverSettings;
use crate::rbl::{CacheLimits, CodeError, GreylistSettings, ListKind, TriageSettings, Zone};
use crate::relay::{Announce, UpstreamSettings};
use crate::smtp::client::Capabilities;
use crate::smtp::{BareLf, BodyLimits, Extensions, Limits, SessionConfig, Timeouts};

/// Octets our `Received:` header adds to a message, at most; SIZE advertised to
/// clients leaves this much room under the upstream's own limit.
pub const HEADER_GROWTH: u64 = 1024;

/// Session settings for the upstream's capabilities (`None` before the upstream
/// was ever reached: then only 8BITMIME, which every MTA in service takes).
pub fn session_config(config: &Config, upstream: Option<&Capabilities>) -> SessionConfig {
    let ours = config.server.max_message_size.0;
    let size = match upstream.and_then(|c| c.size) {
        Some(theirs) if theirs > 0 => ours.min(theirs.saturating_sub(HEADER_GROWTH)),
        _ => ours,
    };
    let extensions = Extensions {
        size,
        eight_bit_mime: upstream.is_none_or(|c| c.eight_bit_mime),
        smtputf8: upstream.is_some_and(|c| c.smtputf8),
        chunking: upstream.is_some_and(|c| c.chunking),
        dsn: upstream.is_some_and(|c| c.dsn),
        starttls: config.tls.files().is_some(),
    };
    let l = &config.limits;
    let t = &config.timeouts;
    SessionConfig {
        hostname: config.server.hostname.clone(),
        extensions,
        limits: Limits {
            command_line: usize::try_from(l.command_line.0).unwrap_or(usize::MAX),
            body: BodyLimits {
                max_size: size,
                max_header: l.header_size.0,
                // The config counts the CRLF; the decoder counts content octets.
                max_line: l.data_line.0.saturating_sub(2),
                max_header_field: l.header_field.0,
                bare_lf: match config.server.bare_newlines {
                    BareNewlines::Normalize => BareLf::Normalize,
                    BareNewlines::Reject => BareLf::Reject,
                },
            },
            recipients: l.recipients as usize,
            errors: l.errors,
            commands: l.commands,
            tarpit_after: l.tarpit_after,
            min_data_rate: l.min_data_rate.0,
        },
        timeouts: Timeouts {
            command: t.command.0,
            data: t.data.0,
            under_stress: t.under_stress.0,
            session: t.session.0,
            tarpit_delay: t.tarpit_delay.0,
            data_rate_window: t.data_rate_window.0,
        },
    }
}

/// The resolver's view of `[dns]`.
pub fn resolver_settings(config: &Config) -> ResolverSettings {
    let d = &config.dns;
    ResolverSettings {
        servers: d.resolvers.clone(),
        timeout: d.timeout.0,
        attempts: d.attempts,
        max_in_flight: d.max_in_flight as usize,
        sockets: d.sockets as usize,
        rotate_after: d.rotate_after,
    }
}

/// Triage's view of `[rbl]`.
pub fn triage_settings(config: &Config) -> TriageSettings {
    let r = &config.rbl;
    TriageSettings {
        cache: CacheLimits {
            min_ttl: r.cache_min_ttl.0,
            max_ttl: r.cache_max_ttl.0,
            entries: r.cache_entries as usize,
        },
        pass_ttl: r.pass_ttl.0,
        reject_threshold: r.reject_threshold,
    }
}

/// Greylisting's view of `[greylist]`.
pub fn greylist_settings(config: &Config) -> GreylistSettings {
    let g = &config.greylist;
    GreylistSettings {
        delay: g.delay.0,
        retry_window: g.retry_window.0,
        pass_ttl: g.pass_ttl.0,
        auto_whitelist_after: g.auto_whitelist_after,
        ipv4_prefix: g.ipv4_prefix,
        ipv6_prefix: g.ipv6_prefix,
        entries: g.entries as usize,
    }
}

/// The zones of `[[dnsbl]]` then `[[dnswl]]`, compiled.
pub fn zones(config: &Config) -> Result<Vec<Zone>, CodeError> {
    let block = config.dnsbl.iter().map(|z| Zone::new(z, ListKind::Block));
    let allow = config.dnswl.iter().map(|z| Zone::new(z, ListKind::Allow));
    block.chain(allow).collect()
}

/// The relay's view of `[upstream]`.
pub fn upstream_settings(config: &Config) -> UpstreamSettings {
    let u = &config.upstream;
    UpstreamSettings {
        addresses: u.address.clone(),
        helo_name: config.server.hostname.clone(),
        connect_timeout: u.connect_timeout.0,
        reply_timeout: u.reply_timeout.0,
        data_timeout: u.data_timeout.0,
        max_connections: u.max_connections,
        pool_idle: u.pool_idle,
        pool_idle_time: u.pool_idle_time.0,
        announce: if u.xclient {
            Announce::Xclient
        } else if u.xforward {
            Announce::Xforward
        } else {
            Announce::Nothing
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertised_size_leaves_room_for_our_header() {
        let config = Config::default();
        let caps = Capabilities {
            size: Some(10_000_000),
            chunking: true,
            ..Capabilities::default()
        };
        let s = session_config(&config, Some(&caps));
        assert_eq!(s.extensions.size, 10_000_000 - HEADER_GROWTH);
        assert!(s.extensions.chunking && !s.extensions.dsn && !s.extensions.eight_bit_mime);
        let unlimited = Capabilities {
            size: Some(0),
            ..Capabilities::default()
        };
        assert_eq!(
            session_config(&config, Some(&unlimited)).extensions.size,
            config.server.max_message_size.0
        );
    }

    /// The hardening keys reach the session as configured.
    #[test]
    fn tarpit_rate_floor_and_header_field_reach_the_session() {
        use crate::config::{ByteSize, HumanDuration};
        use std::time::Duration;
        let defaults = session_config(&Config::default(), None);
        assert_eq!(defaults.limits.body.max_header_field, 32 * 1024);
        assert_eq!(defaults.limits.tarpit_after, 3);
        assert_eq!(defaults.limits.min_data_rate, 128);
        assert_eq!(defaults.timeouts.tarpit_delay, Duration::from_secs(1));
        assert_eq!(defaults.timeouts.data_rate_window, Duration::from_secs(30));
        let mut config = Config::default();
        config.limits.header_field = ByteSize(2000);
        config.limits.tarpit_after = 0;
        config.limits.min_data_rate = ByteSize(0);
        config.timeouts.tarpit_delay = HumanDuration(Duration::from_millis(250));
        config.timeouts.data_rate_window = HumanDuration(Duration::from_secs(5));
        let s = session_config(&config, None);
        assert_eq!(s.limits.body.max_header_field, 2000);
        assert_eq!((s.limits.tarpit_after, s.limits.min_data_rate), (0, 0));
        assert_eq!(s.timeouts.tarpit_delay, Duration::from_millis(250));
        assert_eq!(s.timeouts.data_rate_window, Duration::from_secs(5));
    }

    #[test]
    fn unknown_upstream_gets_conservative_extensions() {
        let s = session_config(&Config::default(), None);
        assert!(s.extensions.eight_bit_mime);
        assert!(!s.extensions.chunking && !s.extensions.smtputf8 && !s.extensions.dsn);
        assert_eq!(s.limits.body.max_line, 64 * 1024 - 2);
    }
}
