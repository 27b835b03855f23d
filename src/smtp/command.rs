//! The SMTP command parser: one command line (CRLF already removed) in, one
//! [`Command`] or a typed [`CommandError`] out.
//!
//! Parameter *syntax* is checked here; whether a parameter may be used (was the
//! extension advertised? is SIZE too large?) is the session's call, since only it
//! knows what was offered.

use thiserror::Error;

use super::address::{
    AddressError, ForwardPath, ReversePath, is_helo_name, parse_forward_path, parse_reverse_path,
};
use super::reply::{Reply, table};

/// One parsed SMTP command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `EHLO domain`.
    Ehlo(String),
    /// `HELO domain`.
    Helo(String),
    /// `MAIL FROM:<path> [params]`.
    Mail(ReversePath, MailParams),
    /// `RCPT TO:<path> [params]`.
    Rcpt(ForwardPath, RcptParams),
    /// `DATA`.
    Data,
    /// `BDAT size [LAST]` (RFC 3030).
    Bdat {
        /// Octets of message data that follow the command line.
        size: u64,
        /// This chunk ends the message.
        last: bool,
    },
    /// `RSET`.
    Rset,
    /// `NOOP [string]`.
    Noop,
    /// `QUIT`.
    Quit,
    /// `VRFY string`.
    Vrfy,
    /// `EXPN string`.
    Expn,
    /// `HELP [string]`.
    Help,
    /// `STARTTLS`.
    Starttls,
    /// A PROXY protocol v1 header line arriving as a command: only a client
    /// outside `[server] proxy_protocol_from` can get here, so it is refused.
    Proxy,
}

/// The BODY= values (RFC 6152). BINARYMIME is never offered: without a queue we
/// cannot downgrade it for an upstream that lacks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// `BODY=7BIT`.
    SevenBit,
    /// `BODY=8BITMIME`.
    EightBitMime,
}

/// ESMTP parameters of MAIL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailParams {
    /// `SIZE=n` (RFC 1870).
    pub size: Option<u64>,
    /// `BODY=`.
    pub body: Option<Body>,
    /// `SMTPUTF8` (RFC 6531).
    pub smtputf8: bool,
    /// `RET=FULL|HDRS` (RFC 3461), passed through to the upstream.
    pub ret: Option<String>,
    /// `ENVID=xtext` (RFC 3461), passed through to the upstream.
    pub envid: Option<String>,
}

impl MailParams {
    /// True when any DSN parameter is present (needs DSN offered).
    pub fn uses_dsn(&self) -> bool {
        self.ret.is_some() || self.envid.is_some()
    }
}

/// ESMTP parameters of RCPT.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RcptParams {
    /// `NOTIFY=` (RFC 3461), passed through.
    pub notify: Option<String>,
    /// `ORCPT=` (RFC 3461), passed through.
    pub orcpt: Option<String>,
}

impl RcptParams {
    /// True when any DSN parameter is present (needs DSN offered).
    pub fn uses_dsn(&self) -> bool {
        self.notify.is_some() || self.orcpt.is_some()
    }
}

/// Why a command line was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CommandError {
    /// The verb is not one we know.
    #[error("unrecognized command")]
    Unknown,
    /// NUL or other control octets, or invalid UTF-8.
    #[error("invalid octets in command")]
    BadOctets,
    /// Arguments that do not parse.
    #[error("syntax error in arguments")]
    Syntax,
    /// HELO/EHLO without a name, or with one that is neither a host name nor
    /// an address literal.
    #[error("HELO/EHLO without a valid domain")]
    BadHelo,
    /// MAIL with a malformed path.
    #[error("bad sender address: {0}")]
    BadSender(AddressError),
    /// RCPT with a malformed path.
    #[error("bad recipient address: {0}")]
    BadRecipient(AddressError),
    /// A MAIL/RCPT parameter we do not support, or a repeated one.
    #[error("unsupported parameter")]
    UnsupportedParameter,
}

impl CommandError {
    /// The reply this error earns.
    pub fn reply(self) -> Reply {
        match self {
            CommandError::Unknown => table::unknown_command(),
            CommandError::BadOctets => table::bad_command_octets(),
            CommandError::Syntax => table::syntax_params(),
            CommandError::BadHelo => table::bad_helo(),
            CommandError::BadSender(_) => table::bad_sender(),
            CommandError::BadRecipient(_) => table::bad_recipient(),
            CommandError::UnsupportedParameter => table::unsupported_parameter(),
        }
    }
}

