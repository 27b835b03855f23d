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
}

impl Outcome {
    /// The end-of-data reply, if the outcome sends one.
    pub(crate) fn reply(self) -> Option<&'static [u8]> {
        match self {
            Self::Accept => Some(reply::QUEUED),
            Self::Tempfail => Some(reply::TEMPFAIL),
            Self::Reject => Some(reply::REJECT),
            Self::Close | Self::Timeout => None,
        }
    }
}
