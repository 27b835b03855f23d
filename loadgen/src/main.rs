//! The `ringwall-loadgen` command line: parse the flags, run the tool from
//! the library, print its summary. Nothing else lives here, so tests that
//! run the tools in-process run exactly what the binary runs.

use std::error::Error;
use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use ringwall_loadgen::dnsbl::{self, DnsblConfig, ErrorCode, Listing, ZoneSpec};
use ringwall_loadgen::send::{
    self, MessageSource, ProgressMeter, RunningSend, SendConfig, SizeMix, SourceIps, TlsOptions,
};
use ringwall_loadgen::sink::{self, FailPlan, SinkConfig};
use ringwall_loadgen::{duration, signals};

/// ringwall's load generator and test peers.
#[derive(Debug, Parser)]
#[command(name = "ringwall-loadgen", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The tools.
#[derive(Debug, Subcommand)]
enum Command {
    /// Put an SMTP server under load and measure it (like smtp-source, wrk).
    ///
    /// Sends generated or real messages over many sessions, in a closed
    /// loop or at a fixed rate, then prints counts, the accepted rate,
    /// latency percentiles per SMTP stage and reply codes.
    Send(SendArgs),

    /// Run a fast counting SMTP sink (the upstream in tests, demos and benchmarks).
    ///
    /// Prints `listening on ADDR` first and, when it stops (SIGINT, SIGTERM,
    /// --count or --duration), one line of counts: accepted, rejected,
    /// tempfailed, closed, timedout, sessions, bytes; with --verify-against,
    /// then the exactly-once report.
    Sink(SinkArgs),

    /// Run a DNSBL/URIBL emulator on UDP and TCP (the lists in tests, demos
    /// and benchmarks).
    ///
    /// A queried name under a zone gets A records (127.0.0.x) if listed,
    /// NXDOMAIN otherwise; TXT gives a listed name's text; names outside
    /// every zone get REFUSED. Prints `listening on ADDR` first and, when it
    /// stops (SIGINT, SIGTERM or --duration), the counts: a line for all
    /// queries, then one per zone (queries, listed, nxdomain, errors,
    /// dropped, truncated).
    Dnsbl(DnsblArgs),
}

/// Flags of `sink`.
#[derive(Debug, Args)]
struct SinkArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value_t = sink::DEFAULT_LISTEN)]
    listen: SocketAddr,

    /// Shards: executors, each with its own SO_REUSEPORT listener.
    #[arg(long, value_name = "N", default_value = "1")]
    shards: NonZeroUsize,

    /// Do not pin shards to CPUs (they are pinned to the allowed CPUs in
    /// order unless there are more shards than CPUs).
    #[arg(long)]
    no_pin: bool,

    /// Name in the greeting and the EHLO/HELO reply.
    #[arg(long, value_name = "NAME", default_value = sink::DEFAULT_HOSTNAME)]
    hostname: String,

    /// Append a line per accepted message:
    /// MESSAGE-ID<TAB>MAIL-FROM<TAB>RCPT,RCPT<TAB>SIZE.
    #[arg(long, value_name = "PATH")]
    record: Option<PathBuf>,

    /// Write each accepted message to DIR/SEQ.eml, and the EHLO, XCLIENT,
    /// XFORWARD, MAIL and RCPT lines that brought it to DIR/SEQ.env.
    #[arg(long, value_name = "DIR")]
    dump_dir: Option<PathBuf>,

    /// Inject failures: RATE:ACTION[,RATE:ACTION...], ACTION one of 4xx
    /// (451 at end of data), 5xx (554 at end of data), timeout (never
    /// answer end of data), close (hang up instead), rcpt5xx (550 to RCPT);
    /// test-only faults that break the sink's promise: lose (250, then
    /// forget the message), duplicate (250, and keep it twice).
    #[arg(long, value_name = "SPEC")]
    fail: Option<FailPlan>,

    /// Seed for --fail, so a run can be replayed.
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,

    /// Wait before answering end of data (a slow upstream), e.g. 200ms.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = duration::parse)]
    delay: Duration,

    /// Comma-separated EHLO extensions to advertise (empty for none).
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = sink::DEFAULT_EHLO_EXTENSIONS
    )]
    ehlo_extensions: Vec<String>,

    /// Answer 550 5.1.1 to recipients in DOMAIN (repeatable).
    #[arg(long, value_name = "DOMAIN")]
    reject_rcpt_domain: Vec<String>,

    /// Exit after this long, e.g. 30s.
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    duration: Option<Duration>,

    /// Exit after N accepted messages.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,

    /// At exit, check exactly-once delivery against the result of
    /// `ringwall-loadgen send --json PATH`: report lost, duplicated and
    /// unexpected Message-IDs; exit 1 if any was lost or duplicated.
    #[arg(long, value_name = "PATH")]
    verify_against: Option<PathBuf>,

    /// Print the final counts as one JSON object instead of key=value (and
    /// the --verify-against report as a second JSON object).
    #[arg(long)]
    json: bool,
}

