//! Starting the `ringwall-loadgen` binary as a peer: every server subcommand
//! prints `listening on ADDR` as its first line, which is how a test learns
//! the port the kernel picked.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};

/// A running `ringwall-loadgen` server and the address it announced.
pub struct Announced {
    /// The process (stdout taken; stderr as asked).
    pub child: Child,
    /// The rest of its standard output.
    pub stdout: BufReader<ChildStdout>,
    /// Where it listens.
    pub addr: SocketAddr,
}

/// Runs `ringwall-loadgen ARGS…` and reads the address it announces.
pub fn start<I, S>(args: I, stderr: Stdio) -> Announced
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut child = Command::new(env!("CARGO_BIN_EXE_ringwall-loadgen"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("ringwall-loadgen starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("first line");
    let addr = first
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .parse()
        .expect("an ip:port");
    Announced {
        child,
        stdout,
        addr,
    }
}

impl Announced {
    /// Sends SIGTERM (the way an operator stops it) and returns the exit
    /// status, the rest of standard output and standard error (empty unless
    /// it was piped).
    pub fn terminate(mut self) -> (ExitStatus, String, String) {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        let mut out = String::new();
        self.stdout.read_to_string(&mut out).expect("stdout");
        let mut err = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            stderr.read_to_string(&mut err).expect("stderr");
        }
        (self.child.wait().expect("exit status"), out, err)
    }
}
