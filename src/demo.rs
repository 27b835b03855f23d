//! `ringwall demo`: a newcomer's first run. It starts the proxy, an embedded
//! upstream sink and an embedded DNS blocklist stub on loopback, sends a few
//! sample messages through the proxy, two of them from client addresses the
//! stub has something to say about, and prints, for each, what the client saw
//! and what the upstream received. No setup and no network beyond loopback;
//! done in a second or two.

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ringwall_loadgen::dnsbl::{self, DnsblConfig, RunningDnsbl};
use ringwall_loadgen::sink::{self, SinkConfig};
use socket2::{Domain, Socket, Type};

use crate::config::{ByteSize, Config, RblAction, ZoneConfig};
use crate::dns::reverse_ip;
use crate::policy::format_score;
use crate::rbl::Preset;
use crate::scan::message::fixtures;
use crate::score::Judge;
use crate::server;

/// The blocklist stub's zone: a Spamhaus ZEN look-alike, read with ZEN's
/// preset so its codes and error codes mean what they mean at Spamhaus.
const DNSBL_ZONE: &str = "zen.demo.test";

/// The samples' client address unless a sample is about its address.
const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A client the stub lists, with ZEN's code for a hijacked host (XBL): the
/// kind of client connection triage exists to turn away.
const LISTED: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 66));
const LISTED_CODE: &str = "127.0.0.4";

