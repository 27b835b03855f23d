//! The sink's fixed replies, each a complete CRLF-terminated line.
//!
//! Keeping them as byte constants means answering a command is one
//! `extend_from_slice`, and tests compare against the same constants.

/// A command that needs no more than "done".
pub(crate) const OK: &[u8] = b"250 2.0.0 Ok\r\n";
/// MAIL accepted.
pub(crate) const SENDER_OK: &[u8] = b"250 2.1.0 Ok\r\n";
/// RCPT accepted.
pub(crate) const RECIPIENT_OK: &[u8] = b"250 2.1.5 Ok\r\n";
/// A non-final BDAT chunk was received.
pub(crate) const CHUNK_OK: &[u8] = b"250 2.0.0 Ok: chunk received\r\n";
/// DATA accepted: send the message.
pub(crate) const START_DATA: &[u8] = b"354 End data with <CR><LF>.<CR><LF>\r\n";
/// QUIT.
pub(crate) const BYE: &[u8] = b"221 2.0.0 Bye\r\n";
/// End-of-data: the message is accepted.
pub(crate) const QUEUED: &[u8] = b"250 2.0.0 Ok: queued\r\n";
/// End-of-data: injected temporary failure.
pub(crate) const TEMPFAIL: &[u8] = b"451 4.3.0 Error: try again later\r\n";
/// End-of-data: injected permanent rejection.
pub(crate) const REJECT: &[u8] = b"554 5.6.0 Error: message rejected\r\n";
/// End-of-data: the message could not be recorded or dumped, so it must not
/// be acknowledged.
pub(crate) const STORE_FAILED: &[u8] = b"451 4.3.0 Error: sink could not store the message\r\n";
/// RCPT refused (rejected domain or injected failure).
pub(crate) const RECIPIENT_UNKNOWN: &[u8] = b"550 5.1.1 Error: recipient rejected\r\n";
/// Too many recipients in one transaction.
pub(crate) const TOO_MANY_RECIPIENTS: &[u8] = b"452 4.5.3 Error: too many recipients\r\n";
/// A verb the sink does not know, or an extension it did not advertise.
pub(crate) const UNKNOWN_COMMAND: &[u8] = b"502 5.5.2 Error: command not recognized\r\n";
/// A known verb with arguments that do not parse.
pub(crate) const SYNTAX: &[u8] = b"501 5.5.4 Syntax error in parameters or arguments\r\n";
/// An empty command line.
pub(crate) const EMPTY_LINE: &[u8] = b"500 5.5.2 Error: bad syntax\r\n";
/// A command line longer than the sink reads.
pub(crate) const LINE_TOO_LONG: &[u8] = b"500 5.5.2 Error: line too long\r\n";
/// MAIL before HELO/EHLO.
pub(crate) const NEED_HELO: &[u8] = b"503 5.5.1 Error: send HELO/EHLO first\r\n";
/// RCPT, DATA or BDAT before MAIL.
pub(crate) const NEED_MAIL: &[u8] = b"503 5.5.1 Error: need MAIL command\r\n";
/// MAIL inside a transaction.
pub(crate) const NESTED_MAIL: &[u8] = b"503 5.5.1 Error: nested MAIL command\r\n";
/// DATA or BDAT with no accepted recipient.
pub(crate) const NO_RECIPIENTS: &[u8] = b"554 5.5.1 Error: no valid recipients\r\n";
/// DATA in a transaction that already started with BDAT (RFC 3030).
pub(crate) const DATA_AFTER_BDAT: &[u8] = b"503 5.5.1 Error: DATA after BDAT\r\n";
