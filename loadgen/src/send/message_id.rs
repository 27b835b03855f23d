//! The Message-ID stamped on every message: `<SHARD-SEQ.RUNID@ringwall-loadgen.invalid>`.
//!
//! The sender lists the IDs it saw accepted and the sink lists the IDs it
//! received, so exactly-once delivery can be checked message by message.
//! RUNID is random per run so two runs against one sink never collide; the
//! shard prefix lets each shard count on its own, with no shared counter.

use std::fs::File;
use std::io::Read;
use std::time::{SystemTime, UNIX_EPOCH};

/// The domain part: `.invalid` (RFC 2606) can never be a real host.
const DOMAIN: &[u8] = b"@ringwall-loadgen.invalid>";

/// What identifies one run among others sent to the same sink.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RunId(String);

impl RunId {
    /// A fresh random id: 12 hex digits from the kernel's random source, or
    /// from the clock and process id if that cannot be read.
    pub(crate) fn random() -> Self {
        let mut bytes = [0u8; 8];
        let value = match File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)) {
            Ok(()) => u64::from_le_bytes(bytes),
            Err(_) => {
                let nanos = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |since| since.as_nanos() as u64);
                nanos ^ u64::from(std::process::id()).rotate_left(40)
            }
        };
        Self(format!("{:012x}", value & 0xffff_ffff_ffff))
    }

    /// The id as it appears in Message-IDs.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// Appends `<SHARD-SEQ.RUNID@ringwall-loadgen.invalid>` to `out`,
    /// without allocating: this runs once per message.
    pub(crate) fn push_id(&self, out: &mut Vec<u8>, shard: usize, seq: u64) {
        out.push(b'<');
        push_decimal(out, shard as u64);
        out.push(b'-');
        push_decimal(out, seq);
        out.push(b'.');
        out.extend_from_slice(self.0.as_bytes());
        out.extend_from_slice(DOMAIN);
    }

    /// The Message-ID of message `seq` of `shard`, as a string.
    pub(crate) fn id(&self, shard: usize, seq: u64) -> String {
        let mut out = Vec::with_capacity(48);
        self.push_id(&mut out, shard, seq);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Appends `value` in decimal.
fn push_decimal(out: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_shard_sequence_and_run() {
        let run = RunId("0123456789ab".into());
        assert_eq!(run.id(0, 0), "<0-0.0123456789ab@ringwall-loadgen.invalid>");
        assert_eq!(
            run.id(3, u64::MAX),
            "<3-18446744073709551615.0123456789ab@ringwall-loadgen.invalid>"
        );
    }

    #[test]
    fn runs_differ() {
        let (a, b) = (RunId::random(), RunId::random());
        assert_eq!(a.as_str().len(), 12);
        assert!(a.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