/// A client whose lookup the stub answers with the code Spamhaus gives to
/// queries that come through a public resolver.
const ERRORED: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 77));
const ERROR_CODE: &str = "127.255.255.254";

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The embedded sink would not start.
    #[error("the embedded upstream sink did not start: {0}")]
    Sink(#[from] sink::SinkError),
    /// The embedded DNS blocklist stub would not start.
    #[error("the embedded DNS blocklist stub did not start: {0}")]
    Dnsbl(#[from] dnsbl::DnsblError),
    /// The proxy would not start.
    #[error("the proxy did not start: {0}")]
    Server(#[from] server::ServerError),
    /// The quarantine could not be read back.
    #[error("the demo's quarantine: {0}")]
    Quarantine(#[from] crate::quarantine::QuarantineError),
    /// The content rules would not load.
    #[error("the content rules did not load: {0}")]
    Rules(#[from] crate::score::ScoreError),
    /// Talking to the proxy or writing the report failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// One sample: what the client sends, and why.
struct Sample {
    title: String,
    /// Where the client connects from: connection triage judges the address.
    client: IpAddr,
    recipient: &'static str,
    body: Vec<u8>,
    /// What the transcript alone does not tell a newcomer, line by line.
    why: &'static [&'static str],
    /// Show the content verdict's explanation, rule by rule.
    explain: bool,
}

fn samples() -> Vec<Sample> {
    let message = |subject: &str, text: &str| {
        format!(
            "From: Alice <alice@sender.example>\r\nTo: Bob <bob@example.net>\r\nSubject: {subject}\r\n\
             Message-ID: <{}@sender.example>\r\nDate: Thu, 26 Nov 2026 12:00:00 +0000\r\n\r\n{text}",
            subject.replace(' ', "-").to_lowercase()
        )
        .into_bytes()
    };
    let mut smuggling = message("Smuggling attempt", "Hello.\r\n");
    // `CRLF . LF` is not end of data: the text after it must stay inside the message.
    smuggling.extend_from_slice(b".\nMAIL FROM:<smuggler@evil.example>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\nforged\r\n");
    let mut large = message("Too large", "");
    large.extend_from_slice(format!("{}\r\n", "x".repeat(76)).repeat(1000).as_bytes());
    vec![
        Sample {
            title: "A normal message".into(),
            client: CLIENT,
            recipient: "bob@example.net",
            body: message("Lunch on Friday", "See you at noon.\r\n"),
            why: &[],
            explain: false,
        },
        Sample {
            title: "A smuggling attempt (CRLF.LF inside the body)".into(),
            client: CLIENT,
            recipient: "bob@example.net",
            body: smuggling,
            why: &[],
            explain: false,
        },
        Sample {
            title: "A recipient in a domain we do not relay for".into(),
            client: CLIENT,
            recipient: "carol@elsewhere.example",
            body: message("Relay me", "Please relay.\r\n"),
            why: &[],
            explain: false,
        },
        Sample {
            title: "A message over the size limit (32 KiB here)".into(),
            client: CLIENT,
            recipient: "bob@example.net",
            body: large,
            why: &[],
            explain: false,
        },
        Sample {
            title: format!(
                "A client on the DNS blocklist ({LISTED}: the stub answers {LISTED_CODE}, Spamhaus XBL)"
            ),
            client: LISTED,
            recipient: "bob@example.net",
            body: message("Cheap watches", "Buy now.\r\n"),
            why: &[
                "its listing weighs as much as [rbl] reject_threshold, and with",
                "[rbl] action = \"drop\" the banner itself refuses it: every command",
                "but QUIT then gets 503. The lookup started when it connected.",
            ],
            explain: false,
        },
        Sample {
            title: format!(
                "A client the DNS blocklist answers with an error code ({ERRORED}: {ERROR_CODE})"
            ),
            client: ERRORED,
            recipient: "bob@example.net",
            body: message("Quarterly report", "Figures attached next week.\r\n"),
            why: &[
                "127.255.255.254 is how Spamhaus says \"you ask through a public",
                "resolver\": it tells nothing about the client, so it is an error, never",
                "a listing. The client is judged as not listed (the zone is fail-open),",
                "the zone counts as unhealthy, and `ringwall run` logs a warning to",
                "point the operator at a local recursive resolver.",
            ],
            explain: false,
        },
        Sample {
            title: "Spam by its words (the built-in keyword rules)".into(),
            client: CLIENT,
            recipient: "bob@example.net",
            body: message("URGENT: your inheritance of $4,500,000 USD", KEYWORD_SPAM),
            why: &[
                "no single phrase decides: each keyword rule adds its score, and this",
                "sum passed [scoring] reject (15): the client gets 550 and bounces it,",
                "so nothing is lost and the sender learns.",
            ],
            explain: true,
        },
        Sample {
            title: "A program in an attachment named like a document".into(),
            client: CLIENT,
            recipient: "bob@example.net",
            body: fixtures::message_with_attachment(
                "invoice.pdf.exe",
                "application/pdf",
                &fixtures::minimal_pe(),
            ),
            why: &[
                "its content is a Windows program whatever its name and type claim;",
                "rules of class executable are refused whatever the score",
                "([scoring] actions).",
            ],
            explain: true,
        },
        Sample {
            title: "A phishing link: the text shows one site, the link goes to another".into(),
            client: CLIENT,
            recipient: "bob@example.net",
            body: phishing(),
            why: &[
                "the display name claims the bank's domain, the link goes to a bare IP",
                "address and the words are a phisher's: past [scoring] quarantine (8).",
                "The client heard 250 only once the message was on disk in the",
                "quarantine ([quarantine] directory), where an administrator or bob",
                "releases or deletes it (`ringwall quarantine`, the review page).",
            ],
            explain: true,
        },
        Sample {
            title: "GTUBE, the standard test string for spam filters".into(),
            client: CLIENT,
            recipient: "bob@example.net",
            body: message(
                "Filter test",
                "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n",
            ),
            why: &["GTUBE scores 1000, as in SpamAssassin: it tests the whole path."],
            explain: true,
        },
    ]
}

/// The keyword sample's text: an advance-fee scam, the oldest trick in spam.
const KEYWORD_SPAM: &str = "Dear Beneficiary,\r\n\r\n\
I am Barrister James Cole, attorney to the late Mr. Williams who died\r\n\
in a car accident. He left an unclaimed inheritance fund of US$4,500,000\r\n\
(Four Million Five Hundred Thousand United States Dollars) and you have\r\n\
been named the next of kin. To claim your funds, send your full name,\r\n\
bank account details and a copy of your passport. This transaction is\r\n\
100% risk free and strictly confidential.\r\n\r\nAct now!\r\n";

/// The phishing sample: an HTML message whose link text shows a bank's
/// address while the link goes to a bare IP address, from a display name
/// that claims the bank's domain.
fn phishing() -> Vec<u8> {
    "From: \"service@bank.example.com\" <alerts@mailer.example.org>\r\n\
     To: Bob <bob@example.net>\r\nSubject: Your account has been suspended\r\n\
     Message-ID: <phish@mailer.example.org>\r\nDate: Thu, 26 Nov 2026 12:00:00 +0000\r\n\
     MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
     <p>We detected unusual activity. Verify your account within 24 hours or it\r\n\
     will be closed:</p>\r\n\
     <p><a href=\"http://203.0.113.7/secure/login\">https://www.bank.example.com/login</a></p>\r\n"
        .as_bytes()
        .to_vec()
}

/// Runs the demo, writing the report to `out`. With `serve`, a fresh proxy and
/// sink then stay up on loopback until SIGINT/SIGTERM, for a first load test.
pub fn run(out: &mut dyn Write, serve: bool) -> Result<(), DemoError> {
    let dir = tempfile::tempdir()?;
    let dump = dir.path().join("upstream");
    let stub = start_dnsbl()?;
    let held = dir.path().join("quarantine");
    let (proxy, sink) = start_stack(
        Some(dump.clone()),
        Some(stub.local_addr()),
        Some(held.clone()),
    )?;
    let proxy_addr = proxy.local_addrs()[0];
    writeln!(
        out,
        "ringwall demo: proxy on {proxy_addr}, upstream sink on {}, accepting mail for example.net",
        sink.local_addr()
    )?;
    writeln!(
        out,
        "DNS blocklist stub on {}: zone {DNSBL_ZONE}, read as Spamhaus ZEN; every client is\n\
         looked up there as it connects, and a listed one is refused ([rbl] action = \"drop\")\n",
        stub.local_addr()
    )?;
    // The proxy's own scanner and thresholds (the demo leaves [content] and
    // [scoring] at their defaults), for the explanations.
    let mut judge = Judge::new(&Config::default())?;
    let mut delivered = 0;
    for (n, sample) in samples().iter().enumerate() {
        writeln!(out, "{}. {}", n + 1, sample.title)?;
        let transcript = send(proxy_addr, sample)?;
        for line in transcript {
            writeln!(out, "   {line}")?;
        }
        if sample.explain {
            explain(out, &mut judge, &sample.body)?;
        }
        for (n, line) in sample.why.iter().enumerate() {
            let lead = if n == 0 { "why: " } else { "     " };
            writeln!(out, "   {lead}{line}")?;
        }
        let file = dump.join(format!("{}.eml", delivered + 1));
        if file.exists() {
            delivered += 1;
            writeln!(out, "   upstream received:")?;
            show_received(out, &file)?;
        } else {
            writeln!(out, "   upstream received: nothing")?;
        }
        writeln!(out)?;
    }
    stop_stack(out, proxy, sink)?;
    show_quarantine(out, &held)?;
    stub.stop();
    stub.wait()?;
    if serve {
        serve_until_signalled(out)?;
    }
    Ok(())
}

/// The blocklist stub on a free loopback port: it lists [`LISTED`], answers
/// [`ERRORED`] with the error code, and every other address NXDOMAIN.
fn start_dnsbl() -> Result<RunningDnsbl, DemoError> {
    let answer = |client: IpAddr, code: &str| {
        format!("{DNSBL_ZONE}={}={code}", reverse_ip(client))
            .parse()
            .expect("literal listing")
    };
    Ok(dnsbl::start(DnsblConfig {
        listen: "127.0.0.1:0".parse().expect("literal address"),
        listings: vec![answer(LISTED, LISTED_CODE), answer(ERRORED, ERROR_CODE)],
        ..DnsblConfig::default()
    })?)
}

/// What the quarantine holds once the demo's proxy stopped (it owned the
/// index while it ran).
fn show_quarantine(out: &mut dyn Write, directory: &Path) -> Result<(), DemoError> {
    let mut config = Config::default();
    config.quarantine.directory = Some(directory.to_path_buf());
    config.quarantine.min_free_space = ByteSize(0);
    let quarantine = crate::quarantine::Quarantine::open(&config)?;
    let held = quarantine.list(&crate::quarantine::Query::default())?;
    writeln!(out, "quarantine: {} message(s) held", held.len())?;
    for entry in &held {
        let r = &entry.record;
        writeln!(
            out,
            "   {}  from {}  to {}  {:?}  score {:.1}",
            r.id,
            r.sender,
            r.recipients
                .iter()
                .map(|x| x.address.as_str())
                .collect::<Vec<_>>()
                .join(","),
            r.subject,
            r.score
        )?;
    }
    Ok(())
}

/// A proxy relaying for example.net to an embedded sink, both on free loopback
/// ports; the sink dumps what it accepts into `dump` when given, with a
/// blocklist stub at `dnsbl` the proxy screens every client against it, and
/// with `quarantine` it keeps quarantine verdicts there.
fn start_stack(
    dump: Option<PathBuf>,
    dnsbl: Option<SocketAddr>,
    quarantine: Option<PathBuf>,
) -> Result<(server::RunningServer, sink::RunningSink), DemoError> {
    let sink = sink::start(SinkConfig {
        listen: "127.0.0.1:0".parse().expect("literal address"),
        dump_dir: dump,
        pin: false,
        ..SinkConfig::default()
    })?;
    let mut config = Config::default();
    config.server.listen = vec!["127.0.0.1:0".parse().expect("literal address")];
    config.server.shards = 1;
    config.server.hostname = "demo.ringwall.test".into();
    config.server.max_message_size = ByteSize(32 * 1024);
    // A load generator on loopback is one client address with many sessions.
    config.server.max_connections_per_ip = 10_000;
    config.limits.header_size = ByteSize(16 * 1024);
    config.upstream.address = vec![sink.local_addr()];
    config.domains.accept = vec!["example.net".into()];
    config.log.level = "warn".into();
    if let Some(dnsbl) = dnsbl {
        screen(&mut config, dnsbl);
    }
    if let Some(directory) = quarantine {
        config.quarantine.directory = Some(directory);
        config.quarantine.min_free_space = ByteSize(0);
    }
    let proxy = server::start(&config)?;
    Ok((proxy, sink))
}

/// Connection triage against the stub at `dnsbl`: one listing reaches the
/// threshold, and `drop` refuses at the banner, where the demo's transcript
/// shows it first. The demo's clients are all on loopback, so loopback is
/// screened too.
fn screen(config: &mut Config, dnsbl: SocketAddr) {
    config.dns.resolvers = vec![dnsbl];
    config.rbl.skip_loopback = false;
    config.rbl.action = RblAction::Drop;
    config.dnsbl = vec![ZoneConfig {
        zone: DNSBL_ZONE.into(),
        preset: Some(Preset::SpamhausZen),
        weight: Some(config.rbl.reject_threshold),
        ..ZoneConfig::default()
    }];
}

fn stop_stack(
    out: &mut dyn Write,
    proxy: server::RunningServer,
    sink: sink::RunningSink,
) -> Result<(), DemoError> {
    proxy.shutdown();
    proxy.wait()?;
    sink.stop();
    let counts = sink.wait()?;
    writeln!(out, "upstream totals: {counts}")?;
    Ok(())
}

/// Keeps a fresh proxy and sink (no dumps) up until SIGINT or SIGTERM.
fn serve_until_signalled(out: &mut dyn Write) -> Result<(), DemoError> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    let (proxy, sink) = start_stack(None, None, None)?;
    let addr = proxy.local_addrs()[0];
    writeln!(
        out,
        "\nserving: proxy on {addr} relaying for example.net to a sink on {}",
        sink.local_addr()
    )?;
    writeln!(out, "try:     ringwall-loadgen send --duration 10s {addr}")?;
    writeln!(out, "stop:    Ctrl-C")?;
    out.flush()?;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
    stop_stack(out, proxy, sink)
}

/// Sends one sample through the proxy from its client address; returns the
/// exchange as `C:`/`S:` lines. The first command refused ends the
/// transaction: only QUIT follows.
fn send(addr: SocketAddr, sample: &Sample) -> std::io::Result<Vec<String>> {
    let stream = connect_from(sample.client, addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let mut log = Vec::new();
    // A multi-line reply is shown on one line, its lines joined by " | ".
    let reply =
        |reader: &mut BufReader<TcpStream>, log: &mut Vec<String>| -> std::io::Result<u16> {
            let mut lines = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line)? == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                let last = line.as_bytes().get(3) != Some(&b'-');
                lines.push(line.trim_end().to_string());
                if last {
                    log.push(format!("S: {}", lines.join(" | ")));
                    return Ok(line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0));
                }
            }
        };
    reply(&mut reader, &mut log)?;
    let rcpt = format!("RCPT TO:<{}>", sample.recipient);
    let mut accepted = true;
    for command in [
        "EHLO client.sender.example",
        "MAIL FROM:<alice@sender.example>",
        &rcpt,
    ] {
        log.push(format!("C: {command}"));
        write!(writer, "{command}\r\n")?;
        if reply(&mut reader, &mut log)? != 250 {
            accepted = false;
            break;
        }
    }
    if accepted {
        log.push("C: DATA".into());
        writer.write_all(b"DATA\r\n")?;
        if reply(&mut reader, &mut log)? == 354 {
            log.push(format!("C: <{} octets of message> .", sample.body.len()));
            writer.write_all(&sample.body)?;
            writer.write_all(b".\r\n")?;
            reply(&mut reader, &mut log)?;
        }
    }
    log.push("C: QUIT".into());
    writer.write_all(b"QUIT\r\n")?;
    reply(&mut reader, &mut log)?;
    Ok(log)
}

/// A connection to `addr` from `client` (every 127.0.0.0/8 address is ours
/// on loopback).
fn connect_from(client: IpAddr, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.bind(&SocketAddr::new(client, 0).into())?;
    socket.connect(&addr.into())?;
    Ok(socket.into())
}

/// The content verdict on `message`, rule by rule with its evidence, as
/// `ringwall score --explain` prints it.
fn explain(out: &mut dyn Write, judge: &mut Judge, message: &[u8]) -> std::io::Result<()> {
    let judgement = judge.judge(message);
    writeln!(
        out,
        "   verdict: {} (score {}, tag at {})",
        judgement.action,
        format_score(judgement.score),
        format_score(judgement.required)
    )?;
    for hit in &judgement.hits {
        writeln!(
            out,
            "     {:>6}  {:<24} {}",
            format_score(hit.score),
            hit.rule,
            hit.evidence
        )?;
    }
    if let Some(rule) = &judgement.forced_by {
        writeln!(out, "     action forced by the class of {rule}")?;
    }
    Ok(())
}

/// Prints the header section and the first body lines the upstream received.
fn show_received(out: &mut dyn Write, file: &Path) -> std::io::Result<()> {
    let text = String::from_utf8_lossy(&std::fs::read(file)?).into_owned();
    for line in text.split("\r\n").take(16) {
        writeln!(out, "   | {line}")?;
    }
    Ok(())
}