/// Parses one command line without its line terminator.
pub fn parse(line: &[u8]) -> Result<Command, CommandError> {
    if line.iter().any(|&b| b < 0x20 && b != b'\t' || b == 0x7f) {
        return Err(CommandError::BadOctets);
    }
    let line = std::str::from_utf8(line).map_err(|_| CommandError::BadOctets)?;
    let (verb, args) = match line.find(' ') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, ""),
    };
    let verb_is = |name: &str| verb.eq_ignore_ascii_case(name);
    let no_args = |cmd: Command| {
        if args.trim().is_empty() {
            Ok(cmd)
        } else {
            Err(CommandError::Syntax)
        }
    };
    if verb_is("EHLO") || verb_is("HELO") {
        let name = args.trim();
        if !is_helo_name(name) {
            return Err(CommandError::BadHelo);
        }
        let name = name.to_string();
        return Ok(if verb_is("EHLO") {
            Command::Ehlo(name)
        } else {
            Command::Helo(name)
        });
    }
    if verb_is("MAIL") {
        let rest = strip_keyword(args, "FROM:").ok_or(CommandError::Syntax)?;
        let (path, params) = parse_reverse_path(rest).map_err(CommandError::BadSender)?;
        return Ok(Command::Mail(path, parse_mail_params(params)?));
    }
    if verb_is("RCPT") {
        let rest = strip_keyword(args, "TO:").ok_or(CommandError::Syntax)?;
        let (path, params) = parse_forward_path(rest).map_err(CommandError::BadRecipient)?;
        return Ok(Command::Rcpt(path, parse_rcpt_params(params)?));
    }
    if verb_is("BDAT") {
        return parse_bdat(args);
    }
    match () {
        _ if verb_is("DATA") => no_args(Command::Data),
        _ if verb_is("RSET") => no_args(Command::Rset),
        _ if verb_is("QUIT") => no_args(Command::Quit),
        _ if verb_is("STARTTLS") => no_args(Command::Starttls),
        _ if verb_is("NOOP") => Ok(Command::Noop),
        _ if verb_is("HELP") => Ok(Command::Help),
        _ if verb_is("VRFY") => Ok(Command::Vrfy),
        _ if verb_is("EXPN") => Ok(Command::Expn),
        _ if verb_is("PROXY") => Ok(Command::Proxy),
        _ => Err(CommandError::Unknown),
    }
}

fn strip_keyword<'a>(args: &'a str, keyword: &str) -> Option<&'a str> {
    let head = args.get(..keyword.len())?;
    head.eq_ignore_ascii_case(keyword)
        .then(|| &args[keyword.len()..])
}

/// Splits ` KEY=value KEY2` into (upper-case keyword, value) pairs.
fn esmtp_params(text: &str) -> impl Iterator<Item = Result<(String, Option<&str>), CommandError>> {
    text.split(' ').filter(|p| !p.is_empty()).map(|param| {
        let (key, value) = match param.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (param, None),
        };
        let key_ok = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let value_ok = value.is_none_or(|v| !v.is_empty() && !v.contains('='));
        if key_ok && value_ok {
            Ok((key.to_ascii_uppercase(), value))
        } else {
            Err(CommandError::Syntax)
        }
    })
}

fn set_once<T>(slot: &mut Option<T>, value: T) -> Result<(), CommandError> {
    if slot.replace(value).is_some() {
        return Err(CommandError::UnsupportedParameter);
    }
    Ok(())
}

fn parse_mail_params(text: &str) -> Result<MailParams, CommandError> {
    let mut params = MailParams::default();
    for param in esmtp_params(text) {
        match param? {
            (key, Some(v)) if key == "SIZE" => {
                let size = (v.len() <= 20 && v.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| v.parse::<u64>().ok())
                    .flatten()
                    .ok_or(CommandError::Syntax)?;
                set_once(&mut params.size, size)?;
            }
            (key, Some(v)) if key == "BODY" => {
                let body = if v.eq_ignore_ascii_case("7BIT") {
                    Body::SevenBit
                } else if v.eq_ignore_ascii_case("8BITMIME") {
                    Body::EightBitMime
                } else {
                    return Err(CommandError::UnsupportedParameter);
                };
                set_once(&mut params.body, body)?;
            }
            (key, None) if key == "SMTPUTF8" => {
                if std::mem::replace(&mut params.smtputf8, true) {
                    return Err(CommandError::UnsupportedParameter);
                }
            }
            (key, Some(v))
                if key == "RET"
                    && (v.eq_ignore_ascii_case("FULL") || v.eq_ignore_ascii_case("HDRS")) =>
            {
                set_once(&mut params.ret, v.to_ascii_uppercase())?;
            }
            (key, Some(v)) if key == "ENVID" && is_xtext(v) => {
                set_once(&mut params.envid, v.to_string())?
            }
            _ => return Err(CommandError::UnsupportedParameter),
        }
    }
    Ok(params)
}