impl SinkArgs {
    /// The library's config for these flags.
    fn config(&self) -> SinkConfig {
        SinkConfig {
            listen: self.listen,
            shards: self.shards,
            pin: !self.no_pin,
            hostname: self.hostname.clone(),
            record: self.record.clone(),
            dump_dir: self.dump_dir.clone(),
            fail: self.fail.clone().unwrap_or_default(),
            seed: self.seed,
            delay: self.delay,
            ehlo_extensions: self.ehlo_extensions.clone(),
            reject_rcpt_domains: self.reject_rcpt_domain.clone(),
            duration: self.duration,
            count: self.count,
            verify_against: self.verify_against.clone(),
        }
    }
}

/// Flags of `dnsbl`.
#[derive(Debug, Args)]
struct DnsblArgs {
    /// Address to answer on, over UDP and TCP; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value_t = dnsbl::DEFAULT_LISTEN)]
    listen: SocketAddr,

    /// A zone to answer for (repeatable):
    /// NAME[:rate=F][:codes=127.0.0.2,127.0.0.4][:txt=TEXT]. A fraction F
    /// of the names queried is listed (the same ones every run, by a hash
    /// of the name), each with one of the codes (default 127.0.0.2); TXT
    /// gives TEXT (last, may contain colons; default "listed in NAME").
    #[arg(long = "zone", value_name = "SPEC")]
    zones: Vec<ZoneSpec>,

    /// List KEY in ZONE with CODE (repeatable; several codes for one key
    /// give several A records), e.g. zen.test=2.0.0.127=127.0.0.2 or
    /// dbl.test=example.com=127.0.1.2. The zone need not be given by --zone.
    #[arg(long = "list", value_name = "ZONE=KEY=CODE")]
    listings: Vec<Listing>,

    /// Answer every query in ZONE with CODE, e.g.
    /// zen.test=127.255.255.254 (Spamhaus' "query through a public
    /// resolver" error). Repeatable, one per zone.
    #[arg(long = "error-code", value_name = "ZONE=CODE")]
    error_codes: Vec<ErrorCode>,

    /// TTL of answers, and the SOA minimum of NXDOMAIN answers, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = dnsbl::DEFAULT_TTL)]
    ttl: u32,

    /// Delay every answer, e.g. 50ms.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = duration::parse)]
    latency: Duration,

    /// Drop this fraction of queries (0 to 1), chosen by --seed.
    #[arg(long, value_name = "F", default_value = "0", value_parser = dnsbl::fraction)]
    loss: f64,

    /// Answer this fraction of queries SERVFAIL (0 to 1), chosen by --seed.
    #[arg(long, value_name = "F", default_value = "0", value_parser = dnsbl::fraction)]
    servfail: f64,

    /// Answer over UDP with TC=1 and no records; the full answer only over
    /// TCP.
    #[arg(long)]
    truncate: bool,

    /// Before each UDP answer, send a forged one with a wrong query ID
    /// (claiming 127.66.66.66), which a resolver must ignore.
    #[arg(long)]
    spoof_id: bool,

    /// Seed for --loss and --servfail, so a run can be replayed.
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,

    /// Exit after this long, e.g. 30s.
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    duration: Option<Duration>,

    /// Print the final counts as one JSON object instead of key=value lines.
    #[arg(long)]
    json: bool,
}

