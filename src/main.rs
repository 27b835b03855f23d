//! The `ringwall` command line: parse, then call into the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// ringwall: an anti-spam SMTP proxy appliance.
#[derive(Parser)]
#[command(name = "ringwall", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the proxy in the foreground until SIGTERM/SIGINT.
    Run {
        /// Configuration file; without it the embedded default (loopback only) runs.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// A newcomer's first run: proxy, embedded upstream sink, DNS blocklist stub
    /// and sample messages, all on loopback; prints what happened to each message.
    Demo {
        /// Then keep a proxy and sink up on loopback (ports printed) until Ctrl-C,
        /// to try `ringwall-loadgen send` against.
        #[arg(long)]
        serve: bool,
    },
    /// Check a configuration file; prints OK or every error (exit status 1).
    CheckConfig {
        /// The file to check.
        path: PathBuf,
    },
    /// Print the embedded default configuration, a commented starting point.
    DefaultConfig,
    /// Judge messages offline with the proxy's rules and thresholds, as
    /// `spamassassin -t` does: one verdict line per message.
    Score {
        /// The configuration whose rules, thresholds and state to use
        /// (default: the embedded default).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Print each rule's evidence: the keyword, the link, the attachment.
        #[arg(long)]
        explain: bool,
        /// JSON: one object per message; with --eval, one object with tp,
        /// fp, tn, fn, precision, recall, fpr and msgs_per_sec.
        #[arg(long)]
        json: bool,
        /// A labelled corpus (DIR/ham and DIR/spam): print precision,
        /// recall, false-positive rate and messages per second instead.
        #[arg(long, value_name = "DIR")]
        eval: Option<PathBuf>,
        /// With --eval: a TSV manifest (columns file, source_repo,
        /// source_path) to break the figures down per source.
        #[arg(long, value_name = "MANIFEST", requires = "eval")]
        sources: Option<PathBuf>,
        /// Message files, or directories read recursively.
        #[arg(value_name = "FILE|DIR", required_unless_present = "eval")]
        paths: Vec<PathBuf>,
    },
    /// Teach the statistical classifier your own mail: learns ham and spam
    /// (maildirs, mboxes, message files or directories of them) into the
    /// config's [bayes] database, or through the running daemon that owns it.
    Train {
        /// The configuration naming [bayes] database (and [admin] listen,
        /// to reach a running daemon).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Ham: mail that is wanted.
        #[arg(long, value_name = "DIR")]
        ham: Vec<PathBuf>,
        /// Spam: mail that is not.
        #[arg(long, value_name = "DIR")]
        spam: Vec<PathBuf>,
        /// everything; on-error (only what the table gets wrong or is
        /// unsure of); until-mature (everything until 500 of a class, then
        /// on error).
        #[arg(long, default_value = "everything")]
        mode: String,
    },
    /// Summarise the daemon's log: messages and verdicts, top rules,
    /// clients and sender domains, DNS list hit rates, quarantine releases,
    /// messages per hour.
    Report {
        /// The configuration naming [report] logs and the DNS lists (without
        /// it, rules named RBL_*, RWL_*, DNSWL*, URIBL*, SURBL* count as lists).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The window: a duration before now ("24h", "7d") or an RFC 3339
        /// instant ("2026-11-27T00:00:00Z").
        #[arg(long, default_value = ringwall::report::DEFAULT_SINCE)]
        since: String,
        /// JSON (keys since, until, messages, verdicts, top_rules,
        /// top_clients, top_sender_domains, dnsbl, released, hourly, skipped).
        #[arg(long, conflicts_with = "html")]
        json: bool,
        /// An HTML page with bar charts, as the admin listener's /report.
        #[arg(long)]
        html: bool,
        /// A log file ("-": standard input); repeatable. Default: the
        /// config's [report] logs, else standard input.
        #[arg(long, value_name = "PATH")]
        log: Vec<PathBuf>,
    },
    /// Work with keyword rule files.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Review quarantined mail ([quarantine] directory): list, show,
    /// release, delete, purge, digest. Through the running daemon's admin
    /// listener when one owns the quarantine.
    Quarantine {
        /// The configuration naming [quarantine] directory.
        #[arg(long, short, global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        command: QuarantineCommand,
    },
}

