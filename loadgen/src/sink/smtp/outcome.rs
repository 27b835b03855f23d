//! How a message's end-of-data is answered (or not).

use super::reply;

/// What the sink does with a complete message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// 250: the message is taken.
    Accept,
    /// 451 4.3.0: try again later (injected).
    Tempfail,
    /// 554 5.6.0: refused (injected).
    Reject,
    /// Hang up without answering (injected).
    Close,
    /// Never answer and keep the connection open (injected).
    Timeout,
    /// 250, then forget the message: not counted, recorded, dumped or
    /// remembered for `--verify-against` (injected, test-only: a sink that
    /// loses mail, so the exactly-once check can be shown to catch it).
    Lose,
    /// 250, and keep the message twice: counted, recorded, dumped and
    /// remembered two times (injected, test-only: a sink that duplicates).
    Duplicate,
}

impl Outcome {
    /// The end-of-data reply, if the outcome sends one.
    pub(crate) fn reply(self) -> Option<&'static [u8]> {
        match self {
            Self::Accept | Self::Lose | Self::Duplicate => Some(reply::QUEUED),
            Self::Tempfail => Some(reply::TEMPFAIL),
            Self::Reject => Some(reply::REJECT),
            Self::Close | Self::Timeout => None,
        }
    }

    /// How many times the sink keeps (counts, records, remembers) a message
    /// that ended this way: once when accepted, and otherwise as the
    /// injected fault says.
    pub(crate) fn copies(self) -> u64 {
        match self {
            Self::Accept => 1,
            Self::Duplicate => 2,
            Self::Tempfail | Self::Reject | Self::Close | Self::Timeout | Self::Lose => 0,
        }
    }
}