impl DnsblArgs {
    /// The library's config for these flags.
    fn config(&self) -> DnsblConfig {
        DnsblConfig {
            listen: self.listen,
            zones: self.zones.clone(),
            listings: self.listings.clone(),
            error_codes: self.error_codes.clone(),
            ttl: self.ttl,
            latency: self.latency,
            loss: self.loss,
            servfail: self.servfail,
            truncate: self.truncate,
            spoof_id: self.spoof_id,
            seed: self.seed,
            duration: self.duration,
        }
    }
}

fn main() -> ExitCode {
    // A usage error exits 1 like any other failure (clap's default is 2),
    // so scripts need to tell only success from failure; --help and
    // --version still exit 0.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::Send(args) => run_send(&args),
        Command::Sink(args) => run_sink(&args),
        Command::Dnsbl(args) => run_dnsbl(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ringwall-loadgen: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the sink until it stops, then prints its counts.
fn run_sink(args: &SinkArgs) -> Result<(), Box<dyn Error>> {
    let running = sink::start(args.config())?;
    // Handlers go in before the address is announced: a harness may signal
    // as soon as it has read it.
    signals::stop_on_signals(&running.stop_flag())?;
    println!("listening on {}", running.local_addr());
    let (counts, verification) = running.wait_and_verify()?;
    if args.json {
        println!("{}", serde_json::to_string(&counts)?);
    } else {
        println!("{counts}");
    }
    let Some(verification) = verification else {
        return Ok(());
    };
    if args.json {
        println!("{}", serde_json::to_string(&verification)?);
    } else {
        println!("{verification}");
    }
    if verification.passed() {
        Ok(())
    } else {
        Err(format!(
            "exactly-once check failed: {} lost, {} duplicated",
            verification.lost.len(),
            verification.duplicated.len()
        )
        .into())
    }
}

/// Runs the DNSBL emulator until it stops, then prints its counts.
fn run_dnsbl(args: &DnsblArgs) -> Result<(), Box<dyn Error>> {
    let running = dnsbl::start(args.config())?;
    // As for the sink: handlers first, then the address.
    signals::stop_on_signals(&running.stop_flag())?;
    println!("listening on {}", running.local_addr());
    let counts = running.wait()?;
    if args.json {
        println!("{}", serde_json::to_string(&counts)?);
    } else {
        println!("{counts}");
    }
    Ok(())
}

/// What `send --help` shows after the flags: the commands people run.
const SEND_EXAMPLES: &str = "\
Examples:
  # 32 sessions, 10 pipelined 1 KiB messages per connection, for 10 s
  ringwall-loadgen send --messages-per-session 10 127.0.0.1:2525

  # open loop: 5000 msg/s for 60 s after a 5 s warm-up, latency from the schedule
  ringwall-loadgen send --rate 5000 --sessions 200 -d 60s --warmup 5s 127.0.0.1:2525

  # a realistic size mix, from 253 client addresses, over STARTTLS
  ringwall-loadgen send --size-mix 70:2KiB,25:20KiB,5:1MiB \\
      --source-ips 127.0.0.2-127.0.0.254 --starttls --insecure 127.0.0.1:2525

  # real mail; a sink started with --verify-against run.json checks at exit
  # that every accepted message arrived exactly once
  ringwall-loadgen send --messages ../shared/corpus/dev -n 1000 --json run.json 127.0.0.1:2525

Exit status: 0 when the run completed (4xx/5xx replies are counted, not
failures), 1 on a usage error or when no session could be set up.";

/// Flags of `send`.
#[derive(Debug, Args)]
#[command(after_help = SEND_EXAMPLES)]
struct SendArgs {
    /// The SMTP server to load, IP:PORT.
    #[arg(value_name = "SERVER")]
    server: SocketAddr,

    /// Executors, one per core, each with its share of the sessions and
    /// the rate; pinned to the CPUs the process may use.
    #[arg(long, value_name = "N", default_value = "1", help_heading = "Load")]
    shards: NonZeroUsize,

    /// Concurrent sessions in all, spread over the shards.
    #[arg(short = 's', short_alias = 'c', long, value_name = "N",
          default_value_t = NonZeroUsize::new(send::DEFAULT_SESSIONS).unwrap_or(NonZeroUsize::MIN),
          help_heading = "Load")]
    sessions: NonZeroUsize,

    /// Messages per connection before QUIT and a new connection; 0 keeps
    /// each connection until the run ends.
    #[arg(long, value_name = "N", default_value = "1", help_heading = "Load")]
    messages_per_session: u64,

    /// Closed loop: pause after each message before the session's next.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = duration::parse,
          conflicts_with = "rate", help_heading = "Load")]
    think: Duration,

    /// Open loop: R messages per second in all, each due on schedule
    /// whether or not earlier ones are done; latency counts from when a
    /// message was due (coordinated-omission corrected). Without it, the
    /// closed loop: each session sends its next message when the last is
    /// done.
    #[arg(short = 'R', long, value_name = "R", help_heading = "Load")]
    rate: Option<f64>,

    /// Stop starting messages after this long (past the warm-up); messages
    /// in flight finish. Default 10s unless --count is given.
    #[arg(short = 'd', long, value_name = "DURATION", value_parser = duration::parse,
          help_heading = "Load")]
    duration: Option<Duration>,

    /// Stop after N messages (past the warm-up).
    #[arg(short = 'n', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..),
          help_heading = "Load")]
    count: Option<u64>,

    /// Send for this long first, outside the results (caches, pools and
    /// TCP windows warm up).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = duration::parse,
          help_heading = "Load")]
    warmup: Duration,

    /// Body size of generated messages, headers added: bytes or KiB, MiB
    /// (kB, MB for powers of 1000).
    #[arg(short = 'l', long, value_name = "SIZE", default_value = "1KiB",
          value_parser = send::parse_size, conflicts_with_all = ["size_mix", "messages"],
          help_heading = "Messages")]
    size: u64,

    /// Generated messages of several sizes, by weight, e.g.
    /// 70:2KiB,25:20KiB,5:1MiB.
    #[arg(
        long,
        value_name = "W:SIZE,...",
        conflicts_with = "messages",
        help_heading = "Messages"
    )]
    size_mix: Option<SizeMix>,

    /// Send real messages instead: the files under a directory
    /// (recursively), or the messages of an mbox file, round-robin. Line
    /// ends become CRLF and each gets a fresh Message-ID in place of its
    /// own.
    #[arg(long, value_name = "PATH", help_heading = "Messages")]
    messages: Option<PathBuf>,

    /// Envelope sender (MAIL FROM); empty for the null sender.
    #[arg(short = 'f', long, value_name = "ADDR", default_value = send::DEFAULT_FROM,
          help_heading = "Envelope")]
    from: String,

    /// Recipient (RCPT TO); repeat for several, taken round-robin.
    #[arg(short = 't', long, value_name = "ADDR", default_value = send::DEFAULT_TO,
          help_heading = "Envelope")]
    to: Vec<String>,

    /// Recipients per message, from the --to addresses.
    #[arg(
        short = 'r',
        long,
        value_name = "N",
        default_value = "1",
        help_heading = "Envelope"
    )]
    rcpts: NonZeroUsize,

    /// Connect from these local addresses, round-robin per connection, so
    /// per-client limits and DNSBL lookups see many clients: a range
    /// (127.0.0.2-127.0.0.254), a list, or both, comma-separated.
    #[arg(long, value_name = "RANGE", help_heading = "Connection")]
    source_ips: Option<SourceIps>,

    /// Upgrade every session with STARTTLS; fail if it is not offered.
    #[arg(long, help_heading = "Connection")]
    starttls: bool,

    /// With --starttls: accept any certificate (a self-signed test one).
    #[arg(
        long,
        requires = "starttls",
        conflicts_with = "ca",
        help_heading = "Connection"
    )]
    insecure: bool,

    /// With --starttls: trust the certificates in this PEM file instead of
    /// the bundled web roots.
    #[arg(
        long,
        value_name = "PEM",
        requires = "starttls",
        help_heading = "Connection"
    )]
    ca: Option<PathBuf>,

    /// With --starttls: the name to verify and send as SNI (default: the
    /// server's IP).
    #[arg(
        long,
        value_name = "NAME",
        requires = "starttls",
        help_heading = "Connection"
    )]
    tls_name: Option<String>,

    /// One command, one reply; by default MAIL, RCPT and DATA go in one
    /// write when the server offers PIPELINING (RFC 2920).
    #[arg(long, help_heading = "Connection")]
    no_pipelining: bool,

    /// The EHLO name.
    #[arg(long, value_name = "NAME", default_value = send::DEFAULT_EHLO,
          help_heading = "Connection")]
    ehlo: String,

    /// Longest wait for a reply (or a write) before the message counts as
    /// an error and its connection is dropped.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration::parse,
          help_heading = "Connection")]
    timeout: Duration,

    /// Do not pin shards to CPUs.
    #[arg(long, help_heading = "Connection")]
    no_pin: bool,

    /// Write the whole result as JSON: config, counts, rate, replies,
    /// latency percentiles per stage, accepted Message-IDs.
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    json: Option<PathBuf>,

    /// Show a live progress line (default when stdout is a terminal).
    #[arg(long, overrides_with = "no_progress", help_heading = "Output")]
    progress: bool,

    /// Do not show the progress line.
    #[arg(long, overrides_with = "progress", help_heading = "Output")]
    no_progress: bool,
}