fn parse_rcpt_params(text: &str) -> Result<RcptParams, CommandError> {
    let mut params = RcptParams::default();
    for param in esmtp_params(text) {
        match param? {
            (key, Some(v)) if key == "NOTIFY" && is_notify(v) => {
                set_once(&mut params.notify, v.to_ascii_uppercase())?
            }
            (key, Some(v)) if key == "ORCPT" && v.contains(';') && is_xtext(v) => {
                set_once(&mut params.orcpt, v.to_string())?
            }
            _ => return Err(CommandError::UnsupportedParameter),
        }
    }
    Ok(params)
}

/// RFC 3461 NOTIFY: `NEVER`, or a comma list of SUCCESS, FAILURE, DELAY.
fn is_notify(v: &str) -> bool {
    v.eq_ignore_ascii_case("NEVER")
        || v.split(',').all(|w| {
            ["SUCCESS", "FAILURE", "DELAY"]
                .iter()
                .any(|k| w.eq_ignore_ascii_case(k))
        })
}

/// RFC 3461 xtext: printable ASCII except `+` and `=` unless `+` starts a hex pair.
fn is_xtext(v: &str) -> bool {
    let b = v.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                let hex = |c: u8| c.is_ascii_digit() || (b'A'..=b'F').contains(&c);
                if !(i + 2 < b.len() && hex(b[i + 1]) && hex(b[i + 2])) {
                    return false;
                }
                i += 3;
            }
            33..=42 | 44..=60 | 62..=126 => i += 1,
            _ => return false,
        }
    }
    !b.is_empty()
}

fn parse_bdat(args: &str) -> Result<Command, CommandError> {
    let mut words = args.split(' ').filter(|w| !w.is_empty());
    let size = words
        .next()
        .filter(|w| w.len() <= 20 && w.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|w| w.parse::<u64>().ok())
        .ok_or(CommandError::Syntax)?;
    let last = match words.next() {
        None => false,
        Some(w) if w.eq_ignore_ascii_case("LAST") => true,
        Some(_) => return Err(CommandError::Syntax),
    };
    if words.next().is_some() {
        return Err(CommandError::Syntax);
    }
    Ok(Command::Bdat { size, last })
}

#[cfg(test)]
mod tests {
    use super::super::address::Mailbox;
    use super::*;

    fn p(line: &str) -> Result<Command, CommandError> {
        parse(line.as_bytes())
    }

    fn mbox(local: &str, domain: &str) -> Mailbox {
        Mailbox {
            local: local.into(),
            domain: domain.into(),
        }
    }

    #[test]
    fn simple_verbs_any_case() {
        assert_eq!(p("DATA"), Ok(Command::Data));
        assert_eq!(p("data"), Ok(Command::Data));
        assert_eq!(p("RsEt"), Ok(Command::Rset));
        assert_eq!(p("QUIT"), Ok(Command::Quit));
        assert_eq!(p("NOOP hello"), Ok(Command::Noop));
        assert_eq!(p("HELP"), Ok(Command::Help));
        assert_eq!(p("VRFY root"), Ok(Command::Vrfy));
        assert_eq!(p("EXPN staff"), Ok(Command::Expn));
        assert_eq!(p("STARTTLS"), Ok(Command::Starttls));
        assert_eq!(p("PROXY TCP4 192.0.2.1 192.0.2.2 1 25"), Ok(Command::Proxy));
        assert_eq!(p("DATA now"), Err(CommandError::Syntax));
    }

    #[test]
    fn helo_and_ehlo() {
        assert_eq!(
            p("EHLO client.example"),
            Ok(Command::Ehlo("client.example".into()))
        );
        assert_eq!(
            p("helo [192.0.2.1]"),
            Ok(Command::Helo("[192.0.2.1]".into()))
        );
        assert_eq!(p("EHLO"), Err(CommandError::BadHelo));
        assert_eq!(p("EHLO a b"), Err(CommandError::BadHelo));
        // What real clients send and every MTA takes.
        for name in [
            "DESKTOP_7Q2.corp.example",
            "mail.example.net.",
            "localhost",
            "[IPv6:2001:db8::1]",
            "[x-tag:anything]",
            "bücher.example",
        ] {
            assert_eq!(p(&format!("EHLO {name}")), Ok(Command::Ehlo(name.into())));
        }
        // Not a host name: refused before it reaches a header or XFORWARD.
        for name in [
            "[192.0.2.1",
            "192.0.2.1]",
            "[192.0.2.256]",
            "a..b",
            ".example",
            "-host.example",
            "host-.example",
            "a\tb",
            "user@example.net",
            "<example.net>",
            "x=y",
            "\"quoted\"",
            "example.net..",
        ] {
            assert_eq!(
                p(&format!("EHLO {name}")),
                Err(CommandError::BadHelo),
                "{name}"
            );
        }
    }