#[derive(Subcommand)]
enum QuarantineCommand {
    /// The quarantined messages, newest first.
    List {
        /// Only messages for this recipient.
        #[arg(long)]
        recipient: Option<String>,
        /// Only messages from this envelope sender.
        #[arg(long)]
        sender: Option<String>,
        /// Only messages kept since: a duration back from now (24h, 7d)
        /// or an RFC 3339 date.
        #[arg(long)]
        since: Option<String>,
        /// Only messages this rule hit.
        #[arg(long)]
        rule: Option<String>,
        /// Only messages scoring at least this.
        #[arg(long)]
        min_score: Option<f64>,
        /// At most this many.
        #[arg(long, default_value_t = 0)]
        limit: usize,
        /// One JSON array of objects (id, message_id, sender, recipients,
        /// score, received_at, subject, from, rules, released_to).
        #[arg(long)]
        json: bool,
    },
    /// One message: verdict, envelope, headers and its text (never
    /// rendered); --raw prints the message exactly as kept.
    Show {
        /// The quarantine id.
        id: String,
        /// The message as kept, byte for byte.
        #[arg(long)]
        raw: bool,
    },
    /// Deliver messages to the upstream with their original envelope.
    Release {
        /// Quarantine ids.
        #[arg(required = true)]
        ids: Vec<String>,
        /// Also learn each as ham ([bayes] database).
        #[arg(long)]
        train: bool,
    },
    /// Remove messages from quarantine.
    Delete {
        /// Quarantine ids.
        #[arg(required = true)]
        ids: Vec<String>,
        /// Also learn each as spam ([bayes] database).
        #[arg(long)]
        train: bool,
    },
    /// Remove messages older than [quarantine] retention (the daemon also
    /// does this hourly).
    Purge,
    /// Mail each recipient a summary of their quarantined messages, with
    /// signed release links ([quarantine] public_url).
    Digest {
        /// Only messages kept since (default: all still held).
        #[arg(long)]
        since: Option<String>,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Lint rule files; with --corpus, report each rule's ham and spam hits
    /// and fail any rule that hits more than 0.5 % of the ham.
    Check {
        /// The configuration whose rules the files join (default: the
        /// embedded default, with the built-in pack).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// A labelled corpus (DIR/ham and DIR/spam).
        #[arg(long, value_name = "DIR")]
        corpus: Option<PathBuf>,
        /// Rule files (TOML).
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run { config } => run(config),
        Command::Demo { serve } => match ringwall::demo::run(&mut std::io::stdout(), serve) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ringwall demo: {e}");
                ExitCode::FAILURE
            }
        },
        Command::CheckConfig { path } => check_config(&path),
        Command::DefaultConfig => {
            print!("{}", ringwall::config::EMBEDDED_DEFAULT);
            ExitCode::SUCCESS
        }
        Command::Score {
            config,
            explain,
            json,
            eval,
            sources,
            paths,
        } => score(
            config,
            ScoreRun {
                explain,
                json,
                eval,
                sources,
                paths,
            },
        ),
        Command::Train {
            config,
            ham,
            spam,
            mode,
        } => train(config, &ham, &spam, &mode),
        Command::Report {
            config,
            since,
            json,
            html,
            log,
        } => report(config, &since, json, html, log),
        Command::Rules {
            command:
                RulesCommand::Check {
                    config,
                    corpus,
                    files,
                },
        } => rules_check(config, corpus, files),
        Command::Quarantine { config, command } => quarantine(config, command),
    }
}

fn quarantine(path: Option<PathBuf>, command: QuarantineCommand) -> ExitCode {
    use ringwall::quarantine::cli;
    let Some(loaded) = load_config(path.as_deref()) else {
        return ExitCode::FAILURE;
    };
    let config = &loaded.config;
    let mut out = std::io::stdout().lock();
    let run = || -> Result<(), cli::CliError> {
        let backend = cli::Backend::open(config)?;
        match command {
            QuarantineCommand::List {
                recipient,
                sender,
                since,
                rule,
                min_score,
                limit,
                json,
            } => {
                let query = ringwall::quarantine::Query {
                    recipient,
                    sender,
                    since: since.as_deref().map(cli::parse_since).transpose()?,
                    rule,
                    min_score,
                    limit,
                };
                cli::list(&backend, &query, json, &mut out)
            }
            QuarantineCommand::Show { id, raw } => cli::show(&backend, &id, raw, &mut out),
            QuarantineCommand::Release { ids, train } => cli::review(
                config,
                &backend,
                &ids,
                cli::Verdict::Release,
                train,
                &mut out,
            ),
            QuarantineCommand::Delete { ids, train } => cli::review(
                config,
                &backend,
                &ids,
                cli::Verdict::Delete,
                train,
                &mut out,
            ),
            QuarantineCommand::Purge => cli::purge(&backend, &mut out),
            QuarantineCommand::Digest { since } => {
                let since = since.as_deref().map(cli::parse_since).transpose()?;
                cli::digest(config, &backend, since, &mut out)
            }
        }
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ringwall quarantine: {e}");
            ExitCode::FAILURE
        }
    }
}