impl SendArgs {
    /// The library's config for these flags.
    fn config(&self) -> SendConfig {
        let messages = match (&self.messages, &self.size_mix) {
            (Some(path), _) => MessageSource::Files(path.clone()),
            (None, Some(mix)) => MessageSource::Generated(mix.clone()),
            (None, None) => MessageSource::Generated(SizeMix::single(self.size)),
        };
        let duration = match (self.duration, self.count) {
            (None, None) => Some(SEND_DEFAULT_DURATION),
            (duration, _) => duration,
        };
        SendConfig {
            server: self.server,
            shards: self.shards,
            pin: !self.no_pin,
            sessions: self.sessions,
            messages_per_session: self.messages_per_session,
            think: self.think,
            rate: self.rate,
            duration,
            count: self.count,
            warmup: self.warmup,
            messages,
            from: self.from.clone(),
            to: self.to.clone(),
            rcpts: self.rcpts,
            source_ips: self.source_ips.clone(),
            starttls: self.starttls.then(|| TlsOptions {
                insecure: self.insecure,
                ca: self.ca.clone(),
                name: self.tls_name.clone(),
            }),
            pipelining: !self.no_pipelining,
            ehlo: self.ehlo.clone(),
            timeout: self.timeout,
        }
    }
}

/// How long `send` runs when neither --duration nor --count is given.
const SEND_DEFAULT_DURATION: Duration = Duration::from_secs(10);