    #[test]
    fn mail_with_params() {
        let cmd =
            p("MAIL FROM:<s@example.org> SIZE=1000 BODY=8BITMIME SMTPUTF8 RET=hdrs ENVID=abc+2Bd")
                .unwrap();
        let Command::Mail(path, params) = cmd else {
            panic!("not MAIL")
        };
        assert_eq!(path, ReversePath::Mailbox(mbox("s", "example.org")));
        assert_eq!(params.size, Some(1000));
        assert_eq!(params.body, Some(Body::EightBitMime));
        assert!(params.smtputf8);
        assert_eq!(params.ret.as_deref(), Some("HDRS"));
        assert_eq!(params.envid.as_deref(), Some("abc+2Bd"));
    }

    #[test]
    fn mail_null_sender_lowercase_keyword() {
        assert_eq!(
            p("mail from:<>"),
            Ok(Command::Mail(ReversePath::Null, MailParams::default()))
        );
    }

    #[test]
    fn mail_param_errors() {
        assert_eq!(
            p("MAIL FROM:<a@b.example> BODY=BINARYMIME"),
            Err(CommandError::UnsupportedParameter)
        );
        assert_eq!(
            p("MAIL FROM:<a@b.example> AUTH=<>"),
            Err(CommandError::UnsupportedParameter)
        );
        assert_eq!(
            p("MAIL FROM:<a@b.example> SIZE=12x"),
            Err(CommandError::Syntax)
        );
        assert_eq!(
            p("MAIL FROM:<a@b.example> SIZE=1 SIZE=2"),
            Err(CommandError::UnsupportedParameter)
        );
        assert_eq!(
            p("MAIL FROM:<a@b.example> SIZE=99999999999999999999999"),
            Err(CommandError::Syntax)
        );
        assert_eq!(p("MAIL TO:<a@b.example>"), Err(CommandError::Syntax));
        assert_eq!(
            p("MAIL FROM:<a@>"),
            Err(CommandError::BadSender(AddressError::Malformed))
        );
    }

    #[test]
    fn rcpt_with_dsn_params() {
        let cmd = p("RCPT TO:<u@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u+40example.net")
            .unwrap();
        let Command::Rcpt(path, params) = cmd else {
            panic!("not RCPT")
        };
        assert_eq!(path, ForwardPath::Mailbox(mbox("u", "example.net")));
        assert_eq!(params.notify.as_deref(), Some("SUCCESS,FAILURE"));
        assert_eq!(params.orcpt.as_deref(), Some("rfc822;u+40example.net"));
        assert_eq!(
            p("RCPT TO:<u@example.net> NOTIFY=SOMETIMES"),
            Err(CommandError::UnsupportedParameter)
        );
        assert_eq!(
            p("RCPT TO:<>"),
            Err(CommandError::BadRecipient(AddressError::NullNotAllowed))
        );
    }

    #[test]
    fn bdat_forms() {
        assert_eq!(
            p("BDAT 100"),
            Ok(Command::Bdat {
                size: 100,
                last: false
            })
        );
        assert_eq!(
            p("BDAT 0 LAST"),
            Ok(Command::Bdat {
                size: 0,
                last: true
            })
        );
        assert_eq!(p("BDAT"), Err(CommandError::Syntax));
        assert_eq!(p("BDAT 1 LAST more"), Err(CommandError::Syntax));
        assert_eq!(p("BDAT -1"), Err(CommandError::Syntax));
    }

    #[test]
    fn unknown_and_bad_octets() {
        assert_eq!(p("GET / HTTP/1.1"), Err(CommandError::Unknown));
        assert_eq!(p("MAIL\0FROM:<>"), Err(CommandError::BadOctets));
        assert_eq!(parse(b"NOOP \xff"), Err(CommandError::BadOctets));
        assert_eq!(p(""), Err(CommandError::Unknown));
    }

    #[test]
    fn xtext_rules() {
        assert!(is_xtext("abc"));
        assert!(is_xtext("a+2B"));
        assert!(!is_xtext("a+2"));
        assert!(!is_xtext("a=b"));
        assert!(!is_xtext(""));
    }
}
