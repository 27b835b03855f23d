//! A private Postfix instance, for the test that puts a real MTA behind ringwall.
//!
//! It runs as root from its own configuration, queue and data directories under
//! a temporary directory, listens on a kernel-picked 127.0.0.1 port, and relays
//! for every client in 127.0.0.0/8 (Debian's defaults with `permit_mynetworks`):
//! exactly the upstream that trusts its before-queue proxy to refuse relaying.
//! Nothing it accepts can leave the machine: DNS is off and the relay host is the
//! discard port on loopback. [`Postfix`] stops the instance when dropped, also
//! when the test fails.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{Client, free_port, peer, run_peer};

/// How long Postfix may take to start or stop.
const PATIENCE: Duration = Duration::from_secs(20);

/// A running private Postfix; dropping it stops it.
pub struct Postfix {
    dir: TempDir,
    addr: SocketAddr,
}

impl Postfix {
    /// Starts an instance whose `mydestination` is `domain`.
    pub fn start(domain: &str) -> Postfix {
        Self::start_with(domain, "")
    }

    /// Starts an instance with `extra` lines appended to its main.cf (TLS,
    /// XCLIENT authorisation).
    pub fn start_with(domain: &str, extra: &str) -> Postfix {
        // SAFETY: geteuid has no preconditions.
        assert_eq!(
            unsafe { libc::geteuid() },
            0,
            "a private Postfix instance must be started as root"
        );
        let postfix = peer("/usr/sbin/postfix");
        let dir = tempfile::tempdir().expect("temporary directory");
        // Postfix's daemons run as the `postfix` user and must reach the queue.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
        for sub in ["etc", "queue", "data"] {
            std::fs::create_dir(dir.path().join(sub)).expect("mkdir");
        }
        let chown = run_peer(
            Command::new("chown")
                .arg("postfix")
                .arg(dir.path().join("data")),
            PATIENCE,
        );
        assert!(chown.status.success(), "chown postfix: {chown:?}");
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
        let instance = Postfix { dir, addr };
        instance.write_config(domain, extra);
        let started = run_peer(
            Command::new(postfix)
                .arg("-c")
                .arg(instance.config_dir())
                .arg("start"),
            PATIENCE,
        );
        assert!(
            started.status.success(),
            "postfix start failed: {}\n{}",
            String::from_utf8_lossy(&started.stderr),
            instance.log()
        );
        instance.wait_for_banner();
        instance
    }

    /// Where its smtpd listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `postqueue -p`: what its queue holds ("Mail queue is empty" when nothing).
    pub fn queue(&self) -> String {
        let output = run_peer(
            Command::new(peer("/usr/sbin/postqueue"))
                .arg("-c")
                .arg(self.config_dir())
                .arg("-p"),
            PATIENCE,
        );
        assert!(output.status.success(), "postqueue -p: {output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Its log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("maillog"))
            .unwrap_or_else(|e| format!("(no Postfix log: {e})"))
    }

    fn config_dir(&self) -> PathBuf {
        self.dir.path().join("etc")
    }

    fn write_config(&self, domain: &str, extra: &str) {
        let base = self.dir.path().display();
        let main_cf = format!(
            "# Debian's main.cf defaults (/usr/share/postfix/main.cf.debian)
smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)
biff = no
append_dot_mydomain = no
readme_directory = no
compatibility_level = 3.6
smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination
# The mail server behind ringwall: it trusts everything on loopback.
myhostname = postfix.{domain}
mydestination = {domain}, localhost
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
# Nothing leaves the machine: no DNS, and the relay host is the discard port.
disable_dns_lookups = yes
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
relayhost = [127.0.0.1]:9
alias_maps =
alias_database =
# A private instance.
queue_directory = {base}/queue
data_directory = {base}/data
syslog_name = postfix-ringwall-test
maillog_file = {base}/maillog
maillog_file_prefixes = {base}
{extra}
"
        );
        let master_cf = format!(
            "{addr} inet n - n - - smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
local     unix - n n - - local
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
tlsmgr    unix - - n 1000? 1 tlsmgr
",
            addr = self.addr
        );
        std::fs::write(self.config_dir().join("main.cf"), main_cf).expect("main.cf");
        std::fs::write(self.config_dir().join("master.cf"), master_cf).expect("master.cf");
    }

    /// Waits until smtpd answers with its banner.
    fn wait_for_banner(&self) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(stream) = TcpStream::connect(self.addr) {
                let mut client = Client::over(stream);
                let banner = client.reply();
                assert!(banner.starts_with("220 "), "Postfix greeted {banner:?}");
                client.command("QUIT");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Postfix did not listen on {} within {PATIENCE:?}:\n{}",
                self.addr,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The master process, while its pid file names it.
    fn master_pid(&self) -> Option<i32> {
        let pid_file = self.dir.path().join("queue/pid/master.pid");
        std::fs::read_to_string(pid_file).ok()?.trim().parse().ok()
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let pid = self.master_pid();
        let _ = Command::new("/usr/sbin/postfix")
            .arg("-c")
            .arg(self.config_dir())
            .arg("stop")
            .output();
        let Some(pid) = pid else { return };
        let deadline = Instant::now() + PATIENCE;
        while is_running(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// True while `pid` exists and is not a zombie waiting to be reaped.
fn is_running(pid: i32) -> bool {
    let stat = Path::new("/proc").join(pid.to_string()).join("stat");
    match std::fs::read_to_string(stat) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}
