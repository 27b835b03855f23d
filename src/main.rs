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
    }
}

fn run(path: Option<PathBuf>) -> ExitCode {
    let loaded = match &path {
        Some(path) => ringwall::config::load(path),
        None => ringwall::config::parse(ringwall::config::EMBEDDED_DEFAULT, "<embedded default>"),
    };
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::FAILURE;
        }
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
