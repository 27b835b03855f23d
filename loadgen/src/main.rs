//! The `ringwall-loadgen` command line: parse the flags, run the tool from
//! the library, print its summary. Nothing else lives here, so tests that
//! run the tools in-process run exactly what the binary runs.

use std::error::Error;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
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
    /// Run a fast counting SMTP sink (the upstream in tests, demos and benchmarks).
    ///
    /// Prints `listening on ADDR` first and, when it stops (SIGINT, SIGTERM,
    /// --count or --duration), one line of counts: accepted, rejected,
    /// tempfailed, closed, timedout, sessions, bytes.
    Sink(SinkArgs),
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
    /// answer end of data), close (hang up instead), rcpt5xx (550 to RCPT).
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

    /// Print the final counts as one JSON object instead of key=value.
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
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sink(args) => run_sink(&args),
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
    let counts = running.wait()?;
    if args.json {
        println!("{}", serde_json::to_string(&counts)?);
    } else {
        println!("{counts}");
    }
    Ok(())
}