fn rules_check(path: Option<PathBuf>, corpus: Option<PathBuf>, files: Vec<PathBuf>) -> ExitCode {
    let Some(loaded) = load_config(path.as_deref()) else {
        return ExitCode::FAILURE;
    };
    let mut out = std::io::stdout().lock();
    match ringwall::rulecheck::check(&loaded.config, &files, corpus.as_deref(), &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ringwall rules check: {e}");
            ExitCode::FAILURE
        }
    }
}

fn report(
    path: Option<PathBuf>,
    since: &str,
    json: bool,
    html: bool,
    logs: Vec<PathBuf>,
) -> ExitCode {
    use ringwall::report::{self, DnsLists, LogSource};
    // Without a file, no lists or logs are known: the embedded default
    // names none.
    let (lists, configured) = match path {
        Some(path) => match load_config(Some(&path)) {
            Some(loaded) => (DnsLists::of(&loaded.config), loaded.config.report.logs),
            None => return ExitCode::FAILURE,
        },
        None => (DnsLists::Guessed, Vec::new()),
    };
    let named = if logs.is_empty() { configured } else { logs };
    let sources: Vec<LogSource> = if named.is_empty() {
        vec![LogSource::Stdin]
    } else {
        named.into_iter().map(LogSource::named).collect()
    };
    let now = std::time::SystemTime::now();
    let result =
        report::since(since, now).and_then(|since| report::build(&sources, lists, since, now));
    match result {
        Ok(built) => {
            if json {
                match serde_json::to_string_pretty(&built) {
                    Ok(text) => println!("{text}"),
                    Err(e) => {
                        eprintln!("ringwall report: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            } else if html {
                print!("{}", report::render_html(&built));
            } else {
                print!("{}", report::render_text(&built));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ringwall report: {e}");
            ExitCode::FAILURE
        }
    }
}

fn train(path: Option<PathBuf>, ham: &[PathBuf], spam: &[PathBuf], mode: &str) -> ExitCode {
    let Some(loaded) = load_config(path.as_deref()) else {
        return ExitCode::FAILURE;
    };
    let mut out = std::io::stdout().lock();
    match ringwall::train::train(&loaded.config, ham, spam, mode, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ringwall train: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `ringwall score`'s arguments beside the configuration.
struct ScoreRun {
    explain: bool,
    json: bool,
    eval: Option<PathBuf>,
    sources: Option<PathBuf>,
    paths: Vec<PathBuf>,
}

fn score(path: Option<PathBuf>, run: ScoreRun) -> ExitCode {
    let Some(loaded) = load_config(path.as_deref()) else {
        return ExitCode::FAILURE;
    };
    for warning in &loaded.warnings {
        eprintln!("{warning}");
    }
    let result = ringwall::score::Judge::new(&loaded.config).and_then(|mut judge| {
        let mut out = std::io::stdout().lock();
        match &run.eval {
            Some(dir) => ringwall::score::evaluate(
                &mut judge,
                dir,
                run.sources.as_deref(),
                run.json,
                &mut out,
            )
            .map(drop),
            None => ringwall::score::score(
                &mut judge,
                &run.paths,
                ringwall::score::Options {
                    explain: run.explain,
                    json: run.json,
                },
                &mut out,
            ),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ringwall score: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The configuration at `path`, or the embedded default; its errors
/// printed (its warnings are the caller's to report).
fn load_config(path: Option<&std::path::Path>) -> Option<ringwall::config::Loaded> {
    let loaded = match path {
        Some(path) => ringwall::config::load(path),
        None => ringwall::config::parse(ringwall::config::EMBEDDED_DEFAULT, "<embedded default>"),
    };
    loaded.map_err(|errors| eprintln!("{errors}")).ok()
}

fn run(path: Option<PathBuf>) -> ExitCode {
    let Some(loaded) = load_config(path.as_deref()) else {
        return ExitCode::FAILURE;
    };
    ringwall::admin::init_logging(&loaded.config.log);
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    match ringwall::server::run_until_signalled(&loaded.config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("ringwall: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check_config(path: &std::path::Path) -> ExitCode {
    match ringwall::config::load(path) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                eprintln!("{warning}");
            }
            println!("OK");
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::FAILURE
        }
    }
}
