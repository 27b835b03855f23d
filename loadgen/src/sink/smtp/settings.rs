//! The per-run facts a session needs, prepared once from the sink's config.
//!
//! Replies that depend on the config (greeting, EHLO) are rendered here once,
//! so answering EHLO is a copy, and each shard holds its own copy so no
//! reference count is shared between cores.

use super::body::Capture;
use crate::sink::config::SinkConfig;
use crate::sink::fail::FailPlan;

/// Most recipients one transaction may collect: the sink stays bounded even
/// when a client is not.
pub(crate) const MAX_RECIPIENTS: usize = 1000;

/// What shapes every session of one sink run.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The 220 line, also sent again after XCLIENT.
    pub(crate) greeting: Vec<u8>,
    /// The full multi-line EHLO reply.
    pub(crate) ehlo: Vec<u8>,
    /// The HELO reply.
    pub(crate) helo: Vec<u8>,
    /// CHUNKING was advertised, so BDAT is accepted.
    pub(crate) chunking: bool,
    /// XFORWARD was advertised.
    pub(crate) xforward: bool,
    /// XCLIENT was advertised.
    pub(crate) xclient: bool,
    /// Recipient domains to refuse.
    pub(crate) reject_domains: Vec<String>,
    /// Failures to inject.
    pub(crate) fail: FailPlan,
    /// Keep MAIL FROM and accepted RCPT paths (for `--record`).
    pub(crate) keep_envelope: bool,
    /// Keep the EHLO/XFORWARD/MAIL/RCPT lines (for `--dump-dir`).
    pub(crate) keep_transcript: bool,
    /// How much of each message to copy.
    pub(crate) capture: Capture,
}

impl Settings {
    /// Renders the replies and flags for `config`.
    pub(crate) fn new(config: &SinkConfig) -> Self {
        let host = &config.hostname;
        let extensions: Vec<&str> = config
            .ehlo_extensions
            .iter()
            .map(|extension| extension.trim())
            .filter(|extension| !extension.is_empty())
            .collect();
        let advertised = |keyword: &str| {
            extensions.iter().any(|extension| {
                extension
                    .split(' ')
                    .next()
                    .is_some_and(|word| word.eq_ignore_ascii_case(keyword))
            })
        };
        let lines: Vec<&str> = std::iter::once(host.as_str())
            .chain(extensions.iter().copied())
            .collect();
        let mut ehlo = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            // Every line but the last has a dash after the code.
            let more = i + 1 < lines.len();
            ehlo.extend_from_slice(if more { b"250-" } else { b"250 " });
            ehlo.extend_from_slice(line.as_bytes());
            ehlo.extend_from_slice(b"\r\n");
        }
        let capture = if config.dump_dir.is_some() {
            Capture::Everything
        } else if config.record.is_some() || config.verify_against.is_some() {
            // Both need the Message-ID, which is in the header section.
            Capture::Headers
        } else {
            Capture::Nothing
        };
        Self {
            greeting: format!("220 {host} ESMTP ringwall-loadgen sink\r\n").into_bytes(),
            ehlo,
            helo: format!("250 {host}\r\n").into_bytes(),
            chunking: advertised("CHUNKING"),
            xforward: advertised("XFORWARD"),
            xclient: advertised("XCLIENT"),
            reject_domains: config
                .reject_rcpt_domains
                .iter()
                .map(|domain| domain.trim().trim_start_matches('@').to_ascii_lowercase())
                .collect(),
            fail: config.fail.clone(),
            keep_envelope: config.record.is_some(),
            keep_transcript: config.dump_dir.is_some(),
            capture,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ehlo_reply_is_well_formed() {
        let config = SinkConfig {
            hostname: "mx.test".into(),
            ehlo_extensions: vec!["PIPELINING".into(), "CHUNKING".into()],
            ..SinkConfig::default()
        };
        let settings = Settings::new(&config);
        assert_eq!(
            settings.ehlo,
            b"250-mx.test\r\n250-PIPELINING\r\n250 CHUNKING\r\n"
        );
        assert!(settings.chunking);
        assert!(!settings.xforward);
    }

    #[test]
    fn ehlo_without_extensions_is_one_line() {
        let config = SinkConfig {
            hostname: "mx.test".into(),
            ehlo_extensions: vec![String::new()],
            ..SinkConfig::default()
        };
        assert_eq!(Settings::new(&config).ehlo, b"250 mx.test\r\n");
    }

    #[test]
    fn default_advertises_chunking_and_xforward() {
        let settings = Settings::new(&SinkConfig::default());
        assert!(settings.chunking && settings.xforward && !settings.xclient);
        assert_eq!(settings.capture, Capture::Nothing);
    }
}
