"""The systems under test and their accounting, shared by the benchmark scripts.

Each `start_*` function starts one system pinned to a CPU on loopback and
returns a `Target`: where to send mail, how to read the CPU time of its whole
process tree, and how to stop it. Everything runs under a temp dir the caller
owns; nothing here listens beyond 127.0.0.1.
"""

import os
import shutil
import signal
import socket
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
RINGWALL = os.path.join(ROOT, "target/release/ringwall")
LOADGEN = os.path.join(ROOT, "target/release/ringwall-loadgen")
FLOOR = os.path.join(ROOT, "target/release/examples/floor_relay")


class Target:
    """A system under test: its SMTP port, its CPU clock and its stop."""

    def __init__(self, name, port, cpu=lambda: None, stop=lambda: None):
        self.name, self.port, self.cpu, self.stop = name, port, cpu, stop


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def _stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def process_cpu(pid):
    """utime+stime of one process (all its threads), in seconds."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def tree_cpu(root):
    """CPU of a process tree: the root with its reaped children (cutime, cstime)
    and every live descendant with its own reaped children."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                children.setdefault(int(_stat(entry)[1]), []).append(int(entry))
            except (OSError, IndexError):
                continue
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        try:
            fields = _stat(pid)
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15]) / CLOCK_TICKS
        stack.extend(children.get(pid, []))
    return total


def _popen_target(name, port, argv, cpu=process_cpu, **kwargs):
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
    wait_for_port(port)

    def stop():
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    return Target(name, port, lambda: cpu(proc.pid), stop)


def start_ringwall(work, cpu, upstream_port, name="ringwall", pool_idle=32, extra=""):
    """`ringwall run`, one shard, transaction log on at info (to /dev/null);
    `extra` is appended to its config (whole tables)."""
    port = free_port()
    config = os.path.join(work, f"{name}.toml")
    with open(config, "w") as f:
        f.write(f"""[server]
listen = ["127.0.0.1:{port}"]
hostname = "bench.ringwall.test"
shards = 1
max_connections_per_ip = 10000
[upstream]
address = "127.0.0.1:{upstream_port}"
pool_idle = {pool_idle}
[domains]
accept = ["example.net"]
{extra}""")
    return _popen_target(name, port, ["taskset", "-c", str(cpu), RINGWALL, "run", "--config", config])


def start_floor(cpu, upstream_port):
    """The glommio byte relay with no SMTP logic."""
    port = free_port()
    return _popen_target("floor", port, ["taskset", "-c", str(cpu), FLOOR, f"127.0.0.1:{port}",
                                         f"127.0.0.1:{upstream_port}"])


def start_smtp_sink(cpu):
    """Postfix's smtp-sink."""
    port = free_port()
    return _popen_target("smtp-sink", port, ["taskset", "-c", str(cpu), "smtp-sink", "-u", "nobody",
                                             f"127.0.0.1:{port}", "1024"])


def start_loadgen_sink(cpu):
    """`ringwall-loadgen sink`, one shard."""
    port = free_port()
    return _popen_target("sink", port, ["taskset", "-c", str(cpu), LOADGEN, "sink", "--listen",
                                        f"127.0.0.1:{port}", "--shards", "1"])


def start_postfix(work, cpu, upstream_port):
    """Postfix as a before-queue proxy (`smtpd_proxy_filter` to the upstream): a
    private instance under `work`, no chroot, no DNS, its maillog on."""
    base = os.path.join(work, "postfix")
    etc, queue, data = (os.path.join(base, d) for d in ("etc", "queue", "data"))
    for d in (etc, queue, data):
        os.makedirs(d)
    os.chmod(work, 0o755)  # Postfix's own user must reach its data directory
    shutil.chown(data, "postfix")
    port = free_port()
    master_cf = []
    with open("/etc/postfix/master.cf") as f:
        for line in f:
            fields = line.split()
            if line[:1].isalpha() and len(fields) >= 8:
                if fields[0] == "smtp" and fields[1] == "inet":
                    fields[0] = f"127.0.0.1:{port}"
                fields[4] = "n"  # no chroot: the instance lives in a temp dir
                line = "  ".join(fields) + "\n"
            master_cf.append(line)
    with open(os.path.join(etc, "master.cf"), "w") as f:
        f.writelines(master_cf)
    with open(os.path.join(etc, "main.cf"), "w") as f:
        f.write(f"""compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
maillog_file_prefixes = {base}
maillog_file = {base}/maillog
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = postfix.bench.test
mydestination =
mynetworks = 127.0.0.0/8
relay_domains = example.net
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
disable_dns_lookups = yes
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtpd_proxy_filter = 127.0.0.1:{upstream_port}
default_process_limit = 200
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
""")

    def postfix(action):
        return subprocess.run(["taskset", "-c", str(cpu), "postfix", "-c", etc, action],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    if postfix("start").returncode != 0:
        raise RuntimeError(f"Postfix did not start; see {base}/maillog")
    with open(os.path.join(queue, "pid", "master.pid")) as f:
        master = int(f.read().split()[0])
    wait_for_port(port)
    return Target("postfix", port, lambda: tree_cpu(master), lambda: postfix("stop"))


def install_haraka(cache):
    """Haraka from the npm registry into `cache` (once); returns its binary."""
    binary = os.path.join(cache, "node_modules", ".bin", "haraka")
    if not os.path.exists(binary):
        os.makedirs(cache, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", cache,
                        "Haraka@3.3.4"], check=True, stdout=subprocess.DEVNULL)
    return binary


def start_haraka(work, cpu, upstream_port, cache):
    """Haraka with `queue/smtp_forward` to the upstream, nodes=1, logging at
    warn (the most favourable setting for it)."""
    binary = install_haraka(cache)
    home = os.path.join(work, "haraka")
    subprocess.run([binary, "-i", home], check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    config = os.path.join(home, "config")

    def write(name, text):
        with open(os.path.join(config, name), "w") as f:
            f.write(text)

    write("smtp.ini", f"listen=127.0.0.1:{port}\nnodes=1\n")
    # Haraka looks up every client's reverse DNS through the system resolver;
    # this local plugin answers the lookup itself, so nothing leaves loopback.
    with open(os.path.join(home, "plugins", "loopback_rdns.js"), "w") as f:
        f.write("exports.hook_lookup_rdns = (next) => next(OK, 'localhost');\n")
    write("plugins", "loopback_rdns\nrcpt_to.in_host_list\nqueue/smtp_forward\n")
    write("host_list", "example.net\n")
    write("smtp_forward.ini", f"host=127.0.0.1\nport={upstream_port}\nenable_tls=false\n")
    write("log.ini", "[main]\nlevel=warn\n")
    write("me", "haraka.bench.test\n")
    target = _popen_target("haraka", port, ["taskset", "-c", str(cpu), binary, "-c", home], cpu=tree_cpu)
    return target
