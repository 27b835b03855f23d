//! The `--record` line: which message arrived, for whom, and how big.
//!
//! One line per accepted message lets a test or a benchmark check that every
//! message it sent arrived exactly once (by Message-ID) with the envelope the
//! proxy was supposed to pass on, without keeping the messages themselves.

use super::smtp::Delivery;

/// Written in place of a missing Message-ID (here and in the ids kept for
/// `--verify-against`).
pub(crate) const NO_MESSAGE_ID: &str = "<none>";

/// Written in place of the null reverse-path (`MAIL FROM:<>`).
const NULL_SENDER: &[u8] = b"<>";

/// The record line for `delivery`, with its newline:
/// `MESSAGE-ID \t MAIL-FROM \t RCPT,RCPT \t SIZE`.
///
/// Paths are written without angle brackets; the null sender as `<>`. Tabs
/// and line breaks inside values become spaces so the line stays one line.
pub(crate) fn line(delivery: &Delivery) -> Vec<u8> {
    let mut line = Vec::with_capacity(128);
    match message_id(&delivery.content) {
        Some(id) => push_clean(&mut line, &id),
        None => line.extend_from_slice(NO_MESSAGE_ID.as_bytes()),
    }
    line.push(b'\t');
    if delivery.from.is_empty() {
        line.extend_from_slice(NULL_SENDER);
    } else {
        push_clean(&mut line, &delivery.from);
    }
    line.push(b'\t');
    for (i, recipient) in delivery.recipients.iter().enumerate() {
        if i > 0 {
            line.push(b',');
        }
        push_clean(&mut line, recipient);
    }
    line.push(b'\t');
    line.extend_from_slice(delivery.size.to_string().as_bytes());
    line.push(b'\n');
    line
}

/// Appends `value` with tabs and line breaks turned into spaces.
fn push_clean(line: &mut Vec<u8>, value: &[u8]) {
    line.extend(value.iter().map(|&b| match b {
        b'\t' | b'\r' | b'\n' => b' ',
        other => other,
    }));
}

/// The unfolded, trimmed value of the first Message-ID header in the header
/// section of `message`, if there is one with a value.
pub(crate) fn message_id(message: &[u8]) -> Option<Vec<u8>> {
    const NAME: &[u8] = b"message-id:";
    let mut value: Option<Vec<u8>> = None;
    for raw in message.split(|&b| b == b'\n') {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.is_empty() {
            break;
        }
        let folded = line[0] == b' ' || line[0] == b'\t';
        match value.as_mut() {
            Some(value) if folded => {
                value.push(b' ');
                value.extend_from_slice(line.trim_ascii());
            }
            Some(_) => break,
            None if line.len() >= NAME.len() && line[..NAME.len()].eq_ignore_ascii_case(NAME) => {
                value = Some(line[NAME.len()..].trim_ascii().to_vec());
            }
            None => {}
        }
    }
    value
        .map(|value| value.trim_ascii().to_vec())
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::smtp::Outcome;

    fn delivery(content: &[u8], from: &[u8], recipients: &[&[u8]]) -> Delivery {
        Delivery {
            outcome: Outcome::Accept,
            size: 42,
            content: content.to_vec(),
            from: from.to_vec(),
            recipients: recipients.iter().map(|r| r.to_vec()).collect(),
            transcript: Vec::new(),
        }
    }

    #[test]
    fn full_line() {
        let d = delivery(
            b"Subject: x\r\nMessage-ID: <1@a.test>\r\n\r\nbody\r\n",
            b"s@a.test",
            &[b"r1@b.test", b"r2@b.test"],
        );
        assert_eq!(line(&d), b"<1@a.test>\ts@a.test\tr1@b.test,r2@b.test\t42\n");
    }

    #[test]
    fn missing_id_and_null_sender() {
        let d = delivery(
            b"Subject: x\r\n\r\nMessage-ID: <body@not.header>\r\n",
            b"",
            &[b"r@b"],
        );
        assert_eq!(line(&d), b"<none>\t<>\tr@b\t42\n");
    }

    #[test]
    fn folded_and_odd_case_id() {
        assert_eq!(
            message_id(b"MESSAGE-id:\r\n  <2@a.test>\r\nX: y\r\n\r\n"),
            Some(b"<2@a.test>".to_vec())
        );
        assert_eq!(message_id(b"Message-ID:   \r\n\r\n"), None);
    }
}