/// Runs the load, with a live line if wanted, then writes the JSON result
/// and prints the table.
fn run_send(args: &SendArgs) -> Result<(), Box<dyn Error>> {
    let running = send::start(args.config())?;
    signals::stop_on_signals(&running.stop_flag())?;
    let terminal = io::stdout().is_terminal();
    if args.progress || (terminal && !args.no_progress) {
        show_progress(&running, terminal);
    }
    let result = running.wait()?;
    // The table first: if the JSON file cannot be written, the figures are
    // still on screen.
    print!("{}", send::table(&result));
    if let Some(path) = &args.json {
        let file =
            File::create(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let mut writer = io::BufWriter::new(file);
        serde_json::to_writer_pretty(&mut writer, &result)?;
        writeln!(writer)?;
        writer.flush()?;
    }
    Ok(())
}

/// Prints a progress line every second until the run is done: rewritten
/// in place on a terminal, one line each otherwise.
fn show_progress(running: &RunningSend, terminal: bool) {
    let mut meter = ProgressMeter::new();
    let mut next = Duration::from_secs(1);
    let mut stdout = io::stdout();
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let progress = running.progress();
        if progress.done {
            break;
        }
        if progress.elapsed < next {
            continue;
        }
        next += Duration::from_secs(1);
        let line = meter.line(&progress);
        let _ = if terminal {
            write!(stdout, "\r{line}\x1b[K")
        } else {
            writeln!(stdout, "{line}")
        };
        let _ = stdout.flush();
    }
    if terminal {
        let _ = write!(stdout, "\r\x1b[K");
    }
}
