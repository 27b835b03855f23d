//! The MAIL and RCPT command lines, rendered once per run.
//!
//! Every message of a run has the same sender and draws its recipients
//! round-robin from the same list, so the lines are built before the run
//! and each message only copies them.

/// Pre-rendered envelope commands.
#[derive(Debug)]
pub(crate) struct Envelope {
    /// `MAIL FROM:<sender>` CRLF.
    mail: Vec<u8>,
    /// `RCPT TO:<recipient>` CRLF, one per address.
    rcpts: Vec<Vec<u8>>,
    /// Recipients per message.
    per_message: usize,
}

impl Envelope {
    /// The lines for `from` and `to`, `per_message` recipients per message
    /// (at least 1, at most `to.len()`).
    pub(crate) fn new(from: &str, to: &[String], per_message: usize) -> Self {
        Self {
            mail: format!("MAIL FROM:<{from}>\r\n").into_bytes(),
            rcpts: to
                .iter()
                .map(|address| format!("RCPT TO:<{address}>\r\n").into_bytes())
                .collect(),
            per_message,
        }
    }

    /// The MAIL line.
    pub(crate) fn mail(&self) -> &[u8] {
        &self.mail
    }

    /// Recipients per message.
    pub(crate) fn per_message(&self) -> usize {
        self.per_message
    }

    /// The RCPT lines of message `seq`: the next `per_message` addresses
    /// of the cycle, so every address gets its share of the mail.
    pub(crate) fn rcpts(&self, seq: u64) -> impl Iterator<Item = &[u8]> {
        let count = self.rcpts.len();
        let first = (seq % count as u64) as usize * self.per_message;
        (0..self.per_message).map(move |i| self.rcpts[(first + i) % count].as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_rotate() {
        let to: Vec<String> = ["a@x", "b@x", "c@x"].map(String::from).to_vec();
        let envelope = Envelope::new("s@y", &to, 2);
        assert_eq!(envelope.mail(), b"MAIL FROM:<s@y>\r\n");
        let lines = |seq| {
            envelope
                .rcpts(seq)
                .map(|line| String::from_utf8_lossy(line).into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(lines(0), ["RCPT TO:<a@x>\r\n", "RCPT TO:<b@x>\r\n"]);
        assert_eq!(lines(1), ["RCPT TO:<c@x>\r\n", "RCPT TO:<a@x>\r\n"]);
        assert_eq!(lines(2), ["RCPT TO:<b@x>\r\n", "RCPT TO:<c@x>\r\n"]);
        let null = Envelope::new("", &to[..1], 1);
        assert_eq!(null.mail(), b"MAIL FROM:<>\r\n");
        assert_eq!(null.rcpts(7).count(), 1);
    }
}
